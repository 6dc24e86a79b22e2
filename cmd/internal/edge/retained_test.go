package edge

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/core"
)

// TestRetainedItem: an item whose movements retention took away is
// traced as retained away (not unknown), and a reuse of its serial is
// blocked as used twice, as before the cut.
func TestRetainedItem(t *testing.T) {
	ctx := context.Background()
	l, err := bolt.Open(bolt.Options{Path: filepath.Join(t.TempDir(), "ledger.db"), Gateway: "gw-or"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	old := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	const key = "(01)09520123456788(21)S1"
	for _, m := range []agent.Movement{
		{Time: old, Kind: agent.KindReceive, Item: key, GTIN: "09520123456788", Serial: "S1", Location: "WH"},
		{Time: old.Add(time.Hour), Kind: agent.KindUse, Item: key, GTIN: "09520123456788", Serial: "S1", Location: "OR-3", Case: "C-1", Decision: agent.DecisionAccepted},
		{Time: old.Add(2 * time.Hour), Kind: agent.KindReceive, Item: "(01)09520123456788(21)S2", Location: "WH"},
	} {
		if _, err := l.Append(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.SetSyncCursor(3); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Compact(ctx, bolt.CompactOptions{Cut: 3, Reason: "test", Folds: gatewayFolds}); err != nil {
		t.Fatal(err)
	}
	if ms, _ := l.Trace(ctx, key); len(ms) != 0 {
		t.Fatalf("the used item's movements stayed: %d", len(ms))
	}
	stations := map[string]agent.Station{"or": {ID: "or", Location: "OR-3", Kind: agent.KindUse}}
	g, err := core.New(core.Config{Stations: stations}, core.Deps{Store: l, Master: l, Retained: RetainedOf(l)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := g.Trace(ctx, core.TraceQuery{Key: key})
	if err != nil || len(res.Movements) != 0 || res.Retained == nil || res.Retained.LastKind != agent.KindUse || res.Retained.Movements != 2 {
		t.Fatalf("trace: %+v %v", res, err)
	}
	st, _ := g.Status(ctx)
	if st.Ledger.FirstSeq != 3 || st.Ledger.RetainedAt == "" || st.Ledger.Bytes <= 0 || st.Ledger.OverBudget {
		t.Errorf("status: %+v", st.Ledger)
	}
	var got agent.Outcome
	g.OnAnswer = func(_ string, o agent.Outcome) { got = o }
	raw := "]d2" + "0109520123456788" + "21S1"
	g.Scan(agent.Read{Source: "or", Time: time.Now(), Raw: []byte(raw), Symbology: "]d2", Data: []byte(raw[3:])})
	g.Wait()
	if got.Verdict != agent.VerdictBlocked || !slices.Contains(got.Movement.Flags, "used-twice") || !strings.Contains(got.Movement.Reason, "already used") {
		t.Fatalf("the reused serial: %v %v %q", got.Verdict, got.Movement.Flags, got.Movement.Reason)
	}
}
