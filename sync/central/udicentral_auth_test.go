package central_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
	"github.com/udi-edge/udi-edge/sync/internal/mosquitto"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// TestUdiCentralBinaryProtectedAPI runs the binary with its API on every
// interface, over HTTPS, with tokens and client certificates, and a real
// broker: a request without credential is 401, an auditor may read
// patients and may not publish (403), an operator publishes (its token or
// its certificate) and the gateways receive the data. Without TLS and
// credentials the binary refuses to serve beyond loopback.
func TestUdiCentralBinaryProtectedAPI(t *testing.T) {
	bin := binary(t)
	broker := mosquitto.Start(t, mosquitto.Config{})
	certs := mosquitto.NewCerts(t, "audit-office", "pharmacy")
	dir := t.TempDir()
	roles := filepath.Join(dir, "roles")
	if err := os.WriteFile(roles, []byte("auditor cn:audit-office\noperator cn:pharmacy\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"run", "--site", site, "--store", filepath.Join(dir, "central.db"), "--broker", broker.Addr(), "--client-id", "udi-central-auth"}

	// Beyond loopback without protection: refused at start, naming the flags.
	if code, _, errs := runBin(t, append(base, "--http", "0.0.0.0:0")...); code != 2 || !strings.Contains(errs, "--http-tls-cert and --http-tls-key") {
		t.Fatalf("run on 0.0.0.0 without TLS: exit %d %s", code, errs)
	}
	if code, _, errs := runBin(t, append(base, "--http", "0.0.0.0:0", "--http-tls-cert", certs.ServerCert, "--http-tls-key", certs.ServerKey)...); code != 2 || !strings.Contains(errs, "--http-tokens") {
		t.Fatalf("run on 0.0.0.0 without credentials: exit %d %s", code, errs)
	}

	logs := &syncBuffer{}
	cmd := exec.Command(bin, append(base, "--http", "0.0.0.0:0", "--http-tls-cert", certs.ServerCert, "--http-tls-key", certs.ServerKey,
		"--http-tokens", tokensFile(t), "--http-client-ca", certs.CAFile, "--http-client-roles", roles)...)
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("udi-central run log:\n%s", logs.String())
		}
	})
	addrRE := regexp.MustCompile(`msg="http listening" addr=\S+:(\d+)`)
	testkit.WaitFor(t, wait, "the service to listen and connect", func() bool {
		// Subscribed once the resync after connecting is logged ("mqtt
		// connected" comes before the subscriptions).
		return addrRE.MatchString(logs.String()) && strings.Contains(logs.String(), `msg="resync after connect"`)
	})
	api := "https://127.0.0.1:" + addrRE.FindStringSubmatch(logs.String())[1]

	// A gateway's movement, and a gateway listening for recalls.
	gw := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.Addr()).SetClientID("udi-edge-st-marys-or-3").SetAutoReconnect(false))
	if tok := gw.Connect(); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("gateway connect: %v", tok.Error())
	}
	defer gw.Disconnect(50)
	masters := make(chan *wire.MasterSet, 4)
	var parts wire.MasterAssembler // used by paho's one handler goroutine only
	if tok := gw.Subscribe(wire.MasterTopic(site, wire.SetRecalls)+"/+", 1, func(_ mqtt.Client, m mqtt.Message) {
		if p, err := wire.DecodeMasterPart(m.Payload()); err == nil {
			if whole, err := parts.Add(p); err == nil && whole != nil {
				masters <- whole
			}
		}
	}); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	l := testkit.NewLedger(site, "or-3", created)
	l.AddN(t, 1)
	if tok := gw.Publish(wire.MovementsTopic(site, "or-3"), 1, false, l.Payload(t, 1, 1)); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	client := func(name string) *http.Client {
		return &http.Client{Timeout: wait, Transport: &http.Transport{TLSClientConfig: certs.ClientTLSConfig(name)}}
	}
	anon := client("")
	trace := api + "/v1/trace?include_patient=1&code=" + testkit.ItemKey(1)
	testkit.WaitFor(t, wait, "the movement stored", func() bool {
		code, body, _ := call(t, anon, "GET", trace, auditorToken, "")
		return code == http.StatusOK && strings.Contains(body, `"patient":"`+secret+`"`)
	})

	publish := api + "/v1/master?site=" + site + "&set=recalls&format=csv"
	if code, body, _ := call(t, anon, "GET", api+"/v1/gateways", "", ""); code != http.StatusUnauthorized {
		t.Errorf("no credential: %d %s", code, body)
	}
	if code, body, _ := call(t, anon, "POST", publish, auditorToken, recallsCSV); code != http.StatusForbidden {
		t.Errorf("auditor's token, publish: %d %s", code, body)
	}
	if code, body, _ := call(t, client("audit-office"), "POST", publish, "", recallsCSV); code != http.StatusForbidden {
		t.Errorf("auditor's certificate, publish: %d %s", code, body)
	}
	if code, body, _ := call(t, anon, "GET", trace, operatorToken, ""); code != http.StatusForbidden || strings.Contains(body, secret) {
		t.Errorf("operator's token, trace with patients: %d %s", code, body)
	}
	// Each publication reaches the gateway whole, as the version the
	// service answered with, each later than the one before.
	var last uint64
	published := func(who string, code int, body string) {
		t.Helper()
		var r struct{ Version uint64 }
		if code != http.StatusCreated || json.Unmarshal([]byte(body), &r) != nil || r.Version <= last {
			t.Fatalf("%s, publish: %d %s; want a version above %d", who, code, body, last)
		}
		last = r.Version
		select {
		case m := <-masters:
			if m.Version != r.Version || !bytes.HasPrefix(m.Data, []byte("gtin,lot")) {
				t.Fatalf("master %s version %d, want version %d", m.Set, m.Version, r.Version)
			}
		case <-time.After(wait):
			t.Fatalf("no master data version %d", r.Version)
		}
	}
	code, body, _ := call(t, anon, "POST", publish, operatorToken, recallsCSV)
	published("operator's token", code, body)
	code, body, _ = call(t, client("pharmacy"), "POST", publish, "", recallsCSV)
	published("operator's certificate", code, body)

	// The log (copied from the process's stderr) names who published and
	// who saw patients.
	for _, want := range []string{`by=pharmacy role=operator`, `by=cn:pharmacy role=operator`, `msg="trace with patient identifiers" by=audit-office`} {
		testkit.WaitFor(t, wait, "the log to show "+want, func() bool { return strings.Contains(logs.String(), want) })
	}
	if s := logs.String(); strings.Contains(s, auditorToken) || strings.Contains(s, operatorToken) || strings.Contains(s, secret) {
		t.Error("a token or a patient identifier reached the log")
	}

	if code, out, _ := runBin(t, "version"); code != 0 || !strings.HasPrefix(out, "udi-central dev (") {
		t.Errorf("version: exit %d %q", code, out)
	}
}
