package edge

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestLabClock: UDI_EDGE_LAB_CLOCK_OFFSET unset or zero leaves the wall
// clock; "-1h" sets the agent's clock an hour back and warns; a clock set
// forward, too far back or not a duration is refused with an error naming
// the variable.
func TestLabClock(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == LabClockOffset {
				return v
			}
			return ""
		}
	}
	for _, v := range []string{"", "0", "0s"} {
		if now, err := labClock(env(v), slog.New(slog.DiscardHandler)); now != nil || err != nil {
			t.Errorf("%q: a clock (%v) or %v, want the wall clock", v, now != nil, err)
		}
	}
	var log bytes.Buffer
	now, err := labClock(env("-1h"), slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil || now == nil {
		t.Fatalf("-1h: %v", err)
	}
	if back := time.Since(now()); back < time.Hour || back > time.Hour+time.Minute {
		t.Errorf("-1h: the clock is %s behind", back)
	}
	if !strings.Contains(log.String(), "level=WARN") || !strings.Contains(log.String(), "offset=-1h0m0s") {
		t.Errorf("no warning: %s", log.String())
	}
	for v, want := range map[string]string{"1h": "only be set back", "-49h": "at most 48h0m0s back", "an hour": "not a duration"} {
		_, err := labClock(env(v), slog.New(slog.DiscardHandler))
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Where != LabClockOffset || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error on %s saying %q", v, err, LabClockOffset, want)
		}
	}
}
