package boltstore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"

	bolt "go.etcd.io/bbolt"

	"github.com/udi-edge/udi-edge/sync/central"
)

// Batch values, version 1. The movements bucket holds each ledger's
// records in values of consecutive movements, stored under the ledger key
// and the 8-byte big-endian sequence number of the first of them:
//
//	version  1 byte, batchVersion
//	count    4 bytes big-endian, n ≥ 1: the value holds movements first … first+n-1
//	ends     n × 4 bytes big-endian: where record i ends, counted from the
//	         first byte of record 0; record i starts where record i-1 ends
//	crc      4 bytes big-endian CRC-32C (Castagnoli) of version, count and ends
//	records  the n records back to back, as received (agent/record
//	         encoding, each with its own checksum)
//
// The gateway's ledger (agent/bolt) stores its movements the same way.
// Values are never rewritten: an append of movements first … last puts
// new values for them, so the values of a ledger cover 1 … head.Seq
// without overlap, each starting where the one before it ends.
const batchVersion = 1

const (
	// batchFixed is the size of a batch value's header without its ends.
	batchFixed = 1 + 4 + 4
	// batchEntry is the size of one record's end in the header.
	batchEntry = 4
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
	n := batchFixed + batchEntry*len(recs)
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
	start := len(dst)
	dst = append(dst, batchVersion)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(recs)))
	end := 0
	for i := range recs {
		end += len(recs[i].Record)
		dst = binary.BigEndian.AppendUint32(dst, uint32(end))
	}
	dst = binary.BigEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
	for i := range recs {
		dst = append(dst, recs[i].Record...)
	}
	return dst
}

// batch is a view of a batch value. Its bytes are bbolt's: valid until
// the transaction ends.
type batch struct {
	first uint64 // sequence number of record 0
	n     int
	head  []byte // version, count and ends: what the checksum covers
	sum   []byte
	recs  []byte
}

// parseBatch returns a view of the batch value v stored under first, after
// the checks that take constant time. A failure wraps ErrCorrupt.
func parseBatch(lk []byte, first uint64, v []byte) (batch, error) {
	bad := func(format string, args ...any) (batch, error) {
		return batch{}, fmt.Errorf("%w: batch value of ledger %x at movement %d: %s", ErrCorrupt, lk, first, fmt.Sprintf(format, args...))
	}
	if len(v) < batchFixed+batchEntry {
		return bad("%d bytes is too short", len(v))
	}
	if v[0] != batchVersion {
		return bad("version %d unknown", v[0])
	}
	n := uint64(binary.BigEndian.Uint32(v[1:5]))
	if n == 0 || n > uint64(len(v)-batchFixed)/batchEntry {
		return bad("count %d does not fit in %d bytes", n, len(v))
	}
	if first == 0 || first+n-1 < first {
		return bad("%d movements overflow the sequence", n)
	}
	hdr := 1 + 4 + batchEntry*int(n)
	return batch{first: first, n: int(n), head: v[:hdr], sum: v[hdr : hdr+4], recs: v[hdr+4:]}, nil
}

// last returns the sequence number of the value's last movement.
func (b *batch) last() uint64 { return b.first + uint64(b.n) - 1 }

func (b *batch) end(i int) uint64 { return uint64(binary.BigEndian.Uint32(b.head[5+batchEntry*i:])) }

// check verifies the whole header: its checksum, that the ends do not go
// back, and that the last record ends where the value does.
func (b *batch) check() error {
	if want, got := binary.BigEndian.Uint32(b.sum), crc32.Checksum(b.head, castagnoli); want != got {
		return fmt.Errorf("%w: batch value at movement %d: header checksum %08x, want %08x", ErrCorrupt, b.first, got, want)
	}
	var start uint64
	for i := range b.n {
		end := b.end(i)
		if end <= start {
			return fmt.Errorf("%w: batch value at movement %d: record %d of %d is empty", ErrCorrupt, b.first, i, b.n)
		}
		start = end
	}
	if start != uint64(len(b.recs)) {
		return fmt.Errorf("%w: batch value at movement %d: records end at %d, the value at %d", ErrCorrupt, b.first, start, len(b.recs))
	}
	return nil
}

// record returns the record of movement seq, which the value holds, in
// constant time; its bounds are checked against the value and, when they
// are off, the header is checked to name the damage.
func (b *batch) record(seq uint64) ([]byte, error) {
	i := int(seq - b.first)
	var start uint64
	if i > 0 {
		start = b.end(i - 1)
	}
	end := b.end(i)
	if start >= end || end > uint64(len(b.recs)) {
		if err := b.check(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: batch value at movement %d: movement %d out of bounds", ErrCorrupt, b.first, seq)
	}
	return b.recs[start:end], nil
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
	return b, seq >= b.first && seq <= b.last(), nil
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
	if !r.ok || seq < r.cur.first || seq > r.cur.last() {
		if r.cur, r.ok, err = findBatch(r.c, r.lk, seq); err != nil || !r.ok {
			return nil, false, err
		}
	}
	rec, err = r.cur.record(seq)
	return rec, err == nil, err
}
