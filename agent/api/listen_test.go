package api_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/agent/api"
)

// TestListenUnixPathTooLong: a socket path longer than a unix socket's
// address holds is refused with an error that says so and names the
// path, not the kernel's "bind: invalid argument".
func TestListenUnixPathTooLong(t *testing.T) {
	t.Chdir(t.TempDir()) // relative paths: their length is the test's own
	path := strings.Repeat("s", api.MaxSocketPath+1)
	_, err := api.ListenUnix(path, "")
	if !errors.Is(err, api.ErrSocketPathTooLong) || !strings.Contains(err.Error(), path) {
		t.Fatalf("ListenUnix of a %d-byte path: %v", len(path), err)
	}
	ln, err := api.ListenUnix(path[:len(path)-1], "")
	if err != nil {
		t.Fatalf("ListenUnix of a %d-byte path: %v", len(path)-1, err)
	}
	ln.Close()
}
