package edge

import (
	"log/slog"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
)

// BenchmarkMetricsPerScan is what the metrics add to one scan: its read
// counted by station and verdict, its decision timed, its movement
// counted by kind.
func BenchmarkMetricsPerScan(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Scanners = []ScannerConfig{{ID: "desk"}}
	m := newGatewayMetrics(&Agent{Config: cfg, Log: slog.New(slog.DiscardHandler)})
	o := agent.Outcome{Verdict: agent.VerdictAccepted, Movement: agent.Movement{Kind: agent.KindUse}}
	for b.Loop() {
		m.answered("desk", o)
		m.Decided(time.Microsecond, agent.DecisionAccepted)
		m.kinds[agent.KindUse].Inc()
	}
}
