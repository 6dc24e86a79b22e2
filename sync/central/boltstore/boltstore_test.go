package boltstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
)

const created = 1764028800000000000

var ctx = context.Background()

func open(t *testing.T, path string) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
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
		if v, err := s.NextMasterVersion(ctx, "st-marys", "recalls"); err != nil || v != want {
			t.Fatalf("version %d, %v; want %d", v, err, want)
		}
	}
	if v, _ := s.NextMasterVersion(ctx, "st-marys", "catalogue"); v != 1 {
		t.Fatalf("another set's first version %d, want 1", v)
	}
	if v, _ := s.NextMasterVersion(ctx, "st-johns", "recalls"); v != 1 {
		t.Fatalf("another site's first version %d, want 1", v)
	}
	_ = s.Close()
	s = open(t, path)
	if v, err := s.NextMasterVersion(ctx, "st-marys", "recalls"); err != nil || v != 4 {
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
	if _, err := ro.NextMasterVersion(ctx, "st-marys", "recalls"); err == nil {
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
