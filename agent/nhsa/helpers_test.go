package nhsa

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// row1306 returns the 71 cells of a 1306 row in layout order: the
// defaults of a plain row, with the cells named in set (by their
// interface names) replaced.
func row1306(set map[string]string) []string {
	def := map[string]string{
		"医疗目录编码":      codeA,
		"耗材名称":        "一次性使用体外循环管路",
		"医疗器械唯一标识码":   gtinA,
		"医保通用名代码":     "C0910010000",
		"医保通用名":       "体外循环管路",
		"规格型号":        "成人型 A-1",
		"限制使用标志":      "0",
		"高值耗材标志":      "1",
		"植入材料和人体器官标志": "0",
		"植入或介入类标志":    "0",
		"一次性使用标志":     "1",
		"注册备案人名称":     "某某医疗器械有限公司",
		"注册备案号":       "国械注准20203100001",
		"生产企业名称":      "某某医疗器械有限公司",
		"有效标志":        "1",
		"唯一记录号":       "rid-0001",
		"版本号":         "20240101",
		"版本名称":        "医用耗材目录2024第1期",
		"开始日期":        "Mon Jan 01 00:00:00 CST 2024",
	}
	return cells(layout1306[:], def, set)
}

// cells returns a row of the columns names: the cells named in set, the
// others from def ("" when def has none).
func cells(names []string, def, set map[string]string) []string {
	out := make([]string, len(names))
	for i, name := range names {
		v, ok := set[name]
		if !ok {
			v = def[name]
		}
		out[i] = v
	}
	return out
}

// tsv joins rows into tab-separated text without quoting, each line ended
// by eol.
func tsv(eol string, rows ...[]string) string {
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(strings.Join(r, "\t"))
		b.WriteString(eol)
	}
	return b.String()
}

// quoted writes rows as CSV with encoding/csv (which quotes cells that
// need it), with delim as the separator.
func quoted(t testing.TB, delim rune, crlf bool, rows ...[]string) string {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Comma = delim
	w.UseCRLF = crlf
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// header1306 is the interface's column names as a header row.
func header1306() []string { return append([]string(nil), layout1306[:]...) }

// gb18030 encodes s in GB18030.
func gb18030(t testing.TB, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readItems reads a catalogue and returns the items fn got.
func readItems(t testing.TB, text []byte, opt Options) ([]Item, Summary, error) {
	t.Helper()
	var got []Item
	sum, err := ReadCatalogue(bytes.NewReader(text), "cat.txt", opt, func(it Item) error {
		got = append(got, it)
		return nil
	})
	return got, sum, err
}
