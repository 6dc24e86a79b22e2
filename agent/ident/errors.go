package ident

import "errors"

// Sentinel errors. Every error returned by this package is an *Error whose
// Unwrap gives one of these (and, where another package found the fault,
// that package's *code.Error or *epc.Error), so callers test with
// errors.Is and errors.As.
var (
	// ErrEmpty means there was nothing to read.
	ErrEmpty = errors.New("nothing to read")
	// ErrBarcode means the text is a barcode form (GS1 element string,
	// human-readable form, Digital Link, GTIN, HIBC, MA) with a fault: a
	// check digit or character, a date, a length. The *code.Error says
	// where. (An MA check character that does not match is no fault: the
	// code is read with a warning.)
	ErrBarcode = errors.New("barcode form invalid")
	// ErrEPCHex means the text is an EPC in hex whose length is no EPC's:
	// an odd number of digits, not a whole number of 16-bit words, under
	// 32 or over 496 bits.
	ErrEPCHex = errors.New("EPC hex invalid")
	// ErrEPCURI means a urn:epc: text is malformed, or names an EPC scheme
	// other than SGTIN or raw.
	ErrEPCURI = errors.New("EPC URI invalid")
	// ErrNotItem means the code names no item: a plain code, a GS1 code
	// without a GTIN (an SSCC on its own), an HIBC secondary code without
	// its primary.
	ErrNotItem = errors.New("not an item code")
)

// Error is the error for text that cannot be read as a code, or a code that
// names no item. Its message says what is wrong without quoting the text:
// the text may be a patient's wristband.
type Error struct {
	// Input is the text as given, trimmed. It is not part of the message.
	Input string
	// Form names what the text was read as ("EPC hex", "EPC URI"), or "".
	Form string
	// Reason says what is wrong in plain words; when it is "" the cause's
	// message says it.
	Reason string
	// Hint says how to write what the person may have meant, or "".
	Hint string
	// Err is the sentinel (ErrBarcode, ErrEPCHex, ...).
	Err error
	// Cause is the error of package code or epc that found the fault, or
	// nil.
	Cause error
}

// Error returns "form: reason; hint", leaving out the empty parts; the
// cause's message stands in for an empty reason.
func (e *Error) Error() string {
	msg := e.Reason
	if msg == "" && e.Cause != nil {
		msg = e.Cause.Error()
	}
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	if e.Form != "" {
		msg = e.Form + ": " + msg
	}
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// Unwrap returns the sentinel and the cause, when there is one.
func (e *Error) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Cause}
}
