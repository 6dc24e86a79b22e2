package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/cmd/internal/edge"
	"github.com/udi-edge/udi-edge/sync/sign"
)

// TestKey checks that `udi-edge key` prints an enrolment line the centre
// parses, makes the key once (0600, beside the ledger), and that the
// agent signs with that same key.
func TestKey(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "ledger.db")
	args := []string{"key", "--store", store, "--site", "st-marys", "--gateway", "or-3"}
	code, out, errs := runMain(t, "", args...)
	if code != ExitOK {
		t.Fatalf("key: exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "made a new signing key at "+filepath.Join(dir, "ledger.key")) {
		t.Errorf("stderr %q does not say where the key was made", errs)
	}
	e, err := sign.ParseEnrolment(strings.NewReader(out), "stdout")
	if err != nil {
		t.Fatalf("the printed line %q does not parse as an enrolment: %v", out, err)
	}
	pub, ok := e.Key("st-marys", "or-3")
	if !ok {
		t.Fatalf("the line %q does not enrol st-marys/or-3", out)
	}
	st, err := os.Stat(filepath.Join(dir, "ledger.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, st.Mode())
	}
	code, again, errs := runMain(t, "", args...)
	if code != ExitOK || again != out || errs != "" {
		t.Errorf("second run: exit %d, %q, stderr %q; want the same line and no new key", code, again, errs)
	}

	// The agent loads the same key rather than making one.
	cfg, err := edge.Load(edge.Overrides{Store: store, Site: "st-marys", Gateway: "or-3", Socket: filepath.Join(dir, "s.sock")})
	if err != nil {
		t.Fatal(err)
	}
	a := edge.NewAgent(cfg, nil)
	if err := a.Open(); err != nil {
		t.Fatal(err)
	}
	a.Close()
	got, err := sign.Load(filepath.Join(dir, "ledger.key"))
	if err != nil || !sign.Public(got).Equal(pub) {
		t.Errorf("after the agent ran the key is %v (%v), want the enrolled one", got, err)
	}

	// A key others may read is refused at start, with the remedy.
	os.Chmod(filepath.Join(dir, "ledger.key"), 0o644)
	a = edge.NewAgent(cfg, nil)
	err = a.Open()
	if err == nil {
		a.Close()
		t.Fatal("the agent started with a key file of mode 0644")
	}
	if !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("error %q does not give the remedy", err)
	}

	if code, _, errs := runMain(t, "", "key", "--store", store, "--gateway", "or-3"); code != ExitUsage || !strings.Contains(errs, "site") {
		t.Errorf("key without a site: exit %d, %q", code, errs)
	}
}
