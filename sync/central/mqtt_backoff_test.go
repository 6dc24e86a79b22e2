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
// and stays away a moment, again and again, each time after the centre's
// connection to it had held a second. Every lost connection must start
// over from the shortest delay, so that the centre is back within a
// quarter of a second of the broker; the kills campaign (udi-lab) found
// the delay growing with every broker restart instead, since only a
// connection that held 30 s started over: 9 s after the fourth restart
// within a minute, 30 s later on, the whole site's sync stalled that long
// each time. The attempts that failed while the broker was away make the
// delays grow, as they must.
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
	const rounds = 3
	for round := range rounds {
		// What is tested is how long the connection held and how long
		// the broker was away, so the test waits.
		time.Sleep(time.Second)
		b.Kill()
		time.Sleep(time.Second)
		b.Restart()
		testkit.Eventually(t, 20*time.Second, fmt.Sprintf("reconnected after restart %d", round+1), m.Connected)
	}
	var losses, failures int
	for _, e := range log.all() {
		if !strings.HasPrefix(e.err, "connection lost") {
			failures++ // an attempt while the broker was away
			continue
		}
		losses++
		if e.delay != reconnectMin {
			t.Errorf("loss %d of a connection that held: delay %v, want %v (start over)\n%v", losses, e.delay, reconnectMin, log.all())
		}
	}
	if losses != rounds || failures < rounds {
		t.Errorf("%d connections lost, %d attempts failed; want %d, at least one each time the broker was away: %v", losses, failures, rounds, log.all())
	}
}
