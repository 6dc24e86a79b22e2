// Package storetest is the conformance suite of sync/central.Store: every
// behaviour the interface documents, as tests that any implementation
// runs from its own test package,
//
//	func TestConformance(t *testing.T) { storetest.Run(t, opener) }
//
// so that the bbolt store and the PostgreSQL store are held to the same
// rules: continuity, gaps, conflicts stored as branches (both histories
// kept, traced and ranged, the conflict recorded; idempotent, durable,
// raced by several instances), the hash chain, sites, idempotence,
// concurrent appends to one ledger and to many, traces (order, item and
// tag keys, keys of any bytes), ranges, the list of ledgers, the index
// of received products (held to the full scan it replaced, and built for
// a store written before it), counters added up across instances,
// master data versions and their floors, Close and cancelled contexts.
//
// It is for tests only and must never be imported by non-test code.
package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
)

// Opener opens the stores the suite runs against.
type Opener struct {
	// Open returns a new, empty store. The suite closes it; Open may
	// register cleanups of its own with t.
	Open func(t *testing.T) central.Store
	// Reopen closes st, a store Open returned, and opens the same store
	// again, as a restarted process would.
	Reopen func(t *testing.T, st central.Store) central.Store
	// Share, when not nil, returns another handle on st's store, open at
	// the same time as st, as a second instance of the service has one;
	// the suite closes it. Without it, concurrent appends share st.
	Share func(t *testing.T, st central.Store) central.Store
	// Unindex, when not nil, closes st, a store Open returned, makes its
	// store one written before the index of received products
	// (Store.ReceivedProducts) existed, the index removed and the format
	// or schema version recorded the one before, and opens it again, as
	// an upgraded service would.
	Unindex func(t *testing.T, st central.Store) central.Store
}

// Verifier is a Store that can check itself whole (boltstore.Store,
// pgstore.Store): the suite calls Verify at the end of every test.
type Verifier interface {
	Verify(ctx context.Context) error
}

// Created is the ledger creation time of the suite's ledgers.
const Created = 1764028800000000000

var ctx = context.Background()

// Run runs the suite against the stores o opens, each test on a new one.
func Run(t *testing.T, o Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h *harness)
	}{
		{"EmptyStore", testEmptyStore},
		{"AppendDurableAcrossReopen", testAppendDurableAcrossReopen},
		{"Idempotent", testIdempotent},
		{"Refusals", testRefusals},
		{"ConflictStoredAsBranch", testConflictStoredAsBranch},
		{"BranchOfABranch", testBranchOfABranch},
		{"ConcurrentConflicts", testConcurrentConflicts},
		{"Counts", testCounts},
		{"ConcurrentCounts", testConcurrentCounts},
		{"Invalid", testInvalid},
		{"OverlapStoresNewTail", testOverlapStoresNewTail},
		{"RecreatedLedgerIsANewChain", testRecreatedLedgerIsANewChain},
		{"LedgersOrderAndSites", testLedgersOrderAndSites},
		{"TraceAcrossGatewaysAndLedgers", testTraceAcrossGateways},
		{"TraceKeysOfAnyBytes", testTraceKeysOfAnyBytes},
		{"RangeFrom", testRangeFrom},
		{"ReceivedProducts", testReceivedProducts},
		{"ReceivedProductsAsTheScan", testReceivedProductsAsTheScan},
		{"MasterVersions", testMasterVersions},
		{"ConcurrentAppendsOneLedger", testConcurrentOneLedger},
		{"ConcurrentAppendsManyLedgers", testConcurrentManyLedgers},
		{"ConcurrentMasterVersions", testConcurrentMasterVersions},
		{"Closed", testClosed},
		{"ContextCancelled", testContextCancelled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &harness{t: t, o: o}
			h.st = o.Open(t)
			t.Cleanup(func() { _ = h.st.Close() })
			tc.fn(t, h)
			if v, ok := h.st.(Verifier); ok && !h.closed {
				if err := v.Verify(ctx); err != nil {
					t.Errorf("the store is not consistent: %v", err)
				}
			}
		})
	}
}

// harness is one test's store.
type harness struct {
	t      *testing.T
	o      Opener
	st     central.Store
	closed bool
}

// reopen closes and opens the store again.
func (h *harness) reopen() {
	h.t.Helper()
	h.st = h.o.Reopen(h.t, h.st)
}

// share returns another handle on the store, or the store itself.
func (h *harness) share() central.Store {
	h.t.Helper()
	if h.o.Share == nil {
		return h.st
	}
	st := h.o.Share(h.t, h.st)
	h.t.Cleanup(func() { _ = st.Close() })
	return st
}

// Stored turns movements first to last of l into what Append takes, as
// the service's checks make them.
func Stored(t testing.TB, l *testkit.Ledger, first, last uint64) []central.Stored {
	t.Helper()
	out := make([]central.Stored, 0, last-first+1)
	for seq := first; seq <= last; seq++ {
		rec := l.Records[seq-1]
		prev, hash, err := record.Check(seq, rec)
		if err != nil {
			t.Fatal(err)
		}
		m, err := record.Decode(seq, rec)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, central.NewStored(seq, prev, hash, &m, rec))
	}
	return out
}

// MustAppend appends movements first to last of l and checks the head and
// the count of movements added.
func MustAppend(t testing.TB, st central.Store, l *testkit.Ledger, first, last uint64) central.Head {
	t.Helper()
	before, err := st.Head(ctx, l.Gateway, l.Created)
	if err != nil {
		t.Fatal(err)
	}
	h, added, err := st.Append(ctx, l.Site, l.Gateway, l.Created, Stored(t, l, first, last))
	if err != nil {
		t.Fatalf("append %d-%d: %v", first, last, err)
	}
	want := max(last, before.Seq)
	if h.Seq != want || h.Hash != l.Hash(want) || h.Site != l.Site || h.Gateway != l.Gateway || h.Created != l.Created {
		t.Fatalf("append %d-%d onto %d: head %s/%s/%d seq %d, want seq %d and its hash", first, last, before.Seq, h.Site, h.Gateway, h.Created, h.Seq, want)
	}
	if added != int(want-before.Seq) {
		t.Fatalf("append %d-%d onto %d: added %d, want %d", first, last, before.Seq, added, want-before.Seq)
	}
	return h
}

// Records returns every record of the ledger in the store, checking that
// Range gives them in order from 1.
func Records(t testing.TB, st central.Store, l *testkit.Ledger) [][]byte {
	t.Helper()
	var out [][]byte
	err := st.Range(ctx, l.Gateway, l.Created, 1, func(seq uint64, rec []byte) error {
		if seq != uint64(len(out)+1) {
			return fmt.Errorf("range gave movement %d after %d", seq, len(out))
		}
		out = append(out, slices.Clone(rec))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// holdsExactly checks that the store holds movements 1 to n of l, byte for
// byte, and its head is n.
func holdsExactly(t testing.TB, st central.Store, l *testkit.Ledger, n int) {
	t.Helper()
	got := Records(t, st, l)
	if len(got) != n {
		t.Fatalf("%s/%d: %d movements held, want %d", l.Gateway, l.Created, len(got), n)
	}
	for i, rec := range got {
		if !slices.Equal(rec, l.Records[i]) {
			t.Fatalf("%s/%d: movement %d held differs from the one sent", l.Gateway, l.Created, i+1)
		}
	}
	h, err := st.Head(ctx, l.Gateway, l.Created)
	if err != nil {
		t.Fatal(err)
	}
	if h.Seq != uint64(n) || n > 0 && (h.Hash != l.Hash(uint64(n)) || h.Site != l.Site) {
		t.Fatalf("%s/%d: head %d under site %q, want %d under %q", l.Gateway, l.Created, h.Seq, h.Site, n, l.Site)
	}
}

func testEmptyStore(t *testing.T, h *harness) {
	st := h.st
	hd, err := st.Head(ctx, "or-3", Created)
	if err != nil {
		t.Fatal(err)
	}
	if hd != central.EmptyHead("or-3", Created) || hd.Hash != record.Genesis("or-3", Created) || hd.Site != "" {
		t.Fatalf("head of an unknown ledger %+v, want seq 0, no site and the genesis hash", hd)
	}
	ls, err := st.Ledgers(ctx)
	if err != nil || ls == nil || len(ls) != 0 {
		t.Fatalf("ledgers of an empty store: %v, %v; want an empty slice", ls, err)
	}
	for _, key := range []string{"", testkit.ItemKey(1)} {
		ts, err := st.Trace(ctx, key)
		if err != nil || ts == nil || len(ts) != 0 {
			t.Fatalf("trace of %q in an empty store: %v, %v; want an empty slice", key, ts, err)
		}
	}
	err = st.Range(ctx, "or-3", Created, 1, func(seq uint64, _ []byte) error {
		return fmt.Errorf("movement %d of a ledger the store does not hold", seq)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testAppendDurableAcrossReopen(t *testing.T, h *harness) {
	l := testkit.NewLedger("st-marys", "or-3", Created)
	l.AddN(t, 30)
	MustAppend(t, h.st, l, 1, 10)
	MustAppend(t, h.st, l, 11, 20)
	h.reopen()
	holdsExactly(t, h.st, l, 20)
	MustAppend(t, h.st, l, 21, 30)
	h.reopen()
	holdsExactly(t, h.st, l, 30)
}

func testIdempotent(t *testing.T, h *harness) {
	l := testkit.NewLedger("st-marys", "or-3", Created)
	l.AddN(t, 10)
	MustAppend(t, h.st, l, 1, 10)
	for _, r := range [][2]uint64{{1, 10}, {4, 6}, {10, 10}, {1, 1}} {
		hd, added, err := h.st.Append(ctx, l.Site, l.Gateway, l.Created, Stored(t, l, r[0], r[1]))
		if err != nil || added != 0 || hd.Seq != 10 || hd.Hash != l.Hash(10) || hd.Site != l.Site {
			t.Fatalf("movements %d-%d again: head %d, %d added, %v; want head 10, 0 added", r[0], r[1], hd.Seq, added, err)
		}
	}
	holdsExactly(t, h.st, l, 10)
	ts, err := h.st.Trace(ctx, testkit.ItemKey(5))
	if err != nil || len(ts) != 1 {
		t.Fatalf("trace after duplicates: %d movements, %v; want 1", len(ts), err)
	}
}

// refusal is an Append the store must refuse.
type refusal struct {
	name string
	site string
	recs []central.Stored
	err  error
	seq  uint64
}

func testRefusals(t *testing.T, h *harness) {
	l := testkit.NewLedger("st-marys", "or-3", Created)
	l.AddN(t, 20)
	// forked shares movements 1-8 with l, then differs.
	forked := testkit.NewLedger("st-marys", "or-3", Created)
	for i := range 12 {
		if i < 8 {
			forked.Add(t, l.Movements[i])
		} else {
			forked.Add(t, testkit.Movement(i+1, "(01)09506000134352(21)FORK"))
		}
	}
	// other is another ledger's chain: its links are its own.
	other := testkit.NewLedger("st-marys", "or-3", Created+1)
	other.AddN(t, 12)
	// broken links within the batch: 11 continues l, 12 does not link to it.
	inner := append(Stored(t, l, 11, 11), Stored(t, other, 12, 12)...)

	// Before anything is held: movement 1 must link to the genesis hash.
	for _, c := range []refusal{
		{"movement 1 of another ledger", "st-marys", Stored(t, other, 1, 3), central.ErrChain, 1},
		{"gap from nothing", "st-marys", Stored(t, l, 2, 3), central.ErrGap, 1},
	} {
		checkRefused(t, h.st, l, c, 0)
	}
	if ls, _ := h.st.Ledgers(ctx); len(ls) != 0 {
		t.Fatalf("refused appends left ledgers behind: %+v", ls)
	}

	MustAppend(t, h.st, l, 1, 10)
	for _, c := range []refusal{
		{"gap", "st-marys", Stored(t, l, 12, 20), central.ErrGap, 11},
		// forked's 9 differs from l's: its 10 links to nothing held.
		{"conflict that links to nothing held", "st-marys", Stored(t, forked, 10, 12), central.ErrConflict, 10},
		{"conflict at the head that links to nothing held", "st-marys", Stored(t, forked, 10, 10), central.ErrConflict, 10},
		{"broken chain at the head", "st-marys", Stored(t, other, 11, 12), central.ErrChain, 11},
		{"broken chain within the batch", "st-marys", inner, central.ErrChain, 12},
		{"other site", "elsewhere", Stored(t, l, 11, 12), central.ErrMismatch, 0},
		{"other site, held movements only", "elsewhere", Stored(t, l, 5, 6), central.ErrMismatch, 0},
	} {
		checkRefused(t, h.st, l, c, 10)
	}
	holdsExactly(t, h.st, l, 10)
	if ls, err := h.st.Ledgers(ctx); err != nil || len(ls) != 1 {
		t.Fatalf("ledgers after refusals: %+v, %v; want one", ls, err)
	}
	if cs, err := h.st.Conflicts(ctx); err != nil || len(cs) != 0 {
		t.Fatalf("conflicts after refusals: %+v, %v; want none", cs, err)
	}
	for _, key := range []string{"(01)09506000134352(21)FORK", testkit.ItemKey(12), testkit.ItemKey(11)} {
		if ts, err := h.st.Trace(ctx, key); err != nil || len(ts) != 0 {
			t.Fatalf("trace of %s after refusals: %d movements, %v", key, len(ts), err)
		}
	}
	MustAppend(t, h.st, l, 11, 20)
}

// checkRefused appends c.recs and checks the refusal: the *CheckError, its
// sentinel and Seq, nothing added, and the head returned the ledger's.
func checkRefused(t *testing.T, st central.Store, l *testkit.Ledger, c refusal, head uint64) {
	t.Helper()
	hd, added, err := st.Append(ctx, c.site, l.Gateway, l.Created, c.recs)
	var ce *central.CheckError
	if !errors.Is(err, c.err) || !errors.As(err, &ce) || ce.Seq != c.seq || ce.Gateway != l.Gateway || ce.Created != l.Created {
		t.Fatalf("%s: error %v, want a *CheckError wrapping %v at %d", c.name, err, c.err, c.seq)
	}
	if hd.Seq != head || added != 0 {
		t.Fatalf("%s: head %d, %d added after a refusal; want %d, 0", c.name, hd.Seq, added, head)
	}
	if head > 0 && hd.Hash != l.Hash(head) {
		t.Fatalf("%s: the head returned has another hash", c.name)
	}
}

func testInvalid(t *testing.T, h *harness) {
	l := testkit.NewLedger("st-marys", "or-3", Created)
	l.AddN(t, 5)
	MustAppend(t, h.st, l, 1, 2)
	recs := Stored(t, l, 1, 5)
	zero := Stored(t, l, 1, 1)
	zero[0].Seq = 0
	for name, bad := range map[string][]central.Stored{
		"empty":           nil,
		"seq 0":           zero,
		"not consecutive": {recs[2], recs[4]},
		"backwards":       {recs[3], recs[2]},
	} {
		_, added, err := h.st.Append(ctx, l.Site, l.Gateway, l.Created, bad)
		var ce *central.CheckError
		if !errors.Is(err, central.ErrInvalid) || errors.As(err, &ce) || added != 0 {
			t.Fatalf("%s: %d added, %v; want ErrInvalid", name, added, err)
		}
	}
	holdsExactly(t, h.st, l, 2)
}

func testOverlapStoresNewTail(t *testing.T, h *harness) {
	l := testkit.NewLedger("st-marys", "or-3", Created)
	l.AddN(t, 200)
	// Batches of every size, overlapping what is held.
	for _, r := range [][2]uint64{{1, 1}, {1, 40}, {30, 31}, {35, 120}, {120, 121}, {100, 200}} {
		MustAppend(t, h.st, l, r[0], r[1])
	}
	holdsExactly(t, h.st, l, 200)
	for _, seq := range []int{1, 41, 121, 200} {
		ts, err := h.st.Trace(ctx, testkit.ItemKey(seq))
		if err != nil || len(ts) != 1 || ts[0].Movement.Seq != uint64(seq) {
			t.Fatalf("trace of movement %d: %d found, %v; want it once", seq, len(ts), err)
		}
	}
}

func testRecreatedLedgerIsANewChain(t *testing.T, h *harness) {
	old := testkit.NewLedger("st-marys", "or-3", Created)
	old.AddN(t, 5)
	recreated := testkit.NewLedger("st-marys", "or-3", Created+time.Hour.Nanoseconds())
	recreated.AddN(t, 3)
	MustAppend(t, h.st, old, 1, 5)
	MustAppend(t, h.st, recreated, 1, 3)
	MustAppend(t, h.st, old, 5, 5) // the old ledger's late duplicate lands on the old chain
	ls, err := h.st.Ledgers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 2 || ls[0].Created != old.Created || ls[0].Seq != 5 || ls[1].Created != recreated.Created || ls[1].Seq != 3 {
		t.Fatalf("ledgers %+v", ls)
	}
	holdsExactly(t, h.st, old, 5)
	holdsExactly(t, h.st, recreated, 3)
	// Each chain's movement 1 has the same item key: a trace finds both.
	ts, err := h.st.Trace(ctx, testkit.ItemKey(1))
	if err != nil || len(ts) != 2 || ts[0].Created != old.Created || ts[1].Created != recreated.Created {
		t.Fatalf("trace across re-created ledgers: %+v, %v", ts, err)
	}
}

func testLedgersOrderAndSites(t *testing.T, h *harness) {
	// Byte order of gateway ids: upper case before lower case, '-' before
	// digits, a prefix before what extends it; whatever the collation of a
	// database.
	var ls []*testkit.Ledger
	for i, id := range []string{"gw-a", "gw-B", "gw2", "gw-10", "gw-1", "GW-Z", "gw-1.x", "gw_9"} {
		site := []string{"st-marys", "st-johns"}[i%2]
		l := testkit.NewLedger(site, id, Created+int64(i%3))
		l.AddN(t, 1+i)
		MustAppend(t, h.st, l, 1, uint64(1+i))
		ls = append(ls, l)
	}
	later := testkit.NewLedger("st-marys", "gw-a", Created-1) // an older ledger of gw-a
	later.AddN(t, 2)
	MustAppend(t, h.st, later, 1, 2)
	ls = append(ls, later)
	slices.SortFunc(ls, func(a, b *testkit.Ledger) int {
		return cmp.Or(strings.Compare(a.Gateway, b.Gateway), cmp.Compare(a.Created, b.Created))
	})
	check := func() {
		t.Helper()
		got, err := h.st.Ledgers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(ls) {
			t.Fatalf("%d ledgers, want %d: %+v", len(got), len(ls), got)
		}
		for i, l := range ls {
			g := got[i]
			if g.Gateway != l.Gateway || g.Created != l.Created || g.Site != l.Site || g.Seq != uint64(len(l.Records)) || g.Hash != l.Hash(g.Seq) {
				var order []string
				for _, g := range got {
					order = append(order, fmt.Sprintf("%s/%d", g.Gateway, g.Created))
				}
				t.Fatalf("ledger %d: %s/%s/%d seq %d; want %s/%s/%d seq %d; order %v", i, g.Site, g.Gateway, g.Created, g.Seq, l.Site, l.Gateway, l.Created, len(l.Records), order)
			}
		}
	}
	check()
	h.reopen()
	check()
}

func testTraceAcrossGateways(t *testing.T, h *harness) {
	item, tag := "(01)09506000134352(21)IMPLANT-1", "E280689400005001"
	ward := testkit.NewLedger("st-marys", "ward-1", Created)
	ward.AddN(t, 2)
	m := testkit.Movement(3, item)
	m.Kind, m.Tag = agent.KindCommission, tag
	ward.Add(t, m)
	or := testkit.NewLedger("st-marys", "or-3", Created)
	or.AddN(t, 1)
	or.Add(t, testkit.Movement(10, item))
	m = testkit.Movement(11, "")
	m.Tag, m.Kind = tag, agent.KindCount
	or.Add(t, m)
	// OR-3 sorts before or-3 and ward-1 in byte order (not in most
	// collations), and its re-created ledger after its first.
	upper := testkit.NewLedger("st-johns", "OR-3", Created+5)
	upper.Add(t, testkit.Movement(1, item))
	upper2 := testkit.NewLedger("st-johns", "OR-3", Created+7)
	upper2.Add(t, testkit.Movement(1, "other"))
	m = testkit.Movement(2, item)
	m.Tag = item // a tag equal to the item: traced once
	upper2.Add(t, m)
	MustAppend(t, h.st, ward, 1, 3)
	MustAppend(t, h.st, or, 1, 3)
	MustAppend(t, h.st, upper2, 1, 2)
	MustAppend(t, h.st, upper, 1, 1)

	type hit struct {
		site, gateway string
		created       int64
		seq           uint64
	}
	trace := func(key string) []hit {
		t.Helper()
		ts, err := h.st.Trace(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		var out []hit
		for _, x := range ts {
			if x.Movement.Item != key && x.Movement.Tag != key {
				t.Fatalf("trace of %q found a movement of item %q tag %q", key, x.Movement.Item, x.Movement.Tag)
			}
			out = append(out, hit{x.Site, x.Movement.Gateway, x.Created, x.Movement.Seq})
		}
		return out
	}
	want := []hit{
		{"st-johns", "OR-3", Created + 5, 1},
		{"st-johns", "OR-3", Created + 7, 2},
		{"st-marys", "or-3", Created, 2},
		{"st-marys", "ward-1", Created, 3},
	}
	if got := trace(item); !slices.Equal(got, want) {
		t.Fatalf("trace of the item:\n got %v\nwant %v", got, want)
	}
	if got, want := trace(tag), []hit{{"st-marys", "or-3", Created, 3}, {"st-marys", "ward-1", Created, 3}}; !slices.Equal(got, want) {
		t.Fatalf("trace of the tag:\n got %v\nwant %v", got, want)
	}
	ts, err := h.st.Trace(ctx, item)
	if err != nil {
		t.Fatal(err)
	}
	got := ts[2].Movement
	sent := or.Movements[1]
	if got.Patient != "PATIENT-SECRET-42" || got.Case != sent.Case || !got.Time.Equal(sent.Time) || got.Kind != sent.Kind ||
		string(got.Hash) != string(sent.Hash) || string(got.PrevHash) != string(sent.PrevHash) || got.Seq != 2 {
		t.Fatalf("trace lost fields of the movement: %+v", got)
	}
	if ts, err := h.st.Trace(ctx, "(01)09506000134352(21)NOTHING"); err != nil || ts == nil || len(ts) != 0 {
		t.Fatalf("trace of an unknown key: %v, %v; want an empty slice", ts, err)
	}

	// The merged, commission-following trace of the tag.
	all, err := central.Trace(ctx, h.st, tag)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, x := range all {
		order = append(order, fmt.Sprintf("%s/%d", x.Movement.Gateway, x.Movement.Seq))
	}
	if want := []string{"OR-3/1", "OR-3/2", "ward-1/3", "or-3/2", "or-3/3"}; !slices.Equal(order, want) {
		t.Fatalf("central.Trace order %v, want %v", order, want)
	}
}

func testTraceKeysOfAnyBytes(t *testing.T, h *harness) {
	keys := []string{"ITEM", "ITEM\x00or-3", "ITEM\x00", "\xff\xfe not UTF-8", "ÄÖÜ-件", strings.Repeat("K", 2000), "ITEM "}
	l := testkit.NewLedger("st-marys", "or-3", Created)
	want := map[string][]uint64{}
	for i := range 3 * len(keys) {
		key := keys[i%len(keys)]
		seq := l.Add(t, testkit.Movement(i+1, key))
		want[key] = append(want[key], seq)
	}
	MustAppend(t, h.st, l, 1, uint64(len(l.Records)))
	for _, key := range append(keys, "ITEM\x00o", "ITE", "\xff") {
		ts, err := h.st.Trace(ctx, key)
		if err != nil {
			t.Fatalf("trace %q: %v", key, err)
		}
		var got []uint64
		for _, x := range ts {
			got = append(got, x.Movement.Seq)
		}
		if !slices.Equal(got, want[key]) {
			t.Fatalf("trace %q: %v, want %v", key, got, want[key])
		}
	}
}

func testRangeFrom(t *testing.T, h *harness) {
	const n = 2600 // more than a page of a paged Range; batches large and small
	l := testkit.NewLedger("st-marys", "or-3", Created)
	l.AddN(t, n)
	for _, r := range [][2]uint64{{1, 1}, {2, 1500}, {1400, 1501}, {1502, 2599}, {2600, 2600}} {
		MustAppend(t, h.st, l, r[0], r[1])
	}
	for _, from := range []uint64{0, 1, 2, 999, 1000, 1001, 1501, 2000, 2599, 2600} {
		next := max(from, 1)
		err := h.st.Range(ctx, l.Gateway, l.Created, from, func(seq uint64, rec []byte) error {
			if seq != next {
				return fmt.Errorf("movement %d, want %d", seq, next)
			}
			if !slices.Equal(rec, l.Records[seq-1]) {
				return fmt.Errorf("movement %d differs from the one sent", seq)
			}
			next++
			return nil
		})
		if err != nil || next != n+1 {
			t.Fatalf("range from %d: up to %d, %v; want every movement to %d", from, next-1, err, n)
		}
	}
	for _, from := range []uint64{n + 1, 1 << 40, 1<<63 - 1, 1 << 63, 1<<64 - 1} {
		if err := h.st.Range(ctx, l.Gateway, l.Created, from, func(seq uint64, _ []byte) error {
			return fmt.Errorf("movement %d beyond the head", seq)
		}); err != nil {
			t.Fatalf("range from %d: %v", from, err)
		}
	}
	if err := h.st.Range(ctx, "or-4", Created, 1, func(seq uint64, _ []byte) error {
		return fmt.Errorf("movement %d of a ledger the store does not hold", seq)
	}); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	calls := 0
	if err := h.st.Range(ctx, l.Gateway, l.Created, 1, func(uint64, []byte) error { calls++; return stop }); err != stop || calls != 1 {
		t.Fatalf("range returned %v after %d calls, want fn's error after 1", err, calls)
	}
	// fn may use the store while Range runs.
	err := h.st.Range(ctx, l.Gateway, l.Created, n-2, func(seq uint64, _ []byte) error {
		hd, err := h.st.Head(ctx, l.Gateway, l.Created)
		if err == nil && hd.Seq != n {
			err = fmt.Errorf("head %d", hd.Seq)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testMasterVersions(t *testing.T, h *harness) {
	next := func(site, set string, floor uint64) uint64 {
		t.Helper()
		v, err := h.st.NextMasterVersion(ctx, site, set, floor)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for want := uint64(1); want <= 3; want++ {
		if v := next("st-marys", "recalls", 0); v != want {
			t.Fatalf("version %d, want %d", v, want)
		}
	}
	if v := next("st-marys", "catalogue", 0); v != 1 {
		t.Fatalf("another set's first version %d, want 1", v)
	}
	if v := next("st-johns", "recalls", 0); v != 1 {
		t.Fatalf("another site's first version %d, want 1", v)
	}
	// A floor above the last version is taken, one below is not.
	for _, c := range []struct{ floor, want uint64 }{{0, 4}, {100, 100}, {50, 101}, {0, 102}, {1_780_000_000, 1_780_000_000}, {1, 1_780_000_001}} {
		if v := next("st-marys", "recalls", c.floor); v != c.want {
			t.Fatalf("floor %d: version %d, want %d", c.floor, v, c.want)
		}
	}
	if v := next("st-marys", "formulary", 7); v != 7 {
		t.Fatalf("first version with floor 7: %d", v)
	}
	h.reopen()
	if v := next("st-marys", "recalls", 0); v != 1_780_000_002 {
		t.Fatalf("version after reopen %d, want 1780000002", v)
	}
	if v := next("st-johns", "recalls", 0); v != 2 {
		t.Fatalf("another site's version after reopen %d, want 2", v)
	}
}

// testConcurrentOneLedger: appenders (on two handles when the store has
// them, as two instances of the service) race to store one ledger, each
// sending overlapping batches from the head it last read, often stale.
// Every movement ends up stored exactly once, in order; the only refusals
// are gaps, and the counts of movements added add up to the ledger.
func testConcurrentOneLedger(t *testing.T, h *harness) {
	const n, workers = 600, 6
	l := testkit.NewLedger("st-marys", "or-3", Created)
	l.AddN(t, n)
	all := Stored(t, l, 1, n)
	stores := []central.Store{h.st, h.share()}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		added int
		gaps  int
		fail  error
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := stores[w%len(stores)]
			r := rand.New(rand.NewPCG(uint64(w), 99))
			for range 2000 {
				hd, err := st.Head(ctx, l.Gateway, l.Created)
				if err == nil && hd.Seq == n {
					return
				}
				first := hd.Seq + 1
				if r.IntN(3) == 0 { // overlap, or run ahead of the head
					first = uint64(max(1, int(hd.Seq)-10+r.IntN(20)))
				}
				first = min(first, n)
				last := min(first+uint64(r.IntN(40)), n)
				_, a, err := st.Append(ctx, l.Site, l.Gateway, l.Created, all[first-1:last])
				mu.Lock()
				added += a
				switch {
				case errors.Is(err, central.ErrGap):
					gaps++
				case err != nil && fail == nil:
					fail = fmt.Errorf("worker %d, append %d-%d: %w", w, first, last, err)
				}
				mu.Unlock()
				if err != nil && !errors.Is(err, central.ErrGap) {
					return
				}
			}
		}()
	}
	wg.Wait()
	if fail != nil {
		t.Fatal(fail)
	}
	if added != n {
		t.Fatalf("the appends added %d movements in all, want %d", added, n)
	}
	t.Logf("%d gaps refused on the way", gaps)
	holdsExactly(t, h.st, l, n)
	holdsExactly(t, stores[1], l, n)
	for _, seq := range []int{1, n / 2, n} {
		if ts, err := h.st.Trace(ctx, testkit.ItemKey(seq)); err != nil || len(ts) != 1 {
			t.Fatalf("trace of movement %d: %d found, %v; want 1", seq, len(ts), err)
		}
	}
}

// testConcurrentManyLedgers: ledgers of several gateways appended at once,
// every movement with a key shared by all of them; each ledger is stored
// whole and the shared key's trace finds every movement once, in order.
func testConcurrentManyLedgers(t *testing.T, h *harness) {
	const gateways, n = 8, 120
	const shared = "(01)09506000134352(21)SHARED"
	stores := []central.Store{h.st, h.share()}
	ls := make([]*testkit.Ledger, gateways)
	for i := range ls {
		ls[i] = testkit.NewLedger("st-marys", fmt.Sprintf("gw-%02d", i), Created)
		for j := range n {
			m := testkit.Movement(j+1, testkit.ItemKey(j+1))
			m.Tag = shared
			ls[i].Add(t, m)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, gateways)
	for i, l := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := stores[i%len(stores)]
			for first := uint64(1); first <= n; first += 17 {
				last := min(first+16, n)
				if _, _, err := st.Append(ctx, l.Site, l.Gateway, l.Created, Stored(t, l, first, last)); err != nil {
					errs[i] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		holdsExactly(t, h.st, l, n)
	}
	ts, err := h.st.Trace(ctx, shared)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != gateways*n {
		t.Fatalf("trace of the shared key: %d movements, want %d", len(ts), gateways*n)
	}
	for i, x := range ts {
		if x.Movement.Gateway != ls[i/n].Gateway || x.Movement.Seq != uint64(i%n+1) {
			t.Fatalf("trace of the shared key: #%d is %s/%d, want %s/%d", i, x.Movement.Gateway, x.Movement.Seq, ls[i/n].Gateway, i%n+1)
		}
	}
}

// testConcurrentMasterVersions: publications of one set from several
// handles at once get distinct, increasing versions.
func testConcurrentMasterVersions(t *testing.T, h *harness) {
	const workers, each = 4, 25
	stores := []central.Store{h.st, h.share()}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = map[uint64]bool{}
		fail error
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := uint64(0)
			for range each {
				v, err := stores[w%len(stores)].NextMasterVersion(ctx, "st-marys", "recalls", 0)
				mu.Lock()
				switch {
				case err != nil:
					fail = cmp.Or(fail, err)
				case seen[v] || v <= last:
					fail = cmp.Or(fail, fmt.Errorf("version %d given twice or after %d", v, last))
				}
				seen[v], last = true, v
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if fail != nil {
		t.Fatal(fail)
	}
	for v := uint64(1); v <= workers*each; v++ {
		if !seen[v] {
			t.Fatalf("version %d never given; %d given", v, len(seen))
		}
	}
}

func testClosed(t *testing.T, h *harness) {
	l := testkit.NewLedger("st-marys", "or-3", Created)
	l.AddN(t, 3)
	MustAppend(t, h.st, l, 1, 2)
	st := h.st
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	h.closed = true
	if err := st.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for name, err := range calls(st, l) {
		if !errors.Is(err, central.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

func testContextCancelled(t *testing.T, h *harness) {
	l := testkit.NewLedger("st-marys", "or-3", Created)
	l.AddN(t, 3)
	MustAppend(t, h.st, l, 1, 2)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	for name, err := range callsCtx(cctx, h.st, l) {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: %v, want context.Canceled", name, err)
		}
	}
	dctx, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel()
	for name, err := range callsCtx(dctx, h.st, l) {
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s past its deadline: %v, want context.DeadlineExceeded", name, err)
		}
	}
	holdsExactly(t, h.st, l, 2)
	if cs, err := h.st.Counts(ctx); err != nil || len(cs) != 0 {
		t.Fatalf("counts after cancelled calls: %+v, %v; want none", cs, err)
	}
	if v, err := h.st.NextMasterVersion(ctx, "st-marys", "recalls", 0); err != nil || v != 1 {
		t.Fatalf("the first master version after cancelled calls: %d, %v; want 1", v, err)
	}
}

// calls calls every method of st but Close, and returns their errors.
func calls(st central.Store, l *testkit.Ledger) map[string]error {
	return callsCtx(ctx, st, l)
}

func callsCtx(c context.Context, st central.Store, l *testkit.Ledger) map[string]error {
	out := map[string]error{}
	_, out["Head"] = st.Head(c, l.Gateway, l.Created)
	_, _, out["Append"] = st.Append(c, l.Site, l.Gateway, l.Created, storedNoT(l, 3))
	_, out["Trace"] = st.Trace(c, testkit.ItemKey(1))
	out["Range"] = st.Range(c, l.Gateway, l.Created, 1, func(uint64, []byte) error { return nil })
	_, out["Ledgers"] = st.Ledgers(c)
	out["RangeBranch"] = st.RangeBranch(c, l.Gateway, l.Created, 0, 1, func(uint64, []byte) error { return nil })
	_, out["Conflicts"] = st.Conflicts(c)
	out["AddCounts"] = st.AddCounts(c, []central.GatewayCounts{{Site: l.Site, Gateway: l.Gateway, Counts: map[string]uint64{"batches": 1}}})
	_, out["Counts"] = st.Counts(c)
	_, out["NextMasterVersion"] = st.NextMasterVersion(c, "st-marys", "recalls", 0)
	_, out["ReceivedProducts"] = st.ReceivedProducts(c, "st-marys")
	return out
}

// storedNoT is movement seq of l as Append takes it, for callers without
// a testing.TB (the records of a testkit.Ledger always check).
func storedNoT(l *testkit.Ledger, seq uint64) []central.Stored {
	rec := l.Records[seq-1]
	prev, hash := record.Hashes(rec)
	return []central.Stored{{Seq: seq, PrevHash: prev, Hash: hash, Keys: l.Movements[seq-1].TraceKeys(), Record: rec}}
}
