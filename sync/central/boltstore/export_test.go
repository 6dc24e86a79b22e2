package boltstore

import (
	"context"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/agent/runindex"
	"github.com/udi-edge/udi-edge/sync/central"
)

// SetSmall makes index blocks of at most blockBytes, merges of more than
// small entries incremental and their steps at least minStep entries, so
// that a test sees every kind of merge with few movements. It returns a
// function that restores the defaults.
func SetSmall(blockBytes int, small uint64, minStep int) (restore func()) {
	saved := indexConfig
	indexConfig = runindex.Config{Block: blockBytes, Small: small, MinStep: minStep}
	return func() { indexConfig = saved }
}

// IndexState returns the entries of every live run of the index, and how
// many the merge in progress has written (-1 when none is in progress).
func (s *Store) IndexState(ctx context.Context) (runs []uint64, merging int64, err error) {
	merging = -1
	err = s.view(ctx, func(tx *bolt.Tx) error {
		st, err := indexIn(tx, nil).State()
		runs, merging = st.Runs, st.Merging
		return err
	})
	return runs, merging, err
}

// TxStats returns bbolt's statistics of the write transactions so far.
func (s *Store) TxStats() bolt.TxStats { return s.db.Stats().TxStats }

// RawView runs fn in a read transaction of the file.
func (s *Store) RawView(fn func(tx *bolt.Tx) error) error { return s.db.View(fn) }

// RawUpdate runs fn in a write transaction of the file, for tests that
// damage it.
func (s *Store) RawUpdate(fn func(tx *bolt.Tx) error) error { return s.db.Update(fn) }

// Verify checks the whole file: bbolt's own consistency; for every branch
// of every ledger, batch values that cover its own movements (1 or its
// fork to its head) without gap or overlap, each record well formed,
// hashed and linked to the one before in the branch's history, the last
// one's Hash the head's, a branch's record naming its parent's movement
// and its own, which differ; no movements of a ledger without a head; the
// index holding exactly one entry per key of every movement, in live runs
// whose blocks are sorted and whose counts are right, and a merge in
// progress, if any, consistent with its sources.
func (s *Store) Verify(ctx context.Context) error {
	return s.view(ctx, func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return fmt.Errorf("bbolt check: %w", err)
		}
		want := map[string]int{}
		lb := tx.Bucket(bucketLedgers)
		heads := 0
		err := lb.ForEach(func(lk, _ []byte) error {
			heads++
			gateway, created, branch, err := parseLedgerKey(lk)
			if err != nil {
				return err
			}
			hs, err := readHeads(tx, gateway, created)
			if err != nil {
				return err
			}
			if branch >= len(hs) {
				return fmt.Errorf("ledger %s/%d: branch %d has no record", gateway, created, branch)
			}
			h := hs[branch]
			own := ownHashes(tx, gateway, created)
			at := func(b int, seq uint64) ([central.HashSize]byte, error) {
				sg := central.History(hs, b, seq, seq)
				if len(sg) != 1 {
					return [central.HashSize]byte{}, fmt.Errorf("ledger %s/%d: no branch holds movement %d of branch %d", gateway, created, seq, b)
				}
				x, err := own(sg[0].Branch, seq, seq)
				if err != nil {
					return [central.HashSize]byte{}, err
				}
				return x[0], nil
			}
			next, prev := h.Fork, record.Genesis(gateway, uint64(created))
			if branch > 0 {
				r, err := decodeBranch(nil, tx.Bucket(bucketBranches).Get(binary.BigEndian.AppendUint32(ledgerKey(gateway, created), uint32(branch))))
				if err != nil {
					return err
				}
				if held, err := at(h.Parent, h.Fork); err != nil || held != r.held || r.held == r.hash {
					return fmt.Errorf("ledger %s/%d branch %d: held hash %x, parent's movement %d %x (%v), own %x", gateway, created, branch, r.held[:4], h.Fork, held[:4], err, r.hash[:4])
				}
				if h.Fork > 1 {
					if prev, err = at(h.Parent, h.Fork-1); err != nil {
						return err
					}
				}
			}
			c := tx.Bucket(bucketMovements).Cursor()
			for k, v := c.Seek(lk); isMovementKey(k, lk); k, v = c.Next() {
				b, err := parseBatch(lk, binary.BigEndian.Uint64(k[len(lk):]), v)
				if err == nil {
					err = b.check()
				}
				if err != nil {
					return err
				}
				if b.First != next {
					return fmt.Errorf("ledger %s/%d branch %d: value at %d, want %d", gateway, created, branch, b.First, next)
				}
				for seq := b.First; seq <= b.Last(); seq++ {
					rec, err := b.record(seq)
					if err != nil {
						return err
					}
					p, hash, err := record.Check(seq, rec)
					if err != nil {
						return err
					}
					if p != prev {
						return fmt.Errorf("ledger %s/%d branch %d: movement %d does not link", gateway, created, branch, seq)
					}
					m, err := record.Decode(seq, rec)
					if err != nil {
						return err
					}
					for _, key := range central.IndexKeys(&m) {
						want[string(appendEntry(nil, key, lk, seq))]++
					}
					prev = hash
				}
				next = b.Last() + 1
			}
			if next-1 != h.Seq || prev != h.Hash {
				return fmt.Errorf("ledger %s/%d branch %d: movements %d to %d held, head %d", gateway, created, branch, h.Fork, next-1, h.Seq)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if bb := tx.Bucket(bucketBranches); bb != nil {
			err = bb.ForEach(func(k, _ []byte) error {
				if len(k) < 4+9 {
					return fmt.Errorf("branch record key %x", k)
				}
				gateway, created, _, err := parseLedgerKey(k[:len(k)-4])
				if err != nil {
					return err
				}
				if lb.Get(branchKey(gateway, created, int(binary.BigEndian.Uint32(k[len(k)-4:])))) == nil {
					return fmt.Errorf("branch record %x of no branch", k)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		err = tx.Bucket(bucketMovements).ForEach(func(k, _ []byte) error {
			if len(k) < 8+8+1 || lb.Get(k[:len(k)-8]) == nil {
				return fmt.Errorf("movements of ledger %x, which has no head", k)
			}
			return nil
		})
		if err != nil {
			return err
		}

		got := map[string]int{}
		err = indexIn(tx, nil).Check(func(e []byte) error { got[string(e)]++; return nil })
		if err != nil {
			return err
		}
		for e, n := range want {
			if got[e] != n {
				return fmt.Errorf("index entry %q held %d times, want %d", e, got[e], n)
			}
		}
		if len(got) != len(want) {
			return fmt.Errorf("index holds %d entries, want %d", len(got), len(want))
		}
		return nil
	})
}
