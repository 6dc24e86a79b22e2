package udid

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error the readers return or report wraps one of
// these; test with errors.Is.
var (
	// ErrFormat is returned for a file or ZIP entry that is not a UDID
	// export: not a ZIP, not XML with the root <udid>, not a JSON page.
	ErrFormat = errors.New("udid: not a UDID export")

	// ErrSyntax is reported for a document that is malformed beyond what
	// Repair fixes: the rest of that document cannot be read.
	ErrSyntax = errors.New("udid: malformed document")

	// ErrDamaged is reported for a document that could not be read to
	// its end: a ZIP entry whose data is corrupt, a read that failed.
	ErrDamaged = errors.New("udid: damaged data")

	// ErrEncoding is returned for an XML document that declares an
	// encoding other than UTF-8.
	ErrEncoding = errors.New("udid: not UTF-8")

	// ErrMissing is reported for a record without a required field (the
	// DI, or in a JSON page the deviceRecordKey).
	ErrMissing = errors.New("udid: required field missing")

	// ErrValue is reported for a field whose value is not one the field
	// takes (a flag that is neither 是 nor 否, a count that is not a
	// number, an unknown carrier).
	ErrValue = errors.New("udid: bad field value")

	// ErrDate is reported for a date field that is not a date.
	ErrDate = errors.New("udid: bad date")

	// ErrCheckDigit is reported for a GS1 DI whose check digit is wrong.
	ErrCheckDigit = errors.New("udid: check digit mismatch")

	// ErrDuplicate is reported for a field given twice in one record with
	// different values.
	ErrDuplicate = errors.New("udid: field given twice")

	// ErrCount is reported when an XML part's header announces another
	// number of records than the part holds.
	ErrCount = errors.New("udid: record count differs from header")

	// ErrOrphan is reported for a packing or storage row of a JSON page
	// whose deviceRecordKey matches no device of the page.
	ErrOrphan = errors.New("udid: row without its device")

	// ErrPart is reported when the parts of a ZIP named …PART<n>_Of_<m>…
	// are not exactly 1 to m.
	ErrPart = errors.New("udid: missing or repeated part")

	// ErrUnsupported is reported for a ZIP entry that is neither XML,
	// JSON nor ZIP (a spreadsheet, say); it is skipped.
	ErrUnsupported = errors.New("udid: unsupported entry")

	// ErrTooLarge is returned when a bound is passed: ZIPs nested deeper
	// than MaxZipDepth, or more devices waiting for their rows in a JSON
	// page than Reader.MaxPending.
	ErrTooLarge = errors.New("udid: too large")
)

// FieldError is one bad field of a record.
type FieldError struct {
	// Field is the element (XML) or key (JSON) name, for a packing or
	// storage row prefixed by the list and the row's 1-based index:
	// "packing[2].bznhxyjcpbssl".
	Field string
	// Value is the value as found (after repair), cut to 80 bytes.
	Value string
	// Reason says what is wrong, in plain words.
	Reason string
	// Err is the sentinel: ErrValue, ErrDate, ErrMissing, ErrCheckDigit
	// or ErrDuplicate.
	Err error
}

// Error implements error.
func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString("field ")
	b.WriteString(e.Field)
	if e.Value != "" {
		fmt.Fprintf(&b, " %q", e.Value)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

// Unwrap returns the sentinel.
func (e *FieldError) Unwrap() error { return e.Err }

// RecordError reports a record with one or more bad fields. The record is
// not passed to the reader's function; Device holds what could be read
// (every bad field left at its zero value), so a caller that wants to may
// keep it.
type RecordError struct {
	// File is the path or name of the file read; Entry the ZIP entry
	// within it ("outer.zip!PART3.xml" style path of inner entries), ""
	// for a plain file.
	File, Entry string
	// Record is the record's 1-based number in its document (XML part or
	// JSON file); Line the line where it starts (XML only, else 0).
	Record int64
	Line   int
	// Key identifies the record for a person: its DI, else its
	// deviceRecordKey, else "".
	Key string
	// Fields lists the bad fields, in document order; never empty.
	Fields []*FieldError
	// Device is what could be read of the record.
	Device *Device
}

// Error implements error.
func (e *RecordError) Error() string {
	var b strings.Builder
	b.WriteString("udid: ")
	b.WriteString(where(e.File, e.Entry))
	fmt.Fprintf(&b, ": record %d", e.Record)
	if e.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", e.Line)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, " %s", e.Key)
	}
	if len(e.Fields) > 0 {
		b.WriteString(": ")
		b.WriteString(e.Fields[0].Error())
	}
	if n := len(e.Fields) - 1; n > 0 {
		names := make([]string, n)
		for i, f := range e.Fields[1:] {
			names[i] = f.Field
		}
		fmt.Fprintf(&b, "; and %d more (%s)", n, strings.Join(names, ", "))
	}
	return b.String()
}

// Unwrap returns the errors of the bad fields, so that errors.Is finds
// each sentinel.
func (e *RecordError) Unwrap() []error {
	errs := make([]error, len(e.Fields))
	for i, f := range e.Fields {
		errs[i] = f
	}
	return errs
}

// FileError reports a file, ZIP entry or part of one that could not be
// read (on): malformed beyond repair, of an unknown kind, not UTF-8, with
// a record count that does not match its header, or with parts missing.
type FileError struct {
	// File and Entry name the document as in RecordError.
	File, Entry string
	// Line is the line of the fault in an XML document, 0 if unknown.
	Line int
	// Records is the number of records of the document read before the
	// fault (each passed to the function or reported).
	Records int64
	// Reason says what is wrong, in plain words.
	Reason string
	// Err is the sentinel (ErrSyntax, ErrFormat, ErrCount, ...).
	Err error
}

// Error implements error.
func (e *FileError) Error() string {
	var b strings.Builder
	b.WriteString("udid: ")
	b.WriteString(where(e.File, e.Entry))
	if e.Line > 0 {
		fmt.Fprintf(&b, ": line %d", e.Line)
	}
	if e.Records > 0 {
		fmt.Fprintf(&b, " (after record %d)", e.Records)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

// Unwrap returns the sentinel.
func (e *FileError) Unwrap() error { return e.Err }

// where names a document for a message.
func where(file, entry string) string {
	if entry == "" {
		return file
	}
	return file + "!" + entry
}

// clip cuts a value for an error message.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i] + "…"
}
