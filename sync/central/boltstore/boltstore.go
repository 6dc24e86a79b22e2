// Package boltstore is the central service's Store (sync/central) in one
// bbolt file: the movements of every gateway's ledgers exactly as
// received, the head of each ledger, an index from item and tag keys to
// movements, and the version of each master data set published.
//
// The file holds six buckets:
//
//	meta       "format" → 2; "run" → the next index run id(8);
//	           "merge" → the index merge in progress, if any
//	ledgers    gateway 0x00 created(8) → seq(8) hash(32) site
//	movements  gateway 0x00 created(8) first(8) → batch value: the records
//	           of movements first … first+n-1 (agent/record encoding)
//	runs       run(8) → entries(8): the live runs of the index
//	index      run(8) → bucket of the run's blocks of index entries,
//	           key 0x00 gateway 0x00 created(8) seq(8), sorted
//	master     site 0x00 set → version(8)
//
// where created, seq, first and run are 8 bytes big-endian. batch.go
// describes batch values, index.go the index (an agent/runindex
// log-structured merge of sorted runs, so that entries arriving in no
// order of key are written front to back). One Append is one write transaction, fsynced on commit:
// a few puts per batch of movements, one for its new index run, whatever
// merge of index runs is due; a trace is a seek in each run of the index
// and a seek to each movement's batch value. Format 1 (a value per
// movement, an index B+tree of one key per entry) is refused with
// ErrFormat.
//
// What the package must never do: change or delete a movement once
// stored, store a movement that does not extend its ledger's checked chain
// (sync/central.CheckAppend decides), set bbolt's NoSync, or log anything
// (it has no logger: errors carry sequence numbers, never item or patient
// data).
package boltstore

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/agent/runindex"
	"github.com/udi-edge/udi-edge/sync/central"
	bolt "go.etcd.io/bbolt"
	bolterr "go.etcd.io/bbolt/errors"
)

// Format is the version of the file's layout.
const Format = 2

var (
	bucketMeta      = []byte("meta")
	bucketLedgers   = []byte("ledgers")
	bucketMovements = []byte("movements")
	bucketRuns      = []byte("runs")
	bucketIndex     = []byte("index")
	bucketMaster    = []byte("master")
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
		err = db.View(checkFormat)
	} else {
		err = db.Update(func(tx *bolt.Tx) error {
			meta := tx.Bucket(bucketMeta)
			if meta == nil {
				if k, _ := tx.Cursor().First(); k != nil {
					return fmt.Errorf("%w: %s holds buckets but no meta", ErrFormat, path)
				}
				for _, name := range [][]byte{bucketMeta, bucketLedgers, bucketMovements, bucketRuns, bucketIndex, bucketMaster} {
					if _, err := tx.CreateBucket(name); err != nil {
						return fmt.Errorf("boltstore: create bucket %s: %w", name, err)
					}
				}
				return tx.Bucket(bucketMeta).Put(metaFormat, binary.BigEndian.AppendUint64(nil, Format))
			}
			return checkFormat(tx)
		})
	}
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

func checkFormat(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return fmt.Errorf("%w: no meta bucket", ErrFormat)
	}
	v := meta.Get(metaFormat)
	if len(v) != 8 || binary.BigEndian.Uint64(v) != Format {
		if len(v) == 8 && binary.BigEndian.Uint64(v) < Format {
			return fmt.Errorf("%w: format %d, an older layout this version does not read; want %d", ErrFormat, binary.BigEndian.Uint64(v), Format)
		}
		return fmt.Errorf("%w: format %x, want %d", ErrFormat, v, Format)
	}
	for _, name := range [][]byte{bucketLedgers, bucketMovements, bucketRuns, bucketIndex, bucketMaster} {
		if tx.Bucket(name) == nil {
			return fmt.Errorf("%w: bucket %s missing", ErrFormat, name)
		}
	}
	return nil
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

// view and update run fn in a transaction, after checking ctx.
func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.mapErr(s.db.View(fn))
}

func (s *Store) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.mapErr(s.db.Update(func(tx *bolt.Tx) error {
		// The write transaction before this one has ended: bbolt holds
		// nothing of the arena any more, and no other writer can run.
		s.scratch.Reset()
		return fn(tx)
	}))
}

func (s *Store) mapErr(err error) error {
	if errors.Is(err, bolterr.ErrDatabaseNotOpen) {
		return fmt.Errorf("boltstore: %w", central.ErrClosed)
	}
	return err
}

// ledgerKey is gateway 0x00 created.
func ledgerKey(gateway string, created int64) []byte {
	k := make([]byte, 0, len(gateway)+1+8+8)
	k = append(k, gateway...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, uint64(created))
}

// movementKey is the ledger key followed by seq.
func movementKey(lk []byte, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(slices.Clip(lk), seq)
}

// readHead reads the head of a ledger in tx.
func readHead(tx *bolt.Tx, gateway string, created int64) (central.Head, error) {
	v := tx.Bucket(bucketLedgers).Get(ledgerKey(gateway, created))
	if v == nil {
		return central.EmptyHead(gateway, created), nil
	}
	return decodeHead(gateway, created, v)
}

func decodeHead(gateway string, created int64, v []byte) (central.Head, error) {
	if len(v) < 8+central.HashSize {
		return central.Head{}, fmt.Errorf("%w: head of gateway %s ledger %d is %d bytes", ErrCorrupt, gateway, created, len(v))
	}
	return central.Head{
		Gateway: gateway,
		Created: created,
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

// Head implements central.Store.
func (s *Store) Head(ctx context.Context, gateway string, created int64) (central.Head, error) {
	var h central.Head
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		h, err = readHead(tx, gateway, created)
		return err
	})
	return h, err
}

// heldHash returns a function reading the Hash of a held movement.
func heldHash(tx *bolt.Tx, lk []byte) func(seq uint64) ([central.HashSize]byte, error) {
	r := newBatchReader(tx, lk)
	return func(seq uint64) ([central.HashSize]byte, error) {
		rec, ok, err := r.get(seq)
		if err != nil {
			return [central.HashSize]byte{}, err
		}
		if !ok || len(rec) < record.Tail {
			return [central.HashSize]byte{}, fmt.Errorf("%w: movement %d of ledger %x missing or short", ErrCorrupt, seq, lk)
		}
		_, h := record.Hashes(rec)
		return h, nil
	}
}

// Append implements central.Store. A batch of movements all held already
// is compared in a read transaction and costs no write.
func (s *Store) Append(ctx context.Context, site, gateway string, created int64, recs []central.Stored) (central.Head, int, error) {
	lk := ledgerKey(gateway, created)
	var head central.Head
	var fresh int
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		if head, err = readHead(tx, gateway, created); err != nil {
			return err
		}
		fresh, err = central.CheckAppend(head, site, recs, heldHash(tx, lk))
		return err
	})
	if err != nil || fresh == len(recs) {
		return head, 0, err
	}
	err = s.update(ctx, func(tx *bolt.Tx) error {
		// Read again: another writer of this file may have moved the head.
		var err error
		if head, err = readHead(tx, gateway, created); err != nil {
			return err
		}
		if fresh, err = central.CheckAppend(head, site, recs, heldHash(tx, lk)); err != nil {
			return err
		}
		if fresh == len(recs) {
			return nil // stored meanwhile by another writer: the head stays
		}
		add := recs[fresh:]
		if err := putBatches(tx.Bucket(bucketMovements), lk, add, &s.scratch); err != nil {
			return err
		}
		if entries := indexEntries(lk, add, &s.scratch); len(entries) > 0 {
			if err := indexIn(tx, &s.scratch).Add(entries); err != nil {
				return indexErr(err)
			}
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
	return head, len(recs) - fresh, nil
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
		// Runs hold entries in no order of each other: in order of gateway,
		// ledger and sequence number, as the index key sorts them.
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
			gateway, created, seq, _ := parseIndexKey(e, len(key))
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
				return fmt.Errorf("%w: indexed movement %d of gateway %s ledger %d missing", ErrCorrupt, seq, gateway, created)
			}
			m, err := record.Decode(seq, rec)
			if err != nil {
				return fmt.Errorf("boltstore: gateway %s ledger %d: %w", gateway, created, err)
			}
			out = append(out, central.Traced{Site: site, Created: created, Movement: m})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parseIndexKey splits an index entry, key 0x00 gateway 0x00 created seq,
// read from the end (gateway ids hold no NUL; item keys might). ok is false
// when its key is not keyLen bytes long.
func parseIndexKey(k []byte, keyLen int) (gateway string, created int64, seq uint64, ok bool) {
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
	lk := ledgerKey(gateway, created)
	from = max(from, 1)
	return s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketMovements).Cursor()
		// Start at the value holding from, or else at the first after it.
		b, ok, err := findBatch(c, lk, from)
		if err != nil {
			return err
		}
		start := from
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
			if next != 0 && b.First != next {
				return fmt.Errorf("%w: gateway %s ledger %d: movements %d to %d follow %d", ErrCorrupt, gateway, created, b.First, b.Last(), next-1)
			}
			next = b.Last() + 1
			for seq := max(b.First, from); seq <= b.Last(); seq++ {
				rec, err := b.record(seq)
				if err != nil {
					return err
				}
				if err := fn(seq, rec); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// Ledgers implements central.Store.
func (s *Store) Ledgers(ctx context.Context) ([]central.Head, error) {
	out := []central.Head{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLedgers).ForEach(func(k, v []byte) error {
			i := bytes.IndexByte(k, 0)
			if i < 1 || len(k) != i+1+8 {
				return fmt.Errorf("%w: ledger key of %d bytes", ErrCorrupt, len(k))
			}
			h, err := decodeHead(string(k[:i]), int64(binary.BigEndian.Uint64(k[i+1:])), v)
			if err != nil {
				return err
			}
			out = append(out, h)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b central.Head) int {
		return cmp.Or(strings.Compare(a.Gateway, b.Gateway), cmp.Compare(a.Created, b.Created))
	})
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
