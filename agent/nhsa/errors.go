package nhsa

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors. Every error of this package wraps one of these; test
// with errors.Is.
var (
	// ErrCode means a national consumable code is not built as the coding
	// rules say. See CodeError.
	ErrCode = errors.New("bad national consumable code")
	// ErrHeader means a file's header row lacks a column the table needs,
	// names one twice, or names none of the table's columns (and the file
	// is not the headerless 1306 layout).
	ErrHeader = errors.New("bad header")
	// ErrEncoding means a file's bytes are not in an encoding the reader
	// reads (UTF-8, GB18030 with GBK and GB2312, UTF-16 with a byte order
	// mark), or change encoding part-way, or do not fit the encoding named
	// in Options.Encoding.
	ErrEncoding = errors.New("unreadable character encoding")
	// ErrTooLong means one record of a file is longer than MaxRecordBytes,
	// nearly always because a quote opened a cell and nothing closed it.
	ErrTooLong = errors.New("record too long")
	// ErrEmpty means a file has a header but no data row.
	ErrEmpty = errors.New("no rows")
	// ErrBadRows means a file has bad rows and was refused whole. See
	// BadRowsError.
	ErrBadRows = errors.New("bad rows")
	// ErrRow is wrapped by a RowError that carries no more particular
	// error (a flag that is not a flag, a missing value, a row of the
	// wrong width).
	ErrRow = errors.New("bad row")
	// ErrCycle means the old→new tables of the releases read so far lead
	// from a code back to itself. See CycleError.
	ErrCycle = errors.New("transcode cycle")
	// ErrConflict means two rows give one old code two different new codes.
	// See ConflictError.
	ErrConflict = errors.New("transcode conflict")
)

// CodeError reports a national consumable code that is not built as the
// coding rules say. It wraps ErrCode.
type CodeError struct {
	// Input is the text that was parsed, as given.
	Input string
	// Pos is the position, from 1, of the first character at fault in the
	// normalised code (see ParseCode); 0 when the fault is the code as a
	// whole (its length, a missing "C", a number a spreadsheet rounded).
	Pos int
	// Got is the character at Pos, "" when Pos is 0.
	Got string
	// Want says what was expected.
	Want string
}

// Error formats e as `nhsa: code "C0910A1…": character 6 is "A", want a
// digit (classification level 3, characters 6-7)`.
func (e *CodeError) Error() string {
	var b strings.Builder
	b.WriteString("nhsa: code ")
	b.WriteString(strconv.Quote(e.Input))
	b.WriteString(": ")
	if e.Pos > 0 {
		b.WriteString("character ")
		b.WriteString(strconv.Itoa(e.Pos))
		b.WriteString(" is ")
		b.WriteString(strconv.Quote(e.Got))
		b.WriteString(", want ")
	}
	b.WriteString(e.Want)
	return b.String()
}

// Unwrap returns ErrCode.
func (e *CodeError) Unwrap() error { return ErrCode }

// RowError reports one problem of one row of a file.
type RowError struct {
	// File is the file's name as the caller gave it.
	File string
	// Line is the line the row starts on, from 1 (the header is line 1
	// when there is one).
	Line int
	// Column is the column at fault, named as the file's header names it
	// (or, in a headerless 1306 file, as the interface does); "" when the
	// problem is the row as a whole.
	Column string
	// Reason says what is wrong, quoting the value.
	Reason string
	// Err is the particular error, if any (a *CodeError for a bad code);
	// nil otherwise.
	Err error
}

// Error formats e as `catalogue.txt:7: column 高值耗材标志: "2" is not a
// flag (want 1 or 0, 是 or 否)`.
func (e *RowError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(e.Line))
	b.WriteString(": ")
	if e.Column != "" {
		b.WriteString("column ")
		b.WriteString(e.Column)
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Unwrap returns Err, or ErrRow when Err is nil.
func (e *RowError) Unwrap() error {
	if e.Err != nil {
		return e.Err
	}
	return ErrRow
}

// maxListed bounds the problems BadRowsError.Error quotes.
const maxListed = 20

// BadRowsError reports a file refused because of its bad rows. It wraps
// ErrBadRows.
type BadRowsError struct {
	// File is the file's name as the caller gave it.
	File string
	// Rows is the number of data rows read, blank rows not counted; Bad
	// how many of them are bad.
	Rows, Bad int
	// Errors lists the problems of the bad rows in file order, at most
	// MaxRejected of them (a row may have several).
	Errors []RowError
	// NoGoodRow is set when the file was read with Options.SkipBadRows
	// and refused because not one row was good.
	NoGoodRow bool
}

// Error formats e as `nhsa: catalogue.txt: 2 of 6 rows bad, the file is
// refused whole: catalogue.txt:3: column ...; ...`, quoting at most 20
// problems.
func (e *BadRowsError) Error() string {
	var b strings.Builder
	b.WriteString("nhsa: ")
	b.WriteString(e.File)
	b.WriteString(": ")
	b.WriteString(strconv.Itoa(e.Bad))
	b.WriteString(" of ")
	b.WriteString(strconv.Itoa(e.Rows))
	if e.Rows == 1 {
		b.WriteString(" row bad")
	} else {
		b.WriteString(" rows bad")
	}
	if e.NoGoodRow {
		b.WriteString(", not one good row")
	} else {
		b.WriteString(", the file is refused whole")
	}
	for i := range min(len(e.Errors), maxListed) {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(e.Errors[i].Error())
	}
	if n := e.Bad - countRows(e.Errors[:min(len(e.Errors), maxListed)]); n > 0 {
		b.WriteString("; and ")
		b.WriteString(strconv.Itoa(n))
		b.WriteString(" more bad rows")
	}
	return b.String()
}

// Unwrap returns ErrBadRows.
func (e *BadRowsError) Unwrap() error { return ErrBadRows }

// countRows counts the distinct rows errs name (errs are in file order).
func countRows(errs []RowError) int {
	n := 0
	for i := range errs {
		if i == 0 || errs[i].Line != errs[i-1].Line {
			n++
		}
	}
	return n
}

// Place is a row of a file: where a transcode or a withdrawal was read.
type Place struct {
	// File is the file's name as the caller gave it.
	File string
	// Line is the line the row starts on, from 1.
	Line int
}

// String formats p as "file:line".
func (p Place) String() string { return p.File + ":" + strconv.Itoa(p.Line) }

// CycleError reports old→new rows that lead from a code back to itself.
// It wraps ErrCycle.
type CycleError struct {
	// Codes are the codes of the cycle in order; the last leads back to
	// the first.
	Codes []Code
	// Rows are the rows that make each step: Rows[i] maps Codes[i] to the
	// next code.
	Rows []Place
}

// Error formats e as `nhsa: transcode cycle: C…A (t.csv:3) → C…B
// (t.csv:7) → C…A`.
func (e *CycleError) Error() string {
	var b strings.Builder
	b.WriteString("nhsa: transcode cycle, the tables are refused: ")
	for i, c := range e.Codes {
		b.WriteString(string(c))
		if i < len(e.Rows) {
			b.WriteString(" (")
			b.WriteString(e.Rows[i].String())
			b.WriteString(")")
		}
		b.WriteString(" → ")
	}
	if len(e.Codes) > 0 {
		b.WriteString(string(e.Codes[0]))
	}
	return b.String()
}

// Unwrap returns ErrCycle.
func (e *CycleError) Unwrap() error { return ErrCycle }

// ConflictError reports two rows that give one old code two different new
// codes. It wraps ErrConflict.
type ConflictError struct {
	// Old is the old code.
	Old Code
	// First and Second are the two new codes, in the order read.
	First, Second Code
	// FirstRow and SecondRow are where each was read.
	FirstRow, SecondRow Place
}

// Error formats e as `nhsa: transcode conflict: C…A becomes C…B (a.csv:3)
// and C…C (b.csv:9)`.
func (e *ConflictError) Error() string {
	return "nhsa: transcode conflict, the table is refused: " + string(e.Old) + " becomes " +
		string(e.First) + " (" + e.FirstRow.String() + ") and " +
		string(e.Second) + " (" + e.SecondRow.String() + ")"
}

// Unwrap returns ErrConflict.
func (e *ConflictError) Unwrap() error { return ErrConflict }
