package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/testkit"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"
	"github.com/udi-edge/udi-edge/cmd/internal/metrics"
	"github.com/udi-edge/udi-edge/cmd/internal/metrics/metricstest"
)

// runCentre runs `udi-central run` in process with args until the test
// ends, and returns the URL of its metrics endpoint.
func runCentre(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, append([]string{"run", "--site", "st-marys", "--store", filepath.Join(t.TempDir(), "central.db"),
			"--http", "", "--metrics", "127.0.0.1:0"}, args...), &stdout, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != ExitOK {
				t.Errorf("run exit %d\n%s", code, stderr.String())
			}
		case <-time.After(10 * time.Second):
			t.Error("run did not stop")
		}
		if t.Failed() {
			t.Logf("udi-central run log:\n%s", stderr.String())
		}
	})
	re := regexp.MustCompile(`msg="metrics listening" addr=(\S+)`)
	waitFor(t, "the metrics endpoint", func() bool { return re.MatchString(stderr.String()) })
	return "http://" + re.FindStringSubmatch(stderr.String())[1]
}

// wantHealth waits until url answers code, the checks named failing.
func wantHealth(t *testing.T, url string, code int, failed ...string) {
	t.Helper()
	testkit.CheckFor(t, 10*time.Second, func() error {
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var h metrics.Health
		if json.Unmarshal(b, &h) != nil || resp.StatusCode != code || !slices.Equal(h.Failed, failed) {
			return fmt.Errorf("%s: %d %s, want %d failing %q", url, resp.StatusCode, b, code, failed)
		}
		return nil
	})
}

// TestMetricsOfARunningCentre: a real gateway (an agent with a scanner on
// a pseudo-terminal) syncs three scans through a broker to `udi-central
// run`; the centre's metrics, scraped over HTTP, hold the gateway's
// movements, its batches and acks, the store's timed appends and the
// queues' budget; /readyz is 200 with the broker connected and 503 with
// none.
func TestMetricsOfARunningCentre(t *testing.T) {
	broker := startBroker(t)
	url := runCentre(t, "--broker", "tcp://"+broker, "--client-id", "udi-central-metrics")
	wantHealth(t, url+"/readyz", 200)

	pt := testkit.New(t, filepath.Join(t.TempDir(), "desk"))
	cfg := edge.DefaultConfig()
	off := ""
	cfg.Site, cfg.Gateway, cfg.Store, cfg.Metrics.Listen = "st-marys", "or-3", filepath.Join(t.TempDir(), "ledger.db"), &off
	cfg.Sync.Brokers = []string{"tcp://" + broker}
	cfg.Scanners = []edge.ScannerConfig{{ID: "desk", Device: pt.Link, Location: "store", Kind: "receive", Feedback: edge.FeedbackConfig{Accept: edge.HexBytes{6}}}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a := edge.NewAgent(cfg, nil)
	stop, err := a.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	waitFor(t, "the scanner open", func() bool {
		st, _ := a.Core().Status(context.Background())
		return len(st.Devices) == 1 && st.Devices[0].Connected
	})
	for _, sn := range []string{"C1", "C2", "C3"} {
		if err := pt.Send([]byte("]d20109506000134352\x1d21" + sn + "\r")); err != nil {
			t.Fatal(err)
		}
		if b, err := pt.Receive(1, 10*time.Second); err != nil || b[0] != 6 {
			t.Fatalf("scan %s: %x %v", sn, b, err)
		}
	}
	gw := []string{"site", "st-marys", "gateway", "or-3"}
	var s metricstest.Samples
	testkit.CheckFor(t, 15*time.Second, func() error {
		s = metricstest.Scrape(t, url+"/metrics")
		if held := s.Must("udi_central_gateway_held_seq", gw...); held != 3 {
			return fmt.Errorf("the centre holds movements up to %v of or-3", held)
		}
		// The batch's bytes are released once its ack is sent, a moment
		// after the head moves.
		if p := s.Must("udi_central_pending_bytes"); p != 0 {
			return fmt.Errorf("%v bytes still pending", p)
		}
		return nil
	})
	for _, c := range []struct {
		name   string
		labels []string
		min    float64
	}{
		{"udi_central_gateway_movements_stored_total", gw, 3},
		{"udi_central_gateway_batches_total", gw, 1},
		{"udi_central_gateway_acks_total", gw, 1},
		{"udi_central_gateway_last_batch_timestamp_seconds", gw, 1},
		{"udi_central_store_seconds", []string{"op", "append"}, 1},
		{"udi_central_store_seconds", []string{"op", "head"}, 1},
		{"udi_central_broker_connected", nil, 1},
		{"udi_central_pending_budget_bytes", nil, 32 << 20},
		{"udi_central_mqtt_inbox_budget_bytes", nil, 16 << 20},
	} {
		if v, ok := s.Value(c.name, c.labels...); !ok || v < c.min {
			t.Errorf("%s%v = %v (%v), want at least %v", c.name, c.labels, v, ok, c.min)
		}
	}
	for _, c := range []struct {
		name   string
		labels []string
	}{
		{"udi_central_gateway_lag_movements", gw},
		{"udi_central_gateway_batches_refused_total", append(gw, "reason", "gap")},
		{"udi_central_pending_bytes", nil},
		{"udi_central_gateways_unread", nil},
	} {
		if v, ok := s.Value(c.name, c.labels...); !ok || v != 0 {
			t.Errorf("%s%v = %v (%v), want 0", c.name, c.labels, v, ok)
		}
	}
	wantHealth(t, url+"/healthz", 200)

	// Without a broker: alive, not ready.
	url = runCentre(t, "--broker", "tcp://"+closedPort(t), "--client-id", "udi-central-alone")
	wantHealth(t, url+"/readyz", 503, "broker")
	wantHealth(t, url+"/healthz", 200)
}

// TestMetricsFlag: --metrics beyond loopback needs --metrics-remote; the
// configuration file sets both.
func TestMetricsFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"--metrics", "0.0.0.0:8381"}, ExitUsage},
		{[]string{"--metrics", "0.0.0.0:8381", "--metrics-remote"}, ExitOK},
		{[]string{"--metrics", ""}, ExitOK},
		{[]string{"--config", writeFile(t, t.TempDir(), "c.json", `{"metrics": {"listen": "10.0.0.1:8381"}}`, 0o600)}, ExitUsage},
		{[]string{"--config", writeFile(t, t.TempDir(), "c.json", `{"metrics": {"listen": "10.0.0.1:8381", "remote": true}}`, 0o600)}, ExitOK},
	} {
		code, _, errs := runMain(t, append([]string{"run", "--check", "--site", "st-marys", "--store", filepath.Join(t.TempDir(), "c.db")}, c.args...)...)
		if code != c.code {
			t.Errorf("%q: exit %d, want %d\n%s", c.args, code, c.code, errs)
		}
	}
}

// TestNotifySystemdCentre runs the service as systemd runs a Type=notify
// unit with WatchdogSec: READY=1 once it serves, WATCHDOG=1 while it
// answers, STOPPING=1 when stopped.
func TestNotifySystemdCentre(t *testing.T) {
	next := metricstest.NotifySocket(t)
	t.Setenv("WATCHDOG_USEC", "400000")
	t.Setenv("WATCHDOG_PID", "")
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"run", "--site", "st-marys", "--store", filepath.Join(t.TempDir(), "central.db"), "--http", "", "--metrics", "",
			"--broker", "tcp://" + closedPort(t)}, &stdout, &stderr)
	}()
	if m := next(); m != "READY=1\nSTATUS=serving" {
		t.Fatalf("first notification %q", m)
	}
	for range 3 {
		if m := next(); m != "WATCHDOG=1" {
			t.Fatalf("notification %q, want WATCHDOG=1", m)
		}
	}
	cancel()
	for m := next(); m != "STOPPING=1"; m = next() {
		if m != "WATCHDOG=1" {
			t.Fatalf("notification %q while stopping", m)
		}
	}
	if code := <-done; code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr.String())
	}
}
