package ident

import (
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/udi-edge/udi-edge/agent/code"
	"github.com/udi-edge/udi-edge/agent/epc"
)

// Kind says what a text was read as.
type Kind int

// Kinds of reading.
const (
	// KindPlain is text in no form this package reads: a wristband, a
	// badge, a command barcode, an HIBC provider (+/) code. Code.Barcode
	// holds it as package code read it.
	KindPlain Kind = iota
	// KindGS1 is a GS1 element string, its human-readable form (which
	// includes the GS1 item keys), a Digital Link URI or a bare GTIN.
	// Code.Barcode is set.
	KindGS1
	// KindHIBC is an HIBC supplier label with its check character.
	// Code.Barcode is set.
	KindHIBC
	// KindItemKey is an item key as the agent prints it that no barcode
	// form reads: an HIBC key (no check character), or a GS1 key whose
	// serial or lot the human-readable form cannot hold. Code.Barcode holds
	// the fields the key names (GTIN, serial, lot; HIBC labeler, product,
	// unit of measure) and nothing else.
	KindItemKey
	// KindSGTIN is an RFID tag's EPC that is an SGTIN: hex, a pure-identity
	// or tag URI, or a raw URI of an SGTIN. Code.EPC is set, with SGTIN.
	KindSGTIN
	// KindRawEPC is an RFID tag's EPC that is not an SGTIN (or is held by a
	// tag whose PC toggle says ISO, not GS1): hex or a raw URI. Code.EPC is
	// set; its key is the raw URI.
	KindRawEPC
	// KindMA is an MA (IDcode) code: the dotted form, which includes the
	// MA item keys, the XML form or a URL wrapping the dotted form.
	// Code.Barcode is set, with MA.
	KindMA
	// KindAHM is an Alibaba Health (AHM) code, whose key is the code as
	// read. Code.Barcode is set, with AHM.
	KindAHM
)

// String returns "plain", "GS1", "HIBC", "item key", "EPC SGTIN",
// "EPC raw", "MA" or "AHM".
func (k Kind) String() string {
	switch k {
	case KindPlain:
		return "plain"
	case KindGS1:
		return "GS1"
	case KindHIBC:
		return "HIBC"
	case KindItemKey:
		return "item key"
	case KindSGTIN:
		return "EPC SGTIN"
	case KindRawEPC:
		return "EPC raw"
	case KindMA:
		return "MA"
	case KindAHM:
		return "AHM"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Code is one reading of a text: what it was read as and what it names.
type Code struct {
	// Kind is what the text was read as.
	Kind Kind
	// Input is the text as given, trimmed.
	Input string
	// Barcode is the code as package code reads it, for KindGS1, KindHIBC,
	// KindItemKey and KindPlain; nil for the EPC kinds.
	Barcode *code.Code
	// EPC is the tag's EPC, for KindSGTIN and KindRawEPC; nil otherwise.
	EPC *EPC

	alts []Code
}

// EPC is an RFID tag's EPC as a person gave it.
type EPC struct {
	// PC is the Gen2 PC word; 0 when HasPC is false.
	PC uint16
	// HasPC is true when the PC word was given in front of the hex, or is
	// implied by a raw URI with an AFI (L from the length, toggle set, the
	// AFI in the low byte; UMI and XI unknown, so zero).
	HasPC bool
	// Bytes is the EPC bank from bit 20h: the hex as given (without the PC
	// word), an SGTIN-198 given as 25 bytes padded to 26, the bytes of a
	// raw URI, or the encoding of a tag URI. Nil for a pure-identity URI,
	// which does not say how the tag is encoded.
	Bytes []byte
	// SGTIN is the decoded SGTIN, nil when the EPC is not one.
	SGTIN *epc.SGTIN
}

// Key returns the item key of the tag: the SGTIN's (01)GTIN(21)SERIAL,
// which is also its barcode's key, or the raw URI of any other EPC, with
// the AFI when the PC toggle is set (epc.KeyWithPC).
func (e *EPC) Key() string {
	switch {
	case e.SGTIN != nil:
		return e.SGTIN.ElementString()
	case e.HasPC:
		return epc.KeyWithPC(e.PC, e.Bytes)
	}
	return epc.Key(e.Bytes)
}

// Hex returns Bytes in uppercase hex, "" when there are none.
func (e *EPC) Hex() string {
	return strings.ToUpper(hex.EncodeToString(e.Bytes))
}

// LengthBits returns the length of Bytes in bits.
func (e *EPC) LengthBits() int { return 8 * len(e.Bytes) }

// PCLengthBits returns the EPC length the PC word announces in bits, 0
// without a PC word.
func (e *EPC) PCLengthBits() int {
	if !e.HasPC {
		return 0
	}
	return 8 * epc.PCLength(e.PC)
}

// Key returns the ledger item key the code names: code.Code.Key for the
// barcode and item key kinds, EPC.Key for the EPC kinds, "" for a plain
// code and for a code that names no item (an SSCC on its own, an HIBC
// secondary code without its primary).
func (c Code) Key() string {
	switch {
	case c.EPC != nil:
		return c.EPC.Key()
	case c.Barcode != nil:
		return c.Barcode.Key()
	}
	return ""
}

// TraceKey returns the key a trace looks up and whether it is a product
// prefix: a GS1, HIBC or MA code with neither serial nor lot names every
// item of its product (see InProduct); any other code names one key
// exactly. An EPC always names one tag, an AHM code the code as read. It
// returns an *Error wrapping ErrNotItem for a code that names no item.
func (c Code) TraceKey() (key string, prefix bool, err error) {
	key = c.Key()
	if key == "" {
		return "", false, c.notItem()
	}
	if b := c.Barcode; b != nil && c.EPC == nil && b.Kind != code.KindAHM && b.Serial == "" && b.Lot == "" {
		return key, true, nil
	}
	return key, false, nil
}

// notItem explains why c names no item, without quoting it.
func (c Code) notItem() *Error {
	e := &Error{Input: c.Input, Err: ErrNotItem}
	switch {
	case c.Kind == KindPlain:
		e.Reason = "not an item code: a plain code (a wristband, badge or command code, or text in no form of an item code)"
	case c.Barcode != nil && c.Barcode.Kind == code.KindHIBC:
		e.Reason = "an HIBC secondary code on its own names no item: give its primary code, or the two joined"
	default:
		e.Reason = "a GS1 code without a GTIN (01) or (02) names no item: give the item's GTIN with its serial or lot"
	}
	return e
}

// Candidates returns every reading of the text, the chosen one (c itself)
// first, each naming a different key; one element when the text is not
// ambiguous. See the package doc for the rules.
func (c Code) Candidates() []Code {
	first := c
	first.alts = nil
	return append([]Code{first}, c.alts...)
}

// Ambiguous reports whether the text has more than one reading.
func (c Code) Ambiguous() bool { return len(c.alts) > 0 }

// Lookup is one key a trace looks up.
type Lookup struct {
	// Key is the item key, or the product prefix when Prefix is set.
	Key string
	// Prefix is true when Key names a product (see InProduct).
	Prefix bool
	// Kind is what the text was read as to give Key.
	Kind Kind
}

// Lookups returns the keys a trace of c looks up: one per candidate that
// names an item, the chosen reading first. When none names an item it
// returns the chosen reading's *Error (ErrNotItem).
func (c Code) Lookups() ([]Lookup, error) {
	var out []Lookup
	for _, x := range c.Candidates() {
		key, prefix, err := x.TraceKey()
		if err == nil {
			out = append(out, Lookup{Key: key, Prefix: prefix, Kind: x.Kind})
		}
	}
	if len(out) == 0 {
		_, _, err := c.TraceKey()
		return nil, err
	}
	return out, nil
}

// InProduct reports whether the item key key belongs to the product whose
// prefix TraceKey returned: key equals prefix, or continues it with '('
// (GS1: (01)GTIN(21)…, (01)GTIN(10)…), '/' (HIBC: +LICPCNUOM/S…) or, for an
// MA DI, '.' (DI.S…, DI.L…). A bare string prefix is not enough: HIBC
// product numbers vary in length, so +A99912345 is a string prefix of
// +A999123456, another product.
func InProduct(key, prefix string) bool {
	rest, ok := strings.CutPrefix(key, prefix)
	if !ok || prefix == "" {
		return false
	}
	return rest == "" || rest[0] == '(' || rest[0] == '/' || rest[0] == '.' && code.SplitKey(prefix).Kind == code.KindMA
}

// KeyPrefixes returns the string prefixes under which a ledger holds the
// item keys of the product whose prefix TraceKey returned, besides the
// prefix itself: product + "(" and product + "/" (GS1 and HIBC keys), and
// product + "." for an MA DI. A trace scans each and keeps the keys
// InProduct accepts.
func KeyPrefixes(product string) []string {
	ps := []string{product + "(", product + "/"}
	if code.SplitKey(product).Kind == code.KindMA {
		ps = append(ps, product+".")
	}
	return ps
}
