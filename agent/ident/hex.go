package ident

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"

	"github.com/udi-edge/udi-edge/agent/code"
	"github.com/udi-edge/udi-edge/agent/epc"
)

const (
	// minEPCBytes is the shortest EPC read from hex: two 16-bit words.
	minEPCBytes = 4
	// maxEPCBytes is the longest EPC a Gen2 PC word announces: 31 words.
	maxEPCBytes = 62
	// bytes198 is an SGTIN-198 written as 198 bits padded to a byte.
	bytes198 = 25
)

// hexText is text written as hex.
type hexText struct {
	digits string // the hex digits, separators and 0x removed
	// onlyEPC is true when no barcode form can be meant: the text has a
	// letter A-F, a 0x prefix or separators.
	onlyEPC bool
	// prefixed is true when the text starts with 0x.
	prefixed bool
}

// readHex reports whether t is written as hex: an optional 0x, then hex
// digits, with spaces, tabs, '-' or ':' between them; at least 8 digits
// unless after 0x.
func readHex(t string) (hexText, bool) {
	var h hexText
	s := t
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s, h.prefixed, h.onlyEPC = s[2:], true, true
	}
	d := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
			h.onlyEPC = true
		case (c == ' ' || c == '\t' || c == '-' || c == ':') && i > 0 && i < len(s)-1:
			h.onlyEPC = true
			continue
		default:
			return hexText{}, false
		}
		d = append(d, c)
	}
	if len(d) < 8 && !h.prefixed || len(d) == 0 {
		return hexText{}, false
	}
	h.digits = string(d)
	return h, true
}

// hexOrDigits reads hex text: an EPC, or for all-digit text first a GS1
// code (package doc, rules 2 to 4).
func (p Parser) hexOrDigits(t string, h hexText) (Code, error) {
	var readings []Code
	if b, err := hex.DecodeString(h.digits); err == nil {
		readings = epcReadings(t, b)
	}
	if !h.onlyEPC {
		c, err := p.Barcode.Any(t)
		switch {
		case err == nil && c.Kind != code.KindPlain:
			out := fromBarcode(t, c)
			out.alts = distinct(out.Key(), readings)
			return out, nil
		case err != nil && (len(t) == 8 || len(t) == 12):
			e := barcodeError(t, err)
			e.Hint = "if it is an RFID tag's EPC, write its PC word and a space before it (\"" +
				pcHex(epc.PCFor(4*len(t))) + " …\") or write urn:epc:raw:" + strconv.Itoa(4*len(t)) + ".x and then the digits"
			return Code{}, e
		case err != nil && len(readings) == 0:
			return Code{}, barcodeError(t, err)
		case len(readings) == 0:
			return fromBarcode(t, c), nil
		}
	}
	if len(readings) > 0 {
		out := readings[0]
		out.alts = readings[1:]
		return out, nil
	}
	if h.prefixed || len(h.digits) >= 16 {
		return Code{}, &Error{Input: t, Form: "EPC hex", Err: ErrEPCHex, Reason: hexLengthReason(len(h.digits))}
	}
	return p.barcode(t, t)
}

// epcReadings returns the readings of b as an EPC, with and without a
// leading PC word, the chosen one first, each with a different key
// (package doc, rule 4). None when b has no EPC's length.
func epcReadings(t string, b []byte) []Code {
	var es []*EPC
	if len(b) >= 2+minEPCBytes {
		pc := uint16(b[0])<<8 | uint16(b[1])
		if e := readEPC(pc, true, b[2:]); e != nil {
			es = append(es, e)
		}
	}
	if e := readEPC(0, false, b); e != nil {
		es = append(es, e)
	}
	for _, e := range es {
		if e.SGTIN != nil {
			es = []*EPC{e}
			break
		}
	}
	if len(es) == 0 {
		return nil
	}
	out := make([]Code, len(es))
	for i, e := range es {
		out[i] = epcCode(t, e)
	}
	return append(out[:1], distinct(out[0].Key(), out[1:])...)
}

// readEPC returns b as the EPC behind PC word pc (when hasPC), or nil when
// b has no EPC's length or not the length the PC word announces. An
// SGTIN-198 given as 25 bytes is padded to the 26 a tag holds.
func readEPC(pc uint16, hasPC bool, b []byte) *EPC {
	n, want := len(b), epc.PCLength(pc)
	if n == bytes198 {
		if hasPC && want != bytes198+1 {
			return nil
		}
		e := newEPC(pc, hasPC, append(slices.Clone(b), 0))
		if e.SGTIN == nil || e.SGTIN.Scheme != epc.Scheme198 {
			return nil
		}
		return e
	}
	if hasPC && want != n || n < minEPCBytes || n > maxEPCBytes || n%2 != 0 {
		return nil
	}
	return newEPC(pc, hasPC, slices.Clone(b))
}

// newEPC returns the EPC b behind PC word pc, decoded as an SGTIN when it
// is one and the PC toggle (when known) says GS1.
func newEPC(pc uint16, hasPC bool, b []byte) *EPC {
	e := &EPC{PC: pc, HasPC: hasPC, Bytes: b}
	if !hasPC || pc&epc.PCToggle == 0 {
		if sg, err := epc.Decode(b); err == nil {
			e.SGTIN = &sg
		}
	}
	return e
}

// epcCode wraps e as the reading of t.
func epcCode(t string, e *EPC) Code {
	k := KindRawEPC
	if e.SGTIN != nil {
		k = KindSGTIN
	}
	return Code{Kind: k, Input: t, EPC: e}
}

// distinct returns the readings whose keys differ from key and from each
// other, in order.
func distinct(key string, rs []Code) []Code {
	seen := map[string]bool{key: true}
	var out []Code
	for _, r := range rs {
		if k := r.Key(); !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return out
}

// hexLengthReason says why n hex digits are no EPC.
func hexLengthReason(n int) string {
	digits := strconv.Itoa(n) + " hex digits"
	switch {
	case n%2 != 0:
		return digits + " are not a whole number of bytes"
	case n/2 > maxEPCBytes+2:
		return digits + " are longer than a Gen2 PC word and the 496 bits of the longest EPC"
	case n/2 < minEPCBytes:
		return digits + " are shorter than the 32 bits of the shortest EPC read from hex"
	case n/2 == bytes198:
		return digits + " are read only as an SGTIN-198 padded to a byte (header 36), and these are not one"
	}
	return digits + " are not a whole number of 16-bit words (4 hex digits each), with or without a PC word in front"
}

// pcHex returns pc as four uppercase hex digits.
func pcHex(pc uint16) string { return fmt.Sprintf("%04X", pc) }
