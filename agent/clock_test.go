package agent

import (
	"testing"
	"time"
)

func TestClockBackRoundTrip(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		flag string
		read time.Duration
	}{
		{time.Hour, "clock-back:3600s", time.Hour},
		{61*time.Second + 900*time.Millisecond, "clock-back:61s", 61 * time.Second}, // whole seconds, down
		{time.Millisecond, "clock-back:1s", time.Second},                            // never 0
	} {
		f := ClockBackFlag(c.d)
		if f != c.flag {
			t.Errorf("ClockBackFlag(%s) = %q, want %q", c.d, f, c.flag)
		}
		got, ok := ClockBack(Movement{Flags: []string{"expired", f}})
		if !ok || got != c.read || !IsClockBackFlag(f) {
			t.Errorf("ClockBack(%q) = %s, %v; want %s", f, got, ok, c.read)
		}
	}
	for _, bad := range []string{"clock-back", "clock-back:", "clock-back:s", "clock-back:60", "clock-back:-60s", "clock-back:0s",
		"clock-back:1h", "clock-back:99999999999999999999s", "consigned:clock-back:60s"} {
		if d, ok := ClockBack(Movement{Flags: []string{bad}}); ok || IsClockBackFlag(bad) {
			t.Errorf("ClockBack(%q) = %s, want no flag", bad, d)
		}
	}
}
