//go:build linux

package bolt

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// deadPID returns the id of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("no process to take a dead id from: %v", err)
	}
	return cmd.Process.Pid
}

// leaveCreation leaves what a process killed while it created the ledger
// at path leaves: its temporary bbolt file, named after its id.
func leaveCreation(t *testing.T, path string) string {
	t.Helper()
	tmp := fmt.Sprintf("%s.init-%d", path, deadPID(t))
	db, err := bolt.Open(tmp, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return tmp
}

// names lists dir.
func names(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// TestOpenSweepsCreationsCutOff: a process killed while it created the
// ledger (the startup-crash campaign kills agents at random moments of
// their start) leaves its temporary file beside the path. The next Open,
// holding the path's lock, removes it, whether the dead process got as
// far as linking the ledger into place or not; files of other names stay.
func TestOpenSweepsCreationsCutOff(t *testing.T) {
	for _, linked := range []bool{false, true} {
		t.Run(fmt.Sprintf("linked=%t", linked), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "ledger.db")
			if linked {
				l := openWriter(t, path)
				submitBurst(t, l, "before", 0, 3)
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
			}
			stale := []string{leaveCreation(t, path), leaveCreation(t, path)}
			others := []string{"ledger.db.init-x", "other.db.init-1", "ledger.db.init-"}
			for _, o := range others {
				if err := os.WriteFile(filepath.Join(dir, o), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			l := openTest(t, Options{Path: path})
			if linked && l.LastSeq() != 3 {
				t.Fatalf("the ledger holds %d movements, want 3", l.LastSeq())
			}
			got := names(t, dir)
			for _, s := range stale {
				if slices.Contains(got, filepath.Base(s)) {
					t.Errorf("%s left beside the ledger: %q", filepath.Base(s), got)
				}
			}
			for _, o := range others {
				if !slices.Contains(got, o) {
					t.Errorf("%s removed: %q", o, got)
				}
			}
		})
	}
}
