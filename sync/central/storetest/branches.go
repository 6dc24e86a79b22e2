package storetest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
)

// Fork returns a ledger with l's first n movements, then movements of
// item up to total: another history of the same ledger, as a gateway
// restored from a backup of movement n writes it.
func Fork(t testing.TB, l *testkit.Ledger, n, total int, item string) *testkit.Ledger {
	t.Helper()
	f := testkit.NewLedger(l.Site, l.Gateway, l.Created)
	for i := range total {
		if i < n {
			f.Add(t, l.Movements[i])
		} else {
			f.Add(t, testkit.Movement(i+1, item))
		}
	}
	return f
}

// HoldsBranch checks that branch's history in st is movements 1 to n of
// l, byte for byte, and that its head is n with l's hash.
func HoldsBranch(t testing.TB, st central.Store, l *testkit.Ledger, branch int, n uint64) {
	t.Helper()
	next := uint64(1)
	err := st.RangeBranch(ctx, l.Gateway, l.Created, branch, 1, func(seq uint64, rec []byte) error {
		switch {
		case seq != next:
			return fmt.Errorf("movement %d after %d", seq, next-1)
		case seq > n:
			return fmt.Errorf("movement %d beyond %d", seq, n)
		case !slices.Equal(rec, l.Records[seq-1]):
			return fmt.Errorf("movement %d differs from the one sent", seq)
		}
		next++
		return nil
	})
	if err != nil || next != n+1 {
		t.Fatalf("%s/%d branch %d: up to %d, %v; want every movement to %d", l.Gateway, l.Created, branch, next-1, err, n)
	}
	heads, err := st.Ledgers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range heads {
		if h.Gateway == l.Gateway && h.Created == l.Created && h.Branch == branch {
			if h.Seq != n || h.Hash != l.Hash(n) || h.Site != l.Site {
				t.Fatalf("%s/%d branch %d: head %d under %q, want %d under %q with its hash", l.Gateway, l.Created, branch, h.Seq, h.Site, n, l.Site)
			}
			return
		}
	}
	t.Fatalf("%s/%d: no branch %d in %+v", l.Gateway, l.Created, branch, heads)
}

// appendTo appends movements first to last of l and checks the branch
// and head it was stored on and the count added.
func appendTo(t testing.TB, st central.Store, l *testkit.Ledger, first, last uint64, branch int, head uint64, added int) central.Head {
	t.Helper()
	h, n, err := st.Append(ctx, l.Site, l.Gateway, l.Created, Stored(t, l, first, last))
	if err != nil || h.Branch != branch || h.Seq != head || h.Hash != l.Hash(head) || n != added || h.Gateway != l.Gateway || h.Created != l.Created || h.Site != l.Site {
		t.Fatalf("append %d-%d: branch %d head %d, %d added, %v; want branch %d head %d (its hash), %d added", first, last, h.Branch, h.Seq, n, err, branch, head, added)
	}
	return h
}

func testConflictStoredAsBranch(t *testing.T, h *harness) {
	l := testkit.NewLedger("st-marys", "or-3", Created)
	l.AddN(t, 35)
	// The gateway's ledger restored from a backup of movement 20, and
	// written on.
	restored := Fork(t, l, 20, 40, "(01)09506000134352(21)RESTORED")
	MustAppend(t, h.st, l, 1, 30)

	before := time.Now().Add(-time.Second) // the clocks of a database server and this process
	b := appendTo(t, h.st, restored, 15, 30, 1, 30, 10)
	after := time.Now().Add(time.Second)
	if b.Parent != 0 || b.Fork != 21 {
		t.Fatalf("branch forked from %d at %d, want 0 at 21", b.Parent, b.Fork)
	}
	appendTo(t, h.st, restored, 31, 40, 1, 40, 10)
	// The first history goes on too (a copy of the gateway's key).
	appendTo(t, h.st, l, 31, 35, 0, 35, 5)

	check := func() {
		t.Helper()
		if hd, err := h.st.Head(ctx, l.Gateway, l.Created); err != nil || hd.Branch != 1 || hd.Seq != 40 || hd.Hash != restored.Hash(40) || hd.Fork != 21 {
			t.Fatalf("head %+v, %v; want branch 1 at 40, forked at 21", hd, err)
		}
		heads, err := h.st.Ledgers(ctx)
		if err != nil || len(heads) != 2 || heads[0].Branch != 0 || heads[0].Seq != 35 || heads[0].Fork != 1 ||
			heads[1].Branch != 1 || heads[1].Parent != 0 || heads[1].Fork != 21 || heads[1].Seq != 40 {
			t.Fatalf("ledgers %+v, %v; want branch 0 at 35 and branch 1 (from 0 at 21) at 40", heads, err)
		}
		cs, err := h.st.Conflicts(ctx)
		if err != nil || len(cs) != 1 {
			t.Fatalf("conflicts %+v, %v; want one", cs, err)
		}
		c := cs[0]
		if c.Site != l.Site || c.Gateway != l.Gateway || c.Created != l.Created || c.Branch != 1 || c.Parent != 0 || c.Seq != 21 ||
			c.Held != l.Hash(21) || c.Hash != restored.Hash(21) || c.At.Before(before) || c.At.After(after) {
			t.Fatalf("conflict %+v; want branch 1 from 0 at 21 with both hashes, recorded between %v and %v", c, before, after)
		}
		HoldsBranch(t, h.st, l, 0, 35)
		HoldsBranch(t, h.st, restored, 1, 40)
		holdsExactly(t, h.st, restored, 40) // Range reads the current branch
		if err := h.st.RangeBranch(ctx, l.Gateway, l.Created, 2, 1, func(seq uint64, _ []byte) error {
			return fmt.Errorf("movement %d of a branch the store does not hold", seq)
		}); err != nil {
			t.Fatal(err)
		}
		// Both histories traced, each movement once, under the branch
		// that holds it.
		for _, c := range []struct {
			key    string
			branch int
			seqs   []uint64
		}{
			{testkit.ItemKey(5), 0, []uint64{5}},   // held by both: once, under branch 0
			{testkit.ItemKey(25), 0, []uint64{25}}, // the first history's own
			{"(01)09506000134352(21)RESTORED", 1, []uint64{21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40}},
		} {
			ts, err := h.st.Trace(ctx, c.key)
			if err != nil {
				t.Fatal(err)
			}
			var seqs []uint64
			for _, x := range ts {
				if x.Branch != c.branch || x.Created != l.Created || x.Site != l.Site {
					t.Fatalf("trace of %s: movement %d under branch %d, want %d", c.key, x.Movement.Seq, x.Branch, c.branch)
				}
				seqs = append(seqs, x.Movement.Seq)
			}
			if !slices.Equal(seqs, c.seqs) {
				t.Fatalf("trace of %s: %v, want %v", c.key, seqs, c.seqs)
			}
		}
	}
	check()

	// Idempotent: every batch again changes nothing, each acknowledged on
	// the branch it belongs to; what both hold on the current branch.
	appendTo(t, h.st, restored, 15, 40, 1, 40, 0)
	appendTo(t, h.st, restored, 21, 21, 1, 40, 0)
	appendTo(t, h.st, restored, 1, 5, 1, 40, 0)
	appendTo(t, h.st, l, 21, 35, 0, 35, 0)
	appendTo(t, h.st, l, 35, 35, 0, 35, 0)
	check()
	h.reopen()
	check()

	// The branch's site is the ledger's.
	more := Fork(t, restored, 40, 41, "(01)09506000134352(21)MORE")
	checkRefused(t, h.st, more, refusal{"another site on a branch", "elsewhere", Stored(t, more, 41, 41), central.ErrMismatch, 0}, 40)
	appendTo(t, h.st, more, 41, 41, 1, 41, 1)
}

// testBranchOfABranch: a history that forks from a branch, and one that
// forks before every branch, each kept with its parent; the branches'
// histories read through their parents.
func testBranchOfABranch(t *testing.T, h *harness) {
	l := testkit.NewLedger("st-marys", "or-3", Created)
	l.AddN(t, 30)
	a := Fork(t, l, 20, 30, "(01)09506000134352(21)A")
	b := Fork(t, a, 25, 30, "(01)09506000134352(21)B")
	c := Fork(t, l, 10, 12, "(01)09506000134352(21)C")
	MustAppend(t, h.st, l, 1, 30)
	appendTo(t, h.st, a, 1, 30, 1, 30, 10)
	if hd := appendTo(t, h.st, b, 24, 30, 2, 30, 5); hd.Parent != 1 || hd.Fork != 26 {
		t.Fatalf("branch 2 from %d at %d, want from 1 at 26", hd.Parent, hd.Fork)
	}
	if hd := appendTo(t, h.st, c, 5, 12, 3, 12, 2); hd.Parent != 0 || hd.Fork != 11 {
		t.Fatalf("branch 3 from %d at %d, want from 0 at 11", hd.Parent, hd.Fork)
	}
	h.reopen()
	HoldsBranch(t, h.st, l, 0, 30)
	HoldsBranch(t, h.st, a, 1, 30)
	HoldsBranch(t, h.st, b, 2, 30)
	HoldsBranch(t, h.st, c, 3, 12)
	cs, err := h.st.Conflicts(ctx)
	if err != nil || len(cs) != 3 {
		t.Fatalf("conflicts %+v, %v; want three", cs, err)
	}
	for i, want := range []central.Conflict{
		{Branch: 1, Parent: 0, Seq: 21, Held: l.Hash(21), Hash: a.Hash(21)},
		{Branch: 2, Parent: 1, Seq: 26, Held: a.Hash(26), Hash: b.Hash(26)},
		{Branch: 3, Parent: 0, Seq: 11, Held: l.Hash(11), Hash: c.Hash(11)},
	} {
		got := cs[i]
		if got.Branch != want.Branch || got.Parent != want.Parent || got.Seq != want.Seq || got.Held != want.Held || got.Hash != want.Hash {
			t.Fatalf("conflict %d: branch %d from %d at %d; want branch %d from %d at %d, both hashes", i, got.Branch, got.Parent, got.Seq, want.Branch, want.Parent, want.Seq)
		}
	}
	// Each history goes on where it links, whichever is current.
	a.AddN(t, 2)
	l.AddN(t, 1)
	appendTo(t, h.st, a, 31, 32, 1, 32, 2)
	appendTo(t, h.st, l, 29, 31, 0, 31, 1)
	if hd, err := h.st.Head(ctx, l.Gateway, l.Created); err != nil || hd.Branch != 3 {
		t.Fatalf("head %+v, %v; want branch 3, the last forked", hd, err)
	}
}

// testConcurrentConflicts: appenders (on two handles when the store has
// them, as several instances of the service) race to store two histories
// that fork from the first at the same movement, and the first going on,
// in overlapping batches. Each history ends up stored whole, exactly
// once, on a branch of its own: two branches, two conflicts, and the
// counts of movements added add up.
func testConcurrentConflicts(t *testing.T, h *harness) {
	const n, fork, workers = 120, 40, 6
	l := testkit.NewLedger("st-marys", "or-3", Created)
	l.AddN(t, n)
	x := Fork(t, l, fork, n, "(01)09506000134352(21)X")
	y := Fork(t, l, fork, n, "(01)09506000134352(21)Y")
	MustAppend(t, h.st, l, 1, fork+10)
	stores := []central.Store{h.st, h.share()}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		added = map[*testkit.Ledger]int{}
		fail  error
	)
	for w := range workers {
		lg := []*testkit.Ledger{l, x, y}[w%3]
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := stores[w%len(stores)]
			for first := uint64(fork - 5); first <= n; first += 7 {
				last := min(first+11, n) // overlapping the batch before
				_, a, err := st.Append(ctx, lg.Site, lg.Gateway, lg.Created, Stored(t, lg, first, last))
				mu.Lock()
				added[lg] += a
				if err != nil && fail == nil {
					fail = fmt.Errorf("worker %d, append %d-%d: %w", w, first, last, err)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	if fail != nil {
		t.Fatal(fail)
	}
	if added[l] != n-fork-10 || added[x] != n-fork || added[y] != n-fork {
		t.Fatalf("added %d, %d and %d; want %d, %d and %d", added[l], added[x], added[y], n-fork-10, n-fork, n-fork)
	}
	heads, err := h.st.Ledgers(ctx)
	if err != nil || len(heads) != 3 {
		t.Fatalf("ledgers %+v, %v; want three branches", heads, err)
	}
	branchOf := map[[central.HashSize]byte]int{}
	for _, hd := range heads {
		branchOf[hd.Hash] = hd.Branch
	}
	bx, okx := branchOf[x.Hash(n)]
	by, oky := branchOf[y.Hash(n)]
	if !okx || !oky || branchOf[l.Hash(n)] != 0 || bx+by != 3 {
		t.Fatalf("heads %+v: want branch 0 the first history, 1 and 2 the others", heads)
	}
	HoldsBranch(t, h.st, l, 0, n)
	HoldsBranch(t, stores[1], x, bx, n)
	HoldsBranch(t, h.st, y, by, n)
	cs, err := h.st.Conflicts(ctx)
	if err != nil || len(cs) != 2 || cs[0].Seq != fork+1 || cs[1].Seq != fork+1 || cs[0].Parent != 0 || cs[1].Parent != 0 {
		t.Fatalf("conflicts %+v, %v; want two at %d, from branch 0", cs, err, fork+1)
	}
	for _, key := range []string{"(01)09506000134352(21)X", "(01)09506000134352(21)Y"} {
		if ts, err := h.st.Trace(ctx, key); err != nil || len(ts) != n-fork {
			t.Fatalf("trace of %s: %d movements, %v; want %d", key, len(ts), err, n-fork)
		}
	}
}

func testCounts(t *testing.T, h *harness) {
	add := func(st central.Store, counts ...central.GatewayCounts) {
		t.Helper()
		if err := st.AddCounts(ctx, counts); err != nil {
			t.Fatal(err)
		}
	}
	add(h.st)
	add(h.st, central.GatewayCounts{Site: "st-marys", Gateway: "ward-1", Counts: map[string]uint64{"batches": 3, "acks": 2, "gaps": 0}},
		central.GatewayCounts{Site: "st-johns", Gateway: "or-3", Counts: map[string]uint64{"batches": 1}},
		central.GatewayCounts{Site: "st-marys", Gateway: "OR-3", Counts: map[string]uint64{"resends": 4}})
	add(h.st, central.GatewayCounts{Site: "st-marys", Gateway: "ward-1", Counts: map[string]uint64{"batches": 10, "duplicates": 1}},
		central.GatewayCounts{Site: "st-marys", Gateway: "ward-1", Counts: map[string]uint64{"batches": 100}})
	want := []central.GatewayCounts{
		{Site: "st-johns", Gateway: "or-3", Counts: map[string]uint64{"batches": 1}},
		{Site: "st-marys", Gateway: "OR-3", Counts: map[string]uint64{"resends": 4}},
		{Site: "st-marys", Gateway: "ward-1", Counts: map[string]uint64{"batches": 113, "acks": 2, "duplicates": 1}},
	}
	check := func() {
		t.Helper()
		got, err := h.st.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(got, want, func(a, b central.GatewayCounts) bool {
			return a.Site == b.Site && a.Gateway == b.Gateway && maps.Equal(a.Counts, b.Counts)
		}) {
			t.Fatalf("counts %+v,\nwant %+v", got, want)
		}
	}
	check()
	h.reopen()
	check()
}

// testConcurrentCounts: instances adding to the same gateways' counters
// at once lose nothing.
func testConcurrentCounts(t *testing.T, h *harness) {
	const workers, each = 4, 25
	stores := []central.Store{h.st, h.share()}
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				err := stores[w%len(stores)].AddCounts(ctx, []central.GatewayCounts{
					{Site: "st-marys", Gateway: "or-3", Counts: map[string]uint64{"batches": 1, "stored": uint64(i)}},
					{Site: "st-marys", Gateway: "ward-1", Counts: map[string]uint64{"acks": 2}},
				})
				if err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	got, err := h.st.Counts(ctx)
	if err != nil || len(got) != 2 {
		t.Fatalf("counts %+v, %v", got, err)
	}
	if c := got[0].Counts; c["batches"] != workers*each || c["stored"] != workers*each*(each-1)/2 {
		t.Fatalf("or-3: %v; want %d batches, %d stored", c, workers*each, workers*each*(each-1)/2)
	}
	if c := got[1].Counts; c["acks"] != 2*workers*each {
		t.Fatalf("ward-1: %v; want %d acks", c, 2*workers*each)
	}
}
