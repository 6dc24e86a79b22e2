package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/ident"
	"github.com/udi-edge/udi-edge/cmd/internal/cli"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"
	"github.com/udi-edge/udi-edge/cmd/internal/show"
	"github.com/udi-edge/udi-edge/reader"
	"github.com/udi-edge/udi-edge/reader/barcode"
)

func decodeCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "decode", "[flags] [CODE...]",
		"Show how the agent understands codes, exactly as a scanner sends them (AIM prefix,\n"+
			"GS bytes; in arguments GS may be written \\x1d or <GS>), or in human-readable,\n"+
			"Digital Link or HIBC form, China's MA codes (MA.156.…, <UDI IAC=\"MA\">, or in a URL)\n"+
			"and AHM codes (MF…), an item key as trace prints it, or an RFID tag's EPC (hex,\n"+
			"optionally with its PC word; urn:epc:id:sgtin, urn:epc:tag:sgtin-96/-198 and urn:epc:raw\n"+
			"URIs). trace and udi-central trace accept every form decode reads. Without arguments,\n"+
			"reads one code per line on stdin. Exits 1 if any code is in error.")
	asJSON := fs.Bool("json", false, "one JSON object per code")
	device := fs.String("device", "", "read live scans from this serial scanner instead (until Ctrl-C); a port a running agent reads is refused")
	var cf configFlags
	cf.register(fs, false)
	baud := fs.Int("baud", 9600, "with --device: line speed")
	suffix := fs.String("suffix", "CR", "with --device: CR, LF, CRLF or none")
	if err := parse(fs, args); err != nil {
		return err
	}
	bad := 0
	one := func(in string) error {
		c, err := ident.Parse(in)
		if err != nil {
			bad++
		}
		return show.Decoded(env.Stdout, in, c, err, *asJSON)
	}
	if *device != "" {
		if fs.NArg() > 0 {
			return usagef("--device reads the scanner; give no CODE arguments")
		}
		cfg, err := cf.load()
		if err != nil {
			return err
		}
		return decodeDevice(ctx, env, cfg, *device, *baud, *suffix, func(raw []byte) { _ = one(string(raw)) })
	}
	if fs.NArg() > 0 {
		for _, a := range fs.Args() {
			if err := one(a); err != nil {
				return err
			}
		}
	} else {
		sc := bufio.NewScanner(env.Stdin)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sc.Split(scanCodes)
		for sc.Scan() {
			line := sc.Text()
			if line == "" {
				continue
			}
			if err := one(line); err != nil {
				return err
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("reading stdin: %w", err)
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d code(s) in error", bad)
	}
	return nil
}

// decodeDevice opens a scanner through the agent's own serial driver, with
// the same framing the agent would use, and decodes each scan until ctx
// ends. A port a running agent reads is refused (asked of the agent, and
// by the device's lock, which every opener of the project takes): decode
// must never take a scan away from the agent.
func decodeDevice(ctx context.Context, env *Env, agentCfg edge.Config, dev string, baud int, suffix string, one func([]byte)) error {
	cfg := barcode.Config{ID: "decode", Serial: reader.Settings{Device: dev, Baud: baud}, Suffix: barcode.Suffix(suffix)}.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return cli.UsageError{Err: err}
	}
	if id, ok := agentReads(ctx, agentCfg, dev); ok {
		return fmt.Errorf("%s is the port of %s, read by the running agent (%s): decode would take its scans; "+
			"see what it reads with udi-edge status, trace and rejects, or stop the agent first", dev, id, agentCfg.SocketPath())
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	busy := make(chan error, 1)
	s := barcode.New(cfg, nil)
	s.OnState = func(connected bool, err error) {
		switch {
		case connected:
			fmt.Fprintf(env.Stderr, "%s open: scan labels, Ctrl-C to stop\n", dev)
		case errors.Is(err, reader.ErrDeviceBusy):
			select {
			case busy <- err:
			default:
			}
			cancel()
		case err != nil:
			fmt.Fprintf(env.Stderr, "%s: %v (retrying)\n", dev, err)
		}
	}
	reads := make(chan agent.Read, 64)
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx, func(r agent.Read) { reads <- r }) }()
	for {
		select {
		case r := <-reads:
			if r.Err != nil {
				fmt.Fprintf(env.Stdout, "%s\n  %-11s %v\n\n", api.Printable(r.Raw), "error", r.Err)
				continue
			}
			one(r.Raw)
		case err := <-errc:
			select {
			case b := <-busy:
				return fmt.Errorf("%w: another process reads it; decode would take its scans", b)
			default:
			}
			return err
		}
	}
}

// agentReads reports whether the agent of cfg runs and reads dev, and as
// which scanner or reader.
func agentReads(ctx context.Context, cfg edge.Config, dev string) (string, bool) {
	st, err := api.NewClient(cfg.SocketPath()).Status(ctx)
	if err != nil {
		return "", false
	}
	want := canonical(dev)
	for _, d := range st.Devices {
		if canonical(d.Path) == want {
			return d.Kind + " " + d.ID, true
		}
	}
	return "", false
}

// canonical is a device path with its symbolic links resolved
// (/dev/serial/by-id/… names the same port as /dev/ttyACM0).
func canonical(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return filepath.Clean(p)
}

// scanCodes splits stdin at CR, LF or CRLF, the suffixes scanners send.
func scanCodes(data []byte, atEOF bool) (advance int, token []byte, err error) {
	for i, b := range data {
		if b == '\r' || b == '\n' {
			return i + 1, data[:i], nil
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
