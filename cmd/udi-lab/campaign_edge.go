package main

// What the device and disk campaigns share: the real udi-edge run as a
// child process (labEdge) and a barcode scanner on a pseudo-terminal
// reached through a stable link (usbScanner), which can be unplugged and
// plugged back in as a USB scanner is.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"
)

// labFeedback answers each verdict with a byte of its own (the
// campaigns' answer bytes), so that a campaign hears what a nurse would.
var labFeedback = edge.FeedbackConfig{Accept: edge.HexBytes{ansAccepted}, Warn: edge.HexBytes{ansWarned},
	Reject: edge.HexBytes{ansRejected}, Failed: edge.HexBytes{ansFailed}}

// labLabel is a GS1 DataMatrix label as a scanner sends it (AIM
// identifier, FNC1 as GS, no suffix) for an item of gtin with serial.
func labLabel(gtin, serial string) string {
	return "]d201" + gtin + "17281231" + "10L1" + "\x1d" + "21" + serial
}

// labItem is the ledger's key of the item labLabel names.
func labItem(gtin, serial string) string { return "(01)" + gtin + "(21)" + serial }

// usbScanner is a barcode scanner on a pseudo-terminal whose slave the
// agent opens through link, as it opens a USB scanner through
// /dev/serial/by-id. Unplug closes both ends (the agent's open file is
// hung up) and removes the link; Plug makes a new pseudo-terminal behind
// the same link.
type usbScanner struct {
	link string

	mu            sync.Mutex
	master, slave *os.File // nil while unplugged
}

// newUSBScanner plugs a scanner in at link.
func newUSBScanner(link string) (*usbScanner, error) {
	s := &usbScanner{link: link}
	return s, s.Plug()
}

// Plug plugs the scanner in: a new pseudo-terminal, the link pointing at
// its slave (replaced in one rename).
func (s *usbScanner) Plug() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.master != nil {
		return nil
	}
	m, sl, err := pty.Open()
	if err != nil {
		return fmt.Errorf("lab scanner: open pseudo-terminal: %w", err)
	}
	// pty.Open leaves the master blocking: a non-blocking duplicate goes
	// through the runtime poller, so read deadlines work.
	fd, err := unix.FcntlInt(m.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	m.Close()
	if err == nil {
		if err = unix.SetNonblock(fd, true); err != nil {
			unix.Close(fd)
		}
	}
	if err != nil {
		sl.Close()
		return fmt.Errorf("lab scanner: non-blocking master: %w", err)
	}
	master := os.NewFile(uintptr(fd), "/dev/ptmx")
	tmp := s.link + ".new"
	os.Remove(tmp)
	if err := os.Symlink(sl.Name(), tmp); err == nil {
		err = os.Rename(tmp, s.link)
	}
	if err != nil {
		os.Remove(tmp)
		master.Close()
		sl.Close()
		return fmt.Errorf("lab scanner: link %s: %w", s.link, err)
	}
	s.master, s.slave = master, sl
	return nil
}

// Unplug takes the scanner away: the link goes, both ends close.
func (s *usbScanner) Unplug() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.master == nil {
		return
	}
	if target, err := os.Readlink(s.link); err == nil && target == s.slave.Name() {
		os.Remove(s.link)
	}
	s.master.Close()
	s.slave.Close()
	s.master, s.slave = nil, nil
}

// Send writes p on the line, as the scanner sending it.
func (s *usbScanner) Send(p []byte) error {
	s.mu.Lock()
	m := s.master
	s.mu.Unlock()
	if m == nil {
		return errors.New("lab scanner: unplugged")
	}
	_, err := m.Write(p)
	return err
}

// Scan sends label with its CR suffix and returns the answer byte, or an
// error when none came within timeout.
func (s *usbScanner) Scan(label string, timeout time.Duration) (byte, error) {
	s.mu.Lock()
	m := s.master
	s.mu.Unlock()
	if m == nil {
		return 0, errors.New("lab scanner: unplugged")
	}
	if _, err := m.Write([]byte(label + "\r")); err != nil {
		return 0, err
	}
	if err := m.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return 0, err
	}
	b := make([]byte, 1)
	if _, err := m.Read(b); err != nil {
		return 0, fmt.Errorf("no answer within %v: %w", timeout, err)
	}
	return b[0], nil
}

// labEdge is the real udi-edge agent (`udi-edge run`) running as a child
// process on a configuration of the campaign's.
type labEdge struct {
	labProc
	bin, file string
	cfg       edge.Config
	api       *api.Client
}

// labConfig is the base configuration of a lab gateway in dir: its ledger
// and control socket there, no metrics endpoint and no station page
// (ports shared with whatever else runs on the machine), info logs as
// JSON.
func labConfig(dir string) edge.Config {
	cfg := edge.DefaultConfig()
	cfg.Site, cfg.Gateway = "lab", "gw-lab"
	cfg.Store = filepath.Join(dir, "ledger.db")
	cfg.Socket = filepath.Join(dir, "agent.sock") // the campaign's own directory, wherever the ledger goes
	off := ""
	cfg.Metrics.Listen, cfg.Page.Listen = &off, &off
	cfg.Log = edge.LogConfig{Level: "info", Format: "json"}
	return cfg
}

// startLabEdge writes cfg in the campaign's directory and runs the agent
// on it, and waits until it answers on its control socket with every
// scanner and reader connected.
func startLabEdge(ctx context.Context, r *campaignRun, cfg edge.Config) (*labEdge, error) {
	bin, err := r.Binary(ctx, "udi-edge")
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("lab configuration: %w", err)
	}
	if n := len(cfg.SocketPath()); n > api.MaxSocketPath {
		return nil, fmt.Errorf("the agent's control socket %s is %d bytes long, a unix socket's path at most %d: give a shorter --dir", cfg.SocketPath(), n, api.MaxSocketPath)
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, err
	}
	e := &labEdge{labProc: labProc{name: "udi-edge"}, bin: bin, cfg: cfg, file: filepath.Join(r.Dir, "udi-edge.json"),
		api: api.NewClient(cfg.SocketPath())}
	if err := os.WriteFile(e.file, b, 0o600); err != nil {
		return nil, err
	}
	return e, e.start(ctx)
}

// start runs the agent and waits until every scanner and reader of its
// configuration is connected.
func (e *labEdge) start(ctx context.Context) error {
	if err := e.labProc.start(e.bin, "run", "--config", e.file); err != nil {
		return err
	}
	var ids []string
	for _, s := range e.cfg.Scanners {
		ids = append(ids, s.ID)
	}
	for _, rd := range e.cfg.Readers {
		ids = append(ids, rd.ID)
	}
	_, err := e.waitConnected(ctx, crashStartWait, ids...)
	return err
}

// status asks the agent what it is doing.
func (e *labEdge) status(ctx context.Context) (core.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return e.api.Status(ctx)
}

// waitConnected polls the agent's status until every device of ids has
// its port open, and returns how long that took.
func (e *labEdge) waitConnected(ctx context.Context, timeout time.Duration, ids ...string) (time.Duration, error) {
	start := time.Now()
	var last error
	err := pollFor(ctx, timeout, func() (bool, error) {
		if !e.running() {
			return false, fmt.Errorf("udi-edge exited; the end of its output:\n%s", e.tail(800))
		}
		st, err := e.status(ctx)
		if last = err; err != nil {
			return false, nil
		}
		for _, id := range ids {
			if i := slices.IndexFunc(st.Devices, func(d core.Device) bool { return d.ID == id }); i < 0 || !st.Devices[i].Connected {
				last = fmt.Errorf("device %s not connected", id)
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil && last != nil {
		err = fmt.Errorf("%w: %w", err, last)
	}
	return time.Since(start), err
}

// Stop ends the agent with SIGTERM and waits for it (crashStartWait at
// most).
func (e *labEdge) Stop() error {
	if !e.running() {
		return nil
	}
	_, err := e.signal(syscall.SIGTERM)
	return err
}

// Kill ends the agent with SIGKILL, as a power cut would, and waits for
// it.
func (e *labEdge) Kill() error {
	_, err := e.signal(syscall.SIGKILL)
	return err
}

// Run runs a udi-edge command on the agent's configuration and returns
// its output, stdout and stderr together.
func (e *labEdge) Run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, e.bin, append([]string{args[0], "--config", e.file}, args[1:]...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Movements reads every movement of the stopped agent's ledger.
func (e *labEdge) Movements() ([]agent.Movement, error) {
	l, err := bolt.OpenReadOnly(e.cfg.Store, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	var ms []agent.Movement
	err = l.Range(1, func(m agent.Movement) error {
		ms = append(ms, m)
		return nil
	})
	return ms, err
}

// labQuantile returns the q-quantile (nearest rank) of ds, 0 for none.
func labQuantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// answerName names an answer byte of labFeedback.
func answerName(b byte) string {
	switch b {
	case ansAccepted:
		return "accepted"
	case ansWarned:
		return "warned"
	case ansRejected:
		return "rejected"
	case ansFailed:
		return "failed"
	}
	return fmt.Sprintf("%#02x", b)
}
