package pgstore

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/central"
)

// Verify checks the whole store, as after restoring a backup: for every
// ledger, movements 1 to its head and no others, each record well formed
// (record.Check) with the hashes of its row, linked to the one before
// (movement 1 to the genesis hash of its gateway and ledger), the last
// one's Hash the head's; trace_keys holding exactly the keys of every
// movement; and no movement or key of a ledger without a row. It reads
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
	for _, h := range heads {
		if err := s.verifyLedger(ctx, h); err != nil {
			return err
		}
	}
	return nil
}

// verifyLedger checks one ledger's movements and keys against its head.
func (s *Store) verifyLedger(ctx context.Context, h central.Head) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: gateway %s ledger %d: %s", ErrCorrupt, h.Gateway, h.Created, fmt.Sprintf(format, args...))
	}
	_, id, err := readHead(ctx, s.pool, h.Gateway, h.Created, "")
	if err != nil {
		return s.fail(ctx, err)
	}
	var count, maxSeq int64
	if err := s.pool.QueryRow(ctx, "SELECT count(*), coalesce(max(seq), 0) FROM movements WHERE ledger = $1", id).Scan(&count, &maxSeq); err != nil {
		return s.fail(ctx, err)
	}
	if count != int64(h.Seq) || maxSeq != int64(h.Seq) {
		return bad("%d movements up to %d held, head %d", count, maxSeq, h.Seq)
	}
	// The keys as stored, in order of movement and key.
	rows, err := s.pool.Query(ctx, "SELECT seq, key FROM trace_keys WHERE ledger = $1 ORDER BY seq, key", id)
	if err != nil {
		return s.fail(ctx, err)
	}
	type entry struct {
		seq int64
		key []byte
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
	prev := record.Genesis(h.Gateway, uint64(h.Created))
	err = s.Range(ctx, h.Gateway, h.Created, 1, func(seq uint64, rec []byte) error {
		p, hash, err := record.Check(seq, rec)
		if err != nil {
			return bad("movement %d: %v", seq, err)
		}
		if p != prev {
			return bad("movement %d does not link to the one before", seq)
		}
		prev = hash
		m, err := record.Decode(seq, rec)
		if err != nil {
			return bad("movement %d: %v", seq, err)
		}
		keys := central.IndexKeys(&m)
		slices.Sort(keys)
		for _, k := range slices.Compact(keys) {
			want = append(want, entry{int64(seq), []byte(k)})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if prev != h.Hash {
		return bad("the last movement's hash is not the head's")
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
	if len(stored) != len(want) {
		return bad("%d trace keys, want %d", len(stored), len(want))
	}
	for i := range want {
		if stored[i].seq != want[i].seq || !bytes.Equal(stored[i].key, want[i].key) {
			return bad("trace key of movement %d differs from its record's", want[i].seq)
		}
	}
	return nil
}
