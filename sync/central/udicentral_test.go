package central_test

// The end-to-end test of the udi-central binary lives here, beside the
// package it embeds, because it starts brokers with the shared harness
// sync/internal/mosquitto, which cmd/ may not import.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
	"github.com/udi-edge/udi-edge/sync/internal/mosquitto"
	"github.com/udi-edge/udi-edge/sync/wire"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildOut  []byte
)

// binary builds cmd/udi-central once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "udi-central-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "udi-central")
		buildOut, buildErr = exec.Command("go", "build", "-o", binPath, "github.com/udi-edge/udi-edge/cmd/udi-central").CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build cmd/udi-central: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// runBin runs the binary to completion and returns its exit code and output.
func runBin(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(binary(t), args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errb.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String(), errb.String()
}

func TestUdiCentralBinaryEndToEnd(t *testing.T) {
	bin := binary(t)
	certs := mosquitto.NewCerts(t, "udi-central", "or-3")
	srvTLS := certs.ServerTLS()
	srvTLS.RequireCertificate = true
	broker := mosquitto.Start(t, mosquitto.Config{TLS: srvTLS, Users: map[string]string{"udi-central": "central-pw", "or-3": "or3-pw"}})
	dir := t.TempDir()
	store := filepath.Join(dir, "central.db")
	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(pwFile, []byte("central-pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conn := []string{"--broker", broker.Addr(), "--ca", certs.CAFile, "--cert", certs.ClientCert("udi-central"), "--key", certs.ClientKey("udi-central"),
		"--username", "udi-central", "--password-file", pwFile}

	// run
	logs := &syncBuffer{}
	cmd := exec.Command(bin, append([]string{"run", "--site", site, "--store", store, "--http", "127.0.0.1:0", "--client-id", "udi-central-e2e"}, conn...)...)
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("udi-central run log:\n%s", logs.String())
		}
	})
	addrRE := regexp.MustCompile(`msg="http listening" addr=(\S+)`)
	testkit.WaitFor(t, wait, "the service to listen and connect", func() bool {
		// Subscribed once the resync after connecting is logged ("mqtt
		// connected" comes before the subscriptions).
		return addrRE.MatchString(logs.String()) && strings.Contains(logs.String(), `msg="resync after connect"`)
	})
	apiURL := "http://" + addrRE.FindStringSubmatch(logs.String())[1]

	// A gateway publishes a batch over TLS with its certificate.
	l := testkit.NewLedger(site, "or-3", created)
	l.AddN(t, 3)
	gw := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.Addr()).SetClientID("udi-edge-st-marys-or-3").
		SetUsername("or-3").SetPassword("or3-pw").SetTLSConfig(certs.ClientTLSConfig("or-3")).SetAutoReconnect(false))
	if tok := gw.Connect(); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("gateway connect: %v", tok.Error())
	}
	defer gw.Disconnect(50)
	acks := make(chan wire.Ack, 8)
	masters := make(chan *wire.MasterSet, 8)
	var parts wire.MasterAssembler // used by paho's one handler goroutine
	for topic, fn := range map[string]func([]byte){
		wire.AckTopic(site, "or-3"): func(p []byte) {
			if a, err := wire.DecodeAck(p); err == nil {
				acks <- a
			}
		},
		wire.MasterFilter(site): func(p []byte) {
			if part, err := wire.DecodeMasterPart(p); err == nil {
				if m, err := parts.Add(part); m != nil && err == nil {
					masters <- m
				}
			}
		},
	} {
		tok := gw.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) { fn(m.Payload()) })
		if !tok.WaitTimeout(wait) || tok.Error() != nil {
			t.Fatalf("subscribe: %v", tok.Error())
		}
	}
	if tok := gw.Publish(wire.MovementsTopic(site, "or-3"), 1, false, l.Payload(t, 1, 3)); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	select {
	case a := <-acks:
		if a.Seq != 3 || a.Hash != wire.HashHex(l.Hash(3)) || a.Created != created {
			t.Fatalf("ack %+v, want movement 3", a)
		}
	case <-time.After(wait):
		t.Fatal("no ack")
	}

	// trace and gateways through the running service; the store is locked.
	item := testkit.ItemKey(2)
	code, out, errs := runBin(t, "trace", item, "--http-url", apiURL)
	if code != 0 || !strings.Contains(out, "or-3/2") || !strings.Contains(out, "item "+item+": 1 movement(s)") || strings.Contains(out, secret) {
		t.Fatalf("trace --http-url: exit %d\n%s%s", code, out, errs)
	}
	if code, _, errs := runBin(t, "trace", item, "--store", store, "--timeout", "200ms"); code != 1 || !strings.Contains(errs, "--http-url") {
		t.Fatalf("trace --store of a running service: exit %d, %s", code, errs)
	}
	code, out, errs = runBin(t, "gateways", "--http-url", apiURL, "--json")
	var gr central.GatewaysResponse
	if err := json.Unmarshal([]byte(out), &gr); code != 0 || err != nil || len(gr.Gateways) != 1 || gr.Gateways[0].Seq != 3 || gr.Gateways[0].Counters.Stored != 3 {
		t.Fatalf("gateways --http-url: exit %d %v\n%s%s", code, err, out, errs)
	}

	// Master data through the running service.
	csv := filepath.Join(dir, "recalls.csv")
	if err := os.WriteFile(csv, []byte("gtin,lot,serial,reason,date\n09506000134352,L1,,recall,2026-11-01\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// wantMaster waits for the version publish printed to reach the
	// gateway, whole, and returns it.
	versionRE := regexp.MustCompile(`^published recalls version (\d+) to site`)
	wantMaster := func(code int, out, errs string) uint64 {
		t.Helper()
		v := versionRE.FindStringSubmatch(out)
		if code != 0 || v == nil {
			t.Fatalf("publish: exit %d\n%s%s", code, out, errs)
		}
		select {
		case m := <-masters:
			if fmt.Sprint(m.Version) != v[1] || m.Set != "recalls" || !strings.HasPrefix(string(m.Data), "gtin,lot") {
				t.Fatalf("master %+v, want version %s", m, v[1])
			}
			return m.Version
		case <-time.After(wait):
			t.Fatalf("no master data version %s", v[1])
		}
		return 0
	}
	first := wantMaster(runBin(t, "publish", "recalls", csv, "--site", site, "--http-url", apiURL))

	// SIGTERM: a clean stop, exit 0.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("run exited with %v", err)
		}
		exited <- nil // for the cleanup
	case <-time.After(wait):
		t.Fatal("run did not stop on SIGTERM")
	}
	if strings.Contains(logs.String(), secret) {
		t.Fatal("a patient identifier reached the log")
	}

	// The stopped service's store, read directly.
	code, out, errs = runBin(t, "trace", item, "--store", store, "--json")
	var mj central.MovementJSON
	if err := json.NewDecoder(strings.NewReader(out)).Decode(&mj); code != 0 || err != nil || mj.Seq != 2 || mj.Gateway != "or-3" || mj.Item != item || mj.Patient != "" {
		t.Fatalf("trace --store --json: exit %d %v\n%s%s", code, err, out, errs)
	}
	if code, out, _ := runBin(t, "trace", item, "--store", store, "--include-patient"); code != 0 || !strings.Contains(out, secret) || !strings.Contains(out, "DECISION") {
		t.Fatalf("trace --include-patient: exit %d\n%s", code, out)
	}
	if code, out, errs := runBin(t, "gateways", "--store", store); code != 0 || !regexp.MustCompile(`st-marys\s+or-3\s+\S+\s+3\s+1`).MatchString(out) {
		t.Fatalf("gateways --store: exit %d\n%s%s", code, out, errs)
	}
	if code, _, _ := runBin(t, "trace", "(01)09506000134352(21)NONE", "--store", store); code != 1 {
		t.Fatalf("trace of an unknown item: exit %d, want 1", code)
	}
	// Every form a gateway's trace reads: the code as a scanner sends it,
	// its Digital Link URI; a product is refused, naming why.
	for _, form := range []string{"]d20109506000134352" + "21SN2", "https://id.gs1.org/01/09506000134352/21/SN2"} {
		if code, out, errs := runBin(t, "trace", form, "--store", store); code != 0 || !strings.Contains(out, "item "+item+": 1 movement(s)") {
			t.Fatalf("trace %q: exit %d\n%s%s", form, code, out, errs)
		}
	}
	if code, _, errs := runBin(t, "trace", "09506000134352", "--store", store); code != 1 || !strings.Contains(errs, "product") {
		t.Fatalf("trace of a product: exit %d %s", code, errs)
	}
	// Master data straight to the broker, the version kept in the store.
	if v := wantMaster(runBin(t, append([]string{"publish", "recalls", csv, "--site", site, "--store", store}, conn...)...)); v <= first {
		t.Fatalf("publish --store: version %d after %d", v, first)
	}
}

// TestUdiCentralBinaryUsage checks exit codes of bad command lines.
func TestUdiCentralBinaryUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "Usage: udi-central COMMAND"},
		{[]string{"--help"}, 0, "Commands:"},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"run"}, 2, "--site is required"},
		{[]string{"run", "--site", "no spaces"}, 2, "--site"},
		{[]string{"run", "--help"}, 0, "--shared"},
		{[]string{"trace"}, 2, "exactly one CODE"},
		{[]string{"trace", "--help"}, 0, "--include-patient"},
		{[]string{"gateways", "--bogus"}, 2, "unknown flag"},
		{[]string{"publish", "nonsense", "f.csv", "--site", "s"}, 2, "SET"},
		{[]string{"publish", "recalls", "f.txt", "--site", "s"}, 2, "--format"},
		{[]string{"publish", "recalls", "/nonexistent/f.csv", "--site", "s"}, 1, "no such file"},
		{[]string{"publish", "--help"}, 0, "catalogue"},
	} {
		code, out, errs := runBin(t, c.args...)
		if code != c.code || !strings.Contains(out+errs, c.want) {
			t.Errorf("udi-central %q: exit %d, want %d with %q\n%s%s", c.args, code, c.code, c.want, out, errs)
		}
	}
}
