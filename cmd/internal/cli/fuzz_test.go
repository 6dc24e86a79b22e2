package cli

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// fuzzConfig is a configuration shape with what real ones have: nested
// objects, lists of objects, maps.
type fuzzConfig struct {
	Gateway string `json:"gateway"`
	Ledger  struct {
		MaxBatch int `json:"max_batch"`
	} `json:"ledger"`
	Scanners []struct {
		ID string `json:"id"`
	} `json:"scanners"`
	Rules map[string]string `json:"rules"`
}

// FuzzParseJSONConfig parses any bytes as a configuration file: it is
// accepted, or refused with a *ConfigError whose Where names the file or
// a key a reader can find (never empty, never a bare dot), and whose
// message is more than the place.
func FuzzParseJSONConfig(f *testing.F) {
	for _, s := range []string{
		`{"gateway":"g","ledger":{"max_batch":5},"scanners":[{"id":"a"}],"rules":{"x":"y"}}`,
		`{"gateway":"g","ledger":{"max_batch":5},"scan`, `{"": ""}`, `{"ledger":{"":1}}`, `{"scanners":[{"id":"a","":2}]}`,
		`{"ledger":[]}`, `{"scanners":{}}`, `{"nope":1}`, `{"ledger":{"max_batch":1,"x":2}}`, `{} {}`, `[]`, ``, `{"a.b":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := ParseJSONConfig("c.json", b, reflect.TypeOf(fuzzConfig{}))
		if err == nil {
			return
		}
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Fatalf("%q: %v is not a *ConfigError", b, err)
		}
		if ce.Where == "" || strings.HasPrefix(ce.Where, ".") || strings.HasSuffix(ce.Where, ".") || strings.Contains(ce.Where, "..") {
			t.Fatalf("%q: error %q names no place", b, err)
		}
		if ce.Err == nil || ce.Err.Error() == "" {
			t.Fatalf("%q: error at %q says nothing", b, ce.Where)
		}
	})
}
