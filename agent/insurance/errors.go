package insurance

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors. Errors of this package wrap one of these; test with
// errors.Is.
var (
	// ErrFormat means a fee-detail file cannot be read as a whole: a
	// format that is neither "json" nor "csv", JSON that is not an array
	// of fee-detail objects nor the 2301 input envelope, or JSON that
	// breaks off. Reading stops.
	ErrFormat = errors.New("bad fee-detail file")
	// ErrHeader means a CSV fee-detail file's first row does not name its
	// columns as the platform does: an unknown or repeated name, or a
	// required column missing. Reading stops.
	ErrHeader = errors.New("bad fee-detail header")
	// ErrLine is wrapped by every *LineError: one fee line is bad and is
	// left out; the lines after it are still read.
	ErrLine = errors.New("bad fee line")
	// ErrRefund is wrapped by a *LineError whose line is a refund that
	// names no original, an original that is unknown or bad, or more than
	// remains of its original.
	ErrRefund = errors.New("bad refund")
	// ErrTraceCode means a movement yields no trace code the platform can
	// carry (see TraceCode).
	ErrTraceCode = errors.New("no trace code")
)

// FieldError is one problem with one field of a fee line.
type FieldError struct {
	// Field is the platform's field name ("cnt", "init_feedetl_sn"); ""
	// when the problem is the line as a whole.
	Field string
	// Reason says what is wrong, quoting the value unless the field
	// identifies a patient or a visit.
	Reason string
}

// LineError reports one bad fee line: where it is and every problem
// found in it. It wraps ErrLine, and ErrRefund when a problem is the
// refund's.
type LineError struct {
	// File is the name the caller gave the file.
	File string
	// Line is the CSV line the line starts on, the header being line 1;
	// 0 for JSON.
	Line int
	// Record is the line's place among the file's fee lines, from 1 (the
	// position in the JSON array, or the CSV data row).
	Record int
	// Problems lists what is wrong, at least one.
	Problems []FieldError

	refund bool
}

// Error formats e as `fees.csv: line 7: field cnt: "1.23456" has more
// than 4 decimals; field pric: missing` (JSON: `record 3` for `line 7`).
func (e *LineError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	b.WriteString(": ")
	if e.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
	} else {
		b.WriteString("record ")
		b.WriteString(strconv.Itoa(e.Record))
	}
	for i, p := range e.Problems {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		if p.Field != "" {
			b.WriteString("field ")
			b.WriteString(p.Field)
			b.WriteString(": ")
		}
		b.WriteString(p.Reason)
	}
	return b.String()
}

// Unwrap returns ErrLine, and ErrRefund when a problem is the refund's.
func (e *LineError) Unwrap() []error {
	if e.refund {
		return []error{ErrLine, ErrRefund}
	}
	return []error{ErrLine}
}

// Field returns the field of e's first problem.
func (e *LineError) Field() string {
	if len(e.Problems) == 0 {
		return ""
	}
	return e.Problems[0].Field
}
