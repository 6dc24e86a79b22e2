package code

import "strings"

// Kind says what sort of code was read.
type Kind int

// Kinds of code.
const (
	// KindPlain is any code that is not an item code this package reads:
	// a wristband, a staff badge, a command barcode, an HIBC provider (PAS)
	// code, a URI that is not a GS1 Digital Link. Configured patterns
	// claim these later.
	KindPlain Kind = iota
	// KindGS1 is a GS1 element string (GS1-128, GS1 DataMatrix, GS1 QR,
	// DataBar, DotCode), or its human-readable form.
	KindGS1
	// KindDigitalLink is a GS1 Digital Link URI.
	KindDigitalLink
	// KindGTIN is a bare GTIN: EAN-13, UPC-A, EAN-8, or digits typed in.
	KindGTIN
	// KindHIBC is an HIBC Supplier Labeling Standard code.
	KindHIBC
	// KindMA is an MA code (IDcode, ZIIOT), one of China's UDI issuing
	// agencies: the dotted form, its XML form or a URL that wraps it.
	KindMA
	// KindAHM is an Alibaba Health (AHM) code, China's third UDI issuing
	// agency, recognised by the only public description of its format
	// and kept as read (see AHM).
	KindAHM
)

// String returns "plain", "GS1", "Digital Link", "GTIN", "HIBC", "MA" or
// "AHM".
func (k Kind) String() string {
	switch k {
	case KindPlain:
		return "plain"
	case KindGS1:
		return "GS1"
	case KindDigitalLink:
		return "Digital Link"
	case KindGTIN:
		return "GTIN"
	case KindHIBC:
		return "HIBC"
	case KindMA:
		return "MA"
	case KindAHM:
		return "AHM"
	}
	return "Kind(" + itoa(int(k)) + ")"
}

// Element is one GS1 element: an Application Identifier and its value.
type Element struct {
	// AI is the Application Identifier, 2 to 4 digits ("01", "3103").
	AI string
	// Value is the data after the AI, without separators.
	Value string
}

// Parts splits the value into the components the AI defines, for example
// (8003) GRAI into its leading zero, the 13-digit GRAI and the optional
// serial. It returns the whole value as one part for an AI with a single
// component or one this package does not know, and nil for an empty value.
func (e Element) Parts() []string {
	if e.Value == "" {
		return nil
	}
	s := specFor(e.AI)
	if s == nil || len(s.comps) == 1 {
		return []string{e.Value}
	}
	var parts []string
	v := e.Value
	for _, c := range s.comps {
		if v == "" {
			break
		}
		n := min(c.max, len(v))
		parts = append(parts, v[:n])
		v = v[n:]
	}
	if v != "" {
		parts = append(parts, v)
	}
	return parts
}

// HIBC holds the fields of an HIBC Supplier Labeling Standard code
// (ANSI/HIBC 2.6) that have no place in Code itself. Lot, serial, expiry
// and manufacture date are in Code.
type HIBC struct {
	// Labeler is the Labeler Identification Code (LIC), 4 characters, the
	// first a letter; empty for a secondary code on its own.
	Labeler string
	// Product is the Product or Catalog Number (PCN), 1 to 18 characters.
	Product string
	// UnitOfMeasure is the unit-of-measure digit as a character, '0'..'9';
	// 0 for a secondary code on its own.
	UnitOfMeasure byte
	// Link is the link character of a secondary code printed on its own:
	// the check character of the primary code it belongs to. 0 otherwise.
	Link byte
	// Check is the mod-43 check character. When the scanner stripped it
	// (Code 39 ]A3/]A7, or Parser.HIBCCheckOptional) it is the computed one.
	Check byte
	// CheckStripped is true when the code arrived without its check
	// character.
	CheckStripped bool
	// Quantity is the quantity from the secondary ($$8, $$9) or the /Q
	// supplemental field; 0 when absent.
	Quantity int
	// Secondary is true when the code carries secondary data (lot, serial
	// or expiry).
	Secondary bool
	// ExpiryFormat names the expiry form used: "MMYY", "MMDDYY", "YYMMDD",
	// "YYMMDDHH", "YYJJJ", "YYJJJHH", "YYYYMMDD" (/14D), or "".
	ExpiryFormat string
	// Extra holds supplemental data fields this package does not know, as
	// read (without the '/').
	Extra []string
}

// Code is an item code read from a barcode.
type Code struct {
	// Symbology is the AIM symbology identifier as read ("]d2"), or "".
	Symbology string
	// SymbologyName names the symbology ("GS1 DataMatrix", "GS1-128",
	// "EAN-13"), or "" when unknown.
	SymbologyName string
	// Kind is what sort of code this is.
	Kind Kind
	// Data is the data as read, without the AIM identifier; GS bytes kept.
	Data string
	// Elements are the GS1 elements in the order read (GS1, Digital Link,
	// and the (01) of a GTIN). AIs this package does not know are kept with
	// their raw value.
	Elements []Element
	// GTIN is the 14-digit GTIN from (01), else from (02); GTIN-8, -12 and
	// -13 are left-padded with zeros. "" when absent.
	GTIN string
	// Serial is the serial number: GS1 (21), HIBC /S or $$+, MA S.
	Serial string
	// Lot is the batch or lot: GS1 (10), HIBC $ / $$, MA L.
	Lot string
	// Expiry is the last day the item may be used: GS1 (17), HIBC $$ forms
	// or /14D, MA V or the day before E (see MA.ExpiryDate).
	Expiry Date
	// Production is the production date: GS1 (11), HIBC /16D, MA M or P.
	Production Date
	// HIBC holds HIBC fields; set only for KindHIBC.
	HIBC *HIBC
	// MA holds the parts of an MA code; set only for KindMA.
	MA *MA
	// AHM holds the tentative reading of an AHM code; set only for
	// KindAHM.
	AHM *AHM
	// Warnings lists what is wrong with a code that was read all the same,
	// such as a broken GS1 pairing rule; nil when nothing is. A warning
	// never quotes a value.
	Warnings []Warning
}

// IsItem reports whether c identifies a trade item: a GS1 code or GTIN
// with a GTIN, an HIBC supplier code, an MA code or an AHM code.
func (c *Code) IsItem() bool {
	switch c.Kind {
	case KindGS1, KindDigitalLink, KindGTIN:
		return c.GTIN != ""
	case KindHIBC:
		return c.HIBC != nil
	case KindMA:
		return c.MA != nil
	case KindAHM:
		return c.AHM != nil
	}
	return false
}

// Key returns the item key, the identity of one physical item (or of a
// product or lot when the code carries no serial):
//
//	GS1:  (01)GTIN(21)serial, else (01)GTIN(10)lot, else (01)GTIN
//	HIBC: +LIC PCN UoM/Sserial, else +LIC PCN UoM/$lot, else +LIC PCN UoM
//	MA:   DI.Sserial, else DI.Llot, else DI
//	AHM:  the code as read
//
// The MA key is the dotted form of the DI (its check character included)
// with the one unit that names the item: itself an MA code, whatever form
// was read. It starts with "MA.", GS1 keys with "(" and HIBC keys with
// "+", so no key of one kind is a key of another; an AHM key starts with
// "MF" (see SplitKey).
//
// It returns "" for plain codes, for GS1 codes without a GTIN (an SSCC on
// its own) and for an HIBC secondary code without its primary.
func (c *Code) Key() string {
	switch c.Kind {
	case KindGS1, KindDigitalLink, KindGTIN:
		if c.GTIN == "" {
			return ""
		}
		switch {
		case c.Serial != "":
			return "(01)" + c.GTIN + "(21)" + c.Serial
		case c.Lot != "":
			return "(01)" + c.GTIN + "(10)" + c.Lot
		}
		return "(01)" + c.GTIN
	case KindHIBC:
		h := c.HIBC
		if h == nil || h.Labeler == "" {
			return ""
		}
		base := "+" + h.Labeler + h.Product + string(rune(h.UnitOfMeasure))
		switch {
		case c.Serial != "":
			return base + "/S" + c.Serial
		case c.Lot != "":
			return base + "/$" + c.Lot
		}
		return base
	case KindMA:
		if c.MA == nil || c.MA.DI == "" {
			return ""
		}
		switch {
		case c.Serial != "":
			return c.MA.DI + ".S" + c.Serial
		case c.Lot != "":
			return c.MA.DI + ".L" + c.Lot
		}
		return c.MA.DI
	case KindAHM:
		if c.AHM == nil {
			return ""
		}
		return c.Data
	}
	return ""
}

// HRI returns the human-readable interpretation: "(01)…(17)…(10)…" for GS1,
// Digital Link and GTIN codes, the dotted form for MA codes (MA.Dotted,
// whichever form was read), the data as read for the others.
func (c *Code) HRI() string {
	switch c.Kind {
	case KindGS1, KindDigitalLink, KindGTIN:
		if len(c.Elements) == 0 && c.GTIN != "" {
			return "(01)" + c.GTIN
		}
		var b strings.Builder
		for _, e := range c.Elements {
			b.WriteByte('(')
			b.WriteString(e.AI)
			b.WriteByte(')')
			b.WriteString(e.Value)
		}
		return b.String()
	case KindMA:
		if c.MA != nil {
			return c.MA.Dotted()
		}
	}
	return c.Data
}

// ElementString returns the GS1 element string of a GS1, Digital Link or
// GTIN code as a GS1 symbol carries it (without the leading FNC1): a GS
// after each element except the last, unless the element has a predefined
// length. It returns "" for other kinds.
func (c *Code) ElementString() string {
	switch c.Kind {
	case KindGS1, KindDigitalLink, KindGTIN:
	default:
		return ""
	}
	var b strings.Builder
	for i, e := range c.Elements {
		b.WriteString(e.AI)
		b.WriteString(e.Value)
		if i < len(c.Elements)-1 && predefinedLen(e.AI) == 0 {
			b.WriteByte(GS)
		}
	}
	return b.String()
}

// Serialised reports whether c identifies one physical item: an item code
// with a serial number.
func (c *Code) Serialised() bool { return c.IsItem() && c.Serial != "" }

// RequireSerial returns an *Error wrapping ErrMissingSerial when c is an
// item code without a serial number, and nil otherwise (also for plain
// codes, which are not item codes). An AHM code is never refused: its
// key is the whole code as read, and its fields are unverified.
func (c *Code) RequireSerial() error {
	if !c.IsItem() || c.Serial != "" || c.Kind == KindAHM {
		return nil
	}
	switch c.Kind {
	case KindHIBC:
		return &Error{Input: c.Data, Pos: -1, AI: "HIBC", Err: ErrMissingSerial,
			Reason: "code has no serial number (/S or $$+): it names a product or lot, not one item; scan the item's serialised label"}
	case KindMA:
		return &Error{Input: c.Data, Pos: -1, AI: "MA", Err: ErrMissingSerial,
			Reason: "code has no serial number (unit S): it names a product or lot, not one item; scan the item's serialised label"}
	}
	return &Error{Input: c.Data, Pos: -1, AI: "21", Err: ErrMissingSerial,
		Reason: "missing: the code names GTIN " + c.GTIN + " but no serial number, so it cannot tell this item from others of the same product; scan the item's serialised label"}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
