package bolt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/maphash"

	bolt "go.etcd.io/bbolt"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/runindex"
)

// The item index has one entry per key of a movement (Movement.TraceKeys:
// its item, and the tag it names when that differs):
//
//	item key 0x00 seq(8)
//
// Since format 4 the entries are kept by agent/runindex, a log-structured
// merge of sorted runs in the buckets "runs" and "index" (state in the
// meta bucket under "run" and "merge"): each transaction writes its
// entries, sorted, as a new run of packed blocks, a few puts where a
// B+tree took one put (a cursor seek and a node update) per entry, and a
// trace seeks its key in each run. A file upgraded from format 3 keeps its
// B+tree of one key per entry, the bucket "items", as a frozen part of the
// index: a trace reads it too, nothing is written to it any more.

// indexConfig sizes the index's blocks (0: the batch value size of the
// file's pages) and merges: merges done in one go stay under about half a
// megabyte, and a transaction of a single movement steps a large merge by
// a few blocks only, so that no commit at a slow scan rate writes much
// more than its movements. The tests make them small.
var indexConfig = runindex.Config{Small: 1 << 13, MinStep: 256}

// index returns the item index of a format 4 file in tx; a is nil in
// read transactions.
func (l *Ledger) index(tx *bolt.Tx, a *runindex.Arena) *runindex.Index {
	return indexIn(tx, l.batchSize, a)
}

// indexIn returns the item index in tx with blocks of about block bytes
// (unless indexConfig sets them).
func indexIn(tx *bolt.Tx, block int, a *runindex.Arena) *runindex.Index {
	return runindex.In(tx.Bucket(bucketMeta), tx.Bucket(bucketRuns), tx.Bucket(bucketIndex), indexConfigFor(block), a)
}

// indexConfigFor is indexConfig with blocks of about block bytes unless
// it sets them.
func indexConfigFor(block int) runindex.Config {
	cfg := indexConfig
	if cfg.Block == 0 {
		cfg.Block = block
	}
	return cfg
}

// indexErr makes an error of agent/runindex about damaged index data a
// *CorruptError.
func indexErr(err error) error {
	if errors.Is(err, runindex.ErrCorrupt) {
		return corruptf(0, "item index: %v", err)
	}
	return err
}

// mergeBlocked is write's error when adding to the item index met damage
// (most likely in a run a merge had to read): flush tries the same
// transaction again without merging.
type mergeBlocked struct{ err error }

func (e *mergeBlocked) Error() string { return "bolt: item index merge blocked: " + e.err.Error() }
func (e *mergeBlocked) Unwrap() error { return e.err }

// lookupIndex calls fn with every index entry that starts with prefix:
// those of a format 3 file's items bucket, when there is one, and those
// of the runs, in no order. The entry is bbolt's memory, valid during the
// call.
func (l *Ledger) lookupIndex(tx *bolt.Tx, prefix []byte, fn func(e []byte) error) error {
	if ib := tx.Bucket(bucketItems); ib != nil {
		c := ib.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if err := fn(k); err != nil {
				return err
			}
		}
	}
	if tx.Bucket(bucketRuns) == nil { // a format 3 file opened read-only
		return nil
	}
	return indexErr(l.index(tx, nil).Lookup(prefix, fn))
}

// appendIndexEntry appends the index entry of key for movement seq to dst.
func appendIndexEntry(dst []byte, key string, seq uint64) []byte {
	dst = append(dst, key...)
	dst = append(dst, 0)
	return binary.BigEndian.AppendUint64(dst, seq)
}

// indexEntries appends the index entries of m, movement seq, to entries,
// each in its own slice of a.
func indexEntries(entries [][]byte, m *agent.Movement, seq uint64, a *runindex.Arena) [][]byte {
	for _, key := range m.TraceKeys() {
		entries = append(entries, appendIndexEntry(a.Alloc(len(key)+9), key, seq))
	}
	return entries
}

// indexSeq returns the sequence number of an index entry at least
// minLen+8 bytes long (item key, 0x00, seq).
func indexSeq(k []byte, minLen int) (uint64, error) {
	if len(k) < minLen+8 || k[len(k)-9] != 0 {
		return 0, corruptf(0, "malformed index entry of %d bytes", len(k))
	}
	return binary.BigEndian.Uint64(k[len(k)-8:]), nil
}

// entrySum is an order-independent digest of a multiset of index
// entries: their number and two sums of seeded hashes, so that Verify can
// compare the index with the movements' keys without holding either.
type entrySum struct {
	n      uint64
	s1, s2 uint64
}

// entrySeeds are the seeds of one comparison of entrySums.
type entrySeeds struct{ a, b maphash.Seed }

func newEntrySeeds() entrySeeds { return entrySeeds{maphash.MakeSeed(), maphash.MakeSeed()} }

func (s *entrySum) add(seeds entrySeeds, e []byte) {
	s.n++
	s.s1 += maphash.Bytes(seeds.a, e)
	s.s2 += maphash.Bytes(seeds.b, e)
}
