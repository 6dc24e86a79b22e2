package master

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
)

// threeProducts is a catalogue of three products.
func threeProducts(t *testing.T) *Data {
	t.Helper()
	d, err := Build("v1", Sets{Catalogue: []CatalogueEntry{
		{GTIN: "06901234100013", Name: "股骨柄", UnitPrice: 685000, Tracking: TrackLot},
		{GTIN: "06901234100020", Name: "髋臼杯", UnitPrice: 532050, Tracking: TrackLot},
		{GTIN: "06901234100037", Name: "股骨髁", UnitPrice: 798000, Tracking: TrackLot},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// fiveBadOfSix is a catalogue file of six rows, five of them bad (lines
// 3 to 7), one problem each.
const fiveBadOfSix = "gtin,name,unit_price\n" +
	"06901234100013,股骨柄,6850\n" +
	"06901234100014,髋臼杯,5320.50\n" + // check digit
	"06901234100037,股骨髁,12.5x\n" + // price
	"6.90123E+12,支架,798\n" + // spreadsheet
	"06901234100044,,236\n" + // no name
	"06901234100051,缝合线,-45\n" // negative price

// TestImportRefusesBadRows: a file with bad rows is refused whole,
// naming every bad row with its line and column, and the set held stays
// as it was; only a partial import, asked for, keeps the good rows; and
// a partial import with no good row is refused too.
func TestImportRefusesBadRows(t *testing.T) {
	d := threeProducts(t)
	wantLines := []int{3, 4, 5, 6, 7}
	wantCols := []string{"gtin", "unit_price", "gtin", "name", "unit_price"}
	checkRows := func(rows []RowError) {
		t.Helper()
		var lines []int
		var cols []string
		for _, r := range rows {
			lines, cols = append(lines, r.Line), append(cols, r.Column)
		}
		if !reflect.DeepEqual(lines, wantLines) || !reflect.DeepEqual(cols, wantCols) {
			t.Errorf("rows at lines %v columns %v, want %v %v", lines, cols, wantLines, wantCols)
		}
	}

	n, rep, err := d.Import("catalogue", strings.NewReader(fiveBadOfSix), ImportOptions{Format: FormatCSV, Version: "v2"})
	var be *BadRowsError
	if !errors.As(err, &be) || !errors.Is(err, ErrBadRows) || n != nil {
		t.Fatalf("strict import: %v, %v", n, err)
	}
	if be.Set != "catalogue" || be.Records != 6 || be.Bad != 5 || be.Partial || rep.Kept != 0 {
		t.Errorf("error %+v, report %+v", be, rep)
	}
	checkRows(be.Rows)
	for _, l := range wantLines {
		if !strings.Contains(err.Error(), fmt.Sprintf("line %d: column ", l)) {
			t.Errorf("the message does not name line %d: %v", l, err)
		}
	}
	if !strings.Contains(err.Error(), "5 of 6 rows bad, the file is refused whole") {
		t.Errorf("message %q", err)
	}
	if d.Counts().Catalogue != 3 {
		t.Fatalf("the refused import changed the set: %+v", d.Counts())
	}

	// The deprecated WithSet keeps the good rows and returns the bad ones,
	// as it did: its callers apply the rule.
	if n, rows, err := d.WithSet("v2", "catalogue", "csv", strings.NewReader(fiveBadOfSix), 0); err != nil || n.Counts().Catalogue != 1 || len(rows) != 5 {
		t.Errorf("WithSet: %v, %d rows, %v", n, len(rows), err)
	}

	n, rep, err = d.Import("catalogue", strings.NewReader(fiveBadOfSix), ImportOptions{Format: FormatCSV, Partial: true, Version: "v2"})
	if err != nil || n.Counts().Catalogue != 1 || rep.Records != 6 || rep.Kept != 1 {
		t.Fatalf("partial import: %v, report %+v", err, rep)
	}
	checkRows(rep.Rejected)
	if _, ok := n.Lookup("06901234100013"); !ok {
		t.Error("the good row is not kept")
	}

	// A partial import of a file whose every row is bad would empty the set.
	allBad := "gtin,name,unit_price\n06901234100014,a,1\n06901234100037,b,x\n"
	if _, _, err := d.Import("catalogue", strings.NewReader(allBad), ImportOptions{Format: FormatCSV, Partial: true}); !errors.As(err, &be) || !be.Partial || be.Bad != 2 {
		t.Errorf("partial import of bad rows only: %v", err)
	}
	if n, _, err := d.Import("catalogue", strings.NewReader(allBad), ImportOptions{Format: FormatCSV, Partial: true, AllowEmpty: true}); err != nil || n.Counts().Catalogue != 0 {
		t.Errorf("partial, empty allowed: %v", err)
	}
}

// TestBadRowsErrorListsAtMost20: the message quotes 20 problems and
// counts the rest; the error holds them all (fewer than MaxRejected).
func TestBadRowsErrorListsAtMost20(t *testing.T) {
	var b strings.Builder
	b.WriteString("gtin,name,unit_price\n")
	for range 25 {
		b.WriteString("06901234100013,x,bad\n")
	}
	_, _, err := ParseCatalogue(strings.NewReader(b.String()), ImportOptions{Format: FormatCSV})
	var be *BadRowsError
	if !errors.As(err, &be) || len(be.Rows) != 25 || be.Bad != 25 {
		t.Fatalf("%v", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "line 21: column unit_price") || strings.Contains(msg, "line 22:") || !strings.HasSuffix(msg, "; and 5 more problems") {
		t.Errorf("message %q", msg)
	}
}

// TestBadRowsBounded: a file of thousands of bad rows is refused with
// every one counted, the first MaxRejected problems listed, whether the
// file is refused whole or imported in part.
func TestBadRowsBounded(t *testing.T) {
	const n = 5000
	var b strings.Builder
	b.WriteString("gtin,name,unit_price\n06901234100013,good,1.00\n")
	for i := range n {
		fmt.Fprintf(&b, "not-a-gtin-%d,x,1\n", i)
	}
	_, _, err := ParseCatalogue(strings.NewReader(b.String()), ImportOptions{Format: FormatCSV})
	var be *BadRowsError
	if !errors.As(err, &be) || be.Bad != n || be.Records != n+1 || be.Problems != n || len(be.Rows) != MaxRejected {
		t.Fatalf("refused whole: %d rows listed of %v", len(be.Rows), err)
	}
	if last := be.Rows[MaxRejected-1]; last.Line != MaxRejected+2 {
		t.Errorf("the last problem listed is on line %d, want %d (the first ones, in file order)", last.Line, MaxRejected+2)
	}
	if msg := err.Error(); !strings.Contains(msg, fmt.Sprintf("%d of %d rows bad", n, n+1)) || !strings.HasSuffix(msg, fmt.Sprintf("; and %d more problems", n-20)) {
		t.Errorf("message %q", msg)
	}
	d, rep, err := (&Data{}).Import("catalogue", strings.NewReader(b.String()), ImportOptions{Format: FormatCSV, Partial: true})
	if err != nil || d.Counts().Catalogue != 1 || rep.Kept != 1 || rep.Records != n+1 || len(rep.Rejected) != MaxRejected {
		t.Fatalf("partial: %d problems listed, %+v, %v", len(rep.Rejected), rep.Kept, err)
	}
}

// TestImportRefusesEmpty: a file with no rows does not empty a set
// unless asked to.
func TestImportRefusesEmpty(t *testing.T) {
	d := threeProducts(t)
	for _, c := range []struct{ name, format, in string }{
		{"nothing", "csv", ""},
		{"spaces", "csv", " \r\n\r\n"},
		{"header", "csv", "gtin,name,unit_price\r\n"},
		{"header and blank rows", "csv", "\uFEFFgtin,name,unit_price\n,,\n\n"},
		{"empty array", "json", "[]"},
		{"nothing json", "json", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			n, _, err := d.Import("catalogue", strings.NewReader(c.in), ImportOptions{Format: c.format})
			if !errors.Is(err, ErrEmpty) || n != nil || !strings.Contains(err.Error(), "catalogue") {
				t.Fatalf("strict: %v", err)
			}
			n, rep, err := d.Import("catalogue", strings.NewReader(c.in), ImportOptions{Format: c.format, AllowEmpty: true})
			if err != nil || n.Counts().Catalogue != 0 || rep.Records != 0 {
				t.Fatalf("allowed: %v, %+v", err, rep)
			}
			if d.Counts().Catalogue != 3 {
				t.Fatal("the set held changed")
			}
		})
	}
	// Empty or not, a bad header is still an error.
	if _, _, err := d.Import("catalogue", strings.NewReader("gtin,nom,unit_price\n"), ImportOptions{Format: "csv", AllowEmpty: true}); !errors.Is(err, ErrHeader) {
		t.Errorf("bad header of an empty file: %v", err)
	}
}

func encode(t *testing.T, b []byte, enc interface{ Bytes([]byte) ([]byte, error) }) []byte {
	t.Helper()
	out, err := enc.Bytes(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestImportEncodings reads a catalogue with Chinese column names and
// product names in the encodings Chinese hospital systems and Excel
// write, detected or named, and refuses what is none of them.
func TestImportEncodings(t *testing.T) {
	zh, err := os.ReadFile("testdata/catalogue-zh.csv")
	if err != nil {
		t.Fatal(err)
	}
	gbkFile, err := os.ReadFile("testdata/catalogue-gbk.csv")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(gbkFile, zh) || !bytes.Equal(gbkFile, encode(t, zh, simplifiedchinese.GBK.NewEncoder())) {
		t.Fatal("testdata/catalogue-gbk.csv is not catalogue-zh.csv in GBK")
	}
	utf16File, err := os.ReadFile("testdata/catalogue-utf16.txt")
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := ParseCatalogue(bytes.NewReader(zh), ImportOptions{Format: FormatCSV})
	if err != nil || len(want) != 3 {
		t.Fatal(err)
	}
	// A character outside GBK, which GB18030 writes in four bytes.
	rare := bytes.Replace(zh, []byte("髋关节假体"), []byte("髋关节假体𠀾"), 1)
	wantRare := append([]CatalogueEntry(nil), want...)
	wantRare[0].Name = strings.Replace(wantRare[0].Name, "髋关节假体", "髋关节假体𠀾", 1)
	be16 := encode(t, zh, unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewEncoder())
	le16NoBOM := encode(t, zh, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewEncoder())

	for _, c := range []struct {
		name     string
		in       []byte
		encoding string
		want     []CatalogueEntry
		used     string
	}{
		{"UTF-8", zh, "", want, EncodingUTF8},
		{"UTF-8 with BOM", append([]byte("\uFEFF"), zh...), "", want, EncodingUTF8},
		{"GBK detected", gbkFile, "", want, EncodingGB18030},
		{"GBK named", gbkFile, "GBK", want, EncodingGB18030},
		{"GB18030 four-byte character", encode(t, rare, simplifiedchinese.GB18030.NewEncoder()), "", wantRare, EncodingGB18030},
		{"UTF-16LE with BOM, tab-separated (Excel Unicode text)", utf16File, "", want, EncodingUTF16LE},
		{"UTF-16BE with BOM", be16, "", want, EncodingUTF16BE},
		{"UTF-16LE without BOM, named", le16NoBOM, "utf-16", want, EncodingUTF16LE},
		{"UTF-8 named", zh, "utf8", want, EncodingUTF8},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, rep, err := ParseCatalogue(bytes.NewReader(c.in), ImportOptions{Format: FormatCSV, Encoding: c.encoding})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %+v\nwant %+v", got, c.want)
			}
			if rep.Encoding != c.used || rep.Converted() != (c.used != EncodingUTF8) {
				t.Errorf("encoding %q converted %v, want %q", rep.Encoding, rep.Converted(), c.used)
			}
		})
	}

	// Latin-1 letters followed by a letter make valid GB18030 (so the
	// second line passes for Chinese); one followed by a space does not.
	latin1 := []byte("gtin,name,manufacturer,unit_price\n06901234100013,Prothèse,x,1\n09520123456788,Tige fémorale,Société Médicale,2\n")
	latin1 = bytes.ReplaceAll(latin1, []byte("è"), []byte{0xE8})
	latin1 = bytes.ReplaceAll(latin1, []byte("é"), []byte{0xE9})
	for _, c := range []struct {
		name, encoding string
		in             []byte
		msg            string
	}{
		{"Latin-1", "", latin1, "not UTF-8 at byte 54 (line 2) and not GB18030 either (line 3)"},
		{"GBK named UTF-8", "utf-8", gbkFile, "not UTF-8 at byte 0 (line 1)"},
		{"UTF-8 BOM then GBK", "", append([]byte("\uFEFF"), gbkFile...), "starts with a UTF-8 byte order mark but is not UTF-8 at byte 3"},
		{"Latin-1 named GBK", "gbk", latin1, "not GB18030 at line 3"},
		{"UTF-16 cut in a character", "", utf16File[:len(utf16File)-1], "not UTF-16LE at line 4"},
		{"UTF-16 without BOM", "", le16NoBOM, "UTF-16 text without a byte order mark?"},
		{"unknown encoding", "big5", zh, `"big5" is not an encoding the importer reads`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, rep, err := ParseCatalogue(bytes.NewReader(c.in), ImportOptions{Format: FormatCSV, Encoding: c.encoding})
			if !errors.Is(err, ErrEncoding) || got != nil || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("err %v (%d entries, %+v), want ErrEncoding with %q", err, len(got), rep, c.msg)
			}
		})
	}
}

// TestImportGBKRowErrors: the line of a bad row and the value it quotes
// are those of the converted text.
func TestImportGBKRowErrors(t *testing.T) {
	in := encode(t, []byte("产品标识,名称,单价\n06901234100013,股骨柄,6850\n06901234100020,髋臼杯,五千\n"), simplifiedchinese.GBK.NewEncoder())
	_, _, err := ParseCatalogue(bytes.NewReader(in), ImportOptions{Format: FormatCSV})
	var be *BadRowsError
	if !errors.As(err, &be) || len(be.Rows) != 1 || be.Rows[0].Error() != `line 3: column unit_price: "五千" is not an amount (write yuan with up to two decimals: 1234.50)` {
		t.Errorf("%v", err)
	}
}

// TestImportTooLarge: a file over the limit is refused, naming it,
// without reading further.
func TestImportTooLarge(t *testing.T) {
	defer func(n int) { fileLimit = n }(fileLimit)
	fileLimit = 1 << 10
	in := "gtin,name,unit_price\n" + strings.Repeat("06901234100013,股骨柄,6850\n", 100)
	_, _, err := ParseCatalogue(strings.NewReader(in), ImportOptions{Format: FormatCSV})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "more than 1024 bytes") {
		t.Errorf("%v", err)
	}
	under := in[:strings.LastIndexByte(in[:1<<10], '\n')+1]
	if _, _, err := ParseCatalogue(strings.NewReader(under), ImportOptions{Format: FormatCSV}); err != nil {
		t.Errorf("a file under the limit: %v", err)
	}
}

// TestReadFileBounded: a file of unknown size (an upload) is read into
// a buffer that never grows beyond the bound, whether the file is within
// it or goes on beyond it.
func TestReadFileBounded(t *testing.T) {
	defer func(n int) { fileLimit = n }(fileLimit)
	fileLimit = 100_000
	most := fileLimit + 1 + bytes.MinRead
	for _, size := range []int{fileLimit, 3 * fileLimit} {
		// A reader that does not tell its size, as a request body.
		r := io.MultiReader(strings.NewReader(strings.Repeat("x", size)))
		b, err := readFile("catalogue", r)
		switch {
		case size <= fileLimit && (err != nil || len(b) != size || cap(b) > most):
			t.Errorf("%d bytes: %d read into a buffer of %d (at most %d): %v", size, len(b), cap(b), most, err)
		case size > fileLimit && !errors.Is(err, ErrTooLarge):
			t.Errorf("%d bytes: %v", size, err)
		}
	}
}

// TestPrepareSet: what the centre publishes is UTF-8, is the file itself
// when every row is good, and when a partial import left rows out, the
// good rows only, which a gateway reading strictly takes as the same
// entries.
func TestPrepareSet(t *testing.T) {
	zh, _ := os.ReadFile("testdata/catalogue-zh.csv")
	gbkFile, _ := os.ReadFile("testdata/catalogue-gbk.csv")
	out, rep, err := PrepareSet("catalogue", bytes.NewReader(gbkFile), ImportOptions{Format: FormatCSV})
	if err != nil || !bytes.Equal(out, zh) || rep.Encoding != EncodingGB18030 {
		t.Fatalf("GBK file: %v, %+v\n%s", err, rep, out)
	}
	if _, _, err := PrepareSet("catalogue", strings.NewReader(fiveBadOfSix), ImportOptions{Format: FormatCSV}); !errors.Is(err, ErrBadRows) {
		t.Fatalf("bad rows, strict: %v", err)
	}

	badCSV, _ := os.ReadFile("testdata/catalogue-bad.csv")
	badJSON, _ := os.ReadFile("testdata/catalogue-bad.json")
	recalls := "gtin,lots,reason\n06901234200010,B1;B2,破损\n06901234200011,B3,x\n,,\n06901234100013,,\"整个产品, 召回\"\n"
	for _, c := range []struct {
		set, format string
		in          []byte
		kept        int
	}{
		{"catalogue", FormatCSV, badCSV, 2},
		{"catalogue", FormatJSON, badJSON, 2},
		{"recalls", FormatCSV, []byte(recalls), 2},
	} {
		t.Run(c.set+"."+c.format, func(t *testing.T) {
			var direct sets
			_, _, err := readSet(c.set, c.in, ImportOptions{Format: c.format, Partial: true}, &direct, nil)
			if err != nil {
				t.Fatal(err)
			}
			out, rep, err := PrepareSet(c.set, bytes.NewReader(c.in), ImportOptions{Format: c.format, Partial: true})
			if err != nil || rep.Kept != c.kept || len(rep.Rejected) == 0 {
				t.Fatalf("%v, %+v", err, rep)
			}
			var again sets
			_, rep, err = readSet(c.set, out, ImportOptions{Format: c.format}, &again, nil)
			if err != nil || rep.Kept != c.kept {
				t.Fatalf("the prepared file, read strictly: %v\n%s", err, out)
			}
			if !reflect.DeepEqual(again.export(), direct.export()) {
				t.Errorf("prepared file gives %+v\nthe file partially %+v\n%s", again, direct, out)
			}
		})
	}
}
