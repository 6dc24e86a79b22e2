package boltstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	bolt "go.etcd.io/bbolt"

	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/central"
)

// Batch values: the movements bucket holds each ledger's records in values
// of consecutive movements, stored under the ledger key and the 8-byte
// big-endian sequence number of the first of them, in agent/record's batch
// format, as the gateway's ledger (agent/bolt) keeps them. Values are
// never rewritten: an append of movements first … last puts new values
// for them, so the values of a ledger cover 1 … head.Seq without overlap,
// each starting where the one before it ends.

const (
	batchFixed = record.BatchFixed
	batchEntry = record.BatchEntry
	// valueTarget is the most bytes a batch value or an index block holds
	// unless a single record or entry is larger: two such values and their
	// keys fill four 4 KiB pages, the least bbolt writes for a leaf of two
	// (it puts at least two values in a leaf, and every commit rewrites the
	// last leaf of the bucket), so a value's pages are written about once.
	valueTarget = 8000
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// batchSize returns the size of the batch value of recs.
func batchSize(recs []central.Stored) int {
	n := record.BatchHeaderSize(len(recs))
	for i := range recs {
		n += len(recs[i].Record)
	}
	return n
}

// splitBatches calls fn with recs cut into runs that each make a batch
// value of at most valueTarget bytes (or one record, when it alone is
// larger), in order.
func splitBatches(recs []central.Stored, fn func(part []central.Stored) error) error {
	for len(recs) > 0 {
		n, size := 1, batchFixed+batchEntry+len(recs[0].Record)
		for n < len(recs) && size+batchEntry+len(recs[n].Record) <= valueTarget {
			size += batchEntry + len(recs[n].Record)
			n++
		}
		if err := fn(recs[:n]); err != nil {
			return err
		}
		recs = recs[n:]
	}
	return nil
}

// appendBatch appends the batch value of recs (at least one) to dst.
func appendBatch(dst []byte, recs []central.Stored) []byte {
	return record.AppendBatch(dst, len(recs), func(i int) []byte { return recs[i].Record })
}

// batch is a view of a batch value whose errors name its ledger. Its
// bytes are bbolt's: valid until the transaction ends.
type batch struct {
	record.Batch
	lk []byte
}

// corrupt turns agent/record's batch error into one wrapping ErrCorrupt
// that names the ledger.
func (b *batch) corrupt(err error) error {
	var be *record.BatchError
	if errors.As(err, &be) {
		return fmt.Errorf("%w: batch value of ledger %x at movement %d: %s", ErrCorrupt, b.lk, be.First, be.Reason)
	}
	return err
}

// parseBatch returns a view of the batch value v of ledger lk stored under
// first, after the checks that take constant time. A failure wraps
// ErrCorrupt.
func parseBatch(lk []byte, first uint64, v []byte) (batch, error) {
	rb, err := record.ParseBatch(first, v)
	b := batch{rb, lk}
	return b, b.corrupt(err)
}

// check verifies the whole header (record.Batch.Check); a failure wraps
// ErrCorrupt.
func (b *batch) check() error { return b.corrupt(b.Check()) }

// record returns the record of movement seq, which the value holds, in
// constant time; its bounds are checked against the value and, when they
// are off, the header is checked to name the damage.
func (b *batch) record(seq uint64) ([]byte, error) {
	rec, ok := b.Record(int(seq - b.First))
	if !ok {
		if err := b.check(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: batch value at movement %d: movement %d out of bounds", ErrCorrupt, b.First, seq)
	}
	return rec, nil
}

// findBatch positions c, a cursor of the movements bucket, on the batch
// value of ledger lk that holds movement seq: the one stored under seq, or
// else the one before it, and checks its header. ok is false when no value
// of the ledger starts at or before seq, or the one that does ends before
// it.
func findBatch(c *bolt.Cursor, lk []byte, seq uint64) (b batch, ok bool, err error) {
	want := movementKey(lk, seq)
	k, v := c.Seek(want)
	switch {
	case k == nil:
		k, v = c.Last()
	case !bytes.Equal(k, want):
		k, v = c.Prev()
	}
	if !isMovementKey(k, lk) {
		return batch{}, false, nil
	}
	if b, err = parseBatch(lk, binary.BigEndian.Uint64(k[len(lk):]), v); err == nil {
		err = b.check()
	}
	if err != nil {
		return batch{}, false, err
	}
	return b, seq >= b.First && seq <= b.Last(), nil
}

// isMovementKey reports whether k is the key of a batch value of ledger lk.
func isMovementKey(k, lk []byte) bool {
	return len(k) == len(lk)+8 && bytes.HasPrefix(k, lk)
}

// batchReader reads records of one ledger, keeping the last value found,
// so that reading consecutive movements seeks once per value.
type batchReader struct {
	c   *bolt.Cursor
	lk  []byte
	cur batch
	ok  bool
}

func newBatchReader(tx *bolt.Tx, lk []byte) *batchReader {
	return &batchReader{c: tx.Bucket(bucketMovements).Cursor(), lk: lk}
}

// get returns the record of movement seq; ok is false when the ledger
// holds no value with it.
func (r *batchReader) get(seq uint64) (rec []byte, ok bool, err error) {
	if !r.ok || seq < r.cur.First || seq > r.cur.Last() {
		if r.cur, r.ok, err = findBatch(r.c, r.lk, seq); err != nil || !r.ok {
			return nil, false, err
		}
	}
	rec, err = r.cur.record(seq)
	return rec, err == nil, err
}
