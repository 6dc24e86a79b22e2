package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/creack/pty"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/code"
)

func demoCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "demo", "[flags]",
		"Run a self-contained demonstration: two simulated serial scanners on pseudo-terminals\n"+
			"(a receiving desk in the warehouse and a point of use in OR 3) scan implant boxes\n"+
			"into a temporary ledger, and the item's trace is printed. No hardware, no services.")
	keep := fs.String("dir", "", "keep the demo's ledger in this directory instead of a temporary one")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return runDemo(ctx, env.Stdout, *keep)
}

// demoScan is one label scanned during the demo.
type demoScan struct {
	station string
	wire    []byte // bytes as the scanner sends them, suffix included
	what    string
}

// demoScanner is a simulated scanner: a pseudo-terminal whose slave the
// agent opens through its serial driver, as it would a USB scanner.
type demoScanner struct {
	master, slave *os.File
	link          string
}

func newDemoScanner(dir, name string) (*demoScanner, error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("create pseudo-terminal: %w", err)
	}
	link := filepath.Join(dir, name)
	if err := os.Symlink(s.Name(), link); err != nil {
		m.Close()
		s.Close()
		return nil, err
	}
	return &demoScanner{master: m, slave: s, link: link}, nil
}

func (d *demoScanner) Close() {
	d.master.Close()
	d.slave.Close()
}

func runDemo(ctx context.Context, out io.Writer, keep string) error {
	dir := keep
	if dir == "" {
		tmp, err := os.MkdirTemp("", "udi-edge-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	desk, err := newDemoScanner(dir, "scanner-receiving")
	if err != nil {
		return err
	}
	defer desk.Close()
	or3, err := newDemoScanner(dir, "scanner-or3")
	if err != nil {
		return err
	}
	defer or3.Close()

	cfg := DefaultConfig()
	cfg.Site, cfg.Gateway = "demo-hospital", "gw-demo"
	cfg.Store = filepath.Join(dir, "ledger.db")
	cfg.Scanners = []ScannerConfig{
		{ID: "desk-1", Device: desk.link, Baud: 9600, Suffix: "CR", Location: "warehouse", Kind: "receive"},
		{ID: "or3-1", Device: or3.link, Baud: 9600, Suffix: "CR", Location: "OR-3", Kind: "use", RequireSerial: true},
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	a := NewAgent(cfg, nil)
	outcomes := make(chan agent.Outcome, 1)
	a.OnAnswer = func(station string, o agent.Outcome) { outcomes <- o }
	if err := a.Open(); err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	defer func() {
		stop()
		<-done
		a.Close()
	}()

	fmt.Fprintf(out, "udi-edge demo: gateway %s, ledger %s\n", cfg.Gateway, cfg.Store)
	fmt.Fprintf(out, "scanners: desk-1 (warehouse, receive) on %s; or3-1 (OR-3, use) on %s\n\n", desk.slave.Name(), or3.slave.Name())

	implant := "]d2" + "0109520123456788" + "17280531" + "1021A-77" + "\x1d" + "2100042"
	hibcBody := "+H123ORTHO551/$$3281130LOT8812/SSN000193"
	hibcCheck, err := code.HIBCCheck(hibcBody)
	if err != nil {
		return err
	}
	hibc := hibcBody + string(hibcCheck)
	damaged := "]d2" + "0109520123456789" + "17280531" + "1021A-78" + "\x1d" + "2100043"
	scans := []demoScan{
		{"desk-1", []byte(implant + "\r"), "hip stem, GS1 DataMatrix"},
		{"desk-1", []byte(hibc + "\r"), "bone screw, HIBC with serial"},
		{"desk-1", []byte(damaged + "\r"), "a damaged label (one digit misread)"},
		{"or3-1", []byte(implant + "\r"), "the hip stem, opened in OR 3"},
	}
	for _, s := range scans {
		m := desk.master
		if s.station == "or3-1" {
			m = or3.master
		}
		if err := waitConnected(ctx, a, s.station); err != nil {
			return err
		}
		fmt.Fprintf(out, "%-7s scans %-40s %s\n", s.station, s.what, printable(s.wire[:len(s.wire)-1]))
		if _, err := m.Write(s.wire); err != nil {
			return fmt.Errorf("simulated scanner: %w", err)
		}
		select {
		case o := <-outcomes:
			mv := o.Movement
			switch o.Verdict {
			case agent.VerdictAccepted:
				fmt.Fprintf(out, "        -> %s: %s %s at %s, seq %d, fsynced\n", o.Verdict, mv.Kind, mv.Item, mv.Location, mv.Seq)
			case agent.VerdictRejected:
				fmt.Fprintf(out, "        -> %s and recorded as seq %d: %s\n", o.Verdict, mv.Seq, mv.Reason)
			default:
				return fmt.Errorf("scan not recorded: %v", o.Err)
			}
		case <-time.After(10 * time.Second):
			return fmt.Errorf("no answer for the scan at %s within 10s", s.station)
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	for _, in := range []string{"https://id.gs1.org/01/09520123456788/21/00042", hibc} {
		key, _, err := traceKey(in, false)
		if err != nil {
			return err
		}
		ms, err := a.Ledger().Trace(ctx, key)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "\n$ udi-edge trace '%s'\n", in)
		printTrace(out, key, ms)
	}
	fmt.Fprintf(out, "\nledger: %d movement(s) on disk in %s\n", a.Ledger().LastSeq(), cfg.Store)
	return nil
}

// waitConnected waits until the scanner with id has its port open.
func waitConnected(ctx context.Context, a *Agent, id string) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		if s := a.Scanner(id); s != nil && s.Connected() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("scanner %s did not open its port", id)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
