package udid

import (
	"errors"
	"io"
	"strconv"
	"strings"
)

// XML structure of the bulk download:
//
//	<udid>
//	  <header><numberRkeyecordXML>N</numberRkeyecordXML></header>
//	  <devices>
//	    <device>
//	      <zxxsdycpbs>…</zxxsdycpbs> … one element per field …
//	      <packingList><packing><bzcpbs>…</bzcpbs>…</packing>…</packingList>
//	      <storageList><storage><cchcztj>…</cchcztj>…</storage>…</storageList>
//	      <clinicalList>…</clinicalList> <contactList>…</contactList>
//	    </device>
//	  </devices>
//	</udid>
const (
	xRoot    = "udid"
	xHeader  = "header"
	xCount   = "numberRkeyecordXML" // sic
	xDevice  = "device"
	xPacking = "packingList"
	xStorage = "storageList"
)

// xmlDoc is one XML document being read.
type xmlDoc struct {
	r     *Reader
	s     *scanner
	file  string
	entry string
	fn    func(Device) error
	st    *Stats
	text  []byte
	rec   record
	n     int64 // records seen
}

// errStop carries an error that ends reading and is returned as is
// (from fn or Problem).
type errStop struct{ err error }

func (e errStop) Error() string { return e.err.Error() }

func (r *Reader) readXML(src io.Reader, file, entry string, fn func(Device) error, st *Stats) error {
	rep := Repair(src)
	x := &xmlDoc{r: r, s: newScanner(rep), file: file, entry: entry, fn: fn, st: st}
	st.Documents++
	err := x.document()
	st.Repairs.add(rep.Repairs())
	var stop errStop
	if errors.As(err, &stop) {
		return stop.err
	}
	if err != nil {
		return r.problem(st, x.fileError(err))
	}
	return nil
}

// fileError turns a reading error into a *FileError.
func (x *xmlDoc) fileError(err error) *FileError {
	var fe *FileError
	if errors.As(err, &fe) {
		return fe
	}
	fe = &FileError{File: x.file, Entry: x.entry, Records: x.n}
	var se *syntaxError
	switch {
	case x.s.encoding != "":
		fe.Line = x.s.line()
		fe.Reason, fe.Err = "declares encoding "+strconv.Quote(x.s.encoding)+": only UTF-8 is read", ErrEncoding
	case errors.As(err, &se):
		fe.Line, fe.Reason, fe.Err = se.line, se.msg, ErrSyntax
	default:
		fe.Line = x.s.line()
		fe.Reason, fe.Err = "reading: "+err.Error(), ErrDamaged
	}
	return fe
}

// document reads the whole document.
func (x *xmlDoc) document() error {
	s := x.s
	declared := int64(-1)
	for {
		k, err := s.next()
		if err != nil {
			return err
		}
		switch k {
		case tEOF:
			if declared >= 0 && declared != x.n {
				return &FileError{File: x.file, Entry: x.entry, Records: x.n,
					Reason: "header announces " + strconv.FormatInt(declared, 10) + " records, the part holds " + strconv.FormatInt(x.n, 10), Err: ErrCount}
			}
			return nil
		case tStart:
			depth := len(s.stack)
			switch {
			case depth == 1:
				if s.name != xRoot {
					return &FileError{File: x.file, Entry: x.entry, Line: s.line(),
						Reason: "root element is <" + s.name + ">, not <udid>", Err: ErrFormat}
				}
			case s.name == xDevice:
				if err := x.device(); err != nil {
					return err
				}
			case s.name == xCount && depth >= 2 && s.stack[depth-2] == xHeader:
				v, _, err := x.fieldText()
				if err != nil {
					return err
				}
				if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n >= 0 {
					declared = n
				}
			}
		}
	}
}

// fieldText reads the text of the element just opened, up to its end;
// nested reports whether it held elements (whose text is left out).
func (x *xmlDoc) fieldText() (v string, nested bool, err error) {
	s := x.s
	depth := len(s.stack)
	x.text = x.text[:0]
	for {
		k, err := s.next()
		if err != nil {
			return "", nested, err
		}
		switch k {
		case tText:
			if len(s.stack) == depth {
				x.text = append(x.text, s.text...)
			}
		case tStart:
			nested = true
		case tEnd:
			if len(s.stack) < depth {
				return string(x.text), nested, nil
			}
		}
	}
}

// skip skips the rest of the element just opened.
func (x *xmlDoc) skip() error {
	depth := len(x.s.stack)
	for len(x.s.stack) >= depth {
		if _, err := x.s.next(); err != nil {
			return err
		}
	}
	return nil
}

// device reads one <device> element and passes it on.
func (x *xmlDoc) device() error {
	s := x.s
	x.n++
	line := s.line()
	rec := &x.rec
	rec.reset()
	depth := len(s.stack)
	for len(s.stack) >= depth {
		k, err := s.next()
		if err != nil {
			return err
		}
		if k != tStart {
			continue
		}
		switch name := s.name; name {
		case xPacking, xStorage:
			if err := x.list(name); err != nil {
				return err
			}
		default:
			if _, keep := deviceFields[name]; !keep {
				if err := x.skip(); err != nil {
					return err
				}
				continue
			}
			v, nested, err := x.fieldText()
			if err != nil {
				return err
			}
			if nested {
				rec.fail(name, v, "holds elements, not text", ErrValue)
				continue
			}
			rec.set(name, v)
		}
	}
	return x.deliver(line)
}

// list reads a packingList or storageList: each child element is a row,
// each grandchild a field.
func (x *xmlDoc) list(listName string) error {
	s := x.s
	rec := &x.rec
	prefix := "packing"
	if listName == xStorage {
		prefix = "storage"
	}
	depth := len(s.stack)
	i := 0
	for len(s.stack) >= depth {
		k, err := s.next()
		if err != nil {
			return err
		}
		if k != tStart {
			continue
		}
		if listName == xPacking {
			rec.d.Packing = append(rec.d.Packing, Packing{})
		} else {
			rec.d.Storage = append(rec.d.Storage, Storage{})
		}
		rowDepth := len(s.stack)
		for len(s.stack) >= rowDepth {
			k, err := s.next()
			if err != nil {
				return err
			}
			if k != tStart {
				continue
			}
			name := s.name
			field := listField(prefix, i, name)
			v, nested, err := x.fieldText()
			if err != nil {
				return err
			}
			if nested {
				rec.fail(field, v, "holds elements, not text", ErrValue)
				continue
			}
			if listName == xPacking {
				rec.setPacking(&rec.d.Packing[i], name, field, v)
			} else {
				rec.setStorage(&rec.d.Storage[i], name, v)
			}
		}
		i++
	}
	return nil
}

// deliver finishes the record and passes it to fn, or reports it.
func (x *xmlDoc) deliver(line int) error {
	rec := &x.rec
	if d := rec.finish(); d != nil {
		x.st.Records++
		if err := x.fn(*d); err != nil {
			return errStop{err}
		}
		return nil
	}
	d := rec.d
	key := d.DI
	if key == "" {
		key = d.RecordKey
	}
	re := &RecordError{File: x.file, Entry: x.entry, Record: x.n, Line: line, Key: key, Fields: rec.errs, Device: &d}
	if err := x.r.problem(x.st, re); err != nil {
		return errStop{err}
	}
	return nil
}
