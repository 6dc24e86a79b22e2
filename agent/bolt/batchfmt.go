package bolt

import (
	"encoding/binary"
	"hash/crc32"

	"github.com/udi-edge/udi-edge/agent"
)

// Batch encoding, version 1. A batch is one value of the movements bucket:
// the records of consecutive movements, stored under the 8-byte big-endian
// sequence number of the first of them. Each record is encoded and
// checksummed on its own (see record.go), so damage is found, and named,
// per movement.
//
//	version  1 byte, batchVersion
//	count    4 bytes big-endian, n ≥ 1: the batch holds movements first … first+n-1
//	ends     n × 4 bytes big-endian: where record i ends, counted from the
//	         first byte of record 0; record i starts where record i-1 ends,
//	         record 0 at 0
//	crc      4 bytes, big-endian CRC-32C (Castagnoli) of version, count and ends
//	records  the n records, back to back
//
// The layout is fixed for version 1: a change is a new version byte.
const batchVersion = 1

const (
	// batchFixed is the size of the header of a batch without its ends.
	batchFixed = 1 + 4 + crcSize
	// batchEntry is the size of one record's end in the header.
	batchEntry = 4
	// minRecordSize is the size of the shortest record decodeRecord
	// accepts, or less: version, kind code, zone tag, twelve empty
	// strings, the two hashes and the checksum.
	minRecordSize = 3 + 12 + recordTail
)

// batchHeaderSize returns the size of the header of a batch of n records.
func batchHeaderSize(n int) int { return batchFixed + batchEntry*n }

// batchValueSize returns the value size bbolt packs best for a page size:
// two values of this size and their keys fill a whole number of pages, at
// least 16 KiB, exactly. A leaf of the movements bucket always holds at
// least two values, and every commit rewrites the last leaf with the values
// in it, so values must stay small next to a transaction; they must not be
// much smaller than a page either, or the keys and page headers add up.
func batchValueSize(pageSize int) int {
	const leafHeader, leafElement, keySize = 16, 16, 8
	leaf := max(pageSize, 16<<10/pageSize*pageSize)
	return (leaf-leafHeader)/2 - leafElement - keySize
}

// appendBatch appends the batch of recs (at least one record) to dst.
func appendBatch(dst []byte, recs [][]byte) []byte {
	start := len(dst)
	dst = append(dst, batchVersion)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(recs)))
	end := 0
	for _, r := range recs {
		end += len(r)
		dst = binary.BigEndian.AppendUint32(dst, uint32(end))
	}
	dst = binary.BigEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
	for _, r := range recs {
		dst = append(dst, r...)
	}
	return dst
}

// batch is a view of a batch value. It does not own its bytes: in a read
// transaction they are bbolt's memory map, valid until the transaction
// ends.
type batch struct {
	first uint64 // sequence number of record 0
	n     int    // records
	head  []byte // version, count and ends: what the header checksum covers
	sum   []byte // the header checksum
	recs  []byte // the records, back to back
}

// headerCorrupt returns a *CorruptError naming the batch's first movement.
func headerCorrupt(first uint64, format string, args ...any) error {
	return corruptf(first, "header of the batch it starts: "+format, args...)
}

// parseBatch returns a view of the batch stored under first, after the
// checks that take constant time: the version, and that the count is not
// zero and its ends fit in v. It returns a *CorruptError naming first.
func parseBatch(first uint64, v []byte) (batch, error) {
	if len(v) < batchFixed {
		return batch{}, headerCorrupt(first, "batch of %d bytes is too short", len(v))
	}
	if v[0] != batchVersion {
		return batch{}, headerCorrupt(first, "batch version %d unknown", v[0])
	}
	n := uint64(binary.BigEndian.Uint32(v[1:5]))
	if n == 0 {
		return batch{}, headerCorrupt(first, "count is zero")
	}
	if n > uint64(len(v)-batchFixed)/batchEntry {
		return batch{}, headerCorrupt(first, "count %d does not fit in %d bytes", n, len(v))
	}
	if first == 0 || first+n-1 < first {
		return batch{}, headerCorrupt(first, "%d movements from %d overflow the sequence", n, first)
	}
	hdr := batchHeaderSize(int(n))
	return batch{
		first: first,
		n:     int(n),
		head:  v[:hdr-crcSize],
		sum:   v[hdr-crcSize : hdr],
		recs:  v[hdr:],
	}, nil
}

// last returns the sequence number of the batch's last movement.
func (b *batch) last() uint64 { return b.first + uint64(b.n) - 1 }

// end returns where record i ends.
func (b *batch) end(i int) uint64 {
	return uint64(binary.BigEndian.Uint32(b.head[5+batchEntry*i:]))
}

// check verifies the whole header: its checksum, that every record ends
// no earlier than it starts and no shorter than a record can be, and that
// the last one ends where the value does. It returns a *CorruptError naming
// the batch's first movement.
func (b *batch) check() error {
	if want, got := binary.BigEndian.Uint32(b.sum), crc32.Checksum(b.head, castagnoli); want != got {
		return headerCorrupt(b.first, "checksum %08x, want %08x", got, want)
	}
	var start uint64
	for i := range b.n {
		end := b.end(i)
		if end < start+minRecordSize {
			return headerCorrupt(b.first, "record %d of %d is %d bytes", i, b.n, int64(end)-int64(start))
		}
		start = end
	}
	if start != uint64(len(b.recs)) {
		return headerCorrupt(b.first, "records end at %d, the batch at %d", start, len(b.recs))
	}
	return nil
}

// record returns record i (0 ≤ i < b.n) in constant time. Its bounds are
// checked against the value, not against the header's checksum: a record
// that then fails to decode is put down to its header by check.
func (b *batch) record(i int) ([]byte, bool) {
	var start uint64
	if i > 0 {
		start = b.end(i - 1)
	}
	end := b.end(i)
	if start > end || end > uint64(len(b.recs)) {
		return nil, false
	}
	return b.recs[start:end], true
}

// movement decodes the movement with sequence number seq, which the batch
// holds. A record that does not decode is reported naming seq, unless the
// header is damaged, which is reported naming the batch's first movement.
func (b *batch) movement(seq uint64) (agent.Movement, error) {
	rec, ok := b.record(int(seq - b.first))
	if !ok {
		if err := b.check(); err != nil {
			return agent.Movement{}, err
		}
		return agent.Movement{}, headerCorrupt(b.first, "record %d out of bounds", seq-b.first)
	}
	m, err := decodeRecord(seq, rec)
	if err != nil {
		if herr := b.check(); herr != nil {
			return agent.Movement{}, herr
		}
	}
	return m, err
}

// decodeBatch checks the batch stored under first and decodes every
// movement in it, or returns the first *CorruptError.
func decodeBatch(first uint64, v []byte) ([]agent.Movement, error) {
	b, err := parseBatch(first, v)
	if err == nil {
		err = b.check()
	}
	if err != nil {
		return nil, err
	}
	out := make([]agent.Movement, 0, b.n)
	for i := range b.n {
		rec, _ := b.record(i) // in bounds: check passed
		m, err := decodeRecord(first+uint64(i), rec)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
