package bolt

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt/carry"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
)

// keysOf returns every item key the ledger's movements name.
func keysOf(t *testing.T, l *Ledger) map[string]bool {
	t.Helper()
	keys := map[string]bool{}
	err := l.Range(1, func(m agent.Movement) error {
		for _, k := range m.TraceKeys() {
			keys[k] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// cutAt returns the first movement recorded on or after day d of the
// simulation.
func cutAt(t *testing.T, l *Ledger, d int) uint64 {
	t.Helper()
	first, _ := l.FirstSeq()
	at, err := l.firstAfter(first, l.LastSeq(), orStart.AddDate(0, 0, d).Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// TestRetentionCut: a cut takes the acknowledged movements before it out
// of the ledger, keeps what the stock and the items' states need, and
// leaves a chain that verifies from its anchor.
func TestRetentionCut(t *testing.T) {
	l := openRetention(t)
	sim := newORSim(t, l, 12)
	sim.runDays(60)
	last := l.LastSeq()
	if err := l.SetSyncCursor(last - 40); err != nil {
		t.Fatal(err)
	}
	before := stockOf(t, l)
	keys := keysOf(t, l)
	traces := map[string][]agent.Movement{}
	for k := range keys {
		ms, err := l.Trace(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		traces[k] = ms
	}
	usedBefore := dataSize(t, l)

	at := cutAt(t, l, 40)
	sum, err := l.Compact(context.Background(), CompactOptions{Cut: at, Reason: "older than 20d and acknowledged by the centre", Folds: stockFolds})
	if err != nil {
		t.Fatal(err)
	}
	if sum.NotCut != "" || sum.Anchor == nil || sum.Anchor.Seq != at {
		t.Fatalf("cut at %d not made: %+v", at, sum)
	}
	if sum.Removed == 0 || sum.Carried == 0 || sum.Tombstones == 0 {
		t.Fatalf("a cut of 40 days of an OR removes, carries and leaves tombstones: %+v", sum)
	}
	if used := dataSize(t, l); used >= usedBefore {
		t.Errorf("%d bytes in use after the cut, %d before", used, usedBefore)
	}
	t.Logf("cut at %d of %d: removed %d, carried %d, tombstones %d, %d → %d bytes", at, last, sum.Removed, sum.Carried, sum.Tombstones, sum.Before, sum.After)

	// The chain verifies from the anchor, which verify reports.
	res, err := l.VerifyReport(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !res.Intact || res.Movements != last-at+1 {
		t.Fatalf("verify after the cut: %+v", res)
	}
	if !slicesContain(res.Warnings, "retention anchor, movement") {
		t.Errorf("verify does not report the anchor: %q", res.Warnings)
	}
	chain, err := l.VerifyChain(context.Background())
	if err != nil || chain.Anchor == nil || chain.Anchor.Seq != at || chain.Carried != sum.Carried {
		t.Fatalf("VerifyChain: %+v, %v", chain, err)
	}
	prev, err := l.Get(at)
	if err != nil || !bytes.Equal(prev.PrevHash, chain.Anchor.PrevHash) {
		t.Fatalf("movement %d's PrevHash is not the anchor's: %v", at, err)
	}

	// The stock is the same.
	after := stockOf(t, l)
	if diff, _ := carry.Compare(before, after, nil); diff != "" {
		t.Fatalf("stock changed by the cut: %s", diff)
	}
	for _, loc := range []string{"store", "OR-3"} {
		if a, b := before.UnitsAt(loc), after.UnitsAt(loc); !reflect.DeepEqual(a, b) {
			t.Errorf("units at %s: %d before, %d after", loc, len(a), len(b))
		}
	}

	// Every key still in the ledger has its whole trace, and the state
	// the checks read; every other one left a tombstone.
	var kept, gone int
	for k, want := range traces {
		got, err := l.Trace(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			gone++
			rk, ok, err := l.Retained(k)
			if err != nil || !ok || rk.Movements != uint64(len(want)) || rk.Last != want[len(want)-1].Seq || rk.LastKind != want[len(want)-1].Kind {
				t.Fatalf("key %s retained away without its tombstone: %+v %v %v (had %d movements)", k, rk, ok, err, len(want))
			}
			life := want
			for _, m := range want { // a tag lives its item's life
				if m.Kind == agent.KindCommission && m.Tag == k && m.Item != k {
					life = traces[m.Item]
				}
			}
			if st, _ := lifecycle.Replay(life); !ended(st) {
				t.Fatalf("key %s retained away in status %s", k, st.Status)
			}
			continue
		}
		kept++
		// Requests done before the cut (met, or replaced by a later one)
		// leave with the movements recording them met; nothing else of
		// a key that stays does.
		gotSeqs := map[uint64]bool{}
		for _, m := range got {
			gotSeqs[m.Seq] = true
		}
		for _, m := range want {
			if gotSeqs[m.Seq] {
				delete(gotSeqs, m.Seq)
				continue
			}
			_, req := agent.ReadRequest(m)
			_, _, met := agent.ReadMet(m)
			if !(req || met) || m.Seq >= at {
				t.Fatalf("trace of %s: movement %d (%s) gone after the cut", k, m.Seq, m.Kind)
			}
		}
		if len(gotSeqs) > 0 {
			t.Fatalf("trace of %s: movements %v after the cut that were not before", k, gotSeqs)
		}
		s1, _ := lifecycle.Replay(want)
		s2, _ := lifecycle.Replay(got)
		if s1 != s2 {
			t.Fatalf("state of %s changed by the cut", k)
		}
	}
	if kept == 0 || gone == 0 {
		t.Fatalf("kept %d keys, retained %d away", kept, gone)
	}

	// A movement retained away says so; so does the outbox below the anchor.
	var removed uint64
	for seq := uint64(1); seq < at; seq++ {
		if _, err := l.Get(seq); err != nil {
			removed = seq
			break
		}
	}
	_, err = l.Get(removed)
	var re *RetainedError
	if !errors.As(err, &re) || !errors.Is(err, ErrNotFound) || re.Anchor.Seq != at {
		t.Fatalf("Get(%d) of a movement retained away: %v", removed, err)
	}
	if _, err := l.ReadRecords(at-1, 10, 1<<20); !errors.Is(err, ErrRetained) {
		t.Fatalf("ReadRecords before the anchor: %v", err)
	}
	recs, err := l.ReadRecords(at, 1, 1<<20)
	if err != nil || len(recs) != 1 {
		t.Fatalf("ReadRecords at the anchor: %d, %v", len(recs), err)
	}

	// New movements chain on; the file reopens.
	sim.runDays(1)
	if _, err := l.VerifyChain(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func ended(st lifecycle.State) bool {
	switch st.Status {
	case lifecycle.StatusUsed, lifecycle.StatusWasted, lifecycle.StatusDisposed, lifecycle.StatusNone:
		return true
	}
	return false
}

func seqsOf(ms []agent.Movement) []uint64 {
	out := make([]uint64, len(ms))
	for i, m := range ms {
		out[i] = m.Seq
	}
	return out
}

func slicesContain(ss []string, sub string) bool {
	for _, s := range ss {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestRetentionNeverTakesUnacknowledged: nothing past the sync cursor
// leaves, however old, and the movement the centre acknowledged last
// stays; a cut asked past it is refused.
func TestRetentionNeverTakesUnacknowledged(t *testing.T) {
	l := openRetention(t)
	sim := newORSim(t, l, 6)
	sim.runDays(30)
	cursor := l.LastSeq() / 2
	if err := l.SetSyncCursor(cursor); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Compact(context.Background(), CompactOptions{Cut: cursor + 1}); err == nil {
		t.Fatalf("a cut past the sync cursor %d was made", cursor)
	}
	// Every movement is older than the horizon; the budget is long past.
	l.maint = &maintenance{cfg: Retention{Horizon: time.Hour, MaxBytes: 1 << 10, Folds: stockFolds, Now: func() time.Time { return orStart.AddDate(5, 0, 0) }}.withDefaults()}
	l.maint.warned.interval = time.Hour
	rep, err := l.Maintain(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Compacted == nil || rep.Compacted.Anchor == nil {
		t.Fatalf("maintenance did not cut: %+v", rep)
	}
	if a := rep.Compacted.Anchor.Seq; a > cursor {
		t.Fatalf("anchor %d past the sync cursor %d", a, cursor)
	}
	for seq := cursor; seq <= l.LastSeq(); seq++ {
		if _, err := l.Get(seq); err != nil {
			t.Fatalf("movement %d, not acknowledged or acknowledged last, is gone: %v", seq, err)
		}
	}
	recs, err := l.ReadRecords(cursor+1, 1<<20, 1<<30)
	if err != nil || uint64(len(recs)) != l.LastSeq()-cursor {
		t.Fatalf("outbox after the cut: %d records, %v", len(recs), err)
	}
}

// TestRetentionStockProof: when the stock folded from what would stay
// differs from the stock folded from every movement, the cut carries
// more until they agree, or is not made.
func TestRetentionStockProof(t *testing.T) {
	l := openRetention(t)
	sim := newORSim(t, l, 8)
	sim.runDays(30)
	if err := l.SetSyncCursor(l.LastSeq()); err != nil {
		t.Fatal(err)
	}
	before := stockOf(t, l)
	// A NeedFunc that needs nothing: every group would leave, the stock
	// on hand with it. The proof must carry it back.
	none := func([]agent.Movement) bool { return false }
	sum, err := l.Compact(context.Background(), CompactOptions{Cut: cutAt(t, l, 25), Folds: Folds{Needed: none, Proof: stockFolds.Proof}})
	if err != nil {
		t.Fatal(err)
	}
	after := stockOf(t, l)
	if diff, _ := carry.Compare(before, after, nil); diff != "" {
		t.Fatalf("stock changed by a cut (%+v): %s", sum, diff)
	}
	if sum.NotCut == "" && sum.Carried == 0 {
		t.Fatalf("a cut kept the stock on hand without carrying anything: %+v", sum)
	}
}

// TestVerifyCarriedTampered: a carried movement changed, or the anchor
// changed, is a broken chain.
func TestVerifyCarriedTampered(t *testing.T) {
	l := openRetention(t)
	sim := newORSim(t, l, 6)
	sim.runDays(20)
	if err := l.SetSyncCursor(l.LastSeq()); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Compact(context.Background(), CompactOptions{Cut: cutAt(t, l, 15), Folds: stockFolds}); err != nil {
		t.Fatal(err)
	}
	path := l.Path()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		edit func(t *testing.T, tx *boltTx)
		kind string
	}{
		{"carried changed", func(t *testing.T, tx *boltTx) { tx.flipCarried(t) }, ChainChanged},
		{"carried removed", func(t *testing.T, tx *boltTx) { tx.deleteCarried(t) }, ChainRemoved},
		{"anchor changed", func(t *testing.T, tx *boltTx) { tx.changeAnchorHash(t) }, ChainChanged},
	} {
		t.Run(c.name, func(t *testing.T) {
			copyPath := copyLedger(t, path)
			editFile(t, copyPath, c.edit)
			ro, err := OpenReadOnly(copyPath, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer ro.Close()
			_, err = ro.VerifyChain(context.Background())
			var ce *ChainError
			if !errors.As(err, &ce) || ce.Kind != c.kind {
				t.Fatalf("VerifyChain: %v, want a %s ChainError", err, c.kind)
			}
		})
	}
}

// TestReindexAfterRetention: the item index rebuilt from a cut ledger
// indexes the carried movements and those from the anchor on, names no
// movement before the anchor unreadable, and leaves the file of the
// format with an anchor.
func TestReindexAfterRetention(t *testing.T) {
	l := openRetention(t)
	sim := newORSim(t, l, 8)
	sim.runDays(30)
	if err := l.SetSyncCursor(l.LastSeq()); err != nil {
		t.Fatal(err)
	}
	sum, err := l.Compact(context.Background(), CompactOptions{Cut: cutAt(t, l, 20), Folds: stockFolds})
	if err != nil || sum.Carried == 0 {
		t.Fatalf("cut: %+v %v", sum, err)
	}
	path := l.Path()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	rs, err := RebuildIndex(context.Background(), path, time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Unreadable) > 0 || rs.Movements != sum.Movements+sum.Carried {
		t.Fatalf("reindex of a cut ledger: %d movements, %d unreadable (the ledger holds %d and %d carried)",
			rs.Movements, len(rs.Unreadable), sum.Movements, sum.Carried)
	}
	checkFile(t, path)
}

// TestRetentionZeroFolds: with no word from the gateway's folds, a cut
// carries every movement that names an item; only rejected reads and
// context scans leave.
func TestRetentionZeroFolds(t *testing.T) {
	l := openRetention(t)
	sim := newORSim(t, l, 6)
	sim.runDays(20)
	if err := l.SetSyncCursor(l.LastSeq()); err != nil {
		t.Fatal(err)
	}
	at := cutAt(t, l, 15)
	var keyless, keyed uint64
	if err := l.Range(1, func(m agent.Movement) error {
		if m.Seq < at {
			if len(m.TraceKeys()) == 0 {
				keyless++
			} else {
				keyed++
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sum, err := l.Compact(context.Background(), CompactOptions{Cut: at})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Removed != keyless || sum.Carried != keyed || sum.Tombstones != 0 {
		t.Fatalf("zero Folds: %+v; before the cut %d keyless, %d naming an item", sum, keyless, keyed)
	}
}
