package storetest

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/code"
	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
)

// ScanReceived is what sync/central's ReceivedProducts was before stores
// kept an index of received products: every movement of every ledger of
// site read and decoded (each branch from its fork on), and the product
// key of each receive kept once, sorted. It is the reference the index is
// held to, and the baseline of the benchmarks.
func ScanReceived(ctx context.Context, st central.Store, site string) ([]string, error) {
	heads, err := st.Ledgers(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, h := range heads {
		if h.Site != site || h.Seq == 0 {
			continue
		}
		err := st.RangeBranch(ctx, h.Gateway, h.Created, h.Branch, max(h.Fork, 1), func(seq uint64, rec []byte) error {
			m, err := record.Decode(seq, rec)
			if err != nil {
				return fmt.Errorf("ledger %s/%d movement %d: %w", h.Gateway, h.Created, seq, err)
			}
			if m.Kind != agent.KindReceive {
				return nil
			}
			if p := code.SplitKey(m.Item).Product; p != "" {
				seen[p] = true
			} else if m.GTIN != "" {
				seen[m.GTIN] = true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return append([]string{}, slices.Sorted(maps.Keys(seen))...), nil
}

// ReceivesLedger returns a ledger of gateway wh-1 of site st-marys whose
// four movements receive two products (one twice) and use a third, and
// the products it received, sorted.
func ReceivesLedger(t testing.TB) (*testkit.Ledger, []string) {
	t.Helper()
	at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	l := testkit.NewLedger("st-marys", "wh-1", Created)
	for _, m := range []struct {
		kind agent.Kind
		item string
	}{
		{agent.KindReceive, "(01)06901234567892(21)S1"},
		{agent.KindUse, "(01)06900000000001(21)U1"},
		{agent.KindReceive, "+A123BJC5D61/SABC"},
		{agent.KindReceive, "(01)06901234567892(21)S2"},
	} {
		l.Add(t, agent.Movement{Time: at, Kind: m.kind, Item: m.item, Location: "store", Decision: "accepted"})
	}
	return l, []string{"+A123BJC5D61", "06901234567892"}
}

// receivedAsScan checks that st's ReceivedProducts of each site is want
// and what ScanReceived reads.
func receivedAsScan(t *testing.T, st central.Store, want map[string][]string) {
	t.Helper()
	for _, site := range slices.Sorted(maps.Keys(want)) {
		got, err := st.ReceivedProducts(ctx, site)
		if err != nil {
			t.Fatalf("received products of %s: %v", site, err)
		}
		scan, err := ScanReceived(ctx, st, site)
		if err != nil {
			t.Fatal(err)
		}
		if got == nil || !slices.Equal(got, scan) || want[site] != nil && !slices.Equal(got, want[site]) {
			t.Fatalf("received products of %s:\n got  %q\n scan %q\n want %q", site, got, scan, want[site])
		}
	}
}

// testReceivedProducts: the products received on every ledger and
// branch of a site, each once, sorted, and nothing of another site nor a
// product only used there; a box received whole gives the box's key, an
// MA and an HIBC item their product keys, a key naming no product its
// GTIN. The same after a reopen, and after the index is dropped (a store
// written before it) and the store opened again.
func testReceivedProducts(t *testing.T, h *harness) {
	at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	mv := func(k agent.Kind, item, gtin string) agent.Movement {
		return agent.Movement{Time: at, Kind: k, Item: item, GTIN: gtin, Location: "store", Decision: "accepted"}
	}
	const (
		stem  = "(01)06901234567892(21)S1"
		stem2 = "(01)06901234567892(21)S2" // the same product again
		box   = "(01)16901234567899(10)L7"
		used  = "(01)06900000000001(21)U1" // used at st-marys, received only at north
		ma    = "MA.156.M0.100350.01004YA10017.10.260101.11.280101.21.SN9"
		hibc  = "+A123BJC5D61/SABC"
		tag   = "tag:3034257BF7194E4000001A85" // names no product: its GTIN does
	)
	wh := testkit.NewLedger("st-marys", "wh-1", Created)
	wh.Add(t, mv(agent.KindReceive, stem, ""))
	wh.Add(t, mv(agent.KindReceive, box, ""))
	wh.Add(t, mv(agent.KindUse, used, "06900000000001"))
	wh.Add(t, mv(agent.KindReceive, stem2, ""))
	wh.Add(t, mv(agent.KindStock, stem, ""))
	wh.Add(t, mv(agent.KindReceive, tag, "06901234000022"))
	wh.Add(t, mv(agent.KindReceive, "tag:E2801170", "")) // no product at all
	MustAppend(t, h.st, wh, 1, 4)
	MustAppend(t, h.st, wh, 3, 7) // overlapping: 3 and 4 held already
	MustAppend(t, h.st, wh, 1, 7) // every one held
	// The ledger restored from a backup of movement 5 and written on: a
	// branch, whose receive counts.
	restored := testkit.NewLedger("st-marys", "wh-1", Created)
	for _, m := range wh.Movements[:5] {
		restored.Add(t, m)
	}
	restored.Add(t, mv(agent.KindReceive, ma, ""))
	appendTo(t, h.st, restored, 6, 6, 1, 6, 1)
	or3 := testkit.NewLedger("st-marys", "or-3", Created)
	or3.Add(t, mv(agent.KindReceive, hibc, ""))
	or3.Add(t, mv(agent.KindUse, hibc, ""))
	MustAppend(t, h.st, or3, 1, 2)
	north := testkit.NewLedger("north", "wh-9", Created)
	north.Add(t, mv(agent.KindReceive, "(01)06901234000015(21)N1", ""))
	north.Add(t, mv(agent.KindReceive, used, ""))
	north.Add(t, mv(agent.KindReceive, stem, ""))
	MustAppend(t, h.st, north, 1, 3)

	want := map[string][]string{
		"st-marys": {"+A123BJC5D61", "06901234000022", "06901234567892", "16901234567899", "MA.156.M0.100350.01004YA10017"},
		"north":    {"06900000000001", "06901234000015", "06901234567892"},
		"nowhere":  {},
	}
	receivedAsScan(t, h.st, want)
	h.reopen()
	receivedAsScan(t, h.st, want)
	if h.o.Unindex == nil {
		return
	}
	h.st = h.o.Unindex(t, h.st)
	receivedAsScan(t, h.st, want)
	// The index built on opening is kept up by Append.
	or3.Add(t, mv(agent.KindReceive, "(01)06901234999994(21)X", ""))
	MustAppend(t, h.st, or3, 3, 3)
	want["st-marys"] = slices.Insert(want["st-marys"], 3, "06901234999994")
	receivedAsScan(t, h.st, want)
}

// testReceivedProductsAsTheScan: on movements drawn at random (fixed
// seed) across three sites, two gateways each, of many products and
// every kind of item key, appended in overlapping batches, with a branch,
// the index answers what the full scan of the movements does, before and
// after it is dropped and built again.
func testReceivedProductsAsTheScan(t *testing.T, h *harness) {
	r := rand.New(rand.NewPCG(20261206, 7))
	at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	kinds := []agent.Kind{agent.KindReceive, agent.KindReceive, agent.KindReceive, agent.KindStock, agent.KindIssue, agent.KindUse, agent.KindCount, agent.KindReturn}
	movement := func(i int) agent.Movement {
		gtin := fmt.Sprintf("069012345%04d%d", r.IntN(40), r.IntN(10)) // 14 digits; check digit unchecked here
		m := agent.Movement{Time: at.Add(time.Duration(i) * time.Minute), Kind: kinds[r.IntN(len(kinds))], Location: "store", Decision: "accepted"}
		switch r.IntN(6) {
		case 0:
			m.Item = fmt.Sprintf("(01)%s(10)L%d", gtin, r.IntN(3)) // a box received whole
		case 1:
			m.Item = fmt.Sprintf("+A123%sU/S%d", gtin[9:], i)
		case 2:
			m.Item, m.GTIN = fmt.Sprintf("tag:E280%08X", r.Uint32()), gtin
		case 3:
			m.Item = fmt.Sprintf("tag:E280%08X", r.Uint32()) // no product at all
		default:
			m.Item, m.GTIN = fmt.Sprintf("(01)%s(21)S%d", gtin, i), gtin
		}
		return m
	}
	var ledgers []*testkit.Ledger
	for _, site := range []string{"st-marys", "north", "east"} {
		for _, gw := range []string{"wh", "or"} {
			l := testkit.NewLedger(site, site+"-"+gw, Created)
			for i := range 60 + r.IntN(60) {
				l.Add(t, movement(i))
			}
			ledgers = append(ledgers, l)
		}
	}
	// Appended in batches of 1 to 12, each from up to 3 movements back.
	appendAll := func(l *testkit.Ledger, from uint64) {
		for next := from; next <= uint64(len(l.Records)); {
			first := next - min(next-from, uint64(r.IntN(4)))
			last := min(uint64(len(l.Records)), next+uint64(r.IntN(12)))
			if _, _, err := h.st.Append(ctx, l.Site, l.Gateway, l.Created, Stored(t, l, first, last)); err != nil {
				t.Fatalf("%s/%s append %d-%d: %v", l.Site, l.Gateway, first, last, err)
			}
			next = last + 1
		}
	}
	for _, l := range ledgers {
		appendAll(l, 1)
	}
	// A branch of the first ledger, forked at movement 20.
	fork := testkit.NewLedger(ledgers[0].Site, ledgers[0].Gateway, Created)
	for _, m := range ledgers[0].Movements[:19] {
		fork.Add(t, m)
	}
	for i := range 40 {
		m := movement(1000 + i)
		if i == 0 {
			m.Kind, m.Item, m.GTIN = agent.KindReceive, "(01)06999999999990(21)F", "" // differs from movement 20 whatever it was
		}
		fork.Add(t, m)
	}
	appendAll(fork, 20)
	if heads, err := h.st.Ledgers(ctx); err != nil || len(heads) != len(ledgers)+1 {
		t.Fatalf("%d branches, %v; want %d", len(heads), err, len(ledgers)+1)
	}
	want := map[string][]string{"st-marys": nil, "north": nil, "east": nil}
	receivedAsScan(t, h.st, want)
	for site := range want {
		if got, _ := h.st.ReceivedProducts(ctx, site); len(got) < 10 {
			t.Fatalf("%s received %d products: the draw is too thin to tell the index from the scan", site, len(got))
		}
	}
	if got, _ := h.st.ReceivedProducts(ctx, "st-marys"); !slices.Contains(got, "06999999999990") {
		t.Fatalf("the branch's receive is missing: %q", got)
	}
	if h.o.Unindex != nil {
		h.st = h.o.Unindex(t, h.st)
		receivedAsScan(t, h.st, want)
	}
}

// ReceiveProducts appends to st a ledger of gateway of site holding a
// receive of each of n products ("0695" and ten digits), as a site's
// warehouse receives its catalogue: the store's index then holds n
// products of site more.
func ReceiveProducts(tb testing.TB, st central.Store, site, gateway string, n int) {
	tb.Helper()
	l := testkit.NewLedger(site, gateway, Created)
	at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	for i := range n {
		gtin := fmt.Sprintf("0695%010d", i)
		l.Add(tb, agent.Movement{Time: at, Kind: agent.KindReceive, Item: "(01)" + gtin + "(21)C1", GTIN: gtin, Location: "WH", Decision: "accepted"})
	}
	for first := 1; first <= n; first += 1000 {
		MustAppend(tb, st, l, uint64(first), uint64(min(first+999, n)))
	}
}

// BenchReceivedProducts measures st.ReceivedProducts of site, b.N calls,
// and in the same run the full scan it replaced (ScanReceived), which
// must answer the same: it reports the index's ns/op, the scan's
// (scan-ns/op, the baseline, the mean of up to 3 scans) and how many
// times faster the index is (scan/index).
func BenchReceivedProducts(b *testing.B, st central.Store, site string) {
	scans := min(b.N, 3)
	var scan []string
	start := time.Now()
	for range scans {
		var err error
		if scan, err = ScanReceived(ctx, st, site); err != nil {
			b.Fatal(err)
		}
	}
	scanNs := float64(time.Since(start).Nanoseconds()) / float64(scans)
	b.ResetTimer()
	for range b.N {
		got, err := st.ReceivedProducts(ctx, site)
		if err != nil || len(got) != len(scan) {
			b.Fatalf("received products: %d, %v; the scan reads %d", len(got), err, len(scan))
		}
	}
	b.StopTimer()
	if got, _ := st.ReceivedProducts(ctx, site); !slices.Equal(got, scan) {
		b.Fatal("the index and the scan answer differently")
	}
	indexNs := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(indexNs, "ns/op")
	b.ReportMetric(scanNs, "scan-ns/op")
	b.ReportMetric(scanNs/indexNs, "scan/index")
	b.ReportMetric(float64(len(scan)), "products")
}
