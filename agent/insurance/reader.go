package insurance

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/agent/master"
)

// Formats of fee-detail files.
const (
	FormatJSON = "json"
	FormatCSV  = "csv"
)

// ChinaTime is the platform's time zone, China Standard Time (UTC+8, no
// daylight saving time): the default location of times read and written.
var ChinaTime = time.FixedZone("CST", 8*3600)

// FeeOptions say how fee-detail files are read.
type FeeOptions struct {
	// Location is the zone of fee_ocur_time; nil means ChinaTime.
	Location *time.Location
	// Original returns a line of visit known to the caller from earlier
	// files, by its SN, with Qty and Amount reduced by the refunds already
	// made of it: a refund may name it. nil: refunds name lines of the
	// same file only.
	Original func(visit, sn string) (FeeLine, bool)
}

// FeeReader reads the lines of a fee-detail file one at a time, checking
// each and every refund against its original. The file is JSON (an
// array of 2301 feedetail objects, or the request envelope
// {"input":{"feedetail":[…]}} with or without its header fields) or CSV
// whose first row names the fields as the platform does ("feedetl_sn",
// "cnt", …; tab-separated when the first line has tabs and no commas).
//
// A refund (negative cnt) must name its original in init_feedetl_sn: a
// line of the same visit earlier in the file, or one FeeOptions.Original
// knows; it must bill the same code, and may refund no more (quantity or
// amount) than remains of the original. To check refunds the reader keeps,
// for every line read, its visit, serial number, code, quantity and
// amount: some hundred bytes a line.
type FeeReader struct {
	file string
	loc  *time.Location
	orig func(visit, sn string) (FeeLine, bool)

	src  source
	seen map[string]*known // by visit "\x00" SN: lines read, good or bad
	ext  map[string]*known // originals FeeOptions.Original gave
	err  error             // sticky: a file-level error, or io.EOF
	recs int
}

// known is what the reader keeps of a line read, for the refunds that
// name it.
type known struct {
	code   string
	qty    Qty
	amount master.Amount
	line   int
	record int
	bad    bool
	refund bool
}

// source yields the raw values of each record: field name → value, in
// the file's order of fields.
type source interface {
	next() (rec record, err error)
}

// record is one fee line as read: its values by field name.
type record struct {
	line   int // CSV line, 0 for JSON
	names  []string
	values []string
	// problems found while reading the record itself (a JSON value of
	// the wrong type, a key given twice, too many CSV fields).
	problems []FieldError
}

// NewFeeReader returns a reader of the fee-detail file r in format
// ("json" or "csv"; a leading "." is allowed). file names it in errors.
// It reads the CSV header, or the JSON up to the first line, at once: a
// file that cannot be read so far is an error wrapping ErrHeader or
// ErrFormat.
func NewFeeReader(r io.Reader, file, format string, opts FeeOptions) (*FeeReader, error) {
	fr := &FeeReader{file: file, loc: opts.Location, orig: opts.Original, seen: map[string]*known{}, ext: map[string]*known{}}
	if fr.loc == nil {
		fr.loc = ChinaTime
	}
	br := bufio.NewReaderSize(r, 64<<10)
	if b, _ := br.Peek(3); bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	var err error
	switch strings.ToLower(strings.TrimPrefix(format, ".")) {
	case FormatJSON:
		fr.src, err = openJSON(br, file)
	case FormatCSV:
		fr.src, err = openCSV(br, file)
	default:
		err = fmt.Errorf("insurance: %s: %w: format %q (json or csv)", file, ErrFormat, format)
	}
	if err != nil {
		return nil, err
	}
	return fr, nil
}

// Next returns the next good line. At the end of the file it returns
// io.EOF. A bad line is returned as a *LineError (wrapping ErrLine) with
// a zero FeeLine, and the reader goes on with the next line; an error
// wrapping ErrFormat means the rest of the file cannot be read, and Next
// returns it again.
func (fr *FeeReader) Next() (FeeLine, error) {
	if fr.err != nil {
		return FeeLine{}, fr.err
	}
	rec, err := fr.src.next()
	if err != nil {
		fr.err = err
		return FeeLine{}, err
	}
	fr.recs++
	return fr.check(rec)
}

// ReadFees reads a whole fee-detail file: its good lines, in file order,
// and its bad lines' errors. err is a file-level error (ErrFormat,
// ErrHeader); the lines before it are returned with it.
func ReadFees(r io.Reader, file, format string, opts FeeOptions) (lines []FeeLine, bad []*LineError, err error) {
	fr, err := NewFeeReader(r, file, format, opts)
	if err != nil {
		return nil, nil, err
	}
	for {
		l, err := fr.Next()
		var le *LineError
		switch {
		case err == nil:
			lines = append(lines, l)
		case errors.As(err, &le):
			bad = append(bad, le)
		case err == io.EOF:
			return lines, bad, nil
		default:
			return lines, bad, err
		}
	}
}

// check builds and checks the line of rec.
func (fr *FeeReader) check(rec record) (FeeLine, error) {
	l := FeeLine{File: fr.file, Line: rec.line, Record: fr.recs}
	e := &LineError{File: fr.file, Line: rec.line, Record: fr.recs, Problems: rec.problems}
	got := make([]bool, len(feeFields))
	for i, name := range rec.names {
		fi := fieldIndex(name)
		if fi < 0 {
			continue // a known field this package does not use
		}
		f := &feeFields[fi]
		v := strings.TrimSpace(rec.values[i])
		if v == "" {
			continue
		}
		p, reason := parseField(f, v, fr.loc)
		if reason != "" {
			e.Problems = append(e.Problems, FieldError{f.name, reason})
			got[fi] = true // reported: not missing as well
			continue
		}
		f.set(&l, p)
		got[fi] = true
	}
	for i := range feeFields {
		if feeFields[i].required && !got[i] {
			e.Problems = append(e.Problems, FieldError{feeFields[i].name, "missing"})
		}
	}
	key := l.Visit + "\x00" + l.SN
	first, dup := fr.seen[key]
	if dup && l.SN != "" && l.Visit != "" {
		e.Problems = append(e.Problems, FieldError{"feedetl_sn", fmt.Sprintf("%s appears twice in the visit (first at %s)", quote(l.SN), where(first.line, first.record))})
	}
	if len(e.Problems) == 0 {
		fr.checkAmounts(&l, e)
	}
	if len(e.Problems) > 0 {
		if !dup && l.SN != "" && l.Visit != "" {
			fr.seen[key] = &known{line: rec.line, record: fr.recs, bad: true}
		}
		return FeeLine{}, e
	}
	fr.seen[key] = &known{code: l.Code, qty: l.Qty, amount: l.Amount, line: rec.line, record: fr.recs, refund: l.Refund()}
	if l.Refund() {
		o := fr.original(l.Visit, l.InitSN)
		o.qty += l.Qty
		o.amount += l.Amount
	}
	return l, nil
}

// checkAmounts checks the signs of a line and, on a refund, its original.
func (fr *FeeReader) checkAmounts(l *FeeLine, e *LineError) {
	bad := func(field, reason string) { e.Problems = append(e.Problems, FieldError{field, reason}) }
	switch {
	case l.Qty == 0:
		bad("cnt", "is zero")
	case l.Price < 0:
		bad("pric", "is negative")
	case l.Result != nil && l.Result.PriceCap < 0:
		bad("pric_uplmt_amt", "is negative")
	case l.Qty > 0 && l.Amount < 0:
		bad("det_item_fee_sumamt", fmt.Sprintf("%s is negative on a line whose cnt is positive", l.Amount))
	case l.Qty > 0 && l.InitSN != "":
		bad("init_feedetl_sn", "names an original line, but cnt is not negative (a refund's cnt is)")
	}
	if len(e.Problems) > 0 || !l.Refund() {
		return
	}
	e.refund = true
	if l.Amount > 0 {
		bad("det_item_fee_sumamt", fmt.Sprintf("%s is positive on a refund (negative cnt)", l.Amount))
		return
	}
	if l.InitSN == "" {
		bad("init_feedetl_sn", "missing: a refund (negative cnt) names the line it refunds")
		return
	}
	o := fr.original(l.Visit, l.InitSN)
	switch {
	case o == nil:
		bad("init_feedetl_sn", fmt.Sprintf("names line %s, which is neither earlier in the file for the visit nor known before", quote(l.InitSN)))
	case o.bad:
		bad("init_feedetl_sn", fmt.Sprintf("names line %s, which is bad (%s)", quote(l.InitSN), where(o.line, o.record)))
	case o.refund:
		bad("init_feedetl_sn", fmt.Sprintf("names line %s, which is itself a refund", quote(l.InitSN)))
	case o.code != l.Code:
		bad("med_list_codg", fmt.Sprintf("%s is not the code of the line it refunds (%s)", quote(l.Code), quote(o.code)))
	case -l.Qty > o.qty:
		bad("cnt", fmt.Sprintf("refunds %s, but %s remains of line %s", -l.Qty, o.qty, quote(l.InitSN)))
	case -l.Amount > o.amount:
		bad("det_item_fee_sumamt", fmt.Sprintf("refunds %s, but %s remains of line %s", -l.Amount, o.amount, quote(l.InitSN)))
	}
}

// original returns what the reader knows of line sn of visit: read
// earlier in the file, or given by FeeOptions.Original; nil if neither.
func (fr *FeeReader) original(visit, sn string) *known {
	key := visit + "\x00" + sn
	if k := fr.seen[key]; k != nil {
		return k
	}
	if k := fr.ext[key]; k != nil {
		return k
	}
	if fr.orig == nil {
		return nil
	}
	o, ok := fr.orig(visit, sn)
	if !ok {
		return nil
	}
	k := &known{code: o.Code, qty: o.Qty, amount: o.Amount, line: o.Line, record: o.Record, refund: o.Refund()}
	fr.ext[key] = k
	return k
}

// where names a line's place: "line 7" (CSV) or "record 3" (JSON).
func where(line, rec int) string {
	if line > 0 {
		return fmt.Sprintf("line %d", line)
	}
	return fmt.Sprintf("record %d", rec)
}

// csvSource reads a CSV fee-detail file.
type csvSource struct {
	file string
	cr   *csv.Reader
	head []string
}

func openCSV(br *bufio.Reader, file string) (*csvSource, error) {
	cr := csv.NewReader(br)
	first, _ := br.Peek(br.Size())
	if i := bytes.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	if bytes.IndexByte(first, '\t') >= 0 && bytes.IndexByte(first, ',') < 0 {
		cr.Comma = '\t'
	}
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("insurance: %s: %w: the file is empty, its first row must name the fields", file, ErrHeader)
	}
	if err != nil {
		return nil, fmt.Errorf("insurance: %s: %w: %v", file, ErrHeader, err)
	}
	names := make([]string, len(head))
	seen := map[string]bool{}
	var unknown []string
	for i, h := range head {
		n := strings.ToLower(strings.TrimSpace(h))
		names[i] = n
		switch {
		case n == "":
			return nil, fmt.Errorf("insurance: %s: %w: column %d has no name", file, ErrHeader, i+1)
		case seen[n]:
			return nil, fmt.Errorf("insurance: %s: %w: column %s named twice", file, ErrHeader, n)
		case fieldIndex(n) == -1:
			unknown = append(unknown, quote(h))
		}
		seen[n] = true
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("insurance: %s: %w: unknown column %s (the 2301 field names are expected)", file, ErrHeader, strings.Join(unknown, ", "))
	}
	for _, f := range feeFields {
		if f.required && !seen[f.name] {
			return nil, fmt.Errorf("insurance: %s: %w: missing column %s", file, ErrHeader, f.name)
		}
	}
	return &csvSource{file: file, cr: cr, head: names}, nil
}

func (s *csvSource) next() (record, error) {
	for {
		rec, err := s.cr.Read()
		if err == io.EOF {
			return record{}, io.EOF
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return record{}, fmt.Errorf("insurance: %s: %w: %v", s.file, ErrFormat, err)
			}
			return record{line: pe.StartLine, problems: []FieldError{{"", "unreadable CSV: " + pe.Err.Error()}}}, nil
		}
		line, _ := s.cr.FieldPos(0)
		blank := true
		for _, f := range rec {
			if strings.TrimSpace(f) != "" {
				blank = false
				break
			}
		}
		if blank {
			continue
		}
		r := record{line: line, names: s.head}
		if len(rec) > len(s.head) {
			for _, f := range rec[len(s.head):] {
				if strings.TrimSpace(f) != "" {
					r.problems = append(r.problems, FieldError{"", fmt.Sprintf("has %d fields, the header names %d", len(rec), len(s.head))})
					break
				}
			}
			rec = rec[:len(s.head)]
		}
		r.values = append([]string(nil), rec...)
		r.names = s.head[:len(rec)]
		return r, nil
	}
}

// jsonSource reads a JSON fee-detail file.
type jsonSource struct {
	file string
	dec  *json.Decoder
	// closing is the number of objects that enclose the array: 0 for a
	// bare array, 2 for the envelope.
	closing int
	infno   string
}

func openJSON(br *bufio.Reader, file string) (*jsonSource, error) {
	s := &jsonSource{file: file, dec: json.NewDecoder(br)}
	s.dec.UseNumber()
	t, err := s.dec.Token()
	if err == io.EOF {
		return nil, fmt.Errorf("insurance: %s: %w: the file is empty", file, ErrFormat)
	}
	if err != nil {
		return nil, s.fail(err)
	}
	switch t {
	case json.Delim('['):
		return s, nil
	case json.Delim('{'):
	default:
		return nil, fmt.Errorf("insurance: %s: %w: not a JSON array of fee lines nor an object with input.feedetail", file, ErrFormat)
	}
	// The envelope: {…, "input": {…, "feedetail": [ …
	if err := s.enter("input", '{'); err != nil {
		return nil, err
	}
	if err := s.enter("feedetail", '['); err != nil {
		return nil, err
	}
	s.closing = 2
	return s, nil
}

// enter reads the keys of the current object up to key want, whose
// value must open with delim, and enters it.
func (s *jsonSource) enter(want string, delim json.Delim) error {
	for s.dec.More() {
		k, err := s.key()
		if err != nil {
			return err
		}
		if k == want {
			t, err := s.dec.Token()
			if err != nil {
				return s.fail(err)
			}
			if t != delim {
				return fmt.Errorf("insurance: %s: %w: %s is not a JSON %s", s.file, ErrFormat, want, map[json.Delim]string{'{': "object", '[': "array"}[delim])
			}
			return nil
		}
		if err := s.skip(k); err != nil {
			return err
		}
	}
	return fmt.Errorf("insurance: %s: %w: no %s in the JSON object", s.file, ErrFormat, want)
}

// key reads an object key.
func (s *jsonSource) key() (string, error) {
	t, err := s.dec.Token()
	if err != nil {
		return "", s.fail(err)
	}
	k, _ := t.(string)
	return k, nil
}

// skip reads the value of key k, which is not used; an infno other than
// 2301 is an error.
func (s *jsonSource) skip(k string) error {
	var v json.RawMessage
	if err := s.dec.Decode(&v); err != nil {
		return s.fail(err)
	}
	if k == "infno" {
		var n string
		if json.Unmarshal(v, &n) != nil {
			n = string(v)
		}
		if strings.TrimSpace(n) != "2301" {
			return fmt.Errorf("insurance: %s: %w: infno is %s, not 2301 (the inpatient fee detail)", s.file, ErrFormat, quote(n))
		}
	}
	return nil
}

func (s *jsonSource) fail(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("insurance: %s: %w: the JSON ends before it is closed", s.file, ErrFormat)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("insurance: %s: %w: byte %d: %v", s.file, ErrFormat, se.Offset, err)
	}
	return fmt.Errorf("insurance: %s: %w: %v", s.file, ErrFormat, err)
}

func (s *jsonSource) next() (record, error) {
	if !s.dec.More() {
		return record{}, s.finish()
	}
	var raw json.RawMessage
	if err := s.dec.Decode(&raw); err != nil {
		return record{}, s.fail(err)
	}
	return jsonRecord(raw), nil
}

// finish reads the end of the array and of the objects around it.
func (s *jsonSource) finish() error {
	if _, err := s.dec.Token(); err != nil { // ]
		return s.fail(err)
	}
	for range s.closing {
		for s.dec.More() {
			k, err := s.key()
			if err != nil {
				return err
			}
			if err := s.skip(k); err != nil {
				return err
			}
		}
		if _, err := s.dec.Token(); err != nil { // }
			return s.fail(err)
		}
	}
	if _, err := s.dec.Token(); err != io.EOF {
		return fmt.Errorf("insurance: %s: %w: data after the end of the JSON", s.file, ErrFormat)
	}
	s.closing = 0
	return io.EOF
}

// jsonRecord reads one array element: an object of fields whose values
// are strings, numbers or null. Field names are taken in any case.
func jsonRecord(raw json.RawMessage) record {
	var r record
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		r.problems = append(r.problems, FieldError{"", "is not a JSON object"})
		return r
	}
	seen := map[string]bool{}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			r.problems = append(r.problems, FieldError{"", "unreadable object"})
			return r
		}
		k, _ := t.(string)
		var v any
		if err := d.Decode(&v); err != nil {
			r.problems = append(r.problems, FieldError{k, "unreadable value"})
			return r
		}
		k = strings.ToLower(k) // as CSV headers: tables exported from Oracle name them in capitals
		fi := fieldIndex(k)
		switch {
		case fi == -1:
			r.problems = append(r.problems, FieldError{k, "unknown field (not one of 2301's)"})
			continue
		case seen[k]:
			r.problems = append(r.problems, FieldError{k, "given twice"})
			continue
		}
		seen[k] = true
		if fi == -2 {
			continue // any value: the field is not used
		}
		var s string
		switch x := v.(type) {
		case nil:
			continue
		case string:
			s = x
		case json.Number:
			s = x.String()
		case bool:
			r.problems = append(r.problems, FieldError{k, "is true or false, not a string or a number"})
			continue
		default:
			r.problems = append(r.problems, FieldError{k, "is an object or an array, not a string or a number"})
			continue
		}
		r.names = append(r.names, k)
		r.values = append(r.values, s)
	}
	return r
}
