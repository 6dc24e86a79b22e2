package nhsa

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/encoding/unicode"
)

// threeRows is a header and three rows that exercise every field.
func threeRows() [][]string {
	return [][]string{
		header1306(),
		row1306(nil),
		row1306(map[string]string{
			"医疗目录编码":      codeB,
			"耗材名称":        "髋关节假体 股骨柄",
			"医疗器械唯一标识码":   gtinA + ";" + gtinB + "；" + gtinA,
			"限制使用标志":      "是",
			"医保限用范围":      "限髋关节置换术",
			"高值耗材标志":      "是",
			"植入材料和人体器官标志": "是",
			"植入或介入类标志":    "1",
			"一次性使用标志":     "否",
			"有效标志":        "1",
		}),
		row1306(map[string]string{
			"医疗目录编码":      "c" + codeC[1:], // lower-case c, normalised
			"医疗器械唯一标识码":   "(01)" + gtinD + "，" + gtinC + " MA.156.M0.100032.00002484",
			"医保通用名代码":     "null",
			"高值耗材标志":      "",
			"植入材料和人体器官标志": "N",
			"有效标志":        "0",
		}),
	}
}

func TestReadCatalogueHeader(t *testing.T) {
	got, sum, err := readItems(t, []byte(tsv("\n", threeRows()...)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Item{{
		Line: 2, Code: codeA, Name: "一次性使用体外循环管路", UDIDI: []string{gtinA},
		GenericNameCode: "C0910010000", GenericName: "体外循环管路", SpecModel: "成人型 A-1",
		Restricted: FlagNo, HighValue: FlagYes, Implant: FlagNo, ImplantOrIntervention: FlagNo, SingleUse: FlagYes,
		Registration: "国械注准20203100001", Registrant: "某某医疗器械有限公司", Manufacturer: "某某医疗器械有限公司",
		Valid: FlagYes, RecordID: "rid-0001", Version: "20240101", VersionName: "医用耗材目录2024第1期",
	}}
	second := want[0]
	second.Line, second.Code, second.Name = 3, codeB, "髋关节假体 股骨柄"
	second.UDIDI = []string{gtinA, gtinB} // the repeat is dropped
	second.Restricted, second.RestrictionScope = FlagYes, "限髋关节置换术"
	second.Implant, second.ImplantOrIntervention, second.SingleUse = FlagYes, FlagYes, FlagNo
	third := want[0]
	third.Line, third.Code = 4, codeC
	third.UDIDI = []string{gtinD, gtinC, "MA.156.M0.100032.00002484"}
	third.GenericNameCode, third.HighValue, third.Implant, third.Valid = "", FlagUnset, FlagNo, FlagNo
	want = append(want, second, third)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("items:\n got %+v\nwant %+v", got, want)
	}
	if sum.Encoding != EncodingUTF8 || sum.Delimiter != '\t' || sum.Headerless || sum.Rows != 3 || sum.Passed != 3 || len(sum.Missing) != 0 {
		t.Errorf("summary %+v", sum)
	}
	if len(sum.Ignored) != 71-19 || !slices.Contains(sum.Ignored, "灭菌标志") {
		t.Errorf("ignored %d columns: %q", len(sum.Ignored), sum.Ignored)
	}
}

// A file saved from a sheet: comma-separated, the interface's English
// field names, a few columns in another order, a column of its own.
func TestReadCatalogueEnglishHeaderCSV(t *testing.T) {
	text := quoted(t, ',', false,
		[]string{"hospital_note", "HIGHVAL_MCS_FLAG", "MED_LIST_CODG", "mcs_name", "UDI", "impt_matl_hmorgn_flag"},
		[]string{"shelf 3", "1", codeD, "骨科钉, 钛合金", gtinB, "1"},
	)
	got, sum, err := readItems(t, []byte(text), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Code != codeD || got[0].Name != "骨科钉, 钛合金" || !got[0].HighValue.Yes() || !got[0].Implant.Yes() || got[0].SingleUse != FlagUnset {
		t.Errorf("items %+v", got)
	}
	if sum.Delimiter != ',' || !slices.Equal(sum.Ignored, []string{"hospital_note"}) || !slices.Contains(sum.Missing, "single_use") || slices.Contains(sum.Missing, "high_value") {
		t.Errorf("summary %+v", sum)
	}
}

// The interface's own download has no header: 71 cells by position.
func TestReadCatalogueHeaderless(t *testing.T) {
	rows := threeRows()[1:]
	got, sum, err := readItems(t, []byte(tsv("\r\n", rows...)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Headerless || sum.Rows != 3 || len(got) != 3 {
		t.Fatalf("summary %+v, %d items", sum, len(got))
	}
	if got[0].Line != 1 || got[0].Code != codeA || got[1].Code != codeB || !got[1].Implant.Yes() || got[2].Valid != FlagNo || got[2].VersionName != "医用耗材目录2024第1期" {
		t.Errorf("items %+v", got)
	}

	// One cell fewer is not the layout: refused, saying why.
	short := make([][]string, len(rows))
	for i, r := range rows {
		short[i] = r[:70]
	}
	_, _, err = readItems(t, []byte(tsv("\n", short...)), Options{})
	if !errors.Is(err, ErrHeader) || !strings.Contains(err.Error(), "71") || !strings.Contains(err.Error(), ": it has 70") {
		t.Errorf("70 cells, no header: %v", err)
	}
	// 71 cells that do not start with a code are not the layout either.
	bad := slices.Clone(rows[0])
	bad[0] = "编码"
	_, _, err = readItems(t, []byte(tsv("\n", bad)), Options{})
	if !errors.Is(err, ErrHeader) {
		t.Errorf("71 cells starting with %q: %v", bad[0], err)
	}
}

// A byte order mark, CRLF line ends and a last line without one.
func TestReadCatalogueBOMAndCRLF(t *testing.T) {
	text := "\uFEFF" + strings.TrimSuffix(tsv("\r\n", threeRows()...), "\r\n")
	got, sum, err := readItems(t, []byte(text), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Encoding != EncodingUTF8 || len(got) != 3 || got[2].VersionName != "医用耗材目录2024第1期" || got[0].Code != codeA {
		t.Errorf("summary %+v, items %+v", sum, got)
	}
	for _, it := range got {
		if strings.ContainsRune(it.VersionName, '\r') {
			t.Errorf("line %d keeps a CR: %q", it.Line, it.VersionName)
		}
	}
}

func TestReadCatalogueGB18030(t *testing.T) {
	text := gb18030(t, tsv("\r\n", threeRows()...))
	if bytes.Equal(text, []byte(tsv("\r\n", threeRows()...))) {
		t.Fatal("the test file is the same in both encodings")
	}
	want, _, err := readItems(t, []byte(tsv("\r\n", threeRows()...)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, sum, err := readItems(t, text, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Encoding != EncodingGB18030 || !reflect.DeepEqual(got, want) {
		t.Errorf("GB18030: summary %+v\n got %+v\nwant %+v", sum, got, want)
	}
	// Named, it is read the same; named wrongly as UTF-8, it is refused.
	if got, _, err := readItems(t, text, Options{Encoding: "GBK"}); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("named gbk: %v", err)
	}
	if _, _, err := readItems(t, text, Options{Encoding: "utf-8"}); !errors.Is(err, ErrEncoding) {
		t.Errorf("GB18030 named utf-8: %v", err)
	}
}

func TestReadCatalogueUTF16(t *testing.T) {
	text := tsv("\r\n", threeRows()...)
	want, _, err := readItems(t, []byte(text), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		enc  unicode.Endianness
		name string
	}{{unicode.LittleEndian, EncodingUTF16LE}, {unicode.BigEndian, EncodingUTF16BE}} {
		b, err := unicode.UTF16(tc.enc, unicode.UseBOM).NewEncoder().Bytes([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		got, sum, err := readItems(t, b, Options{})
		if err != nil || sum.Encoding != tc.name || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, summary %+v", tc.name, err, sum)
		}
		// Without its byte order mark it is refused unless named.
		noBOM := b[2:]
		if _, _, err := readItems(t, noBOM, Options{}); !errors.Is(err, ErrEncoding) || !strings.Contains(err.Error(), "NUL") {
			t.Errorf("%s without BOM: %v", tc.name, err)
		}
		if got, _, err := readItems(t, noBOM, Options{Encoding: strings.ToLower(tc.name)}); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s without BOM, named: %v", tc.name, err)
		}
	}
}

// Quoted cells: commas, quotes and a line break in a CSV; a tab inside a
// quoted cell of a tab-separated file. Quotes inside an unquoted cell are
// data (the interface's files do not quote).
func TestReadCatalogueQuoted(t *testing.T) {
	rows := threeRows()
	rows[1][1] = "导管, 16\"\n双腔"
	rows[2][1] = "注射器\t5ml"
	for _, delim := range []rune{',', '\t'} {
		text := quoted(t, delim, true, rows...)
		got, _, err := readItems(t, []byte(text), Options{})
		if err != nil {
			t.Fatalf("%q: %v", delim, err)
		}
		if got[0].Name != rows[1][1] || got[1].Name != rows[2][1] || got[1].Line != 4 || got[2].Line != 5 {
			t.Errorf("%q: names %q %q at lines %d %d %d", delim, got[0].Name, got[1].Name, got[0].Line, got[1].Line, got[2].Line)
		}
	}
	bare := threeRows()
	bare[1][1] = `导管 16" 双腔`
	got, _, err := readItems(t, []byte(tsv("\n", bare...)), Options{})
	if err != nil || got[0].Name != bare[1][1] {
		t.Errorf("bare quote: %v, %+v", err, got)
	}
}

// badFile has one good row, then a row of each kind of problem, then
// another good row.
func badFile() [][]string {
	rows := threeRows()[:2]
	return append(rows,
		row1306(map[string]string{"医疗目录编码": "C0910A100000000211790000049"}),
		row1306(map[string]string{"高值耗材标志": "2"}),
		row1306(map[string]string{"医疗器械唯一标识码": gtinA + ";06901234567893"}),
		row1306(map[string]string{"医疗目录编码": ""}),
		row1306(map[string]string{"医疗器械唯一标识码": "690123"}),
		row1306(nil)[:60],
		row1306(map[string]string{"医疗目录编码": "9.10010000000002E+25", "一次性使用标志": "yes"}),
		row1306(map[string]string{"医疗目录编码": codeE}),
	)
}

func TestReadCatalogueBadRows(t *testing.T) {
	got, sum, err := readItems(t, []byte(tsv("\n", badFile()...)), Options{})
	var be *BadRowsError
	if !errors.As(err, &be) || !errors.Is(err, ErrBadRows) {
		t.Fatalf("err = %v, want a *BadRowsError", err)
	}
	// fn got the row before the first bad one, and nothing after it.
	if len(got) != 1 || got[0].Code != codeA || sum.Passed != 1 {
		t.Errorf("fn got %d items (passed %d), want the first only", len(got), sum.Passed)
	}
	if be.File != "cat.txt" || be.Rows != 9 || be.Bad != 7 || sum.Rows != 9 {
		t.Errorf("rows %d bad %d (summary rows %d)", be.Rows, be.Bad, sum.Rows)
	}
	want := []struct {
		line   int
		column string
		reason string
	}{
		{3, "医疗目录编码", `character 6 is "A", want a digit (classification level 3, characters 6-7)`},
		{4, "高值耗材标志", `"2" is not a flag`},
		{5, "医疗器械唯一标识码", `"06901234567893" is not a GTIN: its check digit should be 2`},
		{6, "医疗目录编码", "missing"},
		{7, "医疗器械唯一标识码", "6 of them"},
		{8, "", "has 60 cells, the header has 71"},
		{9, "医疗目录编码", "scientific notation"},
		{9, "一次性使用标志", `"yes" is not a flag`},
	}
	if len(be.Errors) != len(want) {
		t.Fatalf("%d problems, want %d: %v", len(be.Errors), len(want), err)
	}
	for i, w := range want {
		e := be.Errors[i]
		if e.File != "cat.txt" || e.Line != w.line || e.Column != w.column || !strings.Contains(e.Reason, w.reason) {
			t.Errorf("problem %d = %v; want line %d column %q: %q", i, &e, w.line, w.column, w.reason)
		}
	}
	if !errors.Is(&be.Errors[0], ErrCode) || !errors.Is(&be.Errors[1], ErrRow) {
		t.Errorf("row errors wrap %v and %v", be.Errors[0].Err, be.Errors[1].Err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "7 of 9 rows bad, the file is refused whole") || !strings.Contains(msg, "cat.txt:4: column 高值耗材标志") {
		t.Errorf("message %q", msg)
	}
}

func TestReadCatalogueSkipBadRows(t *testing.T) {
	got, sum, err := readItems(t, []byte(tsv("\n", badFile()...)), Options{SkipBadRows: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Code != codeA || got[1].Code != codeE || got[1].Line != 10 {
		t.Errorf("items %+v", got)
	}
	if sum.Rows != 9 || sum.Passed != 2 || sum.RejectedRows != 7 || len(sum.Rejected) != 8 || sum.Rejected[0].Line != 3 {
		t.Errorf("summary %+v", sum)
	}
	// Not one good row: refused all the same.
	rows := badFile()
	rows = append(rows[:1], rows[2:len(rows)-1]...)
	_, _, err = readItems(t, []byte(tsv("\n", rows...)), Options{SkipBadRows: true})
	var be *BadRowsError
	if !errors.As(err, &be) || !be.NoGoodRow || !strings.Contains(err.Error(), "not one good row") {
		t.Errorf("no good row: %v", err)
	}
}

// However many rows are bad, the problems kept are bounded and the
// message quotes 20.
func TestReadCatalogueManyBadRowsBounded(t *testing.T) {
	rows := [][]string{header1306()}
	for range 500 {
		rows = append(rows, row1306(map[string]string{"有效标志": "x"}))
	}
	_, _, err := readItems(t, []byte(tsv("\n", rows...)), Options{})
	var be *BadRowsError
	if !errors.As(err, &be) || be.Bad != 500 || len(be.Errors) != MaxRejected {
		t.Fatalf("err %v", err)
	}
	if n := strings.Count(err.Error(), "is not a flag"); n != maxListed || !strings.HasSuffix(err.Error(), "and 480 more bad rows") {
		t.Errorf("message quotes %d problems: ...%s", n, err.Error()[len(err.Error())-40:])
	}
}

func TestReadCatalogueNullAndBlank(t *testing.T) {
	rows := threeRows()[:2]
	rows = append(rows,
		make([]string, 71), // a row of empty cells: skipped, not counted
		row1306(map[string]string{"医疗器械唯一标识码": "无", "高值耗材标志": "NULL", "规格型号": "null"}),
	)
	text := tsv("\n", rows...) + "\n\n"
	got, sum, err := readItems(t, []byte(text), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rows != 2 || len(got) != 2 || got[1].Line != 4 || got[1].UDIDI != nil || got[1].HighValue != FlagUnset || got[1].SpecModel != "" {
		t.Errorf("summary %+v, items %+v", sum, got)
	}
}

// Blank lines and a line of empty cells before the header are passed
// over; line numbers still count them.
func TestReadCatalogueLeadingBlankLines(t *testing.T) {
	for _, lead := range []string{"\r\n\n", "\t\t\n \n", "\uFEFF\n\n"} {
		got, sum, err := readItems(t, []byte(lead+tsv("\n", threeRows()...)), Options{})
		if err != nil || len(got) != 3 || sum.Headerless {
			t.Errorf("%q: %v, %d items, summary %+v", lead, err, len(got), sum)
			continue
		}
		if got[0].Line != 4 {
			t.Errorf("%q: first row at line %d", lead, got[0].Line)
		}
	}
	got, sum, err := readItems(t, []byte("\n\n"+tsv("\n", threeRows()[1:]...)), Options{})
	if err != nil || !sum.Headerless || len(got) != 3 || got[0].Line != 3 {
		t.Errorf("headerless after blank lines: %v, %+v", err, sum)
	}
}

func TestReadCatalogueHeaderErrors(t *testing.T) {
	h := header1306()
	noCode := slices.Clone(h)
	noCode[0] = "编码"
	twice := slices.Clone(h)
	twice[5] = "med_list_codg"
	for _, tc := range []struct {
		name   string
		header []string
		want   string
	}{
		{"no code column", noCode, "no column for code (name it 医疗目录编码, "},
		{"code twice", twice, "columns 1 (医疗目录编码) and 6 (med_list_codg) both name code"},
		{"no known column", []string{"a", "b", "c"}, "names none of the columns of the 1306 catalogue"},
	} {
		_, _, err := readItems(t, []byte(tsv("\n", tc.header, row1306(nil))), Options{})
		if !errors.Is(err, ErrHeader) || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "nhsa: cat.txt: ") {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestReadCatalogueEmpty(t *testing.T) {
	for name, text := range map[string]string{
		"nothing":     "",
		"blank lines": "\r\n\n  \n",
		"header only": tsv("\n", header1306()),
		"BOM only":    "\uFEFF",
	} {
		_, _, err := readItems(t, []byte(text), Options{})
		if !errors.Is(err, ErrEmpty) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestReadCatalogueEncodingErrors(t *testing.T) {
	good := tsv("\n", threeRows()...)
	// GB18030 rows after 64 KiB of UTF-8: the encoding changes part-way.
	var mixed bytes.Buffer
	mixed.WriteString(good)
	lines := 4
	for mixed.Len() < 80<<10 {
		mixed.WriteString(tsv("\n", row1306(nil)))
		lines++
	}
	mixed.Write(gb18030(t, tsv("\n", row1306(nil))))
	for _, tc := range []struct {
		name string
		text []byte
		opt  Options
		want string
	}{
		{"neither", append([]byte("医疗目录编码\t耗材名称\n"+codeA+"\t"), 0x80, 0x80, '\n'), Options{}, "not UTF-8 at byte"},
		{"NUL", []byte("医疗目录编码\x00\n"), Options{}, "NUL byte"},
		{"BOM then not UTF-8", append([]byte("\uFEFF医疗目录编码\n"), 0xC4, 0xE3, '\n'), Options{}, "byte order mark but is not UTF-8"},
		{"mixed", mixed.Bytes(), Options{}, fmt.Sprintf("cat.txt:%d: unreadable character encoding: not UTF-8", lines+1)},
		{"unknown name", []byte(good), Options{Encoding: "latin1"}, `"latin1" is not an encoding`},
	} {
		_, _, err := readItems(t, tc.text, tc.opt)
		if !errors.Is(err, ErrEncoding) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// An unclosed quote does not make the reader hold the rest of the file.
func TestReadCatalogueUnclosedQuote(t *testing.T) {
	rows := threeRows()
	rows[2][1] = `"unclosed`
	text := tsv("\n", rows...) + strings.Repeat(tsv("\n", row1306(nil)), (2*MaxRecordBytes)/300)
	_, _, err := readItems(t, []byte(text), Options{})
	if !errors.Is(err, ErrTooLong) || !strings.Contains(err.Error(), "after line 2") {
		t.Errorf("err %v", err)
	}
	// Short of the limit, the row swallows the rest and has the wrong
	// width: a bad row at the line it starts on.
	text = tsv("\n", rows...) + tsv("\n", row1306(nil))
	_, _, err = readItems(t, []byte(text), Options{})
	var be *BadRowsError
	if !errors.As(err, &be) || be.Errors[0].Line != 3 || !strings.Contains(be.Errors[0].Reason, "cells, the header has 71") {
		t.Errorf("err %v", err)
	}
}

// rowSource produces a header and n rows on demand, counting the bytes it
// has given.
type rowSource struct {
	n, given int
	buf      []byte
	row      []byte
}

func newRowSource(n int) *rowSource {
	return &rowSource{n: n, buf: []byte(tsv("\n", header1306())), row: []byte(tsv("\n", row1306(nil)))}
}

func (s *rowSource) Read(p []byte) (int, error) {
	for len(s.buf) < len(p) && s.n > 0 {
		s.buf = append(s.buf, s.row...)
		s.n--
	}
	if len(s.buf) == 0 {
		return 0, io.EOF
	}
	k := copy(p, s.buf)
	s.buf = s.buf[k:]
	s.given += k
	return k, nil
}

// Rows reach fn while the file is still being read, and an error of fn
// stops the reading.
func TestReadCatalogueStreams(t *testing.T) {
	src := newRowSource(200_000) // about 70 MB
	stop := errors.New("enough")
	var atFirst, items int
	sum, err := ReadCatalogue(src, "big.txt", Options{}, func(it Item) error {
		if items == 0 {
			atFirst = src.given
		}
		items++
		if items == 1000 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || !strings.Contains(err.Error(), "big.txt:1001: enough") {
		t.Errorf("err %v", err)
	}
	if atFirst > 256<<10 || src.given > 1<<20 {
		t.Errorf("%d bytes read before the first row reached fn, %d in all", atFirst, src.given)
	}
	if sum.Passed != 999 {
		t.Errorf("passed %d", sum.Passed)
	}
}
