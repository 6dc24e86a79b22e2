package e2e_test

// The harness: the two binaries, built once; waiting; and processes with
// their output, shown when a test fails.

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/udi-edge/udi-edge/agent/testkit"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/sync/internal/child"
)

// bins are the binaries under test, built by TestMain.
var bins struct{ edge, central string }

// TestMain builds cmd/udi-edge and cmd/udi-central once into a temporary
// directory. UDI_E2E_RACE=1 builds them with the race detector too;
// UDI_E2E_LOGS=1 shows the processes' output also when a test passes.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "udi-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if os.Getenv("UDI_E2E_RACE") != "" {
		args = append(args, "-race")
	}
	args = append(args, "github.com/udi-edge/udi-edge/cmd/udi-edge", "github.com/udi-edge/udi-edge/cmd/udi-central")
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go %s: %v\n%s", strings.Join(args, " "), err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	bins.edge = filepath.Join(dir, "udi-edge")
	bins.central = filepath.Join(dir, "udi-central")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Timeouts of the waits.
const (
	startWait = 15 * time.Second // a process to answer
	drainWait = 45 * time.Second // a backlog to reach the centre
	scanWait  = 10 * time.Second // a scan's answer
	stopWait  = 15 * time.Second // a process to exit on SIGTERM
)

// waitFor polls f every 10 ms until it returns nil, and fails the test
// with f's last error when d passes first, or at once when f returns a
// failNow.
func waitFor(t testing.TB, d time.Duration, what string, f func() error) {
	t.Helper()
	testkit.CheckFor(t, d, func() error {
		err := f()
		if errors.As(err, new(failNow)) {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
}

// failNow is an error of a polled condition that waiting cannot mend.
type failNow struct{ error }

// failNowf returns a failNow.
func failNowf(format string, args ...any) error { return failNow{fmt.Errorf(format, args...)} }

// syncBuffer is a bytes.Buffer safe for concurrent writers and readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

// tail returns at most the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// proc is a program the test starts, kills and restarts; its output over
// all its runs is kept and shown when the test fails.
type proc struct {
	t    testing.TB
	name string
	logs syncBuffer

	proc  child.Process
	mu    sync.Mutex
	since int // where the current run's output starts in logs
	runs  int
}

func newProc(t testing.TB, name string) *proc {
	p := &proc{t: t, name: name}
	t.Cleanup(func() {
		p.signal(syscall.SIGKILL, stopWait)
		if t.Failed() || os.Getenv("UDI_E2E_LOGS") != "" {
			t.Logf("%s output (last 48 KiB):\n%s", name, tail(p.logs.String(), 48<<10))
		}
	})
	return p
}

// run starts the program; the previous run must have ended.
func (p *proc) run(bin string, args ...string) {
	p.t.Helper()
	if p.running() {
		p.t.Fatalf("%s is already running", p.name)
	}
	p.mu.Lock()
	p.runs++
	fmt.Fprintf(&p.logs, "=== e2e %s: run %d: %s %s\n", time.Now().Format("15:04:05.000"), p.runs, filepath.Base(bin), strings.Join(args, " "))
	p.since = p.logs.Len()
	p.mu.Unlock()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &p.logs, &p.logs
	err := p.proc.Start(cmd, func() {
		fmt.Fprintf(&p.logs, "=== e2e %s: exited: %v\n", time.Now().Format("15:04:05.000"), cmd.ProcessState)
	})
	if err != nil {
		p.t.Fatalf("start %s: %v", p.name, err)
	}
}

// output returns what the current (or last) run has written.
func (p *proc) output() string {
	p.mu.Lock()
	since := p.since
	p.mu.Unlock()
	return p.logs.String()[since:]
}

func (p *proc) running() bool { return p.proc.Running() }

// signal sends sig and waits up to d for the program to exit; it reports
// whether the program is not running at the end.
func (p *proc) signal(sig syscall.Signal, d time.Duration) bool {
	stopped, _ := p.proc.Signal(sig, d)
	return stopped
}

// kill kills the program with SIGKILL, as a power cut would.
func (p *proc) kill() {
	p.t.Helper()
	if !p.signal(syscall.SIGKILL, stopWait) {
		p.t.Fatalf("%s did not die of SIGKILL", p.name)
	}
}

// stop stops the program with SIGTERM and checks that it exits 0.
func (p *proc) stop() {
	p.t.Helper()
	if !p.signal(syscall.SIGTERM, stopWait) {
		p.kill()
		p.t.Fatalf("%s did not stop within %v of SIGTERM", p.name, stopWait)
	}
	if st := p.proc.State(); !st.Success() {
		p.t.Fatalf("%s stopped with %v after SIGTERM", p.name, st)
	}
}

// noPatientInLogs fails the test if a patient identifier reached a log.
func noPatientInLogs(t testing.TB, patient string, ps ...*proc) {
	t.Helper()
	for _, p := range ps {
		if strings.Contains(p.logs.String(), patient) {
			t.Errorf("%s logged a patient identifier", p.name)
		}
	}
}

// logf logs a timed step of the test.
func logf(t testing.TB, start time.Time, format string, args ...any) {
	t.Helper()
	t.Logf("%6.2fs "+format, append([]any{time.Since(start).Seconds()}, args...)...)
}

// errNotYet is what a polled condition returns while it does not hold.
var errNotYet = errors.New("not yet")
