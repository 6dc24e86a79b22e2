package master

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors. File-level errors wrap one of these; test with
// errors.Is.
var (
	// ErrHeader means a CSV header row is missing, names a column twice,
	// names a column the set does not have, or lacks a required column.
	ErrHeader = errors.New("bad header")
	// ErrFormat means the format is neither "csv" nor "json", or a JSON
	// file is not an array of objects that can be read to its end.
	ErrFormat = errors.New("bad format")
	// ErrInvalid means an entry given to NewData breaks a rule the
	// parsers enforce (a GTIN with a wrong check digit, a lot status
	// that is not one of Statuses, ...).
	ErrInvalid = errors.New("invalid master data")
	// ErrCorrupt means an encoded Data is damaged: truncated, altered, or
	// not an encoding of master data at all.
	ErrCorrupt = errors.New("corrupt master data encoding")
	// ErrVersion means an encoded Data uses an encoding version this
	// build does not read.
	ErrVersion = errors.New("unsupported master data encoding version")
	// ErrBadRows means a file has bad rows and was refused whole (a
	// partial import was not asked for, or no row was good). See
	// BadRowsError.
	ErrBadRows = errors.New("bad rows")
	// ErrEmpty means a file has no rows and was refused: importing it
	// would empty the set, which is done only when asked for
	// (ImportOptions.AllowEmpty).
	ErrEmpty = errors.New("no rows")
	// ErrEncoding means a file's character encoding is not one the
	// importer reads (UTF-8, GB18030 and so GBK, UTF-16 with a byte order
	// mark), or does not match the encoding asked for.
	ErrEncoding = errors.New("unreadable character encoding")
	// ErrTooLarge means a file is larger than MaxFileSize.
	ErrTooLarge = errors.New("file too large")
)

// maxListed bounds the row problems BadRowsError.Error quotes.
const maxListed = 20

// MaxRejected bounds the row problems a BadRowsError or a Report lists;
// their counts cover every bad row. Without a bound a file of millions of
// bad rows (64 MiB of them) made as many problems, each kept and answered:
// gigabytes of memory for one import.
const MaxRejected = 100

// BadRowsError reports a file refused whole because of its bad rows. It
// wraps ErrBadRows.
type BadRowsError struct {
	// Set is the set the file was for ("catalogue", "recalls", ...).
	Set string
	// Records is the number of rows the file has, blank ones not counted;
	// Bad the number of them that are bad.
	Records, Bad int
	// Rows lists the problems of the bad rows in file order, at most
	// MaxRejected of them (a row may have several); Problems counts them
	// all.
	Rows     []RowError
	Problems int
	// Partial is set when the file was read with ImportOptions.Partial and
	// refused because no row was good.
	Partial bool
}

// Error formats e as `master: catalogue: 5 of 6 rows bad, the file is
// refused whole: line 3: column gtin: ...; line 4: ...`, quoting at most
// 20 problems (Rows holds every one).
func (e *BadRowsError) Error() string {
	var b strings.Builder
	b.WriteString("master: ")
	b.WriteString(e.Set)
	b.WriteString(": ")
	b.WriteString(strconv.Itoa(e.Bad))
	b.WriteString(" of ")
	b.WriteString(strconv.Itoa(e.Records))
	if e.Records == 1 {
		b.WriteString(" row bad")
	} else {
		b.WriteString(" rows bad")
	}
	if e.Partial {
		b.WriteString(", no good row to import")
	} else {
		b.WriteString(", the file is refused whole (a partial import keeps the good rows only when asked for)")
	}
	for i := range min(len(e.Rows), maxListed) {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(e.Rows[i].Error())
	}
	if n := max(e.Problems, len(e.Rows)) - min(len(e.Rows), maxListed); n > 0 {
		b.WriteString("; and ")
		b.WriteString(strconv.Itoa(n))
		b.WriteString(" more problems")
	}
	return b.String()
}

// Unwrap returns ErrBadRows.
func (e *BadRowsError) Unwrap() error { return ErrBadRows }

// RowError reports one problem with one row of an input file. The row is
// left out of the parsed set; whether the other rows are kept depends on
// ImportOptions.Partial.
type RowError struct {
	// Line is the CSV line the row starts on, counting from 1 (the header
	// is line 1); 0 for JSON.
	Line int
	// Index is the JSON array index of the row, from 0; -1 for CSV.
	Index int
	// Column is the column (CSV) or key (JSON) at fault, its English name;
	// "" when the problem is the row as a whole.
	Column string
	// Reason says what is wrong, quoting the value unless the column
	// identifies a patient or a case.
	Reason string
}

// Error formats e as `line 7: column unit_price: "12.5x" is not an
// amount` or `index 3: key gtin: missing`.
func (e *RowError) Error() string {
	var b []byte
	if e.Line > 0 || e.Index < 0 {
		b = append(b, "line "...)
		b = strconv.AppendInt(b, int64(e.Line), 10)
	} else {
		b = append(b, "index "...)
		b = strconv.AppendInt(b, int64(e.Index), 10)
	}
	b = append(b, ": "...)
	if e.Column != "" {
		if e.Index < 0 {
			b = append(b, "column "...)
		} else {
			b = append(b, "key "...)
		}
		b = append(b, e.Column...)
		b = append(b, ": "...)
	}
	return string(append(b, e.Reason...))
}
