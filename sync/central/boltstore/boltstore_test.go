package boltstore_test

import (
	"cmp"
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
	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
)

const created = 1764028800000000000

var ctx = context.Background()

// open opens the store at path and, when the test ends, checks the whole
// file (unless the test closed it) and closes it.
func open(t *testing.T, path string) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Verify(ctx); err != nil && !errors.Is(err, central.ErrClosed) {
			t.Errorf("the store is not consistent: %v", err)
		}
		_ = s.Close()
	})
	return s
}

// stored turns movements first to last of l into what Append takes.
func stored(t *testing.T, l *testkit.Ledger, first, last uint64) []central.Stored {
	t.Helper()
	var out []central.Stored
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
		out = append(out, central.Stored{Seq: seq, PrevHash: prev, Hash: hash, Keys: central.IndexKeys(&m), Record: rec})
	}
	return out
}

func mustAppend(t *testing.T, s *boltstore.Store, l *testkit.Ledger, first, last uint64) central.Head {
	t.Helper()
	before, err := s.Head(ctx, l.Gateway, l.Created)
	if err != nil {
		t.Fatal(err)
	}
	h, added, err := s.Append(ctx, l.Site, l.Gateway, l.Created, stored(t, l, first, last))
	if err != nil {
		t.Fatalf("append %d-%d: %v", first, last, err)
	}
	if want := int(h.Seq - before.Seq); added != want {
		t.Fatalf("append %d-%d: added %d, want %d", first, last, added, want)
	}
	if h.Seq != max(last, h.Seq) || h.Hash != l.Hash(h.Seq) {
		t.Fatalf("append %d-%d: head %d", first, last, h.Seq)
	}
	return h
}

// records returns every record of the ledger in the store.
func records(t *testing.T, s *boltstore.Store, l *testkit.Ledger) [][]byte {
	t.Helper()
	var out [][]byte
	err := s.Range(ctx, l.Gateway, l.Created, 1, func(seq uint64, rec []byte) error {
		if seq != uint64(len(out)+1) {
			t.Fatalf("range gave movement %d after %d", seq, len(out))
		}
		out = append(out, slices.Clone(rec))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAppendDurableAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "central.db")
	l := testkit.NewLedger("st-marys", "or-3", created)
	l.AddN(t, 30)

	s := open(t, path)
	if h, err := s.Head(ctx, l.Gateway, l.Created); err != nil || h.Seq != 0 || h.Hash != record.Genesis(l.Gateway, created) {
		t.Fatalf("empty head %+v, %v; want seq 0 and the genesis hash", h, err)
	}
	mustAppend(t, s, l, 1, 10)
	mustAppend(t, s, l, 11, 20)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Fatalf("file mode %o, want 600", perm)
	}

	s = open(t, path)
	h, err := s.Head(ctx, l.Gateway, l.Created)
	if err != nil || h.Seq != 20 || h.Hash != l.Hash(20) || h.Site != "st-marys" {
		t.Fatalf("head after reopen %+v, %v", h, err)
	}
	mustAppend(t, s, l, 21, 30)
	got := records(t, s, l)
	if len(got) != 30 {
		t.Fatalf("%d movements stored, want 30", len(got))
	}
	for i, rec := range got {
		if !slices.Equal(rec, l.Records[i]) {
			t.Fatalf("movement %d stored differs from the one sent", i+1)
		}
	}
}

func TestAppendIdempotentAndRefusals(t *testing.T) {
	path := filepath.Join(t.TempDir(), "central.db")
	s := open(t, path)
	l := testkit.NewLedger("st-marys", "or-3", created)
	l.AddN(t, 20)
	mustAppend(t, s, l, 1, 10)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// The same movements again: nothing changes, not even the file.
	for _, r := range [][2]uint64{{1, 10}, {4, 6}, {10, 10}} {
		h := mustAppend(t, s, l, r[0], r[1])
		if h.Seq != 10 {
			t.Fatalf("duplicate %v moved the head to %d", r, h.Seq)
		}
	}
	after, _ := os.ReadFile(path)
	if !slices.Equal(before, after) {
		t.Fatal("appending held movements changed the file")
	}

	// A gap, a conflict, a broken link, another site: refused, nothing stored.
	forked := testkit.NewLedger("st-marys", "or-3", created)
	for i := range 12 {
		if i < 8 {
			forked.Add(t, l.Movements[i])
		} else {
			forked.Add(t, testkit.Movement(i+1, "(01)09506000134352(21)FORK"))
		}
	}
	recreated := testkit.NewLedger("st-marys", "or-3", created+1)
	recreated.AddN(t, 12)
	cases := []struct {
		name string
		site string
		recs []central.Stored
		err  error
		seq  uint64
	}{
		{"gap", "st-marys", stored(t, l, 12, 20), central.ErrGap, 11},
		{"conflict", "st-marys", stored(t, forked, 9, 12), central.ErrConflict, 9},
		{"broken chain", "st-marys", stored(t, recreated, 11, 12), central.ErrChain, 11},
		{"other site", "elsewhere", stored(t, l, 11, 12), central.ErrMismatch, 0},
	}
	for _, c := range cases {
		h, added, err := s.Append(ctx, c.site, l.Gateway, l.Created, c.recs)
		var ce *central.CheckError
		if !errors.Is(err, c.err) || !errors.As(err, &ce) || ce.Seq != c.seq {
			t.Fatalf("%s: error %v, want %v at %d", c.name, err, c.err, c.seq)
		}
		if h.Seq != 10 || added != 0 {
			t.Fatalf("%s: head %d, %d added after a refusal; want 10, 0", c.name, h.Seq, added)
		}
	}
	if n := len(records(t, s, l)); n != 10 {
		t.Fatalf("%d movements stored after refusals, want 10", n)
	}
	// The overlap with a new tail is stored.
	if h := mustAppend(t, s, l, 5, 20); h.Seq != 20 {
		t.Fatalf("overlap: head %d, want 20", h.Seq)
	}
}

func TestRecreatedLedgerIsANewChain(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "central.db"))
	old := testkit.NewLedger("st-marys", "or-3", created)
	old.AddN(t, 5)
	recreated := testkit.NewLedger("st-marys", "or-3", created+time.Hour.Nanoseconds())
	recreated.AddN(t, 3)
	mustAppend(t, s, old, 1, 5)
	mustAppend(t, s, recreated, 1, 3)
	mustAppend(t, s, old, 5, 5) // the old ledger's late duplicate still lands on the old chain

	ls, err := s.Ledgers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 2 || ls[0].Created != old.Created || ls[0].Seq != 5 || ls[1].Created != recreated.Created || ls[1].Seq != 3 {
		t.Fatalf("ledgers %+v", ls)
	}
	if n := len(records(t, s, old)); n != 5 {
		t.Fatalf("old chain holds %d, want 5", n)
	}
	if n := len(records(t, s, recreated)); n != 3 {
		t.Fatalf("new chain holds %d, want 3", n)
	}
}

func TestTraceByItemAndTagAcrossGateways(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "central.db"))
	item, tag := "(01)09506000134352(21)IMPLANT-1", "E280689400005001"
	ward := testkit.NewLedger("st-marys", "ward-1", created)
	ward.AddN(t, 2)
	m := testkit.Movement(3, item)
	m.Kind, m.Tag = agent.KindCommission, tag
	ward.Add(t, m)
	or := testkit.NewLedger("st-marys", "or-3", created)
	or.AddN(t, 1)
	m = testkit.Movement(10, item)
	or.Add(t, m)
	m = testkit.Movement(11, "")
	m.Tag, m.Kind = tag, agent.KindCount
	or.Add(t, m)
	mustAppend(t, s, ward, 1, 3)
	mustAppend(t, s, or, 1, 3)

	got, err := s.Trace(ctx, item)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Movement.Gateway != "or-3" || got[0].Movement.Seq != 2 || got[1].Movement.Gateway != "ward-1" || got[1].Movement.Seq != 3 {
		t.Fatalf("trace of the item: %+v", got)
	}
	if got[0].Site != "st-marys" || got[0].Created != created || got[0].Movement.Patient != "PATIENT-SECRET-42" {
		t.Fatalf("trace of the item lost fields: %+v", got[0])
	}
	got, err = s.Trace(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Movement.Seq != 3 || got[1].Movement.Seq != 3 {
		t.Fatalf("trace of the tag: %+v", got)
	}
	if got, err := s.Trace(ctx, "(01)09506000134352(21)NOTHING"); err != nil || len(got) != 0 || got == nil {
		t.Fatalf("trace of an unknown key: %v, %v; want an empty slice", got, err)
	}

	// The merged, commission-following trace of the tag.
	all, err := central.Trace(ctx, s, tag)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, x := range all {
		order = append(order, x.Movement.Gateway+"/"+string(rune('0'+x.Movement.Seq)))
	}
	if want := []string{"ward-1/3", "or-3/2", "or-3/3"}; !slices.Equal(order, want) {
		t.Fatalf("central.Trace order %v, want %v", order, want)
	}
}

func TestMasterVersionsPersist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "central.db")
	s := open(t, path)
	for want := uint64(1); want <= 3; want++ {
		if v, err := s.NextMasterVersion(ctx, "st-marys", "recalls", 0); err != nil || v != want {
			t.Fatalf("version %d, %v; want %d", v, err, want)
		}
	}
	if v, _ := s.NextMasterVersion(ctx, "st-marys", "catalogue", 0); v != 1 {
		t.Fatalf("another set's first version %d, want 1", v)
	}
	if v, _ := s.NextMasterVersion(ctx, "st-johns", "recalls", 0); v != 1 {
		t.Fatalf("another site's first version %d, want 1", v)
	}
	_ = s.Close()
	s = open(t, path)
	if v, err := s.NextMasterVersion(ctx, "st-marys", "recalls", 0); err != nil || v != 4 {
		t.Fatalf("version after reopen %d, %v; want 4", v, err)
	}
}

func TestOpenLockedReadOnlyAndClosed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "central.db")
	s := open(t, path)
	l := testkit.NewLedger("st-marys", "or-3", created)
	l.AddN(t, 2)
	mustAppend(t, s, l, 1, 2)
	if _, err := boltstore.OpenReadOnly(path, 50*time.Millisecond); !errors.Is(err, boltstore.ErrLocked) {
		t.Fatalf("read-only open of a held file: %v, want ErrLocked", err)
	}
	_ = s.Close()
	if _, err := s.Head(ctx, "or-3", created); !errors.Is(err, central.ErrClosed) {
		t.Fatalf("head after close: %v, want ErrClosed", err)
	}
	ro, err := boltstore.OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if h, err := ro.Head(ctx, "or-3", created); err != nil || h.Seq != 2 {
		t.Fatalf("read-only head %+v, %v", h, err)
	}
	if _, err := ro.NextMasterVersion(ctx, "st-marys", "recalls", 0); err == nil {
		t.Fatal("a read-only store took a master version")
	}
	if _, err := boltstore.OpenReadOnly(filepath.Join(t.TempDir(), "none.db"), time.Second); err == nil {
		t.Fatal("read-only open of a missing file succeeded")
	}
	junk := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(junk, []byte("not a bbolt file at all, not even close"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := boltstore.Open(junk); err == nil {
		t.Fatal("opened a file that is not a store")
	}
}

func TestTraceKeysSharingAPrefixWithNUL(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "central.db"))
	l := testkit.NewLedger("st-marys", "or-3", created)
	l.Add(t, testkit.Movement(1, "ITEM"))
	l.Add(t, testkit.Movement(2, "ITEM\x00or-3"))
	l.Add(t, testkit.Movement(3, "ITEM"))
	mustAppend(t, s, l, 1, 3)
	for key, want := range map[string][]uint64{"ITEM": {1, 3}, "ITEM\x00or-3": {2}} {
		ts, err := s.Trace(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for _, x := range ts {
			got = append(got, x.Movement.Seq)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("trace %q: %v, want %v", key, got, want)
		}
	}
}

func TestOpenRefusesTheFormerLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "central.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range []string{"meta", "ledgers", "movements", "items", "master"} {
			if _, err := tx.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("meta")).Put([]byte("format"), binary.BigEndian.AppendUint64(nil, 1))
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	for _, open := range []func() (*boltstore.Store, error){
		func() (*boltstore.Store, error) { return boltstore.Open(path) },
		func() (*boltstore.Store, error) { return boltstore.OpenReadOnly(path, time.Second) },
	} {
		if s, err := open(); !errors.Is(err, boltstore.ErrFormat) || !strings.Contains(err.Error(), "format 1") {
			if s != nil {
				s.Close()
			}
			t.Fatalf("open of a format 1 file: %v, want ErrFormat naming format 1", err)
		}
	}
}

func TestRangeAcrossValuesAndOverlaps(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "central.db"))
	l := testkit.NewLedger("st-marys", "or-3", created)
	l.AddN(t, 200)
	// Batches of every size, overlapping: each stores its new tail as
	// values of its own, several when it is larger than a value.
	for _, r := range [][2]uint64{{1, 1}, {1, 40}, {30, 31}, {35, 120}, {120, 121}, {100, 200}} {
		mustAppend(t, s, l, r[0], r[1])
	}
	for _, from := range []uint64{0, 1, 2, 40, 41, 99, 120, 121, 122, 199, 200} {
		var seqs []uint64
		err := s.Range(ctx, l.Gateway, l.Created, from, func(seq uint64, rec []byte) error {
			if !slices.Equal(rec, l.Records[seq-1]) {
				t.Fatalf("from %d: movement %d differs from the one sent", from, seq)
			}
			seqs = append(seqs, seq)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		first := max(from, 1)
		if len(seqs) != int(200-first+1) || seqs[0] != first || seqs[len(seqs)-1] != 200 {
			t.Fatalf("range from %d gave %d movements, %v…", from, len(seqs), seqs[:min(3, len(seqs))])
		}
	}
	for _, from := range []uint64{201, 1 << 40} {
		if err := s.Range(ctx, l.Gateway, l.Created, from, func(seq uint64, _ []byte) error {
			return fmt.Errorf("movement %d beyond the head", seq)
		}); err != nil {
			t.Fatalf("range from %d: %v", from, err)
		}
	}
	if err := s.Range(ctx, "or-4", created, 1, func(seq uint64, _ []byte) error {
		return fmt.Errorf("movement %d of a ledger the store does not hold", seq)
	}); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	if err := s.Range(ctx, l.Gateway, l.Created, 1, func(uint64, []byte) error { return stop }); err != stop {
		t.Fatalf("range returned %v, want fn's error", err)
	}
}

func TestDamagedValueIsReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "central.db")
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := testkit.NewLedger("st-marys", "or-3", created)
	l.AddN(t, 10)
	mustAppend(t, s, l, 1, 10)
	err = s.RawUpdate(func(tx *bolt.Tx) error {
		c := tx.Bucket([]byte("movements")).Cursor()
		k, v := c.First()
		v = slices.Clone(v)
		v[6] ^= 1 // the end of record 0, in the header
		return tx.Bucket([]byte("movements")).Put(slices.Clone(k), v)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Range(ctx, l.Gateway, l.Created, 1, func(uint64, []byte) error { return nil })
	if !errors.Is(err, boltstore.ErrCorrupt) {
		t.Fatalf("range over a damaged value: %v, want ErrCorrupt", err)
	}
	if _, err := s.Trace(ctx, testkit.ItemKey(3)); !errors.Is(err, boltstore.ErrCorrupt) && !errors.Is(err, record.ErrCorrupt) {
		t.Fatalf("trace into a damaged value: %v, want a corruption reported", err)
	}
	if err := s.Verify(ctx); err == nil {
		t.Fatal("Verify passed a damaged value")
	}
}

// traced is a movement as a trace finds it.
type traced struct {
	gateway string
	created int64
	seq     uint64
}

// TestIndexMergesKeepEveryMovementTraceable appends movements of several
// ledgers in batches of every size, with resends, into a store whose index
// blocks and merges are made small, so that runs are merged in one go and
// in steps across appends, and a reopen falls in the middle of a merge.
// After every append, traces of random keys must find exactly what was
// stored, in order.
func TestIndexMergesKeepEveryMovementTraceable(t *testing.T) {
	defer boltstore.SetSmall(300, 200, 16)()
	path := filepath.Join(t.TempDir(), "central.db")
	s := open(t, path)
	r := rand.New(rand.NewPCG(7, 8))
	keys := make([]string, 60)
	for i := range keys {
		keys[i] = fmt.Sprintf("(01)09506000134352(21)K%d", i)
	}
	keys = append(keys, "K", "K\x00or-1") // a key that is a prefix of another with a NUL
	ledgers := []*testkit.Ledger{
		testkit.NewLedger("st-marys", "or-1", created),
		testkit.NewLedger("st-marys", "or-2", created),
		testkit.NewLedger("st-marys", "ward", created),
		testkit.NewLedger("st-marys", "or-1", created+1), // or-1 re-created
	}
	model := map[string][]traced{}
	stored := make([]uint64, len(ledgers))
	sawMerge, reopened := false, false
	for step := 0; step < 400; step++ {
		li := r.IntN(len(ledgers))
		l := ledgers[li]
		n := 1 + r.IntN(30)
		if r.IntN(10) == 0 {
			n = 100 + r.IntN(200)
		}
		for range n {
			i := len(l.Records) + 1
			m := testkit.Movement(i, keys[r.IntN(len(keys))])
			switch r.IntN(4) {
			case 0:
				m.Tag = keys[r.IntN(len(keys))]
			case 1:
				m.Tag = m.Item
			}
			l.Add(t, m)
		}
		first := stored[li] + 1
		if stored[li] > 0 && r.IntN(4) == 0 {
			first = 1 + uint64(r.IntN(int(stored[li]))) // a resend that overlaps
		}
		last := uint64(len(l.Records))
		mustAppend(t, s, l, first, last)
		for seq := stored[li] + 1; seq <= last; seq++ {
			for _, key := range central.IndexKeys(&l.Movements[seq-1]) {
				model[key] = append(model[key], traced{l.Gateway, l.Created, seq})
			}
		}
		stored[li] = last
		if r.IntN(5) == 0 { // a whole resend: nothing changes
			mustAppend(t, s, l, 1, last)
		}

		_, merging, err := s.IndexState(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if merging >= 0 {
			sawMerge = true
			if !reopened { // a restart in the middle of a merge
				if err := s.Verify(ctx); err != nil {
					t.Fatalf("step %d, merging: %v", step, err)
				}
				_ = s.Close()
				s = open(t, path)
				reopened = true
			}
		}
		for range 3 {
			key := keys[r.IntN(len(keys))]
			want := slices.Clone(model[key])
			slices.SortFunc(want, func(a, b traced) int {
				return cmp.Or(strings.Compare(a.gateway, b.gateway), cmp.Compare(a.created, b.created), cmp.Compare(a.seq, b.seq))
			})
			ts, err := s.Trace(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			var got []traced
			for _, x := range ts {
				got = append(got, traced{x.Movement.Gateway, x.Created, x.Movement.Seq})
				if x.Site != "st-marys" || x.Movement.Item != key && x.Movement.Tag != key {
					t.Fatalf("trace of %q found movement %d of %s/%d, of item %q tag %q", key, x.Movement.Seq, x.Movement.Gateway, x.Created, x.Movement.Item, x.Movement.Tag)
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("step %d: trace of %q found %d movements, want %d:\n%v\n%v", step, key, len(got), len(want), got, want)
			}
		}
		if step%50 == 49 {
			if err := s.Verify(ctx); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
		}
	}
	runs, _, err := s.IndexState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, l := range ledgers {
		total += len(l.Records)
	}
	if !sawMerge || !reopened || len(runs) > 40 {
		t.Fatalf("merge in steps seen %v, reopened in one %v; %d runs left for %d movements", sawMerge, reopened, len(runs), total)
	}
	t.Logf("%d movements, %d runs: %v", total, len(runs), runs)
}

// TestNextMasterVersionFloor: a floor above the last version is taken, one
// below it is not: versions only increase.
func TestNextMasterVersionFloor(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "central.db"))
	for _, c := range []struct{ floor, want uint64 }{{0, 1}, {100, 100}, {50, 101}, {0, 102}, {1000, 1000}} {
		if v, err := s.NextMasterVersion(ctx, "st-marys", "recalls", c.floor); err != nil || v != c.want {
			t.Fatalf("floor %d: version %d, %v; want %d", c.floor, v, err, c.want)
		}
	}
}
