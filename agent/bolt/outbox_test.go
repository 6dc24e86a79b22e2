package bolt

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/udi-edge/udi-edge/agent/record"
)

// TestReadRecords reads records back across batch values, with count and
// byte bounds, and checks each against the hash chain and against Get.
func TestReadRecords(t *testing.T) {
	l := openTest(t, Options{MaxBatch: 7}) // several batch values
	ctx := context.Background()
	const n = 300
	for i := range n {
		if _, err := l.Append(ctx, movementN("ob", i)); err != nil {
			t.Fatal(err)
		}
	}
	if recs, err := l.ReadRecords(n+1, 10, 1<<20); err != nil || len(recs) != 0 {
		t.Fatalf("past the end: %d records, %v", len(recs), err)
	}
	if _, err := l.ReadRecords(0, 10, 1<<20); err == nil {
		t.Fatal("from 0: no error")
	}
	created := uint64(l.Created().UnixNano())
	prev := record.Genesis(testGateway, created)
	for from := uint64(1); from <= n; {
		recs, err := l.ReadRecords(from, 50, 4096)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 || len(recs) > 50 {
			t.Fatalf("from %d: %d records", from, len(recs))
		}
		size := 0
		for i, rec := range recs {
			seq := from + uint64(i)
			size += len(rec)
			p, h, err := record.Check(seq, rec)
			if err != nil {
				t.Fatalf("record %d: %v", seq, err)
			}
			if p != prev {
				t.Fatalf("record %d does not link to %d", seq, seq-1)
			}
			prev = h
			m, err := record.Decode(seq, rec)
			if err != nil {
				t.Fatal(err)
			}
			want, err := l.Get(seq)
			if err != nil {
				t.Fatal(err)
			}
			if m.Item != want.Item || m.Kind != want.Kind || !bytes.Equal(m.Hash, want.Hash) {
				t.Fatalf("record %d: %s %s, Get has %s %s", seq, m.Kind, m.Item, want.Kind, want.Item)
			}
		}
		if len(recs) > 1 && size > 4096 {
			t.Fatalf("from %d: %d bytes over the 4096 asked", from, size)
		}
		from += uint64(len(recs))
	}
}

// TestSyncCursor checks that the cursor survives a reopen, never goes
// back and never passes the last movement.
func TestSyncCursor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l.db")
	l, err := Open(Options{Path: path, Gateway: testGateway})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := l.SyncCursor(); err != nil || c != 0 {
		t.Fatalf("new ledger cursor %d, %v", c, err)
	}
	for i := range 10 {
		if _, err := l.Append(context.Background(), movementN("c", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.SetSyncCursor(11); err == nil {
		t.Fatal("cursor past the last movement accepted")
	}
	if err := l.SetSyncCursor(7); err != nil {
		t.Fatal(err)
	}
	if err := l.SetSyncCursor(3); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := ro.SyncCursor(); err != nil || c != 7 {
		t.Fatalf("read-only cursor %d, %v; want 7", c, err)
	}
	if err := ro.SetSyncCursor(8); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("read-only SetSyncCursor: %v", err)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	l = openTest(t, Options{Path: path})
	if c, err := l.SyncCursor(); err != nil || c != 7 {
		t.Fatalf("after reopen cursor %d, %v; want 7", c, err)
	}
}

// TestChanged checks that a waiter on Changed is woken by the next
// commit, and not before.
func TestChanged(t *testing.T) {
	l := openTest(t, Options{})
	ch := l.Changed()
	select {
	case <-ch:
		t.Fatal("Changed closed before any commit")
	default:
	}
	if _, err := l.Append(context.Background(), movementN("w", 0)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("Changed not closed after a commit")
	}
	if l.Changed() == ch {
		t.Fatal("the same closed channel handed out again")
	}
}

// Verify finds a sync cursor past the last movement (a damaged value).
func TestVerifySyncCursorBeyondLedger(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	appendN(t, path, 0, 3)
	l, err := Open(Options{Path: path, Gateway: testGateway})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SetSyncCursor(2); err != nil {
		t.Fatal(err)
	}
	l.Close()
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSync).Put(syncCursor, seqKey(1<<40+2))
	})
	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.Verify(context.Background()); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "sync cursor") {
		t.Errorf("Verify = %v, want the sync cursor named", err)
	}
}
