package barcode

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

// WireExample is one entry of testdata/barcode-wire.json: bytes as a
// scanner sends them and what they must be read as.
type WireExample struct {
	AIM    string `json:"aim"`
	Data   string `json:"data"`
	Suffix string `json:"suffix"`
	Hex    string `json:"wire_hex"`
	Note   string `json:"note"`
	// Wire is Hex decoded.
	Wire []byte `json:"-"`
}

// LoadWireExamples reads testdata/barcode-wire.json and checks that each
// example's wire bytes are its AIM identifier, data and suffix.
func LoadWireExamples(t testing.TB) []WireExample {
	t.Helper()
	b, err := os.ReadFile("../../testdata/vectors/barcode-wire.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Examples []WireExample `json:"examples"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatalf("barcode-wire.json: %v", err)
	}
	if len(file.Examples) == 0 {
		t.Fatal("barcode-wire.json: no examples")
	}
	for i := range file.Examples {
		ex := &file.Examples[i]
		ex.Wire, err = hex.DecodeString(ex.Hex)
		if err != nil {
			t.Fatalf("example %d (%s): wire_hex: %v", i, ex.Note, err)
		}
		if got, want := string(ex.Wire), ex.AIM+ex.Data+ex.Suffix; got != want {
			t.Fatalf("example %d (%s): wire_hex is %q, aim+data+suffix is %q", i, ex.Note, got, want)
		}
	}
	return file.Examples
}

// SuffixOf returns the Suffix whose bytes are s.
func SuffixOf(t testing.TB, s string) Suffix {
	t.Helper()
	for _, x := range []Suffix{SuffixCR, SuffixLF, SuffixCRLF} {
		if string(x.Bytes()) == s {
			return x
		}
	}
	if s == "" {
		return SuffixNone
	}
	t.Fatalf("no suffix sends %q", s)
	return ""
}
