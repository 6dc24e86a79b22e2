package barcode

import "testing"

func TestSplitAIM(t *testing.T) {
	tests := []struct{ in, sym, data string }{
		{"]C1011231231231233310ABC123\x1d99TESTING", "]C1", "011231231231233310ABC123\x1d99TESTING"},
		{"]d2010952", "]d2", "010952"},
		{"]Q3", "]Q3", ""},
		{"]E02112345678900", "]E0", "2112345678900"},
		{"]e0x", "]e0", "x"},
		{"]X0abc", "]X0", "abc"}, // other symbology
		{"]LA", "]LA", ""},       // modifiers may be letters
		{"+A123BJC5D6E71G", "", "+A123BJC5D6E71G"},
		{"", "", ""},
		{"]", "", "]"},
		{"]C", "", "]C"},
		{"]1A0", "", "]1A0"},       // code character must be a letter
		{"]C\x1d0", "", "]C\x1d0"}, // modifier must be a letter or digit
		{"[C1x", "", "[C1x"},
		{" ]C1x", "", " ]C1x"},
	}
	for _, tt := range tests {
		sym, data := SplitAIM([]byte(tt.in))
		if sym != tt.sym || string(data) != tt.data {
			t.Errorf("SplitAIM(%q) = %q, %q; want %q, %q", tt.in, sym, data, tt.sym, tt.data)
		}
	}
}
