package code

import (
	"strings"
	"time"
)

// Parser reads item codes. The zero value is ready to use.
type Parser struct {
	// Now gives the current time, used to resolve two-digit years (GS1
	// General Specifications 7.12: 49 years back to 50 years ahead of the
	// current year). Nil means time.Now.
	Now func() time.Time
	// HIBCCheckOptional accepts HIBC codes whose check character is
	// missing: a code whose last character is not the right check character
	// is then read as if the scanner had stripped it. Some scanners strip
	// the Code 39 check character, which is the HIBC check character. Off
	// by default: a wrong check character is an error.
	HIBCCheckOptional bool
}

// Scan reads a code as a scanner sends it, with the zero Parser.
func Scan(raw []byte) (*Code, error) { return Parser{}.Scan(raw) }

// Any reads a code typed or pasted by a person, with the zero Parser.
func Any(s string) (*Code, error) { return Parser{}.Any(s) }

// symbology describes an AIM symbology identifier.
type symbology struct {
	id   string
	name string
	gs1  bool // the data is a GS1 element string
}

// aimIDs maps AIM symbology identifiers (ISO/IEC 15424) to names.
var aimIDs = map[string]symbology{
	"]A0": {name: "Code 39"},
	"]A1": {name: "Code 39"},
	"]A3": {name: "Code 39"},
	"]A4": {name: "Code 39 Full ASCII"},
	"]A5": {name: "Code 39 Full ASCII"},
	"]A7": {name: "Code 39 Full ASCII"},
	"]C0": {name: "Code 128"},
	"]C1": {name: "GS1-128", gs1: true},
	"]C2": {name: "Code 128"},
	"]C4": {name: "Code 128"},
	"]d0": {name: "DataMatrix"},
	"]d1": {name: "DataMatrix"},
	"]d2": {name: "GS1 DataMatrix", gs1: true},
	"]d3": {name: "DataMatrix"},
	"]Q0": {name: "QR Code"},
	"]Q1": {name: "QR Code"},
	"]Q2": {name: "QR Code"},
	"]Q3": {name: "GS1 QR Code", gs1: true},
	"]Q4": {name: "GS1 QR Code", gs1: true},
	"]Q5": {name: "QR Code"},
	"]Q6": {name: "QR Code"},
	"]E0": {name: "EAN-13"},
	"]E1": {name: "EAN/UPC add-on"},
	"]E2": {name: "EAN/UPC add-on"},
	"]E3": {name: "EAN-13 with add-on"},
	"]E4": {name: "EAN-8"},
	"]e0": {name: "GS1 DataBar", gs1: true},
	"]e1": {name: "GS1 Composite", gs1: true},
	"]e2": {name: "GS1 Composite", gs1: true},
	"]J0": {name: "DotCode"},
	"]J1": {name: "GS1 DotCode", gs1: true},
	"]I0": {name: "Interleaved 2 of 5"},
	"]I1": {name: "Interleaved 2 of 5"},
	"]I3": {name: "Interleaved 2 of 5"},
	"]L0": {name: "PDF417"},
	"]L1": {name: "PDF417"},
	"]L2": {name: "PDF417"},
	"]z0": {name: "Aztec"},
	"]z1": {name: "Aztec"},
	"]z2": {name: "Aztec"},
	"]z3": {name: "Aztec"},
	"]F0": {name: "Codabar"},
	"]G0": {name: "Code 93"},
	"]X0": {name: "Other"},
}

// SymbologyName returns the name of an AIM symbology identifier ("]d2" →
// "GS1 DataMatrix"), or "" when unknown.
func SymbologyName(aim string) string { return aimIDs[aim].name }

func init() {
	for id, s := range aimIDs {
		s.id = id
		aimIDs[id] = s
	}
}

// isAIM reports whether b starts with an AIM identifier: ']', a letter,
// and a modifier character.
func isAIM(b []byte) bool {
	if len(b) < 3 || b[0] != ']' {
		return false
	}
	c := b[1]
	if !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) {
		return false
	}
	m := b[2]
	return isDigit(m) || (m >= 'A' && m <= 'Z') || (m >= 'a' && m <= 'z')
}

func (p *Parser) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Scan reads a code as a scanner sends it, suffix removed: an optional AIM
// symbology identifier ("]d2") then the data, with separator FNC1 as GS
// (0x1D). Error positions index raw.
func (p Parser) Scan(raw []byte) (*Code, error) {
	sym := ""
	data := raw
	if isAIM(raw) {
		if s, ok := aimIDs[string(raw[:3])]; ok {
			sym = s.id
		} else {
			sym = string(raw[:3])
		}
		data = raw[3:]
	}
	c, err := p.parse(sym, data, src{raw: raw, base: len(raw) - len(data)})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Parse reads data received with the AIM identifier symbology ("" when
// none). Error positions index data.
func (p Parser) Parse(symbology string, data []byte) (*Code, error) {
	c, err := p.parse(symbology, data, src{raw: data})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// parse routes data by symbology and content; see the package doc.
func (p *Parser) parse(sym string, data []byte, at src) (*Code, *Error) {
	s := aimIDs[sym]
	c := &Code{Symbology: sym, SymbologyName: s.name, Data: string(data)}
	if len(data) == 0 {
		return nil, at.err(0, "", ErrEmpty, "the scan holds no data")
	}
	now := p.now()
	ahm := ahmStart(data)
	switch {
	case data[0] == '+':
		// HIBC in any symbology. Code 39 ]A3/]A7: the scanner checked and
		// stripped the check character.
		stripped := sym == "]A3" || sym == "]A7"
		if e := p.parseHIBC(c, c.Data, at, stripped, now); e != nil {
			return nil, e
		}
		return c, nil
	case isMA(data):
		// MA (IDcode) in any symbology: no GS1 element string starts
		// with a letter.
		if e := p.parseMA(c, c.Data, 0, at, now); e != nil {
			return nil, e
		}
		return c, nil
	case isMAXML(data):
		// The XML form of an MA code; any other XML is plain.
		if _, e := p.parseMAXML(c, c.Data, at, now); e != nil {
			return nil, e
		}
		return c, nil
	case ahm >= 0:
		parseAHM(c, c.Data, ahm)
		return c, nil
	case s.gs1:
		c.Kind = KindGS1
		if e := p.parseElementString(c, c.Data, at, now); e != nil {
			return nil, e
		}
		p.fill(c, now)
		return c, nil
	case sym == "]E0" || sym == "]E4":
		n := 13
		if sym == "]E4" {
			n = 8
		}
		if e := p.parseGTIN(c, c.Data, n, at); e != nil {
			return nil, e
		}
		return c, nil
	case hasHTTPPrefix(c.Data):
		ok, e := p.parseDL(c, c.Data, at, now)
		if e != nil {
			return nil, e
		}
		if ok {
			c.Kind = KindDigitalLink
			p.fill(c, now)
			return c, nil
		}
		// An MA code wrapped in a URL: the code follows the last '='.
		if _, e := p.parseMAURL(c, c.Data, at, now); e != nil {
			return nil, e
		}
		return c, nil
	case sym == "":
		if data[0] == GS {
			// A scanner that sends the leading FNC1 as GS but no AIM id.
			c.Kind = KindGS1
			if e := p.parseElementString(c, c.Data, at, now); e != nil {
				return nil, e
			}
			p.fill(c, now)
			return c, nil
		}
		if looksGS1(data) {
			try := &Code{Data: c.Data}
			e := p.parseElementString(try, c.Data, at, now)
			if e != nil && strings.IndexByte(c.Data, GS) >= 0 {
				return nil, e
			}
			if e == nil && (strings.IndexByte(c.Data, GS) >= 0 || allKnown(try.Elements)) {
				c.Kind = KindGS1
				c.Elements = try.Elements
				p.fill(c, now)
				return c, nil
			}
		}
	}
	return c, nil
}

// looksGS1 reports whether data without an AIM identifier starts like a
// GS1 element string: (01)/(02) with a 14-digit GTIN or (00) with an
// 18-digit SSCC, check digit valid.
func looksGS1(b []byte) bool {
	n := 0
	switch {
	case len(b) >= 16 && b[0] == '0' && (b[1] == '1' || b[1] == '2'):
		n = 14
	case len(b) >= 20 && b[0] == '0' && b[1] == '0':
		n = 18
	default:
		return false
	}
	key := b[2 : 2+n]
	for _, c := range key {
		if !isDigit(c) {
			return false
		}
	}
	ok, _ := checkDigitOK(string(key))
	return ok
}

func allKnown(els []Element) bool {
	for _, e := range els {
		if specFor(e.AI) == nil {
			return false
		}
	}
	return true
}

func hasHTTPPrefix(s string) bool {
	return hasPrefixFold(s, "https://") || hasPrefixFold(s, "http://")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// parseGTIN reads a bare GTIN of n digits (8, 12, 13 or 14) into c.
func (p *Parser) parseGTIN(c *Code, s string, n int, at src) *Error {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return at.err(i, "01", ErrCharset, "character "+quoteByte(s[i])+" is not a digit: a GTIN has digits only")
		}
	}
	if len(s) != n {
		return at.err(0, "01", ErrSyntax, "expected "+itoa(n)+" digits for this symbology, found "+itoa(len(s)))
	}
	if ok, want := checkDigitOK(s); !ok {
		return at.err(len(s)-1, "01", ErrCheckDigit,
			"check digit invalid: "+s+" ends in "+s[len(s)-1:]+", the check digit of the digits before it is "+string(want)+" (misprinted, misread or mistyped number)")
	}
	g := "00000000000000"[:14-len(s)] + s
	c.Kind = KindGTIN
	c.GTIN = g
	c.Elements = []Element{{AI: "01", Value: g}}
	return nil
}

// Any reads a code typed or pasted by a person (the CLI, a support tool):
//
//   - the scanner form, with or without AIM identifier, GS as the byte 0x1D
//     or written as the text "\x1d", "\u001d" or "<GS>";
//   - the human-readable form "(01)09520123456788(17)260531(10)A1";
//   - a GS1 Digital Link URI (https://any.host/01/…);
//   - an HIBC code "+…";
//   - an MA code, dotted, XML or in a URL, and an AHM code;
//   - a bare GTIN-8, -12, -13 or -14 (a wrong check digit is an error).
//
// Surrounding spaces and line ends are ignored. Error positions index the
// text after the GS escapes were replaced (Error.Input).
func (p Parser) Any(s string) (*Code, error) {
	s = strings.TrimSpace(s)
	if strings.ContainsAny(s, `\<`) {
		s = strings.NewReplacer(`\x1d`, "\x1d", `\x1D`, "\x1d", `\u001d`, "\x1d", `\u001D`, "\x1d", "<GS>", "\x1d", "<gs>", "\x1d").Replace(s)
	}
	at := src{input: s}
	if s == "" {
		return nil, at.err(0, "", ErrEmpty, "nothing to read")
	}
	now := p.now()
	if s[0] == '(' {
		c := &Code{Kind: KindGS1, Data: s}
		if e := p.parseHRI(c, s, at, now); e != nil {
			return nil, e
		}
		p.fill(c, now)
		return c, nil
	}
	if isDigits(s) {
		switch len(s) {
		case 8, 12, 13, 14:
			c := &Code{Data: s}
			if e := p.parseGTIN(c, s, len(s), at); e != nil {
				return nil, e
			}
			return c, nil
		}
	}
	return p.Scan([]byte(s))
}
