package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/epcis"
)

func exportCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "export", "epcis [flags]",
		"Export the ledger's movements as an EPCIS 2.0 JSON-LD document (GS1 EPCIS 2.0, CBV 2.0\n"+
			"business steps and dispositions). Patient, case and staff identifiers are left out\n"+
			"unless asked for. Works on a running agent and on a stopped agent's file.")
	var cf configFlags
	cf.register(fs, false)
	output := fs.StringP("output", "o", "-", "write the document to this file (- for stdout)")
	from := fs.Uint64("from", 1, "first sequence number to export")
	withPatient := fs.Bool("include-patient", false, "include patient and case identifiers (personal data)")
	withActor := fs.Bool("include-actor", false, "include the staff badge of each movement")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || fs.Arg(0) != "epcis" {
		return usagef("want: export epcis [flags]")
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	w := env.Stdout
	if *output != "-" {
		f, err := os.OpenFile(*output, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	req := controlRequest{Op: "export-epcis", From: *from, IncludePatient: *withPatient, IncludeActor: *withActor}
	n, skipped, err := exportViaAgent(cfg.SocketPath(), req, w)
	if errors.Is(err, errNoAgent) {
		var l *bolt.Ledger
		l, err = bolt.OpenReadOnly(cfg.Store, 2*time.Second)
		if err != nil {
			return err
		}
		defer l.Close()
		n, skipped, err = exportEPCIS(w, l, cfg, req)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "exported %d event(s); %d movement(s) have no EPCIS event (rejected reads, station context)\n", n, skipped)
	return nil
}

// exportEPCIS writes the movements from req.From on as one EPCIS document.
func exportEPCIS(w io.Writer, l ranger, cfg Config, req controlRequest) (written, skipped int, err error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := epcis.NewEncoder(bw, epcis.Options{Site: cfg.Site, Gateway: cfg.Gateway,
		IncludePatient: req.IncludePatient, IncludeActor: req.IncludeActor})
	from := max(req.From, 1)
	err = l.Range(from, func(m agent.Movement) error {
		if err := enc.Encode(m); err != nil {
			return fmt.Errorf("movement %d: %w", m.Seq, err)
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	if err := enc.Close(); err != nil {
		return 0, 0, err
	}
	written, skipped = enc.Events()
	return written, skipped, bw.Flush()
}

// exportViaAgent asks the running agent to stream the document.
func exportViaAgent(path string, req controlRequest, w io.Writer) (written, skipped int, err error) {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %v", errNoAgent, err)
	}
	defer c.Close()
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return 0, 0, err
	}
	r := bufio.NewReader(c)
	line, err := r.ReadBytes('\n')
	if err != nil {
		return 0, 0, fmt.Errorf("control socket %s: %w", path, err)
	}
	var resp controlResponse
	if err := json.Unmarshal(line, &resp); err != nil {
		return 0, 0, fmt.Errorf("control socket %s: %w", path, err)
	}
	if resp.Error != "" {
		return 0, 0, errors.New(resp.Error)
	}
	if _, err := io.Copy(w, r); err != nil {
		return 0, 0, err
	}
	return resp.Written, resp.Skipped, nil
}
