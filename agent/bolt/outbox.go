package bolt

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The outbox. The ledger is the only durable store of movements on a
// gateway, so sync reads what to send from it (ReadRecords), waits for new
// movements with Changed, and keeps how far the central service has
// acknowledged in the ledger file too (SetSyncCursor), in a bucket of its
// own. Nothing is ever deleted here on acknowledgement: acknowledged
// movements stay for trace, until retention cuts them (retention.go).

var (
	bucketSync = []byte("sync")
	syncCursor = []byte("cursor")
)

// ReadRecords returns copies of the records of the movements from
// sequence number from on, in order: at most maxCount of them and, after
// the first, no more than maxBytes in all. The records are in the
// canonical encoding of agent/record, hashes sealed; the first has
// sequence number from. It returns no records when from is past the last
// committed movement, a *RetainedError when from is before the
// retention anchor (FirstSeq), and a *CorruptError for a damaged batch.
func (l *Ledger) ReadRecords(from uint64, maxCount, maxBytes int) ([][]byte, error) {
	if from == 0 {
		return nil, fmt.Errorf("bolt: read records from sequence number 0; the first is 1")
	}
	if maxCount <= 0 || from > l.last.Load() {
		return nil, nil
	}
	if err := l.safe(bucketMovements); err != nil {
		return nil, err
	}
	var (
		out  [][]byte
		size int
	)
	p := &place{}
	p.at("movements", from, 0)
	err := l.viewAt(p, func(tx *bolt.Tx) error {
		if a, cut, err := anchorIn(tx); err != nil || cut && from < a.Seq {
			if err != nil {
				return err
			}
			return &RetainedError{Seq: from, Anchor: a}
		}
		c := tx.Bucket(bucketMovements).Cursor()
		b, ok, err := findBatch(c, from)
		if err != nil {
			return err
		}
		if !ok {
			return corruptf(from, "no batch holds movement %d although the last is %d", from, l.last.Load())
		}
		// One buffer for every copy: records are read together and dropped
		// together.
		var buf []byte
		next := from
		for {
			p.at("movements", b.First, b.Last())
			if err := b.check(); err != nil {
				return err
			}
			if next < b.First {
				return corruptf(next, "missing: the next batch starts at %d", b.First)
			}
			for ; next <= b.Last(); next++ {
				rec, _ := b.Record(int(next - b.First)) // in bounds: check passed
				if len(out) == maxCount || (len(out) > 0 && size+len(rec) > maxBytes) {
					return nil
				}
				if cap(buf)-len(buf) < len(rec) {
					buf = make([]byte, 0, max(len(rec), min(maxBytes, 1<<20)))
				}
				start := len(buf)
				buf = append(buf, rec...)
				out = append(out, buf[start:len(buf):len(buf)])
				size += len(rec)
			}
			p.at("movements", b.Last()+1, 0)
			k, v := c.Next()
			if k == nil {
				return nil
			}
			if b, err = nextBatch(k, v); err != nil {
				return err
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Changed returns a channel that is closed when a transaction commits
// after the call. Wait on it after finding nothing new with LastSeq.
func (l *Ledger) Changed() <-chan struct{} {
	l.changeMu.Lock()
	defer l.changeMu.Unlock()
	if l.change == nil {
		l.change = make(chan struct{})
	}
	return l.change
}

// changed wakes the waiters of Changed; the writer calls it after a
// commit.
func (l *Ledger) changed() {
	l.changeMu.Lock()
	if l.change != nil {
		close(l.change)
		l.change = nil
	}
	l.changeMu.Unlock()
}

// SyncCursor returns the highest sequence number the central service has
// acknowledged, 0 before the first acknowledgement.
func (l *Ledger) SyncCursor() (uint64, error) {
	var seq uint64
	if err := l.safe(bucketSync); err != nil {
		return 0, err
	}
	err := l.viewAt(&place{bucket: "sync"}, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSync)
		if b == nil {
			return nil
		}
		v := b.Get(syncCursor)
		if v == nil {
			return nil
		}
		if len(v) != 8 {
			return corruptf(0, "sync cursor of %d bytes", len(v))
		}
		seq = binary.BigEndian.Uint64(v)
		return nil
	})
	return seq, err
}

// SetSyncCursor records durably (one fsynced transaction) that the central
// service has acknowledged every movement up to seq. The cursor never goes
// back and never passes the last committed movement: a smaller seq is
// ignored, a larger one is an error.
func (l *Ledger) SetSyncCursor(seq uint64) error {
	if l.readOnly {
		return ErrReadOnly
	}
	if last := l.last.Load(); seq > last {
		return fmt.Errorf("bolt: sync cursor %d beyond the last movement %d", seq, last)
	}
	if l.dbClosed.Load() {
		return ErrClosed
	}
	return l.update(&place{bucket: "sync"}, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketSync)
		if err != nil {
			return fmt.Errorf("bolt: sync bucket: %w", err)
		}
		if v := b.Get(syncCursor); len(v) == 8 && binary.BigEndian.Uint64(v) >= seq {
			return nil
		}
		return b.Put(syncCursor, binary.BigEndian.AppendUint64(nil, seq))
	})
}
