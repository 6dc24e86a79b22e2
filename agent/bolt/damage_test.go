package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
)

// pageInfo is one page of a ledger file as the page check walked it.
type pageInfo struct {
	top    string // top-level bucket, "" for the root bucket's pages
	id     uint64
	base   int64 // where the page (or inline bucket page) starts in the file
	inline bool
	leaf   bool
	keys   [][]byte
	keyOff []int64 // file offset of each key
	valOff []int64 // of each value
	valLen []int
	child  []uint64 // branch pages: the child of each element
	flags  []uint32 // leaf pages: each element's flags
	end    int64    // file offset where the page's packed data ends
}

// fileMap is the layout of a closed ledger file.
type fileMap struct {
	pages []pageInfo
	ps    int
	hwm   uint64
	metas [2]bbMeta
	used  func(id uint64) bool // reachable (meta, freelist, tree)
	freed func(id uint64) bool
	freel uint64 // the freelist page
	freeN int    // ids it lists
}

// mapFile walks a ledger file's pages (fails on damage the page check
// finds).
func mapFile(t testing.TB, path string) *fileMap {
	t.Helper()
	fm, problems := mapFileDamaged(t, path)
	if len(problems) > 0 {
		t.Fatalf("page check of the intact file: %v", errors.Join(problems...))
	}
	return fm
}

// mapFileDamaged walks a ledger file's pages, returning what the page
// check found besides.
func mapFileDamaged(t testing.TB, path string) (*fileMap, []error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	fm := &fileMap{}
	c, err := walkPages(context.Background(), f, fi.Size(), false, func(top string, id uint64, base int64, p []byte, leaf bool, es []element) {
		pi := pageInfo{top: top, id: id, base: base, leaf: leaf, end: base + bbPageHeader}
		for _, e := range es {
			pi.keys = append(pi.keys, bytes.Clone(e.key))
			pi.keyOff = append(pi.keyOff, base+int64(e.off))
			pi.valOff = append(pi.valOff, base+int64(e.off+len(e.key)))
			pi.valLen = append(pi.valLen, len(e.value))
			pi.child = append(pi.child, e.pgid)
			pi.flags = append(pi.flags, e.flags)
			pi.end = base + int64(e.off+len(e.key)+len(e.value))
		}
		fm.pages = append(fm.pages, pi)
	})
	if err != nil {
		t.Fatal(err)
	}
	fm.ps, fm.hwm = c.ps, c.hwm
	for i := range fm.pages {
		p := &fm.pages[i]
		p.inline = p.base != int64(p.id)*int64(fm.ps)
	}
	fm.metas, _, _ = readMetas(f, fi.Size())
	fm.used, fm.freed = c.reached.has, c.freed.has
	if m, ok := activeMeta(fm.metas); ok {
		fm.freel = m.freelist
		p := make([]byte, fm.ps)
		if _, err := f.ReadAt(p, int64(m.freelist)*int64(fm.ps)); err == nil {
			fm.freeN = int(ne.Uint16(p[10:]))
		}
	}
	return fm, c.rep.problems
}

// page returns the first page of bucket top, leaf or branch, for which
// match holds.
func (fm *fileMap) page(t testing.TB, top string, leaf bool, match func(p *pageInfo) bool) *pageInfo {
	t.Helper()
	for i := range fm.pages {
		p := &fm.pages[i]
		if p.top == top && p.leaf == leaf && !p.inline && match(p) {
			return p
		}
	}
	t.Fatalf("no %s page (leaf %v) as asked in %d pages", top, leaf, len(fm.pages))
	return nil
}

// batchLeaf returns the leaf of the movements bucket that holds the batch
// with movement seq, and the index of the batch in it.
func (fm *fileMap) batchLeaf(t testing.TB, seq uint64) (*pageInfo, int) {
	t.Helper()
	var (
		best  *pageInfo
		bestJ int
		bestK uint64
	)
	for i := range fm.pages {
		p := &fm.pages[i]
		if p.top != string(bucketMovements) || !p.leaf {
			continue
		}
		for j, k := range p.keys {
			if first := binary.BigEndian.Uint64(k); first <= seq && (best == nil || first > bestK) {
				best, bestJ, bestK = p, j, first
			}
		}
	}
	if best == nil {
		t.Fatalf("no leaf holds movement %d", seq)
	}
	return best, bestJ
}

// xorAt changes the byte at off of the file at path (x != 0).
func xorAt(t testing.TB, path string, off int64, x byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= x
	if _, err := f.WriteAt(b[:], off); err != nil {
		t.Fatal(err)
	}
}

// damageLedger writes a ledger of n movements in transactions of burst
// movements (so that its item index holds runs and merged runs), with
// master data stored between the last two transactions, and closes it.
func damageLedger(t testing.TB, path string, n, burst int) []agent.Movement {
	t.Helper()
	if n%burst != 0 {
		t.Fatalf("%d movements in transactions of %d: the last would wait for ever", n, burst)
	}
	l, err := Open(Options{Path: path, Gateway: testGateway, MaxBatch: burst, MaxDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var out []agent.Movement
	for len(out) < n {
		if n-len(out) <= burst {
			if err := l.PutMaster(bytes.Repeat([]byte("master data "), 300)); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, submitBurst(t, l, "d", len(out), burst)...)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// wantCorruptErr fails unless err wraps ErrCorrupt and its text names all of
// what.
func wantCorruptErr(t *testing.T, op string, err error, what ...string) {
	t.Helper()
	if !errors.Is(err, ErrCorrupt) {
		t.Errorf("%s = %v, want an error wrapping ErrCorrupt", op, err)
		return
	}
	for _, w := range what {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s = %v, want it to name %q", op, err, w)
		}
	}
}

// A byte of a page header of the movements bucket's B+tree, damaged:
// bbolt panics reading the page (its type, its id), and every read of the
// ledger that meets it returns an error wrapping ErrCorrupt instead,
// naming where it was reading; Verify names the page.
func TestDamagedPageHeaderReturnsCorrupt(t *testing.T) {
	for _, c := range []struct {
		name  string
		at    int64 // offset in the page header
		x     byte
		point bool // whether Get and Trace meet it
		walk  bool // whether Range and VerifyChain do
	}{
		{"type", 8, 0x07, true, true},   // flags: no page type
		{"id", 0, 0x40, true, true},     // the page says it is another page
		{"count", 10, 0x80, true, true}, // more elements than the page holds
		// The page claims its neighbours: bbolt does not read the count,
		// Verify sees pages reached twice.
		{"overflow", 12, 0x3, false, false},
		// The first batch's size in the page's element table: bbolt slices
		// the value far past its end, which the batch's header shows.
		{"value size", bbPageHeader + 12 + 3, 0x40, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ledger.db")
			written := damageLedger(t, path, 3000, 250)
			fm := mapFile(t, path)
			// A leaf of batches in the middle: not the first, not the last.
			leaf, _ := fm.batchLeaf(t, 1500)
			first := binary.BigEndian.Uint64(leaf.keys[0])
			xorAt(t, path, int64(leaf.id)*int64(fm.ps)+c.at, c.x)

			l, err := OpenReadOnly(path, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			ctx := context.Background()
			_, err = l.VerifyAll(ctx)
			wantCorruptErr(t, "VerifyAll", err, fmt.Sprintf("page %d", leaf.id))
			if c.walk {
				err = l.Range(1, func(agent.Movement) error { return nil })
				wantCorruptErr(t, "Range", err)
				_, err = l.ReadRecords(1, 1<<20, 1<<30)
				wantCorruptErr(t, "ReadRecords", err)
				_, err = l.VerifyChain(ctx)
				wantCorruptErr(t, "VerifyChain", err)
			}
			if !c.point {
				return
			}
			_, err = l.Get(first)
			wantCorruptErr(t, "Get", err)
			m := written[first-1]
			if m.Item == "" {
				m = written[first]
			}
			_, err = l.Trace(ctx, m.Item)
			wantCorruptErr(t, "Trace", err)
			_, err = l.TracePrefix(ctx, "(01)09520123456788", 0)
			wantCorruptErr(t, "TracePrefix", err)
			// Movements outside the damaged page are still read.
			if got, err := l.Get(uint64(len(written))); err != nil || got.Hash == nil {
				t.Errorf("Get(last) = %v", err)
			}
		})
	}
}

// A page header of the item index damaged: a trace reports the damage
// naming the item index; Verify names the page.
func TestDamagedIndexPageReturnsCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	written := damageLedger(t, path, 3000, 250)
	fm := mapFile(t, path)
	// A leaf of a run bucket: the blocks of index entries.
	leaf := fm.page(t, string(bucketIndex), true, func(p *pageInfo) bool {
		return len(p.keys) > 0 && len(p.keys[0]) > 9 && p.keys[0][len(p.keys[0])-9] == 0
	})
	xorAt(t, path, int64(leaf.id)*int64(fm.ps)+8, 0x07)

	l, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	// Every trace seeks its key in every run: each meets the page.
	_, err = l.Trace(ctx, written[0].Item)
	wantCorruptErr(t, "Trace", err, "index")
	_, err = l.VerifyAll(ctx)
	wantCorruptErr(t, "VerifyAll", err, fmt.Sprintf("page %d", leaf.id))
	if _, err := l.Get(1); err != nil {
		t.Errorf("Get(1), not in the index: %v", err)
	}
}

// A byte inside a stored batch: Trace, Get, Range and Verify name the
// movement; nothing else is lost.
func TestDamagedBatchByteReturnsCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	written := damageLedger(t, path, 3000, 250)
	fm := mapFile(t, path)
	leaf, j := fm.batchLeaf(t, 1500)
	first := binary.BigEndian.Uint64(leaf.keys[j])
	// The middle of the batch's records.
	xorAt(t, path, leaf.valOff[j]+int64(leaf.valLen[j])/2, 0x10)

	l, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	var bad uint64
	for seq := first; ; seq++ {
		if _, err := l.Get(seq); err != nil {
			wantCorruptErr(t, fmt.Sprintf("Get(%d)", seq), err)
			bad = seq
			break
		}
	}
	if m := written[bad-1]; m.Item != "" {
		_, err := l.Trace(ctx, m.Item)
		wantCorruptErr(t, "Trace", err, fmt.Sprint(bad))
	}
	err = l.Range(first, func(agent.Movement) error { return nil })
	wantCorruptErr(t, "Range", err, fmt.Sprint(bad))
	_, err = l.VerifyAll(ctx)
	wantCorruptErr(t, "VerifyAll", err, fmt.Sprint(bad))
}

// The writer meets a damaged page while the ledger is open: the
// transaction fails with an error wrapping ErrCorrupt, the writer keeps
// running and answers every later movement, and movements whose
// transaction does not meet the damage are accepted.
func TestWriterSurvivesDamagedPage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	damageLedger(t, path, 3000, 250)
	l := openWriter(t, path)
	ctx := context.Background()
	fm := mapFile(t, path)

	// Damage to an old leaf of batches, away from the writer's path: new
	// movements are accepted.
	old, _ := fm.batchLeaf(t, 1500)
	xorAt(t, path, int64(old.id)*int64(fm.ps)+8, 0x07)
	for i := range 3 {
		if _, err := l.Append(ctx, movementN("after", i)); err != nil {
			t.Fatalf("Append beside an old damaged page: %v", err)
		}
	}

	// Damage to the last leaf of batches, where the writer puts: each
	// transaction fails, and is answered; the writer goes on.
	fm, _ = mapFileDamaged(t, path)
	last, _ := fm.batchLeaf(t, l.LastSeq())
	hdr := int64(last.id)*int64(fm.ps) + 8
	xorAt(t, path, hdr, 0x07)
	for i := range 3 {
		_, err := l.Append(ctx, movementN("damaged", i))
		wantCorruptErr(t, "Append onto a damaged page", err, "movements")
	}
	if st := l.Stats(); st.Failed != 3 {
		t.Errorf("Stats.Failed = %d, want 3", st.Failed)
	}
	// The page repaired, the next transaction succeeds.
	xorAt(t, path, hdr, 0x07)
	m, err := l.Append(ctx, movementN("repaired", 0))
	if err != nil {
		t.Fatalf("Append after the repair: %v", err)
	}
	if m.Seq != 3004 {
		t.Errorf("seq %d after the failed transactions, want 3004", m.Seq)
	}
}

// A branch page that refers to itself sends bbolt's descent round for
// ever, which no recover stops: the quick page check at open finds it,
// reads of the bucket return an error without entering bbolt, a
// writable Open and RebuildIndex (which deletes the old index, a walk of
// every page) refuse the file, and Verify names the page.
func TestBranchLoopNeverEntered(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	damageLedger(t, path, 3000, 250)
	fm := mapFile(t, path)
	br := fm.page(t, string(bucketMovements), false, func(*pageInfo) bool { return true })
	// Its first child becomes itself.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteAt(ne.AppendUint64(nil, br.id), int64(br.id)*int64(fm.ps)+bbPageHeader+8)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, err = RebuildIndex(context.Background(), path, time.Second, nil)
	wantCorruptErr(t, "RebuildIndex", err, "movements")
	if _, err := Open(Options{Path: path, Gateway: testGateway}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Open for writing = %v, want ErrCorrupt", err)
	}
	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatalf("OpenReadOnly: %v", err)
	}
	defer ro.Close()
	_, err = ro.Get(1)
	wantCorruptErr(t, "Get", err, "not read")
	_, err = ro.Trace(context.Background(), "(01)09520123456788(21)d-000001")
	wantCorruptErr(t, "Trace", err, "not read")
	_, err = ro.VerifyAll(context.Background())
	wantCorruptErr(t, "VerifyAll", err, fmt.Sprintf("page %d is reached twice", br.id), "not checked")
}
