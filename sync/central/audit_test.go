package central_test

import (
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/audit"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
)

// storeLedger appends every movement of l to st, as the service does.
func storeLedger(t *testing.T, st central.Store, l *testkit.Ledger) {
	t.Helper()
	var recs []central.Stored
	for i, rec := range l.Records {
		m := l.Movements[i]
		s := central.Stored{Seq: m.Seq, Keys: central.IndexKeys(&m), Record: rec}
		copy(s.PrevHash[:], m.PrevHash)
		copy(s.Hash[:], m.Hash)
		recs = append(recs, s)
	}
	if _, _, err := st.Append(context.Background(), l.Site, l.Gateway, l.Created, recs); err != nil {
		t.Fatal(err)
	}
}

// TestSiteAnomaliesAcrossGateways: an implant received at the warehouse's
// gateway and used in OR 3 is no "never received" at the centre (each
// gateway alone would say so), and the same unique code used again in OR
// 5 is used twice, which neither gateway sees alone. Another site's
// ledgers play no part.
func TestSiteAnomaliesAcrossGateways(t *testing.T) {
	path := filepath.Join(t.TempDir(), "central.db")
	st, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	const x, y = "(01)09506000134352(21)X1", "(01)09506000134352(21)Y1"
	mv := func(k agent.Kind, item, loc string, min int) agent.Movement {
		return agent.Movement{Time: at.Add(time.Duration(min) * time.Minute), Kind: k, Item: item, Location: loc, Decision: "accepted"}
	}
	wh := testkit.NewLedger("st-marys", "wh", 1)
	wh.Add(t, mv(agent.KindReceive, x, "warehouse", 0))
	wh.Add(t, mv(agent.KindReceive, y, "warehouse", 1))
	or3 := testkit.NewLedger("st-marys", "or-3", 2)
	or3.Add(t, mv(agent.KindUse, x, "OR-3", 60))
	or5 := testkit.NewLedger("st-marys", "or-5", 3)
	or5.Add(t, mv(agent.KindUse, y, "OR-5", 70))
	or5.Add(t, mv(agent.KindUse, x, "OR-5", 90))
	other := testkit.NewLedger("st-johns", "or-1", 4)
	other.Add(t, mv(agent.KindUse, x, "OR-1", 30))
	for _, l := range []*testkit.Ledger{wh, or3, or5, other} {
		storeLedger(t, st, l)
	}
	fs, err := central.SiteAnomalies(context.Background(), st, "st-marys", nil, at.Add(24*time.Hour), 4*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, f := range fs {
		kinds = append(kinds, f.Kind+" "+f.Gateway)
		if f.Kind == audit.UsedTwice && (f.Item != x || f.Gateway != "or-5" || f.Seq != 2) {
			t.Errorf("used twice: %+v", f)
		}
	}
	if !slices.Equal(kinds, []string{audit.UsedTwice + " or-5"}) {
		t.Fatalf("findings %v, want the second use of X at OR 5 only (no never-received)", fs)
	}
	// The other site alone: its use was never received there.
	fs, err = central.SiteAnomalies(context.Background(), st, "st-johns", nil, at.Add(24*time.Hour), 0)
	if err != nil || len(fs) != 1 || fs[0].Kind != audit.NeverReceived || fs[0].Gateway != "or-1" {
		t.Fatalf("st-johns: %+v %v", fs, err)
	}
	// The same through the command, on the stopped service's store.
	st.Close()
	code, out, errs := runBin(t, "anomalies", "--store", path, "--site", "st-marys")
	if code != 1 || !regexp.MustCompile(`used-twice\s+or-5/2\s+\(01\)09506000134352\(21\)X1`).MatchString(out) || strings.Contains(out, "never-received") {
		t.Fatalf("udi-central anomalies: exit %d\n%s%s", code, out, errs)
	}
}
