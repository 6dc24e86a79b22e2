package bolt

import (
	"errors"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/record"
)

// Batches: the movements bucket holds the records of consecutive
// movements in one value, stored under the 8-byte big-endian sequence
// number of the first of them, in agent/record's batch format
// (record.AppendBatch, record.ParseBatch).

const (
	batchVersion  = record.BatchVersion
	batchFixed    = record.BatchFixed
	batchEntry    = record.BatchEntry
	minRecordSize = record.MinSize
)

// batchHeaderSize returns the size of the header of a batch of n records.
func batchHeaderSize(n int) int { return record.BatchHeaderSize(n) }

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
	return record.AppendBatch(dst, len(recs), func(i int) []byte { return recs[i] })
}

// batch is a view of a batch value whose errors are the ledger's.
type batch struct{ record.Batch }

// headerCorrupt returns a *CorruptError naming the batch's first movement.
func headerCorrupt(first uint64, format string, args ...any) error {
	return corruptf(first, "header of the batch it starts: "+format, args...)
}

// batchCorrupt turns agent/record's batch error into a *CorruptError.
func batchCorrupt(err error) error {
	var be *record.BatchError
	if errors.As(err, &be) {
		return headerCorrupt(be.First, "%s", be.Reason)
	}
	return err
}

// parseBatch returns a view of the batch stored under first, after the
// checks that take constant time (record.ParseBatch). It returns a
// *CorruptError naming first.
func parseBatch(first uint64, v []byte) (batch, error) {
	b, err := record.ParseBatch(first, v)
	return batch{b}, batchCorrupt(err)
}

// check verifies the whole header (record.Batch.Check). It returns a
// *CorruptError naming the batch's first movement.
func (b *batch) check() error { return batchCorrupt(b.Check()) }

// movement decodes the movement with sequence number seq, which the batch
// holds. A record that does not decode is reported naming seq, unless the
// header is damaged, which is reported naming the batch's first movement.
func (b *batch) movement(seq uint64) (agent.Movement, error) {
	rec, ok := b.Record(int(seq - b.First))
	if !ok {
		if err := b.check(); err != nil {
			return agent.Movement{}, err
		}
		return agent.Movement{}, headerCorrupt(b.First, "record %d out of bounds", seq-b.First)
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
	out := make([]agent.Movement, 0, b.N)
	for i := range b.N {
		rec, _ := b.Record(i) // in bounds: check passed
		m, err := decodeRecord(first+uint64(i), rec)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
