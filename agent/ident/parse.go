package ident

import (
	"strings"

	"github.com/udi-edge/udi-edge/agent/code"
)

// Parser reads codes typed or pasted by a person. The zero value is ready
// to use.
type Parser struct {
	// Barcode reads the barcode forms. Its Now resolves two-digit years,
	// which matter to the dates shown, never to a key.
	Barcode code.Parser
}

// Parse reads s with the zero Parser.
func Parse(s string) (Code, error) { return Parser{}.Parse(s) }

// Parse reads s, any form of an item's code (see the package doc), and
// returns its chosen reading, with the others in Candidates. A plain code
// comes back with KindPlain and no error. Errors are *Error values wrapping
// ErrEmpty, ErrBarcode (with the *code.Error), ErrEPCHex or ErrEPCURI (with
// the *epc.Error where package epc found the fault).
func (p Parser) Parse(s string) (Code, error) {
	t := strings.TrimSpace(s)
	switch {
	case t == "":
		return Code{}, &Error{Err: ErrEmpty}
	case hasPrefixFold(t, "urn:epc:"):
		return parseURN(t)
	case len(t) >= 3 && t[0] == '*' && t[1] == '+' && t[len(t)-1] == '*':
		// The Code 39 caption of an HIBC label: a label, never a key.
		return p.barcode(t, t[1:len(t)-1])
	case t[0] == '+':
		return p.hibc(t)
	case t[0] == '(':
		return p.hri(t)
	}
	if h, ok := readHex(t); ok {
		return p.hexOrDigits(t, h)
	}
	return p.barcode(t, t)
}

// barcode reads s, which is t or t unwrapped, as package code reads a
// person's text.
func (p Parser) barcode(t, s string) (Code, error) {
	c, err := p.Barcode.Any(s)
	if err != nil {
		return Code{}, barcodeError(t, err)
	}
	return fromBarcode(t, c), nil
}

// hibc reads text starting with '+': an HIBC label, else an HIBC item key
// (package doc, rule 5).
func (p Parser) hibc(t string) (Code, error) {
	c, err := p.Barcode.Any(t)
	k := p.hibcKey(t)
	switch {
	case err == nil:
		out := fromBarcode(t, c)
		if k != nil && c.Kind == code.KindHIBC && k.Key() != c.Key() {
			out.alts = []Code{{Kind: KindItemKey, Input: t, Barcode: k}}
		}
		return out, nil
	case k != nil:
		return Code{Kind: KindItemKey, Input: t, Barcode: k}, nil
	}
	return Code{}, barcodeError(t, err)
}

// hri reads text starting with '(': the GS1 human-readable form, else a
// GS1 item key (package doc, rule 6).
func (p Parser) hri(t string) (Code, error) {
	c, err := p.Barcode.Any(t)
	if err == nil {
		return fromBarcode(t, c), nil
	}
	if k := p.gs1Key(t); k != nil {
		return Code{Kind: KindItemKey, Input: t, Barcode: k}, nil
	}
	return Code{}, barcodeError(t, err)
}

// fromBarcode wraps a code package code as the reading of t.
func fromBarcode(t string, c *code.Code) Code {
	k := KindPlain
	switch c.Kind {
	case code.KindGS1, code.KindDigitalLink, code.KindGTIN:
		k = KindGS1
	case code.KindHIBC:
		k = KindHIBC
	case code.KindMA:
		k = KindMA
	case code.KindAHM:
		k = KindAHM
	}
	return Code{Kind: k, Input: t, Barcode: c}
}

func barcodeError(t string, err error) *Error {
	return &Error{Input: t, Err: ErrBarcode, Cause: err}
}

// hasPrefixFold reports whether s starts with prefix, ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
