package e2e_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/internal/mosquitto"
)

// TestTwoGatewaysOneSite: two gateways of one site, the store room's (it
// issues items) and the operating room's (it uses them), drain their
// backlogs at the same time while scans arrive at both; the centre's
// trace of an item follows it across both gateways, from the issue to
// the use, with the patient only when asked for.
func TestTwoGatewaysOneSite(t *testing.T) {
	start := time.Now()
	const site, backlog = "site-two", 15000
	const patient = "PAT-E2E-4711"
	broker := mosquitto.Start(t, mosquitto.Config{})
	c := startCentre(t, site, broker.Addr())
	c.waitConnected()
	scA, scB := newScanner(t, "store-1"), newScanner(t, "or-1")
	a := newGateway(t, site, "gw-store", broker.Addr(), scA, gatewayConfig{BatchBytes: 32 << 10, Window: 2, ScanKind: string(agent.KindIssue), ScanLocation: "OR-1"})
	b := newGateway(t, site, "gw-or", broker.Addr(), scB, gatewayConfig{BatchBytes: 32 << 10, Window: 2, ScanKind: string(agent.KindUse), ScanLocation: "OR-1"})

	// One item of the backlogs moved from one gateway to the other while
	// both were offline: issued by the store, used in the OR.
	_, shared := itemLabel("SHARED-1")
	when := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	fillLedger(t, a, backlog, nil, agent.Movement{
		Time: when, Kind: agent.KindIssue, Item: shared, GTIN: scanGTIN, Serial: "SHARED-1",
		From: "STORE", Location: "OR-1", Station: "store-1", Decision: "accepted",
	})
	fillLedger(t, b, backlog, nil, agent.Movement{
		Time: when.Add(time.Hour), Kind: agent.KindUse, Item: shared, GTIN: scanGTIN, Serial: "SHARED-1",
		Location: "OR-1", Station: "or-1", Case: "case-9", Patient: patient, Decision: "accepted",
	})
	logf(t, start, "ledgers filled with %d movements each", backlog+1)
	a.start()
	b.start()

	// Both drain at the same time.
	waitFor(t, drainWait, "both gateways to be in the middle of their drains", func() error {
		for _, g := range []*gateway{a, b} {
			acked, last, err := g.acked()
			if err != nil {
				return err
			}
			if acked >= last {
				return failNowf("%s drained already (acked %d of %d) before the other got going: the backlogs are too small", g.id, acked, last)
			}
			if acked == 0 {
				return fmt.Errorf("%s: nothing acknowledged yet", g.id)
			}
		}
		return nil
	})
	logf(t, start, "both draining")

	// Meanwhile items are issued at the store and used in the OR.
	var live []string
	for i := range 10 {
		label, key := itemLabel(fmt.Sprintf("LIVE-%03d", i))
		if err := scA.scan(label); err != nil {
			t.Fatalf("issue: %v", err)
		}
		if err := scB.scan(label); err != nil {
			t.Fatalf("use: %v", err)
		}
		live = append(live, key)
	}
	lastA := waitDrained(t, c, a, backlog+1+10)
	lastB := waitDrained(t, c, b, backlog+1+10)
	logf(t, start, "drained: %s %d, %s %d", a.id, lastA, b.id, lastB)

	// The centre's trace crosses the gateways.
	check := func(key string, withPatient bool) {
		t.Helper()
		ms, err := c.trace(key, withPatient)
		if err != nil {
			t.Fatal(err)
		}
		ok := len(ms) == 2 &&
			ms[0].Gateway == a.id && ms[0].Kind == string(agent.KindIssue) &&
			ms[1].Gateway == b.id && ms[1].Kind == string(agent.KindUse) && ms[1].Location == "OR-1"
		if !ok {
			t.Fatalf("trace of %s: %s, want an issue by %s then a use by %s", key, traceString(ms), a.id, b.id)
		}
		for _, m := range ms {
			if m.Site != site || m.Item != key {
				t.Fatalf("trace of %s: %s", key, traceString(ms))
			}
		}
		if key == shared {
			want := ""
			if withPatient {
				want = patient
			}
			if got := ms[1].Patient; got != want {
				t.Fatalf("trace of %s with include_patient=%t: patient %q", key, withPatient, got)
			}
		}
	}
	check(shared, false)
	check(shared, true)
	for _, key := range live {
		check(key, false)
	}
	// A backlog item of each gateway is held once.
	for _, g := range []*gateway{a, b} {
		key := backlogItem(g.id, backlog/2)
		if ms, err := c.trace(key, false); err != nil || len(ms) != 1 || ms[0].Gateway != g.id || ms[0].Seq != backlog/2 {
			t.Fatalf("trace of %s: %s (%v), want movement %d of %s once", key, traceString(ms), err, backlog/2, g.id)
		}
	}
	gs, err := c.gateways()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []*gateway{a, b} {
		if got, want := gs[g.id].Counters.Stored, map[string]uint64{a.id: lastA, b.id: lastB}[g.id]; got != want || gs[g.id].Site != site {
			t.Errorf("%s: the centre counts %d movements stored, want %d: %+v", g.id, got, want, gs[g.id])
		}
	}
	a.stop()
	b.stop()
	c.stop()
	verifyDelivered(t, c, a, b)
	noPatientInLogs(t, patient, c.proc, a.proc, b.proc)
	logf(t, start, "verified")
}

func traceString(ms []central.MovementJSON) string {
	s := fmt.Sprintf("%d movement(s)", len(ms))
	for _, m := range ms {
		s += fmt.Sprintf("; %s/%d %s at %s", m.Gateway, m.Seq, m.Kind, m.Location)
	}
	return s
}
