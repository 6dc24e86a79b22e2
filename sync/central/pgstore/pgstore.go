// Package pgstore is the central service's Store (sync/central) in a
// PostgreSQL database, which several instances of the service share.
//
// The schema (migrations/, applied by Open, its version in the table
// schema_version) has four tables:
//
//	ledgers          id, gateway, created, site, seq, hash: each ledger's head
//	movements        ledger, seq, prev_hash, hash, record: every movement as received
//	trace_keys       key, ledger, seq: the item and tag keys of every movement
//	master_versions  site, set, version
//
// Append runs in one transaction. It locks the ledger's row (SELECT ...
// FOR UPDATE, the row inserted first when absent), reads the hashes of
// the held movements the batch overlaps, applies sync/central.CheckAppend
// to that head, inserts the new movements and their keys (COPY for large
// batches, one multi-row INSERT for small ones) and moves the head. The
// row lock serialises the appends of one ledger, from however many
// processes, so that each movement is stored exactly once and in order;
// appends of different ledgers run in parallel. It returns once the
// server has committed, which with fsync and synchronous_commit on (Open
// checks fsync; it turns synchronous_commit on for its sessions when the
// server has it off) means durably. A trace reads the btree of
// trace_keys, then each movement by primary key.
//
// What the package must never do: change or delete a stored movement,
// store one that does not extend its ledger's checked chain
// (central.CheckAppend decides, under the row lock), or log anything (it
// has no logger; errors carry ids and sequence numbers, never a
// movement's content nor a password).
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/central"
)

// Store is a central.Store in a PostgreSQL database. It is safe for
// concurrent use, and several Stores, in one process or many, may share
// one database.
type Store struct {
	pool     *pgxpool.Pool
	readOnly bool
	closed   atomic.Bool
}

var _ central.Store = (*Store)(nil)

// Open connects to the PostgreSQL database at url, brings its schema up
// to date (SchemaVersion; instances starting together migrate it once)
// and returns the store. url is a libpq connection string, as pgx reads
// it: postgres://user@host:5432/db?sslmode=verify-full, or key=value
// pairs; the PG* environment variables (PGPASSFILE, PGSSLMODE,
// PGSSLROOTCERT...) fill in what it leaves out, and pool_max_conns sizes
// the pool. It returns an error wrapping ErrSchema for a schema newer
// than this package knows, ErrNotDurable for a server with fsync off.
func Open(ctx context.Context, url string) (*Store, error) { return open(ctx, url, false) }

// OpenReadOnly connects to the database at url for reading only: it
// checks that the schema is the one this package knows (ErrSchema
// otherwise: it neither creates nor migrates it), and runs every
// transaction read-only, so that Append and NextMasterVersion fail. A
// running service may be writing to the database meanwhile.
func OpenReadOnly(ctx context.Context, url string) (*Store, error) { return open(ctx, url, true) }

func open(ctx context.Context, url string, readOnly bool) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err) // pgx redacts the password
	}
	if readOnly {
		cfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	}
	cfg.AfterConnect = durable
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	err = pool.AcquireFunc(ctx, func(c *pgxpool.Conn) error {
		if readOnly {
			return checkSchema(ctx, c.Conn())
		}
		return migrate(ctx, c.Conn())
	})
	if err != nil {
		pool.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !errors.Is(err, ErrSchema) && !errors.Is(err, ErrNotDurable) {
			err = fmt.Errorf("pgstore: %w", err)
		}
		return nil, err
	}
	return &Store{pool: pool, readOnly: readOnly}, nil
}

// durable refuses a server with fsync off and turns synchronous_commit on
// for a session where it is off: Append returns only once its commit is
// flushed to disk. Other values (local, remote_write, on, remote_apply)
// are kept: they all flush locally.
func durable(ctx context.Context, c *pgx.Conn) error {
	var fsync, sync string
	if err := c.QueryRow(ctx, "SELECT current_setting('fsync'), current_setting('synchronous_commit')").Scan(&fsync, &sync); err != nil {
		return err
	}
	if fsync != "on" {
		return fmt.Errorf("%w: fsync is %s: committed movements would not survive a crash; turn it on", ErrNotDurable, fsync)
	}
	if sync == "off" {
		_, err := c.Exec(ctx, "SET synchronous_commit TO on")
		return err
	}
	return nil
}

// Close closes the store's connections, once the calls in progress have
// returned theirs. It is safe to call more than once.
func (s *Store) Close() error {
	if !s.closed.Swap(true) {
		s.pool.Close()
	}
	return nil
}

// fail turns an error of a call into the one the call returns: ctx's
// error when ctx ended, ErrClosed after Close, otherwise err with the
// package's prefix (errors this package made are returned as they are).
func (s *Store) fail(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case s.closed.Load():
		return fmt.Errorf("pgstore: %w", central.ErrClosed)
	}
	var ce *central.CheckError
	if errors.As(err, &ce) || errors.Is(err, central.ErrInvalid) || errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNotDurable) {
		return err
	}
	return fmt.Errorf("pgstore: %w", err)
}

// begin checks that the store is open and ctx alive.
func (s *Store) begin(ctx context.Context) error {
	if s.closed.Load() {
		return fmt.Errorf("pgstore: %w", central.ErrClosed)
	}
	return ctx.Err()
}

// hashOf converts a hash read from the database.
func hashOf(b []byte, what string, gateway string, created int64, seq uint64) ([central.HashSize]byte, error) {
	if len(b) != central.HashSize {
		return [central.HashSize]byte{}, fmt.Errorf("%w: %s of gateway %s ledger %d movement %d is %d bytes", ErrCorrupt, what, gateway, created, seq, len(b))
	}
	return [central.HashSize]byte(b), nil
}

// Head implements central.Store.
func (s *Store) Head(ctx context.Context, gateway string, created int64) (central.Head, error) {
	if err := s.begin(ctx); err != nil {
		return central.Head{}, err
	}
	h, _, err := readHead(ctx, s.pool, gateway, created, "")
	return h, s.fail(ctx, err)
}

// readHead reads the head of a ledger and its id (0 when the database
// holds no row of it); lock is "" or " FOR UPDATE".
func readHead(ctx context.Context, q querier, gateway string, created int64, lock string) (central.Head, int64, error) {
	var (
		id   int64
		site string
		seq  int64
		hash []byte
	)
	err := q.QueryRow(ctx, "SELECT id, site, seq, hash FROM ledgers WHERE gateway = $1 AND created = $2"+lock, gateway, created).Scan(&id, &site, &seq, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return central.EmptyHead(gateway, created), 0, nil
	}
	if err != nil {
		return central.Head{}, 0, err
	}
	if seq == 0 {
		return central.EmptyHead(gateway, created), id, nil
	}
	h := central.Head{Gateway: gateway, Created: created, Site: site, Seq: uint64(seq)}
	h.Hash, err = hashOf(hash, "head hash", gateway, created, uint64(seq))
	return h, id, err
}

// Append implements central.Store: one transaction that locks the
// ledger's row, checks recs against the head it holds, and stores what
// is new.
func (s *Store) Append(ctx context.Context, site, gateway string, created int64, recs []central.Stored) (central.Head, int, error) {
	if err := s.begin(ctx); err != nil {
		return central.Head{}, 0, err
	}
	if len(recs) > 0 && recs[len(recs)-1].Seq > math.MaxInt64 {
		return central.Head{}, 0, fmt.Errorf("%w: sequence number %d out of range", central.ErrInvalid, recs[len(recs)-1].Seq)
	}
	var (
		head  central.Head
		added int
	)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var (
			id  int64
			err error
		)
		head, id, err = lockHead(ctx, tx, gateway, created)
		if err != nil {
			return err
		}
		held, err := heldHashes(ctx, tx, head, id, recs)
		if err != nil {
			return err
		}
		fresh, err := central.CheckAppend(head, site, recs, held)
		if err != nil || fresh == len(recs) {
			return err // nothing to write; the transaction ends, the lock with it
		}
		if err := insert(ctx, tx, id, recs[fresh:]); err != nil {
			return err
		}
		last := &recs[len(recs)-1]
		if _, err := tx.Exec(ctx, "UPDATE ledgers SET site = $2, seq = $3, hash = $4 WHERE id = $1", id, site, int64(last.Seq), last.Hash[:]); err != nil {
			return fmt.Errorf("move the head of gateway %s ledger %d: %w", gateway, created, err)
		}
		head.Site, head.Seq, head.Hash = site, last.Seq, last.Hash
		added = len(recs) - fresh
		return nil
	})
	if err != nil {
		return head, 0, s.fail(ctx, err)
	}
	return head, added, nil
}

// lockHead reads the head of a ledger in tx, locking its row until tx
// ends; it inserts the row of an empty ledger first when there is none
// (a concurrent insert of the same row makes this one wait and do
// nothing), so that even the first append of a ledger is serialised.
func lockHead(ctx context.Context, tx pgx.Tx, gateway string, created int64) (central.Head, int64, error) {
	head, id, err := readHead(ctx, tx, gateway, created, " FOR UPDATE")
	if err != nil || id != 0 {
		return head, id, err
	}
	genesis := record.Genesis(gateway, uint64(created))
	if _, err := tx.Exec(ctx, "INSERT INTO ledgers (gateway, created, site, seq, hash) VALUES ($1, $2, '', 0, $3) ON CONFLICT (gateway, created) DO NOTHING",
		gateway, created, genesis[:]); err != nil {
		return head, 0, fmt.Errorf("insert gateway %s ledger %d: %w", gateway, created, err)
	}
	head, id, err = readHead(ctx, tx, gateway, created, " FOR UPDATE")
	if err == nil && id == 0 {
		err = fmt.Errorf("gateway %s ledger %d: row inserted but not found", gateway, created)
	}
	return head, id, err
}

// heldHashes reads, in one query, the hashes of the held movements recs
// overlaps, and returns CheckAppend's held function over them.
func heldHashes(ctx context.Context, tx pgx.Tx, head central.Head, id int64, recs []central.Stored) (func(seq uint64) ([central.HashSize]byte, error), error) {
	var hashes [][]byte
	first := uint64(0)
	if len(recs) > 0 && recs[0].Seq >= 1 && recs[0].Seq <= head.Seq {
		first = recs[0].Seq
		last := min(recs[len(recs)-1].Seq, head.Seq)
		rows, err := tx.Query(ctx, "SELECT hash FROM movements WHERE ledger = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq", id, int64(first), int64(last))
		if err != nil {
			return nil, err
		}
		if hashes, err = pgx.CollectRows(rows, pgx.RowTo[[]byte]); err != nil {
			return nil, err
		}
	}
	return func(seq uint64) ([central.HashSize]byte, error) {
		i := seq - first
		if first == 0 || seq < first || i >= uint64(len(hashes)) {
			return [central.HashSize]byte{}, fmt.Errorf("%w: movement %d of gateway %s ledger %d missing below its head %d", ErrCorrupt, seq, head.Gateway, head.Created, head.Seq)
		}
		return hashOf(hashes[i], "hash", head.Gateway, head.Created, seq)
	}, nil
}

// copyFrom is the number of movements from which insert uses COPY rather
// than a multi-row INSERT (BenchmarkAppend measures both); tests change it.
var copyFrom = 64

// insert inserts recs, new movements of ledger id, and their keys.
func insert(ctx context.Context, tx pgx.Tx, id int64, recs []central.Stored) error {
	var (
		seqs          = make([]int64, len(recs))
		prevs, hashes = make([][]byte, len(recs)), make([][]byte, len(recs))
		bodies        = make([][]byte, len(recs))
		keys          [][]byte
		keySeqs       []int64
	)
	for i := range recs {
		r := &recs[i]
		seqs[i], prevs[i], hashes[i], bodies[i] = int64(r.Seq), r.PrevHash[:], r.Hash[:], r.Record
		for j, k := range r.Keys {
			if !slices.Contains(r.Keys[:j], k) { // one row per key of a movement
				keys, keySeqs = append(keys, []byte(k)), append(keySeqs, int64(r.Seq))
			}
		}
	}
	if len(recs) < copyFrom {
		var b pgx.Batch
		b.Queue("INSERT INTO movements (ledger, seq, prev_hash, hash, record) SELECT $1, * FROM unnest($2::bigint[], $3::bytea[], $4::bytea[], $5::bytea[])",
			id, seqs, prevs, hashes, bodies)
		if len(keys) > 0 {
			b.Queue("INSERT INTO trace_keys (key, ledger, seq) SELECT k, $1, s FROM unnest($2::bytea[], $3::bigint[]) AS u(k, s)", id, keys, keySeqs)
		}
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return fmt.Errorf("insert movements %d to %d: %w", recs[0].Seq, recs[len(recs)-1].Seq, err)
		}
		return nil
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"movements"}, []string{"ledger", "seq", "prev_hash", "hash", "record"},
		pgx.CopyFromSlice(len(recs), func(i int) ([]any, error) {
			return []any{id, seqs[i], prevs[i], hashes[i], bodies[i]}, nil
		}))
	if err != nil {
		return fmt.Errorf("copy movements %d to %d: %w", recs[0].Seq, recs[len(recs)-1].Seq, err)
	}
	if len(keys) > 0 {
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"trace_keys"}, []string{"key", "ledger", "seq"},
			pgx.CopyFromSlice(len(keys), func(i int) ([]any, error) { return []any{keys[i], id, keySeqs[i]}, nil }))
		if err != nil {
			return fmt.Errorf("copy the keys of movements %d to %d: %w", recs[0].Seq, recs[len(recs)-1].Seq, err)
		}
	}
	return nil
}

// traceQuery reads the movements traced under key $1 in the order of
// Store.Trace: the btree of trace_keys, then each ledger and movement by
// primary key.
const traceQuery = `SELECT l.gateway, l.created, l.site, k.seq, m.record
	FROM trace_keys k
	JOIN ledgers l ON l.id = k.ledger
	JOIN movements m ON m.ledger = k.ledger AND m.seq = k.seq
	WHERE k.key = $1
	ORDER BY l.gateway, l.created, k.seq`

// Trace implements central.Store: one query that reads the btree of
// trace_keys and joins each entry to its ledger and movement.
func (s *Store) Trace(ctx context.Context, key string) ([]central.Traced, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	out := []central.Traced{}
	if key == "" {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, traceQuery, []byte(key))
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			gateway, site string
			created, seq  int64
			rec           []byte
		)
		if err := rows.Scan(&gateway, &created, &site, &seq, &rec); err != nil {
			return nil, s.fail(ctx, err)
		}
		m, err := record.Decode(uint64(seq), rec)
		if err != nil {
			return nil, fmt.Errorf("pgstore: gateway %s ledger %d: %w", gateway, created, err)
		}
		out = append(out, central.Traced{Site: site, Created: created, Movement: m})
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	return out, nil
}

// rangePage is how many movements Range reads per query. Each query's
// rows are read one at a time as the server sends them and handed to fn,
// so the memory Range holds is one record's, whatever the page.
const rangePage = 1000

// Range implements central.Store. It reads the ledger in pages of
// rangePage movements, one query each (keyset: from the last one read
// on), so that no connection, transaction or snapshot is held across
// more than a page of fn's calls. It returns an error wrapping ErrCorrupt
// when a movement is missing between from and the last one held.
func (s *Store) Range(ctx context.Context, gateway string, created int64, from uint64, fn func(seq uint64, rec []byte) error) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	head, id, err := readHead(ctx, s.pool, gateway, created, "")
	if err != nil || id == 0 {
		return s.fail(ctx, err)
	}
	next := max(from, 1)
	for next <= math.MaxInt64 {
		n, err := s.rangePage(ctx, id, head, &next, fn)
		if err != nil {
			return err
		}
		if n < rangePage {
			break
		}
	}
	if next <= head.Seq { // read at the start: every movement to it is held
		return fmt.Errorf("%w: gateway %s ledger %d: movements %d to %d missing below its head", ErrCorrupt, gateway, created, next, head.Seq)
	}
	return nil
}

// rangePage hands fn the movements of one page from *next on, advancing
// *next, and returns how many it read.
func (s *Store) rangePage(ctx context.Context, id int64, head central.Head, next *uint64, fn func(seq uint64, rec []byte) error) (int, error) {
	rows, err := s.pool.Query(ctx, "SELECT seq, record FROM movements WHERE ledger = $1 AND seq >= $2 ORDER BY seq LIMIT $3", id, int64(*next), rangePage)
	if err != nil {
		return 0, s.fail(ctx, err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq, nil); err != nil {
			return n, s.fail(ctx, err)
		}
		rec := rows.RawValues()[1] // valid until the next row: what fn may rely on
		if uint64(seq) != *next {
			return n, fmt.Errorf("%w: gateway %s ledger %d: movement %d follows %d", ErrCorrupt, head.Gateway, head.Created, seq, *next-1)
		}
		if err := fn(uint64(seq), rec); err != nil {
			return n, err
		}
		*next = uint64(seq) + 1
		n++
	}
	if err := rows.Err(); err != nil {
		return n, s.fail(ctx, err)
	}
	return n, nil
}

// Ledgers implements central.Store.
func (s *Store) Ledgers(ctx context.Context) ([]central.Head, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, "SELECT gateway, created, site, seq, hash FROM ledgers WHERE seq > 0 ORDER BY gateway, created")
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	defer rows.Close()
	out := []central.Head{}
	for rows.Next() {
		var (
			h    central.Head
			seq  int64
			hash []byte
		)
		if err := rows.Scan(&h.Gateway, &h.Created, &h.Site, &seq, &hash); err != nil {
			return nil, s.fail(ctx, err)
		}
		h.Seq = uint64(seq)
		if h.Hash, err = hashOf(hash, "head hash", h.Gateway, h.Created, h.Seq); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	return out, nil
}

// NextMasterVersion implements central.Store in one statement: an insert
// of the first version, or else an update of the last one, which locks
// its row, so that concurrent callers get distinct versions.
func (s *Store) NextMasterVersion(ctx context.Context, site, set string, atLeast uint64) (uint64, error) {
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	if atLeast > math.MaxInt64 {
		return 0, fmt.Errorf("%w: master version floor %d out of range", central.ErrInvalid, atLeast)
	}
	var v int64
	err := s.pool.QueryRow(ctx, `INSERT INTO master_versions AS mv (site, set, version) VALUES ($1, $2, greatest(1, $3::bigint))
		ON CONFLICT (site, set) DO UPDATE SET version = greatest(mv.version + 1, $3::bigint)
		RETURNING version`, site, set, int64(atLeast)).Scan(&v)
	if err != nil {
		return 0, s.fail(ctx, err)
	}
	return uint64(v), nil
}
