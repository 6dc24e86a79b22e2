package udid

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// Defaults for Reader's bounds.
const (
	// DefaultMaxInMemory is the largest compressed nested ZIP read into
	// memory; a larger one is copied to a temporary file.
	DefaultMaxInMemory = 16 << 20
	// DefaultMaxPending is the largest number of devices of one JSON page
	// held while waiting for the page's packing and storage rows.
	DefaultMaxPending = 100_000
	// MaxZipDepth is how deep ZIPs may nest (the outer ZIP is depth 1).
	MaxZipDepth = 4
)

// Reader reads UDID exports. The zero value is ready to use: it stops at
// the first problem. A Reader keeps no state between calls and may be
// used by several goroutines at once.
type Reader struct {
	// Problem is called with each problem found: a *RecordError for a
	// bad record, which is not passed to the record function, or a
	// *FileError for a document that cannot be read (on). When Problem
	// returns nil, reading goes on with the next record or, after a
	// *FileError, the next document; an error stops reading and is
	// returned. When Problem is nil, the first problem stops reading and
	// is returned.
	Problem func(err error) error
	// TempDir is where nested ZIPs too large for memory are copied
	// ("" means os.TempDir()). Each copy is removed once read.
	TempDir string
	// MaxInMemory is the largest compressed nested ZIP read into memory
	// (0 means DefaultMaxInMemory, a negative value never).
	MaxInMemory int64
	// MaxPending bounds the devices of one JSON page held while waiting
	// for the page's packing and storage rows (0 means
	// DefaultMaxPending).
	MaxPending int
}

// Stats says what a read did.
type Stats struct {
	// Documents is the number of XML parts and JSON files read,
	// including the ones inside ZIPs.
	Documents int
	// Records is the number of devices passed to the record function.
	Records int64
	// Bad is the number of records reported as *RecordError.
	Bad int64
	// Problems is the number of *FileError reported.
	Problems int
	// Repairs counts what Repair fixed in the XML documents.
	Repairs Repairs
}

// Open reads the UDID export at path with a zero Reader: see
// Reader.Open.
func Open(path string, fn func(Device) error) (Stats, error) {
	var r Reader
	return r.Open(path, fn)
}

// Open reads the UDID export at path, calling fn with each device in
// file order. The kind of file is told from its content, not its name: a
// ZIP (nested ZIPs and XML or JSON entries inside, parts in PART order),
// an XML download part, or a JSON page (or several, one after the
// other, or an array of pages) of the data-sharing API. An error from fn
// stops reading and is returned unchanged.
func (r *Reader) Open(path string, fn func(Device) error) (Stats, error) {
	var st Stats
	f, err := os.Open(path)
	if err != nil {
		return st, fmt.Errorf("udid: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	head, _ := br.Peek(512)
	switch sniff(head) {
	case kindZip:
		fi, err := f.Stat()
		if err != nil {
			return st, fmt.Errorf("udid: %w", err)
		}
		err = r.readZip(f, fi.Size(), path, "", 1, fn, &st)
		return st, err
	case kindXML:
		err = r.readXML(br, path, "", fn, &st)
	case kindJSON:
		err = r.readJSON(br, path, "", fn, &st)
	default:
		err = r.problem(&st, &FileError{File: path, Reason: "neither ZIP, XML nor JSON", Err: ErrFormat})
	}
	return st, err
}

// ReadXML reads one XML document of the bulk download from src; name
// names it in errors. See Open.
func (r *Reader) ReadXML(src io.Reader, name string, fn func(Device) error) (Stats, error) {
	var st Stats
	err := r.readXML(src, name, "", fn, &st)
	return st, err
}

// ReadJSON reads one or more JSON pages of the data-sharing API from
// src; name names it in errors. See Open.
func (r *Reader) ReadJSON(src io.Reader, name string, fn func(Device) error) (Stats, error) {
	var st Stats
	err := r.readJSON(src, name, "", fn, &st)
	return st, err
}

// ReadZip reads a ZIP of size bytes from src; name names it in errors.
// See Open.
func (r *Reader) ReadZip(src io.ReaderAt, size int64, name string, fn func(Device) error) (Stats, error) {
	var st Stats
	err := r.readZip(src, size, name, "", 1, fn, &st)
	return st, err
}

// problem counts a problem and hands it to r.Problem; it returns the
// error that stops reading, or nil to go on.
func (r *Reader) problem(st *Stats, err error) error {
	var re *RecordError
	if errors.As(err, &re) {
		st.Bad++
	} else {
		st.Problems++
	}
	if r.Problem == nil {
		return err
	}
	return r.Problem(err)
}

// kinds of document, told by sniff.
type kind int

const (
	kindUnknown kind = iota
	kindZip
	kindXML
	kindJSON
)

// sniff tells the kind of a document from its first bytes: the ZIP local
// header or end-of-archive signature, else (after a byte order mark and
// white space) '<' for XML, '{' or '[' for JSON.
func sniff(head []byte) kind {
	if bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06")) {
		return kindZip
	}
	head = bytes.TrimPrefix(head, []byte("\xEF\xBB\xBF"))
	head = bytes.TrimLeft(head, " \t\r\n")
	if len(head) == 0 {
		return kindUnknown
	}
	switch head[0] {
	case '<':
		return kindXML
	case '{', '[':
		return kindJSON
	}
	return kindUnknown
}

// doc is what the XML and JSON readers share: where they read, what
// they call, what they count.
type doc struct {
	r     *Reader
	file  string
	entry string
	fn    func(Device) error
	st    *Stats
	n     int64 // records seen in the document
}

// errStop carries an error that ends reading and is returned as is
// (from fn or Problem).
type errStop struct{ err error }

func (e errStop) Error() string { return e.err.Error() }

// end turns the error that ended a document into what the reader
// returns: an error from fn or Problem as is, any other through Problem
// as a *FileError (toFile builds it).
func (d *doc) end(err error, toFile func(error) *FileError) error {
	var stop errStop
	if errors.As(err, &stop) {
		return stop.err
	}
	if err != nil {
		var fe *FileError
		if !errors.As(err, &fe) {
			fe = toFile(err)
		}
		return d.r.problem(d.st, fe)
	}
	return nil
}

// report hands a problem to the Reader; an error that stops reading
// comes back as errStop.
func (d *doc) report(err error) error {
	if err := d.r.problem(d.st, err); err != nil {
		return errStop{err}
	}
	return nil
}

// pass finishes record number n (starting at line, 0 if unknown) and
// passes it to fn, or reports it.
func (d *doc) pass(rec *record, n int64, line int) error {
	if dev := rec.finish(); dev != nil {
		d.st.Records++
		if err := d.fn(*dev); err != nil {
			return errStop{err}
		}
		return nil
	}
	dev := rec.d
	key := dev.DI
	if key == "" {
		key = dev.RecordKey
	}
	return d.report(&RecordError{File: d.file, Entry: d.entry, Record: n, Line: line, Key: key, Fields: rec.errs, Device: &dev})
}
