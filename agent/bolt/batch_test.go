package bolt

import (
	"context"
	"slices"
	"testing"
	"time"
)

// The writer waits MaxDelay from the first queued movement, and no longer.
func TestBatchWaitsForDelay(t *testing.T) {
	clk := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := openTest(t, Options{MaxBatch: 4, MaxDelay: 50 * time.Millisecond, clock: clk})
	o := newOutcomes()

	l.Submit(movementN("d", 0), o.done(0))
	waitFor(t, 5*time.Second, "the writer's timer", func() bool { return clk.pending() == 1 })
	clk.Advance(20 * time.Millisecond)
	l.Submit(movementN("d", 1), o.done(1))
	time.Sleep(20 * time.Millisecond) // the writer has time to misbehave
	if n := o.count(); n != 0 {
		t.Fatalf("%d movements committed before MaxDelay", n)
	}
	clk.Advance(30 * time.Millisecond) // 50 ms after the first movement
	o.wg.Wait()
	if s := l.Stats(); s.Transactions != 1 || s.Movements != 2 {
		t.Errorf("Stats %+v, want one transaction of two movements", s)
	}
}

// A full batch is committed at once, without waiting for the delay.
func TestBatchFlushesWhenFull(t *testing.T) {
	clk := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := openTest(t, Options{MaxBatch: 4, MaxDelay: time.Hour, clock: clk})
	o := newOutcomes()
	for i := range 4 {
		l.Submit(movementN("f", i), o.done(i))
	}
	o.wg.Wait()
	if s := l.Stats(); s.Transactions != 1 || s.Movements != 4 {
		t.Errorf("Stats %+v, want one transaction of four movements", s)
	}
	for i := range 4 {
		if o.got[i].Seq != uint64(i+1) {
			t.Errorf("movement %d got seq %d", i, o.got[i].Seq)
		}
	}
}

// A movement that waited in the queue past its delay (while the previous
// transaction committed) is committed without further waiting.
func TestBatchNoWaitWhenDelayPassed(t *testing.T) {
	clk := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := openTest(t, Options{MaxBatch: 100, MaxDelay: 10 * time.Millisecond, clock: clk})
	o := newOutcomes()
	l.Submit(movementN("p", 0), o.done(0))
	waitFor(t, 5*time.Second, "the writer's timer", func() bool { return clk.pending() == 1 })
	// The clock jumps past the delay before the writer looks again.
	clk.Advance(time.Second)
	o.wg.Wait()
	if clk.pending() != 0 {
		t.Errorf("timer left pending")
	}
}

// With a slow trickle, each movement is committed within MaxDelay plus its
// commit: it does not wait for company.
func TestTrickleLatency(t *testing.T) {
	const delay = 5 * time.Millisecond
	l := openTest(t, Options{MaxDelay: delay})
	ctx := context.Background()
	var waits []time.Duration
	for i := range 21 {
		before := l.Stats().CommitTime
		start := time.Now()
		if _, err := l.Append(ctx, movementN("t", i)); err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		waits = append(waits, took-(l.Stats().CommitTime-before))
		time.Sleep(delay + time.Millisecond) // a trickle: every movement alone
	}
	slices.Sort(waits)
	// The median, so that a scheduling hiccup on a busy machine does not
	// count; a writer that waited for a fuller batch would never commit
	// before MaxBatch movements came (the test sends one at a time).
	if median := waits[len(waits)/2]; median > delay+25*time.Millisecond {
		t.Errorf("median wait before commit %v with MaxDelay %v (all: %v)", median, delay, waits)
	}
	if s := l.Stats(); s.Transactions != 21 {
		t.Errorf("Stats %+v: a trickle should commit one movement per transaction", s)
	}
}

// Under a burst, transactions hold many movements.
func TestBurstGroupsMovements(t *testing.T) {
	l := openTest(t, Options{})
	o := newOutcomes()
	const n = 5000
	done := make(chan struct{})
	for s := range 4 {
		go func() {
			for i := s; i < n; i += 4 {
				l.Submit(movementN("b", i), o.done(i))
			}
			done <- struct{}{}
		}()
	}
	for range 4 {
		<-done
	}
	o.wg.Wait()
	s := l.Stats()
	if s.Movements != n {
		t.Fatalf("Stats %+v", s)
	}
	if s.Transactions*10 > s.Movements {
		t.Errorf("%d transactions for %d movements: a burst should group at least 10 per transaction", s.Transactions, s.Movements)
	}
	t.Logf("%d movements in %d transactions, largest %d, commit time %v", s.Movements, s.Transactions, s.MaxBatch, s.CommitTime)
}
