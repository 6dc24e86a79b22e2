package boltstore

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/bits"
	"slices"
	"sort"

	bolt "go.etcd.io/bbolt"
)

// The index from item and tag keys to movements. It has one entry per key
// of a movement (central.IndexKeys):
//
//	key 0x00 gateway 0x00 created(8) seq(8)
//
// Movements arrive in sequence order but their keys in no order at all,
// and a B+tree rewrites a whole page for every entry put in a page of its
// own: in an index larger than a transaction, about one 4 KiB page per
// entry. So the index is a log-structured merge of sorted runs:
//
//   - Every Append sorts its entries and writes them as a new run: a
//     bucket of blocks, each holding consecutive entries and stored under
//     the first of them, written front to back (so each page is written
//     once, full).
//   - A trace seeks its key in every run: a cursor seek to its block and
//     a binary search in it, never a scan.
//   - A run's level is floor(log8(entries)). When mergeFan runs of one
//     level are live, they are merged into one run of a higher level, so
//     that there are at most a few runs per level and O(log n) levels, and
//     every entry is rewritten about once per level it climbs, front to
//     back, as whole blocks.
//   - Small merges complete in the transaction that makes them due. A
//     large one proceeds in steps, mergeWork entries for every entry
//     appended (at least mergeMinStep), in the Append transactions that
//     follow; its state is in the meta bucket under "merge", its run is
//     not listed in the runs bucket until it is complete, and its sources
//     stay listed and intact until then, so a trace always reads every
//     entry exactly once. Each step commits with its Append: a crash
//     leaves the merge where the last commit left it.
//
// The buckets:
//
//	runs   run(8) → entries(8): the live runs, which a trace reads
//	index  run(8) → bucket of the run: first entry → block
//
// where run is an 8-byte big-endian id, the next of which is in the meta
// bucket under "run". A block is:
//
//	count    4 bytes big-endian, n ≥ 1
//	ends     n × 4 bytes big-endian: where entry i ends, counted from the
//	         first byte of entry 0; entry i starts where entry i-1 ends
//	entries  the n entries back to back, in increasing order
//	crc      4 bytes big-endian CRC-32C (Castagnoli) of everything before
//
// so that a lookup finds its place in a block by binary search. The merge
// in progress, meta "merge", is dest(8) written(8) followed by
// id(8) entries(8) of every source run: entries up to the last one in run
// dest are merged; the others are merged after it.
const (
	// mergeFan is how many runs of one level are merged at once.
	mergeFan = 8
	// mergeWork is how many entries a merge step writes for every entry
	// appended: more than the levels an entry climbs in an index of up to
	// 8^11 entries, so merges keep up with any rate of appends.
	mergeWork = 8
)

// Variables for the tests' sake, which make them small.
var (
	// mergeMinStep is the least a merge step writes.
	mergeMinStep = 1 << 14
	// mergeSmall is the size of the largest merge done in one go, in the
	// transaction that makes it due.
	mergeSmall uint64 = 1 << 16
	// blockTarget is the most bytes of an index block of more than one
	// entry.
	blockTarget = valueTarget
)

var (
	metaRun   = []byte("run")
	metaMerge = []byte("merge")
)

func u64(x uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), x) }

// appendEntry appends the index entry of key for movement seq of ledger
// lk to dst.
func appendEntry(dst []byte, key string, lk []byte, seq uint64) []byte {
	dst = append(dst, key...)
	dst = append(dst, 0)
	dst = append(dst, lk...)
	return binary.BigEndian.AppendUint64(dst, seq)
}

// level returns the level of a run of n entries: floor(log8(n)).
func level(n uint64) int { return (bits.Len64(max(n, 1)) - 1) / 3 }

// blockWriter writes entries, in increasing order, into blocks of one
// run's bucket.
type blockWriter struct {
	b       *bolt.Bucket
	a       *arena
	buf     []byte   // the entries of the block being built
	ends    []uint32 // where each ends in buf
	written uint64   // entries in blocks put
}

// full reports whether e must start a new block.
func (w *blockWriter) full(e []byte) bool {
	return len(w.ends) > 0 && 4+4*(len(w.ends)+1)+len(w.buf)+len(e)+4 > blockTarget
}

// add adds e, putting the block before it first when e does not fit.
func (w *blockWriter) add(e []byte) error {
	if w.full(e) {
		if err := w.flush(); err != nil {
			return err
		}
	}
	w.buf = append(w.buf, e...)
	w.ends = append(w.ends, uint32(len(w.buf)))
	return nil
}

// flush puts the block being built, if any, under its first entry.
func (w *blockWriter) flush() error {
	n := len(w.ends)
	if n == 0 {
		return nil
	}
	v := w.a.alloc(4 + 4*n + len(w.buf) + 4)
	v = binary.BigEndian.AppendUint32(v, uint32(n))
	for _, end := range w.ends {
		v = binary.BigEndian.AppendUint32(v, end)
	}
	v = append(v, w.buf...)
	v = binary.BigEndian.AppendUint32(v, crc32.Checksum(v, castagnoli))
	first := v[4+4*n : 4+4*n+int(w.ends[0])]
	// bbolt keeps key and value until the commit: both are in the arena.
	if err := w.b.Put(first, v[:len(v):len(v)]); err != nil {
		return fmt.Errorf("boltstore: put index block: %w", err)
	}
	w.written += uint64(n)
	w.buf, w.ends = w.buf[:0], w.ends[:0]
	return nil
}

// block is a view of a block, its checksum checked.
type block struct {
	n       int
	ends    []byte
	entries []byte
}

// parseBlock checks the block v stored under k and returns a view of it.
func parseBlock(k, v []byte) (block, error) {
	bad := func(format string, args ...any) (block, error) {
		return block{}, fmt.Errorf("%w: index block of %d bytes: %s", ErrCorrupt, len(v), fmt.Sprintf(format, args...))
	}
	if len(v) < 4+4+1+4 {
		return bad("too short")
	}
	body := v[:len(v)-4]
	if want, got := binary.BigEndian.Uint32(v[len(body):]), crc32.Checksum(body, castagnoli); want != got {
		return bad("checksum %08x, want %08x", got, want)
	}
	n := uint64(binary.BigEndian.Uint32(body))
	if n == 0 || n > uint64(len(body)-4)/5 {
		return bad("count %d out of range", n)
	}
	b := block{n: int(n), ends: body[4 : 4+4*n], entries: body[4+4*n:]}
	if b.end(b.n-1) != len(b.entries) {
		return bad("entries end at %d of %d bytes", b.end(b.n-1), len(b.entries))
	}
	if first, err := b.entry(0); err != nil || !bytes.Equal(first, k) {
		return bad("first entry is not its key")
	}
	return b, nil
}

func (b *block) end(i int) int { return int(binary.BigEndian.Uint32(b.ends[4*i:])) }

// entry returns entry i, 0 ≤ i < b.n.
func (b *block) entry(i int) ([]byte, error) {
	start := 0
	if i > 0 {
		start = b.end(i - 1)
	}
	end := b.end(i)
	if start >= end || end > len(b.entries) {
		return nil, fmt.Errorf("%w: index block: entry %d of %d out of bounds", ErrCorrupt, i, b.n)
	}
	return b.entries[start:end], nil
}

// after returns the index of the first entry greater than e, b.n when
// there is none.
func (b *block) after(e []byte) (int, error) {
	var err error
	i := sort.Search(b.n, func(i int) bool {
		x, xerr := b.entry(i)
		if xerr != nil {
			err = xerr
			return true
		}
		return bytes.Compare(x, e) > 0
	})
	return i, err
}

// runIter walks the entries of one run in order. Its entries are bbolt's
// memory: valid until the transaction ends.
type runIter struct {
	c     *bolt.Cursor
	blk   block
	i     int    // the index of entry in blk
	entry []byte // the current entry; nil past the last
}

// seekRun returns an iterator on the first entry of run bucket b greater
// than after, or on its first entry when after is nil.
func seekRun(b *bolt.Bucket, after []byte) (*runIter, error) {
	it := &runIter{c: b.Cursor()}
	var k, v []byte
	if after == nil {
		k, v = it.c.First()
	} else {
		// The block holding the first entry greater than after is the
		// last that starts at or before after, or else the first.
		k, v = it.c.Seek(after)
		switch {
		case k == nil:
			k, v = it.c.Last()
		case !bytes.Equal(k, after):
			if pk, pv := it.c.Prev(); pk != nil {
				k, v = pk, pv
			} else {
				k, v = it.c.First()
			}
		}
	}
	if err := it.load(k, v); err != nil || it.entry == nil || after == nil {
		return it, err
	}
	i, err := it.blk.after(after)
	if err != nil {
		return nil, err
	}
	if i == it.blk.n {
		return it, it.load(it.c.Next())
	}
	it.i = i
	it.entry, err = it.blk.entry(i)
	return it, err
}

// load starts on the first entry of block k, v (past the last entry when
// k is nil).
func (it *runIter) load(k, v []byte) error {
	it.entry, it.i = nil, 0
	if k == nil {
		return nil
	}
	if v == nil {
		return fmt.Errorf("%w: index run holds a bucket", ErrCorrupt)
	}
	var err error
	if it.blk, err = parseBlock(k, v); err != nil {
		return err
	}
	it.entry, err = it.blk.entry(0)
	return err
}

// next moves to the next entry, checking that entries increase.
func (it *runIter) next() error {
	prev := it.entry
	if it.i++; it.i == it.blk.n {
		if err := it.load(it.c.Next()); err != nil || it.entry == nil {
			return err
		}
	} else {
		var err error
		if it.entry, err = it.blk.entry(it.i); err != nil {
			return err
		}
	}
	if bytes.Compare(it.entry, prev) <= 0 {
		return fmt.Errorf("%w: index run out of order", ErrCorrupt)
	}
	return nil
}

// run is a run of the index: its id and number of entries.
type run struct{ id, n uint64 }

// merge is a merge in progress: the runs it merges into run dest, and how
// many of their entries it wrote.
type merge struct {
	dest    uint64
	written uint64
	srcs    []run
}

func (m *merge) total() (n uint64) {
	for _, r := range m.srcs {
		n += r.n
	}
	return n
}

func (m *merge) encode() []byte {
	v := make([]byte, 0, 16+16*len(m.srcs))
	v = binary.BigEndian.AppendUint64(v, m.dest)
	v = binary.BigEndian.AppendUint64(v, m.written)
	for _, r := range m.srcs {
		v = binary.BigEndian.AppendUint64(v, r.id)
		v = binary.BigEndian.AppendUint64(v, r.n)
	}
	return v
}

func decodeMerge(v []byte) (*merge, error) {
	if len(v) < 16+16 || len(v)%16 != 0 {
		return nil, fmt.Errorf("%w: merge state of %d bytes", ErrCorrupt, len(v))
	}
	m := &merge{dest: binary.BigEndian.Uint64(v), written: binary.BigEndian.Uint64(v[8:])}
	for v = v[16:]; len(v) > 0; v = v[16:] {
		m.srcs = append(m.srcs, run{binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:])})
	}
	return m, nil
}

// indexTx is the index in one transaction. a, for blocks written, is nil
// in a read transaction.
type indexTx struct {
	meta, runs, index *bolt.Bucket
	a                 *arena
}

func newIndexTx(tx *bolt.Tx, a *arena) *indexTx {
	return &indexTx{meta: tx.Bucket(bucketMeta), runs: tx.Bucket(bucketRuns), index: tx.Bucket(bucketIndex), a: a}
}

// live returns the live runs, oldest first.
func (x *indexTx) live() ([]run, error) {
	var out []run
	err := x.runs.ForEach(func(k, v []byte) error {
		if len(k) != 8 || len(v) != 8 {
			return fmt.Errorf("%w: run entry of %d and %d bytes", ErrCorrupt, len(k), len(v))
		}
		out = append(out, run{binary.BigEndian.Uint64(k), binary.BigEndian.Uint64(v)})
		return nil
	})
	return out, err
}

// bucket returns the bucket of run id.
func (x *indexTx) bucket(id uint64) (*bolt.Bucket, error) {
	b := x.index.Bucket(u64(id))
	if b == nil {
		return nil, fmt.Errorf("%w: index run %d missing", ErrCorrupt, id)
	}
	b.FillPercent = 1.0 // runs are written front to back only
	return b, nil
}

// create creates the bucket of a new run and returns its id.
func (x *indexTx) create() (uint64, *bolt.Bucket, error) {
	var id uint64
	if v := x.meta.Get(metaRun); v != nil {
		if len(v) != 8 {
			return 0, nil, fmt.Errorf("%w: next run id of %d bytes", ErrCorrupt, len(v))
		}
		id = binary.BigEndian.Uint64(v)
	}
	if err := x.meta.Put(metaRun, u64(id+1)); err != nil {
		return 0, nil, fmt.Errorf("boltstore: put next run id: %w", err)
	}
	b, err := x.index.CreateBucket(u64(id))
	if err != nil {
		return 0, nil, fmt.Errorf("boltstore: create index run %d: %w", id, err)
	}
	b.FillPercent = 1.0
	return id, b, nil
}

// add writes entries, sorted and distinct, as a new live run.
func (x *indexTx) add(entries [][]byte) error {
	id, b, err := x.create()
	if err != nil {
		return err
	}
	w := blockWriter{b: b, a: x.a}
	for _, e := range entries {
		if err := w.add(e); err != nil {
			return err
		}
	}
	if err := w.flush(); err != nil {
		return err
	}
	return x.runs.Put(u64(id), u64(uint64(len(entries))))
}

// due returns the runs to merge next: the mergeFan oldest of the lowest
// level with that many live runs outside the merge m, or nil.
func due(runs []run, m *merge) []run {
	var byLevel [22][]run // the level of 2^64-1 is 21
	for _, r := range runs {
		if m == nil || !slices.ContainsFunc(m.srcs, func(s run) bool { return s.id == r.id }) {
			byLevel[level(r.n)] = append(byLevel[level(r.n)], r)
		}
	}
	for _, at := range byLevel {
		if len(at) >= mergeFan {
			slices.SortFunc(at, func(a, b run) int { return cmp.Compare(a.id, b.id) })
			return at[:mergeFan]
		}
	}
	return nil
}

// compact merges what is due, writing at most about budget entries in
// merges larger than mergeSmall.
func (x *indexTx) compact(budget int) error {
	runs, err := x.live()
	if err != nil {
		return err
	}
	var m *merge
	if v := x.meta.Get(metaMerge); v != nil {
		if m, err = decodeMerge(v); err != nil {
			return err
		}
	}
	// Small merges first, whatever large one is under way.
	for {
		srcs := due(runs, m)
		if srcs == nil || (&merge{srcs: srcs}).total() > mergeSmall {
			break
		}
		small, err := x.start(srcs)
		if err != nil {
			return err
		}
		if _, _, err := x.step(small, -1); err != nil {
			return err
		}
		if runs, err = x.finish(small, runs); err != nil {
			return err
		}
	}
	for budget > 0 {
		if m == nil {
			srcs := due(runs, nil)
			if srcs == nil {
				break
			}
			if m, err = x.start(srcs); err != nil {
				return err
			}
		}
		used, done, err := x.step(m, budget)
		if err != nil {
			return err
		}
		budget -= used
		if !done {
			break
		}
		if runs, err = x.finish(m, runs); err != nil {
			return err
		}
		m = nil
	}
	if m != nil {
		return x.meta.Put(metaMerge, m.encode())
	}
	if x.meta.Get(metaMerge) != nil {
		return x.meta.Delete(metaMerge)
	}
	return nil
}

// start creates the run of a merge of srcs.
func (x *indexTx) start(srcs []run) (*merge, error) {
	id, _, err := x.create()
	if err != nil {
		return nil, err
	}
	return &merge{dest: id, srcs: slices.Clone(srcs)}, nil
}

// step merges the entries of m's sources after the last one in its run,
// front to back, until their end or, once budget entries are written (a
// negative budget has no limit), the end of a block. It returns how many
// it wrote and whether the merge is complete.
func (x *indexTx) step(m *merge, budget int) (used int, done bool, err error) {
	dest, err := x.bucket(m.dest)
	if err != nil {
		return 0, false, err
	}
	var after []byte
	if m.written > 0 {
		last, err := seekLast(dest)
		if err != nil {
			return 0, false, err
		}
		after = last
	}
	its := make([]*runIter, len(m.srcs))
	for i, r := range m.srcs {
		b, err := x.bucket(r.id)
		if err != nil {
			return 0, false, err
		}
		if its[i], err = seekRun(b, after); err != nil {
			return 0, false, err
		}
	}
	w := blockWriter{b: dest, a: x.a}
	defer func() { m.written += w.written }()
	for {
		var least *runIter
		for _, it := range its {
			if it.entry != nil && (least == nil || bytes.Compare(it.entry, least.entry) < 0) {
				least = it
			}
		}
		if least == nil {
			return used, true, w.flush()
		}
		if w.full(least.entry) {
			if err := w.flush(); err != nil {
				return used, false, err
			}
			if budget >= 0 && used >= budget {
				return used, false, nil
			}
		}
		if err := w.add(least.entry); err != nil {
			return used, false, err
		}
		used++
		if err := least.next(); err != nil {
			return used, false, err
		}
	}
}

// seekLast returns a copy of the last entry of run bucket b.
func seekLast(b *bolt.Bucket) ([]byte, error) {
	k, v := b.Cursor().Last()
	if k == nil {
		return nil, fmt.Errorf("%w: merge state counts entries in an empty run", ErrCorrupt)
	}
	blk, err := parseBlock(k, v)
	if err != nil {
		return nil, err
	}
	last, err := blk.entry(blk.n - 1)
	return bytes.Clone(last), err
}

// finish makes the complete merge m's run live in place of its sources,
// and returns runs so changed.
func (x *indexTx) finish(m *merge, runs []run) ([]run, error) {
	if total := m.total(); m.written != total {
		return nil, fmt.Errorf("%w: merge into run %d wrote %d entries of %d", ErrCorrupt, m.dest, m.written, total)
	}
	for _, r := range m.srcs {
		if err := x.index.DeleteBucket(u64(r.id)); err != nil {
			return nil, fmt.Errorf("boltstore: delete index run %d: %w", r.id, err)
		}
		if err := x.runs.Delete(u64(r.id)); err != nil {
			return nil, fmt.Errorf("boltstore: delete index run %d: %w", r.id, err)
		}
	}
	if err := x.runs.Put(u64(m.dest), u64(m.written)); err != nil {
		return nil, fmt.Errorf("boltstore: put index run %d: %w", m.dest, err)
	}
	runs = slices.DeleteFunc(runs, func(r run) bool {
		return slices.ContainsFunc(m.srcs, func(s run) bool { return s.id == r.id })
	})
	return append(runs, run{m.dest, m.written}), nil
}

// lookup calls fn with every entry that starts with prefix, in every live
// run, run by run.
func (x *indexTx) lookup(prefix []byte, fn func(e []byte) error) error {
	c := x.runs.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		b := x.index.Bucket(k)
		if b == nil {
			return fmt.Errorf("%w: index run %x missing", ErrCorrupt, k)
		}
		it, err := seekRun(b, prefix)
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
