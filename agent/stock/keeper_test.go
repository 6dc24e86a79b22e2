package stock

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/udi-edge/udi-edge/agent"
)

// ledger is a ledger in memory for the Keeper: receipts of one lot, one
// unit each, so that a movement folded twice or missed shows in the count.
type ledger struct {
	mu sync.Mutex
	ms []agent.Movement
	// pause, if set, is received from once Range has read `at` movements.
	pause chan struct{}
	at    int
	fail  error
}

func (l *ledger) write(k *Keeper) agent.Movement {
	l.mu.Lock()
	m := mv(agent.KindReceive, "WH", lotKey("L9"))
	m.Seq = uint64(len(l.ms) + 1)
	l.ms = append(l.ms, m)
	l.mu.Unlock()
	k.Written(m)
	return m
}

func (l *ledger) Range(from uint64, fn func(agent.Movement) error) error {
	if l.fail != nil {
		return l.fail
	}
	for i := int(from) - 1; ; i++ {
		if l.pause != nil && i == l.at {
			<-l.pause
		}
		l.mu.Lock()
		if i >= len(l.ms) {
			l.mu.Unlock()
			return nil
		}
		m := l.ms[i]
		l.mu.Unlock()
		if err := fn(m); err != nil {
			return err
		}
	}
}

func units(t *testing.T, k *Keeper) int {
	t.Helper()
	s, err := k.Stock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range s.Lines(Query{}, nil) {
		n += l.Units
	}
	return n
}

// TestKeeperBuildAndWrites: movements written before the build are read
// by it, those written while it runs are folded once (also when the
// build's Range sees them too), those written after are folded as they
// come.
func TestKeeperBuildAndWrites(t *testing.T) {
	l := &ledger{pause: make(chan struct{}), at: 3}
	k := NewKeeper(l.Range, nil)
	for range 3 {
		l.write(k) // no build yet: kept by the ledger alone
	}
	k.Start()
	l.write(k) // written while Range waits at the fourth: pending, and read by Range too
	l.write(k)
	close(l.pause)
	if n := units(t, k); n != 5 {
		t.Fatalf("after the build: %d units, want 5", n)
	}
	l.write(k)
	if n := units(t, k); n != 6 {
		t.Fatalf("after a later write: %d units, want 6", n)
	}
	s, _ := k.Stock(context.Background())
	if s.Last() != 6 {
		t.Errorf("last %d", s.Last())
	}
}

// TestKeeperBuildFails: a build that cannot read the ledger returns its
// error, keeps nothing, and the next call builds again.
func TestKeeperBuildFails(t *testing.T) {
	damaged := errors.New("damaged page")
	l := &ledger{fail: damaged}
	k := NewKeeper(l.Range, nil)
	if _, err := k.Stock(context.Background()); !errors.Is(err, damaged) {
		t.Fatalf("err %v", err)
	}
	l.fail = nil
	l.write(k)
	if n := units(t, k); n != 1 {
		t.Fatalf("after the repair: %d units", n)
	}
}

// TestKeeperWaitEnds: a caller stops waiting when its context ends; the
// build goes on for the next.
func TestKeeperWaitEnds(t *testing.T) {
	l := &ledger{pause: make(chan struct{})}
	k := NewKeeper(l.Range, nil)
	l.write(k)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := k.Stock(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	close(l.pause)
	if n := units(t, k); n != 1 {
		t.Fatalf("%d units", n)
	}
}
