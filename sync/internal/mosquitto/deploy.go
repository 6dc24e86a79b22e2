package mosquitto

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Deployed describes a broker started from the shipped configuration,
// deploy/mosquitto/mosquitto.conf and udi-acl, as an operator installs
// them: only the file paths and the listener's port are replaced.
type Deployed struct {
	// Users maps user names to passwords, for the password file.
	Users map[string]string
	// Certs are the CA and server certificate of the TLS listener.
	Certs *Certs
	// ClientCertificates turns on the two lines the shipped file has
	// commented out, require_certificate and use_identity_as_username:
	// a client certificate's CN becomes the client's user name.
	ClientCertificates bool
	// MoreACL is appended to the shipped udi-acl, as README.md tells an
	// operator to do for a second instance of the central service.
	MoreACL string
	// Extra is appended to the configuration, after its paths were
	// replaced: a bridge (Bridge).
	Extra string
}

// StartDeployed starts mosquitto with the shipped configuration on a free
// port of 127.0.0.1 (ssl://), as Start does.
func StartDeployed(t testing.TB, d Deployed) *Broker {
	t.Helper()
	if d.Certs == nil {
		t.Fatal("mosquitto: StartDeployed needs Certs: the shipped listener is TLS only")
	}
	root := RepoRoot(t)
	prod, err := os.ReadFile(filepath.Join(root, "deploy", "mosquitto", "mosquitto.conf"))
	if err != nil {
		t.Fatalf("mosquitto: %v", err)
	}
	acl, err := os.ReadFile(filepath.Join(root, "deploy", "mosquitto", "udi-acl"))
	if err != nil {
		t.Fatalf("mosquitto: %v", err)
	}
	dir := t.TempDir()
	aclPath := filepath.Join(dir, "udi-acl")
	if err := os.WriteFile(aclPath, append(acl, "\n"+d.MoreACL...), 0o600); err != nil {
		t.Fatalf("mosquitto: %v", err)
	}
	conf := string(prod)
	if d.ClientCertificates {
		conf = uncomment(t, conf, "require_certificate true", "use_identity_as_username true")
	}
	port := freePort(t)
	conf = deployConf(t, conf, port, map[string]string{
		"cafile":               d.Certs.CAFile,
		"certfile":             d.Certs.ServerCert,
		"keyfile":              d.Certs.ServerKey,
		"password_file":        PasswordFile(t, dir, d.Users),
		"acl_file":             aclPath,
		"persistence_location": dir + string(filepath.Separator),
		"log_dest file":        filepath.Join(dir, "production.log"),
		"pid_file":             filepath.Join(dir, "mosquitto.pid"),
	})
	return launch(t, dir, port, "ssl", conf+d.Extra)
}

// RepoRoot is the directory of go.mod above the working directory (a
// test's working directory is its package's).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.HasPrefix(string(data), "module github.com/udi-edge/udi-edge\n") {
				return dir
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod of github.com/udi-edge/udi-edge above the working directory")
		}
		dir = parent
	}
}

// uncomment removes the "#" before each of lines in conf, failing the
// test when one is not there exactly once.
func uncomment(t testing.TB, conf string, lines ...string) string {
	t.Helper()
	for _, l := range lines {
		if n := strings.Count(conf, "\n#"+l+"\n"); n != 1 {
			t.Fatalf("mosquitto.conf: %d commented lines %q, want 1", n, l)
		}
		conf = strings.Replace(conf, "\n#"+l+"\n", "\n"+l+"\n", 1)
	}
	return conf
}

// deployConf returns the production configuration with only its file paths
// and its listener's port replaced: paths maps each path directive to its
// new value. It fails on any other absolute path, so that a new one in the
// production file must be taught to this harness rather than silently
// left pointing at /etc or /var.
func deployConf(t testing.TB, prod string, port int, paths map[string]string) string {
	t.Helper()
	var out strings.Builder
	seen := map[string]bool{}
	for n, line := range strings.Split(prod, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			out.WriteString(line + "\n")
			continue
		}
		key := fields[0]
		if key == "log_dest" && len(fields) == 3 && fields[1] == "file" {
			key = "log_dest file"
		}
		seen[key] = true
		switch {
		case key == "listener":
			if len(fields) != 2 || fields[1] != "8883" {
				t.Fatalf("mosquitto.conf:%d: %q, want the listener on 8883 on every interface", n+1, line)
			}
			fmt.Fprintf(&out, "listener %d 127.0.0.1\n", port)
		case paths[key] != "":
			if len(fields) != len(strings.Fields(key))+1 {
				t.Fatalf("mosquitto.conf:%d: %q: one path expected", n+1, line)
			}
			fmt.Fprintf(&out, "%s %s\n", key, paths[key])
		case strings.Contains(line, " /"):
			t.Fatalf("mosquitto.conf:%d: %q: a path this harness does not replace", n+1, line)
		default:
			out.WriteString(line + "\n")
		}
	}
	for _, key := range []string{"listener", "cafile", "certfile", "keyfile", "password_file", "acl_file", "persistence_location"} {
		if !seen[key] {
			t.Fatalf("mosquitto.conf has no %s", key)
		}
	}
	return out.String()
}

// CentreACL returns the shipped udi-acl's block of the user udi-central
// with the user line naming user instead: what README.md tells an operator
// to add for another instance of the central service.
func CentreACL(t testing.TB, user string) string {
	t.Helper()
	acl, err := os.ReadFile(filepath.Join(RepoRoot(t), "deploy", "mosquitto", "udi-acl"))
	if err != nil {
		t.Fatalf("mosquitto: %v", err)
	}
	var block strings.Builder
	in := false
	for _, line := range strings.Split(string(acl), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 0 && (fields[0] == "user" || fields[0] == "pattern") {
			in = len(fields) == 2 && fields[0] == "user" && fields[1] == "udi-central"
			if in {
				fmt.Fprintf(&block, "user %s\n", user)
			}
			continue
		}
		if in && len(fields) > 0 && fields[0] == "topic" {
			block.WriteString(line + "\n")
		}
	}
	if !strings.Contains(block.String(), "topic ") {
		t.Fatal("mosquitto: udi-acl has no topic lines for user udi-central")
	}
	return block.String()
}

// Bridge returns the shipped deploy/mosquitto/bridge.conf (site st-marys)
// with the group broker's address, its CA file and the bridge's password
// replaced: the rest as an operator installs it.
func Bridge(t testing.TB, group *Broker, caFile, password string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(RepoRoot(t), "deploy", "mosquitto", "bridge.conf"))
	if err != nil {
		t.Fatalf("mosquitto: %v", err)
	}
	values := map[string]string{
		"address":         fmt.Sprintf("127.0.0.1:%d", group.Port()),
		"bridge_cafile":   caFile,
		"remote_password": password,
	}
	var out strings.Builder
	for n, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0 || strings.HasPrefix(fields[0], "#"):
			out.WriteString(line + "\n")
		case values[fields[0]] != "":
			fmt.Fprintf(&out, "%s %s\n", fields[0], values[fields[0]])
			delete(values, fields[0])
		case strings.Contains(line, " /"):
			t.Fatalf("bridge.conf:%d: %q: a path this harness does not replace", n+1, line)
		default:
			out.WriteString(line + "\n")
		}
	}
	if len(values) != 0 {
		t.Fatalf("bridge.conf lacks %v", values)
	}
	return out.String()
}

// BridgeACL returns the shipped deploy/mosquitto/bridge-acl, the group
// broker's ACL block of the bridge of site st-marys.
func BridgeACL(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(RepoRoot(t), "deploy", "mosquitto", "bridge-acl"))
	if err != nil {
		t.Fatalf("mosquitto: %v", err)
	}
	return string(data)
}
