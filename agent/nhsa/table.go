package nhsa

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// column is one field of a table: its English name and the header names
// that mean it.
type column struct {
	// key is the field's English name, used where the file gives no name
	// (Summary.Missing, the header errors).
	key string
	// aliases are the header names that mean the field: the Chinese names
	// first, then the interface's English field names and pinyin
	// initials. The first is the one messages suggest.
	aliases []string
	// required makes a file without the column a header error.
	required bool
}

// schema is a table's columns.
type schema struct {
	// what names the table in messages ("1306 catalogue").
	what string
	cols []column
	// layout, when not nil, names the columns by position in a file that
	// has no header row (interface 1306).
	layout []string
	// index maps a normalised header name to its column.
	index map[string]int
	// foreign maps a normalised header name that marks another table to
	// that table's name: a file with such a column is refused, so that
	// one table is never read as another.
	foreign map[string]string
}

// newSchema returns the schema of a table; it panics on an alias given
// twice, which is a programming error.
func newSchema(what string, layout []string, cols ...column) *schema {
	s := &schema{what: what, cols: cols, layout: layout, index: map[string]int{}}
	for i, c := range cols {
		for _, a := range c.aliases {
			n := normHeader(a)
			if _, dup := s.index[n]; dup {
				panic("nhsa: " + what + ": header name " + strconv.Quote(a) + " given twice")
			}
			s.index[n] = i
		}
	}
	return s
}

// refusing returns s, refusing files with a column named one of names,
// which mark the table what.
func (s *schema) refusing(what string, names ...string) *schema {
	if s.foreign == nil {
		s.foreign = map[string]string{}
	}
	for _, n := range names {
		s.foreign[normHeader(n)] = what
	}
	return s
}

// lookup returns the column a header name means.
func (s *schema) lookup(name string) (int, bool) {
	i, ok := s.index[normHeader(name)]
	return i, ok
}

// known counts the cells that name a column of the table.
func (s *schema) known(cells []string) int {
	n := 0
	for _, c := range cells {
		if _, ok := s.lookup(c); ok {
			n++
		}
	}
	return n
}

// example names the required columns for a message.
func (s *schema) example() string {
	var names []string
	for _, c := range s.cols {
		if c.required {
			names = append(names, c.aliases[0]+" ("+strings.Join(c.aliases[1:], ", ")+")")
		}
	}
	return strings.Join(names, " and ")
}

// normHeader returns a header name as it is looked up: full-width forms
// read as ASCII, white space and a leading '*' (a template's "required"
// mark) dropped, a trailing parenthesised note dropped ("高值耗材标志(1是0否)"),
// ASCII lower-cased, '-' and ' ' inside read as '_'.
func normHeader(s string) string {
	s = trimSpace(narrow(s))
	s = strings.TrimPrefix(s, "*")
	if strings.HasSuffix(s, ")") {
		if i := strings.LastIndexByte(s, '('); i > 0 {
			s = s[:i]
		}
	}
	var b strings.Builder
	for _, r := range trimSpace(s) {
		switch {
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + 'a' - 'A')
		case r == '-' || r == ' ':
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// row is one data row being built into a value. Builders read cells with
// its methods and report problems with fail; a row with problems is bad.
type row struct {
	t    *table
	rec  []string
	line int
	errs []RowError
}

// raw returns the cell of column k, trimmed, sharing memory with the
// record; "" when the file has no such column or the cell says "null"
// (which some exports write for an empty value).
func (r *row) raw(k int) string {
	c := r.t.cols[k]
	if c < 0 {
		return ""
	}
	v := trimSpace(r.rec[c])
	if len(v) == 4 && strings.EqualFold(v, "null") {
		return ""
	}
	return v
}

// get returns raw(k) in memory of its own, so that a value kept does not
// keep the whole record alive.
func (r *row) get(k int) string { return strings.Clone(r.raw(k)) }

// name returns the file's name for column k.
func (r *row) name(k int) string {
	if c := r.t.cols[k]; c >= 0 {
		return r.t.names[c]
	}
	return r.t.s.cols[k].key
}

// fail records a problem of column k; err is the particular error, if any.
func (r *row) fail(k int, reason string, err error) {
	r.errs = append(r.errs, RowError{File: r.t.file, Line: r.line, Column: r.name(k), Reason: reason, Err: err})
}

// required returns the cell of column k, recording a problem when it is
// empty.
func (r *row) required(k int) string {
	v := r.get(k)
	if v == "" {
		r.fail(k, "missing (the column is required)", nil)
	}
	return v
}

// code returns the cell of column k as a Code; "" when it is empty (a
// problem when required) or bad (a problem).
func (r *row) code(k int, required bool) Code {
	v := r.raw(k)
	if v == "" {
		if required {
			r.fail(k, "missing (the column is required)", nil)
		}
		return ""
	}
	c, err := ParseCode(v)
	if err != nil {
		r.fail(k, strings.TrimPrefix(err.Error(), "nhsa: "), err)
		return ""
	}
	return c
}

// flag returns the cell of column k as a Flag.
func (r *row) flag(k int) Flag {
	v := r.raw(k)
	f, ok := parseFlag(v)
	if !ok {
		r.fail(k, strconv.Quote(v)+" is not a flag (want 1 or 0, 是 or 否)", nil)
	}
	return f
}

// appendBounded appends errs to list, keeping at most MaxRejected.
func appendBounded(list []RowError, errs ...RowError) []RowError {
	for _, e := range errs {
		if len(list) >= MaxRejected {
			break
		}
		list = append(list, e)
	}
	return list
}

// readTable reads file r of schema s row by row, builds each row with
// build and passes the value to fn, under opt's rules:
//
//   - a row with a problem is bad; its problems are collected (at most
//     MaxRejected) and the reading goes on, so that one pass lists them;
//   - without opt.SkipBadRows, fn gets the rows up to the first bad one
//     and no more, and the file is refused (*BadRowsError) at its end;
//   - with it, fn gets every good row, and the file is refused only when
//     it has not one;
//   - a file without a data row is refused (ErrEmpty);
//   - an error of fn stops the reading and is returned, wrapped with the
//     file and line.
func readTable[T any](r io.Reader, file string, s *schema, opt Options, build func(*row) T, fn func(T) error) (Summary, error) {
	sum := Summary{File: file}
	t, err := openTable(r, file, s, opt, &sum)
	if err != nil {
		return sum, err
	}
	var (
		bad      int
		rejected []RowError
		rw       = row{t: t}
	)
	for {
		rec, line, err := t.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var re *RowError
			if !errors.As(err, &re) {
				return sum, err
			}
			sum.Rows++
			bad++
			rejected = appendBounded(rejected, *re)
			continue
		}
		sum.Rows++
		rw.rec, rw.line, rw.errs = rec, line, rw.errs[:0]
		v := build(&rw)
		if len(rw.errs) > 0 {
			bad++
			rejected = appendBounded(rejected, rw.errs...)
			continue
		}
		if bad > 0 && !opt.SkipBadRows {
			continue // the file will be refused: nothing more is passed on
		}
		if err := fn(v); err != nil {
			return sum, fmt.Errorf("nhsa: %s:%d: %w", file, line, err)
		}
		sum.Passed++
	}
	if sum.Rows == 0 {
		return sum, fmt.Errorf("nhsa: %s: %w: the file has a header but no data row", file, ErrEmpty)
	}
	sum.RejectedRows = bad
	if bad > 0 {
		if !opt.SkipBadRows || sum.Passed == 0 {
			return sum, &BadRowsError{File: file, Rows: sum.Rows, Bad: bad, Errors: rejected, NoGoodRow: opt.SkipBadRows}
		}
		sum.Rejected = rejected
	}
	return sum, nil
}
