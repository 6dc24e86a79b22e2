// Package pgstore is the central service's Store (sync/central) in a
// PostgreSQL database, which several instances of the service share.
//
// The schema (migrations/, applied by Open, its version in the table
// schema_version) has six tables:
//
//	ledgers            id, gateway, created, branch, parent, fork, site, seq, hash,
//	                   held, forked_at: the head of each branch of each ledger,
//	                   and for a branch the record of its conflict
//	movements          ledger, seq, prev_hash, hash, record: every movement as received
//	trace_keys         key, ledger, seq: the item and tag keys of every movement
//	received_products  site, product: the products each site's gateways received
//	master_versions    site, set, version
//	gateway_counters   site, gateway, name, total
//
// where movements and trace_keys name a branch of a ledger by its row's
// id. Append runs in one transaction. It locks the rows of the ledger's
// branches (SELECT ... FOR UPDATE, branch 0's row inserted first when
// absent), reads the hashes of the held movements the batch overlaps,
// applies sync/central.PlaceAppend to those heads, inserts the new
// movements and their keys (COPY for large batches, one multi-row INSERT
// for small ones) and the products they received that received_products
// lacks, and moves the head, or inserts a new branch's row. The
// lock on branch 0's row serialises the appends of one ledger, from
// however many processes, so that each movement is stored exactly once
// and in order;
// appends of different ledgers run in parallel. It returns once the
// server has committed, which with fsync and synchronous_commit on (Open
// checks fsync; it turns synchronous_commit on for its sessions when the
// server has it off) means durably. A trace reads the btree of
// trace_keys, then each movement by primary key.
//
// What the package must never do: change or delete a stored movement,
// store one that does not extend a checked chain of its ledger, one of
// its branches' (central.PlaceAppend decides, under the row lock), or log anything (it
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
	heads, _, err := readHeads(ctx, s.pool, gateway, created, " ORDER BY branch DESC LIMIT 1")
	if err != nil {
		return central.Head{}, s.fail(ctx, err)
	}
	return heads[0], nil
}

// headColumns are the columns readHeads and Ledgers read, scanHead's.
const headColumns = "id, gateway, created, branch, parent, fork, site, seq, hash"

// scanHead reads a row of headColumns.
func scanHead(row pgx.Row) (central.Head, int64, error) {
	var (
		h           central.Head
		id, fork    int64
		seq         int64
		hash        []byte
		branch, par int32
	)
	if err := row.Scan(&id, &h.Gateway, &h.Created, &branch, &par, &fork, &h.Site, &seq, &hash); err != nil {
		return central.Head{}, 0, err
	}
	h.Branch, h.Parent, h.Fork, h.Seq = int(branch), int(par), uint64(fork), uint64(seq)
	if seq == 0 {
		e := central.EmptyHead(h.Gateway, h.Created)
		e.Site = h.Site
		return e, id, nil
	}
	var err error
	h.Hash, err = hashOf(hash, "head hash", h.Gateway, h.Created, h.Seq)
	return h, id, err
}

// readHeads reads the heads of the branches of a ledger and their ids,
// in the order and with the lock of tail (" ORDER BY branch", with " FOR
// UPDATE" or " LIMIT 1"...): an EmptyHead and id 0 alone when the
// database holds no row of it.
func readHeads(ctx context.Context, q querier, gateway string, created int64, tail string) ([]central.Head, []int64, error) {
	rows, err := q.Query(ctx, "SELECT "+headColumns+" FROM ledgers WHERE gateway = $1 AND created = $2"+tail, gateway, created)
	if err != nil {
		return nil, nil, err
	}
	return scanHeads(rows, gateway, created)
}

// scanHeads reads rows of headColumns and closes them: an EmptyHead and
// id 0 alone for none.
func scanHeads(rows pgx.Rows, gateway string, created int64) ([]central.Head, []int64, error) {
	defer rows.Close()
	var (
		heads []central.Head
		ids   []int64
	)
	for rows.Next() {
		h, id, err := scanHead(rows)
		if err != nil {
			return nil, nil, err
		}
		heads, ids = append(heads, h), append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if len(heads) == 0 {
		return []central.Head{central.EmptyHead(gateway, created)}, []int64{0}, nil
	}
	return heads, ids, nil
}

// Append implements central.Store: one transaction that locks the
// ledger's rows, places recs on its branches, and stores what is new.
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
		heads, ids, err := lockHeads(ctx, tx, gateway, created)
		if err != nil {
			return err
		}
		head = heads[len(heads)-1]
		p, err := central.PlaceAppend(heads, site, recs, ownHashes(ctx, tx, heads, ids), central.MaxBranches)
		if err != nil {
			return err
		}
		if !p.New && p.Fresh == len(recs) {
			head = heads[p.Branch]
			return nil // nothing to write; the transaction ends, the lock with it
		}
		add, last := recs[p.Fresh:], &recs[len(recs)-1]
		var id int64
		if p.New {
			head = central.Head{Gateway: gateway, Created: created, Branch: p.Branch, Parent: p.Parent, Fork: add[0].Seq}
			err := tx.QueryRow(ctx, `INSERT INTO ledgers (gateway, created, branch, parent, fork, site, seq, hash, held, forked_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now()) RETURNING id`,
				gateway, created, p.Branch, p.Parent, int64(add[0].Seq), site, int64(last.Seq), last.Hash[:], p.Held[:]).Scan(&id)
			if err != nil {
				return fmt.Errorf("insert branch %d of gateway %s ledger %d: %w", p.Branch, gateway, created, err)
			}
		} else {
			head, id = heads[p.Branch], ids[p.Branch]
			if _, err := tx.Exec(ctx, "UPDATE ledgers SET site = $2, seq = $3, hash = $4 WHERE id = $1", id, site, int64(last.Seq), last.Hash[:]); err != nil {
				return fmt.Errorf("move the head of gateway %s ledger %d branch %d: %w", gateway, created, p.Branch, err)
			}
		}
		if err := insert(ctx, tx, id, site, add); err != nil {
			return err
		}
		head.Site, head.Seq, head.Hash = site, last.Seq, last.Hash
		added = len(add)
		return nil
	})
	if err != nil {
		return head, 0, s.fail(ctx, err)
	}
	return head, added, nil
}

// lockHeads locks the row of branch 0 of a ledger until tx ends, then
// reads the heads of every branch; it inserts the row of branch 0 of an
// empty ledger first when there is none (a concurrent insert of the same
// row makes this one wait and do nothing), so that even the first append
// of a ledger is serialised. The heads are read by a statement of their
// own, after the lock is held: its snapshot holds the branches that
// transactions which held the lock before inserted (a new branch's row is
// inserted only under that lock), which the locking statement's, taken
// before it waited, would not. Both go in one round trip.
func lockHeads(ctx context.Context, tx pgx.Tx, gateway string, created int64) ([]central.Head, []int64, error) {
	read := func() (heads []central.Head, ids []int64, locked bool, err error) {
		var b pgx.Batch
		b.Queue("SELECT id FROM ledgers WHERE gateway = $1 AND created = $2 AND branch = 0 FOR UPDATE", gateway, created)
		b.Queue("SELECT "+headColumns+" FROM ledgers WHERE gateway = $1 AND created = $2 ORDER BY branch", gateway, created)
		br := tx.SendBatch(ctx, &b)
		defer br.Close()
		tag, err := br.Exec()
		if err != nil {
			return nil, nil, false, err
		}
		rows, err := br.Query()
		if err != nil {
			return nil, nil, false, err
		}
		heads, ids, err = scanHeads(rows, gateway, created)
		if err != nil {
			return nil, nil, false, err
		}
		return heads, ids, tag.RowsAffected() == 1, br.Close()
	}
	heads, ids, locked, err := read()
	if err != nil || locked {
		return heads, ids, err
	}
	genesis := record.Genesis(gateway, uint64(created))
	if _, err := tx.Exec(ctx, "INSERT INTO ledgers (gateway, created, site, seq, hash) VALUES ($1, $2, '', 0, $3) ON CONFLICT (gateway, created, branch) DO NOTHING",
		gateway, created, genesis[:]); err != nil {
		return heads, ids, fmt.Errorf("insert gateway %s ledger %d: %w", gateway, created, err)
	}
	heads, ids, locked, err = read()
	if err == nil && (!locked || ids[0] == 0) {
		err = fmt.Errorf("gateway %s ledger %d: row inserted but not found", gateway, created)
	}
	return heads, ids, err
}

// ownHashes returns central.OwnHashes over the branches (heads, with
// their ids) of a ledger in tx: one query per run of movements.
func ownHashes(ctx context.Context, tx pgx.Tx, heads []central.Head, ids []int64) central.OwnHashes {
	return func(branch int, from, to uint64) ([][central.HashSize]byte, error) {
		h := heads[branch]
		rows, err := tx.Query(ctx, "SELECT hash FROM movements WHERE ledger = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq", ids[branch], int64(from), int64(to))
		if err != nil {
			return nil, err
		}
		raw, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
		if err != nil {
			return nil, err
		}
		if len(raw) != int(to-from+1) {
			return nil, fmt.Errorf("%w: gateway %s ledger %d branch %d: %d of movements %d to %d held below its head %d", ErrCorrupt, h.Gateway, h.Created, branch, len(raw), from, to, h.Seq)
		}
		out := make([][central.HashSize]byte, len(raw))
		for i, b := range raw {
			if out[i], err = hashOf(b, "hash", h.Gateway, h.Created, from+uint64(i)); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
}

// copyFrom is the number of movements from which insert uses COPY rather
// than a multi-row INSERT (BenchmarkAppend measures both); tests change it.
var copyFrom = 64

// insert inserts recs, new movements of ledger id of site, their keys and
// the products they received.
func insert(ctx context.Context, tx pgx.Tx, id int64, site string, recs []central.Stored) error {
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
	sites, products := receivedRows(site, recs)
	if len(recs) < copyFrom {
		var b pgx.Batch
		b.Queue("INSERT INTO movements (ledger, seq, prev_hash, hash, record) SELECT $1, * FROM unnest($2::bigint[], $3::bytea[], $4::bytea[], $5::bytea[])",
			id, seqs, prevs, hashes, bodies)
		if len(keys) > 0 {
			b.Queue("INSERT INTO trace_keys (key, ledger, seq) SELECT k, $1, s FROM unnest($2::bytea[], $3::bigint[]) AS u(k, s)", id, keys, keySeqs)
		}
		if len(products) > 0 {
			b.Queue(insertReceived, sites, products)
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
	if len(products) > 0 {
		if _, err := tx.Exec(ctx, insertReceived, sites, products); err != nil {
			return fmt.Errorf("insert the products received by movements %d to %d: %w", recs[0].Seq, recs[len(recs)-1].Seq, err)
		}
	}
	return nil
}

// traceQuery reads the movements traced under key $1 in the order of
// Store.Trace: the btree of trace_keys, then each ledger and movement by
// primary key.
const traceQuery = `SELECT l.gateway, l.created, l.branch, l.site, k.seq, m.record
	FROM trace_keys k
	JOIN ledgers l ON l.id = k.ledger
	JOIN movements m ON m.ledger = k.ledger AND m.seq = k.seq
	WHERE k.key = $1
	ORDER BY l.gateway, l.created, l.branch, k.seq`

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
			branch        int32
			rec           []byte
		)
		if err := rows.Scan(&gateway, &created, &branch, &site, &seq, &rec); err != nil {
			return nil, s.fail(ctx, err)
		}
		m, err := record.Decode(uint64(seq), rec)
		if err != nil {
			return nil, fmt.Errorf("pgstore: gateway %s ledger %d: %w", gateway, created, err)
		}
		out = append(out, central.Traced{Site: site, Created: created, Branch: int(branch), Movement: m})
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

// Range implements central.Store. It reads the current branch's history
// as RangeBranch does.
func (s *Store) Range(ctx context.Context, gateway string, created int64, from uint64, fn func(seq uint64, rec []byte) error) error {
	return s.rangeBranch(ctx, gateway, created, -1, from, fn)
}

// RangeBranch implements central.Store. It reads the history in pages of
// rangePage movements, one query each (keyset: from the last one read
// on), so that no connection, transaction or snapshot is held across
// more than a page of fn's calls. It returns an error wrapping ErrCorrupt
// when a movement is missing between from and the head read at the
// start.
func (s *Store) RangeBranch(ctx context.Context, gateway string, created int64, branch int, from uint64, fn func(seq uint64, rec []byte) error) error {
	if branch < 0 {
		return s.begin(ctx)
	}
	return s.rangeBranch(ctx, gateway, created, branch, from, fn)
}

// rangeBranch ranges the history of branch, the current one when -1.
func (s *Store) rangeBranch(ctx context.Context, gateway string, created int64, branch int, from uint64, fn func(seq uint64, rec []byte) error) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	heads, ids, err := readHeads(ctx, s.pool, gateway, created, " ORDER BY branch")
	if err != nil {
		return s.fail(ctx, err)
	}
	if branch < 0 {
		branch = len(heads) - 1
	}
	if branch >= len(heads) || ids[branch] == 0 || from > heads[branch].Seq {
		return nil
	}
	for _, sg := range central.History(heads, branch, from, heads[branch].Seq) {
		next := sg.From
		for next <= sg.To {
			n, err := s.rangePage(ctx, ids[sg.Branch], heads[sg.Branch], &next, sg.To, fn)
			if err != nil {
				return err
			}
			if n < rangePage {
				break
			}
		}
		if next <= sg.To { // read at the start: every movement to it is held
			return fmt.Errorf("%w: gateway %s ledger %d branch %d: movements %d to %d missing below its head", ErrCorrupt, gateway, created, sg.Branch, next, sg.To)
		}
	}
	return nil
}

// rangePage hands fn the movements of one page from *next to at most to,
// advancing *next, and returns how many it read.
func (s *Store) rangePage(ctx context.Context, id int64, head central.Head, next *uint64, to uint64, fn func(seq uint64, rec []byte) error) (int, error) {
	rows, err := s.pool.Query(ctx, "SELECT seq, record FROM movements WHERE ledger = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq LIMIT $4", id, int64(*next), int64(to), rangePage)
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
			return n, fmt.Errorf("%w: gateway %s ledger %d branch %d: movement %d follows %d", ErrCorrupt, head.Gateway, head.Created, head.Branch, seq, *next-1)
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
	rows, err := s.pool.Query(ctx, "SELECT "+headColumns+" FROM ledgers WHERE seq > 0 ORDER BY gateway, created, branch")
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	defer rows.Close()
	out := []central.Head{}
	for rows.Next() {
		h, _, err := scanHead(rows)
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	return out, nil
}

// Conflicts implements central.Store: the rows of branches, each with its
// first movement's hash.
func (s *Store) Conflicts(ctx context.Context) ([]central.Conflict, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT l.gateway, l.created, l.site, l.branch, l.parent, l.fork, l.held, m.hash, l.forked_at
		FROM ledgers l JOIN movements m ON m.ledger = l.id AND m.seq = l.fork
		WHERE l.branch > 0 ORDER BY l.gateway, l.created, l.branch`)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	defer rows.Close()
	out := []central.Conflict{}
	for rows.Next() {
		var (
			c           central.Conflict
			branch, par int32
			fork        int64
			held, hash  []byte
		)
		if err := rows.Scan(&c.Gateway, &c.Created, &c.Site, &branch, &par, &fork, &held, &hash, &c.At); err != nil {
			return nil, s.fail(ctx, err)
		}
		c.Branch, c.Parent, c.Seq = int(branch), int(par), uint64(fork)
		if c.Held, err = hashOf(held, "held hash", c.Gateway, c.Created, c.Seq); err != nil {
			return nil, err
		}
		if c.Hash, err = hashOf(hash, "hash", c.Gateway, c.Created, c.Seq); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(ctx, err)
	}
	return out, nil
}

// AddCounts implements central.Store in one statement: every instance
// adds to the same rows, which the upsert locks.
func (s *Store) AddCounts(ctx context.Context, counts []central.GatewayCounts) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	type key struct{ site, gateway, name string }
	sum := map[key]uint64{}
	for _, gc := range counts {
		for name, n := range gc.Counts {
			k := key{gc.Site, gc.Gateway, name}
			if sum[k]+n < n || sum[k]+n > math.MaxInt64 {
				return fmt.Errorf("%w: counter %s of %s/%s out of range", central.ErrInvalid, name, gc.Site, gc.Gateway)
			}
			sum[k] += n
		}
	}
	var sites, gateways, names []string
	var totals []int64
	for k, n := range sum {
		if n > 0 {
			sites, gateways, names, totals = append(sites, k.site), append(gateways, k.gateway), append(names, k.name), append(totals, int64(n))
		}
	}
	if len(names) == 0 {
		return nil
	}
	// Rows in key order, so that two instances adding to the same
	// gateways lock them in the same order.
	_, err := s.pool.Exec(ctx, `INSERT INTO gateway_counters AS c (site, gateway, name, total)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS u(site, gateway, name, total)
		ORDER BY site COLLATE "C", gateway COLLATE "C", name COLLATE "C"
		ON CONFLICT (site, gateway, name) DO UPDATE SET total = c.total + EXCLUDED.total`, sites, gateways, names, totals)
	return s.fail(ctx, err)
}

// Counts implements central.Store.
func (s *Store) Counts(ctx context.Context) ([]central.GatewayCounts, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, "SELECT site, gateway, name, total FROM gateway_counters ORDER BY site, gateway, name")
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	defer rows.Close()
	out := []central.GatewayCounts{}
	for rows.Next() {
		var (
			site, gateway, name string
			total               int64
		)
		if err := rows.Scan(&site, &gateway, &name, &total); err != nil {
			return nil, s.fail(ctx, err)
		}
		if n := len(out); n == 0 || out[n-1].Site != site || out[n-1].Gateway != gateway {
			out = append(out, central.GatewayCounts{Site: site, Gateway: gateway, Counts: map[string]uint64{}})
		}
		out[len(out)-1].Counts[name] = uint64(total)
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
