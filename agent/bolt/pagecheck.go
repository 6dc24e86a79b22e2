package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"strings"
)

// The page check: the ledger's own check of the bbolt file's structure,
// read with ReadAt, never through bbolt's memory map, so that no damage
// can make it panic, fault or loop. bbolt's Tx.Check is not used: it
// runs in a goroutine of its own, where a page reference out of the map
// faults the whole process, and it walks a damaged page's overflow count
// and branch references without bound. It runs in two modes.
//
// Full (Verify) covers what Tx.Check does and more:
//
//   - both meta pages (magic, version, checksum), and which one bbolt uses;
//   - the freelist page: its header, and every id in it within the file
//     and listed once;
//   - every page reachable from the root bucket: its id within the high
//     water mark and in its header, its type, each page (and each of its
//     overflow pages) reached once and not free, the element table and the
//     keys and values packed after it exactly as bbolt writes them, keys
//     in strictly increasing order and within the range the parent's
//     keys give, each branch key the first key of its child, a tree at
//     most 64 levels deep, leaf element flags that are 0 or "bucket", and
//     every inline bucket's page whole;
//   - every page below the high water mark either reachable or free.
//
// Quick (Open and OpenReadOnly) reads only what bbolt follows references
// through: the meta and freelist pages, the branch pages of every bucket,
// and the leaves of the buckets that hold buckets (the root, "index",
// "rebuild"); the leaves of the others are claimed unread, their level
// known from the leftmost path (bbolt's B+trees are balanced). Damage
// there is what could send bbolt's descent round for ever: a branch
// whose count grew reads stale bytes as children, and a child that is an
// ancestor, or a free page still holding an old branch, is a loop no
// recover can stop. The buckets where it finds damage are unsafe: the
// ledger does not read them through bbolt (reads return a *CorruptError),
// and a writable Open refuses the file. Damage in a data leaf makes bbolt
// panic at worst (guard.go) or shows in the records' own checksums.
//
// Bytes neither mode covers, and damage to which no read of the ledger
// notices either: free pages, pages past the high water mark, the slack
// after the last value of a page, the meta pages' headers and the bytes
// after the meta, the freelist page after its last id.

// bbolt's file format (go.etcd.io/bbolt internal/common), in the
// machine's byte order.
const (
	bbMagic          = 0xED0CDAED
	bbVersion        = 2
	bbPageHeader     = 16 // id(8) flags(2) count(2) overflow(4)
	bbElement        = 16 // branch: pos(4) ksize(4) pgid(8); leaf: flags(4) pos(4) ksize(4) vsize(4)
	bbBucketHeader   = 16 // root(8) sequence(8)
	bbMetaSize       = 64 // magic(4) version(4) pageSize(4) flags(4) root(16) freelist(8) pgid(8) txid(8) checksum(8)
	bbFlagBranch     = 0x01
	bbFlagLeaf       = 0x02
	bbFlagMeta       = 0x04
	bbFlagFreelist   = 0x10
	bbLeafBucket     = 0x01
	bbNoFreelist     = ^uint64(0)
	maxPageTreeDepth = 64
)

var ne = binary.NativeEndian

// bbMeta is one of bbolt's two meta pages.
type bbMeta struct {
	page                       int
	magic, version, pageSize   uint32
	root, rootSeq              uint64
	freelist, hwm, txid, check uint64
	err                        error // why it is not valid; nil when it is
}

// parseMeta reads the meta at the start of page (the page's bytes).
func parseMeta(page []byte, n int) bbMeta {
	m := bbMeta{page: n}
	if len(page) < bbPageHeader+bbMetaSize {
		m.err = errors.New("shorter than a meta page")
		return m
	}
	b := page[bbPageHeader : bbPageHeader+bbMetaSize]
	m.magic, m.version, m.pageSize = ne.Uint32(b), ne.Uint32(b[4:]), ne.Uint32(b[8:])
	m.root, m.rootSeq = ne.Uint64(b[16:]), ne.Uint64(b[24:])
	m.freelist, m.hwm, m.txid, m.check = ne.Uint64(b[32:]), ne.Uint64(b[40:]), ne.Uint64(b[48:]), ne.Uint64(b[56:])
	h := fnv.New64a()
	h.Write(b[:56])
	switch {
	case m.magic != bbMagic:
		m.err = fmt.Errorf("magic %#x, not bbolt's", m.magic)
	case m.version != bbVersion:
		m.err = fmt.Errorf("version %d, not %d", m.version, bbVersion)
	case h.Sum64() != m.check:
		m.err = errors.New("checksum does not match")
	}
	return m
}

// readMetas reads both meta pages of the file, finding the page size as
// bbolt does (from meta 0, or else from meta 1 at each possible page
// size), and returns them with the page size, or an error when neither
// is valid.
func readMetas(r io.ReaderAt, size int64) ([2]bbMeta, int, error) {
	var ms [2]bbMeta
	buf := make([]byte, bbPageHeader+bbMetaSize)
	if _, err := r.ReadAt(buf, 0); err != nil {
		return ms, 0, fmt.Errorf("read meta page 0: %w", err)
	}
	ms[0] = parseMeta(buf, 0)
	ps := 0
	if ms[0].err == nil {
		ps = int(ms[0].pageSize)
	}
	for i := 0; ps == 0 && i <= 14; i++ {
		pos := int64(1024) << i
		if pos >= size-1024 {
			break
		}
		if _, err := r.ReadAt(buf, pos); err == nil {
			if m := parseMeta(buf, 1); m.err == nil {
				ps = int(m.pageSize)
			}
		}
	}
	if ps < 1024 || ps&(ps-1) != 0 {
		return ms, 0, errors.New("neither meta page is valid")
	}
	if _, err := r.ReadAt(buf, int64(ps)); err != nil {
		return ms, 0, fmt.Errorf("read meta page 1: %w", err)
	}
	ms[1] = parseMeta(buf, 1)
	return ms, ps, nil
}

// activeMeta returns the meta page bbolt uses: the valid one of the
// higher transaction id.
func activeMeta(ms [2]bbMeta) (bbMeta, bool) {
	a, b := ms[0], ms[1]
	if b.txid > a.txid {
		a, b = b, a
	}
	if a.err == nil {
		return a, true
	}
	return b, b.err == nil
}

// bitset marks page ids.
type bitset []uint64

func (s bitset) has(i uint64) bool { return s[i/64]&(1<<(i%64)) != 0 }
func (s bitset) set(i uint64)      { s[i/64] |= 1 << (i % 64) }

// pageReport is what the page check found.
type pageReport struct {
	problems []error  // damage, each wrapping ErrCorrupt
	warnings []string // damage that loses nothing (the meta page bbolt does not use)
	// unsafe holds the top-level buckets ("" for the root bucket's own
	// pages, or the file as a whole; "freelist" for the freelist page)
	// where damage could send bbolt round for ever or make it reuse pages
	// in use: they must not be read, nor the file written, through bbolt.
	unsafe map[string]bool
	meta   bbMeta // the meta page bbolt uses
}

// full reports whether the report holds as many problems as Verify lists.
func (r *pageReport) full() bool { return len(r.problems) >= maxVerifyErrors }

// pageChecker walks the pages of one file.
type pageChecker struct {
	ctx     context.Context
	r       io.ReaderAt
	ps      int
	hwm     uint64
	reached bitset
	freed   bitset
	bufs    [][]byte // one page buffer per level of nesting, reused
	visited int
	rep     *pageReport
	err     error // ctx's error, which stops the walk
	quick   bool  // read only what bbolt follows references through
	// visit, when set (tests), is called with every branch and leaf page
	// found well formed, before its children, and every inline bucket's
	// page (id its leaf's, base where it starts in the file).
	visit func(top string, id uint64, base int64, p []byte, leaf bool, es []element)
}

// checkPages checks the page structure of the bbolt file r of size
// bytes, fully or quickly; see the comment at the top of this file. It
// returns ctx's error or an error reading the file; what it finds is in
// the report.
func checkPages(ctx context.Context, r io.ReaderAt, size int64, quick bool) (*pageReport, error) {
	c, err := walkPages(ctx, r, size, quick, nil)
	if err != nil {
		return nil, err
	}
	return c.rep, nil
}

// walkPages is checkPages, calling visit (when not nil) with every page
// found well formed; it returns the checker, whose report and page sets
// tests read.
func walkPages(ctx context.Context, r io.ReaderAt, size int64, quick bool, visit func(top string, id uint64, base int64, p []byte, leaf bool, es []element)) (*pageChecker, error) {
	rep := &pageReport{unsafe: map[string]bool{}}
	c := &pageChecker{ctx: ctx, r: r, rep: rep, visit: visit, quick: quick}
	ms, ps, err := readMetas(r, size)
	if err != nil {
		rep.problems = append(rep.problems, corruptf(0, "bbolt meta pages: %v", err))
		rep.unsafe[""] = true
		return c, nil
	}
	m, ok := activeMeta(ms)
	if !ok {
		rep.problems = append(rep.problems, corruptf(0, "bbolt meta pages: neither is valid (%v; %v)", ms[0].err, ms[1].err))
		rep.unsafe[""] = true
		return c, nil
	}
	rep.meta = m
	other := ms[1-m.page]
	if other.err != nil {
		rep.warnings = append(rep.warnings, fmt.Sprintf(
			"bbolt meta page %d is damaged (%v); bbolt uses meta page %d (transaction %d), and rewrites page %d at the next commit. "+
				"Had the damaged page been the newer one, the transaction after %d would be lost: the tip file tells",
			other.page, other.err, m.page, m.txid, other.page, m.txid))
	}
	c.ps, c.hwm = ps, m.hwm
	if m.hwm < 2 || int64(m.hwm)*int64(ps) > size {
		rep.problems = append(rep.problems, corruptf(0, "bbolt meta page %d: high water mark %d pages, the file holds %d", m.page, m.hwm, size/int64(ps)))
		rep.unsafe[""] = true
		return c, nil
	}
	n := (m.hwm + 63) / 64
	c.reached, c.freed = make(bitset, n), make(bitset, n)
	c.reached.set(0)
	c.reached.set(1)
	c.freelist(m.freelist)
	if c.err != nil {
		return nil, c.err
	}
	c.bucket("", "", m.root, 0)
	if c.err != nil {
		return nil, c.err
	}
	if len(rep.problems) == 0 && !quick {
		// Pages neither reachable nor free (only meaningful when the walk
		// reached everything it should).
		for id := uint64(2); id < m.hwm && !rep.full(); id++ {
			if !c.reached.has(id) && !c.freed.has(id) {
				c.problem("", false, "page %d is neither reachable nor free", id)
			}
		}
	}
	return c, nil
}

// problem records damage found in the pages of the top-level bucket top,
// unsafe for bbolt to read when unsafe is set.
func (c *pageChecker) problem(top string, unsafe bool, format string, args ...any) {
	if unsafe {
		c.rep.unsafe[top] = true
	}
	if c.rep.full() {
		return
	}
	where := "bbolt pages"
	switch top {
	case "":
	case "freelist":
		where = "bbolt freelist"
	default:
		where = "bbolt pages of bucket " + top
	}
	c.rep.problems = append(c.rep.problems, corruptf(0, where+": "+format, args...))
}

// read reads page id and its overflow pages into the buffer of nesting
// level depth, after checking the id and overflow against the high
// water mark. It returns nil after recording a problem.
func (c *pageChecker) read(top string, id uint64, depth int) []byte {
	for len(c.bufs) <= depth {
		c.bufs = append(c.bufs, make([]byte, c.ps))
	}
	buf := c.bufs[depth][:c.ps]
	if _, err := c.r.ReadAt(buf, int64(id)*int64(c.ps)); err != nil {
		c.problem(top, true, "page %d cannot be read: %v", id, err)
		return nil
	}
	if got := ne.Uint64(buf); got != id {
		c.problem(top, true, "page %d says it is page %d", id, got)
		return nil
	}
	overflow := uint64(ne.Uint32(buf[12:]))
	if id+overflow >= c.hwm {
		c.problem(top, true, "page %d and its %d overflow pages run past the high water mark %d", id, overflow, c.hwm)
		return nil
	}
	if overflow > 0 {
		size := (1 + int(overflow)) * c.ps
		if cap(c.bufs[depth]) < size {
			grown := make([]byte, size)
			copy(grown, buf)
			c.bufs[depth] = grown
		}
		buf = c.bufs[depth][:size]
		if _, err := c.r.ReadAt(buf[c.ps:], int64(id)*int64(c.ps)+int64(c.ps)); err != nil {
			c.problem(top, true, "page %d cannot be read: %v", id, err)
			return nil
		}
	}
	return buf
}

// claim marks pages id to id+overflow reached, reporting pages reached
// twice or listed free.
func (c *pageChecker) claim(top string, id uint64, overflow uint64) bool {
	ok := true
	for i := id; i <= id+overflow; i++ {
		switch {
		case c.reached.has(i):
			c.problem(top, true, "page %d is reached twice (from page %d)", i, id)
			ok = false
		case c.freed.has(i):
			c.problem(top, true, "page %d is in use and listed free", i)
			ok = false
		}
		c.reached.set(i)
	}
	return ok
}

// freelist checks the freelist page and marks the pages it lists.
func (c *pageChecker) freelist(id uint64) {
	if id == bbNoFreelist {
		return
	}
	if id < 2 || id >= c.hwm {
		c.problem("freelist", true, "freelist page %d out of range (high water mark %d)", id, c.hwm)
		return
	}
	p := c.read("freelist", id, 0)
	if p == nil {
		return
	}
	if flags := ne.Uint16(p[8:]); flags != bbFlagFreelist {
		c.problem("freelist", true, "freelist page %d has flags %#x", id, flags)
		return
	}
	c.claim("freelist", id, uint64(ne.Uint32(p[12:])))
	count, at := uint64(ne.Uint16(p[10:])), bbPageHeader
	if count == 0xFFFF {
		count, at = ne.Uint64(p[bbPageHeader:]), bbPageHeader+8
	}
	if count > uint64(len(p)-at)/8 {
		c.problem("freelist", true, "freelist page %d lists %d pages, more than it holds", id, count)
		return
	}
	prev := uint64(0)
	for i := range count {
		f := ne.Uint64(p[at+8*int(i):])
		switch {
		case f < 2 || f >= c.hwm:
			c.problem("freelist", true, "freelist page %d lists page %d, out of range (high water mark %d)", id, f, c.hwm)
		case f <= prev:
			c.problem("freelist", true, "freelist page %d lists page %d after page %d: out of order or twice", id, f, prev)
		case c.reached.has(f):
			c.problem("freelist", true, "freelist page %d lists page %d, which is in use", id, f)
		default:
			c.freed.set(f)
		}
		prev = max(prev, f)
	}
}

// element is one element of a branch or leaf page.
type element struct {
	flags      uint32
	key, value []byte
	off        int // where key starts in the page
	pgid       uint64
}

// elements parses the element table of the page p (its header first) and
// the keys and values after it, which bbolt packs in element order from
// the end of the table; it returns where the last value ends and why
// they are not well formed, or "". Only exact packing is accepted: any
// change to a position or size shows.
func elements(p []byte, leaf bool, out []element) ([]element, int, string) {
	n := int(ne.Uint16(p[10:]))
	next := bbPageHeader + n*bbElement
	if next > len(p) {
		return out, 0, fmt.Sprintf("%d elements do not fit in %d bytes", n, len(p))
	}
	for i := range n {
		off := bbPageHeader + i*bbElement
		var e element
		var pos, ksize, vsize uint32
		if leaf {
			e.flags, pos, ksize, vsize = ne.Uint32(p[off:]), ne.Uint32(p[off+4:]), ne.Uint32(p[off+8:]), ne.Uint32(p[off+12:])
		} else {
			pos, ksize, e.pgid = ne.Uint32(p[off:]), ne.Uint32(p[off+4:]), ne.Uint64(p[off+8:])
		}
		start := off + int(pos)
		if start != next {
			return out, 0, fmt.Sprintf("element %d's key at offset %d, not right after the one before (%d)", i, start, next)
		}
		end := uint64(start) + uint64(ksize) + uint64(vsize)
		if ksize == 0 || end > uint64(len(p)) {
			return out, 0, fmt.Sprintf("element %d's key of %d bytes and value of %d bytes run past the page", i, ksize, vsize)
		}
		e.off = start
		e.key = p[start : start+int(ksize)]
		e.value = p[start+int(ksize) : int(end)]
		next = int(end)
		out = append(out, e)
	}
	return out, next, ""
}

// holdsBuckets reports whether the bucket named name (its key; "" for
// the root) holds buckets, whose roots are in its leaves.
func holdsBuckets(name string) bool {
	switch name {
	case "", string(bucketIndex), string(bucketRebuild), string(bucketMaster):
		return true // the master data's layout is its package's own
	}
	return false
}

// readsWhole reports whether the ledger reads the values of the bucket
// named name whole, trusting their sizes (its meta, the item index's run
// listing, the sync cursor), or the bucket holds buckets: the quick check
// reads its leaves, and damage in them makes it unsafe. The records and
// index blocks are read within bounds their own headers give.
func readsWhole(name string) bool {
	switch name {
	case string(bucketMeta), string(bucketRuns), string(bucketSync):
		return true
	}
	return holdsBuckets(name)
}

// bucket checks the tree of the bucket named name, rooted at page id, in
// the top-level bucket top; depth is its nesting in the file (which page
// buffers it uses).
func (c *pageChecker) bucket(top, name string, id uint64, depth int) {
	t := tree{top: top, holds: holdsBuckets(name), whole: readsWhole(name), depth: depth, leafLevel: -1}
	if c.quick && !t.whole {
		// Leaves the reads never follow a reference out of are left
		// unread: they are the level the leftmost path ends at.
		t.leafLevel = c.height(id)
	}
	c.page(&t, id, nil, nil, 0)
}

// tree is the walk of one bucket's tree.
type tree struct {
	top       string
	holds     bool // its leaves hold buckets
	whole     bool // its values are read whole (readsWhole)
	depth     int  // nesting of its root in the file
	leafLevel int  // the level of its leaves, -1 when they are read
}

// height returns the level of the leaves of the tree rooted at id, from
// its leftmost path, or -1 when the path is damaged (the walk then reads
// the whole tree and finds the damage).
func (c *pageChecker) height(id uint64) int {
	var hdr [bbPageHeader + bbElement]byte
	for h := 0; h <= maxPageTreeDepth; h++ {
		if id < 2 || id >= c.hwm {
			return -1
		}
		if _, err := c.r.ReadAt(hdr[:], int64(id)*int64(c.ps)); err != nil || ne.Uint64(hdr[:]) != id {
			return -1
		}
		switch ne.Uint16(hdr[8:]) {
		case bbFlagLeaf:
			return h
		case bbFlagBranch:
			if ne.Uint16(hdr[10:]) == 0 {
				return -1
			}
			id = ne.Uint64(hdr[bbPageHeader+8:])
		default:
			return -1
		}
	}
	return -1
}

// page checks the pages of t from page id, at level in the tree, down:
// their keys must be at least lo and less than hi (nil: no bound). It
// returns the first key of the subtree (nil after a problem, or when it
// was not read), valid until the next call at the same depth: a branch
// element's key is its child's first key, as bbolt writes it whenever it
// writes the child.
func (c *pageChecker) page(t *tree, id uint64, lo, hi []byte, level int) []byte {
	top := t.top
	if c.err != nil || c.rep.full() {
		return nil
	}
	if c.visited++; c.visited%1024 == 0 {
		if c.err = c.ctx.Err(); c.err != nil {
			return nil
		}
	}
	if level > maxPageTreeDepth {
		c.problem(top, true, "page %d is more than %d levels deep: a page refers back to its ancestor", id, maxPageTreeDepth)
		return nil
	}
	if id < 2 || id >= c.hwm {
		c.problem(top, true, "reference to page %d, out of range (high water mark %d)", id, c.hwm)
		return nil
	}
	if c.reached.has(id) {
		c.problem(top, true, "page %d is reached twice", id)
		return nil
	}
	if level == t.leafLevel {
		c.claim(top, id, 0)
		return nil
	}
	depth := t.depth + level
	p := c.read(top, id, depth)
	if p == nil {
		return nil
	}
	if !c.claim(top, id, uint64(ne.Uint32(p[12:]))) {
		return nil
	}
	flags, count := ne.Uint16(p[8:]), ne.Uint16(p[10:])
	var leaf bool
	switch flags {
	case bbFlagBranch:
	case bbFlagLeaf:
		leaf = true
	default:
		c.problem(top, true, "page %d is neither a branch nor a leaf (flags %#x)", id, flags)
		return nil
	}
	// Damage in a branch, or in a leaf that holds buckets, is what bbolt
	// follows references through; damage in a leaf whose values are read
	// whole gives values of any size.
	unsafe := !leaf || t.whole
	if count == 0 && (level > 0 || !leaf) {
		c.problem(top, unsafe, "page %d holds no element", id)
		return nil
	}
	es, _, bad := elements(p, leaf, nil)
	if bad != "" {
		c.problem(top, unsafe, "page %d: %s", id, bad)
		return nil
	}
	if !c.keysInOrder(top, unsafe, id, es, lo, hi) {
		return nil
	}
	if c.visit != nil {
		c.visit(top, id, int64(id)*int64(c.ps), p, leaf, es)
	}
	if !leaf {
		for i := range es {
			next := hi
			if i+1 < len(es) {
				next = es[i+1].key
			}
			first := c.page(t, es[i].pgid, es[i].key, next, level+1)
			if first != nil && !bytes.Equal(first, es[i].key) {
				c.problem(top, true, "page %d: key %d (%s) is not the first key of its child page %d (%s)", id, i, hexKey(es[i].key), es[i].pgid, hexKey(first))
			}
		}
		return es[0].key
	}
	c.leafValues(t, id, es, depth)
	if len(es) == 0 {
		return nil
	}
	return es[0].key
}

// keysInOrder checks that the keys of es increase strictly and lie in
// [lo, hi).
func (c *pageChecker) keysInOrder(top string, unsafe bool, id uint64, es []element, lo, hi []byte) bool {
	for i, e := range es {
		switch {
		case i == 0 && lo != nil && bytes.Compare(e.key, lo) < 0:
			c.problem(top, unsafe, "page %d: its first key %s sorts before its parent's key %s", id, hexKey(e.key), hexKey(lo))
		case i > 0 && bytes.Compare(e.key, es[i-1].key) <= 0:
			c.problem(top, unsafe, "page %d: key %d (%s) does not sort after the key before it (%s)", id, i, hexKey(e.key), hexKey(es[i-1].key))
		case hi != nil && bytes.Compare(e.key, hi) >= 0:
			c.problem(top, unsafe, "page %d: key %d (%s) does not sort before its parent's next key %s", id, i, hexKey(e.key), hexKey(hi))
		default:
			continue
		}
		return false
	}
	return true
}

// leafValues checks the bucket entries among the elements of leaf page
// id of t: every entry of the root bucket is one, every flag is 0 or
// bucket, and the ledger's own buckets never count a sequence (bbolt's
// NextSequence is not used).
func (c *pageChecker) leafValues(t *tree, id uint64, es []element, depth int) {
	top := t.top
	for i, e := range es {
		if e.flags&^bbLeafBucket != 0 || e.flags&bbLeafBucket != 0 && !t.holds {
			c.problem(top, t.holds, "page %d: element %d has flags %#x", id, i, e.flags)
			return
		}
		if e.flags&bbLeafBucket == 0 {
			if top == "" {
				c.problem(top, true, "page %d: the root bucket holds a value, not a bucket, under %q", id, printable(e.key))
				return
			}
			continue
		}
		sub := top
		if sub == "" {
			sub = string(e.key)
		}
		if len(e.value) < bbBucketHeader {
			c.problem(sub, true, "page %d: bucket %q has a header of %d bytes", id, printable(e.key), len(e.value))
			return
		}
		root, seq := ne.Uint64(e.value), ne.Uint64(e.value[8:])
		if seq != 0 && sub != string(bucketMaster) {
			c.problem(sub, false, "page %d: bucket %q counts sequence %d, which the ledger never uses", id, printable(e.key), seq)
			return
		}
		if root != 0 {
			if len(e.value) != bbBucketHeader {
				c.problem(sub, true, "page %d: bucket %q has a value of %d bytes with its root on page %d", id, printable(e.key), len(e.value), root)
				return
			}
			c.bucket(sub, string(e.key), root, depth+1)
			continue
		}
		c.inline(sub, id, int64(id)*int64(c.ps)+int64(e.off+len(e.key)+bbBucketHeader), e.key, e.value[bbBucketHeader:])
	}
}

// inline checks an inline bucket's page, p: the value after the bucket
// header, which holds exactly one leaf of plain values. Damage makes the
// bucket unsafe: its sizes and flags are what bbolt trusts.
func (c *pageChecker) inline(top string, id uint64, base int64, name, p []byte) {
	if len(p) < bbPageHeader {
		c.problem(top, true, "page %d: inline bucket %q of %d bytes", id, printable(name), len(p))
		return
	}
	if pid, flags, overflow := ne.Uint64(p), ne.Uint16(p[8:]), ne.Uint32(p[12:]); pid != 0 || flags != bbFlagLeaf || overflow != 0 {
		c.problem(top, true, "page %d: inline bucket %q has the header of page %d, flags %#x, overflow %d", id, printable(name), pid, flags, overflow)
		return
	}
	es, end, bad := elements(p, true, nil)
	if bad == "" && end != len(p) {
		bad = fmt.Sprintf("%d bytes follow its last value", len(p)-end)
	}
	if bad != "" {
		c.problem(top, true, "page %d: inline bucket %q: %s", id, printable(name), bad)
		return
	}
	if !c.keysInOrder(top, true, id, es, nil, nil) {
		return
	}
	for i, e := range es {
		if e.flags != 0 {
			c.problem(top, true, "page %d: inline bucket %q: element %d has flags %#x", id, printable(name), i, e.flags)
			return
		}
	}
	if c.visit != nil {
		c.visit(top, id, base, p, true, es)
	}
}

// printable is a bucket or key name for a message: its bytes when they
// are printable, else hex; at most 64 bytes of it (damage can make a key
// as long as the file).
func printable(b []byte) string {
	for _, r := range string(b[:min(len(b), 64)]) {
		if r < 0x20 || r > 0x7e {
			return hexKey(b)
		}
	}
	if len(b) > 64 {
		return fmt.Sprintf("%s… (%d bytes)", b[:64], len(b))
	}
	return strings.Clone(string(b))
}

// hexKey is a key for a message, in hex, at most 32 bytes of it.
func hexKey(b []byte) string {
	if len(b) > 32 {
		return fmt.Sprintf("%x… (%d bytes)", b[:32], len(b))
	}
	return fmt.Sprintf("%x", b)
}
