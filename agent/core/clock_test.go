package core_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/core"
)

// fakeClock is a clock a test sets.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// clockGateway is a running core over a real ledger at path, on clock,
// with one receiving station "desk"; it returns every outcome told.
func clockGateway(t *testing.T, path string, clock *fakeClock) (*core.Gateway, *bolt.Ledger, func() []agent.Outcome) {
	t.Helper()
	l, err := bolt.Open(bolt.Options{Path: path, Gateway: "gw-1"})
	if err != nil {
		t.Fatal(err)
	}
	stations := map[string]agent.Station{"desk": {ID: "desk", Location: "WH", Kind: agent.KindReceive}}
	g, err := core.New(core.Config{Stations: stations, Live: true, Now: clock.Now}, core.Deps{Store: l, Master: l})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var outs []agent.Outcome
	g.OnAnswer = func(_ string, o agent.Outcome) {
		mu.Lock()
		outs = append(outs, o)
		mu.Unlock()
	}
	return g, l, func() []agent.Outcome {
		g.Wait()
		mu.Lock()
		defer mu.Unlock()
		return append([]agent.Outcome(nil), outs...)
	}
}

// receive scans item n at the desk, stamped by the core's clock (the read
// comes with no time).
func receive(g *core.Gateway, n int) {
	raw := gs1("09520123456788", "281231", "L1", fmt.Sprintf("S%d", n))
	g.Scan(agent.Read{Source: "desk", Raw: []byte(raw), Symbology: raw[:3], Data: []byte(raw[3:])})
}

// TestClockJumpsBack: the clock is set back an hour while the gateway
// runs. Every scan is still accepted and recorded in sequence order with
// the time the clock gave; each one whose time is behind the latest time
// already recorded by more than ClockTolerance is flagged with how far,
// until the clock catches up; a step back within the tolerance is not
// flagged.
func TestClockJumpsBack(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))
	clock := &fakeClock{t: t0}
	g, l, outcomes := clockGateway(t, filepath.Join(t.TempDir(), "ledger.db"), clock)
	defer l.Close()
	steps := []struct {
		at   time.Time
		back time.Duration // the flag expected; 0 for none
	}{
		{t0, 0},
		{t0.Add(10 * time.Minute), 0},
		{t0.Add(10*time.Minute - 30*time.Second), 0}, // within the tolerance
		{t0.Add(-50 * time.Minute), time.Hour},       // set back an hour
		{t0.Add(-49 * time.Minute), 59 * time.Minute},
		{t0.Add(9 * time.Minute), 0},  // ClockTolerance behind, not more: not flagged
		{t0.Add(11 * time.Minute), 0}, // caught up
		{t0.Add(11*time.Minute - 2*core.ClockTolerance), 2 * core.ClockTolerance},
	}
	for i, s := range steps {
		clock.Set(s.at)
		receive(g, i)
		g.Wait()
	}
	outs := outcomes()
	if len(outs) != len(steps) {
		t.Fatalf("%d outcomes for %d scans", len(outs), len(steps))
	}
	for i, o := range outs {
		m := o.Movement
		if o.Verdict != agent.VerdictAccepted {
			t.Errorf("scan %d: %s (%v): a clock set back refuses nothing", i, o.Verdict, o.Err)
		}
		if m.Seq != uint64(i+1) || !m.Time.Equal(steps[i].at) {
			t.Errorf("scan %d recorded as %d at %s, want %d at %s", i, m.Seq, m.Time, i+1, steps[i].at)
		}
		back, flagged := agent.ClockBack(m)
		if back != steps[i].back || flagged != (steps[i].back > 0) {
			t.Errorf("scan %d at %s: flags %v, want clock-back %s", i, m.Time.Format(time.TimeOnly), m.Flags, steps[i].back)
		}
	}
	// The ledger holds what the station was told: the flag is recorded.
	ms, err := l.Trace(context.Background(), "(01)09520123456788(21)S3")
	if err != nil || len(ms) != 1 || len(ms[0].Flags) != 1 || ms[0].Flags[0] != "clock-back:3600s" {
		t.Fatalf("recorded: %+v %v", ms, err)
	}
}

// TestClockBackAcrossRestarts: the latest time is known again from the
// ledger after a restart: a gateway restarted with its clock an hour
// behind flags its first scan, and one restarted again, still behind,
// counts from the latest time recorded, not from the last flagged
// movement's own time.
func TestClockBackAcrossRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	run := func(at time.Time, n int) agent.Movement {
		t.Helper()
		clock := &fakeClock{t: at}
		g, l, outcomes := clockGateway(t, path, clock)
		receive(g, n)
		outs := outcomes()
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if len(outs) != 1 || outs[0].Verdict != agent.VerdictAccepted {
			t.Fatalf("scan %d: %+v", n, outs)
		}
		return outs[0].Movement
	}
	if m := run(t0, 1); len(m.Flags) != 0 {
		t.Fatalf("first scan flagged %v", m.Flags)
	}
	if back, _ := agent.ClockBack(run(t0.Add(-time.Hour), 2)); back != time.Hour {
		t.Errorf("restarted an hour behind: clock-back %s, want 1h", back)
	}
	if back, _ := agent.ClockBack(run(t0.Add(-30*time.Minute), 3)); back != 30*time.Minute {
		t.Errorf("restarted again, 30 min behind the latest time: clock-back %s, want 30m", back)
	}
	if m := run(t0.Add(time.Second), 4); len(m.Flags) != 0 {
		t.Errorf("the clock right again: flagged %v", m.Flags)
	}
}
