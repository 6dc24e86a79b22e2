package code

import (
	"errors"
	"strconv"
)

// Sentinel errors. Every error returned by this package is an *Error whose
// Unwrap returns one of these, so callers test with errors.Is.
var (
	// ErrSyntax means the code is not built the way its kind requires: an
	// AI that is not digits, a value that is empty, a field out of order.
	ErrSyntax = errors.New("malformed code")
	// ErrCheckDigit means a GS1 mod-10 check digit does not match the
	// digits before it: the number was misprinted, misread or mistyped.
	ErrCheckDigit = errors.New("check digit invalid")
	// ErrDate means a date field holds no real date (month 13, 31 April,
	// hour 25).
	ErrDate = errors.New("invalid date")
	// ErrTruncated means the data ends, or a separator comes, before a
	// fixed-length field is complete.
	ErrTruncated = errors.New("data ends too early")
	// ErrTooLong means a value is longer than its field allows; in a GS1
	// element string this nearly always means a missing separator.
	ErrTooLong = errors.New("value too long")
	// ErrCharset means a character that the field does not allow (a letter
	// in a numeric field, a space in a GS1 value).
	ErrCharset = errors.New("character not allowed")
	// ErrValue means a component holds a value its AI does not allow though
	// its characters and length are right: a country or currency code that
	// ISO does not define, piece 3 of 2, a latitude beyond the pole, an
	// unassigned media or package type.
	ErrValue = errors.New("value not allowed")
	// ErrHIBCCheck means the HIBC mod-43 check character does not match the
	// data before it.
	ErrHIBCCheck = errors.New("HIBC check character mismatch")
	// ErrMissingSerial means an item code carries no serial number where one
	// is required (see Code.RequireSerial).
	ErrMissingSerial = errors.New("serial number missing")
	// ErrUnknownAI means a number written as an Application Identifier (in
	// brackets, as a Digital Link path segment or query key) cannot be one:
	// its length does not fit its first digits. AIs that are well-formed but
	// not in this package's table are kept, never rejected.
	ErrUnknownAI = errors.New("not an Application Identifier")
	// ErrEmpty means there was no data at all.
	ErrEmpty = errors.New("no data")
)

// Error is the error returned for a code that was rejected. It says which
// field (AI) is wrong, where (the byte offset into Input) and why, in words
// meant for the person who has to fix the label, the scanner or the
// configuration.
//
// Input may hold the whole code as read, which can include identifiers; it
// is not part of the message returned by Error.
type Error struct {
	// Input is the text that Pos indexes: the raw scan (AIM identifier
	// included) for Scan, the data for Parse, the normalised text for Any.
	Input string
	// Pos is the byte offset in Input of the offending part, or -1 when the
	// problem is not at one place (a missing serial).
	Pos int
	// AI is the GS1 Application Identifier of the offending element, or a
	// HIBC field name in brackets-free form ("check", "lot"), or "".
	AI string
	// Reason says what is wrong, in plain words.
	Reason string
	// Err is the sentinel (ErrCheckDigit, ErrDate, ...).
	Err error
}

// Error formats the error as "(17) at byte 18: month 13 is not a month".
func (e *Error) Error() string {
	b := make([]byte, 0, 32+len(e.Reason))
	if e.AI != "" {
		if isDigits(e.AI) {
			b = append(b, '(')
			b = append(b, e.AI...)
			b = append(b, ')')
		} else {
			b = append(b, e.AI...)
		}
		b = append(b, ' ')
	}
	if e.Pos >= 0 {
		b = append(b, "at byte "...)
		b = strconv.AppendInt(b, int64(e.Pos), 10)
		b = append(b, ": "...)
	}
	if e.Reason != "" {
		b = append(b, e.Reason...)
	} else if e.Err != nil {
		b = append(b, e.Err.Error()...)
	}
	return string(b)
}

// Unwrap returns the sentinel error.
func (e *Error) Unwrap() error { return e.Err }

// src locates errors: input is what Error.Input reports and base is the
// offset in input of the byte slice being parsed.
type src struct {
	input string
	raw   []byte // when set, input is string(raw), made only on error
	base  int
}

func (s src) err(pos int, ai string, sentinel error, reason string) *Error {
	p := pos
	if p >= 0 {
		p += s.base
	}
	in := s.input
	if s.raw != nil {
		in = string(s.raw)
	}
	return &Error{Input: in, Pos: p, AI: ai, Reason: reason, Err: sentinel}
}
