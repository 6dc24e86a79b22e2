package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const unitFile = "../../deploy/udi-central.service"

// readUnit returns the settings of a systemd unit file, continuation
// lines joined: section.Key → values, in order.
func readUnit(t *testing.T, path string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	section, pending := "", ""
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasSuffix(line, `\`) { // systemd joins it with the next
			pending += strings.TrimSuffix(line, `\`) + " "
			continue
		}
		line, pending = strings.TrimSpace(pending+line), ""
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: %q is no setting", path, line)
			}
			out[section+"."+k] = append(out[section+"."+k], v)
		}
	}
	return out
}

// TestDeployUnit: the unit's flags are accepted by run --check (with its
// files replaced by a test's), the check and the service run with the
// same flags, the store lies in the state directory, and the hardening
// stays. Where systemd-analyze is installed, systemd accepts the unit
// and rates its exposure at most 2.0.
func TestDeployUnit(t *testing.T) {
	u := readUnit(t, unitFile)
	one := func(key string) string {
		t.Helper()
		if len(u[key]) != 1 {
			t.Fatalf("%s: %d values %q, want one", key, len(u[key]), u[key])
		}
		return u[key][0]
	}
	for key, want := range map[string]string{
		"Service.User": "udi-central", "Service.StateDirectory": "udi-central", "Service.StateDirectoryMode": "0700",
		"Service.NoNewPrivileges": "true", "Service.ProtectSystem": "strict", "Service.ProtectHome": "true",
		"Service.CapabilityBoundingSet": "", "Service.AmbientCapabilities": "", "Service.UMask": "0077",
		"Service.RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "Service.RestartPreventExitStatus": "2",
		"Service.ReadWritePaths": "/var/lib/udi-central", "Service.MemoryDenyWriteExecute": "true",
		"Service.ExecStartPre": "/usr/local/bin/udi-central run --check $UDI_CENTRAL_FLAGS",
		"Service.ExecStart":    "/usr/local/bin/udi-central run $UDI_CENTRAL_FLAGS",
	} {
		if got := one(key); got != want {
			t.Errorf("%s=%q, want %q", key, got, want)
		}
	}
	if one("Service.MemoryMax") == "" {
		t.Error("no MemoryMax")
	}
	env, ok := strings.CutPrefix(strings.Trim(one("Service.Environment"), `"`), "UDI_CENTRAL_FLAGS=")
	if !ok {
		t.Fatalf("Environment=%s: want UDI_CENTRAL_FLAGS", one("Service.Environment"))
	}

	// The unit's files, replaced by the test's; any other absolute path
	// must be taught to this test.
	f := newHTTPFiles(t)
	brokerCert, brokerKey := f.pki.issue("udi-central", false)
	dir := t.TempDir()
	store := filepath.Join(dir, "central.db")
	files := map[string]string{
		"/etc/udi-central/broker-ca.pem":   f.pki.CAFile,
		"/etc/udi-central/broker.pem":      brokerCert,
		"/etc/udi-central/broker-key.pem":  brokerKey,
		"/etc/udi-central/broker-password": writeFile(t, dir, "broker-password", "secret\n", 0o600),
		"/etc/udi-central/http.pem":        f.cert,
		"/etc/udi-central/http-key.pem":    f.key,
		"/etc/udi-central/http-tokens":     f.tokens,
		"/var/lib/udi-central/central.db":  store,
	}
	args := []string{"run", "--check"}
	for i, a := range strings.Fields(env) {
		if strings.HasPrefix(a, "/") {
			if files[a] == "" {
				t.Fatalf("flag %d of the unit: %s, a path this test does not replace", i, a)
			}
			if strings.HasPrefix(a, "/var/") && filepath.Dir(a) != "/var/lib/"+one("Service.StateDirectory") {
				t.Errorf("%s is outside the state directory", a)
			}
			a = files[a]
		}
		args = append(args, a)
	}
	var out, errs bytes.Buffer
	if code := Main(context.Background(), args, &out, &errs); code != ExitOK {
		t.Fatalf("run --check with the unit's flags: exit %d\n%s", code, errs.String())
	}
	if !strings.Contains(out.String(), "HTTP API on 0.0.0.0:8380 (HTTPS, 2 token(s), authentication beyond loopback)") {
		t.Errorf("run --check: %s", out.String())
	}

	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("no systemd-analyze: the unit is not checked by systemd")
		return
	}
	// systemd wants ExecStart's binary to exist: any executable will do.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	prod, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(t.TempDir(), "udi-central.service")
	if err := os.WriteFile(unit, bytes.ReplaceAll(prod, []byte("/usr/local/bin/udi-central"), []byte(self)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if b, err := exec.CommandContext(ctx, sa, "verify", "--man=no", unit).CombinedOutput(); err != nil || len(b) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, b)
	}
	// The threshold is in tenths: 20 is an exposure of 2.0 ("OK").
	if b, err := exec.CommandContext(ctx, sa, "security", "--offline=true", "--threshold=20", unit).CombinedOutput(); err != nil {
		t.Errorf("systemd-analyze security: %v\n%s", err, b)
	}
}
