// Package child runs a program as a child process that a test starts,
// signals and restarts: the process handling shared by the Mosquitto
// harness and the end-to-end tests' udi-edge and udi-central processes.
package child

import (
	"errors"
	"os"
	"os/exec"
	"sync"
	"time"
)

// Process is the current (or last) run of a program. The zero value has
// not run. Its methods are safe for concurrent use.
type Process struct {
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Start starts cmd as the process's new run; exited, when not nil, is
// called once cmd has exited, before Running reports it.
func (p *Process) Start(cmd *exec.Cmd, exited func()) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		if exited != nil {
			exited()
		}
		close(done)
	}()
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	return nil
}

// Done returns a channel closed when the current run has exited (nil
// before the first run).
func (p *Process) Done() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// Running reports whether the current run is alive.
func (p *Process) Running() bool {
	done := p.Done()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// State is the exit state of the last run, nil while it runs or before
// the first.
func (p *Process) State() *os.ProcessState {
	if p.Running() {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return nil
	}
	return p.cmd.ProcessState
}

// Signal sends sig to a running process and waits up to d for it to
// exit. It reports whether the process is not running at the end, and
// the error of sending the signal, if any (a process that exited
// meanwhile is no error).
func (p *Process) Signal(sig os.Signal, d time.Duration) (stopped bool, err error) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return true, nil
	}
	select {
	case <-done:
		return true, nil
	default:
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return false, err
	}
	select {
	case <-done:
		return true, nil
	case <-time.After(d):
		return false, nil
	}
}
