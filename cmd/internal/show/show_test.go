package show

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
)

// TestTraceClockBack: the line of a movement recorded while the clock was
// behind says so in words, with how far; the line before it does not.
func TestTraceClockBack(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	ms := []agent.Movement{
		{Gateway: "gw-1", Seq: 1, Time: t0, Kind: agent.KindReceive, Location: "WH", Station: "desk", Reason: "first"},
		{Gateway: "gw-1", Seq: 2, Time: t0.Add(-59 * time.Minute), Kind: agent.KindUse, Location: "OR-3", Station: "or",
			Flags: []string{"expired", agent.ClockBackFlag(time.Hour + 30*time.Second)}},
	}
	var b bytes.Buffer
	Trace(&b, "(01)09520123456788(21)S1", ms)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("want a title, a header and 2 lines:\n%s", b.String())
	}
	if strings.Contains(lines[2], "CLOCK") {
		t.Errorf("movement 1 was not recorded behind: %s", lines[2])
	}
	want := "CLOCK SET BACK: time 1h0m30s before one already recorded (SEQ is the order); [expired clock-back:3630s]"
	if !strings.Contains(lines[3], "gw-1/2") || !strings.Contains(lines[3], want) {
		t.Errorf("movement 2:\n%s\nwant it to say %q", lines[3], want)
	}
	for d, want := range map[time.Duration]string{time.Hour: "1h", 70 * time.Minute: "1h10m", 90 * time.Second: "1m30s", 2 * time.Minute: "2m"} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
