// Package boltstore is the central service's Store (sync/central) in one
// bbolt file: the movements of every gateway's ledgers exactly as
// received, the head of each ledger, an index from item and tag keys to
// movements, an index of the products each site received, and the
// version of each master data set published.
//
// The file holds nine buckets:
//
//	meta       "format" → 4; "run" → the next index run id(8);
//	           "merge" → the index merge in progress, if any
//	ledgers    name 0x00 created(8) → seq(8) hash(32) site
//	movements  name 0x00 created(8) first(8) → batch value: the records
//	           of movements first … first+n-1 (agent/record encoding)
//	runs       run(8) → entries(8): the live runs of the index
//	index      run(8) → bucket of the run's blocks of index entries,
//	           key 0x00 name 0x00 created(8) seq(8), sorted
//	master     site 0x00 set → version(8)
//	branches   gateway 0x00 created(8) branch(4) → parent(4) fork(8)
//	           held(32) hash(32) at(8): the record of each branch
//	           (central.Conflict)
//	counters   site 0x00 gateway 0x00 name → total(8)
//	received   site 0x00 product → empty: the products each site's
//	           gateways received (central.Store.ReceivedProducts)
//
// where created, seq, first, run, branch, parent, fork and at (Unix
// nanoseconds) are big-endian. A ledger's name is its gateway for branch
// 0, and gateway "/" branch (in decimal) for branch 1 and up: a branch's
// head, movements and index entries are those of a ledger of that name
// (gateway ids hold no "/"), so that every path that reads a ledger
// reads a branch. A branch holds its own movements only, from its fork
// on; its history before that is its parent's. batch.go describes batch
// values, index.go the index (an agent/runindex log-structured merge of
// sorted runs, so that entries arriving in no order of key are written
// front to back), received.go the index of received products. One Append
// is one write transaction, fsynced on commit: a few puts per batch of
// movements, one for its new index run, whatever merge of index runs is
// due, one per product a site receives for the first time; a trace is a
// seek in each run of the index and a seek to each movement's batch
// value. Format 1 (a value per movement, an index B+tree of one key per
// entry) is refused with ErrFormat; a file of format 2 (no branches, no
// counters) or 3 (no index of received products) is read, and brought to
// format 4 when opened for writing, the index of received products built
// from its movements then.
//
// What the package must never do: change or delete a movement once
// stored, store a movement that does not extend a checked chain of its
// ledger, one of its branches' (sync/central.PlaceAppend decides), set
// bbolt's NoSync, or log anything (it has no logger: errors carry
// sequence numbers, never item or patient data).
package boltstore

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/agent/runindex"
	"github.com/udi-edge/udi-edge/sync/central"
	bolt "go.etcd.io/bbolt"
	bolterr "go.etcd.io/bbolt/errors"
)

// Format is the version of the file's layout.
const Format = 4

// Earlier layouts Open reads and brings to Format: formatNoBranches is
// format 3 without the buckets of branches and counters, formatNoReceived
// format 4 without the index of received products.
const (
	formatNoBranches = 2
	formatNoReceived = 3
)

var (
	bucketMeta      = []byte("meta")
	bucketLedgers   = []byte("ledgers")
	bucketMovements = []byte("movements")
	bucketRuns      = []byte("runs")
	bucketIndex     = []byte("index")
	bucketMaster    = []byte("master")
	bucketBranches  = []byte("branches")
	bucketCounters  = []byte("counters")
	bucketReceived  = []byte("received")
	metaFormat      = []byte("format")
)

// Errors of this package; test for them with errors.Is.
var (
	// ErrLocked is returned by Open when another process holds the file
	// for longer than the timeout.
	ErrLocked = errors.New("boltstore: file is locked by another process")
	// ErrFormat is returned by Open for a file that is not a store of
	// this Format.
	ErrFormat = errors.New("boltstore: not a central store file of a known format")
	// ErrCorrupt is wrapped by the error for an entry of the file that is
	// not well formed.
	ErrCorrupt = errors.New("boltstore: corrupt entry")
)

// DefaultTimeout is how long Open waits for another process's lock.
const DefaultTimeout = 2 * time.Second

// Store is a central.Store in a bbolt file. It is safe for concurrent use.
type Store struct {
	db      *bolt.DB
	path    string
	scratch runindex.Arena // for write transactions only
}

var _ central.Store = (*Store)(nil)

// Open opens the store file at path for reading and writing, creating it
// with mode 0600 when it does not exist. It returns an error wrapping
// ErrLocked when another process holds the file, ErrFormat for a file
// this package did not write.
func Open(path string) (*Store, error) { return open(path, false, DefaultTimeout) }

// OpenReadOnly opens an existing store file for reading only, waiting at
// most timeout for a writer's lock (a running service holds it as long as
// it runs). Append and NextMasterVersion fail on it.
func OpenReadOnly(path string, timeout time.Duration) (*Store, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("boltstore: %w", err)
	}
	return open(path, true, timeout)
}

func open(path string, readOnly bool, timeout time.Duration) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, ReadOnly: readOnly})
	if err != nil {
		if errors.Is(err, bolterr.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, path)
		}
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	s := &Store{db: db, path: path}
	if readOnly {
		err = guard(func() error { return db.View(checkFormat) })
	} else {
		err = guard(func() error {
			return db.Update(func(tx *bolt.Tx) error {
				meta := tx.Bucket(bucketMeta)
				if meta == nil {
					if k, _ := tx.Cursor().First(); k != nil {
						return fmt.Errorf("%w: %s holds buckets but no meta", ErrFormat, path)
					}
					for _, name := range [][]byte{bucketMeta, bucketLedgers, bucketMovements, bucketRuns, bucketIndex, bucketMaster, bucketBranches, bucketCounters, bucketReceived} {
						if _, err := tx.CreateBucket(name); err != nil {
							return fmt.Errorf("boltstore: create bucket %s: %w", name, err)
						}
					}
					return tx.Bucket(bucketMeta).Put(metaFormat, binary.BigEndian.AppendUint64(nil, Format))
				}
				if err := checkFormat(tx); err != nil {
					return err
				}
				return upgrade(tx)
			})
		})
	}
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// formatOf returns the format tx's file records, 0 when it records none
// well formed.
func formatOf(tx *bolt.Tx) uint64 {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return 0
	}
	if v := meta.Get(metaFormat); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// checkFormat checks that tx's file is of format 2, 3 or Format.
func checkFormat(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return fmt.Errorf("%w: no meta bucket", ErrFormat)
	}
	v := meta.Get(metaFormat)
	f := formatOf(tx)
	switch {
	case len(v) == 8 && f < formatNoBranches:
		return fmt.Errorf("%w: format %d, an older layout this version does not read; want %d", ErrFormat, f, Format)
	case len(v) != 8 || f > Format:
		return fmt.Errorf("%w: format %x, want %d", ErrFormat, v, Format)
	}
	names := [][]byte{bucketLedgers, bucketMovements, bucketRuns, bucketIndex, bucketMaster}
	if f >= formatNoReceived {
		names = append(names, bucketBranches, bucketCounters)
	}
	if f == Format {
		names = append(names, bucketReceived)
	}
	for _, name := range names {
		if tx.Bucket(name) == nil {
			return fmt.Errorf("%w: bucket %s missing", ErrFormat, name)
		}
	}
	return nil
}

// upgrade brings a file of format 2 or 3 to Format: it adds the buckets
// of branches and counters (format 2), empty, and builds the index of
// received products from the movements held, which reads every movement
// once. The format recorded says it is built: it is never built again.
func upgrade(tx *bolt.Tx) error {
	if formatOf(tx) == Format {
		return nil
	}
	for _, name := range [][]byte{bucketBranches, bucketCounters} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("boltstore: create bucket %s: %w", name, err)
		}
	}
	if err := buildReceived(tx); err != nil {
		return err
	}
	return tx.Bucket(bucketMeta).Put(metaFormat, binary.BigEndian.AppendUint64(nil, Format))
}

// Path returns the file's path.
func (s *Store) Path() string { return s.path }

// Close closes the file. It is safe to call more than once.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("boltstore: close: %w", err)
	}
	return nil
}

// view and update run fn in a transaction, after checking ctx, through
// guard.
func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.mapErr(guard(func() error { return s.db.View(fn) }))
}

func (s *Store) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.mapErr(guard(func() error {
		return s.db.Update(func(tx *bolt.Tx) error {
			// The write transaction before this one has ended: bbolt holds
			// nothing of the arena any more, and no other writer can run.
			s.scratch.Reset()
			return fn(tx)
		})
	}))
}

// guard runs fn, a bbolt transaction, and turns a panic inside it, or a
// fault reading the file's memory map, into an error wrapping ErrCorrupt:
// bbolt follows page references without checking them and panics on a
// damaged one (or faults past a truncated file's end), and a service that
// panicked on every read of a damaged page would restart into the same
// read for ever. bbolt rolls the transaction back as the panic passes.
// The request fails, the service goes on, and `udi-central verify` tells
// what is damaged.
func guard(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: the file's page structure is damaged (bbolt: %v); run udi-central verify", ErrCorrupt, r)
		}
	}()
	return fn()
}

func (s *Store) mapErr(err error) error {
	if errors.Is(err, bolterr.ErrDatabaseNotOpen) {
		return fmt.Errorf("boltstore: %w", central.ErrClosed)
	}
	return err
}

// ledgerKey is the key of branch 0 of a ledger: gateway 0x00 created.
func ledgerKey(gateway string, created int64) []byte {
	return branchKey(gateway, created, 0)
}

// branchName is the name a branch is stored under: its gateway for
// branch 0, gateway "/" branch for the others.
func branchName(gateway string, branch int) string {
	if branch == 0 {
		return gateway
	}
	return gateway + "/" + strconv.Itoa(branch)
}

// parseName splits a name branchName made; ok is false for one it did
// not make.
func parseName(name string) (gateway string, branch int, ok bool) {
	gateway, b, found := strings.Cut(name, "/")
	if !found {
		return name, 0, name != ""
	}
	n, err := strconv.Atoi(b)
	if err != nil || n < 1 || strconv.Itoa(n) != b || gateway == "" {
		return "", 0, false
	}
	return gateway, n, true
}

// branchKey is the ledger key of a branch: its name 0x00 created.
func branchKey(gateway string, created int64, branch int) []byte {
	name := branchName(gateway, branch)
	k := make([]byte, 0, len(name)+1+8+8)
	k = append(k, name...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, uint64(created))
}

// parseLedgerKey splits a key of the ledgers bucket.
func parseLedgerKey(k []byte) (gateway string, created int64, branch int, err error) {
	i := bytes.IndexByte(k, 0)
	if i < 1 || len(k) != i+1+8 {
		return "", 0, 0, fmt.Errorf("%w: ledger key of %d bytes", ErrCorrupt, len(k))
	}
	gateway, branch, ok := parseName(string(k[:i]))
	if !ok {
		return "", 0, 0, fmt.Errorf("%w: ledger name %q", ErrCorrupt, k[:i])
	}
	return gateway, int64(binary.BigEndian.Uint64(k[i+1:])), branch, nil
}

// movementKey is the ledger key followed by seq.
func movementKey(lk []byte, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(slices.Clip(lk), seq)
}

func decodeHead(gateway string, created int64, v []byte) (central.Head, error) {
	if len(v) < 8+central.HashSize {
		return central.Head{}, fmt.Errorf("%w: head of gateway %s ledger %d is %d bytes", ErrCorrupt, gateway, created, len(v))
	}
	return central.Head{
		Gateway: gateway,
		Created: created,
		Fork:    1,
		Seq:     binary.BigEndian.Uint64(v),
		Hash:    [central.HashSize]byte(v[8 : 8+central.HashSize]),
		Site:    string(v[8+central.HashSize:]),
	}, nil
}

func encodeHead(h central.Head) []byte {
	v := make([]byte, 0, 8+central.HashSize+len(h.Site))
	v = binary.BigEndian.AppendUint64(v, h.Seq)
	v = append(v, h.Hash[:]...)
	return append(v, h.Site...)
}

// branchRecord is a value of the branches bucket.
type branchRecord struct {
	parent     int
	fork       uint64
	held, hash [central.HashSize]byte
	at         int64
}

const branchRecordSize = 4 + 8 + 2*central.HashSize + 8

func (r branchRecord) encode() []byte {
	v := make([]byte, 0, branchRecordSize)
	v = binary.BigEndian.AppendUint32(v, uint32(r.parent))
	v = binary.BigEndian.AppendUint64(v, r.fork)
	v = append(v, r.held[:]...)
	v = append(v, r.hash[:]...)
	return binary.BigEndian.AppendUint64(v, uint64(r.at))
}

func decodeBranch(k, v []byte) (branchRecord, error) {
	if len(v) != branchRecordSize {
		return branchRecord{}, fmt.Errorf("%w: branch record %x is %d bytes", ErrCorrupt, k, len(v))
	}
	return branchRecord{
		parent: int(binary.BigEndian.Uint32(v)),
		fork:   binary.BigEndian.Uint64(v[4:]),
		held:   [central.HashSize]byte(v[12:44]),
		hash:   [central.HashSize]byte(v[44:76]),
		at:     int64(binary.BigEndian.Uint64(v[76:])),
	}, nil
}

// readHeads reads the heads of every branch of a ledger in tx, in order
// of branch: an EmptyHead alone for a ledger the file holds nothing of.
func readHeads(tx *bolt.Tx, gateway string, created int64) ([]central.Head, error) {
	lk := ledgerKey(gateway, created)
	v := tx.Bucket(bucketLedgers).Get(lk)
	if v == nil {
		return []central.Head{central.EmptyHead(gateway, created)}, nil
	}
	h, err := decodeHead(gateway, created, v)
	if err != nil {
		return nil, err
	}
	heads := []central.Head{h}
	bb := tx.Bucket(bucketBranches)
	if bb == nil { // format 2, read-only
		return heads, nil
	}
	c := bb.Cursor()
	for k, v := c.Seek(lk); len(k) == len(lk)+4 && bytes.HasPrefix(k, lk); k, v = c.Next() {
		branch := int(binary.BigEndian.Uint32(k[len(lk):]))
		r, err := decodeBranch(k, v)
		if err != nil {
			return nil, err
		}
		if branch != len(heads) || r.parent >= branch {
			return nil, fmt.Errorf("%w: gateway %s ledger %d: branch %d (of %d) forked from %d", ErrCorrupt, gateway, created, branch, r.parent, len(heads))
		}
		hv := tx.Bucket(bucketLedgers).Get(branchKey(gateway, created, branch))
		if hv == nil {
			return nil, fmt.Errorf("%w: gateway %s ledger %d: branch %d has no head", ErrCorrupt, gateway, created, branch)
		}
		bh, err := decodeHead(gateway, created, hv)
		if err != nil {
			return nil, err
		}
		bh.Branch, bh.Parent, bh.Fork = branch, r.parent, r.fork
		heads = append(heads, bh)
	}
	return heads, nil
}

// Head implements central.Store.
func (s *Store) Head(ctx context.Context, gateway string, created int64) (central.Head, error) {
	var h central.Head
	err := s.view(ctx, func(tx *bolt.Tx) error {
		heads, err := readHeads(tx, gateway, created)
		if err == nil {
			h = heads[len(heads)-1]
		}
		return err
	})
	return h, err
}

// ownHashes returns central.OwnHashes over the branches of a ledger in tx.
func ownHashes(tx *bolt.Tx, gateway string, created int64) central.OwnHashes {
	readers := map[int]*batchReader{}
	return func(branch int, from, to uint64) ([][central.HashSize]byte, error) {
		r := readers[branch]
		if r == nil {
			r = newBatchReader(tx, branchKey(gateway, created, branch))
			readers[branch] = r
		}
		out := make([][central.HashSize]byte, 0, to-from+1)
		for seq := from; seq <= to; seq++ {
			rec, ok, err := r.get(seq)
			if err != nil {
				return nil, err
			}
			if !ok || len(rec) < record.Tail {
				return nil, fmt.Errorf("%w: movement %d of ledger %x missing or short", ErrCorrupt, seq, r.lk)
			}
			_, h := record.Hashes(rec)
			out = append(out, h)
		}
		return out, nil
	}
}

// place reads the ledger's heads in tx and places recs on them.
func place(tx *bolt.Tx, site, gateway string, created int64, recs []central.Stored) ([]central.Head, central.Placement, error) {
	heads, err := readHeads(tx, gateway, created)
	if err != nil {
		return nil, central.Placement{}, err
	}
	p, err := central.PlaceAppend(heads, site, recs, ownHashes(tx, gateway, created), central.MaxBranches)
	return heads, p, err
}

// Append implements central.Store. A batch of movements all held already
// is compared in a read transaction and costs no write.
func (s *Store) Append(ctx context.Context, site, gateway string, created int64, recs []central.Stored) (central.Head, int, error) {
	var (
		heads []central.Head
		p     central.Placement
	)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		heads, p, err = place(tx, site, gateway, created, recs)
		return err
	})
	switch {
	case err != nil && heads != nil:
		return heads[len(heads)-1], 0, err
	case err != nil:
		return central.EmptyHead(gateway, created), 0, err
	case !p.New && p.Fresh == len(recs):
		return heads[p.Branch], 0, nil
	}
	var head central.Head
	err = s.update(ctx, func(tx *bolt.Tx) error {
		// Place again: another writer of this file may have moved a head.
		var err error
		if heads, p, err = place(tx, site, gateway, created, recs); err != nil {
			return err
		}
		if !p.New && p.Fresh == len(recs) {
			head = heads[p.Branch]
			return nil // stored meanwhile by another writer: the head stays
		}
		add := recs[p.Fresh:]
		lk := branchKey(gateway, created, p.Branch)
		if err := putBatches(tx.Bucket(bucketMovements), lk, add, &s.scratch); err != nil {
			return err
		}
		if entries := indexEntries(lk, add, &s.scratch); len(entries) > 0 {
			if err := indexIn(tx, &s.scratch).Add(entries); err != nil {
				return indexErr(err)
			}
		}
		if err := putReceived(tx.Bucket(bucketReceived), site, add); err != nil {
			return err
		}
		if p.New {
			head = central.Head{Gateway: gateway, Created: created, Branch: p.Branch, Parent: p.Parent, Fork: add[0].Seq}
			r := branchRecord{parent: p.Parent, fork: add[0].Seq, held: p.Held, hash: add[0].Hash, at: time.Now().UnixNano()}
			k := binary.BigEndian.AppendUint32(ledgerKey(gateway, created), uint32(p.Branch))
			if err := tx.Bucket(bucketBranches).Put(k, r.encode()); err != nil {
				return fmt.Errorf("boltstore: put branch %d: %w", p.Branch, err)
			}
		} else {
			head = heads[p.Branch]
		}
		last := &recs[len(recs)-1]
		head.Seq, head.Hash, head.Site = last.Seq, last.Hash, site
		if err := tx.Bucket(bucketLedgers).Put(lk, encodeHead(head)); err != nil {
			return fmt.Errorf("boltstore: put head: %w", err)
		}
		return nil
	})
	if err != nil {
		h, _ := s.Head(context.WithoutCancel(ctx), gateway, created)
		return h, 0, err
	}
	return head, len(recs) - p.Fresh, nil
}

// putBatches puts recs, consecutive movements of ledger lk, as batch
// values, built in one buffer of a.
func putBatches(mb *bolt.Bucket, lk []byte, recs []central.Stored, a *runindex.Arena) error {
	mb.FillPercent = 1.0 // a ledger's keys only grow
	size := 0
	_ = splitBatches(recs, func(part []central.Stored) error {
		size += batchSize(part)
		return nil
	})
	buf := a.Alloc(size)
	return splitBatches(recs, func(part []central.Stored) error {
		start := len(buf)
		buf = appendBatch(buf, part)
		k := binary.BigEndian.AppendUint64(append(a.Alloc(len(lk)+8), lk...), part[0].Seq)
		if err := mb.Put(k, buf[start:len(buf):len(buf)]); err != nil {
			return fmt.Errorf("boltstore: put movements %d to %d: %w", part[0].Seq, part[len(part)-1].Seq, err)
		}
		return nil
	})
}

// indexEntries returns the index entries of recs, movements of ledger lk,
// sorted, in one buffer of a.
func indexEntries(lk []byte, recs []central.Stored, a *runindex.Arena) [][]byte {
	n, size := 0, 0
	for i := range recs {
		for _, key := range recs[i].Keys {
			n++
			size += len(key) + 1 + len(lk) + 8
		}
	}
	if n == 0 {
		return nil
	}
	buf, out := a.Alloc(size), make([][]byte, 0, n)
	for i := range recs {
		for _, key := range recs[i].Keys {
			start := len(buf)
			buf = appendEntry(buf, key, lk, recs[i].Seq)
			out = append(out, buf[start:len(buf):len(buf)])
		}
	}
	slices.SortFunc(out, bytes.Compare)
	return out
}

// Trace implements central.Store.
func (s *Store) Trace(ctx context.Context, key string) ([]central.Traced, error) {
	out := []central.Traced{}
	if key == "" {
		return out, nil
	}
	prefix := append([]byte(key), 0)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var hits [][]byte
		err := indexIn(tx, nil).Lookup(prefix, func(e []byte) error {
			if _, _, _, ok := parseIndexKey(e, len(key)); ok { // else a longer key that starts with key and a NUL
				hits = append(hits, e)
			}
			return nil
		})
		if err != nil {
			return indexErr(err)
		}
		// Runs hold entries in no order of each other: in order of
		// ledger and sequence number, so that each ledger's values are
		// read front to back.
		slices.SortFunc(hits, bytes.Compare)
		lb := tx.Bucket(bucketLedgers)
		var r *batchReader
		var site string
		for i, e := range hits {
			if i%256 == 255 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			name, created, seq, _ := parseIndexKey(e, len(key))
			gateway, branch, ok := parseName(name)
			if !ok {
				return fmt.Errorf("%w: index entry of ledger %q", ErrCorrupt, name)
			}
			lk := e[len(key)+1 : len(e)-8]
			if r == nil || !bytes.Equal(r.lk, lk) {
				h, err := decodeHead(gateway, created, lb.Get(lk))
				if err != nil {
					return err
				}
				r, site = newBatchReader(tx, lk), h.Site
			}
			rec, ok, err := r.get(seq)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("%w: indexed movement %d of gateway %s ledger %d branch %d missing", ErrCorrupt, seq, gateway, created, branch)
			}
			m, err := record.Decode(seq, rec)
			if err != nil {
				return fmt.Errorf("boltstore: gateway %s ledger %d: %w", gateway, created, err)
			}
			out = append(out, central.Traced{Site: site, Created: created, Branch: branch, Movement: m})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// A branch's name sorts after its gateway's other names: the order of
	// the interface is by gateway, ledger, branch and sequence number.
	slices.SortStableFunc(out, func(a, b central.Traced) int {
		return cmp.Or(strings.Compare(a.Movement.Gateway, b.Movement.Gateway), cmp.Compare(a.Created, b.Created),
			cmp.Compare(a.Branch, b.Branch), cmp.Compare(a.Movement.Seq, b.Movement.Seq))
	})
	return out, nil
}

// parseIndexKey splits an index entry, key 0x00 name 0x00 created seq,
// read from the end (names hold no NUL; item keys might). ok is false
// when its key is not keyLen bytes long.
func parseIndexKey(k []byte, keyLen int) (name string, created int64, seq uint64, ok bool) {
	if len(k) < keyLen+1+1+1+16 {
		return "", 0, 0, false
	}
	tail := k[len(k)-16:]
	rest := k[:len(k)-16]
	if rest[len(rest)-1] != 0 {
		return "", 0, 0, false
	}
	rest = rest[:len(rest)-1]
	i := bytes.LastIndexByte(rest, 0)
	if i != keyLen {
		return "", 0, 0, false
	}
	return string(rest[i+1:]), int64(binary.BigEndian.Uint64(tail)), binary.BigEndian.Uint64(tail[8:]), true
}

// Range implements central.Store.
func (s *Store) Range(ctx context.Context, gateway string, created int64, from uint64, fn func(seq uint64, rec []byte) error) error {
	return s.rangeBranch(ctx, gateway, created, -1, from, fn)
}

// RangeBranch implements central.Store.
func (s *Store) RangeBranch(ctx context.Context, gateway string, created int64, branch int, from uint64, fn func(seq uint64, rec []byte) error) error {
	if branch < 0 {
		return nil
	}
	return s.rangeBranch(ctx, gateway, created, branch, from, fn)
}

// rangeBranch ranges the history of branch, the current one when -1.
func (s *Store) rangeBranch(ctx context.Context, gateway string, created int64, branch int, from uint64, fn func(seq uint64, rec []byte) error) error {
	return s.view(ctx, func(tx *bolt.Tx) error {
		heads, err := readHeads(tx, gateway, created)
		if err != nil {
			return err
		}
		if branch < 0 {
			branch = len(heads) - 1
		}
		if branch >= len(heads) || from > heads[branch].Seq {
			return nil
		}
		for _, sg := range central.History(heads, branch, from, heads[branch].Seq) {
			if err := rangeOwn(ctx, tx, gateway, created, sg, fn); err != nil {
				return err
			}
		}
		return nil
	})
}

// rangeOwn calls fn with the movements of sg, which its branch holds, in
// order.
func rangeOwn(ctx context.Context, tx *bolt.Tx, gateway string, created int64, sg central.Segment, fn func(seq uint64, rec []byte) error) error {
	lk := branchKey(gateway, created, sg.Branch)
	c := tx.Bucket(bucketMovements).Cursor()
	// Start at the value holding From, or else at the first after it.
	b, ok, err := findBatch(c, lk, sg.From)
	if err != nil {
		return err
	}
	start := sg.From
	if ok {
		start = b.First
	}
	next := uint64(0) // the first movement of the next value; 0 before the first value
	n := 0
	for k, v := c.Seek(movementKey(lk, start)); isMovementKey(k, lk); k, v = c.Next() {
		if n++; n%64 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		b, err := parseBatch(lk, binary.BigEndian.Uint64(k[len(lk):]), v)
		if err == nil {
			err = b.check()
		}
		if err != nil {
			return err
		}
		if next != 0 && b.First != next || next == 0 && b.First > sg.From {
			return fmt.Errorf("%w: gateway %s ledger %d branch %d: movements %d to %d follow %d", ErrCorrupt, gateway, created, sg.Branch, b.First, b.Last(), max(next, sg.From)-1)
		}
		next = b.Last() + 1
		for seq := max(b.First, sg.From); seq <= min(b.Last(), sg.To); seq++ {
			rec, err := b.record(seq)
			if err != nil {
				return err
			}
			if err := fn(seq, rec); err != nil {
				return err
			}
		}
		if b.Last() >= sg.To {
			return nil
		}
	}
	return fmt.Errorf("%w: gateway %s ledger %d branch %d: movements %d to %d missing below its head", ErrCorrupt, gateway, created, sg.Branch, max(next, sg.From), sg.To)
}

// Ledgers implements central.Store.
func (s *Store) Ledgers(ctx context.Context) ([]central.Head, error) {
	out := []central.Head{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLedgers).ForEach(func(k, v []byte) error {
			gateway, created, branch, err := parseLedgerKey(k)
			if err != nil {
				return err
			}
			h, err := decodeHead(gateway, created, v)
			if err != nil {
				return err
			}
			if branch > 0 {
				bk := binary.BigEndian.AppendUint32(ledgerKey(gateway, created), uint32(branch))
				bv := tx.Bucket(bucketBranches).Get(bk)
				if bv == nil {
					return fmt.Errorf("%w: gateway %s ledger %d: branch %d has no record", ErrCorrupt, gateway, created, branch)
				}
				r, err := decodeBranch(bk, bv)
				if err != nil {
					return err
				}
				h.Branch, h.Parent, h.Fork = branch, r.parent, r.fork
			}
			out = append(out, h)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b central.Head) int {
		return cmp.Or(strings.Compare(a.Gateway, b.Gateway), cmp.Compare(a.Created, b.Created), cmp.Compare(a.Branch, b.Branch))
	})
	return out, nil
}

// Conflicts implements central.Store.
func (s *Store) Conflicts(ctx context.Context) ([]central.Conflict, error) {
	out := []central.Conflict{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		bb := tx.Bucket(bucketBranches)
		if bb == nil {
			return nil
		}
		return bb.ForEach(func(k, v []byte) error {
			if len(k) < 4 {
				return fmt.Errorf("%w: branch key %x", ErrCorrupt, k)
			}
			gateway, created, _, err := parseLedgerKey(k[:len(k)-4])
			if err != nil {
				return err
			}
			r, err := decodeBranch(k, v)
			if err != nil {
				return err
			}
			h, err := decodeHead(gateway, created, tx.Bucket(bucketLedgers).Get(k[:len(k)-4]))
			if err != nil {
				return err
			}
			out = append(out, central.Conflict{
				Site: h.Site, Gateway: gateway, Created: created,
				Branch: int(binary.BigEndian.Uint32(k[len(k)-4:])), Parent: r.parent,
				Seq: r.fork, Held: r.held, Hash: r.hash, At: time.Unix(0, r.at),
			})
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b central.Conflict) int {
		return cmp.Or(strings.Compare(a.Gateway, b.Gateway), cmp.Compare(a.Created, b.Created), cmp.Compare(a.Branch, b.Branch))
	})
	return out, nil
}

// counterKey is site 0x00 gateway 0x00 name.
func counterKey(site, gateway, name string) []byte {
	return []byte(site + "\x00" + gateway + "\x00" + name)
}

// AddCounts implements central.Store.
func (s *Store) AddCounts(ctx context.Context, counts []central.GatewayCounts) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCounters)
		for _, gc := range counts {
			for name, n := range gc.Counts {
				if n == 0 {
					continue
				}
				k := counterKey(gc.Site, gc.Gateway, name)
				var total uint64
				if v := b.Get(k); v != nil {
					if len(v) != 8 {
						return fmt.Errorf("%w: counter %q is %d bytes", ErrCorrupt, k, len(v))
					}
					total = binary.BigEndian.Uint64(v)
				}
				if err := b.Put(k, binary.BigEndian.AppendUint64(nil, total+n)); err != nil {
					return fmt.Errorf("boltstore: put counter: %w", err)
				}
			}
		}
		return nil
	})
}

// Counts implements central.Store.
func (s *Store) Counts(ctx context.Context) ([]central.GatewayCounts, error) {
	out := []central.GatewayCounts{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCounters)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			parts := strings.SplitN(string(k), "\x00", 3)
			if len(parts) != 3 || len(v) != 8 {
				return fmt.Errorf("%w: counter %q", ErrCorrupt, k)
			}
			if n := len(out); n == 0 || out[n-1].Site != parts[0] || out[n-1].Gateway != parts[1] {
				out = append(out, central.GatewayCounts{Site: parts[0], Gateway: parts[1], Counts: map[string]uint64{}})
			}
			out[len(out)-1].Counts[parts[2]] = binary.BigEndian.Uint64(v)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// NextMasterVersion implements central.Store.
func (s *Store) NextMasterVersion(ctx context.Context, site, set string, atLeast uint64) (uint64, error) {
	var v uint64
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketMaster)
		k := append(append([]byte(site), 0), set...)
		if old := b.Get(k); old != nil {
			if len(old) != 8 {
				return fmt.Errorf("%w: master version of %s/%s is %d bytes", ErrCorrupt, site, set, len(old))
			}
			v = binary.BigEndian.Uint64(old)
		}
		v = max(v+1, atLeast)
		return b.Put(k, binary.BigEndian.AppendUint64(nil, v))
	})
	if err != nil {
		return 0, err
	}
	return v, nil
}
