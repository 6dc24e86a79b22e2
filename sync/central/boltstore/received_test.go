package boltstore_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/udi-edge/udi-edge/sync/central/boltstore"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
	"github.com/udi-edge/udi-edge/sync/central/storetest"
)

// TestFormat3IsUpgraded: a file of format 3 (before the index of
// received products) opened read-only answers ReceivedProducts in full,
// from its movements, and is left as it is; opened for writing, it is
// brought to the current format, the index built once in the same
// transaction: an entry added to the index afterwards survives the next
// open, which builds nothing again.
func TestFormat3IsUpgraded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "central.db")
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l, want := storetest.ReceivesLedger(t)
	storetest.MustAppend(t, s, l, 1, 4)
	if err := s.RawUpdate(asFormat3); err != nil {
		t.Fatal(err)
	}
	s.Close()
	format := func(s *boltstore.Store) (f uint64, index bool) {
		_ = s.RawView(func(tx *bolt.Tx) error {
			f, index = binary.BigEndian.Uint64(tx.Bucket([]byte("meta")).Get([]byte("format"))), tx.Bucket([]byte("received")) != nil
			return nil
		})
		return f, index
	}

	ro, err := boltstore.OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ro.ReceivedProducts(ctx, "st-marys"); err != nil || !slices.Equal(got, want) {
		t.Fatalf("read-only, format 3: %q, %v; want %q", got, err, want)
	}
	if got, err := ro.ReceivedProducts(ctx, "north"); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("read-only, format 3, another site: %q, %v; want none", got, err)
	}
	if f, index := format(ro); f != 3 || index {
		t.Fatalf("a read-only open changed the file: format %d, index %v", f, index)
	}
	ro.Close()

	s, err = boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if f, index := format(s); f != boltstore.Format || !index {
		t.Fatalf("after an open for writing: format %d, index %v; want %d with the index", f, index, boltstore.Format)
	}
	if got, err := s.ReceivedProducts(ctx, "st-marys"); err != nil || !slices.Equal(got, want) {
		t.Fatalf("upgraded: %q, %v; want %q", got, err, want)
	}
	if err := s.Verify(ctx); err != nil {
		t.Fatal(err)
	}
	// Built once: what the index holds is not built again on opening.
	mark := func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("received")).Put([]byte("st-marys\x00MARK"), []byte{})
	}
	if err := s.RawUpdate(mark); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, path)
	if got, err := s.ReceivedProducts(ctx, "st-marys"); err != nil || !slices.Contains(got, "MARK") {
		t.Fatalf("the index was built again on a second open: %q, %v", got, err)
	}
	if err := s.RawUpdate(func(tx *bolt.Tx) error { return tx.Bucket([]byte("received")).Delete([]byte("st-marys\x00MARK")) }); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyReceivedIndex: Verify finds an index of received products
// that lacks a product received, or holds one no movement received.
func TestVerifyReceivedIndex(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "central.db"))
	l, _ := storetest.ReceivesLedger(t)
	storetest.MustAppend(t, s, l, 1, 4)
	if err := s.Verify(ctx); err != nil {
		t.Fatal(err)
	}
	key := func(site, product string) []byte { return []byte(site + "\x00" + product) }
	for _, c := range []struct {
		name string
		key  []byte
	}{
		{"a product missing", key("st-marys", "06901234567892")},
		{"a product used, not received", key("st-marys", "06900000000001")},
		{"a product of another site", key("north", "06901234567892")},
	} {
		// flip deletes the key when the index holds it, else puts it.
		flip := func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte("received"))
			if k, _ := b.Cursor().Seek(c.key); bytes.Equal(k, c.key) {
				return b.Delete(c.key)
			}
			return b.Put(c.key, []byte{})
		}
		if err := s.RawUpdate(flip); err != nil {
			t.Fatal(err)
		}
		if err := s.Verify(ctx); !errors.Is(err, boltstore.ErrCorrupt) {
			t.Errorf("%s: Verify says %v, want ErrCorrupt", c.name, err)
		}
		if err := s.RawUpdate(flip); err != nil {
			t.Fatal(err)
		}
	}
}

// TestVerifyDamagedPageReference: a bit flipped in a branch page's
// reference to its child (the flips campaign's byte 8383) makes bbolt
// panic as it follows it; Verify reports the file corrupt instead.
func TestVerifyDamagedPageReference(t *testing.T) {
	path, branches := damagedStore(t)
	// bbolt opens the file (it reads its meta pages only): the damage is
	// met by what reads through the branch pages.
	ro, err := boltstore.OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer ro.Close()
	if err := ro.Verify(ctx); !errors.Is(err, boltstore.ErrCorrupt) {
		t.Fatalf("Verify of a file with %d damaged page references: %v, want ErrCorrupt", branches, err)
	}
}

// TestServiceOnDamagedPages: the running service's store, opened for
// writing on a file whose page references are damaged, answers each read
// and write that meets the damage with ErrCorrupt, never a panic (which
// would restart the service into the same read for ever), and goes on
// answering what the damage does not reach.
func TestServiceOnDamagedPages(t *testing.T) {
	path, _ := damagedStore(t)
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	l := testkit.NewLedger("st-marys", "or-3", created)
	l.AddN(t, 3100)
	corrupt := 0
	check := func(what string, err error) {
		t.Helper()
		switch {
		case errors.Is(err, boltstore.ErrCorrupt):
			corrupt++
		case err != nil:
			t.Errorf("%s: %v, want nil or ErrCorrupt", what, err)
		}
	}
	_, err = s.Ledgers(ctx)
	check("Ledgers", err)
	_, err = s.Head(ctx, l.Gateway, l.Created)
	check("Head", err)
	for i := range 20 {
		_, err = s.Trace(ctx, l.Movements[i*150].Item)
		check("Trace", err)
	}
	_, _, err = s.Append(ctx, l.Site, l.Gateway, l.Created, storetest.Stored(t, l, 3001, 3100))
	check("Append", err)
	_, err = s.ReceivedProducts(ctx, l.Site)
	check("ReceivedProducts", err)
	if corrupt == 0 {
		t.Fatal("no call met the damage: the test damaged nothing the store reads")
	}
	if _, err := s.NextMasterVersion(ctx, "st-marys", "catalogue", 1); err != nil {
		t.Errorf("a read the damage does not reach: %v", err)
	}
}

// damagedStore writes a store of 3,000 movements and flips a bit in the
// first child reference of every branch page, so that bbolt meets a page
// id beyond the file; it returns the file and how many references it
// damaged.
func damagedStore(t *testing.T) (string, int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "central.db")
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	l := testkit.NewLedger("st-marys", "or-3", created)
	l.AddN(t, 3000)
	storetest.MustAppend(t, s, l, 1, 3000)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const pageSize = 4096
	// Every branch page (flag 0x01) gets the top byte of its first
	// child's page id flipped: an id far beyond the file.
	branches := 0
	for off := 2 * pageSize; off+pageSize <= len(data); off += pageSize {
		if binary.LittleEndian.Uint16(data[off+8:]) == 0x01 && binary.LittleEndian.Uint16(data[off+10:]) > 0 {
			data[off+16+8+7] ^= 0x01
			branches++
		}
	}
	if branches == 0 {
		t.Fatal("no branch page in the file: the test needs more movements")
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, branches
}
