package barcode

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/reader"
)

// runWaits runs s until it has waited n times between attempts, failing
// the test if it reports the device connected, and returns the waits and
// the errors it reported.
func runWaits(t *testing.T, s *Scanner, n int) (waits []time.Duration, reports []error) {
	t.Helper()
	s.OnState = func(connected bool, err error) {
		if connected {
			t.Error("reported connected")
		}
		reports = append(reports, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.Sleep = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		if len(waits) == n {
			cancel()
			return ctx.Err()
		}
		return nil
	}
	if err := s.Run(ctx, func(agent.Read) { t.Error("read from no device") }); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	return waits, reports
}

func TestRunBacksOff(t *testing.T) {
	const lo, hi = 10 * time.Millisecond, 80 * time.Millisecond
	s := New(Config{ID: "x", Serial: reader.Settings{Device: "/dev/x"}, MinBackoff: lo, MaxBackoff: hi}, nil)
	missing := errors.New("no such device")
	s.Opener = func(reader.Settings) (reader.Port, error) { return nil, missing }
	waits, states := runWaits(t, s, 12)
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

// deadPort opens but fails its first read, as a device that vanishes
// while it is being opened.
type deadPort struct{}

func (deadPort) Read([]byte) (int, error)           { return 0, reader.ErrHangup }
func (deadPort) Write(b []byte) (int, error)        { return len(b), nil }
func (deadPort) Close() error                       { return nil }
func (deadPort) SetReadTimeout(time.Duration) error { return nil }
func (deadPort) SetWriteDeadline(time.Time) error   { return nil }

// TestRunBacksOffFromDeadDevice: a device that opens but cannot be read
// is never reported connected, and the waits grow as for one that does
// not open: it cannot make the driver spin.
func TestRunBacksOffFromDeadDevice(t *testing.T) {
	const lo, hi = 10 * time.Millisecond, 80 * time.Millisecond
	s := New(Config{ID: "x", Serial: reader.Settings{Device: "/dev/x"}, MinBackoff: lo, MaxBackoff: hi}, nil)
	s.Opener = func(reader.Settings) (reader.Port, error) { return deadPort{}, nil }
	waits, reports := runWaits(t, s, 8)
	if last := waits[len(waits)-1]; last < hi/2 {
		t.Errorf("waits did not grow: %v", waits)
	}
	if len(reports) != 1 || !errors.Is(reports[0], reader.ErrHangup) {
		t.Errorf("reports %v, want the failure reported once", reports)
	}
}
