package child

import (
	"bufio"
	"os/exec"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestProcessLifecycle runs a real child: it runs until signalled, the
// exit callback runs before Running turns false, the exit state is
// kept, and signalling a stopped process is a no-op.
func TestProcessLifecycle(t *testing.T) {
	var p Process
	if p.Running() || p.State() != nil {
		t.Fatal("a process that never ran is running or has a state")
	}
	if stopped, err := p.Signal(syscall.SIGTERM, time.Second); !stopped || err != nil {
		t.Fatalf("Signal before any run = %v, %v", stopped, err)
	}
	var exited atomic.Bool
	if err := p.Start(exec.Command("sleep", "30"), func() { exited.Store(true) }); err != nil {
		t.Fatal(err)
	}
	if !p.Running() || p.State() != nil {
		t.Fatal("a started process is not running")
	}
	if stopped, err := p.Signal(syscall.SIGTERM, 5*time.Second); !stopped || err != nil {
		t.Fatalf("Signal(SIGTERM) = %v, %v", stopped, err)
	}
	if p.Running() || !exited.Load() {
		t.Fatalf("after SIGTERM: running %v, exit callback run %v", p.Running(), exited.Load())
	}
	if st := p.State(); st == nil || st.Success() || st.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
		t.Fatalf("exit state %v, want killed by SIGTERM", st)
	}
	if stopped, err := p.Signal(syscall.SIGKILL, time.Second); !stopped || err != nil {
		t.Fatalf("Signal after exit = %v, %v", stopped, err)
	}
	if err := p.Start(exec.Command("/nonexistent/program"), nil); err == nil {
		t.Fatal("a program that does not exist started")
	}
}

// TestSignalTimesOut checks that Signal reports a process that outlives
// its wait.
func TestSignalTimesOut(t *testing.T) {
	var p Process
	// sh ignores SIGTERM once the trap is set, says so, and sleeps.
	cmd := exec.Command("sh", "-c", "trap '' TERM; echo ready; exec sleep 30")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(cmd, nil); err != nil {
		t.Fatal(err)
	}
	defer p.Signal(syscall.SIGKILL, 5*time.Second)
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("child said %q, %v", line, err)
	}
	if stopped, err := p.Signal(syscall.SIGTERM, 300*time.Millisecond); stopped || err != nil {
		t.Fatalf("Signal(SIGTERM) to a process ignoring it = %v, %v", stopped, err)
	}
	if stopped, _ := p.Signal(syscall.SIGKILL, 5*time.Second); !stopped {
		t.Fatal("SIGKILL did not stop it")
	}
}
