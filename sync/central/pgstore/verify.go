package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/central"
)

// Verify checks the whole store, as after restoring a backup: for every
// branch of every ledger, its own movements (1 to its head for branch
// 0, its fork to its head for the others) and no others, each record
// well formed (record.Check) with the hashes of its row, linked to the
// one before in the branch's history (movement 1 to the genesis hash of
// its gateway and ledger), the last one's Hash the head's, a branch's
// first movement other than the one its parent holds (the held hash of
// its conflict); trace_keys holding exactly the keys of every movement;
// received_products exactly the products the movements received; and no
// movement or key of a ledger without a row. It reads
// every movement: it takes as long as a full backup's read. The error
// wraps ErrCorrupt for what it finds wrong.
func (s *Store) Verify(ctx context.Context) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	var orphans int64
	err := s.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM movements m WHERE NOT EXISTS (SELECT 1 FROM ledgers l WHERE l.id = m.ledger)) +
		(SELECT count(*) FROM trace_keys k WHERE NOT EXISTS (SELECT 1 FROM movements m WHERE m.ledger = k.ledger AND m.seq = k.seq))`).Scan(&orphans)
	if err != nil {
		return s.fail(ctx, err)
	}
	if orphans > 0 {
		return fmt.Errorf("%w: %d movements or trace keys of no ledger or movement", ErrCorrupt, orphans)
	}
	heads, err := s.Ledgers(ctx)
	if err != nil {
		return err
	}
	received := map[receivedSite]bool{}
	for _, h := range heads {
		if err := s.verifyLedger(ctx, h, received); err != nil {
			return err
		}
	}
	held, err := s.readReceived(ctx)
	if err != nil {
		return err
	}
	for r := range held {
		if !received[r] {
			return fmt.Errorf("%w: received_products: a product no movement of site %s received", ErrCorrupt, r.site)
		}
	}
	if len(held) != len(received) {
		return fmt.Errorf("%w: received_products: %d products held, the movements received %d", ErrCorrupt, len(held), len(received))
	}
	return nil
}

// verifyLedger checks one branch's own movements and keys against its
// head, and adds the products they received to received.
func (s *Store) verifyLedger(ctx context.Context, h central.Head, received map[receivedSite]bool) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: gateway %s ledger %d branch %d: %s", ErrCorrupt, h.Gateway, h.Created, h.Branch, fmt.Sprintf(format, args...))
	}
	heads, ids, err := readHeads(ctx, s.pool, h.Gateway, h.Created, " ORDER BY branch")
	if err != nil {
		return s.fail(ctx, err)
	}
	if h.Branch >= len(heads) || heads[h.Branch].Branch != h.Branch {
		return bad("branches numbered out of order")
	}
	id := ids[h.Branch]
	var count, minSeq, maxSeq int64
	if err := s.pool.QueryRow(ctx, "SELECT count(*), coalesce(min(seq), 0), coalesce(max(seq), 0) FROM movements WHERE ledger = $1", id).Scan(&count, &minSeq, &maxSeq); err != nil {
		return s.fail(ctx, err)
	}
	if count != int64(h.Own()) || minSeq != int64(h.Fork) || maxSeq != int64(h.Seq) {
		return bad("%d movements %d to %d held, own movements %d to %d", count, minSeq, maxSeq, h.Fork, h.Seq)
	}
	// The keys as stored, in order of movement and key.
	rows, err := s.pool.Query(ctx, "SELECT seq, key FROM trace_keys WHERE ledger = $1 ORDER BY seq, key", id)
	if err != nil {
		return s.fail(ctx, err)
	}
	type entry struct {
		seq int64
		key []byte
		// optional: a supply index key (central.SupplyKeys), which a
		// movement stored before that index existed does not have.
		optional bool
	}
	var stored []entry
	for rows.Next() {
		var e entry
		if err := rows.Scan(&e.seq, &e.key); err != nil {
			rows.Close()
			return s.fail(ctx, err)
		}
		stored = append(stored, e)
	}
	if err := rows.Err(); err != nil {
		return s.fail(ctx, err)
	}
	var want []entry
	var held [central.HashSize]byte
	if h.Branch > 0 {
		var b []byte
		if err := s.pool.QueryRow(ctx, "SELECT held FROM ledgers WHERE id = $1", id).Scan(&b); err != nil {
			return s.fail(ctx, err)
		}
		copy(held[:], b)
	}
	err = central.VerifyBranch(ctx, s, heads, held, h.Branch, func(seq uint64, m *agent.Movement) error {
		keys := central.IndexKeys(m)
		trace := m.TraceKeys()
		slices.Sort(keys)
		for _, k := range slices.Compact(keys) {
			want = append(want, entry{int64(seq), []byte(k), !slices.Contains(trace, k)})
		}
		if p := central.ReceivedProduct(m); p != "" {
			received[receivedSite{h.Site, p}] = true
		}
		return nil
	})
	if errors.Is(err, central.ErrDamaged) {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err != nil {
		return err
	}
	var rowHashes int64
	err = s.pool.QueryRow(ctx, `SELECT count(*) FROM movements m
		WHERE m.ledger = $1 AND (substring(m.record FROM octet_length(m.record) - $2 + 1 FOR 32) <> m.prev_hash
		                      OR substring(m.record FROM octet_length(m.record) - $2 + 33 FOR 32) <> m.hash)`,
		id, record.Tail).Scan(&rowHashes)
	if err != nil {
		return s.fail(ctx, err)
	}
	if rowHashes > 0 {
		return bad("%d movements whose prev_hash or hash differ from their record's", rowHashes)
	}
	// Every trace key of every movement is stored, and nothing else; a
	// supply key may be missing (stored before the supply index).
	i := 0
	for _, w := range want {
		if i < len(stored) && stored[i].seq == w.seq && bytes.Equal(stored[i].key, w.key) {
			i++
			continue
		}
		if !w.optional {
			return bad("trace key of movement %d missing or differing from its record's", w.seq)
		}
	}
	if i < len(stored) {
		return bad("trace key of movement %d not one of its record's", stored[i].seq)
	}
	return nil
}
