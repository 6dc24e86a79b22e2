package nhsa

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzReadSpecs reads any bytes as a code release workbook, seeded with
// the sheet the tests read (CSV and tab-separated, GB18030, rows whose
// labels disagree with their code) whole and cut in two: it never
// panics; every spec fn gets has a 27-character code that parses to
// itself, an old code that is one (or none), labels that agree with the
// code and UDI-DIs without separators in them; without SkipBadRows fn
// gets no row after a bad one; the counts add up; and every error is one
// of the package's, each problem naming the file and a line.
func FuzzReadSpecs(f *testing.F) {
	good := quoted(f, ',', true, specHeader, specRow(nil),
		specRow(map[string]string{"原27位码": "", "原码状态": "", "类型": "新增", "UDI": "", "20位码": "", "三级分类": "其他"}))
	bad := quoted(f, ',', false, specHeader,
		specRow(map[string]string{"二级分类": "11-其他"}),
		specRow(map[string]string{"20位码": codeB[:20]}),
		specRow(map[string]string{"27位码": codeA[:20]}),
		specRow(map[string]string{"原27位码": "C0910"}),
		specRow(nil))
	for _, in := range [][]byte{[]byte(good), gb18030(f, good), []byte(bad), []byte(tsv("\n", specHeader, specRow(nil))),
		[]byte("27位码\n" + codeA + "\n"), []byte("\ufeff27位码,20位码\n" + codeA + "," + codeA[:20] + "\n")} {
		f.Add(in, false)
		f.Add(in, true)
		f.Add(in[:len(in)/2], false)
	}
	f.Fuzz(func(t *testing.T, in []byte, skip bool) {
		var specs []Spec
		sum, err := ReadSpecs(bytes.NewReader(in), "C09.csv", Options{SkipBadRows: skip}, func(s Spec) error {
			specs = append(specs, s)
			return nil
		})
		if sum.Passed != len(specs) {
			t.Fatalf("passed %d, fn got %d", sum.Passed, len(specs))
		}
		for _, s := range specs {
			if c, err := ParseCode(string(s.Code)); err != nil || c != s.Code || c.Len() != LongLen || s.Line < 1 {
				t.Fatalf("spec at line %d with code %q", s.Line, s.Code)
			}
			if s.OldCode != "" {
				if c, err := ParseCode(string(s.OldCode)); err != nil || c != s.OldCode {
					t.Fatalf("spec at line %d with old code %q", s.Line, s.OldCode)
				}
			}
			levels := s.Code.Levels()
			for i, l := range s.Levels {
				checkLabel(t, s, l, levels[i])
			}
			checkLabel(t, s, s.GenericCategory, s.Code.GenericName())
			checkLabel(t, s, s.Material, s.Code.Material())
			checkLabel(t, s, s.Feature, s.Code.Feature())
			for _, d := range s.UDIDI {
				if d == "" || strings.ContainsAny(d, " ;,、") {
					t.Fatalf("spec at line %d: UDI-DI %q", s.Line, d)
				}
			}
		}
		lines := make([]int, len(specs))
		for i, sp := range specs {
			lines[i] = sp.Line
		}
		checkOutcome(t, sum, err, skip, "C09.csv", lines)
	})
}

// checkLabel fails t when a label of s that starts with digits and a dash
// has digits other than want, the code's.
func checkLabel(t *testing.T, s Spec, label, want string) {
	t.Helper()
	v := narrow(label)
	i := strings.IndexByte(v, '-')
	if i > 0 && allDigits(v[:i]) && v[:i] != want {
		t.Fatalf("spec at line %d: label %q passed beside code %s (%s)", s.Line, label, s.Code, want)
	}
}
