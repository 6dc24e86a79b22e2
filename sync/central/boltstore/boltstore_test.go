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

	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
	"github.com/udi-edge/udi-edge/sync/central/storetest"
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

// TestConformance runs sync/central's Store suite against stores in new
// files (one process holds a file: no second handle to share).
func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Opener{
		Open: func(t *testing.T) central.Store { return open(t, filepath.Join(t.TempDir(), "central.db")) },
		Reopen: func(t *testing.T, st central.Store) central.Store {
			path := st.(*boltstore.Store).Path()
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			return open(t, path)
		},
		Unindex: func(t *testing.T, st central.Store) central.Store {
			s := st.(*boltstore.Store)
			if err := s.RawUpdate(asFormat3); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			return open(t, s.Path())
		},
	})
}

// asFormat3 makes a file as format 3 left it: no index of received
// products.
func asFormat3(tx *bolt.Tx) error {
	if err := tx.DeleteBucket([]byte("received")); err != nil {
		return err
	}
	return tx.Bucket([]byte("meta")).Put([]byte("format"), binary.BigEndian.AppendUint64(nil, 3))
}

// TestFileModeAndDuplicatesWriteNothing: the file is created with mode
// 0600, and appending movements held already does not write to it.
func TestFileModeAndDuplicatesWriteNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "central.db")
	s := open(t, path)
	l := testkit.NewLedger("st-marys", "or-3", created)
	l.AddN(t, 10)
	storetest.MustAppend(t, s, l, 1, 10)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Fatalf("file mode %o, want 600", perm)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]uint64{{1, 10}, {4, 6}, {10, 10}} {
		storetest.MustAppend(t, s, l, r[0], r[1])
	}
	after, _ := os.ReadFile(path)
	if !slices.Equal(before, after) {
		t.Fatal("appending held movements changed the file")
	}
}

func TestOpenLockedAndReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "central.db")
	s := open(t, path)
	l := testkit.NewLedger("st-marys", "or-3", created)
	l.AddN(t, 2)
	storetest.MustAppend(t, s, l, 1, 2)
	if _, err := boltstore.OpenReadOnly(path, 50*time.Millisecond); !errors.Is(err, boltstore.ErrLocked) {
		t.Fatalf("read-only open of a held file: %v, want ErrLocked", err)
	}
	_ = s.Close()
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

func TestDamagedValueIsReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "central.db")
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l := testkit.NewLedger("st-marys", "or-3", created)
	l.AddN(t, 10)
	storetest.MustAppend(t, s, l, 1, 10)
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
		storetest.MustAppend(t, s, l, first, last)
		for seq := stored[li] + 1; seq <= last; seq++ {
			for _, key := range central.IndexKeys(&l.Movements[seq-1]) {
				model[key] = append(model[key], traced{l.Gateway, l.Created, seq})
			}
		}
		stored[li] = last
		if r.IntN(5) == 0 { // a whole resend: nothing changes
			storetest.MustAppend(t, s, l, 1, last)
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

// TestFormat2IsUpgraded: a file of format 2 (before branches and
// counters) is read as it is when opened read-only, and brought to the
// current format when opened for writing, its movements kept; then it
// takes a conflict as a branch.
func TestFormat2IsUpgraded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "central.db")
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l := testkit.NewLedger("st-marys", "or-3", created)
	l.AddN(t, 20)
	storetest.MustAppend(t, s, l, 1, 10)
	format := func(tx *bolt.Tx) uint64 {
		return binary.BigEndian.Uint64(tx.Bucket([]byte("meta")).Get([]byte("format")))
	}
	err = s.RawUpdate(func(tx *bolt.Tx) error { // as a format 2 file is
		for _, name := range []string{"branches", "counters", "received"} {
			if err := tx.DeleteBucket([]byte(name)); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("meta")).Put([]byte("format"), binary.BigEndian.AppendUint64(nil, 2))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	ro, err := boltstore.OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Records(t, ro, l)
	if hs, err := ro.Ledgers(ctx); err != nil || len(hs) != 1 || hs[0].Seq != 10 {
		t.Fatalf("ledgers of a format 2 file: %+v, %v", hs, err)
	}
	if cs, err := ro.Conflicts(ctx); err != nil || len(cs) != 0 {
		t.Fatalf("conflicts of a format 2 file: %+v, %v", cs, err)
	}
	if cs, err := ro.Counts(ctx); err != nil || len(cs) != 0 {
		t.Fatalf("counts of a format 2 file: %+v, %v", cs, err)
	}
	_ = ro.RawView(func(tx *bolt.Tx) error {
		if f := format(tx); f != 2 {
			t.Errorf("a read-only open changed the format to %d", f)
		}
		return nil
	})
	ro.Close()

	s = open(t, path)
	_ = s.RawView(func(tx *bolt.Tx) error {
		if f := format(tx); f != boltstore.Format {
			t.Errorf("format %d after an open for writing, want %d", f, boltstore.Format)
		}
		return nil
	})
	storetest.MustAppend(t, s, l, 11, 20)
	restored := storetest.Fork(t, l, 15, 25, "RESTORED")
	if h, added, err := s.Append(ctx, l.Site, l.Gateway, l.Created, storetest.Stored(t, restored, 16, 25)); err != nil || h.Branch != 1 || added != 10 {
		t.Fatalf("a conflict in an upgraded file: branch %d, %d added, %v", h.Branch, added, err)
	}
	if err := s.AddCounts(ctx, []central.GatewayCounts{{Site: "st-marys", Gateway: "or-3", Counts: map[string]uint64{"batches": 2}}}); err != nil {
		t.Fatal(err)
	}
}
