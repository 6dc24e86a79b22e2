package master

import (
	"errors"
	"strconv"
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
)

// RowError reports one problem with one row of an input file. The row is
// left out of the parsed set; the other rows are kept.
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
