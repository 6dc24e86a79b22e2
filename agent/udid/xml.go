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
	doc
	s    *scanner
	text []byte
	rec  record
}

func (r *Reader) readXML(src io.Reader, file, entry string, fn func(Device) error, st *Stats) error {
	rep := Repair(src)
	x := &xmlDoc{doc: doc{r: r, file: file, entry: entry, fn: fn, st: st}, s: newScanner(rep)}
	st.Documents++
	err := x.document()
	st.Repairs.add(rep.Repairs())
	return x.end(err, x.fileError)
}

// fileError turns a reading error into a *FileError.
func (x *xmlDoc) fileError(err error) *FileError {
	fe := &FileError{File: x.file, Entry: x.entry, Records: x.n}
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

// field reads the text of the field element just opened; a field
// holding elements is a bad field of the record (ok false).
func (x *xmlDoc) field(name string) (v string, ok bool, err error) {
	v, nested, err := x.fieldText()
	if err != nil || !nested {
		return v, err == nil, err
	}
	x.rec.fail(name, v, "holds elements, not text", ErrValue)
	return "", false, nil
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

// children calls each with the name of every child element of the
// element just opened, its start tag read; each must read the child to
// its end.
func (x *xmlDoc) children(each func(name string) error) error {
	s := x.s
	depth := len(s.stack)
	for len(s.stack) >= depth {
		k, err := s.next()
		if err != nil {
			return err
		}
		if k == tStart {
			if err := each(s.name); err != nil {
				return err
			}
		}
	}
	return nil
}

// device reads one <device> element and passes it on.
func (x *xmlDoc) device() error {
	x.n++
	line := x.s.line()
	rec := &x.rec
	rec.reset()
	err := x.children(func(name string) error {
		switch name {
		case xPacking, xStorage:
			return x.list(name)
		}
		if _, keep := deviceFields[name]; !keep {
			return x.skip()
		}
		v, ok, err := x.field(name)
		if ok {
			rec.set(name, v)
		}
		return err
	})
	if err != nil {
		return err
	}
	return x.pass(rec, x.n, line)
}

// list reads a packingList or storageList: each child element is a row,
// each grandchild a field.
func (x *xmlDoc) list(listName string) error {
	rec := &x.rec
	prefix := "packing"
	if listName == xStorage {
		prefix = "storage"
	}
	i := 0
	return x.children(func(string) error {
		if listName == xPacking {
			rec.d.Packing = append(rec.d.Packing, Packing{})
		} else {
			rec.d.Storage = append(rec.d.Storage, Storage{})
		}
		err := x.children(func(name string) error {
			field := listField(prefix, i, name)
			v, ok, err := x.field(field)
			switch {
			case !ok:
			case listName == xPacking:
				rec.setPacking(&rec.d.Packing[i], name, field, v)
			default:
				rec.setStorage(&rec.d.Storage[i], name, v)
			}
			return err
		})
		i++
		return err
	})
}
