package code

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const implant = "]d20109520123456788172605311021A-77\x1d2100042"

func mustScan(t *testing.T, s string) *Code {
	t.Helper()
	c, err := testParser.Scan([]byte(s))
	if err != nil {
		t.Fatalf("Scan(%q): %v", s, err)
	}
	return c
}

// scanErr scans s and checks the error: its sentinel, its AI and that the
// position points into the input.
func scanErr(t *testing.T, s string, sentinel error, ai string) *Error {
	t.Helper()
	c, err := testParser.Scan([]byte(s))
	if err == nil {
		t.Fatalf("Scan(%q) accepted: %+v", s, c)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Scan(%q) error %T is not *Error", s, err)
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("Scan(%q) error %v, want %v", s, err, sentinel)
	}
	if e.AI != ai {
		t.Errorf("Scan(%q) error AI %q, want %q (%v)", s, e.AI, ai, err)
	}
	if e.Pos < 0 || e.Pos > len(s) || e.Input != s {
		t.Errorf("Scan(%q) error position %d / input %q", s, e.Pos, e.Input)
	}
	return e
}

func TestExpiryDayZero(t *testing.T) {
	for _, tc := range []struct{ yymmdd, want string }{
		{"160200", "2016-02-29"}, // leap year
		{"130200", "2013-02-28"},
		{"000200", "2000-02-29"}, // divisible by 400
		{"260400", "2026-04-30"},
		{"261200", "2026-12-31"},
		{"260531", "2026-05-31"},
	} {
		c := mustScan(t, "]d20109520123456788"+"17"+tc.yymmdd)
		if got := c.Expiry.String(); got != tc.want {
			t.Errorf("(17)%s = %s, want %s", tc.yymmdd, got, tc.want)
		}
		if c.Expiry.Hour != -1 {
			t.Errorf("(17)%s hour = %d, want -1", tc.yymmdd, c.Expiry.Hour)
		}
	}
	// Day 00 is not allowed where the dictionary says yymmdd.
	scanErr(t, "]d20109520123456788"+"7006260500", ErrDate, "7006")
}

func TestDateErrors(t *testing.T) {
	e := scanErr(t, "]d20109520123456788"+"17261301", ErrDate, "17")
	if e.Pos != 23 || e.Error() != "(17) at byte 23: month 13 is not a month" {
		t.Errorf("got %q (pos %d)", e.Error(), e.Pos)
	}
	e = scanErr(t, "]d20109520123456788"+"17260532", ErrDate, "17")
	if !strings.Contains(e.Error(), "day 32") || e.Pos != 25 {
		t.Errorf("got %q", e.Error())
	}
	e = scanErr(t, "]d20109520123456788"+"17260431", ErrDate, "17")
	if !strings.Contains(e.Error(), "day 31 does not exist in April 2026") {
		t.Errorf("got %q", e.Error())
	}
	scanErr(t, "]d20109520123456788"+"11270229", ErrDate, "11") // 2027 is no leap year
	scanErr(t, "]d20109520123456788"+"70032605312460", ErrDate, "7003")
}

func TestCentury(t *testing.T) {
	for _, tc := range []struct {
		yy   int
		want int
	}{{26, 2026}, {0, 2000}, {75, 2075}, {76, 2076}, {77, 1977}, {99, 1999}} {
		if got := fullYear(tc.yy, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); got != tc.want {
			t.Errorf("fullYear(%d) = %d, want %d", tc.yy, got, tc.want)
		}
	}
	// Near a century end the window moves forward.
	if got := fullYear(5, time.Date(2098, 1, 1, 0, 0, 0, 0, time.UTC)); got != 2105 {
		t.Errorf("fullYear(05) in 2098 = %d, want 2105", got)
	}
	p := Parser{Now: func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }}
	c, err := p.Scan([]byte("]d20109520123456788" + "17800101"))
	if err != nil || c.Expiry.Year != 2080 {
		t.Errorf("2030: (17)800101 = %v, %v", c.Expiry, err)
	}
}

func TestTruncatedAndCharset(t *testing.T) {
	e := scanErr(t, "]d2010952012345", ErrTruncated, "01")
	if e.Pos != 5 || !strings.Contains(e.Error(), "10 of its 14") {
		t.Errorf("got %q", e.Error())
	}
	scanErr(t, "]d2010952012\x1d10AB", ErrTruncated, "01")
	scanErr(t, "]d2010952012345678817", ErrTruncated, "17")
	scanErr(t, "]d20109520123456788172605", ErrTruncated, "17")
	e = scanErr(t, "]d201095201234A678810AB", ErrCharset, "01")
	if e.Pos != 14 || !strings.Contains(e.Error(), "'A' is not a digit") {
		t.Errorf("got %q pos %d", e.Error(), e.Pos)
	}
	scanErr(t, "]d20109520123456788"+"10AB CD", ErrCharset, "10")
	scanErr(t, "]d20109520123456788"+"30A", ErrCharset, "30")
	scanErr(t, "]d20109520123456788"+"0", ErrTruncated, "")
	scanErr(t, "]d20109520123456788"+"AB", ErrSyntax, "")
	scanErr(t, "]d2", ErrEmpty, "")
	scanErr(t, "]d20109520123456788\x1d10", ErrSyntax, "10")
}

func TestTooLong(t *testing.T) {
	e := scanErr(t, "]d20109520123456788"+"10"+strings.Repeat("A", 21), ErrTooLong, "10")
	want := "(10) at byte 21: value '" + strings.Repeat("A", 21) + "' is 21 chars > X..20: separator missing after variable-length AI"
	if e.Error() != want {
		t.Errorf("got  %q\nwant %q", e.Error(), want)
	}
	mustScan(t, "]d20109520123456788"+"10"+strings.Repeat("A", 20))
	scanErr(t, "]d20109520123456788"+"30123456789", ErrTooLong, "30")
	// A fixed-length AI that is not predefined needs a separator too.
	e = scanErr(t, "]d20109520123456788"+"42215610AB", ErrTooLong, "422")
	if !strings.Contains(e.Error(), "separator missing") {
		t.Errorf("got %q", e.Error())
	}
	// A person's identifier is never quoted.
	e = scanErr(t, "]d2"+"7253"+strings.Repeat("X", 41), ErrTooLong, "7253")
	if strings.Contains(e.Error(), "XXX") {
		t.Errorf("message quotes a personal value: %q", e.Error())
	}
}

func TestUnknownAIKept(t *testing.T) {
	c := mustScan(t, "]C10109520123456788"+"7777XYZ\x1d"+"1412345610AB")
	checkElements(t, c, [][2]string{{"01", "09520123456788"}, {"7777", "XYZ"}, {"14", "123456"}, {"10", "AB"}})
	if c.Lot != "AB" || KnownAI("7777") || AITitle("7777") != "" {
		t.Errorf("lot %q", c.Lot)
	}
	if AITitle("17") != "USE BY or EXPIRY" || !KnownAI("8018") || !KnownAI("3103") || KnownAI("3106") {
		t.Error("AI table lookup")
	}
	// The HRI of an unknown AI is read back the same way.
	h, err := testParser.Any(c.HRI())
	if err != nil || h.HRI() != c.HRI() {
		t.Errorf("Any(%q) = %v, %v", c.HRI(), h, err)
	}
	scanErr(t, "]C10109520123456788"+"7777X\x01Z", ErrCharset, "7777")
}

func TestLotLooksLikeAI(t *testing.T) {
	c := mustScan(t, "]d2010952012345678810AB2112")
	if c.Lot != "AB2112" || c.Serial != "" {
		t.Errorf("lot %q serial %q", c.Lot, c.Serial)
	}
	if c.Key() != "(01)09520123456788(10)AB2112" {
		t.Errorf("key %q", c.Key())
	}
}

func TestDuplicateAI(t *testing.T) {
	scanErr(t, "]d20109520123456788"+"21A\x1d21B", ErrSyntax, "21")
	c := mustScan(t, "]d20109520123456788"+"21A\x1d21A")
	if c.Serial != "A" {
		t.Errorf("serial %q", c.Serial)
	}
}

func TestGTIN(t *testing.T) {
	c := mustScan(t, "]E496385074")
	if c.Kind != KindGTIN || c.GTIN != "00000096385074" || c.SymbologyName != "EAN-8" {
		t.Errorf("EAN-8: %+v", c)
	}
	c = mustScan(t, "]E05391234567892")
	if c.Kind != KindGTIN || c.GTIN != "05391234567892" || c.HRI() != "(01)05391234567892" || c.Key() != "(01)05391234567892" {
		t.Errorf("EAN-13: %+v", c)
	}
	if err := c.RequireSerial(); !errors.Is(err, ErrMissingSerial) {
		t.Errorf("RequireSerial = %v", err)
	}
	scanErr(t, "]E05391234567893", ErrCheckDigit, "01")
	scanErr(t, "]E0539123456789", ErrSyntax, "01")
	scanErr(t, "]E4963850A4", ErrCharset, "01")
	for s, want := range map[string]string{
		"96385074": "00000096385074", "036000291452": "00036000291452",
		"5391234567892": "05391234567892", "09520123456788": "09520123456788",
	} {
		c, err := testParser.Any(s)
		if err != nil || c.GTIN != want || c.Kind != KindGTIN {
			t.Errorf("Any(%s) = %v, %v", s, c, err)
		}
	}
}

func TestKeyForms(t *testing.T) {
	for in, want := range map[string]string{
		implant:                                          "(01)09520123456788(21)00042",
		"]d2010952012345678810LOT1":                      "(01)09520123456788(10)LOT1",
		"]d20109520123456788":                            "(01)09520123456788",
		"]d20109520123456788\x1d21S1":                    "(01)09520123456788(21)S1",
		"]d2000061414112345678900209520123456788":        "(01)09520123456788",
		"]d200006141411234567890":                        "",
		"+A123BJC5D6E71G":                                "+A123BJC5D6E71",
		"+A99912345/$$52001510X33":                       "+A99912345/$10X3",
		"+A99912345/$$52001510X3/16D20111212/S77DEFG457": "+A99912345/S77DEFG45",
		"+$$+52001510X3GB":                               "",
		"]d1PATIENT-0042":                                "",
		"https://id.gs1.org/01/09520123456788/21/12345":  "(01)09520123456788(21)12345",
		"https://example.com/news/2021/01/12":            "",
	} {
		c, err := testParser.Any(in)
		if err != nil {
			t.Errorf("Any(%q): %v", in, err)
			continue
		}
		if c.Key() != want {
			t.Errorf("Key(%q) = %q, want %q", in, c.Key(), want)
		}
	}
}

func TestRequireSerial(t *testing.T) {
	if err := mustScan(t, implant).RequireSerial(); err != nil {
		t.Errorf("serialised implant: %v", err)
	}
	c := mustScan(t, "]d2010952012345678810LOT1")
	err := c.RequireSerial()
	var e *Error
	if !errors.Is(err, ErrMissingSerial) || !errors.As(err, &e) || e.AI != "21" || e.Pos != -1 {
		t.Fatalf("RequireSerial = %v", err)
	}
	if !strings.HasPrefix(err.Error(), "(21) missing: ") {
		t.Errorf("message %q", err.Error())
	}
	if c.Serialised() || !mustScan(t, implant).Serialised() {
		t.Error("Serialised")
	}
	if err := mustScan(t, "+A123BJC5D6E71G").RequireSerial(); !errors.Is(err, ErrMissingSerial) {
		t.Errorf("HIBC without serial: %v", err)
	}
	if err := mustScan(t, "]d1BADGE-7").RequireSerial(); err != nil {
		t.Errorf("plain code: %v", err)
	}
}

func TestAnyForms(t *testing.T) {
	want := mustScan(t, implant)
	for _, in := range []string{
		implant,
		"0109520123456788172605311021A-77\x1d2100042",
		`]d20109520123456788172605311021A-77\x1d2100042`,
		`0109520123456788172605311021A-77<GS>2100042`,
		`0109520123456788172605311021A-77\u001d2100042`,
		"(01)09520123456788(17)260531(10)21A-77(21)00042",
		"(01) 09520123456788 (17) 260531 (10) 21A-77 (21) 00042\r\n",
		"https://example.org/01/09520123456788/10/21A-77/21/00042?17=260531",
	} {
		c, err := testParser.Any(in)
		if err != nil {
			t.Errorf("Any(%q): %v", in, err)
			continue
		}
		if c.Key() != want.Key() || c.Expiry != want.Expiry || c.Lot != want.Lot {
			t.Errorf("Any(%q): key %q expiry %v lot %q", in, c.Key(), c.Expiry, c.Lot)
		}
	}
	for in, sentinel := range map[string]error{"(800)1": ErrUnknownAI, "(1012)AB": ErrUnknownAI, "(14)12": ErrSyntax} {
		if _, err := testParser.Any(in); !errors.Is(err, sentinel) {
			t.Errorf("Any(%q) = %v, want %v", in, err, sentinel)
		}
	}
	for _, in := range []string{"", "  ", "(01)", "(1)2", "(01)0952012345678X"} {
		if _, err := testParser.Any(in); err == nil {
			t.Errorf("Any(%q) accepted", in)
		}
	}
}

func TestNoAIMRouting(t *testing.T) {
	for in, kind := range map[string]Kind{
		"0109520123456788":             KindGS1,
		"0109520123456788172605311021": KindGS1,
		"\x1d0109520123456788":         KindGS1,
		"0109520123456789":             KindPlain, // check digit wrong: not taken as GS1
		"01095201234567881726133110AB": KindPlain, // no GS and a bad date: some other number
		"0109520123456788991234567":    KindGS1,
		"0109520123456788889":          KindPlain, // unknown AI, no GS
		"P123456789":                   KindPlain,
		"https://example.com/x":        KindPlain,
	} {
		c, err := testParser.Scan([]byte(in))
		if err != nil || c.Kind != kind {
			t.Errorf("Scan(%q) = %v, %v; want %v", in, c, err, kind)
		}
	}
	// With a GS the data clearly means GS1: faults are errors.
	scanErr(t, "01095201234567881726133110AB\x1d21X", ErrDate, "17")
	scanErr(t, "\x1d0109520123456789", ErrCheckDigit, "01")
}

func TestDigitalLink(t *testing.T) {
	c, err := testParser.Any("https://id.example/shop/01/9520123456788/21/X%2FY?linkType=gs1:pip&17=270100#frag")
	if err != nil {
		t.Fatal(err)
	}
	if c.GTIN != "09520123456788" || c.Serial != "X/Y" || c.Expiry.String() != "2027-01-31" || c.Kind != KindDigitalLink {
		t.Errorf("%+v", c)
	}
	for in, sentinel := range map[string]error{
		"https://id.gs1.org/01/09520123456789":             ErrCheckDigit,
		"https://id.gs1.org/01/09520123456788/10/A%2":      ErrSyntax,
		"https://id.gs1.org/01/09520123456788/bogus/1":     ErrUnknownAI,
		"https://id.gs1.org/01/09520123456788?800=1":       ErrUnknownAI,
		"https://id.gs1.org/01/09520123456788?17=261341":   ErrDate,
		"https://id.gs1.org/01/09520123456788?3103=12":     ErrTruncated,
		"https://id.gs1.org/01/09520123456788/21/A?21=B":   ErrSyntax,
		"https://id.gs1.org/01/09520123456788?10=" + "A b": ErrCharset,
	} {
		_, err := testParser.Any(in)
		var e *Error
		if !errors.Is(err, sentinel) || !errors.As(err, &e) {
			t.Errorf("Any(%q) = %v, want %v", in, err, sentinel)
		}
	}
}

func TestHIBCForms(t *testing.T) {
	withCheck := func(s string) string {
		c, err := HIBCCheck(s)
		if err != nil {
			t.Fatal(err)
		}
		return s + string(c)
	}
	for _, tc := range []struct {
		sec, expiry, format, lot, serial string
		qty                              int
	}{
		{"$LOT1", "", "", "LOT1", "", 0},
		{"$+SER1", "", "", "", "SER1", 0},
		{"$$0725LOT1", "2025-07-31", "MMYY", "LOT1", "", 0},
		{"$$1224LOT1", "2024-12-31", "MMYY", "LOT1", "", 0},
		{"$$2022924LOT1", "2024-02-29", "MMDDYY", "LOT1", "", 0},
		{"$$3251231LOT1", "2025-12-31", "YYMMDD", "LOT1", "", 0},
		{"$$42512312359", "2025-12-31T23", "YYMMDDHH", "59", "", 0},
		{"$$524060LOT1", "2024-02-29", "YYJJJ", "LOT1", "", 0},
		{"$$62536523LOT1", "2025-12-31T23", "YYJJJHH", "LOT1", "", 0},
		{"$$7LOT1", "", "", "LOT1", "", 0},
		{"$$8053251231LOT1", "2025-12-31", "YYMMDD", "LOT1", "", 5},
		{"$$8120725LOT1", "2025-07-31", "MMYY", "LOT1", "", 12},
		{"$$900100525001LOT1", "2025-01-01", "YYJJJ", "LOT1", "", 100},
		{"$$+3251231SER1", "2025-12-31", "YYMMDD", "", "SER1", 0},
		{"$$+0725SER1", "2025-07-31", "MMYY", "", "SER1", 0},
		{"$$+7SER1", "", "", "", "SER1", 0},
		{"$$+8023251231SER1", "2025-12-31", "YYMMDD", "", "SER1", 2},
		{"$$+9000017SER1", "", "", "", "SER1", 1},
		{"$LOT1/14D20250131/Q7", "2025-01-31", "YYYYMMDD", "LOT1", "", 7},
		{"25001LOT1", "2025-01-01", "YYJJJ", "LOT1", "", 0},
	} {
		in := withCheck("+A99912345/" + tc.sec)
		c, err := testParser.Scan([]byte(in))
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		h := c.HIBC
		if c.Expiry.String() != tc.expiry || h.ExpiryFormat != tc.format || c.Lot != tc.lot || c.Serial != tc.serial || h.Quantity != tc.qty {
			t.Errorf("%s: expiry %q (%s) lot %q serial %q qty %d", in, c.Expiry, h.ExpiryFormat, c.Lot, c.Serial, h.Quantity)
		}
		// The same secondary printed on its own, linked to the primary.
		prim := mustScan(t, withCheck("+A99912345"))
		sec := mustScan(t, withCheck("+"+tc.sec+string(prim.HIBC.Check)))
		j, err := JoinHIBC(prim, sec)
		if err != nil {
			t.Errorf("join %s: %v", sec.Data, err)
			continue
		}
		if j.Key() != c.Key() || j.Expiry != c.Expiry || j.HIBC.Quantity != tc.qty {
			t.Errorf("join %s: key %q expiry %v, want %q %v", sec.Data, j.Key(), j.Expiry, c.Key(), c.Expiry)
		}
	}
	for _, tc := range []struct {
		in       string
		sentinel error
	}{
		{"+A99912345/$$3251301LOT1", ErrDate},
		{"+A99912345/$$1325LOT1", ErrDate},
		{"+A99912345/$$525366LOT1", ErrDate},
		{"+A99912345/$$4251231241", ErrDate},
		{"+A99912345/$$3251", ErrTruncated},
		{"+A99912345/$$A", ErrSyntax},
		{"+A99912345/$$8", ErrTruncated},
		{"+A99912345/$", ErrSyntax},
		{"+A99912345/$L/16D2011", ErrSyntax},
		{"+A99912345/", ErrTruncated},
		{"+A9991234X", ErrSyntax},
		{"+19991234", ErrDate}, // older secondary form: YYJJJ 99 991
		{"+A99", ErrTruncated},
		{"+A999" + strings.Repeat("1", 19) + "5", ErrTooLong},
		{"+A99912345/$" + strings.Repeat("L", 19), ErrTooLong},
		{"+A99912345/$$+3251231S1/SS2", ErrSyntax},
	} {
		in := withCheck(tc.in)
		_, err := testParser.Scan([]byte(in))
		var e *Error
		if !errors.Is(err, tc.sentinel) || !errors.As(err, &e) || !strings.HasPrefix(e.AI, "HIBC") {
			t.Errorf("%s: error %v, want %v", in, err, tc.sentinel)
		}
	}
	scanErr(t, "+a123BJC5D6E71G", ErrCharset, "HIBC")
	c := mustScan(t, withCheck("+A99912345/$L1/9XYZ"))
	if len(c.HIBC.Extra) != 1 || c.HIBC.Extra[0] != "9XYZ" {
		t.Errorf("extra %q", c.HIBC.Extra)
	}
	// Joining labels of different items fails on the link character.
	if _, err := JoinHIBC(mustScan(t, "+A123BJC5D6E71G"), mustScan(t, withCheck("+$LOT1X"))); !errors.Is(err, ErrHIBCCheck) {
		t.Errorf("join mismatch: %v", err)
	}
}

func TestHIBCCheckStripped(t *testing.T) {
	// Code 39 ]A3: the scanner checked the check character and removed it.
	c := mustScan(t, "]A3+A123BJC5D6E71")
	if c.Kind != KindHIBC || c.Key() != "+A123BJC5D6E71" || c.HIBC.Check != 'G' || !c.HIBC.CheckStripped {
		t.Errorf("]A3: %+v %+v", c, c.HIBC)
	}
	scanErr(t, "+A123BJC5D6E71", ErrHIBCCheck, "HIBC")
	p := testParser
	p.HIBCCheckOptional = true
	c, err := p.Scan([]byte("+A123BJC5D6E71"))
	if err != nil || c.Key() != "+A123BJC5D6E71" || !c.HIBC.CheckStripped {
		t.Errorf("optional: %+v, %v", c, err)
	}
	c, err = p.Scan([]byte("+A123BJC5D6E71G"))
	if err != nil || c.HIBC.CheckStripped || c.HIBC.Check != 'G' {
		t.Errorf("optional with check: %+v, %v", c, err)
	}
}

func TestCheckFunctions(t *testing.T) {
	if _, err := CheckDigit("12a"); !errors.Is(err, ErrCharset) {
		t.Errorf("CheckDigit letters: %v", err)
	}
	if _, err := CheckDigit(""); !errors.Is(err, ErrSyntax) {
		t.Errorf("CheckDigit empty: %v", err)
	}
	if _, err := HIBCCheck("+a"); !errors.Is(err, ErrCharset) {
		t.Errorf("HIBCCheck lowercase: %v", err)
	}
	if c, _ := HIBCCheck("+A123BJC5D6E71"); c != 'G' {
		t.Errorf("HIBCCheck = %q", c)
	}
}

func TestKindAndDate(t *testing.T) {
	names := map[Kind]string{KindPlain: "plain", KindGS1: "GS1", KindDigitalLink: "Digital Link", KindGTIN: "GTIN", KindHIBC: "HIBC", Kind(9): "Kind(9)"}
	for k, s := range names {
		if k.String() != s {
			t.Errorf("%d.String() = %q", int(k), k.String())
		}
	}
	if (Date{}).String() != "" || !(Date{}).IsZero() || !(Date{}).Time(time.UTC).IsZero() {
		t.Error("zero Date")
	}
	d := Date{Year: 2020, Month: 2, Day: 2, Hour: 16}
	if d.String() != "2020-02-02T16" || d.Time(time.UTC) != time.Date(2020, 2, 2, 16, 0, 0, 0, time.UTC) {
		t.Errorf("%v", d)
	}
}

func TestElementStringRoundTrip(t *testing.T) {
	c := mustScan(t, "]d2000061414112345678900209520123456788"+"3724\x1d10ABC1")
	es := c.ElementString()
	if es != "000061414112345678900209520123456788"+"3724\x1d10ABC1" {
		t.Errorf("ElementString = %q", es)
	}
	if mustScan(t, "]d1"+es).ElementString() != "" {
		t.Error("plain code has an element string")
	}
}

func TestLongInputLinear(t *testing.T) {
	for _, s := range []string{
		strings.Repeat("(99)a", 20000),
		"]d2" + strings.Repeat("99a\x1d", 20000),
		"https://a/01/09520123456788?" + strings.Repeat("99=a&", 20000),
	} {
		start := time.Now()
		c, err := testParser.Any(s)
		if err != nil || len(c.Elements) < 20000 {
			t.Fatalf("long input: %v", err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%d bytes took %v: parsing is not linear", len(s), d)
		}
	}
}
