package master

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Formats the parsers read.
const (
	FormatCSV  = "csv"
	FormatJSON = "json"
)

// column is one column of an input set.
type column struct {
	// name is the English column name and JSON key.
	name string
	// aliases are other header names accepted in CSV (Chinese headers).
	aliases []string
	// required: a CSV header must name the column.
	required bool
	// list: the value is a list; in JSON an array of strings, in CSV
	// values separated by ";" or "|".
	list bool
	// private: the value may identify a person and is never quoted.
	private bool
}

// schema is the set of columns of one kind of file.
type schema struct {
	// what names the set in messages.
	what string
	cols []column
	// anyOf: a CSV header must name at least one of these columns.
	anyOf []int
}

// col returns the index of the column with the given header name.
func (s *schema) col(h string) int {
	n := strings.ToLower(strings.TrimSpace(h))
	n = strings.NewReplacer(" ", "_", "-", "_").Replace(n)
	for i, c := range s.cols {
		if c.name == n || slices.Contains(c.aliases, n) {
			return i
		}
	}
	return -1
}

// row is one record being read: its values by column.
type row struct {
	s      *schema
	vals   []string
	set    []bool
	line   int // CSV line, 0 for JSON
	index  int // JSON index, -1 for CSV
	errs   []RowError
	failed bool
}

func (r *row) reset() {
	clear(r.vals)
	clear(r.set)
	r.errs = r.errs[:0]
	r.failed = false
}

// get returns the value of column c, spaces trimmed.
func (r *row) get(c int) string { return r.vals[c] }

// report records a problem with the column named col ("" for the row).
func (r *row) report(col, reason string) {
	r.failed = true
	r.errs = append(r.errs, RowError{Line: r.line, Index: r.index, Column: col, Reason: reason})
}

// list splits a list value.
func splitList(v string) []string {
	if v == "" {
		return nil
	}
	f := strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == '|' || r == '；' })
	out := f[:0]
	for _, x := range f {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// stats counts the records a parse met, for tests: every record is
// kept, reported or blank.
type stats struct {
	records  int // data records met (CSV rows after the header, JSON elements)
	blank    int // CSV rows whose fields are all empty, skipped
	kept     int // records whose entry was good
	bad      int // records reported
	problems int // their problems, the first MaxRejected of them listed
}

// rawRows holds the values of the good rows of a file as read, by
// column of the schema, to write them out again (PrepareSet).
type rawRows struct {
	rows [][]string
	used []bool // columns set in some row
}

// parseRows reads text, a UTF-8 file of the schema's kind, and calls
// build for each record; build reports problems through the row and
// returns false to leave the record out. keep, when not nil, receives
// each good entry, until a bad row is met when partial is not set (the
// file is then refused whole, and the entries need not be kept). raw,
// when not nil, receives the values of the good records.
func parseRows[T any](text []byte, format string, s *schema, build func(*row) (T, bool), keep func(T), partial bool, raw *rawRows) ([]RowError, stats, error) {
	var (
		errs []RowError
		st   stats
	)
	emit := func(r *row) {
		st.records++
		if !r.failed {
			if v, ok := build(r); ok && !r.failed {
				st.kept++
				if keep != nil && (partial || len(errs) == 0) {
					keep(v)
				}
				if raw != nil {
					raw.add(r)
				}
				return
			}
		}
		if len(r.errs) == 0 {
			r.report("", "rejected")
		}
		st.bad++
		st.problems += len(r.errs)
		errs = append(errs, r.errs[:min(len(r.errs), max(MaxRejected-len(errs), 0))]...)
	}
	var err error
	switch strings.ToLower(strings.TrimPrefix(format, ".")) {
	case FormatCSV:
		err = readCSV(text, s, &st, emit)
	case FormatJSON:
		err = readJSON(text, s, emit)
	default:
		err = fmt.Errorf("master: %s: %w: %q (csv or json)", s.what, ErrFormat, format)
	}
	if err != nil {
		return nil, st, err
	}
	return errs, st, nil
}

func (w *rawRows) add(r *row) {
	if w.used == nil {
		w.used = make([]bool, len(r.vals))
	}
	for c, set := range r.set {
		w.used[c] = w.used[c] || set
	}
	w.rows = append(w.rows, slices.Clone(r.vals))
}

// readCSV reads a CSV file whose first row names the columns. A file
// whose first line has tabs and no commas is read as tab-separated, as
// Excel writes "Unicode text" and hospital systems export tables.
func readCSV(text []byte, s *schema, st *stats, emit func(*row)) error {
	br := bufio.NewReaderSize(bytes.NewReader(text), 64<<10)
	cr := csv.NewReader(br)
	first, _ := br.Peek(br.Size()) // as much as there is, up to the size
	if i := bytes.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	if bytes.IndexByte(first, '\t') >= 0 && bytes.IndexByte(first, ',') < 0 {
		cr.Comma = '\t'
	}
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err == io.EOF {
		return fmt.Errorf("master: %s: %w: the file is empty, the first row must name the columns", s.what, ErrHeader)
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return fmt.Errorf("master: %s: %w: line %d: %v", s.what, ErrHeader, pe.StartLine, pe.Err)
		}
		return fmt.Errorf("master: %s: %w", s.what, err)
	}
	idx := make([]int, len(head)) // file column → schema column, -1 to ignore
	seen := make([]bool, len(s.cols))
	var unknown []string
	for i, h := range head {
		idx[i] = -1
		if strings.TrimSpace(h) == "" {
			continue
		}
		c := s.col(h)
		if c < 0 {
			unknown = append(unknown, quote(h))
			continue
		}
		if seen[c] {
			return fmt.Errorf("master: %s: %w: column %s named twice", s.what, ErrHeader, s.cols[c].name)
		}
		seen[c], idx[i] = true, c
	}
	if len(unknown) > 0 {
		return fmt.Errorf("master: %s: %w: unknown column %s (known: %s)", s.what, ErrHeader, strings.Join(unknown, ", "), s.names())
	}
	for i, c := range s.cols {
		if c.required && !seen[i] {
			return fmt.Errorf("master: %s: %w: missing column %s", s.what, ErrHeader, c.name)
		}
	}
	if len(s.anyOf) > 0 && !slices.ContainsFunc(s.anyOf, func(i int) bool { return seen[i] }) {
		var n []string
		for _, i := range s.anyOf {
			n = append(n, s.cols[i].name)
		}
		return fmt.Errorf("master: %s: %w: missing column %s", s.what, ErrHeader, strings.Join(n, " or "))
	}
	r := &row{s: s, vals: make([]string, len(s.cols)), set: make([]bool, len(s.cols)), index: -1}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		r.reset()
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return fmt.Errorf("master: %s: %w", s.what, err)
			}
			r.line = pe.StartLine
			r.report("", "unreadable CSV: "+pe.Err.Error())
			emit(r)
			continue
		}
		r.line, _ = cr.FieldPos(0)
		blank := true
		for _, f := range rec {
			if strings.TrimSpace(f) != "" {
				blank = false
				break
			}
		}
		if blank {
			st.records++
			st.blank++
			continue
		}
		for i, f := range rec {
			f = strings.TrimSpace(f)
			if i >= len(idx) {
				if f != "" {
					r.report("", fmt.Sprintf("has %d fields, the header names %d", len(rec), len(head)))
					break
				}
				continue
			}
			if c := idx[i]; c >= 0 {
				r.vals[c], r.set[c] = f, true
			}
		}
		emit(r)
	}
}

// names lists the schema's column names.
func (s *schema) names() string {
	n := make([]string, len(s.cols))
	for i, c := range s.cols {
		n[i] = c.name
	}
	return strings.Join(n, ", ")
}

// readJSON reads a JSON array of objects whose keys are column names.
// A valid file (json.Valid, which allocates nothing) is read in place by
// jsonLexer, one string allocated a row as for CSV; encoding/json's
// decoder reads an invalid one, to say where it is invalid.
func readJSON(text []byte, s *schema, emit func(*row)) error {
	if !json.Valid(text) {
		return jsonError(text, s)
	}
	l := jsonLexer{b: text, spans: make([][2]int, len(s.cols))}
	l.space()
	if l.peek() != '[' {
		return fmt.Errorf("master: %s: %w: the file must be a JSON array of objects", s.what, ErrFormat)
	}
	l.off++
	r := &row{s: s, vals: make([]string, len(s.cols)), set: make([]bool, len(s.cols))}
	for i := 0; ; i++ {
		if l.space(); l.peek() == ']' {
			return nil // json.Valid: nothing follows
		}
		if i > 0 {
			l.off++ // ,
			l.space()
		}
		r.reset()
		r.index = i
		l.row(r)
		emit(r)
	}
}

// jsonError returns the error of text, which is not valid JSON, as
// encoding/json's decoder finds it reading the array element by element.
func jsonError(text []byte, s *schema) error {
	if err := jsonArray(text, s, nil); err != nil {
		return err
	}
	return fmt.Errorf("master: %s: %w: not valid JSON", s.what, ErrFormat)
}

// jsonArray reads text, a JSON array, with encoding/json's decoder, one
// element at a time, passing each to each when each is not nil, and
// returns the first error that makes text not such an array.
func jsonArray(text []byte, s *schema, each func(i int, raw json.RawMessage)) error {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber() // a number too large for a float64 is not the error
	fail := func(err error) error {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("master: %s: %w: the JSON ends before the array is closed", s.what, ErrFormat)
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("master: %s: %w: byte %d: %v", s.what, ErrFormat, se.Offset, se)
		}
		return fmt.Errorf("master: %s: %w", s.what, err)
	}
	t, err := dec.Token()
	if err == io.EOF {
		return fmt.Errorf("master: %s: %w: the file is empty, it must be a JSON array", s.what, ErrFormat)
	}
	if err != nil {
		return fail(err)
	}
	if d, ok := t.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("master: %s: %w: the file must be a JSON array of objects", s.what, ErrFormat)
	}
	for i := 0; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fail(err)
		}
		if each != nil {
			each(i, raw)
		}
	}
	if _, err := dec.Token(); err != nil {
		return fail(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("master: %s: %w: data after the closing ]", s.what, ErrFormat)
	}
	return nil
}

// jsonLexer reads the rows of a valid JSON file (json.Valid) in place.
// The values of a row are unescaped into buf, one after the other, and
// made one string when the row ends: a row costs one allocation.
type jsonLexer struct {
	b     []byte
	off   int
	buf   []byte   // the values of the row being read
	key   []byte   // the key being read
	spans [][2]int // where each column's value is in buf, by column
}

func (l *jsonLexer) peek() byte { return l.b[l.off] }

// space skips white space.
func (l *jsonLexer) space() {
	for l.off < len(l.b) {
		switch l.b[l.off] {
		case ' ', '\t', '\n', '\r':
			l.off++
		default:
			return
		}
	}
}

// row reads one array element into r, reporting what does not fit.
func (l *jsonLexer) row(r *row) {
	if l.peek() != '{' {
		r.report("", "is not an object")
		l.skip()
		return
	}
	l.off++
	l.buf = l.buf[:0]
	for first := true; ; first = false {
		if l.space(); l.peek() == '}' {
			l.off++
			break
		}
		if !first {
			l.off++ // ,
			l.space()
		}
		l.key = l.str(l.key[:0])
		l.space()
		l.off++ // :
		l.space()
		c := -1
		for i, col := range r.s.cols {
			if col.name == string(l.key) {
				c = i
				break
			}
		}
		if c < 0 {
			r.report(string(l.key), "unknown key (known: "+r.s.names()+")")
			l.skip()
			continue
		}
		k := r.s.cols[c].name
		if r.set[c] {
			r.report(k, "given twice")
			l.skip()
			continue
		}
		if l.value(r, c) {
			r.set[c] = true
		}
	}
	text := string(l.buf)
	for c, set := range r.set {
		if set {
			r.vals[c] = strings.TrimSpace(text[l.spans[c][0]:l.spans[c][1]])
		}
	}
}

// value reads the value of column c into buf, reporting a value of the
// wrong type; it returns whether the column is set.
func (l *jsonLexer) value(r *row, c int) bool {
	col := r.s.cols[c]
	start := len(l.buf)
	switch b := l.peek(); {
	case b == '"':
		l.buf = l.str(l.buf)
	case b == 'n':
		l.skip()
		return false
	case b == '[':
		l.off++
		ok := true
		for n := 0; ; n++ {
			if l.space(); l.peek() == ']' {
				l.off++
				break
			}
			if n > 0 {
				l.off++ // ,
				l.space()
			}
			if l.peek() != '"' {
				ok = false
				l.skip()
				continue
			}
			if n > 0 {
				l.buf = append(l.buf, ';')
			}
			from := len(l.buf)
			l.buf = l.str(l.buf)
			item := l.buf[from:]
			ok = ok && bytes.IndexAny(item, ";|") < 0
			l.buf = append(l.buf[:from], bytes.TrimSpace(item)...)
		}
		switch {
		case !col.list:
			r.report(col.name, "is an array, not a string")
		case !ok:
			r.report(col.name, "must be an array of strings")
		default:
			l.spans[c] = [2]int{start, len(l.buf)}
			return true
		}
		l.buf = l.buf[:start]
		return false
	case b == '{':
		l.skip()
		r.report(col.name, "is an object, not a string")
		return false
	default: // a number, true or false: as written
		from := l.off
		l.skip()
		l.buf = append(l.buf, l.b[from:l.off]...)
	}
	l.spans[c] = [2]int{start, len(l.buf)}
	return true
}

// skip reads past one value.
func (l *jsonLexer) skip() {
	for depth := 0; ; {
		l.space()
		switch l.peek() {
		case '"':
			l.str(nil)
		case '{', '[':
			depth++
			l.off++
			continue
		case '}', ']':
			depth--
			l.off++
		case ',', ':':
			l.off++
			continue
		default: // a number, true, false or null
			for l.off < len(l.b) && !strings.ContainsRune(",:]} \t\n\r", rune(l.b[l.off])) {
				l.off++
			}
		}
		if depth == 0 {
			return
		}
	}
}

// str appends the string at the offset, unescaped, to dst and reads
// past it. (A UTF-16 surrogate not in a pair becomes U+FFFD, as
// encoding/json has it.)
func (l *jsonLexer) str(dst []byte) []byte {
	i := l.off + 1
	for {
		switch c := l.b[i]; c {
		case '"':
			l.off = i + 1
			return dst
		case '\\':
			switch e := l.b[i+1]; e {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r := hex4(l.b[i+2 : i+6])
				i += 4
				if utf16.IsSurrogate(r) {
					next := rune(-1)
					if i+8 <= len(l.b) && l.b[i+2] == '\\' && l.b[i+3] == 'u' {
						next = hex4(l.b[i+4 : i+8])
					}
					if d := utf16.DecodeRune(r, next); d != utf8.RuneError {
						r = d
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				dst = utf8.AppendRune(dst, r)
			default: // " \ /
				dst = append(dst, e)
			}
			i += 2
		default:
			j := i + 1
			for l.b[j] != '"' && l.b[j] != '\\' {
				j++
			}
			dst = append(dst, l.b[i:j]...)
			i = j
		}
	}
}

// hex4 returns the value of four hexadecimal digits.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		default:
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}
