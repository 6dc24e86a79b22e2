package epc

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// The shared vectors (testdata/vectors/codes.json at the module root); each
// entry names its public source.
const codesPath = "../../testdata/vectors/codes.json"

type sgtinExpected struct {
	Header        string `json:"header"`
	Filter        int    `json:"filter"`
	Partition     int    `json:"partition"`
	CompanyPrefix string `json:"company_prefix"`
	ItemRef       string `json:"indicator_item_ref"`
	Serial        string `json:"serial"`
	GTIN          string `json:"gtin"`
	PureURI       string `json:"pure_identity_uri"`
	TagURI        string `json:"tag_uri"`
	ElementString string `json:"element_string"`
	DigitalLink   string `json:"digital_link"`
	FilterName    string `json:"filter_name"`
}

type sgtinVector struct {
	InputHex string        `json:"input_hex"`
	PCWord   string        `json:"pc_word"`
	Expected sgtinExpected `json:"expected"`
	Source   string        `json:"source"`
}

type pcVector struct {
	EPCBits int    `json:"epc_bits"`
	PCHex   string `json:"expected_pc_hex"`
	Source  string `json:"source"`
}

type codeVectors struct {
	SGTIN96  []sgtinVector `json:"sgtin96"`
	SGTIN198 []sgtinVector `json:"sgtin198"`
	Gen2PC   []pcVector    `json:"gen2_pc"`
}

func loadVectors(t testing.TB) codeVectors {
	t.Helper()
	raw, err := os.ReadFile(filepath.FromSlash(codesPath))
	if err != nil {
		t.Fatalf("read vectors: %v", err)
	}
	var v codeVectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("parse %s: %v", codesPath, err)
	}
	if len(v.SGTIN96) == 0 || len(v.SGTIN198) == 0 || len(v.Gen2PC) == 0 {
		t.Fatalf("%s: sgtin96, sgtin198 or gen2_pc section empty", codesPath)
	}
	return v
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}
