package code

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
)

type maVector struct {
	Input            string   `json:"input"`
	Source           string   `json:"source"`
	Key              string   `json:"key"`
	Registrant       string   `json:"registrant"`
	PackagingLevel   string   `json:"packaging_level"`
	Category         string   `json:"category"`
	DICheckOK        bool     `json:"di_check_ok"`
	PICheck          string   `json:"pi_check"`
	PICheckOK        bool     `json:"pi_check_ok"`
	Serial           string   `json:"serial"`
	Lot              string   `json:"lot"`
	SterilisationLot string   `json:"sterilisation_lot"`
	Production       string   `json:"production"`
	ExpiryDate       string   `json:"expiry_date"`
	ValidUntil       string   `json:"valid_until"`
	Expiry           string   `json:"expiry"`
	Warnings         []string `json:"warnings"`
	Error            string   `json:"error"`
	ErrorPos         int      `json:"error_pos"`
}

type ahmVector struct {
	Input          string `json:"input"`
	DI             string `json:"di"`
	Lot            string `json:"lot"`
	Serial         string `json:"serial"`
	Production     string `json:"production"`
	Expiry         string `json:"expiry"`
	PackagingLevel string `json:"packaging_level"`
}

type maFile struct {
	Meta struct {
		Sources map[string]string `json:"sources"`
	} `json:"_meta"`
	MA  []maVector  `json:"ma"`
	AHM []ahmVector `json:"ahm"`
}

// loadMA reads testdata/ma-vectors.json: the MA vectors of CHINA.md and
// the public sources it names, each with its source.
func loadMA(t testing.TB) maFile {
	t.Helper()
	b, err := os.ReadFile("testdata/ma-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f maFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.MA) == 0 || len(f.AHM) == 0 {
		t.Fatal("ma-vectors.json: a section is empty")
	}
	for _, v := range f.MA {
		if f.Meta.Sources[v.Source] == "" {
			t.Fatalf("vector %q cites no known source", v.Input)
		}
	}
	return f
}

// checkMA compares c with the vector v.
func checkMA(t *testing.T, v maVector, c *Code) {
	t.Helper()
	m := c.MA
	if c.Kind != KindMA || m == nil {
		t.Fatalf("kind %v, MA %v", c.Kind, m)
	}
	got := map[string]string{
		"key": c.Key(), "registrant": m.Registrant, "packaging level": string(m.PackagingLevel), "category": m.Category,
		"serial": c.Serial, "lot": c.Lot, "sterilisation lot": m.SterilisationLot, "production": c.Production.String(),
		"expiry date": m.ExpiryDate.String(), "valid until": m.ValidUntil.String(), "expiry": c.Expiry.String(),
	}
	want := map[string]string{
		"key": v.Key, "registrant": v.Registrant, "packaging level": v.PackagingLevel, "category": v.Category,
		"serial": v.Serial, "lot": v.Lot, "sterilisation lot": v.SterilisationLot, "production": v.Production,
		"expiry date": v.ExpiryDate, "valid until": v.ValidUntil, "expiry": v.Expiry,
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %q, want %q", k, got[k], w)
		}
	}
	if m.DICheckOK != v.DICheckOK || m.PICheckOK != v.PICheckOK || (v.PICheck != "" && string(m.PICheck) != v.PICheck) {
		t.Errorf("DI check ok %v, PI check %q ok %v; want %v, %q %v", m.DICheckOK, m.PICheck, m.PICheckOK, v.DICheckOK, v.PICheck, v.PICheckOK)
	}
	var parts []string
	for _, w := range c.Warnings {
		if w.Code != WarnMACheck {
			t.Errorf("warning %+v is not %s", w, WarnMACheck)
		}
		parts = append(parts, w.AI)
	}
	if !slices.Equal(parts, v.Warnings) {
		t.Errorf("warnings about %v, want %v (%v)", parts, v.Warnings, c.Warnings)
	}
	if !strings.HasPrefix(c.Key(), m.DI) || !strings.HasPrefix(v.Input, m.DI) && m.Form == MAFormDotted {
		t.Errorf("DI %q", m.DI)
	}
}

// TestMAVectors reads the vectors of CHINA.md and the public sources it
// cites (testdata/ma-vectors.json): parts, units, checks, dates, keys.
func TestMAVectors(t *testing.T) {
	for _, v := range loadMA(t).MA {
		t.Run(v.Input, func(t *testing.T) {
			c, err := testParser.Scan([]byte("]Q1" + v.Input))
			if v.Error != "" {
				e := wantError(t, err, v.Error)
				if e.AI != v.Error || e.Pos != 3+v.ErrorPos {
					t.Errorf("error AI %q at %d, want %q at %d", e.AI, e.Pos, v.Error, 3+v.ErrorPos)
				}
				return
			}
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			checkMA(t, v, c)
			if c.HRI() != v.Input || c.Data != v.Input || c.MA.Form != MAFormDotted || c.SymbologyName != "QR Code" {
				t.Errorf("HRI %q data %q form %q symbology %q", c.HRI(), c.Data, c.MA.Form, c.SymbologyName)
			}
		})
	}
}

// TestMACheck: the check characters of CHINA.md's vectors, over the DI
// without its last character and over the PI before C.
func TestMACheck(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want byte
	}{
		{"MA.156.M0.100032.0000248", '4'},
		{"MA.156.M0.100032.1000248", '3'},
		{"MA.156.M0.100350.01004YA1001", '7'},
		{".SLMSAGAAAC.M210628.LAY21062803.E220628.V220627", '3'},
		{"MA.156.M0.100011.2cscp02", '3'}, // lower case: a-g and h-z
		{".Ste002.M200206.L343432.D555555.E200228.V200307", '9'},
		{"MA.156.M0.100472.1110331", '6'},
		{".S1576130942.P190101.LABS20191201.E191201", '8'},
	} {
		got, err := MACheck(tc.s)
		if err != nil || got != tc.want {
			t.Errorf("MACheck(%q) = %q, %v; want %q", tc.s, got, err, tc.want)
		}
	}
	// Every character of the set has its own value: changing one changes
	// the check unless the values' digit sums agree, and no two adjacent
	// values collide (h follows g with a gap of 2).
	g, _ := MACheck("MA.156.M0.100032.0000g48")
	h, _ := MACheck("MA.156.M0.100032.0000h48")
	if g == h {
		t.Errorf("g and h give the same check %q", g)
	}
	_, err := MACheck("MA.156 M0")
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrCharset) || e.Pos != 6 {
		t.Errorf("space: %v", err)
	}
	if _, err := MACheck(""); !errors.Is(err, ErrSyntax) {
		t.Errorf("empty: %v", err)
	}
}

// maXML writes c as the XML form.
func maXML(c *Code) string {
	var b strings.Builder
	b.WriteString(`<UDI IAC="MA"><DI>` + c.MA.DI + `</DI>`)
	names := map[string]string{"S": "SN", "M": "MFG", "P": "MFG", "L": "LOT", "E": "EXP", "V": "VAL"}
	for _, u := range c.MA.Units {
		if n := names[u.ID]; n != "" {
			b.WriteString("<" + n + ">" + u.Value + "</" + n + ">")
		}
	}
	b.WriteString("</UDI>")
	return b.String()
}

// TestMAForms: the XML form and a URL wrapping the dotted form give the
// key and fields of the dotted form.
func TestMAForms(t *testing.T) {
	const dotted = "MA.156.M0.100350.01004YA10017.SLMSAGAAAC.M210628.LAY21062803.E220628.V220627.C3"
	d := mustScan(t, dotted)
	for _, tc := range []struct{ in, form string }{
		{`<UDI IAC="MA"><DI>MA.156.M0.100350.01004YA10017</DI><SN>LMSAGAAAC</SN><MFG>210628</MFG><LOT>AY21062803</LOT><EXP>220628</EXP><VAL>220627</VAL></UDI>`, MAFormXML},
		{"]Q1<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<UDI IAC='MA'>\n  <DI> MA.156.M0.100350.01004YA10017 </DI>\n  <SN>LMSAGAAAC</SN><LOT>AY21062803</LOT>\n  <MFG>210628</MFG><VAL>220627</VAL><EXP>220628</EXP><SN></SN>\n</UDI>\n<!-- printed -->", MAFormXML},
		{"http://www.example.cn/udi?t=1&code=" + dotted, MAFormURL},
		{"]Q1HTTPS://udi.example.cn/s?c=" + strings.ReplaceAll(dotted, ".", "%2E"), MAFormURL},
	} {
		c := mustScan(t, tc.in)
		if c.Kind != KindMA || c.MA.Form != tc.form {
			t.Fatalf("%q: kind %v form %+v", tc.in, c.Kind, c.MA)
		}
		if c.Key() != d.Key() || c.Lot != d.Lot || c.Expiry != d.Expiry || c.Production != d.Production || c.MA.ExpiryDate != d.MA.ExpiryDate {
			t.Errorf("%q: key %q lot %q expiry %v production %v; want those of the dotted form", tc.in, c.Key(), c.Lot, c.Expiry, c.Production)
		}
		if c.Data != strings.TrimPrefix(tc.in, "]Q1") {
			t.Errorf("%q: data %q: the code as read is kept", tc.in, c.Data)
		}
	}
	if x := mustScan(t, maXML(d)); x.Key() != d.Key() || x.HRI() != strings.TrimSuffix(dotted, ".C3") {
		t.Errorf("XML of the dotted form: key %q HRI %q", x.Key(), x.HRI())
	}
	// An element the package does not know is kept, not guessed.
	x := mustScan(t, `<UDI IAC="MA"><DI>MA.156.M0.100032.00002484</DI><STE>D7</STE></UDI>`)
	if x.MA.SterilisationLot != "" || len(x.MA.Units) != 1 || x.MA.Units[0] != (MAUnit{ID: "STE", Value: "D7"}) || x.HRI() != "MA.156.M0.100032.00002484" {
		t.Errorf("unknown element: %+v", x.MA)
	}
	// Other XML, other issuing agencies, other URLs: plain codes.
	for _, in := range []string{
		`<UDI IAC="GS1"><DI>01</DI></UDI>`, `<?xml version="1.0"?><patient id="7"/>`, `<UDI>`, `<UDIX IAC="MA"/>`,
		"https://example.cn/badge?id=4711", "https://example.cn/x?c=MA.15.M0", "MA.1560.M0.100032.00002484",
	} {
		if c := mustScan(t, in); c.Kind != KindPlain || c.MA != nil || c.Key() != "" {
			t.Errorf("%q: kind %v key %q, want plain", in, c.Kind, c.Key())
		}
	}
}

// TestMAErrors: a code that clearly is MA and is malformed is an error
// naming the part, at the byte.
func TestMAErrors(t *testing.T) {
	const di = "MA.156.M0.100032.00002484"
	for _, tc := range []struct {
		in       string
		sentinel error
		ai       string
		pos      int
		text     string
	}{
		{"MA.156.M0.100032", ErrTruncated, "MA DI", 0, "has 4 parts"},
		{"MA.156.M0..00002484", ErrSyntax, "MA DI", 10, "part 4 is empty"},
		{"MA.156.M1.100032.00002484", ErrValue, "MA industry", 7, "not M0"},
		{"MA.156.M0.1000321.00002484", ErrSyntax, "MA registrant", 10, "6 digits"},
		{"MA.156.M0.100032.0000244", ErrSyntax, "MA category", 17, "7 characters, 8 to 12"},
		{"MA.156.M0.100032.0000-484", ErrCharset, "MA category", 21, "only letters and digits"},
		{di + ".S12 34", ErrCharset, "MA", 29, "not in the MA character set"},
		{"]Q1" + di + ".S1\x1d", ErrCharset, "MA", 31, "GS (0x1D)"},
		{di + ".S1..L2", ErrSyntax, "MA", 29, "empty PI unit"},
		{di + ".S1.", ErrSyntax, "MA", 29, "empty PI unit"},
		{di + ".s1", ErrSyntax, "MA", 26, "capital letter"},
		{di + ".L", ErrSyntax, "MA lot", 26, "no value"},
		{di + ".C3.S1", ErrSyntax, "MA PI check", 26, "must be the last"},
		{di + ".S1.C33", ErrSyntax, "MA PI check", 30, "one digit"},
		{di + ".E221301", ErrDate, "MA expiry date", 29, "month 13"},
		{di + ".V2202", ErrSyntax, "MA valid-until date", 27, "YYMMDD or YYYYMMDD"},
		{di + ".M2202A1", ErrCharset, "MA production date", 31, "not a digit"},
		{di + ".E220200", ErrDate, "MA expiry date", 31, "day 00"},
		{di + ".S1.S2", ErrSyntax, "MA serial", 30, "twice"},
		{di + ".M220101.P220102", ErrSyntax, "MA production date", 35, "twice"},
		{`<UDI IAC="MA"><SN>1</SN></UDI>`, ErrTruncated, "MA XML", 30, "no <DI>"},
		{`<UDI IAC="MA"><DI>MA.156.M0.100032.00002484<X/></DI></UDI>`, ErrSyntax, "MA XML", 18, "holds another element"},
		{`<UDI IAC="MA"><DI>` + di + `</DI></UDI><X/>`, ErrSyntax, "MA XML", 54, "after </UDI>"},
		{`<UDI IAC="MA"><DI>` + di + `</DI>`, ErrSyntax, "MA XML", 48, "ends before"},
		{`<UDI IAC="MA"><DI>` + di + `</D>`, ErrSyntax, "MA XML", 43, "malformed"},
		{`<UDI IAC="MA">7<DI>` + di + `</DI></UDI>`, ErrSyntax, "MA XML", 14, "text directly"},
		{`<UDI IAC="MA"><DI>GS1</DI></UDI>`, ErrSyntax, "MA DI", 18, "must start with MA."},
		{`<UDI IAC="MA"><DI>` + di + `</DI><LOT>A B</LOT></UDI>`, ErrCharset, "MA <LOT>", 54, "' ' (space)"},
		{`<UDI IAC="MA"><DI>` + di + `</DI><EXP>221301</EXP></UDI>`, ErrDate, "MA expiry date", 55, "month 13"},
		{`<UDI IAC="MA"><DI>` + di + `</DI><SN>1</SN><SN>2</SN></UDI>`, ErrSyntax, "MA serial", 62, "twice"},
		{"https://x.cn/?c=" + di + ".S%2", ErrSyntax, "MA", 43, "percent-escape"},
		{"https://x.cn/?c=" + di + ".E221301", ErrDate, "MA expiry date", 45, "month 13"},
		{"https://x.cn/?c=MA%2E156.M0", ErrTruncated, "MA DI", 16, "parts"},
	} {
		e := scanErr(t, tc.in, tc.sentinel, tc.ai)
		if e.Pos != tc.pos || !strings.Contains(e.Error(), tc.text) {
			t.Errorf("%q: %q at %d, want %q at %d", tc.in, e.Error(), e.Pos, tc.text, tc.pos)
		}
	}
}

// TestMAExpiry: the expiry the checks use is the last day of use: V, or
// the day before E (V is the day before E on the codes the generator
// makes), whichever is earlier.
func TestMAExpiry(t *testing.T) {
	const di = "MA.156.M0.100032.00002484.S1"
	for _, tc := range []struct{ pi, want string }{
		{".V220627", "2022-06-27"},
		{".E220628", "2022-06-27"},
		{".E220301", "2022-02-28"},
		{".E240301", "2024-02-29"},
		{".E20230101", "2022-12-31"},
		{".E220628.V220627", "2022-06-27"},
		{".E220628.V220601", "2022-06-01"},
		{".V220701.E220628", "2022-06-27"},
		{".M210628", ""},
	} {
		c := mustScan(t, di+tc.pi)
		if c.Expiry.String() != tc.want || (tc.want != "" && c.Expiry.Hour != -1) {
			t.Errorf("%s: expiry %v, want %s", tc.pi, c.Expiry, tc.want)
		}
	}
}

// TestMAKey: the item key mirrors GS1's: DI + serial, else DI + lot, else
// the DI; it reads back as itself, and cannot be a GS1 or HIBC key.
func TestMAKey(t *testing.T) {
	for _, tc := range []struct{ in, key string }{
		{"MA.156.M0.100032.00002484.M220101.L7.S9", "MA.156.M0.100032.00002484.S9"},
		{"MA.156.M0.100032.00002484.L7.E230101", "MA.156.M0.100032.00002484.L7"},
		{"MA.156.M0.100032.00002484.D5", "MA.156.M0.100032.00002484"},
	} {
		c := mustScan(t, tc.in)
		if c.Key() != tc.key {
			t.Errorf("%s: key %q, want %q", tc.in, c.Key(), tc.key)
		}
		r, err := Any(c.Key())
		if err != nil || r.Key() != c.Key() || r.Kind != KindMA {
			t.Errorf("key %q reads back as %v %q, %v", c.Key(), r.Kind, r.Key(), err)
		}
		if k := c.Key(); k[0] == '(' || k[0] == '+' {
			t.Errorf("key %q looks like a GS1 or HIBC key", k)
		}
	}
	lot := mustScan(t, "MA.156.M0.100032.00002484.L7")
	err := lot.RequireSerial()
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrMissingSerial) || e.AI != "MA" || !strings.Contains(err.Error(), "unit S") {
		t.Errorf("RequireSerial of a lot-only MA code: %v", err)
	}
	if err := mustScan(t, "MA.156.M0.100032.00002484.L7.S1").RequireSerial(); err != nil {
		t.Errorf("RequireSerial of a serialised MA code: %v", err)
	}
	if !lot.IsItem() || lot.Serialised() || lot.ElementString() != "" || lot.GTIN != "" {
		t.Errorf("IsItem %v Serialised %v ElementString %q GTIN %q", lot.IsItem(), lot.Serialised(), lot.ElementString(), lot.GTIN)
	}
}

// TestAHM: an AHM code is recognised by the only public description,
// kept as read (its key is the code), flagged unverified, never refused;
// its fields are shown, not acted on.
func TestAHM(t *testing.T) {
	for _, v := range loadMA(t).AHM {
		c := mustScan(t, "]Q1"+v.Input)
		a := c.AHM
		if c.Kind != KindAHM || a == nil || c.Key() != v.Input || c.HRI() != v.Input || !c.IsItem() {
			t.Fatalf("%q: kind %v key %q", v.Input, c.Kind, c.Key())
		}
		got := [...]string{a.DI, a.Lot, a.Serial, a.Production, a.Expiry, a.PackagingLevel, a.Rest}
		want := [...]string{v.DI, v.Lot, v.Serial, v.Production, v.Expiry, v.PackagingLevel, ""}
		if got != want {
			t.Errorf("%q: fields %q, want %q", v.Input, got, want)
		}
		if c.Serial != "" || c.Lot != "" || !c.Expiry.IsZero() || c.RequireSerial() != nil {
			t.Errorf("%q: unverified fields reached the item fields: %+v", v.Input, c)
		}
		if len(c.Warnings) != 1 || c.Warnings[0].Code != WarnAHMUnverified {
			t.Errorf("%q: warnings %v", v.Input, c.Warnings)
		}
	}
	// What the reading cannot place is kept in Rest; BN is the lot too.
	c := mustScan(t, "MFABC123BN7*XX9")
	if c.Kind != KindAHM || c.AHM.DI != "ABC123" || c.AHM.Lot != "7" || c.AHM.Rest != "XX9" || c.Key() != "MFABC123BN7*XX9" {
		t.Errorf("partial reading: %v %+v", c.Kind, c.AHM)
	}
	c = mustScan(t, "MF1MD2201")
	if c.Kind != KindAHM || c.AHM.Production != "" || c.AHM.Rest != "MD2201" {
		t.Errorf("short date: %+v", c.AHM)
	}
	// Not AHM: no field after the DI, a DI longer than 13, a space, a
	// non-alphanumeric DI.
	for _, in := range []string{"MF12345", "MF12345678901234BA1", "MF123 BA1", "MF-12BA1", "MFBA", "]C0MF"} {
		if c := mustScan(t, in); c.Kind != KindPlain || c.Key() != "" {
			t.Errorf("%q: kind %v, want plain", in, c.Kind)
		}
	}
}

// TestSplitKey: every consumer reads product, serial and lot of a key
// here; it agrees with the code the key came from, for every kind.
func TestSplitKey(t *testing.T) {
	for _, tc := range []struct {
		key                  string
		kind                 Kind
		product, serial, lot string
		unit                 bool
	}{
		{"(01)09520123456788(21)00042", KindGS1, "09520123456788", "00042", "", true},
		{"(01)09520123456788(10)21A-77", KindGS1, "09520123456788", "", "21A-77", false},
		{"(01)09520123456788", KindGS1, "09520123456788", "", "", false},
		{"+A123BJC5D6E71/SSN1234", KindHIBC, "+A123BJC5D6E71", "SN1234", "", true},
		{"+A123BJC5D6E71/$LOT9", KindHIBC, "+A123BJC5D6E71", "", "LOT9", false},
		{"+A123BJC5D6E71", KindHIBC, "+A123BJC5D6E71", "", "", false},
		{"MA.156.M0.100032.00002484.SX.1", KindMA, "MA.156.M0.100032.00002484", "X.1", "", true},
		{"MA.156.M0.100032.00002484.LAY2", KindMA, "MA.156.M0.100032.00002484", "", "AY2", false},
		{"MA.156.M0.100032.00002484", KindMA, "MA.156.M0.100032.00002484", "", "", false},
		{"MF6901234567890BA1*SN2", KindAHM, "", "", "", true},
		{"urn:epc:raw:96.xE2801170", KindPlain, "", "", "", true},
		{"", KindPlain, "", "", "", false},
	} {
		k := SplitKey(tc.key)
		if k.Key != tc.key || k.Kind != tc.kind || k.Product != tc.product || k.Serial != tc.serial || k.Lot != tc.lot || k.Unit() != tc.unit {
			t.Errorf("SplitKey(%q) = %+v unit %v", tc.key, k, k.Unit())
		}
	}
	ins := []string{implant, "]d20109520123456788172605311021A-77", "+A99912345/$$52001510X3/16D20111212/S77DEFG457"}
	for _, v := range loadMA(t).MA {
		if v.Error == "" {
			ins = append(ins, v.Input)
		}
	}
	for _, in := range ins {
		c := mustScan(t, in)
		k := SplitKey(c.Key())
		product := c.GTIN
		switch c.Kind {
		case KindHIBC:
			product = "+" + c.HIBC.Labeler + c.HIBC.Product + string(c.HIBC.UnitOfMeasure)
		case KindMA:
			product = c.MA.DI
		}
		lot := c.Lot
		if c.Serial != "" {
			lot = ""
		}
		if k.Product != product || k.Serial != c.Serial || k.Lot != lot || k.Unit() != c.Serialised() {
			t.Errorf("%q: SplitKey(%q) = %+v; the code says %q %q %q", in, c.Key(), k, product, c.Serial, lot)
		}
	}
}

// TestMAAndOthersApart: no routing change for the codes read before MA
// and AHM existed.
func TestMAAndOthersApart(t *testing.T) {
	for _, tc := range []struct {
		in   string
		kind Kind
	}{
		{implant, KindGS1},
		{"+A123BJC5D6E71G", KindHIBC},
		{"https://id.example/01/9520123456788/21/X?c=MA.156.M0.100032.00002484", KindDigitalLink},
		{"]C0MA-7", KindPlain},
		{"MA.WARD7", KindPlain},
		{"]d1BADGE-7", KindPlain},
	} {
		if c := mustScan(t, tc.in); c.Kind != tc.kind {
			t.Errorf("%q: kind %v, want %v", tc.in, c.Kind, tc.kind)
		}
	}
}
