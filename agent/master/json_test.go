package master

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
)

// refReadJSON is how files were read before jsonLexer, with
// encoding/json's decoder, element by element (jsonArray): the reference
// FuzzReadJSON holds jsonLexer to.
func refReadJSON(text []byte, s *schema, emit func(*row)) error {
	r := &row{s: s, vals: make([]string, len(s.cols)), set: make([]bool, len(s.cols))}
	return jsonArray(text, s, func(i int, raw json.RawMessage) {
		r.reset()
		r.index = i
		refJSONRow(r, raw)
		emit(r)
	})
}

func refJSONRow(r *row, raw json.RawMessage) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	t, err := d.Token()
	if d, ok := t.(json.Delim); err != nil || !ok || d != '{' {
		r.report("", "is not an object")
		return
	}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			r.report("", "unreadable object")
			return
		}
		k, _ := t.(string)
		var v any
		if err := d.Decode(&v); err != nil {
			r.report(k, "unreadable value")
			return
		}
		c := -1
		for i, col := range r.s.cols {
			if col.name == k {
				c = i
				break
			}
		}
		if c < 0 {
			r.report(k, "unknown key (known: "+r.s.names()+")")
			continue
		}
		if r.set[c] {
			r.report(k, "given twice")
			continue
		}
		col := r.s.cols[c]
		bad := func(what string) { r.report(k, "is "+what+", not a string") }
		switch x := v.(type) {
		case nil:
			continue
		case string:
			r.vals[c] = strings.TrimSpace(x)
		case json.Number:
			r.vals[c] = x.String()
		case bool:
			r.vals[c] = fmt.Sprint(x)
		case []any:
			if !col.list {
				bad("an array")
				continue
			}
			parts := make([]string, 0, len(x))
			ok := true
			for _, e := range x {
				s, isStr := e.(string)
				if !isStr || strings.ContainsAny(s, ";|") {
					ok = false
					break
				}
				parts = append(parts, strings.TrimSpace(s))
			}
			if !ok {
				r.report(k, "must be an array of strings")
				continue
			}
			r.vals[c] = strings.Join(parts, ";")
		default:
			bad("an object")
			continue
		}
		r.set[c] = true
	}
}

// jsonRows reads text with read and returns what every row held, and
// the error.
func jsonRows(read func([]byte, *schema, func(*row)) error, text []byte, s *schema) ([]string, error) {
	var rows []string
	err := read(text, s, func(r *row) {
		rows = append(rows, fmt.Sprintf("%d %q %v %v", r.index, r.vals, r.set, r.errs))
	})
	return rows, err
}

// FuzzReadJSON holds jsonLexer to encoding/json: whatever the bytes, a
// file reads to the same rows (values, columns set, problems) and the
// same error as encoding/json's decoder reads it (refReadJSON), with the
// recalls' columns (lists) and the catalogue's.
func FuzzReadJSON(f *testing.F) {
	for _, name := range []string{"catalogue.json", "catalogue-bad.json", "recalls.json", "settlements.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`[{"gtin":"06901234200010","lots":["B1"," B2 ",""],"reason":"x\u00e9\ud83d\ude00\ud800\u0041\/\"\\\b\f\n\r\t"}]`,
		`[ {"lots":[1,["a"],{"b":2},"c"],"serials":"S;1","reason":null,"reason":"again","reason":"twice"} , 3, [1,[2]], "x", null, {} ]`,
		`[{"gtin":-1.5e+3,"date":true,"reason":false,"hibc":{"a":[{"b":"}"}]},"x":{"y":["]"]}}]`,
		`[{"lots":"a|b","serials":[" a;b "]},{"lots":[]}]`,
		"[{\"reason\":\"\u00a0 spaced\\u0020 \"}]\n",
		`[] []`, `[{"gtin": "1"},`, `{"gtin": "1"}`, ``, ` [ ] `, `[{"a" 1}]`, `[01]`, `["\ud83d"]`, `[{"reason":"\x01"}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		text, _, err := decodeText("recalls", in, "")
		if err != nil {
			return // the readers see UTF-8 only
		}
		for _, s := range []*schema{recallSchema, catalogueSchema} {
			want, werr := jsonRows(refReadJSON, text, s)
			got, gerr := jsonRows(readJSON, text, s)
			if fmt.Sprint(gerr) != fmt.Sprint(werr) || (werr == nil && !reflect.DeepEqual(got, want)) {
				t.Fatalf("%s: %q\nread   %q, %v\nwanted %q, %v", s.what, text, got, gerr, want, werr)
			}
		}
	})
}
