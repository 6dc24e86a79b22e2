package edge

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/agent/api"
)

// TestSocketPathTooLong: a ledger deep in a long path, whose control
// socket (the store's path with .sock) would be longer than a unix socket
// allows, stops the agent at start with a configuration error naming the
// socket key, not the kernel's "bind: invalid argument".
func TestSocketPathTooLong(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 50), strings.Repeat("e", 50))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Gateway, cfg.Store = "gw-deep", filepath.Join(dir, "ledger.db")
	off := ""
	cfg.Metrics.Listen, cfg.Page.Listen = &off, &off
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a := NewAgent(cfg, nil)
	err := a.Open()
	if err == nil {
		a.Close()
	}
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Where != "socket" || !errors.Is(err, api.ErrSocketPathTooLong) {
		t.Fatalf("open with a %d-byte socket path: %v", len(cfg.SocketPath()), err)
	}
}
