package udid

import (
	"archive/zip"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// partName finds the part number of an entry name (…PART12…) and, when
// the name gives it, the number of parts (…PART12_Of_1136…).
var partName = regexp.MustCompile(`(?i)PART[_-]?(\d+)(?:[_-]?OF[_-]?(\d+))?`)

// partOf returns the part number of name (0 if none) and the announced
// number of parts (0 if none).
func partOf(name string) (n, of int) {
	m := partName.FindStringSubmatch(name)
	if m == nil {
		return 0, 0
	}
	n, _ = strconv.Atoi(m[1])
	if m[2] != "" {
		of, _ = strconv.Atoi(m[2])
	}
	return n, of
}

// parts collects the PART numbers of every document read under one
// outer ZIP, to check that none is missing or repeated.
type parts struct {
	of   map[int]bool // announced totals
	seen map[int]int  // part number → times seen
}

// readZip reads a ZIP: its entries in the order of their PART numbers
// (entries without one first, by name), each XML or JSON entry as a
// document and each ZIP entry recursively.
func (r *Reader) readZip(src io.ReaderAt, size int64, file, entry string, depth int, fn func(Device) error, st *Stats) error {
	var ps *parts
	if depth == 1 {
		ps = &parts{of: map[int]bool{}, seen: map[int]int{}}
		if err := r.zipTree(src, size, file, entry, depth, fn, st, ps); err != nil {
			return err
		}
		return r.checkParts(file, ps, st)
	}
	return r.zipTree(src, size, file, entry, depth, fn, st, ps)
}

func (r *Reader) zipTree(src io.ReaderAt, size int64, file, entry string, depth int, fn func(Device) error, st *Stats, ps *parts) error {
	zr, err := zip.NewReader(src, size)
	if err != nil {
		return r.problem(st, &FileError{File: file, Entry: entry, Reason: "not a readable ZIP: " + err.Error(), Err: ErrFormat})
	}
	files := make([]*zip.File, 0, len(zr.File))
	for _, f := range zr.File {
		if !f.FileInfo().IsDir() {
			files = append(files, f)
		}
	}
	slices.SortStableFunc(files, func(a, b *zip.File) int {
		na, _ := partOf(a.Name)
		nb, _ := partOf(b.Name)
		if na != nb {
			return na - nb
		}
		return strings.Compare(a.Name, b.Name)
	})
	for _, f := range files {
		name := f.Name
		if entry != "" {
			name = entry + "!" + f.Name
		}
		if err := r.zipEntry(src, f, file, name, depth, fn, st, ps); err != nil {
			return err
		}
	}
	return nil
}

// zipEntry reads one entry of a ZIP.
func (r *Reader) zipEntry(src io.ReaderAt, f *zip.File, file, name string, depth int, fn func(Device) error, st *Stats, ps *parts) error {
	damaged := func(err error) error {
		return r.problem(st, &FileError{File: file, Entry: name, Reason: "cannot read the entry: " + err.Error(), Err: ErrDamaged})
	}
	rc, err := f.Open()
	if err != nil {
		return damaged(err)
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 64<<10)
	head, err := br.Peek(512)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return damaged(err)
	}
	k := sniff(head)
	if k == kindXML || k == kindJSON {
		if n, of := partOf(f.Name); n > 0 {
			ps.seen[n]++
			if of > 0 {
				ps.of[of] = true
			}
		}
	}
	switch k {
	case kindXML:
		return r.readXML(br, file, name, fn, st)
	case kindJSON:
		return r.readJSON(br, file, name, fn, st)
	case kindZip:
		if depth >= MaxZipDepth {
			return r.problem(st, &FileError{File: file, Entry: name,
				Reason: fmt.Sprintf("ZIPs nested more than %d deep", MaxZipDepth), Err: ErrTooLarge})
		}
		ra, n, done, err := r.nested(src, f)
		if err != nil {
			return damaged(err)
		}
		defer done()
		return r.zipTree(ra, n, file, name, depth+1, fn, st, ps)
	}
	return r.problem(st, &FileError{File: file, Entry: name, Reason: "neither ZIP, XML nor JSON: skipped", Err: ErrUnsupported})
}

// nested gives random access to a ZIP stored inside a ZIP, as
// archive/zip needs. Memory stays bounded:
//   - a stored (uncompressed) entry is read in place, through a section
//     of the outer file: no copy at all;
//   - a compressed entry of at most MaxInMemory bytes uncompressed is
//     read into memory;
//   - a larger one is copied to a temporary file in TempDir, removed by
//     done.
func (r *Reader) nested(src io.ReaderAt, f *zip.File) (ra io.ReaderAt, size int64, done func(), err error) {
	done = func() {}
	if f.Method == zip.Store {
		off, err := f.DataOffset()
		if err != nil {
			return nil, 0, done, err
		}
		return io.NewSectionReader(src, off, int64(f.CompressedSize64)), int64(f.CompressedSize64), done, nil
	}
	max := r.MaxInMemory
	if max == 0 {
		max = DefaultMaxInMemory
	}
	rc, err := f.Open()
	if err != nil {
		return nil, 0, done, err
	}
	defer rc.Close()
	if max > 0 && f.UncompressedSize64 <= uint64(max) {
		// The header's size bounds the allocation; a lying header is
		// caught by the limit.
		b, err := io.ReadAll(io.LimitReader(rc, max+1))
		if err != nil {
			return nil, 0, done, err
		}
		if int64(len(b)) <= max {
			return bytes.NewReader(b), int64(len(b)), done, nil
		}
		return nil, 0, done, errors.New("entry larger than its header says")
	}
	tmp, err := os.CreateTemp(r.TempDir, "udid-*.zip")
	if err != nil {
		return nil, 0, done, err
	}
	done = func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}
	n, err := io.Copy(tmp, rc)
	if err != nil {
		done()
		return nil, 0, func() {}, err
	}
	return tmp, n, done, nil
}

// checkParts reports PART numbers missing or repeated under one outer
// ZIP, when the names announce how many parts there are.
func (r *Reader) checkParts(file string, ps *parts, st *Stats) error {
	if len(ps.of) == 0 {
		return nil
	}
	var totals []int
	for of := range ps.of {
		totals = append(totals, of)
	}
	slices.Sort(totals)
	if len(totals) > 1 {
		return r.problem(st, &FileError{File: file, Reason: fmt.Sprintf("part names announce different totals: %v", totals), Err: ErrPart})
	}
	of := totals[0]
	var missing, repeated, extra []int
	for n := 1; n <= of; n++ {
		switch c := ps.seen[n]; {
		case c == 0:
			missing = append(missing, n)
		case c > 1:
			repeated = append(repeated, n)
		}
	}
	for n := range ps.seen {
		if n > of {
			extra = append(extra, n)
		}
	}
	slices.Sort(extra)
	if len(missing)+len(repeated)+len(extra) == 0 {
		return nil
	}
	var why []string
	if len(missing) > 0 {
		why = append(why, "missing "+numbers(missing))
	}
	if len(repeated) > 0 {
		why = append(why, "repeated "+numbers(repeated))
	}
	if len(extra) > 0 {
		why = append(why, "beyond the total "+numbers(extra))
	}
	return r.problem(st, &FileError{File: file,
		Reason: fmt.Sprintf("of %d parts: %s", of, strings.Join(why, "; ")), Err: ErrPart})
}

// numbers lists part numbers, the first ten and how many more.
func numbers(ns []int) string {
	var b strings.Builder
	for i, n := range ns {
		if i == 10 {
			fmt.Fprintf(&b, " and %d more", len(ns)-10)
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}
