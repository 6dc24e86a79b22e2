package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// maxVerifyErrors bounds how many problems Verify collects.
const maxVerifyErrors = 20

// Verify checks the whole file: bbolt's own page consistency check; then
// every batch: its header is whole (checksum, count, record bounds), it
// starts right after the previous one (no gap, no overlap, the first at 1)
// and every record in it decodes and names the file's gateway; the last
// movement is the meta bucket's last_seq; the item index is whole (every
// block, run and merge in progress well formed) and holds exactly one
// entry per key of every movement, and nothing else; and, last, the
// hash chain (see VerifyChain), whose first break is one *ChainError among
// the problems. It returns nil, ctx's error, or the problems found joined
// (at most 20), each wrapping ErrCorrupt. On a writable ledger it holds the
// write lock while it runs, so submitted movements wait.
func (l *Ledger) Verify(ctx context.Context) error {
	_, err := l.VerifyAll(ctx)
	return err
}

// VerifyAll is Verify, and returns beside its problems the chain's summary
// as VerifyChain does, from the same single walk of the chain: the
// summary is whole when no *ChainError is among the problems.
func (l *Ledger) VerifyAll(ctx context.Context) (ChainSummary, error) {
	var sum ChainSummary
	if l.dbClosed.Load() {
		return sum, ErrClosed
	}
	// bbolt's check is safe beside a writer only inside a write transaction.
	tx, err := l.db.Begin(!l.readOnly)
	if err != nil {
		return sum, fmt.Errorf("bolt: verify: %w", err)
	}
	defer func() { _ = tx.Rollback() }()

	var errs []error
	add := func(err error) bool {
		errs = append(errs, err)
		return len(errs) < maxVerifyErrors
	}
	for cerr := range tx.Check() { // drained to the end: the checker stops only then
		if len(errs) < maxVerifyErrors {
			add(fmt.Errorf("bolt: page check: %w: %w", ErrCorrupt, cerr))
		}
	}
	if len(errs) >= maxVerifyErrors {
		return sum, errors.Join(errs...)
	}

	mb, meta := tx.Bucket(bucketMovements), tx.Bucket(bucketMeta)
	if mb == nil || meta == nil {
		return sum, corruptf(0, "meta or movements bucket missing")
	}
	var lastSeq uint64
	if v := meta.Get(metaLastSeq); len(v) == 8 {
		lastSeq = binary.BigEndian.Uint64(v)
	} else {
		add(corruptf(0, "meta last_seq has %d bytes, want 8", len(v)))
	}

	var (
		next    uint64 = 1 // where the next batch must start
		known          = true
		batches int
		seeds   = newEntrySeeds()
		want    entrySum // of the movements' index entries
		ik      []byte
	)
	c := mb.Cursor()
walk:
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if batches++; batches%256 == 0 {
			if err := ctx.Err(); err != nil {
				return sum, err
			}
		}
		if len(k) != 8 {
			if !add(corruptf(0, "movement key of %d bytes", len(k))) {
				break
			}
			known = false
			continue
		}
		first := binary.BigEndian.Uint64(k)
		switch {
		case !known:
		case first > next:
			if !add(corruptf(first, "sequence gap: movements %d to %d missing", next, first-1)) {
				break walk
			}
		case first < next:
			if !add(corruptf(first, "batch overlaps the previous one, which ends at %d", next-1)) {
				break walk
			}
		}
		b, err := parseBatch(first, v)
		if err == nil {
			err = b.check()
		}
		if err != nil {
			// Where the next batch should start is not known: take it
			// from its key.
			if !add(err) {
				break
			}
			known = false
			continue
		}
		next, known = b.Last()+1, true
		for i := range b.N {
			seq := first + uint64(i)
			rec, _ := b.Record(i) // in bounds: check passed
			m, err := decodeRecord(seq, rec)
			if err != nil {
				if !add(err) {
					break walk
				}
				continue
			}
			if m.Gateway != l.gateway {
				if !add(corruptf(seq, "gateway differs from the file's")) {
					break walk
				}
			}
			for _, key := range m.TraceKeys() {
				ik = appendIndexEntry(ik[:0], key, seq)
				want.add(seeds, ik)
			}
		}
	}
	if len(errs) >= maxVerifyErrors {
		return sum, errors.Join(errs...)
	}
	if known && next-1 != lastSeq {
		add(corruptf(0, "last movement %d but last_seq %d", next-1, lastSeq))
	}
	if len(errs) < maxVerifyErrors {
		for _, err := range l.verifyIndex(ctx, tx, seeds, want) {
			if !add(err) {
				break
			}
		}
	}
	if len(errs) < maxVerifyErrors {
		if sum, err = verifyChain(ctx, tx); err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return sum, cerr
			}
			add(err)
		}
	}
	return sum, errors.Join(errs...)
}

// verifyIndex checks the item index against want, the entries of the
// movements' keys: it must be well formed and hold exactly those. When it
// does not, a second pass looks up each movement's entries to name the
// movements whose entries are missing.
func (l *Ledger) verifyIndex(ctx context.Context, tx *bolt.Tx, seeds entrySeeds, want entrySum) []error {
	var got entrySum
	if ib := tx.Bucket(bucketItems); ib != nil {
		var prev []byte
		err := ib.ForEach(func(k, v []byte) error {
			if v == nil || len(v) != 0 || bytes.Compare(k, prev) <= 0 {
				return corruptf(0, "items bucket entry of %d bytes is not an index entry", len(k))
			}
			prev = k
			got.add(seeds, k)
			return nil
		})
		if err != nil {
			return []error{err}
		}
	}
	if tx.Bucket(bucketRuns) != nil {
		err := l.index(tx, nil).Check(func(e []byte) error {
			got.add(seeds, e)
			return nil
		})
		if err != nil {
			return []error{indexErr(err)}
		}
	}
	if got == want {
		return nil
	}
	// Damaged batches and records were reported by the first pass.
	var errs []error
	var ik []byte
	c := tx.Bucket(bucketMovements).Cursor()
walk:
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if err := ctx.Err(); err != nil {
			return []error{err}
		}
		b, err := nextBatch(k, v)
		if err != nil || b.check() != nil {
			continue
		}
		for i := range b.N {
			seq := b.First + uint64(i)
			rec, _ := b.Record(i)
			m, err := decodeRecord(seq, rec)
			if err != nil {
				continue
			}
			for _, key := range m.TraceKeys() {
				ik = appendIndexEntry(ik[:0], key, seq)
				found := false
				err := l.lookupIndex(tx, ik, func(e []byte) error {
					found = found || bytes.Equal(e, ik)
					return nil
				})
				if err != nil {
					errs = append(errs, err)
					break walk
				}
				if !found {
					if errs = append(errs, corruptf(seq, "index entry missing")); len(errs) >= maxVerifyErrors {
						break walk
					}
				}
			}
		}
	}
	if len(errs) == 0 {
		errs = append(errs, corruptf(0, "index holds %d entries for %d keys of movements, or other entries", got.n, want.n))
	}
	return errs
}
