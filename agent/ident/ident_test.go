package ident

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/agent/code"
	"github.com/udi-edge/udi-edge/agent/epc"
)

// The shared vectors (testdata/vectors/codes.json at the module root); each
// entry names its public source.
const codesPath = "../../testdata/vectors/codes.json"

type vectors struct {
	GS1 []struct {
		Input    string      `json:"input"`
		Elements [][2]string `json:"expected_elements"`
		Valid    *bool       `json:"expected_valid"`
	} `json:"gs1"`
	DL []struct {
		Input    string      `json:"input"`
		Elements [][2]string `json:"expected_elements"`
	} `json:"gs1_digital_link"`
	HIBC []struct {
		Input   string            `json:"input"`
		Caption string            `json:"input_symbol_caption"`
		Kind    string            `json:"kind"`
		Fields  map[string]string `json:"-"`
		Raw     json.RawMessage   `json:"expected_fields"`
		Valid   *bool             `json:"expected_valid"`
	} `json:"hibc"`
	SGTIN96  []sgtinVector `json:"sgtin96"`
	SGTIN198 []sgtinVector `json:"sgtin198"`
	Check    []struct {
		Full string `json:"full"`
	} `json:"check_digits"`
}

type sgtinVector struct {
	Hex      string `json:"input_hex"`
	PC       string `json:"pc_word"`
	Expected struct {
		Filter        int    `json:"filter"`
		CompanyPrefix string `json:"company_prefix"`
		ItemRef       string `json:"indicator_item_ref"`
		Serial        string `json:"serial"`
		GTIN          string `json:"gtin"`
		PureURI       string `json:"pure_identity_uri"`
		TagURI        string `json:"tag_uri"`
	} `json:"expected"`
}

func loadVectors(t testing.TB) vectors {
	t.Helper()
	raw, err := os.ReadFile(filepath.FromSlash(codesPath))
	if err != nil {
		t.Fatalf("read vectors: %v", err)
	}
	var v vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("parse %s: %v", codesPath, err)
	}
	for i := range v.HIBC {
		// expected_fields mixes strings and numbers; keep the strings.
		var m map[string]any
		_ = json.Unmarshal(v.HIBC[i].Raw, &m)
		v.HIBC[i].Fields = map[string]string{}
		for k, x := range m {
			if s, ok := x.(string); ok {
				v.HIBC[i].Fields[k] = s
			}
		}
	}
	if len(v.GS1) == 0 || len(v.DL) == 0 || len(v.HIBC) == 0 || len(v.SGTIN96) == 0 || len(v.SGTIN198) == 0 || len(v.Check) == 0 {
		t.Fatalf("%s: a section is empty", codesPath)
	}
	return v
}

// want is what a text must read as.
type want struct {
	kind   Kind
	key    string   // "" for a code that names no item
	prefix bool     // TraceKey's prefix
	alts   []string // keys of the further candidates, in order
}

// check parses in and compares with w.
func check(t *testing.T, in string, w want) {
	t.Helper()
	c, err := Parse(in)
	if err != nil {
		t.Errorf("Parse(%q): %v", in, err)
		return
	}
	if c.Kind != w.kind {
		t.Errorf("Parse(%q).Kind = %v, want %v", in, c.Kind, w.kind)
	}
	if got := c.Key(); got != w.key {
		t.Errorf("Parse(%q).Key() = %q, want %q", in, got, w.key)
	}
	key, prefix, err := c.TraceKey()
	switch {
	case w.key == "" && !errors.Is(err, ErrNotItem):
		t.Errorf("Parse(%q).TraceKey() error = %v, want ErrNotItem", in, err)
	case w.key != "" && (err != nil || key != w.key || prefix != w.prefix):
		t.Errorf("Parse(%q).TraceKey() = %q, %v, %v; want %q, %v", in, key, prefix, err, w.key, w.prefix)
	}
	var alts []string
	for _, x := range c.Candidates()[1:] {
		alts = append(alts, x.Key())
	}
	if !slices.Equal(alts, w.alts) {
		t.Errorf("Parse(%q) further candidates %q, want %q", in, alts, w.alts)
	}
	if c.Ambiguous() != (len(w.alts) > 0) {
		t.Errorf("Parse(%q).Ambiguous() = %v", in, c.Ambiguous())
	}
}

const (
	gtin     = "09520123456788" // GS1 Digital Link specification example
	sgtinKey = "(01)80614141123458(21)6789"
	tdsHex   = "3074257BF7194E4000001A85" // TDS Annex E SGTIN-96
	rawEPC   = "E2801160AABBCCDDEEFF0011" // a tag whose EPC is not an SGTIN (TID-like header E2)
)

// TestParseForms reads every form the package doc lists, with the key and
// prefix each names. The rows marked "failed before" were refused or
// misread by udi-edge decode and trace before this package.
func TestParseForms(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want want
	}{
		// Barcode forms.
		{"scan, GS byte", "]d201" + gtin + "17260531\x1d21SN1", want{kind: KindGS1, key: "(01)" + gtin + "(21)SN1"}},
		{"scan, GS written \\x1d", `]d201` + gtin + `10LOT7\x1d21SN1`, want{kind: KindGS1, key: "(01)" + gtin + "(21)SN1"}},
		{"scan, GS written <GS>", "]C101" + gtin + "10LOT7<GS>17260531", want{kind: KindGS1, key: "(01)" + gtin + "(10)LOT7"}},
		{"HRI", "(01)" + gtin + "(17)260531(10)A1(21)00042", want{kind: KindGS1, key: "(01)" + gtin + "(21)00042"}},
		{"HRI with spaces", "  (01) " + gtin + " (21) 00042 \r\n", want{kind: KindGS1, key: "(01)" + gtin + "(21)00042"}},
		{"HRI, lot only", "(01)" + gtin + "(10)A1", want{kind: KindGS1, key: "(01)" + gtin + "(10)A1"}},
		{"HRI, GTIN only", "(01)" + gtin, want{kind: KindGS1, key: "(01)" + gtin, prefix: true}},
		{"Digital Link", "https://id.gs1.org/01/" + gtin + "/21/SN%2F1", want{kind: KindGS1, key: "(01)" + gtin + "(21)SN/1"}},
		{"GTIN-14", gtin, want{kind: KindGS1, key: "(01)" + gtin, prefix: true}},
		{"GTIN-13", "5391234567892", want{kind: KindGS1, key: "(01)05391234567892", prefix: true}},
		// GTIN-12 and -8 are also whole 16-bit words of hex: GS1 first,
		// the EPC a candidate (rule 3).
		{"GTIN-12 (UPC-A)", "036000291452", want{kind: KindGS1, key: "(01)00036000291452", prefix: true,
			alts: []string{"urn:epc:raw:48.x036000291452"}}},
		{"GTIN-8 (EAN-8)", "96385074", want{kind: KindGS1, key: "(01)00000096385074", prefix: true,
			alts: []string{"urn:epc:raw:32.x96385074"}}},
		{"element string without AIM, all digits", "01" + gtin + "21000042", want{kind: KindGS1, key: "(01)" + gtin + "(21)000042",
			alts: []string{"urn:epc:raw:96.x01" + gtin + "21000042"}}},
		{"HIBC primary", "+A123BJC5D6E71G", want{kind: KindHIBC, key: "+A123BJC5D6E71", prefix: true}},
		{"HIBC Code 39 caption", "*+A123BJC5D6E71G*", want{kind: KindHIBC, key: "+A123BJC5D6E71", prefix: true}},
		{"HIBC with AIM", "]A0+A123BJC5D6E71G", want{kind: KindHIBC, key: "+A123BJC5D6E71", prefix: true}},
		{"HIBC concatenated, lot", "+A99912345/$$52001510X33", want{kind: KindHIBC, key: "+A99912345/$10X3"}},
		{"HIBC concatenated, serial", "+J123AQ3451/$$3231231BC34567/S4012R", want{kind: KindHIBC, key: "+J123AQ3451/S4012"}},
		{"HIBC secondary alone", "+$A1234GU", want{kind: KindHIBC}},
		{"HIBC provider code", "+/EO5232013", want{kind: KindPlain}},
		{"plain", "PATIENT-0042", want{kind: KindPlain}},
		{"plain, short hex", "ABCDEF", want{kind: KindPlain}},
		{"plain, long digits of no EPC length", "110105194912310021", want{kind: KindPlain}},

		// Item keys as the agent prints them.
		{"GS1 key", "(01)" + gtin + "(21)00042", want{kind: KindGS1, key: "(01)" + gtin + "(21)00042"}},
		{"GS1 key, serial with brackets", "(01)" + gtin + "(21)AB(1)C", want{kind: KindGS1, key: "(01)" + gtin + "(21)AB(1)C"}},
		{"GS1 key, serial the HRI cannot hold", "(01)" + gtin + "(21)X(12)C", want{kind: KindItemKey, key: "(01)" + gtin + "(21)X(12)C"}},
		{"HIBC key, serial (failed before)", "+A99912345/SHS0001", want{kind: KindItemKey, key: "+A99912345/SHS0001"}},
		{"HIBC key, lot (failed before)", "+A99912345/$10X3", want{kind: KindItemKey, key: "+A99912345/$10X3"}},
		{"HIBC key, product (failed before)", "+A99912345", want{kind: KindItemKey, key: "+A99912345", prefix: true}},
		{"raw tag key (failed before)", "urn:epc:raw:96.x" + rawEPC, want{kind: KindRawEPC, key: "urn:epc:raw:96.x" + rawEPC}},
		{"raw tag key, lower case", "URN:EPC:RAW:96.x" + strings.ToLower(rawEPC), want{kind: KindRawEPC, key: "urn:epc:raw:96.x" + rawEPC}},
		{"raw tag key with AFI (failed before)", "urn:epc:raw:96.xA2.x" + tdsHex, want{kind: KindRawEPC, key: "urn:epc:raw:96.xA2.x" + tdsHex}},
		{"raw URI of an SGTIN", "urn:epc:raw:96.x" + tdsHex, want{kind: KindSGTIN, key: sgtinKey}},

		// EPC in hex.
		{"SGTIN-96 hex", tdsHex, want{kind: KindSGTIN, key: sgtinKey}},
		{"SGTIN-96 hex, lower case, 0x", "0x" + strings.ToLower(tdsHex), want{kind: KindSGTIN, key: sgtinKey}},
		{"SGTIN-96 hex with PC word", "3000" + tdsHex, want{kind: KindSGTIN, key: sgtinKey}},
		{"SGTIN-96 hex with PC word, separated", "30 00 30-74-25-7B:F7:19 4E4000001A85", want{kind: KindSGTIN, key: sgtinKey}},
		{"raw EPC hex", rawEPC, want{kind: KindRawEPC, key: "urn:epc:raw:96.x" + rawEPC}},
		// The PC toggle says ISO: no SGTIN, so the bare reading stays a
		// candidate (rule 4).
		{"raw EPC hex with PC toggle", "3100" + tdsHex, want{kind: KindRawEPC, key: "urn:epc:raw:96.x00.x" + tdsHex,
			alts: []string{"urn:epc:raw:112.x3100" + tdsHex}}},
		{"32-bit EPC hex (failed before)", "E2801160", want{kind: KindRawEPC, key: "urn:epc:raw:32.xE2801160"}},
		{"32-bit EPC of digits with its PC word", "1000 12345678", want{kind: KindRawEPC, key: "urn:epc:raw:32.x12345678",
			alts: []string{"urn:epc:raw:48.x100012345678"}}},
		{"128-bit EPC hex", "E2801160AABBCCDDEEFF001122334455", want{kind: KindRawEPC, key: "urn:epc:raw:128.xE2801160AABBCCDDEEFF001122334455"}},
		// A 96-bit EPC with header 2C (GDTI-96) starts like a PC word for
		// 80 bits: both readings, the PC one first (rule 4).
		{"96-bit EPC whose first word is also a PC word", "2C00" + rawEPC[4:], want{kind: KindRawEPC,
			key: "urn:epc:raw:80.x" + rawEPC[4:], alts: []string{"urn:epc:raw:96.x2C00" + rawEPC[4:]}}},
		{"SGTIN-198, 50 hex digits (failed before)", "3674257BF6B7A659B2C2BF1000000000000000000000000000", want{kind: KindSGTIN, key: "(01)70614141123451(21)32a/b"}},
		{"SGTIN-198, 52 hex digits", "3674257BF6B7A659B2C2BF100000000000000000000000000000", want{kind: KindSGTIN, key: "(01)70614141123451(21)32a/b"}},
		{"SGTIN-198, PC word and 52 hex digits", "68003674257BF6B7A659B2C2BF100000000000000000000000000000", want{kind: KindSGTIN, key: "(01)70614141123451(21)32a/b"}},
		{"SGTIN-198, PC word and 50 hex digits", "6800 3674257BF6B7A659B2C2BF1000000000000000000000000000", want{kind: KindSGTIN, key: "(01)70614141123451(21)32a/b"}},

		// EPC URIs.
		{"pure-identity URI", "urn:epc:id:sgtin:0614141.812345.6789", want{kind: KindSGTIN, key: sgtinKey}},
		{"pure-identity URI, upper-case head", "URN:EPC:ID:SGTIN:0614141.812345.6789", want{kind: KindSGTIN, key: sgtinKey}},
		{"tag URI SGTIN-96", "urn:epc:tag:sgtin-96:3.0614141.812345.6789", want{kind: KindSGTIN, key: sgtinKey}},
		{"tag URI SGTIN-198", "urn:epc:tag:sgtin-198:3.0614141.712345.32a%2Fb", want{kind: KindSGTIN, key: "(01)70614141123451(21)32a/b"}},
		{"tag URI with control field", "urn:epc:tag:[umi=1]sgtin-96:3.0614141.812345.6789", want{kind: KindSGTIN, key: sgtinKey}},
	} {
		t.Run(tc.name, func(t *testing.T) { check(t, tc.in, tc.want) })
	}
}

// TestParseVectors reads the shared vectors and derives each expected key
// from the vector's own fields, as code.Code.Key and epc.Key define keys.
func TestParseVectors(t *testing.T) {
	v := loadVectors(t)
	gs1Key := func(els [][2]string) string {
		f := map[string]string{}
		for _, e := range els {
			if _, ok := f[e[0]]; !ok {
				f[e[0]] = e[1]
			}
		}
		g := f["01"]
		if g == "" {
			g = f["02"]
		}
		switch {
		case g == "":
			return ""
		case f["21"] != "":
			return "(01)" + g + "(21)" + f["21"]
		case f["10"] != "":
			return "(01)" + g + "(10)" + f["10"]
		}
		return "(01)" + g
	}
	for _, x := range v.GS1 {
		if x.Valid != nil && !*x.Valid {
			if _, err := Parse(x.Input); !errors.Is(err, ErrBarcode) {
				t.Errorf("Parse(%q) error = %v, want ErrBarcode", x.Input, err)
			}
			continue
		}
		key := gs1Key(x.Elements)
		check(t, x.Input, want{kind: KindGS1, key: key, prefix: key != "" && !strings.Contains(key[4:], "(")})
	}
	for _, x := range v.DL {
		key := gs1Key(x.Elements)
		check(t, x.Input, want{kind: KindGS1, key: key, prefix: key != "" && !strings.Contains(key[4:], "(")})
	}
	for _, x := range v.Check {
		check(t, x.Full, want{kind: KindGS1, key: "(01)" + strings.Repeat("0", 14-len(x.Full)) + x.Full, prefix: true})
	}
	for _, x := range v.HIBC {
		switch {
		case x.Valid != nil && !*x.Valid:
			_, err := Parse(x.Input)
			if !errors.Is(err, ErrBarcode) || !errors.Is(err, code.ErrHIBCCheck) {
				t.Errorf("Parse(%q) error = %v, want ErrBarcode and code.ErrHIBCCheck", x.Input, err)
			}
			continue
		case strings.HasPrefix(x.Kind, "provider"):
			check(t, x.Input, want{kind: KindPlain})
			continue
		}
		f := x.Fields
		w := want{kind: KindHIBC}
		if f["lic"] != "" {
			w.key = "+" + f["lic"] + f["pcn"] + f["uom"]
			switch {
			case f["serial"] != "":
				w.key += "/S" + f["serial"]
			case f["lot"] != "":
				w.key += "/$" + f["lot"]
			default:
				w.prefix = true
			}
		}
		check(t, x.Input, w)
		if x.Caption != "" {
			check(t, x.Caption, w)
		}
		if w.key != "" {
			// The key as the agent prints it reads back as itself.
			k := w
			k.kind, k.alts = KindItemKey, nil
			check(t, w.key, k)
		}
	}
	for _, x := range append(slices.Clone(v.SGTIN96), v.SGTIN198...) {
		e := x.Expected
		w := want{kind: KindSGTIN, key: "(01)" + e.GTIN + "(21)" + e.Serial}
		hex := x.Hex
		check(t, hex, w)
		check(t, x.PC+hex, w)
		check(t, x.PC+" "+hex, w)
		if len(hex) == 50 {
			check(t, hex+"00", w)
			check(t, x.PC+hex+"00", w)
		}
		for _, u := range []string{e.PureURI, e.TagURI} {
			if u != "" {
				check(t, u, w)
			}
		}
	}
}

// TestEPCFields checks that a Code carries every field udi-edge decode
// shows for an EPC.
func TestEPCFields(t *testing.T) {
	v := loadVectors(t)
	x := v.SGTIN96[0]
	c, err := Parse(x.PC + " " + x.Hex)
	if err != nil {
		t.Fatal(err)
	}
	e := c.EPC
	if e == nil || e.SGTIN == nil {
		t.Fatalf("Parse(%q).EPC = %+v, want an SGTIN", x.PC+x.Hex, e)
	}
	if !e.HasPC || pcHex(e.PC) != x.PC || e.Hex() != x.Hex || e.LengthBits() != 4*len(x.Hex) || e.PCLengthBits() != 4*len(x.Hex) {
		t.Errorf("EPC PC %04X (%v) hex %s bits %d, PC says %d; want PC %s hex %s bits %d",
			e.PC, e.HasPC, e.Hex(), e.LengthBits(), e.PCLengthBits(), x.PC, x.Hex, 4*len(x.Hex))
	}
	s := e.SGTIN
	if s.Scheme != epc.Scheme96 || s.Filter != x.Expected.Filter || s.CompanyPrefix != x.Expected.CompanyPrefix ||
		s.ItemRef != x.Expected.ItemRef || s.PureURI() != x.Expected.PureURI || s.TagURI() != x.Expected.TagURI {
		t.Errorf("SGTIN = %+v, want %+v", *s, x.Expected)
	}

	// A tag URI gives the tag's bytes; a pure identity does not.
	tag, err := Parse(x.Expected.TagURI)
	if err != nil || tag.EPC.Hex() != x.Hex || tag.EPC.HasPC {
		t.Errorf("Parse(%q): hex %q, HasPC %v, %v; want hex %s", x.Expected.TagURI, tag.EPC.Hex(), tag.EPC.HasPC, err, x.Hex)
	}
	pure, err := Parse(x.Expected.PureURI)
	if err != nil || pure.EPC.Bytes != nil || pure.EPC.SGTIN.Scheme != "" {
		t.Errorf("Parse(%q): bytes %X scheme %q, %v; want no bytes", x.Expected.PureURI, pure.EPC.Bytes, pure.EPC.SGTIN.Scheme, err)
	}

	// 50 hex digits: the tag's 26 bytes, as a reader reports them.
	h198 := v.SGTIN198[0].Hex
	c, err = Parse(h198)
	if err != nil || c.EPC.Hex() != h198+"00" || c.EPC.LengthBits() != 208 || c.EPC.SGTIN.Scheme != epc.Scheme198 {
		t.Errorf("Parse(%q): hex %s, %d bits, %v; want the 26 bytes", h198, c.EPC.Hex(), c.EPC.LengthBits(), err)
	}

	// A raw URI with an AFI implies the PC toggle and the AFI.
	c, err = Parse("urn:epc:raw:96.xA2.x" + tdsHex)
	if err != nil || !c.EPC.HasPC || c.EPC.PC != 0x3000|epc.PCToggle|0xA2 || c.EPC.SGTIN != nil {
		t.Errorf("raw URI with AFI: PC %04X (%v), SGTIN %v, %v; want 31A2 and no SGTIN", c.EPC.PC, c.EPC.HasPC, c.EPC.SGTIN, err)
	}
}

// TestParseErrors checks that each fault comes back as an *Error wrapping
// the right sentinel, and that no message quotes text that may be a
// patient's.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       string
		sentinel error
		cause    error  // also wrapped, when set
		says     string // the message contains this
		quotes   bool   // the message may quote the input
	}{
		{"empty", " \t\r\n", ErrEmpty, nil, "nothing to read", false},
		{"GTIN-13 check digit", "5391234567893", ErrBarcode, code.ErrCheckDigit, "check digit", true},
		{"GTIN-8 check digit, EPC hint", "12345678", ErrBarcode, code.ErrCheckDigit, `"1000 …"`, true},
		{"GTIN-12 check digit, EPC hint", "036000291453", ErrBarcode, code.ErrCheckDigit, "urn:epc:raw:48.x", true},
		{"HRI date", "(01)" + gtin + "(17)261332", ErrBarcode, code.ErrDate, "(17)", true},
		{"HIBC check, not a key", "+A99912345/$$52001510X3Z", ErrBarcode, code.ErrHIBCCheck, "mod-43", true},
		{"EPC hex, 11 bytes", "E2801160AABBCCDDEEFF00", ErrEPCHex, nil, "22 hex digits are not a whole number of 16-bit words", false},
		{"EPC hex, odd digits", "E2801160AABBCCDDEEFF001", ErrEPCHex, nil, "not a whole number of bytes", false},
		{"EPC hex, 0x and short", "0x1234", ErrEPCHex, nil, "shorter than the 32 bits", false},
		{"EPC hex, too long", "0x" + strings.Repeat("AB", 66), ErrEPCHex, nil, "longer than", false},
		{"EPC hex, 50 digits not SGTIN-198", "E280" + strings.Repeat("0", 46), ErrEPCHex, nil, "SGTIN-198", false},
		{"EPC URI of a GSRN", "urn:epc:id:gsrn:0614141.1234567890", ErrEPCURI, epc.ErrNotSGTIN, `scheme "gsrn"`, false},
		{"EPC URI, bad partition", "urn:epc:id:sgtin:06141.8123456789.1", ErrEPCURI, epc.ErrPartition, "company prefix", true},
		{"raw URI, decimal", "urn:epc:raw:64.12345", ErrEPCURI, nil, "decimal form", false},
		{"raw URI, length mismatch", "urn:epc:raw:64.x" + rawEPC, ErrEPCURI, nil, "says 64 bits but holds 96", false},
		{"raw URI, not hex", "urn:epc:raw:96.x" + rawEPC[:22] + "ZZ", ErrEPCURI, nil, "'Z' is not a hex digit", false},
		{"raw URI, AFI", "urn:epc:raw:96.xA.x" + rawEPC, ErrEPCURI, nil, "AFI", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.in)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse(%q) error = %v (%T), want *Error", tc.in, err, err)
			}
			if !errors.Is(err, tc.sentinel) || tc.cause != nil && !errors.Is(err, tc.cause) {
				t.Errorf("Parse(%q) error = %v, want %v and %v", tc.in, err, tc.sentinel, tc.cause)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.says) {
				t.Errorf("Parse(%q) error %q does not say %q", tc.in, msg, tc.says)
			}
			if in := strings.TrimSpace(tc.in); !tc.quotes && in != "" && strings.Contains(msg, in) {
				t.Errorf("Parse(%q) error %q quotes the input", tc.in, msg)
			}
			if e.Input != strings.TrimSpace(tc.in) {
				t.Errorf("Error.Input = %q, want the trimmed input", e.Input)
			}
		})
	}

	// A barcode fault keeps package code's field and position.
	_, err := Parse("(01)" + gtin + "(17)261332")
	var ce *code.Error
	if !errors.As(err, &ce) || ce.AI != "17" {
		t.Errorf("errors.As(*code.Error) = %+v, want AI 17", ce)
	}
}

// TestTraceKeyNotItem checks that codes naming no item are refused by
// TraceKey and Lookups, and that the refusal never quotes a plain code.
func TestTraceKeyNotItem(t *testing.T) {
	var plainMsg string
	for _, in := range []string{"PATIENT-0042", "ZY0123456789", "W:3301020001"} {
		c, err := Parse(in)
		if err != nil || c.Kind != KindPlain {
			t.Fatalf("Parse(%q) = %v, %v; want a plain code", in, c.Kind, err)
		}
		_, _, err = c.TraceKey()
		if !errors.Is(err, ErrNotItem) || strings.Contains(err.Error(), in) {
			t.Errorf("TraceKey of plain %q: %v; want ErrNotItem without the text", in, err)
		}
		if plainMsg == "" {
			plainMsg = err.Error()
		} else if err.Error() != plainMsg {
			t.Errorf("plain %q refused as %q, others as %q: the message depends on the text", in, err, plainMsg)
		}
		if _, err := c.Lookups(); !errors.Is(err, ErrNotItem) {
			t.Errorf("Lookups of plain %q: %v, want ErrNotItem", in, err)
		}
	}
	for _, in := range []string{"(00)006141411234567890", "+$A1234GU", "https://a/8018/123456789012345675/8019/123"} {
		c, err := Parse(in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", in, err)
		}
		if _, _, err := c.TraceKey(); !errors.Is(err, ErrNotItem) || strings.Contains(err.Error(), "123456789012345675") {
			t.Errorf("TraceKey(%q) = %v, want ErrNotItem without the number", in, err)
		}
	}
}

// TestLookups checks that a trace looks up every reading, chosen first.
func TestLookups(t *testing.T) {
	c, err := Parse("96385074")
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Lookups()
	wantL := []Lookup{
		{Key: "(01)00000096385074", Prefix: true, Kind: KindGS1},
		{Key: "urn:epc:raw:32.x96385074", Kind: KindRawEPC},
	}
	if err != nil || !slices.Equal(got, wantL) {
		t.Errorf("Lookups = %+v, %v; want %+v", got, err, wantL)
	}
	c, _ = Parse("+A99912345/SHS0001")
	if got, err := c.Lookups(); err != nil || len(got) != 1 || got[0] != (Lookup{Key: "+A99912345/SHS0001", Kind: KindItemKey}) {
		t.Errorf("Lookups(HIBC key) = %+v, %v", got, err)
	}
}

func TestInProduct(t *testing.T) {
	for _, tc := range []struct {
		key, prefix string
		want        bool
	}{
		{"(01)" + gtin, "(01)" + gtin, true},
		{"(01)" + gtin + "(21)1", "(01)" + gtin, true},
		{"(01)" + gtin + "(10)L", "(01)" + gtin, true},
		{"+A99912345", "+A99912345", true},
		{"+A99912345/SX", "+A99912345", true},
		{"+A99912345/$L", "+A99912345", true},
		{"+A999123456/SX", "+A99912345", false}, // product 12345, not 1234
		{"+A999123456", "+A99912345", false},
		{"(01)" + gtin, "(01)" + gtin + "(21)1", false},
		{"x", "", false},
	} {
		if got := InProduct(tc.key, tc.prefix); got != tc.want {
			t.Errorf("InProduct(%q, %q) = %v, want %v", tc.key, tc.prefix, got, tc.want)
		}
	}
}

func TestKindString(t *testing.T) {
	seen := map[string]bool{}
	for k := KindPlain; k <= KindRawEPC; k++ {
		s := k.String()
		if seen[s] || strings.HasPrefix(s, "Kind(") {
			t.Errorf("Kind %d String %q: not a distinct name", int(k), s)
		}
		seen[s] = true
	}
	if s := Kind(99).String(); s != "Kind(99)" {
		t.Errorf("Kind(99).String() = %q", s)
	}
}
