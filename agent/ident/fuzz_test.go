package ident

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error is an *Error
// wrapping one of the sentinels, that a hex length fault never quotes the
// text, and that every key a reading names reads back (readBack: exactly,
// as a further candidate, or as an exception the package doc names).
// Seeds: testdata/fuzz/FuzzParse and the vectors.
func FuzzParse(f *testing.F) {
	v := loadVectors(f)
	for _, x := range v.GS1 {
		f.Add(x.Input)
	}
	for _, x := range v.DL {
		f.Add(x.Input)
	}
	for _, x := range v.HIBC {
		f.Add(x.Input)
	}
	for _, x := range append(v.SGTIN96, v.SGTIN198...) {
		f.Add(x.Hex)
		f.Add(x.PC + " " + x.Hex)
		f.Add(x.Expected.PureURI)
	}
	for _, x := range []string{maCode, maDI, maDI + ".LAY21062803", ahmCode, "https://udi.example.cn/q?code=" + maCode,
		`<UDI IAC="MA"><DI>` + maDI + `</DI><SN>LMSAGAAAC</SN><LOT>AY21062803</LOT></UDI>`} {
		f.Add(x)
	}
	_, _, plainErr := Code{Kind: KindPlain}.TraceKey()
	sentinels := []error{ErrEmpty, ErrBarcode, ErrEPCHex, ErrEPCURI}

	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !slices.Contains(sentinels, e.Err) {
				t.Fatalf("Parse(%q) error %v (%T) is not an *Error with a sentinel", s, err, err)
			}
			if in := strings.TrimSpace(s); errors.Is(err, ErrEPCHex) && len(in) >= 4 && strings.Contains(err.Error(), in) {
				t.Fatalf("Parse(%q) error %q quotes the text", s, err)
			}
			return
		}
		seen := map[string]bool{}
		for i, x := range c.Candidates() {
			if i > 0 && x.Ambiguous() {
				t.Fatalf("Parse(%q): candidate %d has candidates of its own", s, i)
			}
			k := x.Key()
			key, prefix, terr := x.TraceKey()
			if k == "" {
				if !errors.Is(terr, ErrNotItem) {
					t.Fatalf("Parse(%q): no key, TraceKey error %v", s, terr)
				}
				if x.Kind == KindPlain && terr.Error() != plainErr.Error() {
					t.Fatalf("Parse(%q): plain code refused as %q, not %q", s, terr, plainErr)
				}
				continue
			}
			if terr != nil || key != k || prefix && !InProduct(k+"/S1", key) && !InProduct(k+"(21)1", key) {
				t.Fatalf("Parse(%q): Key %q, TraceKey %q %v %v", s, k, key, prefix, terr)
			}
			if seen[k] {
				t.Fatalf("Parse(%q): key %q twice among the candidates", s, k)
			}
			seen[k] = true
			if strings.TrimSpace(k) == k {
				readBack(t, k)
			}
		}
	})
}
