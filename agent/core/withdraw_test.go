package core_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/stock"
)

// closings returns the seqs of the requests the movements of l close,
// those withdrawn apart, with why.
func closings(t *testing.T, l *bolt.Ledger) (met []uint64, withdrawn map[uint64]string) {
	t.Helper()
	withdrawn = map[uint64]string{}
	err := l.Range(1, func(m agent.Movement) error {
		seq, _, ok := agent.ReadMet(m)
		if !ok {
			return nil
		}
		if why, ok := agent.ReadWithdrawn(m); ok {
			withdrawn[seq] = why
		} else {
			met = append(met, seq)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return met, withdrawn
}

// TestParChangeWithdrawsRequest: a request raised by a par level is
// withdrawn, by a movement saying why, when the par level is corrected
// so that it no longer calls for it, and when it is removed (an import
// without its row); it is not raised again, and the stock the centre
// folds from the same movements holds it closed too.
func TestParChangeWithdrawsRequest(t *testing.T) {
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))
	var log syncBuffer
	var sw sweeps
	g, l, stop := supplyGateway(t, filepath.Join(t.TempDir(), "ledger.db"), func() time.Time { return now }, &log, &sw)
	defer stop()
	ctx := context.Background()
	par := func(rows string) {
		t.Helper()
		if _, err := g.Import(ctx, "par", strings.NewReader("location,gtin,min,max\n"+rows), core.ImportOptions{Format: "csv"}); err != nil {
			t.Fatal(err)
		}
	}
	open := func() []stock.Request {
		rep, err := g.Stock(ctx, core.StockQuery{Location: "OR-3"})
		if err != nil {
			t.Fatal(err)
		}
		return rep.Requests
	}
	scan(g, "desk", gs1(stent, "270630", "L2", "S1"), now)
	g.Wait()
	par("OR-3," + stent + ",2,4\n")
	waitFor(t, "the request", func() bool { return len(open()) == 1 })
	first := open()[0]
	if first.Quantity != 3 || first.Urgency != agent.UrgencyRoutine {
		t.Fatalf("request %+v", first)
	}

	par("OR-3," + stent + ",1,4\n") // corrected: on hand 1 is not below 1
	waitFor(t, "the withdrawal", func() bool { return len(open()) == 0 })
	_, withdrawn := closings(t, l)
	if why := withdrawn[first.Seq]; len(withdrawn) != 1 || !strings.Contains(why, "reorder point 1, max 4") {
		t.Fatalf("withdrawals %v, want request %d's saying the par level changed", withdrawn, first.Seq)
	}

	par("OR-3," + stent + ",2,4\n")
	waitFor(t, "the second request", func() bool { return len(open()) == 1 })
	second := open()[0]
	par("W5," + stent + ",2,4\n") // OR-3's row removed
	waitFor(t, "the second withdrawal", func() bool { return len(open()) == 0 })
	_, withdrawn = closings(t, l)
	if why := withdrawn[second.Seq]; len(withdrawn) != 2 || !strings.Contains(why, "removed") {
		t.Fatalf("withdrawals %v, want request %d's saying the par level was removed", withdrawn, second.Seq)
	}
	// Later sweeps ask nothing again.
	sw.await(t, sw.n.Load(), 3)
	if n := len(requests(t, l)); n != 2 {
		t.Errorf("%d requests, want 2 (none raised again after its withdrawal)", n)
	}
	if !strings.Contains(log.String(), "replenishment request withdrawn") {
		t.Errorf("no withdrawal logged:\n%s", log.String())
	}
	// The centre folds the same movements with agent/stock.
	centre := stock.New()
	if err := l.Range(1, func(m agent.Movement) error { centre.Apply(m); return nil }); err != nil {
		t.Fatal(err)
	}
	if rs := centre.Requests(""); len(rs) != 0 {
		t.Errorf("the centre's fold holds %+v open", rs)
	}
}

// TestForeignRequestWithdrawn: a request a gateway raised for another
// gateway's location (as gateways did before they asked only for their
// own), which no delivery there would ever meet, is withdrawn at the
// first sweep, saying why; the location is then none of the gateway's.
func TestForeignRequestWithdrawn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))
	// Before: the request, and the centre's par levels naming CATH-LAB.
	l, err := bolt.Open(bolt.Options{Path: path, Gateway: "gw-or"})
	if err != nil {
		t.Fatal(err)
	}
	g, err := core.New(core.Config{}, core.Deps{Store: l, Master: l})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	req, err := l.Append(ctx, agent.Movement{Time: now, Kind: agent.KindContext, Item: stent, Location: "CATH-LAB", Station: "replenishment",
		Flags: []string{agent.FlagReplenish}, Reason: agent.RequestReason(agent.Request{Quantity: 4, Urgency: agent.UrgencyUrgent, ReorderPoint: 2, Max: 4})})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Import(ctx, "par", strings.NewReader("location,gtin,min,max\nCATH-LAB,"+stent+",2,4\n"), core.ImportOptions{Format: "csv"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	g, l, stop := supplyGateway(t, path, func() time.Time { return now }, &log)
	defer stop()
	waitFor(t, "the withdrawal", func() bool { _, w := closings(t, l); return w[req.Seq] != "" })
	if _, w := closings(t, l); !strings.Contains(w[req.Seq], "not this gateway's") {
		t.Errorf("withdrawn because %q", w[req.Seq])
	}
	if _, err := g.Stock(ctx, core.StockQuery{Location: "CATH-LAB"}); !errors.Is(err, core.ErrStockQuery) {
		t.Errorf("stock at CATH-LAB once withdrawn: %v, want refused", err)
	}
}
