package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/testkit"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"
)

// agentProc is a real udi-edge run process (this test binary as the
// command, see TestMain) with pseudo-terminal scanners: what a hospital
// runs, scanned as a nurse scans.
type agentProc struct {
	t     *testing.T
	cfg   edge.Config
	file  string
	cmd   *exec.Cmd
	logs  *testkit.LogBuffer
	devs  map[string]*testkit.Device
	extra []string
}

// procScanner is one scanner of an agentProc: its id, where it stands and
// what a scan there records.
type procScanner struct{ id, location, kind string }

// newAgentProc writes the configuration of a gateway with these scanners
// (answer bytes: 06 accepted, 07 warned, 15 rejected or blocked, 18
// failed) over base, and starts it.
func newAgentProc(t *testing.T, base edge.Config, scanners ...procScanner) *agentProc {
	t.Helper()
	dir := t.TempDir()
	p := &agentProc{t: t, cfg: base, devs: map[string]*testkit.Device{}, logs: &testkit.LogBuffer{}}
	if p.cfg.Gateway == "" {
		p.cfg.Gateway = "gw-proc"
	}
	if p.cfg.Store == "" {
		p.cfg.Store = filepath.Join(dir, "ledger.db")
	}
	if p.cfg.Ledger.MaxBatch == 0 {
		d := edge.DefaultConfig()
		p.cfg.Ledger, p.cfg.Log = d.Ledger, d.Log
	}
	for _, s := range scanners {
		dev := testkit.New(t, filepath.Join(dir, s.id))
		p.devs[s.id] = dev
		p.cfg.Scanners = append(p.cfg.Scanners, edge.ScannerConfig{ID: s.id, Device: dev.Link, Location: s.location, Kind: s.kind,
			Feedback: edge.FeedbackConfig{Accept: edge.HexBytes{0x06}, Warn: edge.HexBytes{0x07}, Reject: edge.HexBytes{0x15}, Failed: edge.HexBytes{0x18}}})
	}
	b, err := json.MarshalIndent(p.cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	p.file = filepath.Join(dir, "udi-edge.json")
	if err := os.WriteFile(p.file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	p.start()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("agent log:\n%s", p.logs.String())
		}
	})
	return p
}

// start runs the agent and waits until every scanner's port is open.
func (p *agentProc) start() {
	p.t.Helper()
	p.cmd = exec.Command(os.Args[0], append([]string{"run", "--config", p.file}, p.extra...)...)
	p.cmd.Env = append(os.Environ(), "UDI_EDGE_BE_MAIN=1")
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	checkFor(p.t, 15*time.Second, func() error {
		devs := socketDevices(p.t, p.cfg.SocketPath())
		for id := range p.devs {
			if !devs[id] {
				return fmt.Errorf("scanner %s not open yet", id)
			}
		}
		if len(p.devs) == 0 && len(devs) == 0 {
			if _, err := p.status(); err != nil {
				return err
			}
		}
		return nil
	})
}

// scan sends label from scanner id as the scanner would (CR suffix) and
// returns the answer byte.
func (p *agentProc) scan(id, label string) byte {
	p.t.Helper()
	dev := p.devs[id]
	if err := dev.Send([]byte(label + "\r")); err != nil {
		p.t.Fatal(err)
	}
	b, err := dev.Receive(1, 10*time.Second)
	if err != nil {
		p.t.Fatalf("scan %q at %s: no answer: %v", label, id, err)
	}
	return b[0]
}

// run runs a udi-edge command against the agent (its configuration).
func (p *agentProc) run(args ...string) (int, string, string) {
	p.t.Helper()
	return runMain(p.t, "", append([]string{args[0], "--config", p.file}, args[1:]...)...)
}

// stop sends SIGTERM and waits for the agent to exit.
func (p *agentProc) stop() {
	p.t.Helper()
	if p.cmd == nil || p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-done
		p.t.Fatal("the agent did not stop within 15s of SIGTERM")
	}
}

// kill ends the agent with SIGKILL, if it runs.
func (p *agentProc) kill() {
	if p.cmd == nil || p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

// status asks the running agent.
func (p *agentProc) status() (core.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return statusOf(ctx, p.cfg.SocketPath())
}
