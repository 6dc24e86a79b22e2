//go:build linux

package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestStrayFiles: what a kill can leave beside a ledger (bbolt's
// creation temporary, a key's temporary, the tip's) is stray; what a
// stopped agent keeps, and other gateways' files, are not.
func TestStrayFiles(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"gw-1.json", "gw-1.db", "gw-1.db.tip", "gw-1.key", "gw-10.db.init-7", "scanner",
		"gw-1.db.init-4242", ".gw-1.key.123456", "gw-1.db.tip.new"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got := strayFiles(dir, "gw-1")
	slices.Sort(got)
	if want := []string{".gw-1.key.123456", "gw-1.db.init-4242", "gw-1.db.tip.new"}; !slices.Equal(got, want) {
		t.Errorf("stray files %q, want %q", got, want)
	}
}
