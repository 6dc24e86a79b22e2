package sign

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// helperKeyPath, in a child's environment, makes TestHelperCreate make a
// key there and stop for good once it is written, before its link.
const helperKeyPath = "UDI_SIGN_HELPER_KEY"

// TestHelperCreate is the child of TestCreateKilled.
func TestHelperCreate(t *testing.T) {
	path := os.Getenv(helperKeyPath)
	if path == "" {
		t.Skip("the child of TestCreateKilled")
	}
	beforeLink = func() {
		fmt.Println("written")
		select {}
	}
	_, err := Create(path)
	t.Fatalf("Create returned: %v", err)
}

// TestCreateKilled: a process killed while it makes a key, once the key
// is written and synced and before it is linked into place, leaves no
// file at all: neither a key nor a temporary (the startup-crash campaign
// found temporaries of killed agents beside their ledgers). The next
// process makes the key.
func TestCreateKilled(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ledger.key")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperCreate$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperKeyPath+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "written\n" {
		t.Fatalf("the child said %q (%v), want written", line, err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		t.Fatalf("a killed Create left %q", names)
	}
	if _, made, err := LoadOrCreate(path); err != nil || !made {
		t.Fatalf("the next LoadOrCreate: made %t, %v", made, err)
	}
}

// TestCreateThroughATemporary: where files without a name cannot be
// made, the key goes through a temporary, which is gone once Create
// returns; an existing file is never replaced.
func TestCreateThroughATemporary(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "centre.key")
	if err := linkTemporary(path, []byte("first")); err != nil {
		t.Fatal(err)
	}
	if err := linkTemporary(path, []byte("second")); !errors.Is(err, fs.ErrExist) {
		t.Errorf("over an existing file: %v, want fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "first" {
		t.Errorf("the file holds %q, want first", b)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
	if es, _ := os.ReadDir(dir); len(es) != 1 {
		t.Errorf("%d files in the directory, want the key alone", len(es))
	}
}
