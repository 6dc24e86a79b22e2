package nationaldb

import (
	"bufio"
	"bytes"
	"cmp"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"unsafe"
)

// runSorter sorts more entries than memory holds: each entry is a key, a
// sequence number and a payload; entries are gathered in memory, at most
// limit bytes of them and their places, then sorted by key and sequence
// and written to a temporary file in dir (a run). merge then reads the runs
// together in order. A sorter that never filled its buffer writes no
// file. It is used by one goroutine at a time; close removes its files.
type runSorter struct {
	dir   string
	limit int
	buf   []byte     // the entries' keys and payloads, back to back
	ents  []runEntry // where each entry of buf is
	runs  []*os.File
}

// runEntry is an entry of a runSorter's buffer.
type runEntry struct {
	seq        uint64
	off        int
	klen, plen int32
}

func newRunSorter(dir string, limit int) *runSorter {
	return &runSorter{dir: dir, limit: limit}
}

// entrySize is the memory of a runEntry.
const entrySize = int(unsafe.Sizeof(runEntry{}))

// add adds an entry; it writes a run when the memory is full.
func (s *runSorter) add(key []byte, seq uint64, payload []byte) error {
	if len(s.buf) > 0 && len(s.buf)+(len(s.ents)+1)*entrySize+len(key)+len(payload) > s.limit {
		if err := s.spill(); err != nil {
			return err
		}
	}
	if n := len(s.buf) + len(key) + len(payload); n > cap(s.buf) {
		// Grown by doubling, never past limit unless one entry is larger.
		s.buf = append(make([]byte, 0, max(min(2*cap(s.buf), s.limit), n, 64<<10)), s.buf...)
	}
	s.ents = append(s.ents, runEntry{seq: seq, off: len(s.buf), klen: int32(len(key)), plen: int32(len(payload))})
	s.buf = append(s.buf, key...)
	s.buf = append(s.buf, payload...)
	return nil
}

func (s *runSorter) key(e *runEntry) []byte { return s.buf[e.off : e.off+int(e.klen)] }

func (s *runSorter) payload(e *runEntry) []byte {
	at := e.off + int(e.klen)
	return s.buf[at : at+int(e.plen)]
}

// sort sorts the buffer's entries by key, then sequence.
func (s *runSorter) sort() {
	slices.SortFunc(s.ents, func(a, b runEntry) int {
		if c := bytes.Compare(s.key(&a), s.key(&b)); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
}

// spill writes the buffer's entries, sorted, as a run: each entry is the
// uvarint length of its key, the key, its sequence number (uvarint), the
// uvarint length of its payload and the payload.
func (s *runSorter) spill() error {
	s.sort()
	f, err := os.CreateTemp(s.dir, "nationaldb-run-*")
	if err != nil {
		return fmt.Errorf("sorted run: %w", err)
	}
	s.runs = append(s.runs, f)
	// Unlinked at once where the system allows it (close removes it
	// otherwise): nothing is left behind by a process that dies.
	_ = os.Remove(f.Name())
	w := bufio.NewWriterSize(f, 256<<10)
	var hdr [3 * binary.MaxVarintLen64]byte
	for i := range s.ents {
		e := &s.ents[i]
		h := binary.AppendUvarint(hdr[:0], uint64(e.klen))
		w.Write(h)
		w.Write(s.key(e))
		h = binary.AppendUvarint(hdr[:0], e.seq)
		h = binary.AppendUvarint(h, uint64(e.plen))
		w.Write(h)
		w.Write(s.payload(e))
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("sorted run %s: %w", f.Name(), err)
	}
	s.buf, s.ents = s.buf[:0], s.ents[:0]
	return nil
}

// merge returns the entries added, in order of key then sequence. When
// runs were written, what the buffer holds is written as one more and
// the buffer is let go; else the buffer is read in place. Called again
// (nothing added in between), it reads the entries again from the first.
func (s *runSorter) merge() (*runMerge, error) {
	m := &runMerge{}
	if len(s.runs) == 0 {
		s.sort()
		m.mem = s
		return m, nil
	}
	if len(s.ents) > 0 {
		if err := s.spill(); err != nil {
			return nil, err
		}
	}
	s.buf, s.ents = nil, nil
	for _, f := range s.runs {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("sorted run %s: %w", f.Name(), err)
		}
		r := &runReader{r: bufio.NewReaderSize(f, 64<<10), name: f.Name()}
		ok, err := r.next()
		if err != nil {
			return nil, err
		}
		if ok {
			m.heap = append(m.heap, r)
		}
	}
	heap.Init(&m.heap)
	return m, nil
}

// close removes the sorter's files.
func (s *runSorter) close() {
	for _, f := range s.runs {
		f.Close()
		os.Remove(f.Name())
	}
	s.runs, s.buf, s.ents = nil, nil, nil
}

// runMerge reads a runSorter's entries in order: after next returns true,
// key, seq and payload are the entry's, valid until the next call.
type runMerge struct {
	key, payload []byte
	seq          uint64

	mem     *runSorter // the entries in memory, sorted
	at      int
	heap    runHeap
	started bool
}

// next moves to the next entry; it returns false at the end.
func (m *runMerge) next() (bool, error) {
	if m.mem != nil {
		if m.at >= len(m.mem.ents) {
			return false, nil
		}
		e := &m.mem.ents[m.at]
		m.key, m.seq, m.payload = m.mem.key(e), e.seq, m.mem.payload(e)
		m.at++
		return true, nil
	}
	if m.started && len(m.heap) > 0 {
		// Advance the run whose entry was handed out last.
		ok, err := m.heap[0].next()
		if err != nil {
			return false, err
		}
		if ok {
			heap.Fix(&m.heap, 0)
		} else {
			heap.Pop(&m.heap)
		}
	}
	m.started = true
	if len(m.heap) == 0 {
		return false, nil
	}
	r := m.heap[0]
	m.key, m.seq, m.payload = r.key, r.seq, r.payload
	return true, nil
}

// each calls fn with each entry in order (valid during the call), up to
// the first error.
func (m *runMerge) each(fn func(key []byte, seq uint64, payload []byte) error) error {
	for {
		ok, err := m.next()
		if err != nil || !ok {
			return err
		}
		if err := fn(m.key, m.seq, m.payload); err != nil {
			return err
		}
	}
}

// runReader reads the entries of one run.
type runReader struct {
	r            *bufio.Reader
	name         string
	key, payload []byte
	seq          uint64
}

// next reads the next entry; it returns false at the end of the run.
func (r *runReader) next() (bool, error) {
	klen, err := binary.ReadUvarint(r.r)
	if err == io.EOF {
		return false, nil
	}
	fail := func(err error) (bool, error) {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return false, fmt.Errorf("sorted run %s: %w", r.name, err)
	}
	if err != nil {
		return fail(err)
	}
	if r.key, err = readN(r.r, r.key, klen); err != nil {
		return fail(err)
	}
	if r.seq, err = binary.ReadUvarint(r.r); err != nil {
		return fail(err)
	}
	plen, err := binary.ReadUvarint(r.r)
	if err != nil {
		return fail(err)
	}
	if r.payload, err = readN(r.r, r.payload, plen); err != nil {
		return fail(err)
	}
	return true, nil
}

// readN reads n bytes into buf, growing it when needed.
func readN(r io.Reader, buf []byte, n uint64) ([]byte, error) {
	if n > 1<<30 {
		return buf, fmt.Errorf("%w: entry of %d bytes", ErrCorrupt, n)
	}
	buf = slices.Grow(buf[:0], int(n))[:n]
	_, err := io.ReadFull(r, buf)
	return buf, err
}

// runHeap orders runs by their current entry.
type runHeap []*runReader

func (h runHeap) Len() int { return len(h) }
func (h runHeap) Less(i, j int) bool {
	if c := bytes.Compare(h[i].key, h[j].key); c != 0 {
		return c < 0
	}
	return h[i].seq < h[j].seq
}
func (h runHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)   { *h = append(*h, x.(*runReader)) }
func (h *runHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	*h = old[:len(old)-1]
	return r
}
