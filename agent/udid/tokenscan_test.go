package udid

import (
	"bytes"
	"strings"
	"testing"
)

// TestTokenScan: the bare scan counts every device of a generated export,
// its dirt (bare &, XML-illegal characters) repaired, as the reader does;
// a document cut short is an error.
func TestTokenScan(t *testing.T) {
	var b bytes.Buffer
	if err := Generate(&b, 300, 7); err != nil {
		t.Fatal(err)
	}
	n, err := TokenScan(bytes.NewReader(b.Bytes()))
	if err != nil || n != 300 {
		t.Fatalf("TokenScan: %d devices, %v; want 300", n, err)
	}
	if _, err := TokenScan(strings.NewReader(b.String()[:b.Len()/2])); err == nil {
		t.Fatal("a document cut in half scanned without an error")
	}
	path := write(t, "export.xml", b.Bytes())
	if n, err := TokenScanFile(path); err != nil || n != 300 {
		t.Fatalf("TokenScanFile: %d devices, %v", n, err)
	}
}
