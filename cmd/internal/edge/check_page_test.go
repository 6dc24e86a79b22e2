package edge

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckPageFiles: run --check reads the station page's files as run
// does: a tokens file that cannot be read is a problem named by its key;
// a good one is none.
func TestCheckPageFiles(t *testing.T) {
	dir := t.TempDir()
	c := DefaultConfig()
	c.Gateway, c.Store = "gw", filepath.Join(dir, "ledger.db")
	addr := "127.0.0.1:0"
	c.Page.Listen = &addr
	c.Page.TokensFile = filepath.Join(dir, "tokens")
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range c.Check() {
		found = found || p.Where == "page.tokens_file" && strings.Contains(p.What, "tokens")
	}
	if !found {
		t.Fatalf("a missing tokens file: problems %v", c.Check())
	}
	if err := os.WriteFile(c.Page.TokensFile, []byte("0123456789abcdef0123456789abcdef nurse n-7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range c.Check() {
		if strings.HasPrefix(p.Where, "page") {
			t.Errorf("a good tokens file: %v", p)
		}
	}
}
