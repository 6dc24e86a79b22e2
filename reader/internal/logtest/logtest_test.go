package logtest

import (
	"bytes"
	"log/slog"
	"reflect"
	"testing"
)

func TestDuplicateKeys(t *testing.T) {
	for _, tt := range []struct {
		line string
		dups []string
	}{
		{`{"a":1,"b":"a","c":{"a":2}}`, nil},
		{`{"a":1,"a":2}`, []string{"a"}},
		{`{"a":{"x":[{"x":1},{"x":2,"x":3}],"y":{},"y":null},"a":true}`, []string{"a.x.x", "a.y", "a"}},
		{`{"s":"\"a\":1,\"a\":2"}`, nil}, // keys inside a string are not keys
	} {
		dups, err := DuplicateKeys([]byte(tt.line))
		if err != nil || !reflect.DeepEqual(dups, tt.dups) {
			t.Errorf("DuplicateKeys(%s) = %v, %v; want %v", tt.line, dups, err, tt.dups)
		}
	}
	for _, bad := range []string{`{"a":1`, `{1:2}`, `nope`} {
		if _, err := DuplicateKeys([]byte(bad)); err == nil {
			t.Errorf("DuplicateKeys(%s): no error", bad)
		}
	}
}

// TestSlogWritesDuplicates shows the fault the check is for: a key added
// by a caller's With and again by a driver appears twice in slog's JSON.
func TestSlogWritesDuplicates(t *testing.T) {
	var b bytes.Buffer
	slog.New(slog.NewJSONHandler(&b, nil)).With("scanner", "or-3").With("scanner", "or-3").Info("x")
	dups, err := DuplicateKeys(b.Bytes())
	if err != nil || !reflect.DeepEqual(dups, []string{"scanner"}) {
		t.Fatalf("DuplicateKeys(%s) = %v, %v; want [scanner]", b.Bytes(), dups, err)
	}
}
