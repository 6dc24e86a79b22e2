package code

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// seeds returns every vector input, the wire examples and a few split and
// damaged codes.
func seeds(t testing.TB) []string {
	f := loadCodes(t)
	var s []string
	for _, v := range append(f.GS1, f.DL...) {
		s = append(s, v.Input)
		if v.ExpectedHRI != "" {
			s = append(s, v.ExpectedHRI)
		}
	}
	for _, v := range f.HIBC {
		s = append(s, v.Input)
	}
	s = append(s, implant, implant[:20], "]E05391234567892", "]E496385074", "]A3+A123BJC5D6E71",
		"0109520123456788172605311021A-77\x1d2100042", "+$$+52001510X3GB", "+A99912345/$$9001005250011LOT1",
		"https://id.example/01/9520123456788/21/X%2FY?17=270100", "(01)09520123456788(7777)X", "]d1BADGE-7")
	// Dictionary checks and pairing rules.
	s = append(s, "]d20109520123456788"+"8008251231235959", "]d20109520123456788"+"8008251231235960",
		"]d20109520123456788"+"7230AB\x1d7231ABC", "]d2"+"00006141411234567890"+"7041BX",
		"]d20109520123456788"+"21S1\x1d"+"8040490154203237518", "]C1"+"10LOT7\x1d21S0042",
		"(01)09520123456788(8013)1987654Ad4X4bL5ttr2310c2K", "(415)9520123456788(8020)R1(8007)DE91100000000123456789",
		"(00)006141411234567890(4309)17999999993599999999(4300)A%20B", "(8018)123456789012345675(7258)1/2(7259)B",
		"]d2"+"0109520123456788"+"3102000100"+"3103000010", "(01)09520123456788(3910)156100(422)156(7030)999P")
	return s
}

// checkResult asserts the properties every parse must have: errors are
// *Error with a sentinel and a position inside the input; an accepted GS1
// code keeps its key when re-read from its element string and from its
// HRI.
func checkResult(t *testing.T, in string, c *Code, err error) {
	t.Helper()
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%q: error %T %v is not *Error", in, err, err)
		}
		if e.Err == nil || e.Reason == "" {
			t.Fatalf("%q: error without sentinel or reason: %#v", in, e)
		}
		if e.Pos < -1 || e.Pos > len(e.Input) {
			t.Fatalf("%q: error position %d outside input of %d bytes", in, e.Pos, len(e.Input))
		}
		if c != nil {
			t.Fatalf("%q: both a code and an error", in)
		}
		return
	}
	if c == nil {
		t.Fatalf("%q: no code and no error", in)
	}
	key := c.Key()
	switch c.Kind {
	case KindGS1, KindDigitalLink, KindGTIN:
		if c.GTIN != "" && (len(c.GTIN) != 14 || !isDigits(c.GTIN)) {
			t.Fatalf("%q: GTIN %q", in, c.GTIN)
		}
		es := c.ElementString()
		r, err := testParser.Parse("]d2", []byte(es))
		if err != nil {
			t.Fatalf("%q: element string %q not re-read: %v", in, es, err)
		}
		if r.Key() != key || r.Expiry != c.Expiry || r.Lot != c.Lot {
			t.Fatalf("%q: element string %q gives key %q, want %q", in, es, r.Key(), key)
		}
		hri := c.HRI()
		if !strings.Contains(hri, "(") || strings.Count(hri, "(") == len(c.Elements) {
			r, err = testParser.Any(hri)
			if err != nil {
				t.Fatalf("%q: HRI %q not re-read: %v", in, hri, err)
			}
			if r.Key() != key || r.Expiry != c.Expiry {
				t.Fatalf("%q: HRI %q gives key %q, want %q", in, hri, r.Key(), key)
			}
		}
	case KindHIBC:
		h := c.HIBC
		if h == nil || !strings.HasPrefix(c.Data, "+") {
			t.Fatalf("%q: HIBC without fields", in)
		}
		if !h.CheckStripped && c.Data[len(c.Data)-1] != h.Check {
			t.Fatalf("%q: check %q is not the last character", in, h.Check)
		}
		if h.Labeler != "" && !strings.HasPrefix(key, "+"+h.Labeler+h.Product) {
			t.Fatalf("%q: key %q", in, key)
		}
		if len(c.Lot) > 18 || len(c.Serial) > 18 || len(h.Product) > 18 {
			t.Fatalf("%q: field too long", in)
		}
	case KindPlain:
		if key != "" || c.HIBC != nil || len(c.Elements) != 0 {
			t.Fatalf("%q: plain code with item data", in)
		}
	}
	if !c.Expiry.IsZero() && (c.Expiry.Month < 1 || c.Expiry.Month > 12 || c.Expiry.Day < 1 || c.Expiry.Day > daysIn(c.Expiry.Year, c.Expiry.Month)) {
		t.Fatalf("%q: impossible expiry %v", in, c.Expiry)
	}
	for _, w := range c.Warnings {
		// A warning names an AI of the code, says which, and is one of
		// the package's kinds.
		if w.Code != WarnPairing || !strings.HasPrefix(w.Text, "("+w.AI+")") {
			t.Fatalf("%q: warning %+v", in, w)
		}
		found := false
		for _, e := range c.Elements {
			found = found || e.AI == w.AI
		}
		if !found {
			t.Fatalf("%q: warning about (%s), which the code does not hold", in, w.AI)
		}
	}
	if c.Kind != KindGS1 && c.Kind != KindDigitalLink && c.Warnings != nil {
		t.Fatalf("%q: %v code with warnings", in, c.Kind)
	}
	_ = c.RequireSerial()
	_ = c.HRI()
}

func FuzzScan(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := testParser.Scan(raw)
		checkResult(t, string(raw), c, err)
	})
}

func FuzzAny(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := testParser.Any(s)
		checkResult(t, s, c, err)
		if err == nil && !utf8.ValidString(s) && c.Kind != KindPlain {
			// Only ASCII is valid in item codes: any byte >= 0x80 must
			// have been refused or left as plain.
			for i := 0; i < len(c.Data); i++ {
				if c.Data[i] >= 0x80 && c.Kind != KindPlain {
					t.Fatalf("%q: non-ASCII accepted in a %v code", s, c.Kind)
				}
			}
		}
	})
}

func FuzzHIBC(f *testing.F) {
	f.Add("+A123BJC5D6E71", false)
	for _, s := range seeds(f) {
		if strings.HasPrefix(s, "+") {
			f.Add(s, false)
			f.Add(s[:len(s)-1], true)
		}
	}
	f.Fuzz(func(t *testing.T, s string, optional bool) {
		p := testParser
		p.HIBCCheckOptional = optional
		in := "+" + s
		c, err := p.Scan([]byte(in))
		checkResult(t, in, c, err)
		if err == nil && c.Kind == KindHIBC && !c.HIBC.CheckStripped {
			// Strict parsing accepts exactly what the optional mode
			// accepts with a correct check character.
			q := p
			q.HIBCCheckOptional = !optional
			d, err := q.Scan([]byte(in))
			if err != nil || d.Key() != c.Key() {
				t.Fatalf("%q: optional=%v gives %v, %v", in, !optional, d, err)
			}
		}
	})
}
