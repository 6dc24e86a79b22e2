package code

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// testParser resolves two-digit years against 2026, the reference year of
// the vectors.
var testParser = Parser{Now: func() time.Time { return time.Date(2026, time.June, 15, 12, 0, 0, 0, time.UTC) }}

type gs1Vector struct {
	Input            string            `json:"input"`
	ExpectedElements [][2]string       `json:"expected_elements"`
	ExpectedHRI      string            `json:"expected_hri"`
	ExpectedValid    *bool             `json:"expected_valid"`
	ExpectedError    string            `json:"expected_error"`
	Symbology        string            `json:"symbology"`
	ExpectedDates    map[string]string `json:"expected_dates"`
	ExpectedParts    map[string]string `json:"expected_parts"`
	Source           string            `json:"source"`
}

type hibcVector struct {
	Input         string         `json:"input"`
	Kind          string         `json:"kind"`
	ExpectedCheck string         `json:"expected_check_char"`
	Fields        map[string]any `json:"expected_fields"`
	ExpectedValid *bool          `json:"expected_valid"`
	ExpectedError string         `json:"expected_error"`
}

type checkVector struct {
	Input    string `json:"input"`
	Expected int    `json:"expected_check_digit"`
	Full     string `json:"full"`
	Note     string `json:"note"`
}

type codesFile struct {
	GS1   []gs1Vector   `json:"gs1"`
	DL    []gs1Vector   `json:"gs1_digital_link"`
	HIBC  []hibcVector  `json:"hibc"`
	Check []checkVector `json:"check_digits"`
	// EPC sections (sgtin96, sgtin198, gen2_pc) are read by a later
	// package; they are left undecoded here.
	SGTIN96  json.RawMessage `json:"sgtin96"`
	SGTIN198 json.RawMessage `json:"sgtin198"`
	Gen2PC   json.RawMessage `json:"gen2_pc"`
}

func loadCodes(t testing.TB) codesFile {
	t.Helper()
	b, err := os.ReadFile("../../testdata/vectors/codes.json")
	if err != nil {
		t.Fatal(err)
	}
	var f codesFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.GS1) == 0 || len(f.DL) == 0 || len(f.HIBC) == 0 || len(f.Check) == 0 {
		t.Fatal("codes.json: a section is empty")
	}
	return f
}

// wantError checks err against a vector's expected_error: an *Error
// wrapping a sentinel whose message carries the expected text. A leading
// "(AI) " in the expectation must match Error.AI.
func wantError(t *testing.T, err error, expected string) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted, want error %q", expected)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not *Error", err, err)
	}
	if errors.Unwrap(e) == nil {
		t.Errorf("error %v wraps no sentinel", err)
	}
	text := expected
	if n := isAIOpen(expected); n > 0 {
		if ai := expected[1 : n-1]; e.AI != ai {
			t.Errorf("error AI = %q, want %q", e.AI, ai)
		}
		text = strings.TrimSpace(expected[n:])
	}
	if !strings.Contains(err.Error(), text) {
		t.Errorf("error %q does not say %q", err.Error(), text)
	}
	return e
}

func checkElements(t *testing.T, c *Code, want [][2]string) {
	t.Helper()
	if len(c.Elements) != len(want) {
		t.Fatalf("elements = %v, want %v", c.Elements, want)
	}
	for i, w := range want {
		if c.Elements[i].AI != w[0] || c.Elements[i].Value != w[1] {
			t.Errorf("element %d = (%s)%q, want (%s)%q", i, c.Elements[i].AI, c.Elements[i].Value, w[0], w[1])
		}
	}
}

func TestVectorsGS1(t *testing.T) {
	for _, v := range loadCodes(t).GS1 {
		t.Run(strings.ReplaceAll(v.Input, "\x1d", "<GS>"), func(t *testing.T) {
			c, err := testParser.Scan([]byte(v.Input))
			if v.ExpectedValid != nil && !*v.ExpectedValid {
				e := wantError(t, err, v.ExpectedError)
				if e.Pos < 0 || e.Pos >= len(v.Input) {
					t.Errorf("error position %d outside the input", e.Pos)
				}
				return
			}
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			if c.Kind != KindGS1 {
				t.Errorf("kind = %v, want GS1", c.Kind)
			}
			if v.Symbology != "" && c.SymbologyName != v.Symbology {
				t.Errorf("symbology = %q, want %q", c.SymbologyName, v.Symbology)
			}
			checkElements(t, c, v.ExpectedElements)
			if v.ExpectedHRI != "" && c.HRI() != v.ExpectedHRI {
				t.Errorf("HRI = %q, want %q", c.HRI(), v.ExpectedHRI)
			}
			if want, ok := v.ExpectedDates["17_iso"]; ok && c.Expiry.String() != want {
				t.Errorf("expiry = %q, want %q", c.Expiry, want)
			}
			if want, ok := v.ExpectedDates["11_iso"]; ok && c.Production.String() != want {
				t.Errorf("production = %q, want %q", c.Production, want)
			}
			if v.ExpectedParts != nil {
				parts := c.Elements[0].Parts()
				want := []string{v.ExpectedParts["zero"], v.ExpectedParts["grai"], v.ExpectedParts["serial"]}
				if strings.Join(parts, "|") != strings.Join(want, "|") {
					t.Errorf("parts = %q, want %q", parts, want)
				}
			}
			// The same code typed as HRI gives the same item.
			if v.ExpectedHRI != "" {
				h, err := testParser.Any(v.ExpectedHRI)
				if err != nil {
					t.Fatalf("Any(HRI): %v", err)
				}
				if h.Key() != c.Key() || h.Expiry != c.Expiry {
					t.Errorf("HRI form: key %q expiry %v, scan: key %q expiry %v", h.Key(), h.Expiry, c.Key(), c.Expiry)
				}
			}
		})
	}
}

func TestVectorsDigitalLink(t *testing.T) {
	for _, v := range loadCodes(t).DL {
		t.Run(v.Input, func(t *testing.T) {
			for _, scan := range []bool{true, false} {
				var c *Code
				var err error
				if scan {
					c, err = testParser.Scan([]byte("]Q1" + v.Input))
				} else {
					c, err = testParser.Any(v.Input)
				}
				if err != nil {
					t.Fatalf("scan=%v: %v", scan, err)
				}
				if c.Kind != KindDigitalLink {
					t.Fatalf("kind = %v, want Digital Link", c.Kind)
				}
				checkElements(t, c, v.ExpectedElements)
				if c.HRI() != v.ExpectedHRI {
					t.Errorf("HRI = %q, want %q", c.HRI(), v.ExpectedHRI)
				}
				if c.Data != v.Input {
					t.Errorf("data = %q, want the URI as read", c.Data)
				}
			}
		})
	}
}

func TestVectorsHIBC(t *testing.T) {
	for _, v := range loadCodes(t).HIBC {
		t.Run(v.Input, func(t *testing.T) {
			c, err := testParser.Scan([]byte(v.Input))
			if v.ExpectedValid != nil && !*v.ExpectedValid {
				wantError(t, err, v.ExpectedError)
				if !errors.Is(err, ErrHIBCCheck) {
					t.Errorf("error %v is not ErrHIBCCheck", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			// The check character: computed over everything before it.
			ck, err := HIBCCheck(v.Input[:len(v.Input)-1])
			if err != nil || string(ck) != v.ExpectedCheck {
				t.Errorf("HIBCCheck = %q, %v; want %q", ck, err, v.ExpectedCheck)
			}
			if strings.HasPrefix(v.Input, "+/") {
				if c.Kind != KindPlain || c.HIBC != nil || c.Key() != "" {
					t.Errorf("provider code: kind %v, HIBC %v, key %q; want plain without key", c.Kind, c.HIBC, c.Key())
				}
				return
			}
			if c.Kind != KindHIBC || c.HIBC == nil {
				t.Fatalf("kind = %v, HIBC = %v", c.Kind, c.HIBC)
			}
			h := c.HIBC
			if string(h.Check) != v.ExpectedCheck {
				t.Errorf("Check = %q, want %q", h.Check, v.ExpectedCheck)
			}
			got := map[string]string{
				"lic": h.Labeler, "pcn": h.Product, "lot": c.Lot, "serial": c.Serial,
				"expiry": c.Expiry.String(), "expiry_format": h.ExpiryFormat,
				"manufacture_date": c.Production.String(), "check_char": string(h.Check),
			}
			if h.UnitOfMeasure != 0 {
				got["uom"] = string(h.UnitOfMeasure)
			}
			if h.Link != 0 {
				got["link_char"] = string(h.Link)
			}
			if len(c.Expiry.String()) >= 7 {
				got["expiry_month"] = c.Expiry.String()[:7]
			}
			for k, want := range v.Fields {
				switch w := want.(type) {
				case string:
					if got[k] != w {
						t.Errorf("%s = %q, want %q", k, got[k], w)
					}
				case float64:
					if k != "quantity" || h.Quantity != int(w) {
						t.Errorf("%s: quantity = %d, want %v", k, h.Quantity, w)
					}
				default:
					t.Errorf("field %s: unexpected type %T", k, want)
				}
			}
			// Fields the vector does not list are absent.
			for _, k := range []string{"lot", "serial", "expiry", "manufacture_date"} {
				if _, listed := v.Fields[k]; !listed && got[k] != "" {
					t.Errorf("%s = %q, the vector has none", k, got[k])
				}
			}
			if _, listed := v.Fields["quantity"]; !listed && h.Quantity != 0 {
				t.Errorf("quantity = %d, the vector has none", h.Quantity)
			}
			// The key names labeler, product and unit, then serial or lot.
			if h.Labeler != "" {
				key := "+" + h.Labeler + h.Product + string(h.UnitOfMeasure)
				switch {
				case c.Serial != "":
					key += "/S" + c.Serial
				case c.Lot != "":
					key += "/$" + c.Lot
				}
				if c.Key() != key {
					t.Errorf("Key = %q, want %q", c.Key(), key)
				}
			}
		})
	}
}

func TestVectorsCheckDigits(t *testing.T) {
	for _, v := range loadCodes(t).Check {
		t.Run(v.Input, func(t *testing.T) {
			got, err := CheckDigit(v.Input)
			if err != nil || got != v.Expected {
				t.Fatalf("CheckDigit = %d, %v; want %d", got, err, v.Expected)
			}
			if v.Full != "" {
				if v.Full != v.Input+itoa(v.Expected) {
					t.Errorf("vector inconsistent: full %q", v.Full)
				}
				c, err := testParser.Any(v.Full)
				if err != nil || c.Kind != KindGTIN || len(c.GTIN) != 14 {
					t.Errorf("Any(%q) = %+v, %v", v.Full, c, err)
				}
			}
			// The note names a wrong check digit that must be rejected.
			if i := strings.Index(v.Note, " must be rejected"); i > 0 {
				bad := v.Note[:i]
				if _, err := testParser.Any(bad); !errors.Is(err, ErrCheckDigit) {
					t.Errorf("Any(%q) error = %v, want ErrCheckDigit", bad, err)
				}
			}
		})
	}
}

func TestVectorsWire(t *testing.T) {
	b, err := os.ReadFile("../../testdata/vectors/barcode-wire.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Meta struct {
			AIMIDs map[string]string `json:"aim_ids"`
		} `json:"_meta"`
		Examples []struct {
			AIM     string `json:"aim"`
			Data    string `json:"data"`
			Suffix  string `json:"suffix"`
			WireHex string `json:"wire_hex"`
			Note    string `json:"note"`
		} `json:"examples"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	for aim, name := range f.Meta.AIMIDs {
		// The vector names EAN-13 "EAN-13 / UPC-A / UPC-E as 13 digits".
		if got := SymbologyName(aim); got == "" || !strings.HasPrefix(name, got) {
			t.Errorf("SymbologyName(%q) = %q, vector says %q", aim, got, name)
		}
	}
	for _, x := range f.Examples {
		t.Run(x.Note, func(t *testing.T) {
			wire, err := hex.DecodeString(x.WireHex)
			if err != nil {
				t.Fatal(err)
			}
			raw, ok := strings.CutSuffix(string(wire), x.Suffix)
			if !ok || raw != x.AIM+x.Data {
				t.Fatalf("wire %q is not aim+data+suffix", wire)
			}
			c, err := testParser.Scan([]byte(raw))
			if err != nil {
				t.Fatalf("Scan: %v", err)
			}
			if c.Symbology != x.AIM || c.Data != x.Data {
				t.Errorf("symbology %q data %q", c.Symbology, c.Data)
			}
			switch x.AIM {
			case "]C1", "]d2", "]Q3":
				if c.Kind != KindGS1 {
					t.Errorf("kind = %v, want GS1", c.Kind)
				}
			case "]E0":
				if c.Kind != KindGTIN || c.GTIN != "0"+x.Data {
					t.Errorf("kind %v GTIN %q", c.Kind, c.GTIN)
				}
			case "]d1":
				if c.Kind != KindPlain || c.Key() != "" {
					t.Errorf("kind %v key %q, want plain", c.Kind, c.Key())
				}
			case "":
				if c.Kind != KindHIBC || c.Key() != "+A123BJC5D6E71" {
					t.Errorf("kind %v key %q", c.Kind, c.Key())
				}
			}
			if strings.Contains(x.Note, "implant") {
				if c.GTIN != "09520123456788" || c.Expiry.String() != "2026-05-31" || c.Lot != "21A-77" || c.Serial != "00042" {
					t.Errorf("implant: GTIN %q expiry %v lot %q serial %q", c.GTIN, c.Expiry, c.Lot, c.Serial)
				}
				if c.Key() != "(01)09520123456788(21)00042" {
					t.Errorf("Key = %q", c.Key())
				}
			}
		})
	}
}
