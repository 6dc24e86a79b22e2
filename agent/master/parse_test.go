package master

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func open(t testing.TB, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// format returns the format of a test file: from its extension, and
// "csv" for tab-separated text (.txt).
func format(name string) string {
	if f := strings.TrimPrefix(filepath.Ext(name), "."); f != "txt" {
		return f
	}
	return FormatCSV
}

func TestParseAmount(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Amount
		bad  bool
	}{
		{"1234.50", 123450, false}, {"1234.5", 123450, false}, {"1234", 123400, false},
		{"0.05", 5, false}, {".5", 50, false}, {"7.", 700, false}, {"-3.20", -320, false},
		{"+1", 100, false}, {"12.300", 1230, false}, {"92233720368547758.07", 9223372036854775807, false},
		{"92233720368547758.08", 0, true}, {"99999999999999999999", 0, true},
		{"12.5x", 0, true}, {"236.001", 0, true}, {"1,234.50", 0, true}, {"¥12", 0, true},
		{"4.5e1", 0, true}, {"", 0, true}, {".", 0, true}, {"-", 0, true}, {"1.2.3", 0, true}, {" 1", 0, true},
	} {
		got, err := ParseAmount(c.in)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("ParseAmount(%q) = %d, %v; want %d, bad %v", c.in, got, err, c.want, c.bad)
		}
	}
	for a, s := range map[Amount]string{123450: "1234.50", 5: "0.05", -5: "-0.05", 0: "0.00", -320: "-3.20"} {
		if a.String() != s {
			t.Errorf("Amount(%d).String() = %q, want %q", int64(a), a.String(), s)
		}
	}
}

func TestParseCatalogueGood(t *testing.T) {
	for _, c := range []struct {
		file string
		n    int
	}{{"catalogue.csv", 8}, {"catalogue-zh.csv", 3}, {"catalogue.json", 4}, {"catalogue-gbk.csv", 3}, {"catalogue-utf16.txt", 3}} {
		t.Run(c.file, func(t *testing.T) {
			got, errs, err := lenient(ParseCatalogue, open(t, c.file), format(c.file))
			if err != nil || len(errs) != 0 {
				t.Fatalf("err %v, row errors %v", err, errs)
			}
			if len(got) != c.n {
				t.Fatalf("%d entries, want %d", len(got), c.n)
			}
			stem := got[0]
			if stem.GTIN != "06901234100013" || stem.UnitPrice != 685000 || !stem.HighValue || stem.Tracking != TrackSerial ||
				stem.InsuranceCode != "C0301010010000100001" || !strings.HasPrefix(stem.Name, "髋关节假体 股骨柄") {
				t.Errorf("hip stem: %+v", stem)
			}
			last := got[len(got)-1]
			switch c.file {
			case "catalogue-zh.csv", "catalogue-gbk.csv", "catalogue-utf16.txt":
				// A GTIN-13 is padded; the default tracking of a low-value item is by lot.
				if last.GTIN != "06901234100044" || last.UnitPrice != 23600 || last.Tracking != TrackLot || last.HighValue {
					t.Errorf("bone screw: %+v", last)
				}
			default:
				if last.HIBC != "+A99912345" || last.GTIN != "" || !last.Imported || last.UnitPrice != 128000 {
					t.Errorf("bone cement: %+v", last)
				}
			}
		})
	}
	csv, _, _ := lenient(ParseCatalogue, open(t, "catalogue.csv"), "csv")
	js, _, _ := lenient(ParseCatalogue, open(t, "catalogue.json"), "json")
	// The cup: "5320.50" in CSV, the JSON number 5320.5.
	if csv[1].UnitPrice != 532050 || js[1].UnitPrice != 532050 {
		t.Errorf("cup price: csv %d, json %d", csv[1].UnitPrice, js[1].UnitPrice)
	}
}

// wantErr is an expected row error: where, which column, and a part of
// the reason.
type wantErr struct {
	at     int // line (CSV) or index (JSON)
	column string
	reason string
}

func checkErrs(t *testing.T, errs []RowError, json bool, want []wantErr) {
	t.Helper()
	if len(errs) != len(want) {
		for _, e := range errs {
			t.Log(e.Error())
		}
		t.Fatalf("%d row errors, want %d", len(errs), len(want))
	}
	for i, w := range want {
		e := errs[i]
		at := e.Line
		if json {
			at = e.Index
		}
		if at != w.at || e.Column != w.column || !strings.Contains(e.Error(), w.reason) {
			t.Errorf("error %d: %q; want at %d column %q containing %q", i, e.Error(), w.at, w.column, w.reason)
		}
	}
}

func TestParseCatalogueBadCSV(t *testing.T) {
	got, errs, err := lenient(ParseCatalogue, open(t, "catalogue-bad.csv"), "csv")
	if err != nil {
		t.Fatal(err)
	}
	checkErrs(t, errs, false, []wantErr{
		{3, "gtin", `line 3: column gtin: "06901234100014" has check digit 4, the digits before it give 3`},
		{4, "unit_price", `line 4: column unit_price: "12.5x" is not an amount`},
		{5, "gtin", "reformatted by a spreadsheet"},
		{7, "name", "line 7: column name: missing"},
		{8, "unit_price", "more than two decimal places"},
		{8, "insurance_code", `"C03010300100006" is not a national insurance consumable code`},
		{11, "high_value", `"maybe" is not yes or no`},
		{11, "tracking", `"box" is not a tracking mode`},
		{12, "gtin", "missing: give a gtin, an hibc product or an MA DI"},
		{13, "", "has 9 fields, the header names 8"},
	})
	var gtins []string
	for _, e := range got {
		gtins = append(gtins, e.GTIN)
	}
	// Line 9-10 is one record whose name spans two lines.
	if want := []string{"06901234100013", "06901234100051"}; !reflect.DeepEqual(gtins, want) {
		t.Errorf("kept %v, want %v", gtins, want)
	}
	if got[1].Name != "可吸收缝合线 带针 3-0" {
		t.Errorf("two-line name read as %q", got[1].Name)
	}
}

func TestParseCatalogueBadJSON(t *testing.T) {
	got, errs, err := lenient(ParseCatalogue, open(t, "catalogue-bad.json"), "json")
	if err != nil {
		t.Fatal(err)
	}
	checkErrs(t, errs, true, []wantErr{
		{1, "unitprice", "index 1: key unitprice: unknown key"},
		{3, "gtin", "check digit 1, the digits before it give 0"},
		{4, "", "index 4: is not an object"},
		{5, "name", "is an array, not a string"},
		{6, "unit_price", `"4.5e1" is not an amount`},
	})
	// A JSON number GTIN-13 and a number price are read exactly.
	if len(got) != 2 || got[1].GTIN != "06901234100020" || got[1].UnitPrice != 532050 {
		t.Errorf("kept %+v", got)
	}
}

func TestParseFileErrors(t *testing.T) {
	for _, c := range []struct {
		name, format, in string
		want             error
		msg              string
	}{
		{"empty", "csv", "", ErrEmpty, "no rows"},
		{"header only", "csv", "\uFEFFgtin,name,unit_price\r\n\r\n", ErrEmpty, "would empty the set"},
		{"no price column", "csv", "gtin,name\n06901234100013,x\n", ErrHeader, "missing column unit_price"},
		{"no product column", "csv", "name,unit_price\nx,1\n", ErrHeader, "missing column gtin or hibc"},
		{"unknown column", "csv", "gtin,name,unit_prize,unit_price\n", ErrHeader, `unknown column "unit_prize"`},
		{"twice", "csv", "gtin,name,unit_price,单价\n", ErrHeader, "column unit_price named twice"},
		{"GBK header", "csv", "\xb2\xfa\xc6\xb7,name,unit_price\n", ErrHeader, `unknown column "产品"`},
		{"Latin-1", "csv", "gtin,name,unit_price\n06901234100013,Proth\xe8se,1\n09520123456788,St\xe9rilis\xe9,2\n", ErrEncoding,
			"not UTF-8 at byte 41 (line 2) and not GB18030 either (line 3)"},
		{"format", "xlsx", "", ErrFormat, `"xlsx"`},
		{"json object", "json", `{"gtin": "06901234100013"}`, ErrFormat, "array"},
		{"json cut", "json", `[{"gtin": "06901234100013", "name": "x", "unit_price": 1},`, ErrFormat, ""},
		{"json trailing", "json", `[] []`, ErrFormat, "after"},
		{"json empty", "json", ``, ErrEmpty, "no rows"},
		{"json no rows", "json", ` [ ] `, ErrEmpty, "no rows"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := ParseCatalogue(strings.NewReader(c.in), ImportOptions{Format: c.format})
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("err %v, want %v containing %q", err, c.want, c.msg)
			}
		})
	}
}

func TestParseCSVTolerance(t *testing.T) {
	// BOM, CRLF, quoted fields with commas and quotes, header case and
	// spacing, trailing empty fields, a blank row and a row of empty fields.
	in := "\uFEFF GTIN ,Name,Unit Price,High-Value\r\n" +
		"06901234100013,\"股骨柄, \"\"生物型\"\"\",6850.00,TRUE,,\r\n" +
		"\r\n" +
		",,,\r\n" +
		"06901234100020,髋臼杯,5320.50,\r\n"
	got, errs, err := lenient(ParseCatalogue, strings.NewReader(in), "CSV")
	if err != nil || len(errs) != 0 {
		t.Fatalf("err %v, row errors %v", err, errs)
	}
	if len(got) != 2 || got[0].Name != `股骨柄, "生物型"` || !got[0].HighValue || got[1].UnitPrice != 532050 {
		t.Errorf("got %+v", got)
	}
	// A quote error is reported on its line and reading goes on.
	in = "gtin,name,unit_price\n06901234100013,a\"b,1\n06901234100020,cup,2\n"
	got, errs, err = lenient(ParseCatalogue, strings.NewReader(in), "csv")
	if err != nil || len(got) != 1 || len(errs) != 1 || errs[0].Line != 2 || !strings.Contains(errs[0].Error(), "unreadable CSV") {
		t.Errorf("got %+v, errs %v, err %v", got, errs, err)
	}
	// A GBK cell is converted, not read as garbage.
	in = "gtin,name,unit_price\n06901234100013,\xb9\xc7\xcb\xa8,1\n"
	got, errs, err = lenient(ParseCatalogue, strings.NewReader(in), "csv")
	if err != nil || len(errs) != 0 || len(got) != 1 || got[0].Name != "骨栓" {
		t.Errorf("GBK cell: %+v %v %v", got, errs, err)
	}
}

func TestParseRecalls(t *testing.T) {
	csv, errs, err := lenient(ParseRecalls, open(t, "recalls.csv"), "csv")
	if err != nil || len(errs) != 0 {
		t.Fatalf("csv: err %v, row errors %v", err, errs)
	}
	js, errs, err := lenient(ParseRecalls, open(t, "recalls.json"), "json")
	if err != nil || len(errs) != 0 {
		t.Fatalf("json: err %v, row errors %v", err, errs)
	}
	if !reflect.DeepEqual(csv, js) {
		t.Errorf("csv and json differ:\n%+v\n%+v", csv, js)
	}
	if len(csv) != 3 || !reflect.DeepEqual(csv[0].Lots, []string{"B2309011", "B2309012"}) ||
		!reflect.DeepEqual(csv[1].Serials, []string{"SN52A00017", "SN52A00018"}) || csv[1].Date != "2026-02-28" ||
		!csv[2].Whole() || csv[2].HIBC != "+A99912345" || csv[2].Date != "2026-01-05" {
		t.Errorf("recalls %+v", csv)
	}
	in := "gtin,hibc,lots,reason,date\n" +
		"06901234200010,,B 1,r,2026-03-14\n" +
		"06901234200010,+A99912345,,r,2026-03-14\n" +
		"06901234200010,,,,2026-02-30\n"
	_, errs, err = lenient(ParseRecalls, strings.NewReader(in), "csv")
	if err != nil {
		t.Fatal(err)
	}
	checkErrs(t, errs, false, []wantErr{
		{2, "lots", `"B 1" holds a space`},
		{3, "hibc", "not both"},
		{4, "reason", "missing"},
		{4, "date", `"2026-02-30" is not a date`},
	})
}

func TestParseLotStatuses(t *testing.T) {
	got, errs, err := lenient(ParseLotStatuses, open(t, "lots.csv"), "csv")
	if err != nil || len(errs) != 0 || len(got) != 5 {
		t.Fatalf("%d lots, err %v, row errors %v", len(got), err, errs)
	}
	want := []Status{StatusApproved, StatusOnHold, StatusRecalled, StatusQuarantined, StatusExpired}
	for i, s := range got {
		if s.Status != want[i] {
			t.Errorf("lot %d: %q, want %q", i, s.Status, want[i])
		}
	}
	in := `[{"gtin": "06901234100013", "lot": "A1", "status": "召回"},
		{"gtin": "06901234100013", "lot": "A2", "status": "blocked"},
		{"gtin": "06901234100013", "status": "approved"},
		{"gtin": "06901234100013", "lot": "A3", "status": "approved", "expiry": "2027-01-01"}]`
	got, errs, err = lenient(ParseLotStatuses, strings.NewReader(in), "json")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Status != StatusRecalled {
		t.Errorf("got %+v", got)
	}
	checkErrs(t, errs, true, []wantErr{
		{1, "status", `"blocked" is not a lot status`},
		{2, "lot", "missing"},
		{3, "expiry", "unknown key"},
	})
}

func TestParseSettlements(t *testing.T) {
	csv, errs, err := lenient(ParseSettlements, open(t, "settlements.csv"), "csv")
	if err != nil || len(errs) != 0 || len(csv) != 5 {
		t.Fatalf("%d lines, err %v, row errors %v", len(csv), err, errs)
	}
	s := csv[3]
	// The item code is normalised to its key; GTIN and lot come from it.
	if s.Item != "(01)06901234200010(21)100104" || s.GTIN != "06901234200010" || s.Lot != "B2310001" || s.Amount != 79800 {
		t.Errorf("stent line %+v", s)
	}
	if r := csv[4]; r.Quantity != -1 || r.Amount != -79800 {
		t.Errorf("reversal %+v", r)
	}
	js, errs, err := lenient(ParseSettlements, open(t, "settlements.json"), "json")
	if err != nil || len(errs) != 0 {
		t.Fatalf("json: err %v, row errors %v", err, errs)
	}
	if !reflect.DeepEqual(js, []Settlement{csv[0], csv[2]}) {
		t.Errorf("json %+v\ncsv %+v", js, csv)
	}

	const patient = "P-秘密-4711\x01"
	in := "id,patient,case,item,gtin,lot,quantity,amount\n" +
		"S1," + patient + ",K1,(01)06901234100013(21)1,,,1,6850\n" +
		"S2,P1,,(01)06901234100013(21)1,06901234100020,,0,6850\n" +
		"S3,P1,K1,,,,1,1\n" +
		"S4,P1,K1,(01)06901234100013(10)L1(21)9,,L2,x,12.5x\n"
	_, errs, err = lenient(ParseSettlements, strings.NewReader(in), "csv")
	if err != nil {
		t.Fatal(err)
	}
	checkErrs(t, errs, false, []wantErr{
		{2, "patient", "holds a control character"},
		{3, "quantity", `"0" is not a quantity`},
		{3, "case", "missing"},
		{3, "gtin", "is not the GTIN of the item"},
		{4, "item", "missing: give an item code"},
		{5, "quantity", `"x" is not a quantity`},
		{5, "amount", `"12.5x" is not an amount`},
		{5, "lot", `"L2" is not the lot of the item`},
	})
	for _, e := range errs {
		if strings.Contains(e.Error(), "秘密") {
			t.Errorf("patient identifier in %q", e.Error())
		}
	}
}

// lenient reads a file with parse the way the parsers read files before
// imports became strict: every good row kept, every problem of the bad
// ones listed, an empty file accepted.
func lenient[T any](parse func(io.Reader, ImportOptions) ([]T, Report, error), r io.Reader, format string) ([]T, []RowError, error) {
	got, rep, err := parse(r, ImportOptions{Format: format, Partial: true, AllowEmpty: true})
	return got, rep.Rejected, err
}
