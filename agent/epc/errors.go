package epc

import "errors"

// Sentinel errors. Every error returned by this package is an *Error whose
// Unwrap returns one of these, so callers test with errors.Is.
var (
	// ErrNotSGTIN means the EPC or URI is well formed but not an SGTIN: a
	// different header (SSCC, SGLN, a TID-derived EPC, a vendor's serial
	// number) or a different URI scheme. Key still gives such a tag a key.
	ErrNotSGTIN = errors.New("not an SGTIN")
	// ErrLength means the EPC has too few bits for its header, more than a
	// Gen2 EPC can hold, or non-zero bits after the encoding.
	ErrLength = errors.New("EPC length invalid")
	// ErrPartition means the partition value is 7, a company prefix length
	// is outside 6..12, or a company prefix or item reference has more
	// digits than its partition allows.
	ErrPartition = errors.New("partition invalid")
	// ErrSerial means a serial number cannot be encoded in the scheme: an
	// SGTIN-96 serial that is not decimal, has a leading zero or exceeds
	// 2^38-1, or an SGTIN-198 serial that is empty, longer than 20
	// characters or holds a character outside the GS1 AI character set.
	ErrSerial = errors.New("serial invalid")
	// ErrGTIN means a GTIN is not 14 digits or its check digit is wrong.
	ErrGTIN = errors.New("GTIN invalid")
	// ErrFilter means a filter value is outside 0..7.
	ErrFilter = errors.New("filter invalid")
	// ErrSyntax means a URI or hex string is malformed.
	ErrSyntax = errors.New("malformed EPC text")
)

// Error is the error returned for a rejected EPC, URI, hex string or
// encoding request. Reason says what is wrong in words meant for the person
// who has to fix the tag, the reader or the configuration; Err is the
// sentinel.
type Error struct {
	// Reason says what is wrong, for example "partition 7 is not valid
	// (0..6)".
	Reason string
	// Err is the sentinel (ErrPartition, ErrSerial, ...).
	Err error
}

// Error returns the reason, or the sentinel's text when there is none.
func (e *Error) Error() string {
	if e.Reason != "" {
		return e.Reason
	}
	if e.Err != nil {
		return e.Err.Error()
	}
	return "invalid EPC"
}

// Unwrap returns the sentinel error.
func (e *Error) Unwrap() error { return e.Err }

func fail(sentinel error, reason string) *Error {
	return &Error{Reason: reason, Err: sentinel}
}

// charName names a byte for an error message: 'a' for a printable ASCII
// character, 0xHH for any other byte.
func charName(c byte) string {
	if c > ' ' && c < 0x7F {
		return "'" + string(rune(c)) + "'"
	}
	return "0x" + hex2(c)
}
