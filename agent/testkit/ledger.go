package testkit

import (
	"context"
	"slices"
	"sync"

	"github.com/udi-edge/udi-edge/agent"
)

// MemLedger is an in-memory agent.Ledger for unit tests of logic above the
// ledger: it numbers movements from 1 for gateway "gw" and answers each
// on a goroutine of its own, as a group commit answers out of the
// caller's flow. Tests of the ledger itself use real files.
type MemLedger struct {
	mu   sync.Mutex
	ms   []agent.Movement
	fail error
}

// Add records ms as if they had been written before, numbering them.
func (l *MemLedger) Add(ms ...agent.Movement) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range ms {
		if m.Gateway == "" {
			m.Gateway = "gw"
		}
		m.Seq = uint64(len(l.ms) + 1)
		l.ms = append(l.ms, m)
	}
}

// Fail makes every later Submit fail with err (nil: succeed again).
func (l *MemLedger) Fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fail = err
}

// Submit records m, or fails it when Fail was set.
func (l *MemLedger) Submit(m agent.Movement, done func(agent.Movement, error)) {
	l.mu.Lock()
	if l.fail != nil {
		err := l.fail
		l.mu.Unlock()
		done(m, err)
		return
	}
	if m.Gateway == "" {
		m.Gateway = "gw"
	}
	m.Seq = uint64(len(l.ms) + 1)
	l.ms = append(l.ms, m)
	l.mu.Unlock()
	go done(m, nil)
}

// All returns a copy of the movements recorded, in order.
func (l *MemLedger) All() []agent.Movement {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.ms)
}

// Len returns how many movements are recorded.
func (l *MemLedger) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ms)
}

// Trace returns the movements whose item or tag is key, in order.
func (l *MemLedger) Trace(_ context.Context, key string) ([]agent.Movement, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []agent.Movement
	for _, m := range l.ms {
		if slices.Contains(m.TraceKeys(), key) {
			out = append(out, m)
		}
	}
	return out, nil
}

// Range calls fn with every movement from sequence number from on.
func (l *MemLedger) Range(from uint64, fn func(agent.Movement) error) error {
	for _, m := range l.All() {
		if m.Seq < from {
			continue
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}
