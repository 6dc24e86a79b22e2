// Package runindex keeps a sorted set of byte-string entries in a bbolt
// file, for an index whose entries arrive in no order of key, as a
// log-structured merge of sorted runs. Both the gateway's ledger
// (agent/bolt) and the central store (sync/central/boltstore) index item
// keys to movements with it.
//
// A B+tree rewrites a whole page for every entry put in a page of its own
// and costs a cursor seek and a node update per entry, so an index written
// entry by entry costs more than the data it indexes. Here:
//
//   - Every Add writes its entries, sorted by its caller, as a new run: a
//     bucket of blocks, each holding consecutive entries and stored under
//     the first of them, written front to back (so each page is written
//     once, full), a few puts for thousands of entries.
//   - A lookup seeks its prefix in every live run: a cursor seek to its
//     block and a binary search in it, never a scan.
//   - A run's level is floor(log8(entries)). When Fan runs of one level are
//     live, they are merged into one run of a higher level, so that there
//     are few runs per level (Fan-1, and more while a large merge of that
//     level is under way) and O(log n) levels, and every entry
//     is rewritten about once per level it climbs, front to back, as whole
//     blocks.
//   - Small merges complete in the transaction that makes them due. A large
//     one proceeds in steps, Work entries for every entry added (at least
//     Config.MinStep), in the Add transactions that follow; its state is in
//     the meta bucket under "merge", its run is not listed in the runs
//     bucket until it is complete, and its sources stay listed and intact
//     until then, so a lookup always reads every entry exactly once. Each
//     step commits with its Add: a crash leaves the merge where the last
//     commit left it.
//
// The caller names three buckets:
//
//	meta    "run" → the next run id(8); "merge" → the merge in progress
//	runs    run(8) → entries(8): the live runs, which a lookup reads
//	blocks  run(8) → bucket of the run: first entry → block
//
// where run is an 8-byte big-endian id. A block is:
//
//	count    4 bytes big-endian, n ≥ 1
//	ends     n × 4 bytes big-endian: where entry i ends, counted from the
//	         first byte of entry 0; entry i starts where entry i-1 ends
//	entries  the n entries back to back, in increasing order
//	crc      4 bytes big-endian CRC-32C (Castagnoli) of everything before
//
// so that a lookup finds its place in a block by binary search. The merge
// in progress, meta "merge", is dest(8) written(8) followed by id(8)
// entries(8) of every source run: entries up to the last one in run dest
// are merged; the others are merged after it.
package runindex

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	bolt "go.etcd.io/bbolt"
)

const (
	// Fan is how many runs of one level are merged at once.
	Fan = 8
	// Work is how many entries a merge step writes for every entry added:
	// more than the levels an entry climbs in an index of up to 8^11
	// entries, so merges keep up with any rate of adds.
	Work = 8
)

// ErrCorrupt is wrapped by every error about index data that is not well
// formed.
var ErrCorrupt = errors.New("runindex: corrupt index")

// Meta keys of the index's state: part of the file format of the files
// that hold an index.
var (
	metaRun   = []byte("run")
	metaMerge = []byte("merge")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Config sizes an index's blocks and merges. Zero fields take the
// defaults; tests make them small to see every kind of merge with few
// entries.
type Config struct {
	// Block is the most bytes of a block of more than one entry. Default
	// 8000: two 4 KiB pages with bbolt's headers.
	Block int
	// Small is the most entries of a merge done in one go, in the
	// transaction that makes it due. Default 65536.
	Small uint64
	// MinStep is the least number of entries a step of a larger merge
	// writes. Default 16384.
	MinStep int
}

func (c Config) withDefaults() Config {
	if c.Block <= 0 {
		c.Block = 8000
	}
	if c.Small == 0 {
		c.Small = 1 << 16
	}
	if c.MinStep <= 0 {
		c.MinStep = 1 << 14
	}
	return c
}

// Index is the index in one bbolt transaction.
type Index struct {
	meta, runs, blocks *bolt.Bucket
	cfg                Config
	a                  *Arena
}

// In returns the index held in the given buckets of one transaction. a,
// for the blocks written, may be nil in a read transaction; in a write
// transaction it must be reset only after the transaction ended.
func In(meta, runs, blocks *bolt.Bucket, cfg Config, a *Arena) *Index {
	return &Index{meta: meta, runs: runs, blocks: blocks, cfg: cfg.withDefaults(), a: a}
}

func u64(x uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), x) }

func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// short returns at most the first 32 bytes of a key read from the file,
// for an error: a damaged key may claim any length.
func short(k []byte) []byte { return k[:min(len(k), 32)] }

// Add writes entries, which must be sorted, not empty and distinct from
// each other and from every entry already in the index (callers make
// them so, for example by ending each with a sequence number), as a new
// live run and then merges what is due, writing at most about Work
// entries for every one added (at least MinStep) in merges larger than
// Small. Nothing is written for no entries.
func (x *Index) Add(entries [][]byte) error {
	if err := x.AddRun(entries); err != nil || len(entries) == 0 {
		return err
	}
	return x.compact(Work*len(entries) + x.cfg.MinStep)
}

// AddRun is Add without the merges: the new run stays beside the others
// until a later Add merges it. It is for a caller that must go on adding
// while a merge cannot proceed (a damaged run it would read), at the cost
// of more runs for lookups to read.
func (x *Index) AddRun(entries [][]byte) error {
	if len(entries) == 0 {
		return nil
	}
	for i := 1; i < len(entries); i++ {
		if bytes.Compare(entries[i-1], entries[i]) >= 0 {
			return fmt.Errorf("runindex: add: entry %d does not sort after the one before", i)
		}
	}
	if x.a == nil {
		x.a = &Arena{}
	}
	id, b, err := x.create()
	if err != nil {
		return err
	}
	w := blockWriter{b: b, a: x.a, target: x.cfg.Block}
	for _, e := range entries {
		if err := w.add(e); err != nil {
			return err
		}
	}
	if err := w.flush(); err != nil {
		return err
	}
	if err := x.runs.Put(u64(id), u64(uint64(len(entries)))); err != nil {
		return fmt.Errorf("runindex: put run %d: %w", id, err)
	}
	return nil
}

// Lookup calls fn with every entry that starts with prefix, in every live
// run, run by run, oldest run first: in order within a run, in no order
// across runs. The entry is bbolt's memory, valid during the call.
func (x *Index) Lookup(prefix []byte, fn func(e []byte) error) error {
	c := x.runs.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		b := x.blocks.Bucket(k)
		if b == nil {
			return corruptf("run %x missing", short(k))
		}
		it, err := seekRun(b, prefix, false)
		if err != nil {
			return err
		}
		for it.entry != nil && bytes.HasPrefix(it.entry, prefix) {
			if err := fn(it.entry); err != nil {
				return err
			}
			if err := it.next(); err != nil {
				return err
			}
		}
	}
	return nil
}

// State is the shape of an index.
type State struct {
	// Runs are the entries of each live run, oldest first.
	Runs []uint64
	// Entries is their sum.
	Entries uint64
	// Merging is how many entries the merge in progress has written, -1
	// when none is in progress.
	Merging int64
}

// State returns the shape of the index.
func (x *Index) State() (State, error) {
	s := State{Merging: -1}
	live, err := x.live()
	if err != nil {
		return s, err
	}
	for _, r := range live {
		s.Runs = append(s.Runs, r.n)
		s.Entries += r.n
	}
	if v := x.meta.Get(metaMerge); v != nil {
		m, err := decodeMerge(v)
		if err != nil {
			return s, err
		}
		s.Merging = int64(m.written)
	}
	return s, nil
}

// Check walks the whole index and calls fn with every entry of every live
// run, run by run. It fails when a block is damaged (checksum, count,
// bounds, key), a run is out of order or holds another number of entries
// than listed, a run's bucket is missing, a bucket is neither a live run
// nor the merge's, or the merge in progress does not agree with its
// sources. The entry is bbolt's memory, valid during the call.
func (x *Index) Check(fn func(e []byte) error) error {
	live, err := x.live()
	if err != nil {
		return err
	}
	buckets := map[uint64]bool{}
	for _, r := range live {
		buckets[r.id] = true
	}
	var m *merge
	if v := x.meta.Get(metaMerge); v != nil {
		if m, err = decodeMerge(v); err != nil {
			return err
		}
		if err := m.agrees(live); err != nil {
			return err
		}
		buckets[m.dest] = true
	}
	err = x.blocks.ForEachBucket(func(k []byte) error {
		if len(k) != 8 || !buckets[binary.BigEndian.Uint64(k)] {
			return corruptf("bucket %x is neither a live run nor a merge's", short(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	walk := func(id uint64, fn func(e []byte) error) (uint64, error) {
		b, err := x.bucket(id)
		if err != nil {
			return 0, err
		}
		it, err := seekRun(b, nil, false)
		if err != nil {
			return 0, err
		}
		n := uint64(0)
		for ; it.entry != nil; n++ {
			if err := fn(it.entry); err != nil {
				return 0, err
			}
			if err := it.next(); err != nil {
				return 0, err
			}
		}
		return n, nil
	}
	for _, r := range live {
		n, err := walk(r.id, fn)
		if err != nil {
			return err
		}
		if n != r.n {
			return corruptf("run %d holds %d entries, listed with %d", r.id, n, r.n)
		}
	}
	if m == nil {
		return nil
	}
	var last []byte
	n, err := walk(m.dest, func(e []byte) error { last = append(last[:0], e...); return nil })
	if err != nil {
		return err
	}
	if n != m.written {
		return corruptf("merge run %d holds %d entries, its state says %d", m.dest, n, m.written)
	}
	// Every entry written is one of the sources' up to the last.
	for _, src := range m.srcs {
		_, err := walk(src.id, func(e []byte) error {
			if bytes.Compare(e, last) <= 0 {
				n--
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if n != 0 {
		return corruptf("merge run %d does not hold its sources' entries up to its last", m.dest)
	}
	return nil
}
