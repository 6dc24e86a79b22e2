package mosquitto

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// repoRoot is the directory of go.mod above the working directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// deployConf returns the production configuration with only its file paths
// and its listener's port replaced: paths maps each path directive to its
// new value. It fails on any other absolute path, so that a new one in the
// production file must be taught to this test rather than silently left
// pointing at /etc or /var.
func deployConf(t *testing.T, prod string, port int, paths map[string]string) string {
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
			t.Fatalf("mosquitto.conf:%d: %q: a path this test does not replace", n+1, line)
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

// TestDeployConfig starts mosquitto with deploy/mosquitto/mosquitto.conf
// and udi-acl and checks, over TLS with passwords, what each user may do.
func TestDeployConfig(t *testing.T) {
	root := repoRoot(t)
	prod, err := os.ReadFile(filepath.Join(root, "deploy", "mosquitto", "mosquitto.conf"))
	if err != nil {
		t.Fatal(err)
	}
	certs := NewCerts(t)
	dir := t.TempDir()
	port := freePort(t)
	users := map[string]string{"gw-a": "pw-gw-a", "gw-b": "pw-gw-b", "udi-central": "pw-central"}
	conf := deployConf(t, string(prod), port, map[string]string{
		"cafile":               certs.CAFile,
		"certfile":             certs.ServerCert,
		"keyfile":              certs.ServerKey,
		"password_file":        PasswordFile(t, dir, users),
		"acl_file":             filepath.Join(root, "deploy", "mosquitto", "udi-acl"),
		"persistence_location": dir + string(filepath.Separator),
		"log_dest file":        filepath.Join(dir, "production.log"),
		"pid_file":             filepath.Join(dir, "mosquitto.pid"),
	})
	b := launch(t, dir, port, "ssl", conf)

	as := func(user, password, id string) *mqtt.ClientOptions {
		return options(b, id).SetUsername(user).SetPassword(password).SetTLSConfig(certs.ClientTLSConfig(""))
	}
	central := connect(t, as("udi-central", users["udi-central"], "udi-central-1"))
	central2 := connect(t, as("udi-central", users["udi-central"], "udi-central-2"))
	gwA := connect(t, as("gw-a", users["gw-a"], "udi-edge-site-1-gw-a"))
	gwB := connect(t, as("gw-b", users["gw-b"], "udi-edge-site-1-gw-b"))

	t.Run("a: the centre receives a gateway's movements", func(t *testing.T) {
		plain := mustSubscribe(t, central, "udi/v1/site-1/+/movements")
		shared := mustSubscribe(t, central2, "$share/udi-central/udi/v1/site-1/+/movements")
		publish(t, gwA, "udi/v1/site-1/gw-a/movements", "batch 1 of gw-a", false)
		expect(t, plain, "udi/v1/site-1/gw-a/movements", "batch 1 of gw-a")
		expect(t, shared, "udi/v1/site-1/gw-a/movements", "batch 1 of gw-a")

		t.Run("b: but not movements a gateway forges for another", func(t *testing.T) {
			// MQTT 3.1.1 cannot refuse a publish: the broker acknowledges
			// the forged batch and drops it. gw-a's next batch, sent
			// after it, must be the next thing the centre receives.
			publish(t, gwA, "udi/v1/site-1/gw-b/movements", "forged by gw-a", false)
			publish(t, gwA, "udi/v1/site-1/gw-a/movements", "batch 2 of gw-a", false)
			expect(t, plain, "udi/v1/site-1/gw-a/movements", "batch 2 of gw-a")
			expect(t, shared, "udi/v1/site-1/gw-a/movements", "batch 2 of gw-a")
			expectNone(t, plain)
			expectNone(t, shared)
			if !strings.Contains(b.Log(), "Denied PUBLISH from udi-edge-site-1-gw-a") {
				t.Error("the broker's log does not show the forged publish denied")
			}
		})
	})

	t.Run("c: a gateway reads only its own acks", func(t *testing.T) {
		// gw-a listens to gw-b's acks and then its own, in one stream: if
		// gw-b's ack reached it, it would come before gw-a's.
		spyA := make(chan mqtt.Message, 64)
		// Mosquitto 2.0.11 grants the subscription (0x01) and filters
		// each message; a refusal (0x80) would do as well.
		code := subscribeInto(t, gwA, "udi/v1/site-1/gw-b/ack", spyA)
		t.Logf("gw-a subscribing to gw-b's acks: SUBACK %#x", code)
		subscribeInto(t, gwA, "udi/v1/site-1/gw-a/ack", spyA)
		ownB := mustSubscribe(t, gwB, "udi/v1/site-1/gw-b/ack")
		publish(t, central, "udi/v1/site-1/gw-b/ack", `{"seq":2}`, true)
		publish(t, central, "udi/v1/site-1/gw-a/ack", `{"seq":1}`, true)
		expect(t, ownB, "udi/v1/site-1/gw-b/ack", `{"seq":2}`)
		expect(t, spyA, "udi/v1/site-1/gw-a/ack", `{"seq":1}`)
		expectNone(t, spyA)

		// The acks are retained: a gateway subscribing later gets its own
		// and not the other's.
		late := connect(t, as("gw-a", users["gw-a"], "udi-edge-site-1-gw-a-late"))
		retained := make(chan mqtt.Message, 64)
		subscribeInto(t, late, "udi/v1/site-1/gw-b/ack", retained)
		subscribeInto(t, late, "udi/v1/site-1/gw-a/ack", retained)
		if m := expect(t, retained, "udi/v1/site-1/gw-a/ack", `{"seq":1}`); !m.Retained() {
			t.Error("the late subscriber's ack is not flagged retained")
		}
		expectNone(t, retained)
		lateB := connect(t, as("gw-b", users["gw-b"], "udi-edge-site-1-gw-b-late"))
		if m := expect(t, mustSubscribe(t, lateB, "udi/v1/site-1/gw-b/ack"), "udi/v1/site-1/gw-b/ack", `{"seq":2}`); !m.Retained() {
			t.Error("gw-b's late ack is not flagged retained")
		}
	})

	t.Run("a gateway cannot forge another's status", func(t *testing.T) {
		status := mustSubscribe(t, central, "udi/v1/site-1/+/status")
		publish(t, gwA, "udi/v1/site-1/gw-b/status", `{"state":"offline"}`, true)
		publish(t, gwA, "udi/v1/site-1/gw-a/status", `{"state":"online"}`, true)
		expect(t, status, "udi/v1/site-1/gw-a/status", `{"state":"online"}`)
		expectNone(t, status)
	})

	t.Run("master data is written by the centre only", func(t *testing.T) {
		masterB := mustSubscribe(t, gwB, "udi/v1/site-1/master/#")
		publish(t, gwA, "udi/v1/site-1/master/recalls", "forged recalls", false)
		publish(t, central, "udi/v1/site-1/master/recalls", "recalls v1", false)
		expect(t, masterB, "udi/v1/site-1/master/recalls", "recalls v1")
		expectNone(t, masterB)
	})

	t.Run("d: a wrong password or none is refused", func(t *testing.T) {
		_, err := tryConnect(t, as("gw-a", users["gw-b"], "udi-edge-site-1-gw-a-wrong"))
		if !errors.Is(err, packets.ErrorRefusedNotAuthorised) && !errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword) {
			t.Errorf("gw-a with gw-b's password: %v, want refused", err)
		}
		_, err = tryConnect(t, options(b, "anonymous").SetTLSConfig(certs.ClientTLSConfig("")))
		if !errors.Is(err, packets.ErrorRefusedNotAuthorised) && !errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword) {
			t.Errorf("anonymous: %v, want refused", err)
		}
	})

	t.Run("e: a client that does not trust the CA cannot connect", func(t *testing.T) {
		// The system's roots, which do not hold the test CA.
		untrusting := &tls.Config{ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
		_, err := tryConnect(t, as("gw-a", users["gw-a"], "udi-edge-site-1-gw-a-untrusting").SetTLSConfig(untrusting))
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Errorf("connect without the CA: %v, want x509.UnknownAuthorityError", err)
		}
	})
}
