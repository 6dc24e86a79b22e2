package central

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/testkit"
	"github.com/udi-edge/udi-edge/sync/internal/mosquitto"
)

// TestReconnectDelay checks the ceiling of the reconnect delay: from lo,
// doubling with every attempt, capped at hi (also where doubling would
// overflow), with the whole range from 0 to the ceiling drawn.
func TestReconnectDelay(t *testing.T) {
	const lo, hi = 250 * time.Millisecond, 30 * time.Second
	top := func(n int64) int64 { return n - 1 } // the largest draw
	for _, c := range []struct {
		attempt int
		want    time.Duration
	}{
		{0, lo},
		{1, 2 * lo},
		{3, 8 * lo},
		{6, 64 * lo}, // 16 s
		{7, hi},      // 32 s capped
		{40, hi},     // lo·2⁴⁰ overflows
		{1000, hi},
	} {
		if got := reconnectDelay(c.attempt, lo, hi, top); got != c.want {
			t.Errorf("attempt %d: longest delay %v, want %v", c.attempt, got, c.want)
		}
		if got := reconnectDelay(c.attempt, lo, hi, func(int64) int64 { return 0 }); got != 0 {
			t.Errorf("attempt %d: shortest delay %v, want 0", c.attempt, got)
		}
	}
	if got := reconnectDelay(0, lo, 100*time.Millisecond, top); got != 100*time.Millisecond {
		t.Errorf("with hi below lo: longest first delay %v, want hi", got)
	}
}

// delayLog records the reconnect delays MQTT logs, with why each
// connection ended.
type delayLog struct {
	mu     sync.Mutex
	events []delayEvent
}

type delayEvent struct {
	err   string
	delay time.Duration
}

func (d *delayLog) Enabled(context.Context, slog.Level) bool { return true }
func (d *delayLog) WithAttrs([]slog.Attr) slog.Handler       { return d }
func (d *delayLog) WithGroup(string) slog.Handler            { return d }
func (d *delayLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "mqtt connection ended; reconnecting" {
		return nil
	}
	var e delayEvent
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "err":
			e.err = fmt.Sprint(a.Value.Any())
		case "delay":
			e.delay = a.Value.Duration()
		}
		return true
	})
	d.mu.Lock()
	d.events = append(d.events, e)
	d.mu.Unlock()
	return nil
}

func (d *delayLog) all() []delayEvent {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.events)
}

// TestReconnectStartsOverAfterAConnectionHeld: the broker dies (SIGKILL)
// and comes back again and again, each time after the centre's connection
// to it had held longer than the wait before it. Every lost connection
// must start over from the shortest delay, so that the centre is back
// within a quarter of a second of the broker; the kills campaign (udi-lab)
// found the delay growing with every broker restart instead, since only
// a connection that held 30 s started over: 8 s after the fifth restart
// within a minute, 30 s after the seventh, the whole site's sync stalled
// that long each time.
func TestReconnectStartsOverAfterAConnectionHeld(t *testing.T) {
	b := mosquitto.Start(t, mosquitto.Config{})
	log := &delayLog{}
	m, err := NewMQTT(MQTTConfig{Brokers: []string{b.Addr()}, ClientID: "udi-central-backoff", Logger: slog.New(log)})
	if err != nil {
		t.Fatal(err)
	}
	m.rand = func(n int64) int64 { return n - 1 } // every delay its ceiling
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for round := range 4 {
		// The connection holds longer than the longest wait before it:
		// what is tested is how long it held, so the test waits.
		var before time.Duration
		for _, e := range log.all() {
			before = max(before, e.delay)
		}
		time.Sleep(time.Second + 2*before)
		b.Kill()
		b.Restart()
		testkit.Eventually(t, 20*time.Second, fmt.Sprintf("reconnected after restart %d", round+1), m.Connected)
	}
	var losses int
	for _, e := range log.all() {
		if !strings.HasPrefix(e.err, "connection lost") {
			continue // a connection attempt that failed: the delay grows
		}
		losses++
		if e.delay != reconnectMin {
			t.Errorf("loss %d of a connection that held: delay %v, want %v (start over)\n%v", losses, e.delay, reconnectMin, log.all())
		}
	}
	if losses != 4 {
		t.Errorf("%d connections lost, want 4: %v", losses, log.all())
	}
}

// TestAfterConnection: a connection that held longer than the longest
// wait before it starts the delays over; one dropped sooner (a second
// instance with the same client id taking the session, a broker that
// drops the client at once) goes on backing off.
func TestAfterConnection(t *testing.T) {
	const lo, hi = 250 * time.Millisecond, 30 * time.Second
	for _, c := range []struct {
		attempt int
		held    time.Duration
		want    int
	}{
		{0, time.Second, 0},             // the first connection
		{1, lo + time.Millisecond, 0},   // after the shortest wait
		{1, lo / 2, 1},                  // dropped within it
		{3, 4*lo + time.Millisecond, 0}, // attempt 3 came after a wait of at most 4·lo
		{3, 4 * lo, 3},                  // not longer
		{3, 100 * time.Millisecond, 3},  // dropped at once
		{20, hi + time.Millisecond, 0},  // at the cap
		{20, 29 * time.Second, 20},      // below it
	} {
		if got := afterConnection(c.attempt, c.held, lo, hi); got != c.want {
			t.Errorf("attempt %d, held %v: %d, want %d", c.attempt, c.held, got, c.want)
		}
	}
}
