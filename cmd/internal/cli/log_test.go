package cli

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestRepeatedWarningsLimited: 1,000 warnings of one cause give LogBurst
// lines and, after the window, a line that counts the rest; another
// cause, info lines and another component are not held back by it.
func TestRepeatedWarningsLimited(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	log := slog.New(NewLimitHandler(slog.NewJSONHandler(&buf, nil), LogBurst, LogWindow, func() time.Time { return now }))
	sync := log.With("component", "sync")
	for range 1000 {
		sync.Warn("forged ack ignored", "seq", 7)
	}
	for range 20 {
		sync.Info("batch sent")
	}
	log.With("component", "ingest").Warn("forged ack ignored")
	now = now.Add(LogWindow)
	sync.Warn("forged ack ignored", "seq", 8)

	var forged, info, other int
	var suppressed float64
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		switch {
		case rec["msg"] == "batch sent":
			info++
		case rec["component"] == "ingest":
			other++
		case rec["msg"] == "forged ack ignored":
			forged++
			if n, ok := rec["suppressed"].(float64); ok {
				suppressed = n
			}
		}
	}
	if forged != LogBurst+1 || suppressed != 1000-LogBurst || info != 20 || other != 1 {
		t.Fatalf("%d forged-ack lines (want %d), suppressed %v (want %d), %d info, %d other\n%s",
			forged, LogBurst+1, suppressed, 1000-LogBurst, info, other, buf.String())
	}
}
