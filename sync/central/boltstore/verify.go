package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/sync/central"
)

// Verify checks the whole store, as after restoring a backup or a crash
// of the disk: every branch of every ledger by central.VerifyBranch (its
// own movements, well formed, linked, up to its head's hash), every
// movement's index entries present and the index holding no other
// (runindex's own checks of its blocks and runs included), the index of
// received products holding exactly the products the movements received
// (a file of format 3 or before opened read-only has none to check), and
// no batch of movements outside a ledger's own range. It reads every
// movement and every index entry, and holds the index entries it expects
// in memory (about 80 bytes each). The error wraps ErrCorrupt (and
// central.ErrDamaged for a chain at fault) for what it finds wrong. A
// file whose pages bbolt itself cannot follow (a damaged page reference,
// which bbolt meets with a panic) is reported so, not a panic (guard).
func (s *Store) Verify(ctx context.Context) (err error) {
	heads, err := s.Ledgers(ctx)
	if err != nil {
		return err
	}
	conflicts, err := s.Conflicts(ctx)
	if err != nil {
		return err
	}
	held := central.Held(conflicts)
	// want: every index entry the movements call for; optional ones (a
	// supply key, absent for movements stored before that index) are
	// false.
	want := map[string]bool{}
	received := map[string]bool{} // the keys of the index of received products
	own := map[string][2]uint64{} // ledger key → own movements from, to
	for _, ledger := range central.LedgerHeads(heads) {
		for b, h := range ledger {
			lk := branchKey(h.Gateway, h.Created, h.Branch)
			own[string(lk)] = [2]uint64{h.Fork, h.Seq}
			err := central.VerifyBranch(ctx, s, ledger, held[central.LedgerBranch{Gateway: h.Gateway, Created: h.Created, Branch: b}], b,
				func(seq uint64, m *agent.Movement) error {
					trace := m.TraceKeys()
					for _, k := range central.IndexKeys(m) {
						want[string(appendEntry(nil, k, lk, seq))] = slices.Contains(trace, k)
					}
					if p := central.ReceivedProduct(m); p != "" {
						received[string(receivedKey(h.Site, p))] = true
					}
					return nil
				})
			if errors.Is(err, central.ErrDamaged) {
				return fmt.Errorf("%w: %w", ErrCorrupt, err)
			}
			if err != nil {
				return err
			}
		}
	}
	return s.view(ctx, func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return fmt.Errorf("%w: bbolt check: %w", ErrCorrupt, err)
		}
		// The batches of each ledger cover its own movements, without
		// gap or overlap, and no batch is of no ledger.
		c := tx.Bucket(bucketMovements).Cursor()
		var lastLk []byte
		var next uint64
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(k) < 8+1+8 || v == nil {
				return fmt.Errorf("%w: movements: key of %d bytes or nested bucket", ErrCorrupt, len(k))
			}
			lk, first := k[:len(k)-8], binary.BigEndian.Uint64(k[len(k)-8:])
			r, ok := own[string(lk)]
			if !ok {
				return fmt.Errorf("%w: movements: a batch of a ledger with no head (%d-byte key)", ErrCorrupt, len(k))
			}
			if !bytes.Equal(lk, lastLk) {
				lastLk, next = lk, r[0]
			}
			b, err := parseBatch(lk, first, v)
			if err != nil {
				return err
			}
			if first != next || b.Last() > r[1] {
				return fmt.Errorf("%w: movements: a batch of movements %d to %d where %d was next, own movements %d to %d", ErrCorrupt, first, b.Last(), next, r[0], r[1])
			}
			next = b.Last() + 1
		}
		// Every branch record is of a branch held.
		if bb := tx.Bucket(bucketBranches); bb != nil {
			lb := tx.Bucket(bucketLedgers)
			err := bb.ForEach(func(k, _ []byte) error {
				if len(k) < 4+9 {
					return fmt.Errorf("%w: branches: key of %d bytes", ErrCorrupt, len(k))
				}
				gateway, created, _, err := parseLedgerKey(k[:len(k)-4])
				if err != nil {
					return err
				}
				if lb.Get(branchKey(gateway, created, int(binary.BigEndian.Uint32(k[len(k)-4:])))) == nil {
					return fmt.Errorf("%w: branches: the record of a branch not held (gateway %s ledger %d)", ErrCorrupt, gateway, created)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		// The index of received products: every product a movement
		// received, and no other.
		if rb := tx.Bucket(bucketReceived); rb != nil {
			n := 0
			err := rb.ForEach(func(k, v []byte) error {
				if !received[string(k)] || len(v) != 0 {
					return fmt.Errorf("%w: received: a product no movement of its site received (%d-byte key)", ErrCorrupt, len(k))
				}
				n++
				return nil
			})
			if err != nil {
				return err
			}
			if n != len(received) {
				return fmt.Errorf("%w: received: %d products held, the movements received %d", ErrCorrupt, n, len(received))
			}
		}
		// The index: every entry one of a movement's keys, once; every
		// required one present.
		err := indexIn(tx, nil).Check(func(e []byte) error {
			if _, ok := want[string(e)]; !ok {
				return fmt.Errorf("%w: index: an entry of no movement's key, or held twice (%d bytes)", ErrCorrupt, len(e))
			}
			delete(want, string(e))
			return nil
		})
		if err != nil {
			return indexErr(err)
		}
		for e, required := range want {
			if required {
				return fmt.Errorf("%w: index: a key of movement %d missing", ErrCorrupt, binary.BigEndian.Uint64([]byte(e[len(e)-8:])))
			}
		}
		return nil
	})
}
