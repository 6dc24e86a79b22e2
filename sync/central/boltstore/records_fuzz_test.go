package boltstore

import (
	"bytes"
	"errors"
	"testing"

	"github.com/udi-edge/udi-edge/sync/central"
)

// FuzzStoredRecords reads any bytes as each record of the centre's
// store: a ledger key, a head, a branch record, an index entry and a
// batch value. Nothing panics; what is refused is an error wrapping
// ErrCorrupt (or, for an index entry, not ok); and what reads encodes
// again to the same bytes (a batch: its records to the same value).
func FuzzStoredRecords(f *testing.F) {
	var hash [central.HashSize]byte
	hash[0], hash[31] = 0x5a, 0xa5
	lk := ledgerKey("or3-gw", 1764000000000000000)
	recs := []central.Stored{{Record: []byte("movement one")}, {Record: []byte("movement two, longer")}, {Record: []byte("3")}}
	for _, s := range []struct {
		k, v []byte
	}{
		{lk, encodeHead(central.Head{Seq: 42, Hash: hash, Site: "h1"})},
		{branchKey("or3-gw", 1764000000000000000, 2), branchRecord{parent: 0, fork: 7, held: hash, hash: hash, at: 1765000000000000000}.encode()},
		{appendEntry(nil, "(01)09520123456788(21)S001", lk, 9), nil},
		{lk, appendBatch(nil, recs)},
		{lk, appendBatch(nil, recs[:1])},
	} {
		f.Add(s.k, s.v, uint64(1), uint8(len("(01)09520123456788(21)S001")))
		f.Add(s.k[:len(s.k)/2], s.v[:len(s.v)/2], uint64(40), uint8(0))
	}
	f.Fuzz(func(t *testing.T, k, v []byte, first uint64, keyLen uint8) {
		corrupt := func(what string, err error) {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s: error %v is not ErrCorrupt", what, err)
			}
		}
		gateway, created, branch, err := parseLedgerKey(k)
		if err != nil {
			corrupt("ledger key", err)
		} else if again := branchKey(gateway, created, branch); !bytes.Equal(again, k) {
			t.Fatalf("ledger key %q read as %q %d %d, written %q", k, gateway, created, branch, again)
		}
		if h, err := decodeHead("g", 1, v); err != nil {
			corrupt("head", err)
		} else if again := encodeHead(h); !bytes.Equal(again, v) {
			t.Fatalf("head %x written %x", v, again)
		}
		if r, err := decodeBranch(k, v); err != nil {
			corrupt("branch", err)
		} else if again := r.encode(); !bytes.Equal(again, v) {
			t.Fatalf("branch %x written %x", v, again)
		}
		if name, created, seq, ok := parseIndexKey(k, int(keyLen)); ok {
			key := string(k[:keyLen])
			if again := appendEntry(nil, key, branchKey(name, created, 0), seq); !bytes.Equal(again, k) {
				t.Fatalf("index entry %q read as %q %q %d %d, written %q", k, key, name, created, seq, again)
			}
		}
		if first == 0 || first > 1<<62 {
			first = 1
		}
		b, err := parseBatch(lk, first, v)
		if err != nil {
			corrupt("batch", err)
			return
		}
		var got []central.Stored
		for seq := b.First; seq <= b.Last(); seq++ {
			rec, err := b.record(seq)
			if err != nil {
				corrupt("batch record", err)
				return
			}
			got = append(got, central.Stored{Record: rec})
		}
		if err := b.check(); err != nil {
			corrupt("batch header", err)
			return
		}
		if again := appendBatch(nil, got); !bytes.Equal(again, v) {
			t.Fatalf("batch of %d records %x written %x", len(got), v, again)
		}
	})
}
