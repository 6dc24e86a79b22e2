package record

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Batch values, version 1: the records of consecutive movements in one
// value, as the gateway's ledger (agent/bolt) and the central service's
// store (sync/central/boltstore) both keep them, each under the sequence
// number of its first movement. Each record keeps its own checksum, so
// damage is found, and named, per movement.
//
//	version  1 byte, BatchVersion
//	count    4 bytes big-endian, n ≥ 1: movements first … first+n-1
//	ends     n × 4 bytes big-endian: where record i ends, counted from the
//	         first byte of record 0; record i starts where record i-1 ends,
//	         record 0 at 0
//	crc      4 bytes, big-endian CRC-32C (Castagnoli) of version, count and ends
//	records  the n records, back to back
//
// The layout is fixed for version 1: a change is a new version byte.
const BatchVersion = 1

const (
	// BatchFixed is the size of a batch header without its ends.
	BatchFixed = 1 + 4 + CRCSize
	// BatchEntry is the size of one record's end in the header.
	BatchEntry = 4
	// MinSize is the size of the shortest record Decode and Check look
	// at; a batch's record is never shorter.
	MinSize = 2 + Tail
)

// BatchHeaderSize returns the size of the header of a batch of n records.
func BatchHeaderSize(n int) int { return BatchFixed + BatchEntry*n }

// AppendBatch appends the batch of n records (n ≥ 1), record i being
// rec(i), to dst.
func AppendBatch(dst []byte, n int, rec func(i int) []byte) []byte {
	start := len(dst)
	dst = append(dst, BatchVersion)
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	end := 0
	for i := range n {
		end += len(rec(i))
		dst = binary.BigEndian.AppendUint32(dst, uint32(end))
	}
	dst = binary.BigEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
	for i := range n {
		dst = append(dst, rec(i)...)
	}
	return dst
}

// BatchError reports a batch value whose header is damaged. First is the
// sequence number it is stored under. It wraps ErrCorrupt.
type BatchError struct {
	First  uint64
	Reason string
}

// Error implements error.
func (e *BatchError) Error() string {
	return fmt.Sprintf("record: batch at movement %d: %s", e.First, e.Reason)
}

// Unwrap returns ErrCorrupt.
func (e *BatchError) Unwrap() error { return ErrCorrupt }

func batchErr(first uint64, format string, args ...any) error {
	return &BatchError{First: first, Reason: fmt.Sprintf(format, args...)}
}

// Batch is a view of a batch value. It does not own its bytes (in a read
// transaction they are bbolt's memory map, valid until it ends).
type Batch struct {
	// First is the sequence number of record 0; N the number of records.
	First uint64
	N     int
	head  []byte // version, count and ends: what the header checksum covers
	sum   []byte // the header checksum
	recs  []byte // the records, back to back
}

// ParseBatch returns a view of the batch value v stored under first,
// after the checks that take constant time: the version, and that the
// count is not zero and its ends fit in v. It returns a *BatchError.
func ParseBatch(first uint64, v []byte) (Batch, error) {
	if len(v) < BatchFixed {
		return Batch{}, batchErr(first, "batch of %d bytes is too short", len(v))
	}
	if v[0] != BatchVersion {
		return Batch{}, batchErr(first, "batch version %d unknown", v[0])
	}
	n := uint64(binary.BigEndian.Uint32(v[1:5]))
	if n == 0 {
		return Batch{}, batchErr(first, "count is zero")
	}
	if n > uint64(len(v)-BatchFixed)/BatchEntry {
		return Batch{}, batchErr(first, "count %d does not fit in %d bytes", n, len(v))
	}
	if first == 0 || first+n-1 < first {
		return Batch{}, batchErr(first, "%d movements from %d overflow the sequence", n, first)
	}
	hdr := BatchHeaderSize(int(n))
	return Batch{First: first, N: int(n), head: v[:hdr-CRCSize], sum: v[hdr-CRCSize : hdr], recs: v[hdr:]}, nil
}

// Last returns the sequence number of the batch's last movement.
func (b *Batch) Last() uint64 { return b.First + uint64(b.N) - 1 }

// End returns where record i ends, counted from the start of record 0.
func (b *Batch) End(i int) uint64 {
	return uint64(binary.BigEndian.Uint32(b.head[5+BatchEntry*i:]))
}

// Check verifies the whole header: its checksum, that every record is at
// least MinSize bytes, and that the last one ends where the value does.
// It returns a *BatchError.
func (b *Batch) Check() error {
	if want, got := binary.BigEndian.Uint32(b.sum), crc32.Checksum(b.head, castagnoli); want != got {
		return batchErr(b.First, "checksum %08x, want %08x", got, want)
	}
	var start uint64
	for i := range b.N {
		end := b.End(i)
		if end < start+MinSize {
			return batchErr(b.First, "record %d of %d is %d bytes", i, b.N, int64(end)-int64(start))
		}
		start = end
	}
	if start != uint64(len(b.recs)) {
		return batchErr(b.First, "records end at %d, the batch at %d", start, len(b.recs))
	}
	return nil
}

// Record returns record i (0 ≤ i < N) in constant time. Its bounds are
// checked against the value, not against the header's checksum: a record
// that then fails to decode is put down to its header by Check.
func (b *Batch) Record(i int) ([]byte, bool) {
	var start uint64
	if i > 0 {
		start = b.End(i - 1)
	}
	end := b.End(i)
	if start > end || end > uint64(len(b.recs)) {
		return nil, false
	}
	return b.recs[start:end], true
}
