package ident

import (
	"encoding/hex"
	"errors"
	"strconv"
	"strings"

	"github.com/udi-edge/udi-edge/agent/epc"
)

// parseURN reads an EPC URI: urn:epc:raw:…, or an SGTIN pure-identity or
// tag URI. The "urn:epc:…:scheme:" head is read in any case; the rest is
// case-sensitive (an SGTIN serial) or hex.
func parseURN(t string) (Code, error) {
	const raw = "urn:epc:raw:"
	if hasPrefixFold(t, raw) {
		e, err := parseRaw(t[len(raw):])
		if err != nil {
			err.Input = t
			return Code{}, err
		}
		return epcCode(t, e), nil
	}
	u := lowerHead(t)
	if scheme := uriScheme(u); scheme != "" && scheme != "sgtin" && scheme != epc.Scheme96 && scheme != epc.Scheme198 {
		// Not passed to package epc, whose message would quote the URI:
		// a GSRN is a patient's number.
		return Code{}, &Error{Input: t, Form: "EPC URI", Err: ErrEPCURI, Cause: epc.ErrNotSGTIN,
			Reason: "scheme " + strconv.Quote(scheme) + " is not an SGTIN",
			Hint:   "give the tag's EPC in hex, or its urn:epc:raw: key"}
	}
	sg, err := epc.ParseURI(u)
	if err != nil {
		return Code{}, &Error{Input: t, Form: "EPC URI", Err: ErrEPCURI, Cause: err}
	}
	e := &EPC{SGTIN: &sg}
	switch sg.Scheme {
	case epc.Scheme96:
		e.Bytes, err = epc.EncodeSGTIN96(sg.GTIN, sg.Serial, sg.Filter, len(sg.CompanyPrefix))
	case epc.Scheme198:
		e.Bytes, err = epc.EncodeSGTIN198(sg.GTIN, sg.Serial, sg.Filter, len(sg.CompanyPrefix))
	}
	if err != nil {
		// ParseURI checked what the encoders check; keep the identity.
		e.Bytes = nil
	}
	return epcCode(t, e), nil
}

// lowerHead lowercases an id or tag URI up to the colon after the scheme
// (the fourth), or all of it when there are fewer.
func lowerHead(t string) string {
	end, n := len(t), 0
	for i := 0; i < len(t); i++ {
		if t[i] == ':' {
			if n++; n == 4 {
				end = i
				break
			}
		}
	}
	return strings.ToLower(t[:end]) + t[end:]
}

// uriScheme returns the scheme of an EPC id or tag URI in lower case
// (sgtin, sgtin-96, sscc, gsrn, ...), control fields dropped, or "" when u
// is neither.
func uriScheme(u string) string {
	var rest string
	switch {
	case strings.HasPrefix(u, "urn:epc:id:"):
		rest = u[len("urn:epc:id:"):]
	case strings.HasPrefix(u, "urn:epc:tag:"):
		rest = u[len("urn:epc:tag:"):]
		for strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return ""
			}
			rest = rest[end+1:]
		}
	default:
		return ""
	}
	scheme, _, ok := strings.Cut(rest, ":")
	if !ok || len(scheme) > 16 {
		return ""
	}
	for i := 0; i < len(scheme); i++ {
		if c := scheme[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return ""
		}
	}
	return scheme
}

// parseRaw reads the body of a raw URI as epc.Key and epc.KeyWithPC write
// it: BITS.xHEX, or BITS.xAFI.xHEX for a tag whose PC toggle is set. BITS
// must be 8 times the number of bytes.
func parseRaw(body string) (*EPC, *Error) {
	fail := func(reason string) *Error {
		return &Error{Form: "EPC raw URI", Err: ErrEPCURI, Reason: reason}
	}
	bitsText, rest, ok := strings.Cut(body, ".")
	bits, err := strconv.Atoi(bitsText)
	if !ok || err != nil || bits <= 0 || len(bitsText) > 4 {
		return nil, fail("needs the length in bits, a dot and x with the EPC in hex, as urn:epc:raw:96.x…")
	}
	if !strings.HasPrefix(rest, "x") {
		return nil, fail("the decimal form is not read: write the EPC in hex, as urn:epc:raw:" + bitsText + ".x…")
	}
	rest = rest[1:]
	afi := -1
	if a, h, ok := strings.Cut(rest, ".x"); ok {
		v, err := hex.DecodeString(a)
		if err != nil || len(v) != 1 {
			return nil, fail("the AFI before the EPC must be two hex digits, as urn:epc:raw:96.xA2.x…")
		}
		afi, rest = int(v[0]), h
	}
	b, err := hex.DecodeString(rest)
	var ie hex.InvalidByteError
	switch {
	case errors.As(err, &ie):
		return nil, fail("character " + strconv.QuoteRune(rune(ie)) + " is not a hex digit")
	case err != nil:
		return nil, fail(hexLengthReason(len(rest)))
	case len(b) == 0 || len(b) > maxEPCBytes:
		return nil, fail(strconv.Itoa(len(b)) + " bytes is no EPC's length (1 to 62)")
	case bits != 8*len(b):
		return nil, fail("says " + bitsText + " bits but holds " + strconv.Itoa(8*len(b)))
	}
	if afi >= 0 {
		return &EPC{PC: epc.PCFor(bits) | epc.PCToggle | uint16(afi), HasPC: true, Bytes: b}, nil
	}
	return newEPC(0, false, b), nil
}
