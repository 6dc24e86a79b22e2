package code

import (
	"errors"
	"net/url"
	"slices"
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
	for _, v := range loadMA(t).MA {
		s = append(s, v.Input)
	}
	for _, v := range loadMA(t).AHM {
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
	case KindMA:
		checkMAResult(t, in, c)
	case KindAHM:
		a := c.AHM
		if a == nil || key != c.Data || !strings.HasPrefix(key, "MF"+a.DI) || c.Serial != "" || c.Lot != "" || !c.Expiry.IsZero() {
			t.Fatalf("%q: AHM key %q fields %+v", in, key, a)
		}
		if !strings.HasSuffix(c.Data, a.Rest) || SplitKey(key).Kind != KindAHM {
			t.Fatalf("%q: AHM rest %q", in, a.Rest)
		}
	case KindPlain:
		if key != "" || c.HIBC != nil || c.MA != nil || c.AHM != nil || len(c.Elements) != 0 {
			t.Fatalf("%q: plain code with item data", in)
		}
	}
	if !c.Expiry.IsZero() && (c.Expiry.Month < 1 || c.Expiry.Month > 12 || c.Expiry.Day < 1 || c.Expiry.Day > daysIn(c.Expiry.Year, c.Expiry.Month)) {
		t.Fatalf("%q: impossible expiry %v", in, c.Expiry)
	}
	for _, w := range c.Warnings {
		switch c.Kind {
		case KindMA:
			if w.Code != WarnMACheck || w.AI != "MA DI" && w.AI != "MA PI" {
				t.Fatalf("%q: warning %+v", in, w)
			}
			continue
		case KindAHM:
			if w.Code != WarnAHMUnverified || len(c.Warnings) != 1 {
				t.Fatalf("%q: warnings %+v", in, c.Warnings)
			}
			continue
		}
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
	if (c.Kind == KindPlain || c.Kind == KindGTIN || c.Kind == KindHIBC) && c.Warnings != nil {
		t.Fatalf("%q: %v code with warnings", in, c.Kind)
	}
	_ = c.RequireSerial()
	_ = c.HRI()
}

// checkMAResult asserts what every MA reading must hold: five DI parts
// with the structure read, checks that agree with MACheck, a key that
// reads back as itself, and the same key and fields from the dotted form,
// the XML form and a URL whatever form was read.
func checkMAResult(t *testing.T, in string, c *Code) {
	t.Helper()
	m, key := c.MA, c.Key()
	if m == nil || strings.Count(m.DI, ".") != 4 || !strings.HasPrefix(key, m.DI) || SplitKey(key).Product != m.DI {
		t.Fatalf("%q: MA %+v key %q", in, m, key)
	}
	if len(m.Registrant) != 6 || len(m.Category) < 6 || len(m.Category) > 10 || !isDigit(m.PackagingLevel) {
		t.Fatalf("%q: DI parts %+v", in, m)
	}
	want, _ := MACheck(m.DI[:len(m.DI)-1])
	if m.DICheckOK != (want == m.DICheck) || m.DICheckOK == slices.ContainsFunc(c.Warnings, func(w Warning) bool { return w.AI == "MA DI" }) {
		t.Fatalf("%q: DI check %q ok %v, MACheck %q, warnings %v", in, m.DICheck, m.DICheckOK, want, c.Warnings)
	}
	if c.Serial == "" && c.RequireSerial() == nil {
		t.Fatalf("%q: an MA code without serial passes RequireSerial", in)
	}
	hri := c.HRI()
	for _, form := range []string{hri, maXML(c), "https://udi.example.cn/s?code=" + url.QueryEscape(hri), key} {
		r, err := testParser.Scan([]byte(form))
		if err != nil {
			t.Fatalf("%q: %q not re-read: %v", in, form, err)
		}
		if r.Key() != key {
			t.Fatalf("%q: %q gives key %q, want %q", in, form, r.Key(), key)
		}
		if form != key && (r.Lot != c.Lot || r.Expiry != c.Expiry || r.Production != c.Production) {
			t.Fatalf("%q: %q gives lot %q expiry %v production %v, want %q %v %v", in, form, r.Lot, r.Expiry, r.Production, c.Lot, c.Expiry, c.Production)
		}
	}
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

// FuzzMA reads MA codes in every form: the seeds are the vectors, their
// XML forms and URLs; the properties are checkResult's and
// checkMAResult's. Corpus: testdata/fuzz/FuzzMA.
func FuzzMA(f *testing.F) {
	for _, v := range loadMA(f).MA {
		f.Add(v.Input)
		if v.Error != "" {
			continue
		}
		c, err := testParser.Scan([]byte(v.Input))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(maXML(c))
		f.Add("https://udi.example.cn/s?code=" + v.Input)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := testParser.Scan([]byte(s))
		checkResult(t, s, c, err)
		if err == nil && isMA([]byte(s)) && c.Kind != KindMA {
			t.Fatalf("%q: starts like MA, read as %v", s, c.Kind)
		}
	})
}

// FuzzAHM reads text after "MF": an AHM code is never refused, always
// keeps the code as its key and carries its one warning. Corpus:
// testdata/fuzz/FuzzAHM.
func FuzzAHM(f *testing.F) {
	for _, v := range loadMA(f).AHM {
		f.Add(strings.TrimPrefix(v.Input, "MF"))
	}
	f.Add("ABC123BN7*XX9")
	f.Add("1MD2201")
	f.Fuzz(func(t *testing.T, s string) {
		in := "MF" + s
		c, err := testParser.Scan([]byte(in))
		checkResult(t, in, c, err)
		if ahmStart([]byte(in)) >= 0 && (err != nil || c.Kind != KindAHM || c.Key() != in) {
			t.Fatalf("%q: an AHM code gives %v, %v", in, c, err)
		}
	})
}
