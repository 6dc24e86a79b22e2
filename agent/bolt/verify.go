package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
)

// maxVerifyErrors bounds how many problems Verify collects.
const maxVerifyErrors = 20

// Verify checks the whole file: bbolt's own page consistency check, then
// every record decodes, sequence numbers run from 1 to LastSeq without a
// gap, every movement with an item key has its index entry and every index
// entry points at a movement of that item. It returns nil, ctx's error, or
// the problems found joined, each wrapping ErrCorrupt. On a writable ledger
// it holds the write lock while it runs, so submitted movements wait.
func (l *Ledger) Verify(ctx context.Context) error {
	if l.dbClosed.Load() {
		return ErrClosed
	}
	// bbolt's check is safe beside a writer only inside a write transaction.
	tx, err := l.db.Begin(!l.readOnly)
	if err != nil {
		return fmt.Errorf("bolt: verify: %w", err)
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
		return errors.Join(errs...)
	}

	mb, ib := tx.Bucket(bucketMovements), tx.Bucket(bucketItems)
	if mb == nil || ib == nil {
		return corruptf(0, "movements or items bucket missing")
	}
	var want, indexed uint64
	c := mb.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		want++
		if want%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if len(k) != 8 {
			if !add(corruptf(0, "movement key of %d bytes", len(k))) {
				break
			}
			continue
		}
		seq := binary.BigEndian.Uint64(k)
		if seq != want {
			if !add(corruptf(seq, "sequence gap: expected %d", want)) {
				break
			}
			want = seq
		}
		m, err := decodeRecord(seq, v)
		if err != nil {
			if !add(err) {
				break
			}
			continue
		}
		if m.Gateway != l.gateway {
			if !add(corruptf(seq, "gateway differs from the file's")) {
				break
			}
		}
		if m.Item != "" {
			indexed++
			ik := binary.BigEndian.AppendUint64(append([]byte(m.Item), 0), seq)
			if k, _ := ib.Cursor().Seek(ik); !bytes.Equal(k, ik) {
				if !add(corruptf(seq, "index entry missing")) {
					break
				}
			}
		}
	}
	if want != l.LastSeq() && len(errs) < maxVerifyErrors {
		add(corruptf(0, "last movement %d but last_seq %d", want, l.LastSeq()))
	}
	if n := uint64(ib.Stats().KeyN); n != indexed && len(errs) < maxVerifyErrors {
		add(corruptf(0, "index holds %d entries for %d item movements", n, indexed))
	}
	return errors.Join(errs...)
}
