package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/testkit"
)

// asNobody runs this test binary as udi-edge, as the user nobody (uid and
// gid 65534, the group nogroup): another account than the agent's.
func asNobody(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	bin := filepath.Join(dir, "udi-edge")
	if _, err := os.Stat(bin); err != nil {
		src, err := os.Open(os.Args[0])
		if err != nil {
			t.Fatal(err)
		}
		dst, err := os.OpenFile(bin, os.O_WRONLY|os.O_CREATE, 0o755)
		if err == nil {
			_, err = io.Copy(dst, src)
			dst.Close()
		}
		src.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "UDI_EDGE_BE_MAIN=1")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

// TestAuditorAccountReadsOnly: with control.group set, an account in the
// group (an auditor's, here nobody in nogroup) reads through the control
// socket without being the agent's user, and may change nothing.
func TestAuditorAccountReadsOnly(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to act as another user")
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} { // the test's temporary directories are 0700
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	store := filepath.Join(dir, "ledger.db")
	l, err := bolt.Open(bolt.Options{Path: store, Gateway: "gw-acl"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sock := store + ".sock"
	serveAPIGroup(t, l, sock, "nogroup")
	st, err := os.Stat(sock)
	if err != nil || st.Mode().Perm() != 0o660 || st.Sys().(*syscall.Stat_t).Gid != 65534 {
		t.Fatalf("socket %v mode %v: %v", sock, st.Mode(), err)
	}
	if code, out, errOut := asNobody(t, dir, "status", "--store", store); code != ExitOK || !strings.Contains(out, "gateway gw-acl") {
		t.Fatalf("status as a member of the socket's group: exit %d\n%s%s", code, out, errOut)
	}
	csv := filepath.Join(dir, "c.csv")
	if err := os.WriteFile(csv, []byte("gtin,name,unit_price\n09520123456788,hip stem,6850.00\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := asNobody(t, dir, "import", "--store", store, "catalogue", csv); code != ExitFailure || !strings.Contains(errOut, "read-only") {
		t.Fatalf("import as the auditor: exit %d %s", code, errOut)
	}
	// Without the group the socket is the agent's user's alone.
	sock2 := filepath.Join(dir, "private.sock")
	l2, err := bolt.Open(bolt.Options{Path: filepath.Join(dir, "other.db"), Gateway: "gw-priv"})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	serveAPI(t, l2, sock2)
	if code, _, errOut := asNobody(t, dir, "status", "--socket", sock2, "--store", filepath.Join(dir, "other.db")); code == ExitOK || !strings.Contains(errOut, "permission denied") {
		t.Fatalf("status on a private socket as another user: exit %d %s", code, errOut)
	}
}

// TestRunCheckAsTheServiceUser: run --check checks as the user it runs
// as: the agent's service account that cannot write the ledger's
// directory, nor open the scanner, is told so (exit 1), where root would
// have found nothing wrong.
func TestRunCheckAsTheServiceUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to act as another user")
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dev := testkit.New(t, filepath.Join(dir, "scanner"))
	if err := os.Chmod(dev.Path, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "udi-edge.json")
	body := fmt.Sprintf(`{"gateway":"gw-svc","store":%q,"scanners":[{"id":"or3","device":%q,"location":"OR-3","kind":"use"}]}`, filepath.Join(dir, "ledger.db"), dev.Link)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runMain(t, "", "run", "--check", "--config", cfg); code != ExitOK {
		t.Fatalf("as root: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := asNobody(t, dir, "run", "--check", "--config", cfg)
	if code != ExitFailure || !strings.Contains(out, "problem: store: directory "+dir+" is not writable by user nobody") ||
		!strings.Contains(out, "problem: scanners[0].device: "+dev.Link+" is not readable and writable by user nobody") {
		t.Fatalf("as nobody: exit %d\n%s%s", code, out, errOut)
	}
}
