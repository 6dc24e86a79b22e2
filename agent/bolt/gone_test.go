package bolt

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The ledger file removed, or another file renamed over it, under an open
// ledger: nothing is answered accepted into the file the path no longer
// names.
func TestLedgerFileGoneRefusesMovements(t *testing.T) {
	for _, c := range []struct {
		what   string
		doIt   func(t *testing.T, path string)
		stated string
	}{
		{"removed", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}, "removed"},
		{"replaced", func(t *testing.T, path string) {
			other := filepath.Join(filepath.Dir(path), "other.db")
			appendN(t, other, 0, 2)
			if err := os.Rename(other, path); err != nil {
				t.Fatal(err)
			}
		}, "replaced"},
	} {
		t.Run(c.what, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "ledger.db")
			l := openWriter(t, path)
			ctx := context.Background()
			if _, err := l.Append(ctx, movementN("g", 0)); err != nil {
				t.Fatal(err)
			}
			c.doIt(t, path)
			for i := range 3 {
				_, err := l.Append(ctx, movementN("g", 1+i))
				var ge *GoneError
				if !errors.Is(err, ErrLedgerGone) || !errors.As(err, &ge) || ge.What != c.stated || ge.Path != path ||
					!strings.Contains(err.Error(), path+" was "+c.stated) {
					t.Fatalf("Append %d after the file was %s = %v", i, c.what, err)
				}
			}
			// The first transaction after went into the old file and was
			// answered with the error; the later ones were refused at Submit.
			if st := l.Stats(); st.Movements != 1 || st.Failed != 1 {
				t.Errorf("stats %+v, want 1 movement accepted, 1 failed", st)
			}
		})
	}
}

// A second writable Open of the same path is refused, in this process
// and, even after the file was deleted, in another one; once the holder
// dies the path opens again.
func TestSecondWriterRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := Open(Options{Path: path, Gateway: testGateway})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(Options{Path: path, Gateway: testGateway, LockTimeout: 50 * time.Millisecond})
	var le *LockedError
	if !errors.Is(err, ErrLocked) || !errors.As(err, &le) || le.PID != os.Getpid() {
		t.Errorf("second Open in the process = %v, want ErrLocked naming pid %d", err, os.Getpid())
	}
	// Through another name of the same directory too.
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(filepath.Dir(path), link); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Options{Path: filepath.Join(link, "ledger.db"), Gateway: testGateway, LockTimeout: 50 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		t.Errorf("Open through a symbolic link = %v, want ErrLocked", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l, err = Open(Options{Path: path, Gateway: testGateway})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	l.Close()
}

func TestSecondWriterRefusedAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	path := filepath.Join(t.TempDir(), "ledger.db")
	cmd, _, out := startHelper(t, "hold", path, 0)
	if !out.Scan() || out.Text() != "ready" {
		t.Fatalf("helper did not get ready: %q %v", out.Text(), out.Err())
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	// bbolt's lock went with the file; the path's lock did not.
	_, err := Open(Options{Path: path, Gateway: testGateway, LockTimeout: 100 * time.Millisecond})
	var le *LockedError
	if !errors.Is(err, ErrLocked) || !errors.As(err, &le) || le.PID != cmd.Process.Pid ||
		!strings.Contains(err.Error(), "process "+strconv.Itoa(cmd.Process.Pid)) {
		t.Fatalf("Open while another process holds the deleted file = %v, want ErrLocked naming pid %d", err, cmd.Process.Pid)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused Open created the file: %v", err)
	}
	// Killed, the holder lets go: the kernel closes its socket.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	l, err := Open(Options{Path: path, Gateway: testGateway, LockTimeout: time.Second})
	if err != nil {
		t.Fatalf("Open after the holder was killed: %v", err)
	}
	defer l.Close()
	// The new file knows the old one is gone.
	if loss := l.Loss(); loss != nil {
		t.Errorf("Loss() = %+v: the helper wrote nothing", loss)
	}
}
