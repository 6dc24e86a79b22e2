package code

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/agent/code/internal/aigen"
)

// TestTableCurrent regenerates the AI table from testdata/ and compares it
// with the committed ai_table.go.
func TestTableCurrent(t *testing.T) {
	in, err := aigen.Load(".")
	if err != nil {
		t.Fatal(err)
	}
	shared, err := os.ReadFile("../../../shared/vectors/gs1-syntax-dictionary.txt")
	if err == nil && !bytes.Equal(shared, in.Dictionary) {
		t.Logf("the shared dictionary differs from testdata/gs1-syntax-dictionary.txt: copy it and run go generate to update")
	}
	want, err := aigen.Generate(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(aigen.Output)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is not what the dictionary gives: run go generate ./agent/code", aigen.Output)
	}
}

// TestGeneratorRefuses checks that the generator stops on dictionary lines
// it cannot represent, instead of writing a wrong table.
func TestGeneratorRefuses(t *testing.T) {
	lists := aigen.Inputs{ISO3166: []byte("004 AF AFG Afghanistan\n"), ISO4217: []byte("971 AFN Afghani\n"), PackageTypes: []byte("BX\n")}
	for line, want := range map[string]string{
		"01 *? N14,csum bogus=1 # GTIN":          "unknown attribute",
		"01 *? N..14 N2 # GTIN":                  "follows a variable-length",
		"01 *? N14 [N2] N2 # GTIN":               "follows an optional",
		"01 *  N..14 # GTIN":                     "predefined-length",
		"01 !  N14 # GTIN":                       "unknown flag",
		"01 ?  N14 req=0n1 # GTIN":               "bad AI pattern",
		"7250-7251 ? N8 # DOB":                   "personal-data list",
		"3100-3115 ? N6 # NET WEIGHT":            "spans more than its last digit",
		"01 ? N14 # GTIN\n00 ? N18 # SSCC":       "is not after",
		"01 ? Q14 # GTIN":                        "no components",
		"01 ? [N14] # GTIN":                      "first component is optional",
		"01 ? N0 # GTIN":                         "bad length",
		"# Release: X\n01 ? N14 req=01+ # GTIN":  "bad AI pattern",
		"# Release: X\n4300 ? X..35 # SHIP COMP": "lacks",
	} {
		in := lists
		if !strings.HasPrefix(line, "#") {
			line = "# Release: X\n" + line
		}
		in.Dictionary = []byte(line + "\n")
		if _, err := aigen.Generate(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", line, err, want)
		}
	}
	in := lists
	in.Dictionary = []byte("01 ? N14 # GTIN\n")
	if _, err := aigen.Generate(in); err == nil || !strings.Contains(err.Error(), "Release") {
		t.Errorf("no release line: %v", err)
	}
}

// TestTableAgreesWithGenSpecs checks the dictionary against the rules the
// parser keeps for AIs the dictionary lacks: the AI length by its first two
// digits and the predefined-length prefixes (figure 7.8.5-2).
func TestTableAgreesWithGenSpecs(t *testing.T) {
	n := 0
	for i := range dictionary {
		e := &dictionary[i]
		for ai := e.lo; ; ai = next(ai) {
			s := specFor(ai)
			if s == nil {
				t.Fatalf("(%s) of the dictionary is not in the table", ai)
			}
			n++
			if l := aiLenByPrefix(atoi(ai[:2])); l != len(ai) {
				t.Errorf("(%s): AIs starting %s have %d digits by prefix", ai, ai[:2], l)
			}
			if pl := predefinedLen(ai); pl != s.fixed {
				t.Errorf("(%s): predefined length %d by prefix, %d by the dictionary's *", ai, pl, s.fixed)
			}
			if ai == e.hi {
				break
			}
		}
	}
	if n < 500 {
		t.Errorf("only %d AIs", n)
	}
	// AIs the old hand-written table lacked.
	for _, ai := range []string{"7041", "8040", "8041", "8042", "8043"} {
		if !KnownAI(ai) {
			t.Errorf("(%s) unknown", ai)
		}
	}
	if AITitle("8040") != "IMEI" || AITitle("7041") != "UFRGT UNIT TYPE" {
		t.Errorf("titles %q %q", AITitle("8040"), AITitle("7041"))
	}
	for ai, want := range map[string]bool{"8018": true, "8017": true, "7250": true, "4301": true, "8019": true, "01": false, "21": false, "10": false} {
		if specFor(ai).personal != want {
			t.Errorf("(%s) personal = %v", ai, !want)
		}
	}
	var keys []string
	for i := range dictionary {
		if dictionary[i].flags&flagDLKey != 0 {
			keys = append(keys, dictionary[i].lo)
		}
	}
	if got := strings.Join(keys, " "); got != "00 01 253 255 401 402 414 415 417 8003 8004 8006 8010 8013 8017 8018" {
		t.Errorf("Digital Link primary keys %s", got)
	}
}

func next(ai string) string {
	b := []byte(ai)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < '9' {
			b[i]++
			break
		}
		b[i] = '0'
	}
	return string(b)
}

func TestLintersComplete(t *testing.T) {
	for id := lintNone + 1; id < lintCount; id++ {
		if linters[id] == nil {
			t.Errorf("linter %d has no function", id)
		}
	}
	for i := range dictionary {
		for _, c := range dictionary[i].comps {
			for _, id := range c.lints {
				if id == lintNone || id >= lintCount {
					t.Errorf("%s: linter %d", dictionary[i].lo, id)
				}
			}
		}
	}
}

// TestProductionTime is the fault found from outside: (8008) took a second
// of 60.
func TestProductionTime(t *testing.T) {
	const pre = "]d20109520123456788"
	e := scanErr(t, pre+"8008"+"251231235960", ErrDate, "8008")
	if e.Pos != len(pre)+4+10 || !strings.Contains(e.Error(), "second 60 is not a second") {
		t.Errorf("got %q at %d", e.Error(), e.Pos)
	}
	e = scanErr(t, pre+"8008"+"2512312460", ErrDate, "8008")
	if !strings.Contains(e.Error(), "hour 24") || e.Pos != len(pre)+4+6 {
		t.Errorf("got %q at %d", e.Error(), e.Pos)
	}
	e = scanErr(t, pre+"8008"+"2512312360", ErrDate, "8008")
	if !strings.Contains(e.Error(), "minute 60") {
		t.Errorf("got %q", e.Error())
	}
	scanErr(t, pre+"8008"+"251231", ErrTruncated, "8008")    // the hour is required
	scanErr(t, pre+"8008"+"251231235", ErrTruncated, "8008") // half a minute
	scanErr(t, pre+"8008"+"251231000", ErrTruncated, "8008")
	for _, v := range []string{"25123123", "2512312359", "251231235959", "25123100"} {
		c := mustScan(t, pre+"8008"+v)
		if c.Elements[1].AI != "8008" || c.Elements[1].Value != v || len(c.Warnings) != 0 {
			t.Errorf("(8008)%s: %+v", v, c)
		}
	}
	if got := (Element{AI: "8008", Value: "251231235959"}).Parts(); strings.Join(got, "|") != "251231|23|59|59" {
		t.Errorf("parts %q", got)
	}
}

// TestEmptyVariablePart is the fault found from outside: (7230) took its
// two-character scheme without the certificate reference after it.
func TestEmptyVariablePart(t *testing.T) {
	const pre = "]d20109520123456788"
	e := scanErr(t, pre+"7230"+"AB", ErrTruncated, "7230")
	if !strings.Contains(e.Error(), "needs at least 3") || e.Pos != len(pre)+4 {
		t.Errorf("got %q at %d", e.Error(), e.Pos)
	}
	scanErr(t, pre+"7230"+"AB\x1d21X", ErrTruncated, "7230")
	if _, err := testParser.Any("(01)09520123456788(7230)AB"); !errors.Is(err, ErrTruncated) {
		t.Errorf("HRI: %v", err)
	}
	if _, err := testParser.Any("https://a/01/09520123456788?7230=AB"); !errors.Is(err, ErrTruncated) {
		t.Errorf("Digital Link: %v", err)
	}
	c := mustScan(t, pre+"7230"+"ABC")
	if c.Elements[1].Value != "ABC" {
		t.Errorf("%+v", c.Elements)
	}
	// The same rule for every AI with a fixed then a variable part.
	scanErr(t, pre+"421"+"156", ErrTruncated, "421")
	scanErr(t, pre+"7030"+"156", ErrTruncated, "7030")
}

// TestNewAIs reads the AIs the hand-written table lacked, with their
// checks: before, they were kept raw and not checked.
func TestNewAIs(t *testing.T) {
	const sscc = "]d2" + "00006141411234567890"
	c := mustScan(t, sscc+"7041"+"BX")
	if c.Elements[1].AI != "7041" || c.Elements[1].Value != "BX" || len(c.Warnings) != 0 {
		t.Errorf("%+v", c)
	}
	e := scanErr(t, sscc+"7041"+"XYZ", ErrValue, "7041")
	if !strings.Contains(e.Error(), "not a package type code") {
		t.Errorf("got %q", e.Error())
	}
	const phone = "]d2" + "0109520123456788" + "21S1\x1d"
	c = mustScan(t, phone+"8040"+"490154203237518\x1d8041490154203237518\x1d8042"+strings.Repeat("1", 32)+"\x1d8043"+strings.Repeat("2", 18)+"7")
	if len(c.Elements) != 6 || len(c.Warnings) != 0 {
		t.Errorf("%+v %v", c.Elements, c.Warnings)
	}
	scanErr(t, phone+"8040"+"49015420323751", ErrTruncated, "8040")
	scanErr(t, phone+"8042"+strings.Repeat("1", 31), ErrTruncated, "8042")
	scanErr(t, phone+"8043"+strings.Repeat("2", 21), ErrTooLong, "8043")
	scanErr(t, phone+"8040"+"49015420323751X", ErrCharset, "8040")
	// Without (01)+(21) the IMEI is read, with a pairing warning.
	c = mustScan(t, "]d2"+"8040"+"490154203237518")
	if len(c.Warnings) != 1 || c.Warnings[0].AI != "8040" || !strings.Contains(c.Warnings[0].Text, "(01) GTIN with (21) SERIAL") {
		t.Errorf("warnings %v", c.Warnings)
	}
}

// TestLinters runs each check of the dictionary on a value it accepts and
// one it refuses.
func TestLinters(t *testing.T) {
	const gtin = "(01)09520123456788"
	for _, tc := range []struct {
		ok, bad  string // HRI, without the (01) prefix
		sentinel error
		reason   string
	}{
		{"(8003)09520123456788", "(8003)19520123456788", ErrValue, "first digit must be 0"},        // zero
		{"(00)095201234567891235", "(00)095201234567891234", ErrCheckDigit, "check digit invalid"}, // csum
		{"(8013)1987654Ad4X4bL5ttr2310c2K", "(8013)1987654Ad4X4bL5ttr2310cXK", ErrCheckDigit, "check characters XK invalid: those of the characters before them are 2K"},
		{"(8013)12345_ABCDEFGHIJKLMCP", "(8013)1987654Ad4X4bL5ttr2310c2I", ErrCharset, "cannot be a check character"},
		{"(401)9520AB", "(401)952AB", ErrSyntax, "GS1 Company Prefix"},        // gcppos1
		{"(401)95201", "(401)952", ErrTruncated, "too short to start with a"}, // gcppos1
		{"(4300)JOHN%20DOE", "(4300)JOHN%2XDOE", ErrSyntax, "two hexadecimal digits"},
		{"(422)156", "(422)999", ErrValue, "not an ISO 3166-1 numeric country code"},
		{"(7030)999PROC1", "(7030)000PROC1", ErrValue, "(or 999)"},
		{"(4307)CN", "(4307)XX", ErrValue, "not an ISO 3166-1 alpha-2 code"},
		{"(3910)156100", "(3910)000100", ErrValue, "not an ISO 4217 numeric code"},
		{"(3910)924100", "(3910)925X", ErrCharset, "not a digit"},
		{"(17)260200", "(17)261301", ErrDate, "month 13"},              // yymmd0
		{"(7006)260228", "(7006)260200", ErrDate, "day 00"},            // yymmdd
		{"(7003)2602282359", "(7003)2602282400", ErrDate, "hour 24"},   // hhmi
		{"(7003)2602282359", "(7003)2602282360", ErrDate, "minute 60"}, // hhmi
		{"(4330)001234-", "(4330)001234+", ErrValue, "must be '-'"},    // hyphen
		{"(4321)1", "(4321)2", ErrValue, "0 (no) or 1 (yes)"},          // yesno
		{"(8001)01230050000101", "(8001)00000050000101", ErrValue, "must not be zero"},
		{"(8001)01230050000191", "(8001)01230050000131", ErrValue, "0, 1 or 9"}, // winding
		{"(8006)095201234567880102", "(8006)095201234567880302", ErrValue, "piece 3 of 2"},
		{"(8011)10", "(8011)010", ErrValue, "must not start with 0"},
		{"(7241)80", "(7241)11", ErrValue, "AIDC media type 11"},
		{"(4309)17999999993599999999", "(4309)18000000013599999999", ErrValue, "latitude"},
		{"(4309)00000000003600000000", "(4309)00000000003600000001", ErrValue, "longitude"},
		{"(7040)1AB_", "(7040)1AB.", ErrCharset, "importer index"},
		{"(8014)1234AG2", "(8014)100096", ErrValue, "not a digit"},
		{"(8007)DE91100000000123456789", "(8007)DE91100000000123456780", ErrCheckDigit, "IBAN check digits invalid"},
		{"(8007)GB98MIDL07009312345678", "(8007)XX98MIDL07009312345678", ErrValue, "not a valid IBAN"},
		{"(8007)GB98MIDL07009312345678", "(8007)GB98MIDL0700931234567a", ErrCharset, "not a valid IBAN"},
		{"(7250)19900101", "(7250)19900230", ErrDate, "not a valid date"}, // yyyymmdd, personal
		{"(7252)2", "(7252)3", ErrValue, "ISO/IEC 5218"},
		{"(7258)1/2", "(7258)3/2", ErrValue, "position is beyond the count"},
		{"(7258)2/2", "(7258)1-2", ErrSyntax, "like 1/3"},
		{"(7258)1/2", "(7258)0/2", ErrValue, "no leading zero"},
		{"(8110)106141416543213500110000310123196000", "(8110)10614141 65432135001100003101231960", ErrCharset, "not allowed"},
	} {
		if c, err := testParser.Any(gtin + tc.ok); err != nil {
			t.Errorf("%s: %v", tc.ok, err)
		} else if c.Elements[1].Value != tc.ok[strings.IndexByte(tc.ok, ')')+1:] {
			t.Errorf("%s: %+v", tc.ok, c.Elements)
		}
		_, err := testParser.Any(gtin + tc.bad)
		var e *Error
		if !errors.Is(err, tc.sentinel) || !errors.As(err, &e) || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%s: error %v, want %v saying %q", tc.bad, err, tc.sentinel, tc.reason)
			continue
		}
		if ai := tc.bad[1:strings.IndexByte(tc.bad, ')')]; e.AI != ai {
			t.Errorf("%s: error AI %q", tc.bad, e.AI)
		}
	}
	// Check characters: the example of GS1 General Specifications 7.9.5.
	if pair, ok := checkPair("1987654Ad4X4bL5ttr2310c"); !ok || string(pair[:]) != "2K" {
		t.Errorf("checkPair = %q %v", pair, ok)
	}
}

// TestPersonalNotQuoted checks that no message quotes the value of an AI
// that may identify a person, whatever check fails.
func TestPersonalNotQuoted(t *testing.T) {
	for _, in := range []string{
		"(8018)123456789012345678",     // check digit
		"(8017)12345678901234567X",     // character
		"(7250)19901332",               // month
		"(7250)19900230",               // day
		"(7251)199002281261",           // minute
		"(8007)DE91100000000123456780", // IBAN
		"(7252)7",
		"(7258)9/8",
		"(4301)JOHN%ZZDOE",
		"(4309)18000000013599999999",
		"(7253)" + strings.Repeat("DOE", 14),
	} {
		_, err := testParser.Any(in)
		if err == nil {
			t.Errorf("%s accepted", in)
			continue
		}
		v := in[strings.IndexByte(in, ')')+1:]
		msg := err.Error()
		for i := 0; i+3 <= len(v); i++ {
			if strings.Contains(msg, v[i:i+3]) && !strings.Contains(AITitle(in[1:strings.IndexByte(in, ')')]), v[i:i+3]) {
				t.Errorf("%s: message %q quotes %q", in, msg, v[i:i+3])
				break
			}
		}
	}
	// The same checks quote the value of an AI that is not personal.
	if _, err := testParser.Any("(00)095201234567891234"); err == nil || !strings.Contains(err.Error(), "095201234567891234 ends in 4") {
		t.Errorf("SSCC: %v", err)
	}
}

func TestPairingWarnings(t *testing.T) {
	c := mustScan(t, implant)
	if c.Warnings != nil {
		t.Errorf("implant: %v", c.Warnings)
	}
	// A label split over two symbols: the second holds lot and serial
	// without the GTIN. Both are read; each element names what it lacks.
	c = mustScan(t, "]C1"+"10LOT7\x1d21S0042")
	if c.Lot != "LOT7" || c.Serial != "S0042" || len(c.Warnings) != 2 {
		t.Fatalf("%+v", c)
	}
	w := c.Warnings[1]
	if w.Code != WarnPairing || w.AI != "21" || w.String() != "(21) SERIAL needs (01) GTIN, (03) MTO GTIN or (8006) ITIP in the same code" {
		t.Errorf("warning %+v", w)
	}
	// Exclusive AIs: one warning for the pair, whichever side finds it.
	c = mustScan(t, "]d2"+"0109520123456788"+"2559520123456788\x1d21A")
	if len(c.Warnings) != 1 || c.Warnings[0].AI != "01" || c.Warnings[0].Text != "(01) GTIN and (255) GCN may not be used together" {
		t.Errorf("%v", c.Warnings)
	}
	// Patterns: two net weights exclude each other, but an AI does not
	// exclude itself.
	c = mustScan(t, "]d2"+"0109520123456788"+"3102000100"+"3103000010")
	if len(c.Warnings) != 1 || c.Warnings[0].Text != "(3102) NET WEIGHT (kg) and (3103) NET WEIGHT (kg) may not be used together" {
		t.Errorf("%v", c.Warnings)
	}
	c = mustScan(t, "]d2"+"0109520123456788"+"3102000100"+"3102000100")
	if len(c.Warnings) != 0 {
		t.Errorf("repeated AI: %v", c.Warnings)
	}
	// A group: (250) needs (01) with (21).
	c = mustScan(t, "]d2"+"0109520123456788"+"250X")
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0].Text, "needs (01) GTIN with (21) SERIAL, (03) MTO GTIN with (21) SERIAL or (8006) ITIP with (21) SERIAL") {
		t.Errorf("%v", c.Warnings)
	}
	// The rules hold for Digital Link and the bracketed form too.
	for _, in := range []string{"https://a/8018/123456789012345675?7250=19900101&7252=1", "(7250)19900101(7252)1"} {
		c, err := testParser.Any(in)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, w := range c.Warnings {
			if strings.Contains(w.Text, "1990") {
				t.Errorf("%s: warning quotes a value: %v", in, w)
			}
			if w.AI == "7250" || w.AI == "7252" {
				n++
			}
		}
		if strings.HasPrefix(in, "(") != (n == 2) {
			t.Errorf("%s: warnings %v", in, c.Warnings)
		}
	}
	// Codes that are not GS1 carry no warnings.
	for _, in := range []string{"+A123BJC5D6E71G", "]E05391234567892", "]d1BADGE-7"} {
		if c := mustScan(t, in); c.Warnings != nil {
			t.Errorf("%s: %v", in, c.Warnings)
		}
	}
}

// TestPairingLinear checks that pairing rules stay linear on long codes.
func TestPairingLinear(t *testing.T) {
	var b strings.Builder
	b.WriteString("]d2")
	for i := 0; i < 20000; i++ {
		b.WriteString("10a\x1d3102000100" + "3103000010")
	}
	c := mustScan(t, b.String())
	if len(c.Elements) != 60000 {
		t.Fatalf("%d elements", len(c.Elements))
	}
	if len(c.Warnings) != 4 {
		t.Errorf("warnings %v", c.Warnings)
	}
	// The long path and the short one agree.
	short := pairingWarnings(c.Elements[:3])
	long := pairingWarnings(append(c.Elements[:3:3], c.Elements[:shortCode]...))
	if len(short) != 4 || len(long) != 4 {
		t.Fatalf("short %v long %v", short, long)
	}
	for i := range short {
		if short[i] != long[i] {
			t.Errorf("short %v long %v", short[i], long[i])
		}
	}
}
