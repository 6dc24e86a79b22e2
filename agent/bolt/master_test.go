package bolt

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestMasterData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	l := openTest(t, Options{Path: path})
	if _, err := l.Master(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty ledger: %v", err)
	}
	if err := l.PutMaster([]byte("set-1")); err != nil {
		t.Fatal(err)
	}
	if err := l.PutMaster([]byte("set-2")); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	got, err := ro.Master()
	if err != nil || !bytes.Equal(got, []byte("set-2")) {
		t.Fatalf("after reopen: %q %v", got, err)
	}
	if err := ro.PutMaster([]byte("x")); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("read-only put: %v", err)
	}
	if err := ro.Verify(t.Context()); err != nil {
		t.Fatalf("verify with a master bucket: %v", err)
	}
}
