package testkit

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// CheckFor and Eventually look again after firstPoll, then wait twice as
// long each time up to maxPoll: a condition that holds soon is seen at
// once, and a slow one (a process to start) is not polled hard.
const (
	firstPoll = time.Millisecond
	maxPoll   = 20 * time.Millisecond
)

// CheckFor calls f until it returns nil, or fails the test with f's last
// error once total has passed. It never sleeps longer than it must: a
// condition that holds at once costs one call.
func CheckFor(t testing.TB, total time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	pause := firstPoll
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %v", total, err)
		}
		time.Sleep(pause)
		pause = min(2*pause, maxPoll)
	}
}

// Eventually is CheckFor for a condition that says only whether it holds:
// what names it in the failure.
func Eventually(t testing.TB, total time.Duration, what string, cond func() bool) {
	t.Helper()
	CheckFor(t, total, func() error {
		if cond() {
			return nil
		}
		return errors.New("still waiting for " + what)
	})
}

// LogBuffer collects log output written from several goroutines.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// WriteFile writes body to a file name in a new temporary directory of
// t's and returns its path.
func WriteFile(t testing.TB, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
