package master

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// FuzzParseCatalogueCSV checks that the CSV parser never panics, that
// every record is kept, reported or blank, that every error names a line
// inside the input, and that every kept entry passes NewData's checks.
func FuzzParseCatalogueCSV(f *testing.F) {
	for _, name := range []string{"catalogue.csv", "catalogue-zh.csv", "catalogue-bad.csv"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("gtin,name,unit_price\n06901234100013,\"a\nb\",1\n\"x"))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, errs, st, err := parseStats(bytes.NewReader(in), "csv", catalogueSchema, buildCatalogue)
		if err != nil {
			if got != nil || errs != nil {
				t.Fatal("results with a file error")
			}
			return
		}
		lines := bytes.Count(in, []byte("\n")) + bytes.Count(in, []byte("\r")) + 1
		bad := map[int]bool{}
		for _, e := range errs {
			if e.Line < 2 || e.Line > lines || e.Index != -1 || e.Reason == "" {
				t.Fatalf("error %+v outside the input's %d lines", e, lines)
			}
			if !strings.HasPrefix(e.Error(), "line ") {
				t.Fatalf("message %q", e.Error())
			}
			bad[e.Line] = true
		}
		if len(got)+len(bad)+st.blank != st.records {
			t.Fatalf("%d kept + %d reported + %d blank != %d records", len(got), len(bad), st.blank, st.records)
		}
		if _, err := NewData("fuzz", got, nil, nil, nil); err != nil {
			t.Fatalf("kept entry fails NewData: %v", err)
		}
	})
}
