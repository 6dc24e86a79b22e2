package bolt

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/runindex"
)

// indexState returns the shape of a ledger's run index.
func indexState(t *testing.T, l *Ledger) runindex.State {
	t.Helper()
	var st runindex.State
	err := l.view(func(tx *bolt.Tx) error {
		var err error
		st, err = l.index(tx, nil).State()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestIndexRunsMergeAcrossTransactions writes movements of a few items and
// tags in transactions of every size into a ledger whose index blocks and
// merges are made small, so that runs are merged in one go and in steps
// across transactions, and the ledger is reopened in the middle of a
// merge. After every transaction, traces of random items and tags must
// find exactly their movements, in order; Verify must pass along the way.
func TestIndexRunsMergeAcrossTransactions(t *testing.T) {
	saved := indexConfig
	indexConfig = runindex.Config{Block: 300, Small: 64, MinStep: 8}
	defer func() { indexConfig = saved }()

	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := Open(Options{Path: path, Gateway: testGateway})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { l.Close() }()
	r := rand.New(rand.NewPCG(11, 12))
	items := make([]string, 40)
	for i := range items {
		items[i] = fmt.Sprintf("(01)09520123456788(21)M%03d", i)
	}
	tags := []string{"urn:epc:raw:96.x01", "urn:epc:raw:96.x02", "urn:epc:raw:96.x03"}
	model := map[string][]uint64{}
	ctx := context.Background()
	at := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	sawMerge, reopened := false, false
	for step := range 300 {
		n := 1 + r.IntN(12)
		if r.IntN(8) == 0 {
			n = 40 + r.IntN(120)
		}
		// One burst: queued together, so that (mostly) one transaction
		// takes them.
		out := newOutcomes()
		var ms []agent.Movement
		for i := range n {
			m := agent.Movement{Time: at, Kind: agent.KindCount, Item: items[r.IntN(len(items))], Location: "store"}
			switch r.IntN(6) {
			case 0:
				m.Tag = tags[r.IntN(len(tags))]
			case 1: // a tag seen before it is bound to an item
				m.Tag = tags[r.IntN(len(tags))]
				m.Item = m.Tag
			}
			ms = append(ms, m)
			l.Submit(m, out.done(i))
		}
		out.wg.Wait()
		for i := range n {
			if out.errs[i] != nil {
				t.Fatal(out.errs[i])
			}
			for _, key := range ms[i].TraceKeys() {
				model[key] = append(model[key], out.got[i].Seq)
			}
		}

		if st := indexState(t, l); st.Merging >= 0 {
			sawMerge = true
			if !reopened {
				if err := l.Verify(ctx); err != nil {
					t.Fatalf("step %d, merging: %v", step, err)
				}
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				if l, err = Open(Options{Path: path, Gateway: testGateway}); err != nil {
					t.Fatal(err)
				}
				reopened = true
			}
		}
		for range 3 {
			key := items[r.IntN(len(items))]
			if r.IntN(3) == 0 {
				key = tags[r.IntN(len(tags))]
			}
			got, err := l.Trace(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			var seqs []uint64
			for _, m := range got {
				seqs = append(seqs, m.Seq)
				if m.Item != key && m.Tag != key {
					t.Fatalf("trace of %s found movement %d of item %q tag %q", key, m.Seq, m.Item, m.Tag)
				}
			}
			slices.Sort(model[key])
			if !slices.Equal(seqs, model[key]) {
				t.Fatalf("step %d: trace of %s found %v, want %v", step, key, seqs, model[key])
			}
		}
		if step%60 == 59 {
			if err := l.Verify(ctx); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
		}
	}
	st := indexState(t, l)
	total := uint64(0)
	for _, seqs := range model {
		total += uint64(len(seqs))
	}
	if st.Entries+uint64(max(st.Merging, 0)) < total || !sawMerge || !reopened || len(st.Runs) > 30 {
		t.Fatalf("index %+v for %d entries; merge in steps seen %v, reopened in one %v", st, total, sawMerge, reopened)
	}
	if st.Entries != total {
		t.Fatalf("live runs hold %d entries, want %d", st.Entries, total)
	}
	prefixed, err := l.TracePrefix(ctx, "(01)09520123456788(21)M00", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint64]bool{}
	for key, seqs := range model {
		if strings.HasPrefix(key, "(01)09520123456788(21)M00") {
			for _, s := range seqs {
				want[s] = true
			}
		}
	}
	if len(prefixed) != len(want) || !slices.IsSortedFunc(prefixed, func(a, b agent.Movement) int { return int(a.Seq) - int(b.Seq) }) {
		t.Fatalf("TracePrefix found %d movements, want %d, in order", len(prefixed), len(want))
	}
	t.Logf("%d movements, %d index entries in runs %v", l.LastSeq(), st.Entries, st.Runs)
}

// TestVerifyNamesMissingIndexEntries drops the index's runs behind the
// ledger's back: Verify must name the movements whose entries are gone,
// and Trace must come back empty rather than wrong.
func TestVerifyNamesMissingIndexEntries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	ms := writeBurst(t, path, 5)
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		runs, blocks := tx.Bucket(bucketRuns), tx.Bucket(bucketIndex)
		var ids [][]byte
		_ = runs.ForEach(func(k, _ []byte) error { ids = append(ids, k); return nil })
		if len(ids) == 0 {
			return errors.New("no run to drop")
		}
		for _, id := range ids {
			if err := runs.Delete(id); err != nil {
				return err
			}
			if err := blocks.DeleteBucket(id); err != nil {
				return err
			}
		}
		return nil
	})
	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	err = ro.Verify(context.Background())
	var indexed int
	for _, m := range ms {
		if m.Item != "" {
			indexed++
			if !strings.Contains(fmt.Sprint(err), fmt.Sprintf("movement %d corrupt: index entry missing", m.Seq)) {
				t.Errorf("Verify does not name movement %d: %v", m.Seq, err)
			}
		}
	}
	if !errors.Is(err, ErrCorrupt) || indexed == 0 {
		t.Fatalf("Verify = %v (%d movements indexed)", err, indexed)
	}
	if got, err := ro.Trace(context.Background(), ms[0].Item); err != nil || len(got) != 0 {
		t.Errorf("Trace = %d movements, %v", len(got), err)
	}
}

// TestDamagedIndexBlockDetected flips a byte of an index block: Trace and
// Verify report the ledger corrupt, and the writer refuses to build on it.
func TestDamagedIndexBlockDetected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	ms := writeBurst(t, path, 3)
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		k, _ := tx.Bucket(bucketRuns).Cursor().First()
		b := tx.Bucket(bucketIndex).Bucket(k)
		bk, bv := b.Cursor().First()
		v := slices.Clone(bv)
		v[len(v)-6] ^= 0x40
		return b.Put(slices.Clone(bk), v)
	})
	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	var ce *CorruptError
	if _, err := ro.Trace(context.Background(), ms[0].Item); !errors.As(err, &ce) || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("Trace = %v, want a checksum error", err)
	}
	if err := ro.Verify(context.Background()); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Verify = %v", err)
	}
}

// TestFormat3FileReadAndUpgraded reads a ledger file written by the build
// before format 4 (testdata/format3.db: 19 movements of gateway or-3,
// items received, a tag commissioned, a rejected read, uses, a tag count;
// its item index a B+tree), then opens it for writing: the file is
// upgraded in place, its old index entries stay where they are and are
// still found, new movements are indexed in runs, and the chain and the
// whole file check out before and after.
func TestFormat3FileReadAndUpgraded(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "format3.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ledger.db")
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const hip3 = "(01)09506000134352(21)HIP0003"
	const tag = "urn:epc:raw:96.xE2801160600002054CC2096F"
	seqsOf := func(ms []agent.Movement) (out []uint64) {
		for _, m := range ms {
			out = append(out, m.Seq)
		}
		return out
	}
	check := func(l *Ledger, wantHip3, wantTag []uint64) {
		t.Helper()
		got, err := l.Trace(ctx, hip3)
		if err != nil || !slices.Equal(seqsOf(got), wantHip3) {
			t.Fatalf("trace of %s: %v %v, want %v", hip3, seqsOf(got), err, wantHip3)
		}
		if got[0].Kind != agent.KindReceive || got[0].Lot != "L2411" || string(got[0].Raw) != "]d2"+hip3 {
			t.Fatalf("first movement of %s: %+v", hip3, got[0])
		}
		if got, err := l.Trace(ctx, tag); err != nil || !slices.Equal(seqsOf(got), wantTag) {
			t.Fatalf("trace of tag: %v %v, want %v", seqsOf(got), err, wantTag)
		}
		all, err := l.TracePrefix(ctx, "(01)09506000134352", 0)
		if err != nil || len(all) != 17+len(wantHip3)-3 {
			t.Fatalf("TracePrefix: %d movements, %v", len(all), err)
		}
		if err := l.Verify(ctx); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if sum, err := l.VerifyChain(ctx); err != nil || sum.Movements != l.LastSeq() {
			t.Fatalf("VerifyChain: %+v %v", sum, err)
		}
	}
	version := func() uint64 {
		t.Helper()
		db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var v uint64
		_ = db.View(func(tx *bolt.Tx) error {
			v = binary.BigEndian.Uint64(tx.Bucket(bucketMeta).Get(metaVersion))
			if tx.Bucket(bucketItems) == nil {
				t.Error("the format 3 index is gone")
			}
			return nil
		})
		return v
	}

	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if ro.LastSeq() != 19 || ro.Gateway() != "or-3" {
		t.Fatalf("format 3 file: last %d gateway %s", ro.LastSeq(), ro.Gateway())
	}
	check(ro, []uint64{4, 13, 16}, []uint64{13, 19})
	ro.Close()
	if v := version(); v != formatIndexTree {
		t.Fatalf("read-only open changed the version to %d", v)
	}

	l, err := Open(Options{Path: path, Gateway: "or-3"})
	if err != nil {
		t.Fatal(err)
	}
	if v := indexState(t, l); v.Entries != 0 {
		t.Fatalf("upgraded file's runs hold %d entries", v.Entries)
	}
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	if _, err := l.Append(ctx, agent.Movement{Time: at, Kind: agent.KindReturn, Item: hip3, Location: "warehouse"}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, agent.Movement{Time: at, Kind: agent.KindCount, Item: tag, Tag: tag, Location: "warehouse"}); err != nil {
		t.Fatal(err)
	}
	check(l, []uint64{4, 13, 16, 20}, []uint64{13, 19, 21})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != FormatVersion {
		t.Fatalf("version after upgrade %d", v)
	}
	// Opened again: nothing to upgrade, everything still found.
	l, err = Open(Options{Path: path, Gateway: "or-3"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	check(l, []uint64{4, 13, 16, 20}, []uint64{13, 19, 21})
}

// TestDamagedIndexDoesNotStopRecording damages a run of the item index
// that the next transaction's merge must read: the movement is still
// recorded and answered, later ones too, each indexed in a run of its
// own; traces of items outside the damage work, Stats and the log say
// what happened, and Verify names the damage.
func TestDamagedIndexDoesNotStopRecording(t *testing.T) {
	saved := indexConfig
	indexConfig = smallIndex
	defer func() { indexConfig = saved }()
	path := filepath.Join(t.TempDir(), "ledger.db")
	ctx := context.Background()
	at := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	item := func(i int) string { return fmt.Sprintf("(01)09520123456788(21)D%03d", i) }
	// Seven transactions of one movement: seven runs of level 0; the
	// eighth makes a merge of all of them due.
	l, err := Open(Options{Path: path, Gateway: testGateway})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		if _, err := l.Append(ctx, agent.Movement{Time: at, Kind: agent.KindReceive, Item: item(i), Location: "store"}); err != nil {
			t.Fatal(err)
		}
	}
	if st := indexState(t, l); len(st.Runs) != 7 {
		t.Fatalf("runs %v, want seven", st.Runs)
	}
	l.Close()
	rawUpdate(t, path, func(tx *bolt.Tx) error { // the run of movement 3
		c := tx.Bucket(bucketRuns).Cursor()
		k, _ := c.First()
		k, _ = c.Next()
		k, _ = c.Next()
		b := tx.Bucket(bucketIndex).Bucket(k)
		bk, bv := b.Cursor().First()
		v := slices.Clone(bv)
		v[len(v)-1] ^= 1
		return b.Put(slices.Clone(bk), v)
	})

	var logs strings.Builder
	l, err = Open(Options{Path: path, Gateway: testGateway, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := 7; i < 12; i++ {
		m, err := l.Append(ctx, agent.Movement{Time: at, Kind: agent.KindReceive, Item: item(i), Location: "store"})
		if err != nil || m.Seq != uint64(i+1) {
			t.Fatalf("movement %d refused after the index was damaged: %+v %v", i+1, m, err)
		}
	}
	if !l.Stats().IndexDamaged || strings.Count(logs.String(), "item index damaged") != 1 {
		t.Errorf("Stats %+v; log %q", l.Stats(), logs.String())
	}
	if st := indexState(t, l); len(st.Runs) != 12 {
		t.Errorf("runs %v: want one per transaction, nothing merged", st.Runs)
	}
	// A trace that would read the damaged block says so rather than
	// answer with movements missing.
	var ce *CorruptError
	if _, err := l.Trace(ctx, item(9)); !errors.As(err, &ce) || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("trace over the damaged block = %v", err)
	}
	if err := l.Verify(ctx); !errors.As(err, &ce) || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("Verify = %v", err)
	}
	if m, err := l.Get(3); err != nil || m.Item != item(2) {
		t.Errorf("the movement itself: %+v %v", m, err)
	}
	l.Close()

	// The remedy: the index rebuilt from the movements.
	sum, err := RebuildIndex(ctx, path, time.Second, nil)
	if err != nil || sum.Movements != 12 || sum.Entries != 12 || len(sum.Unreadable) != 0 || sum.Upgraded {
		t.Fatalf("RebuildIndex = %+v, %v", sum, err)
	}
	if l, err = Open(Options{Path: path, Gateway: testGateway}); err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		got, err := l.Trace(ctx, item(i))
		if err != nil || len(got) != 1 || got[0].Seq != uint64(i+1) {
			t.Errorf("trace of %s after the rebuild: %+v %v", item(i), got, err)
		}
	}
	if err := l.Verify(ctx); err != nil || l.Stats().IndexDamaged {
		t.Errorf("after the rebuild: Verify %v, %+v", err, l.Stats())
	}
	if _, err := l.Append(ctx, agent.Movement{Time: at, Kind: agent.KindUse, Item: item(0), Location: "OR-1"}); err != nil {
		t.Fatal(err)
	}
	if got, err := l.Trace(ctx, item(0)); err != nil || len(got) != 2 {
		t.Errorf("trace after the rebuild and one more movement: %d, %v", len(got), err)
	}
}

// TestRebuildIndex rebuilds the index of a ledger large enough to take
// several transactions, over a damaged batch and a leftover of a rebuild
// that did not finish: every readable movement is found by its trace,
// the damaged batch's movements are listed, and a format 3 file comes out
// of a rebuild as format 4 with its B+tree gone.
func TestRebuildIndex(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	if _, err := BenchFillItems(path, 4*40_000); err != nil { // 160,000 movements: three transactions of the rebuild
		t.Fatal(err)
	}
	l, err := Open(Options{Path: path, Gateway: benchGateway})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, agent.Movement{Time: time.Now(), Kind: agent.KindCount, Item: "urn:epc:raw:96.x0A", Tag: "urn:epc:raw:96.x0A", Location: "store"}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	// A batch in the middle damaged, and a rebuild's leftover.
	var damagedFirst, damagedLast uint64
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketMovements).Cursor()
		k, v := c.Seek(seqKey(100_000))
		b, err := nextBatch(k, v)
		if err != nil {
			return err
		}
		damagedFirst, damagedLast = b.First, b.Last()
		bad := slices.Clone(v)
		bad[len(bad)/2] ^= 0xff
		if err := tx.Bucket(bucketMovements).Put(slices.Clone(k), bad); err != nil {
			return err
		}
		rb, err := tx.CreateBucket(bucketRebuild)
		if err != nil {
			return err
		}
		return rb.Put([]byte("run"), []byte("garbage"))
	})
	sum, err := RebuildIndex(ctx, path, time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Only the record the flip landed in is unreadable, unless it hit the
	// batch's header: then the whole batch.
	if len(sum.Unreadable) == 0 || sum.Unreadable[0] < damagedFirst || sum.Unreadable[len(sum.Unreadable)-1] > damagedLast ||
		sum.Movements+uint64(len(sum.Unreadable)) != 160_001 || sum.Entries != sum.Movements {
		t.Fatalf("summary %+v (damaged batch %d-%d)", sum, damagedFirst, damagedLast)
	}
	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	unreadable := map[uint64]bool{}
	for _, seq := range sum.Unreadable {
		unreadable[seq] = true
	}
	// Each item has four movements: its receipt and stocking (in order,
	// before 80,000) and its issue and use (shuffled, after it, where
	// the damage is). A trace must find all four unless one of them is
	// unreadable.
	r := rand.New(rand.NewPCG(5, 6))
	short := 0
	for range 300 {
		i := r.IntN(40_000)
		got, err := ro.Trace(ctx, BenchItemKey(i))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) < 2 || len(got) > 4 || got[0].Seq != uint64(i+1) || got[1].Seq != uint64(40_000+i+1) {
			t.Fatalf("trace of item %d: %d movements", i, len(got))
		}
		for _, m := range got {
			if unreadable[m.Seq] {
				t.Fatalf("trace of item %d found unreadable movement %d", i, m.Seq)
			}
		}
		if len(got) < 4 {
			short++
		}
	}
	if short > len(sum.Unreadable) {
		t.Errorf("%d traces short of a movement, %d movements unreadable", short, len(sum.Unreadable))
	}
	if got, err := ro.Trace(ctx, "urn:epc:raw:96.x0A"); err != nil || len(got) != 1 {
		t.Errorf("trace of the tag: %d, %v", len(got), err)
	}
	err = ro.view(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketRebuild) != nil {
			return errors.New("the rebuild's bucket is left")
		}
		st, err := ro.index(tx, nil).State()
		if err == nil && st.Entries != sum.Entries {
			err = fmt.Errorf("index holds %d entries, the rebuild wrote %d", st.Entries, sum.Entries)
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}
	ro.Close()

	// A format 3 file: rebuilt, upgraded, its B+tree gone.
	src, err := os.ReadFile(filepath.Join("testdata", "format3.db"))
	if err != nil {
		t.Fatal(err)
	}
	path3 := filepath.Join(t.TempDir(), "format3.db")
	if err := os.WriteFile(path3, src, 0o600); err != nil {
		t.Fatal(err)
	}
	sum, err = RebuildIndex(ctx, path3, time.Second, nil)
	if err != nil || !sum.Upgraded || sum.Movements != 19 || sum.Entries != 19 {
		t.Fatalf("format 3: %+v %v", sum, err)
	}
	ro, err = OpenReadOnly(path3, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if got, err := ro.Trace(ctx, "(01)09506000134352(21)HIP0003"); err != nil || len(got) != 3 {
		t.Errorf("format 3 trace after the rebuild: %d %v", len(got), err)
	}
	if err := ro.Verify(ctx); err != nil {
		t.Errorf("format 3 Verify after the rebuild: %v", err)
	}
	_ = ro.view(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketItems) != nil || binary.BigEndian.Uint64(tx.Bucket(bucketMeta).Get(metaVersion)) != FormatVersion {
			t.Error("format 3 file not upgraded by the rebuild")
		}
		return nil
	})
}

// TestRebuildIndexRefusesAFileInUse checks that a rebuild waits for the
// file's lock and then fails with ErrLocked, leaving it alone.
func TestRebuildIndexRefusesAFileInUse(t *testing.T) {
	l := openTest(t, Options{})
	if _, err := l.Append(context.Background(), movementN("x", 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := RebuildIndex(context.Background(), l.Path(), 50*time.Millisecond, nil); !errors.Is(err, ErrLocked) {
		t.Errorf("RebuildIndex of an open ledger = %v, want ErrLocked", err)
	}
}
