package central_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
	"github.com/udi-edge/udi-edge/sync/central/storetest"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// TestServiceConflictIsABranch: a gateway restored from a backup of
// movement 6 sends, from its cursor on, a history that differs from what
// the centre holds from movement 7. The centre keeps both, acknowledges
// the gateway's own movements so that its cursor moves on, and takes
// what it writes next; the first history may go on too. The conflict is
// logged at ERROR once, listed with both hashes, counted, and still
// there after a restart.
func TestServiceConflictIsABranch(t *testing.T) {
	f := newFixture(t)
	l := testkit.NewLedger(site, "or-3", created)
	l.AddN(t, 12)
	restored := storetest.Fork(t, l, 6, 14, "(01)09506000134352(21)AFTER-RESTORE")
	f.send(l, 1, 10)
	f.send(restored, 5, 12) // from the backup's cursor + 1
	f.send(restored, 5, 12) // again, after its ack timeout
	f.send(restored, 13, 14)
	f.send(l, 11, 12) // the first history goes on (a copy of the key)
	ms := f.published(5)
	wantAck(t, ms[0], l, 10)
	wantAck(t, ms[1], restored, 12)
	wantAck(t, ms[2], restored, 12)
	wantAck(t, ms[3], restored, 14)
	wantAck(t, ms[4], l, 12)
	f.wantStored(restored, 14) // the current history

	check := func() {
		t.Helper()
		g := f.info("or-3")
		if g.Branch != 1 || g.Seq != 14 || g.Hash != wire.HashHex(restored.Hash(14)) || g.Ledgers != 1 {
			t.Fatalf("gateway info %+v; want branch 1 at 14 of one ledger", g)
		}
		if len(g.Conflicts) != 1 {
			t.Fatalf("conflicts %+v, want one", g.Conflicts)
		}
		c := g.Conflicts[0]
		if c.Created != created || c.Seq != 7 || c.Branch != 1 || c.Parent != 0 || c.Held != wire.HashHex(l.Hash(7)) || c.Hash != wire.HashHex(restored.Hash(7)) || c.At.IsZero() {
			t.Fatalf("conflict %+v; want movement 7, both hashes", c)
		}
		if g.Counters.Conflicts != 1 || g.Counters.Stored != 12+8 || g.Counters.ChainErrors != 0 || g.Counters.Acks != 5 || g.Counters.Batches != 5 || g.Counters.Duplicates != 1 {
			t.Fatalf("counters %+v; want 1 conflict, 20 movements held, 5 batches, 5 acks, 1 duplicate", g.Counters)
		}
		if n := strings.Count(f.logs.String(), "level=ERROR msg=\"ledger conflict"); n != 1 {
			t.Fatalf("%d ERROR lines of the conflict, want 1:\n%s", n, f.logs.String())
		}
		logged := f.logs.String()
		for _, want := range []string{"seq=7", "branch=1", "held_hash=" + wire.HashHex(l.Hash(7)), "hash=" + wire.HashHex(restored.Hash(7))} {
			if !strings.Contains(logged, want) {
				t.Fatalf("the log does not say %s:\n%s", want, logged)
			}
		}
	}
	f.waitCounters("or-3", func(c central.Counters) bool { return c.Acks == 5 })
	check()
	storetest.HoldsBranch(t, f.store, l, 0, 12)
	storetest.HoldsBranch(t, f.store, restored, 1, 14)
	// The centre's trace names the history of each movement.
	srv := httptest.NewServer(f.svc.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/v1/trace?code=" + url.QueryEscape("(01)09506000134352(21)AFTER-RESTORE"))
	if err != nil {
		t.Fatal(err)
	}
	var tr central.TraceResponse
	err = json.NewDecoder(resp.Body).Decode(&tr)
	resp.Body.Close()
	if err != nil || len(tr.Movements) == 0 {
		t.Fatalf("trace of the restored gateway's item: %v, %+v", err, tr)
	}
	for _, m := range tr.Movements {
		if m.Branch != 1 || m.Created != created {
			t.Fatalf("movement %d of the restored history shows branch %d, ledger %d", m.Seq, m.Branch, m.Created)
		}
	}
	f.stop()
	f.start()
	check()
}

// TestServiceCountersSurviveRestart: the counters are the store's
// totals: kept across a restart of the service (added on Close), and
// added to by the service after it.
func TestServiceCountersSurviveRestart(t *testing.T) {
	f := newFixture(t)
	l := testkit.NewLedger(site, "or-3", created)
	l.AddN(t, 20)
	f.send(l, 1, 10)
	f.send(l, 1, 10)  // a duplicate
	f.send(l, 15, 20) // a gap
	f.sendRaw("or-3", []byte("UDIB\x01garbage"))
	f.waitCounters("or-3", func(c central.Counters) bool { return c.Batches == 4 && c.Malformed == 1 && c.Resends == 1 })
	want := central.Counters{Batches: 4, Stored: 10, Duplicates: 1, Gaps: 1, Malformed: 1, Acks: 2, Resends: 1}
	if c := f.info("or-3").Counters; c != want {
		t.Fatalf("counters %+v, want %+v", c, want)
	}
	f.stop()
	f.start()
	if c := f.info("or-3").Counters; c != want {
		t.Fatalf("counters after a restart %+v, want %+v", c, want)
	}
	f.send(l, 11, 20)
	f.waitCounters("or-3", func(c central.Counters) bool { return c.Acks == 3 })
	want.Batches, want.Stored, want.Acks = 5, 20, 3
	if c := f.info("or-3").Counters; c != want {
		t.Fatalf("counters after more batches %+v, want %+v", c, want)
	}
	f.stop()
	f.start()
	if c := f.info("or-3").Counters; c != want {
		t.Fatalf("counters after a second restart %+v, want %+v", c, want)
	}
	// The totals as a command reads them from the stopped service's store.
	gs, err := central.GatewaysFromStore(context.Background(), f.store)
	if err != nil || len(gs) != 1 || gs[0].Counters != want || gs[0].Seq != 20 {
		t.Fatalf("GatewaysFromStore: %+v, %v", gs, err)
	}
}

// TestServiceFlushesCountersPeriodically: counters reach the store every
// CounterFlush, not only on Close: a second service sharing the store
// (another instance) lists them.
func TestServiceFlushesCountersPeriodically(t *testing.T) {
	f := newFixtureWith(t, func(c *central.Config) { c.CounterFlush = 20 * time.Millisecond })
	l := testkit.NewLedger(site, "or-3", created)
	l.AddN(t, 3)
	f.send(l, 1, 3)
	testkit.WaitFor(t, 5*time.Second, "counters in the store", func() bool {
		gs, err := central.GatewaysFromStore(context.Background(), f.store)
		return err == nil && len(gs) == 1 && gs[0].Counters.Batches == 1 && gs[0].Counters.Acks == 1
	})
}

// TestSiteAnomaliesOfABranchedLedger: a ledger with two histories is
// audited whole, each movement once (the shared ones are not "used
// twice"), and the conflict is the first finding.
func TestSiteAnomaliesOfABranchedLedger(t *testing.T) {
	f := newFixture(t)
	at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	mv := func(k agent.Kind, item string, min int) agent.Movement {
		return agent.Movement{Time: at.Add(time.Duration(min) * time.Minute), Kind: k, Item: item, Location: "OR-3", Decision: "accepted"}
	}
	const x, y, z = "(01)09506000134352(21)X1", "(01)09506000134352(21)Y1", "(01)09506000134352(21)Z1"
	l := testkit.NewLedger(site, "or-3", created)
	l.Add(t, mv(agent.KindReceive, x, 0))
	l.Add(t, mv(agent.KindUse, x, 10))
	restored := testkit.NewLedger(site, "or-3", created)
	restored.Add(t, l.Movements[0])
	restored.Add(t, l.Movements[1])
	l.Add(t, mv(agent.KindReceive, y, 20))
	restored.Add(t, mv(agent.KindReceive, z, 30))
	storetest.MustAppend(t, f.store, l, 1, 3)
	if h, _, err := f.store.Append(context.Background(), site, "or-3", created, storetest.Stored(t, restored, 1, 3)); err != nil || h.Branch != 1 {
		t.Fatalf("branch %d, %v", h.Branch, err)
	}
	fs, err := central.SiteAnomalies(context.Background(), f.store, site, nil, at.Add(time.Hour), 4*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].Kind != central.FindingLedgerConflict || fs[0].Gateway != "or-3" || fs[0].Seq != 3 ||
		!strings.Contains(fs[0].Text, "branch 1") {
		t.Fatalf("findings %+v; want the conflict at movement 3 only", fs)
	}
}
