package bolt

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
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
