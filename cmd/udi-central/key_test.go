package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/sync/sign"
)

// TestKeyCommand checks where the centre's key lives: beside a file
// store by default, at --signing-key when given (and required with a
// database store), made once and then the same.
func TestKeyCommand(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "central.db")
	code, out, errs := runMain(t, "key", "--store", store)
	if code != ExitOK || !strings.Contains(errs, "made a new key at "+filepath.Join(dir, "central.key")) {
		t.Fatalf("key: exit %d, %q, %q", code, out, errs)
	}
	if _, err := sign.ParsePublic(strings.TrimSpace(out)); err != nil {
		t.Fatalf("key printed %q: %v", out, err)
	}
	if st, err := os.Stat(filepath.Join(dir, "central.key")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", err, st)
	}
	if code, again, errs := runMain(t, "key", "--store", store); code != ExitOK || again != out || errs != "" {
		t.Errorf("second run: exit %d, %q, %q; want the same key, none made", code, again, errs)
	}
	other := filepath.Join(dir, "group.key")
	if code, o, _ := runMain(t, "key", "--signing-key", other); code != ExitOK || o == out {
		t.Errorf("--signing-key: exit %d, %q; want another key", code, o)
	}
	if code, _, errs := runMain(t, "key", "--store", "postgres://centre@db.example/udi"); code != ExitUsage || !strings.Contains(errs, "--signing-key is required with a database --store") {
		t.Errorf("database store without --signing-key: exit %d, %q", code, errs)
	}
	if code, _, errs := runMain(t, "run", "--check", "--site", "s", "--store", "postgres://centre@db.example/udi"); code != ExitUsage || !strings.Contains(errs, "--signing-key is required") {
		t.Errorf("run on a database without --signing-key: exit %d, %q", code, errs)
	}
	// With the service's configuration: its signing_key, else beside its
	// store; the other keys of the file are not this command's concern.
	conf := filepath.Join(dir, "udi-central.json")
	os.WriteFile(conf, []byte(`{"sites":["st-marys"],"store":"`+store+`","signing_key":"`+other+`","broker":{"urls":["ssl://b:8883"]}}`), 0o644)
	if code, o, errs := runMain(t, "key", "--config", conf); code != ExitOK || o == out || errs != "" {
		t.Errorf("--config with signing_key: exit %d, %q, %q; want the key of %s", code, o, errs, other)
	} else if c, o2, _ := runMain(t, "key", "--signing-key", other); c != ExitOK || o2 != o {
		t.Errorf("--config printed %q, the key of signing_key is %q", o, o2)
	}
	os.WriteFile(conf, []byte(`{"store":"`+store+`"}`), 0o644)
	if code, o, _ := runMain(t, "key", "--config", conf); code != ExitOK || o != out {
		t.Errorf("--config with a store: exit %d, %q; want the key beside the store, %q", code, o, out)
	}
	os.WriteFile(conf, []byte(`{"signing_keys":"x"}`), 0o644)
	if code, _, errs := runMain(t, "key", "--config", conf); code != ExitUsage || !strings.Contains(errs, "signing_keys") {
		t.Errorf("--config with an unknown key: exit %d, %q", code, errs)
	}
	bad := filepath.Join(dir, "gateways.txt")
	os.WriteFile(bad, []byte("st-marys or-3 ed25519:AAAA\n"), 0o644)
	if code, _, errs := runMain(t, "run", "--check", "--site", "st-marys", "--store", store, "--enrolment", bad); code != ExitUsage || !strings.Contains(errs, "gateways.txt:1") {
		t.Errorf("a bad enrolment file: exit %d, %q", code, errs)
	}
}
