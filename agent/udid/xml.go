package udid

import (
	"encoding/xml"
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
	d     *xml.Decoder
	file  string
	entry string
	fn    func(Device) error
	st    *Stats
	stack []string // open elements, to check end tags (RawToken does not)
	text  []byte
	rec   record
	n     int64 // records seen
	enc   string
}

// errStop carries an error that ends the document and is returned as is
// (from fn or Problem).
type errStop struct{ err error }

func (e errStop) Error() string { return e.err.Error() }

func (r *Reader) readXML(src io.Reader, file, entry string, fn func(Device) error, st *Stats) error {
	rep := Repair(src)
	x := &xmlDoc{r: r, d: xml.NewDecoder(rep), file: file, entry: entry, fn: fn, st: st}
	x.d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		x.enc = label
		return nil, ErrEncoding
	}
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

// fileError turns a decoding error into a *FileError.
func (x *xmlDoc) fileError(err error) *FileError {
	fe := &FileError{File: x.file, Entry: x.entry, Records: x.n}
	var se *xml.SyntaxError
	var fe2 *FileError
	switch {
	case errors.As(err, &fe2):
		return fe2
	case x.enc != "":
		fe.Reason, fe.Err = "declares encoding "+strconv.Quote(x.enc)+": only UTF-8 is read", ErrEncoding
	case errors.As(err, &se):
		fe.Line, fe.Reason, fe.Err = se.Line, se.Msg, ErrSyntax
	case errors.Is(err, io.ErrUnexpectedEOF):
		fe.Line, _ = x.d.InputPos()
		fe.Reason, fe.Err = "document ends early", ErrSyntax
	default:
		fe.Line, _ = x.d.InputPos()
		fe.Reason, fe.Err = "reading: "+err.Error(), ErrDamaged
	}
	return fe
}

// token returns the next token, checking that end tags match.
func (x *xmlDoc) token() (xml.Token, error) {
	t, err := x.d.RawToken()
	if err != nil {
		if err == io.EOF && len(x.stack) > 0 {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch e := t.(type) {
	case xml.StartElement:
		x.stack = append(x.stack, e.Name.Local)
	case xml.EndElement:
		n := len(x.stack)
		if n == 0 || x.stack[n-1] != e.Name.Local {
			line, _ := x.d.InputPos()
			want := "no element"
			if n > 0 {
				want = "<" + x.stack[n-1] + ">"
			}
			return nil, &xml.SyntaxError{Line: line, Msg: "</" + e.Name.Local + "> closes " + want}
		}
		x.stack = x.stack[:n-1]
	}
	return t, nil
}

// document reads the whole document.
func (x *xmlDoc) document() error {
	declared := int64(-1)
	sawRoot := false
	for {
		t, err := x.token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		se, ok := t.(xml.StartElement)
		if !ok {
			continue
		}
		switch depth := len(x.stack); {
		case depth == 1:
			if sawRoot {
				line, _ := x.d.InputPos()
				return &xml.SyntaxError{Line: line, Msg: "a second root element <" + se.Name.Local + ">"}
			}
			sawRoot = true
			if se.Name.Local != xRoot {
				line, _ := x.d.InputPos()
				return &FileError{File: x.file, Entry: x.entry, Line: line,
					Reason: "root element is <" + se.Name.Local + ">, not <udid>", Err: ErrFormat}
			}
		case se.Name.Local == xDevice:
			if err := x.device(); err != nil {
				return err
			}
		case se.Name.Local == xCount && depth >= 2 && x.stack[depth-2] == xHeader:
			v, err := x.textOf()
			if err != nil {
				return err
			}
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n >= 0 {
				declared = n
			}
		}
	}
	if !sawRoot {
		return &FileError{File: x.file, Entry: x.entry, Reason: "no <udid> element", Err: ErrFormat}
	}
	if declared >= 0 && declared != x.n {
		return &FileError{File: x.file, Entry: x.entry, Records: x.n,
			Reason: "header announces " + strconv.FormatInt(declared, 10) + " records, the part holds " + strconv.FormatInt(x.n, 10), Err: ErrCount}
	}
	return nil
}

// textOf reads the text of the element just opened up to its end; an
// element inside it is skipped, and reported through ok=false by
// fieldText.
func (x *xmlDoc) textOf() (string, error) {
	s, _, err := x.fieldText()
	return s, err
}

// fieldText reads the text of the element just opened; nested reports
// whether it held elements (whose text is left out).
func (x *xmlDoc) fieldText() (s string, nested bool, err error) {
	depth := len(x.stack)
	x.text = x.text[:0]
	for {
		t, err := x.token()
		if err != nil {
			return "", nested, err
		}
		switch e := t.(type) {
		case xml.CharData:
			if len(x.stack) == depth {
				x.text = append(x.text, e...)
			}
		case xml.StartElement:
			nested = true
		case xml.EndElement:
			if len(x.stack) < depth {
				return string(x.text), nested, nil
			}
		}
	}
}

// skip skips the rest of the element just opened.
func (x *xmlDoc) skip() error {
	depth := len(x.stack)
	for len(x.stack) >= depth {
		if _, err := x.token(); err != nil {
			return err
		}
	}
	return nil
}

// device reads one <device> element and passes it on.
func (x *xmlDoc) device() error {
	x.n++
	line, _ := x.d.InputPos()
	rec := &x.rec
	rec.reset()
	depth := len(x.stack)
	for len(x.stack) >= depth {
		t, err := x.token()
		if err != nil {
			return err
		}
		se, ok := t.(xml.StartElement)
		if !ok {
			continue
		}
		name := se.Name.Local
		switch name {
		case xPacking:
			if err := x.list(name, func(i int) func(name, field, value string) {
				rec.d.Packing = append(rec.d.Packing, Packing{})
				return func(name, field, value string) {
					rec.setPacking(&rec.d.Packing[i], name, field, value)
				}
			}); err != nil {
				return err
			}
		case xStorage:
			if err := x.list(name, func(i int) func(name, field, value string) {
				rec.d.Storage = append(rec.d.Storage, Storage{})
				return func(name, field, value string) {
					rec.setStorage(&rec.d.Storage[i], name, value)
				}
			}); err != nil {
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
// each grandchild a field. row is called with the row's index and
// returns the setter for its fields.
func (x *xmlDoc) list(listName string, row func(i int) func(name, field, value string)) error {
	prefix := "packing"
	if listName == xStorage {
		prefix = "storage"
	}
	depth := len(x.stack)
	i := 0
	for len(x.stack) >= depth {
		t, err := x.token()
		if err != nil {
			return err
		}
		if _, ok := t.(xml.StartElement); !ok {
			continue
		}
		set := row(i)
		rowDepth := len(x.stack)
		for len(x.stack) >= rowDepth {
			t, err := x.token()
			if err != nil {
				return err
			}
			se, ok := t.(xml.StartElement)
			if !ok {
				continue
			}
			field := listField(prefix, i, se.Name.Local)
			v, nested, err := x.fieldText()
			if err != nil {
				return err
			}
			if nested {
				x.rec.fail(field, v, "holds elements, not text", ErrValue)
				continue
			}
			set(se.Name.Local, field, v)
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
