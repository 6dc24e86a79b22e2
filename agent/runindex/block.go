package runindex

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"sort"

	bolt "go.etcd.io/bbolt"
)

// blockWriter writes entries, in increasing order, into blocks of one
// run's bucket.
type blockWriter struct {
	b       *bolt.Bucket
	a       *Arena
	target  int      // Config.Block
	buf     []byte   // the entries of the block being built
	ends    []uint32 // where each ends in buf
	written uint64   // entries in blocks put
}

// full reports whether e must start a new block.
func (w *blockWriter) full(e []byte) bool {
	return len(w.ends) > 0 && 4+4*(len(w.ends)+1)+len(w.buf)+len(e)+4 > w.target
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
	v := w.a.Alloc(4 + 4*n + len(w.buf) + 4)
	v = binary.BigEndian.AppendUint32(v, uint32(n))
	for _, end := range w.ends {
		v = binary.BigEndian.AppendUint32(v, end)
	}
	v = append(v, w.buf...)
	v = binary.BigEndian.AppendUint32(v, crc32.Checksum(v, castagnoli))
	first := v[4+4*n : 4+4*n+int(w.ends[0])]
	// bbolt keeps key and value until the commit: both are in the arena.
	if err := w.b.Put(first, v[:len(v):len(v)]); err != nil {
		return fmt.Errorf("runindex: put block: %w", err)
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
		return block{}, corruptf("block of %d bytes: %s", len(v), fmt.Sprintf(format, args...))
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
		return nil, corruptf("block entry %d of %d out of bounds", i, b.n)
	}
	return b.entries[start:end], nil
}

// search returns the index of the first entry greater than e (at least
// e, when strict is false), b.n when there is none.
func (b *block) search(e []byte, strict bool) (int, error) {
	var err error
	i := sort.Search(b.n, func(i int) bool {
		x, xerr := b.entry(i)
		if xerr != nil {
			err = xerr
			return true
		}
		c := bytes.Compare(x, e)
		return c > 0 || c == 0 && !strict
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
// than key (at least key, when strict is false), or on its first entry
// when key is nil. A prefix sorts before every longer entry it starts, so
// seeking a prefix lands on the first entry that starts with it, if any.
func seekRun(b *bolt.Bucket, key []byte, strict bool) (*runIter, error) {
	it := &runIter{c: b.Cursor()}
	var k, v []byte
	if key == nil {
		k, v = it.c.First()
	} else {
		// The block holding the first entry at or after key is the last
		// that starts at or before key, or else the first.
		k, v = it.c.Seek(key)
		switch {
		case k == nil:
			k, v = it.c.Last()
		case !bytes.Equal(k, key):
			if pk, pv := it.c.Prev(); pk != nil {
				k, v = pk, pv
			} else {
				k, v = it.c.First()
			}
		}
	}
	if err := it.load(k, v); err != nil || it.entry == nil || key == nil {
		return it, err
	}
	i, err := it.blk.search(key, strict)
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
		return corruptf("run holds a bucket")
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
		return corruptf("run out of order")
	}
	return nil
}
