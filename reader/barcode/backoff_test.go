package barcode

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/reader"
)

func TestBackoff(t *testing.T) {
	const lo, hi = 250 * time.Millisecond, 10 * time.Second
	r := rand.New(rand.NewPCG(1, 2))
	b := backoff{min: lo, max: hi, rand: r.Float64}
	step := lo
	distinct := map[time.Duration]bool{}
	for i := range 40 {
		d := b.next()
		if i == 0 && d != lo {
			t.Fatalf("first wait %v, want %v", d, lo)
		}
		if d < max(step/2, lo) || d > step {
			t.Fatalf("wait %d = %v, want within [%v, %v]", i, d, max(step/2, lo), step)
		}
		distinct[d] = true
		step = min(2*step, hi)
	}
	if len(distinct) < 10 {
		t.Errorf("only %d distinct waits in 40: not jittered", len(distinct))
	}
	b.reset()
	if d := b.next(); d != lo {
		t.Errorf("after reset: %v, want %v", d, lo)
	}

	huge := backoff{min: time.Second, max: 1<<63 - 1, rand: r.Float64}
	for range 100 {
		if d := huge.next(); d < time.Second {
			t.Fatalf("wait %v below min: step overflowed", d)
		}
	}
}

// TestRunBacksOff runs a scanner whose device never opens, with the sleep
// injected: the waits start at MinBackoff, grow, stay within MaxBackoff,
// and the failure is reported once.
func TestRunBacksOff(t *testing.T) {
	const lo, hi = 10 * time.Millisecond, 80 * time.Millisecond
	s := New(Config{ID: "x", Serial: reader.Settings{Device: "/dev/x"}, MinBackoff: lo, MaxBackoff: hi}, nil)
	missing := errors.New("no such device")
	s.Opener = func(reader.Settings) (reader.Port, error) { return nil, missing }
	var states []error
	s.OnState = func(connected bool, err error) {
		if connected {
			t.Error("reported connected")
		}
		states = append(states, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var waits []time.Duration
	s.Sleep = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		if len(waits) == 12 {
			cancel()
			return ctx.Err()
		}
		return nil
	}
	if err := s.Run(ctx, func(agent.Read) { t.Error("read from no device") }); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if waits[0] != lo {
		t.Errorf("first wait %v, want %v", waits[0], lo)
	}
	for i, d := range waits {
		if d < lo || d > hi {
			t.Errorf("wait %d = %v, outside [%v, %v]", i, d, lo, hi)
		}
	}
	if last := waits[len(waits)-1]; last < hi/2 {
		t.Errorf("waits did not grow: %v", waits)
	}
	if len(states) != 1 || !errors.Is(states[0], missing) {
		t.Errorf("states %v, want the failure reported once", states)
	}
}
