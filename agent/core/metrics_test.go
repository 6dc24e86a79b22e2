package core_test

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
)

// observer records what the core tells it.
type observer struct {
	mu       sync.Mutex
	outcomes []string
	expiring [][]core.ExpiringUnits
}

func (o *observer) Decided(took time.Duration, outcome string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if took > 0 {
		o.outcomes = append(o.outcomes, outcome)
	}
}

func (o *observer) Expiring(units []core.ExpiringUnits) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.expiring = append(o.expiring, units)
}

func (o *observer) last() ([]string, []core.ExpiringUnits) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var e []core.ExpiringUnits
	if len(o.expiring) > 0 {
		e = o.expiring[len(o.expiring)-1]
	}
	return slices.Clone(o.outcomes), e
}

// TestObserverToldDecisionsAndExpiringStock: a running gateway tells its
// observer the outcome of each point-of-use decision, and after each
// sweep the units on hand per location within each expiry horizon (a
// unit under every horizon it is within; an expired one under 0).
func TestObserverToldDecisionsAndExpiringStock(t *testing.T) {
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))
	l, err := bolt.Open(bolt.Options{Path: filepath.Join(t.TempDir(), "ledger.db"), Gateway: "gw-or"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	obs := &observer{}
	g, err := core.New(core.Config{
		Stations: map[string]agent.Station{
			"desk": {ID: "desk", Location: "store", Kind: agent.KindReceive},
			"or":   {ID: "or", Location: "OR-3", Kind: agent.KindUse},
		},
		Live: true, Now: func() time.Time { return now },
		Rules:  lifecycle.Rules{lifecycle.CheckNoCase: lifecycle.SeverityOff},
		Supply: core.SupplyConfig{Sweep: 20 * time.Millisecond, ExpiryHorizons: []int{30, 90}},
	}, core.Deps{Store: l, Master: l, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	scanners, done := make(chan struct{}), make(chan struct{})
	go func() { g.Run(ctx, scanners); close(done) }()
	defer func() { cancel(); close(scanners); <-done }()

	scan(g, "desk", gs1(stent, "261216", "L1", "S1"), now) // 10 days left
	scan(g, "desk", gs1(stent, "261216", "L1", "S2"), now)
	scan(g, "desk", gs1(stent, "270201", "L2", "S3"), now) // 57 days left
	scan(g, "desk", gs1(stent, "261201", "L0", "S4"), now) // expired
	scan(g, "desk", gs1(stent, "280101", "L3", "S5"), now) // beyond every horizon
	scan(g, "or", gs1(stent, "261216", "L1", "S6"), now)   // used: never received, decided
	g.Wait()
	want := []core.ExpiringUnits{{"store", 0, 1}, {"store", 30, 2}, {"store", 90, 3}}
	waitFor(t, "the expiring units", func() bool {
		_, e := obs.last()
		return slices.Equal(e, want)
	})
	outcomes, _ := obs.last()
	if len(outcomes) != 6 || outcomes[5] != agent.DecisionWarned {
		t.Fatalf("decisions observed %q, want six, the use warned (never received)", outcomes)
	}
}
