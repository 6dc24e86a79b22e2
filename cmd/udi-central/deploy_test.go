package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/sync/sign"
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
		"Service.RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "Service.Restart": "always",
		"Service.ReadWritePaths": "/var/lib/udi-central", "Service.MemoryDenyWriteExecute": "true",
		"Service.ExecStartPre": "/usr/local/bin/udi-central run --check --config /etc/udi-central/udi-central.json",
		"Service.ExecStart":    "/usr/local/bin/udi-central run --config /etc/udi-central/udi-central.json",
	} {
		if got := one(key); got != want {
			t.Errorf("%s=%q, want %q", key, got, want)
		}
	}
	if one("Service.MemoryMax") == "" {
		t.Error("no MemoryMax")
	}
	// Go exits 2 after a panic and after the watchdog's SIGABRT: a unit
	// that does not restart on 2 stays down after either.
	if v, ok := u["Service.RestartPreventExitStatus"]; ok {
		t.Errorf("RestartPreventExitStatus=%q: the service would stay down after a panic or a watchdog timeout", v)
	}

	// The shipped configurations, their files replaced by the test's; any
	// other absolute path must be taught to this test.
	f := newHTTPFiles(t)
	brokerCert, brokerKey := f.pki.issue("udi-central", false)
	dir := t.TempDir()
	store := filepath.Join(dir, "central.db")
	gwKey, err := sign.Create(filepath.Join(dir, "gw.key"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"/etc/udi-central/broker-ca.pem":      f.pki.CAFile,
		"/etc/udi-central/broker.pem":         brokerCert,
		"/etc/udi-central/broker-key.pem":     brokerKey,
		"/etc/udi-central/broker-password":    writeFile(t, dir, "broker-password", "secret\n", 0o600),
		"/etc/udi-central/http.pem":           f.cert,
		"/etc/udi-central/http-key.pem":       f.key,
		"/etc/udi-central/http-tokens":        f.tokens,
		"/etc/udi-central/http-client-ca.pem": f.pki.CAFile,
		"/etc/udi-central/http-client-roles":  writeFile(t, dir, "roles", "auditor cn:client\n", 0o600),
		"/etc/udi-central/gateways.txt":       writeFile(t, dir, "gateways.txt", sign.Line("st-marys", "or-3", sign.Public(gwKey))+"\n", 0o644),
		"/etc/udi-central/central.key":        filepath.Join(dir, "group.key"),
		"/var/lib/udi-central/central.db":     store,
		"/var/lib/udi-central/national.db":    filepath.Join(dir, "national.db"),
		"/var/lib/udi-central/central.key":    filepath.Join(dir, "central.key"),
	}
	pathRE := regexp.MustCompile(`"(/[^"]*)"`)
	for _, c := range []struct{ file, want string }{
		{"../../deploy/udi-central.json", "store " + store + ", HTTP API on 0.0.0.0:8380 (HTTPS, 2 token(s), authentication beyond loopback), 1 gateway(s) enrolled on these sites"},
		{"../../deploy/udi-central-group.json", "site(s) st-marys,st-marys-east,north-campus, broker(s) ssl://broker-1.group.example:8883,ssl://broker-2.group.example:8883,ssl://broker-3.group.example:8883, store postgres://udi_central@db.group.example:5432/udi_central"},
	} {
		b, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		var bad []string
		cfg := pathRE.ReplaceAllStringFunc(string(b), func(m string) string {
			p := strings.Trim(m, `"`)
			if files[p] == "" {
				bad = append(bad, p)
				return m
			}
			if strings.HasPrefix(p, "/var/") && filepath.Dir(p) != "/var/lib/"+one("Service.StateDirectory") {
				t.Errorf("%s: %s is outside the state directory", c.file, p)
			}
			return `"` + files[p] + `"`
		})
		if len(bad) > 0 {
			t.Fatalf("%s: paths this test does not replace: %q", c.file, bad)
		}
		path := writeFile(t, dir, filepath.Base(c.file), cfg, 0o600)
		var out, errs bytes.Buffer
		if code := Main(context.Background(), []string{"run", "--check", "--config", path}, &out, &errs); code != ExitOK {
			t.Fatalf("run --check --config %s: exit %d\n%s", c.file, code, errs.String())
		}
		if !strings.Contains(out.String(), c.want) {
			t.Errorf("run --check --config %s: %s\nwant it to say %s", c.file, out.String(), c.want)
		}
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
