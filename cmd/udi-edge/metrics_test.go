package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/testkit"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"
	"github.com/udi-edge/udi-edge/cmd/internal/metrics"
	"github.com/udi-edge/udi-edge/cmd/internal/metrics/metricstest"
)

// metricsAgent starts an agent process whose metrics endpoint listens on
// a free loopback port, and returns it with the endpoint's URL.
func metricsAgent(t *testing.T, base edge.Config, scanners ...procScanner) (*agentProc, string) {
	t.Helper()
	listen := "127.0.0.1:0"
	base.Metrics.Listen = &listen
	p := newAgentProc(t, base, scanners...)
	re := regexp.MustCompile(`msg="metrics listening" addr=(\S+)`)
	var url string
	checkFor(t, 10*time.Second, func() error {
		m := re.FindStringSubmatch(p.logs.String())
		if m == nil {
			return fmt.Errorf("no metrics endpoint in the log yet")
		}
		url = "http://" + m[1]
		return nil
	})
	return p, url
}

// moreChecks waits until the agent has checked for its alerts n more
// times.
func moreChecks(t *testing.T, url string, n float64) {
	t.Helper()
	from := metricstest.Scrape(t, url+"/metrics").Must("udi_edge_alert_checks_total")
	checkFor(t, 10*time.Second, func() error {
		if c := metricstest.Scrape(t, url+"/metrics").Must("udi_edge_alert_checks_total"); c < from+n {
			return fmt.Errorf("%v checks, waiting for %v", c, from+n)
		}
		return nil
	})
}

// health gets a health endpoint and returns its status code and body.
func health(t *testing.T, url string) (int, metrics.Health) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var h metrics.Health
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("%s: %v: %s", url, err, b)
	}
	return resp.StatusCode, h
}

// wantHealth waits until url answers code with the failed checks named.
func wantHealth(t *testing.T, url string, code int, failed ...string) metrics.Health {
	t.Helper()
	var h metrics.Health
	checkFor(t, 10*time.Second, func() error {
		var got int
		got, h = health(t, url)
		if got != code || !slices.Equal(h.Failed, failed) {
			return fmt.Errorf("%s: %d %+v, want %d failing %q", url, got, h, code, failed)
		}
		return nil
	})
	return h
}

// TestMetricsOfARealAgent scans through a pseudo-terminal at a real agent
// process and scrapes its metrics endpoint over HTTP: reads and rejected
// reads by station and reason, movements by kind, the decision and fsync
// histograms, the ledger, the scanner, and the units near expiry.
func TestMetricsOfARealAgent(t *testing.T) {
	p, url := metricsAgent(t, edge.Config{Stock: edge.StockConfig{Sweep: edge.Duration(time.Second), ExpiryHorizons: []int{30}}},
		procScanner{"desk", "warehouse", "receive"}, procScanner{"or3", "OR-3", "use"})
	before := metricstest.Scrape(t, url+"/metrics")
	soon := time.Now().AddDate(0, 0, 10).Format("060102")
	for _, s := range []struct {
		station, label string
		want           byte
	}{
		{"desk", label("09520123456788", soon, "B1", "M1"), ansAccepted},
		{"desk", label("09520123456788", "281231", "B1", "M2"), ansAccepted},
		{"desk", "]d20109520123456789\x1d21M3", ansRejected},              // check digit
		{"or3", "HELLO", ansRejected},                                     // no pattern claims it
		{"or3", label("09520123456788", "281231", "B1", "M2"), ansWarned}, // no case open
	} {
		if b := p.scan(s.station, s.label); b != s.want {
			t.Fatalf("scan %q at %s: %#x, want %#x", s.label, s.station, b, s.want)
		}
	}
	after := metricstest.Scrape(t, url+"/metrics")
	for _, c := range []struct {
		name   string
		labels []string
		added  float64
	}{
		{"udi_edge_reads_total", []string{"station", "desk", "verdict", "accepted"}, 2},
		{"udi_edge_reads_total", []string{"station", "desk", "verdict", "rejected"}, 1},
		{"udi_edge_reads_total", []string{"station", "or3", "verdict", "warned"}, 1},
		{"udi_edge_reads_total", []string{"station", "or3", "verdict", "rejected"}, 1},
		{"udi_edge_rejected_reads_total", []string{"station", "desk", "reason", edge.RejectCode}, 1},
		{"udi_edge_rejected_reads_total", []string{"station", "or3", "reason", edge.RejectNotItem}, 1},
		{"udi_edge_movements_total", []string{"kind", "receive"}, 2},
		{"udi_edge_movements_total", []string{"kind", "use"}, 1},
		{"udi_edge_movements_total", []string{"kind", "reject"}, 2},
		{"udi_edge_decision_seconds", nil, 3},
		{"udi_edge_ledger_last_seq", nil, 5},
	} {
		if d := after.Must(c.name, c.labels...) - before.Must(c.name, c.labels...); d != c.added {
			t.Errorf("%s%v went up by %v, want %v", c.name, c.labels, d, c.added)
		}
	}
	if d := after.Must("udi_edge_ledger_fsync_seconds") - before.Must("udi_edge_ledger_fsync_seconds"); d < 1 || d > 5 {
		t.Errorf("%v commits timed for five scans", d)
	}
	st, err := os.Stat(p.cfg.Store)
	if err != nil {
		t.Fatal(err)
	}
	if b := after.Must("udi_edge_ledger_bytes"); b != float64(st.Size()) {
		t.Errorf("ledger %v bytes, the file %d", b, st.Size())
	}
	for _, d := range []string{"desk", "or3"} {
		if after.Must("udi_edge_device_connected", "device", d, "kind", "scanner") != 1 || after.Must("udi_edge_device_last_seen_timestamp_seconds", "device", d) == 0 {
			t.Errorf("scanner %s not seen connected", d)
		}
	}
	// The unit expiring in ten days, once the sweep has looked.
	checkFor(t, 10*time.Second, func() error {
		if n := metricstest.Scrape(t, url+"/metrics").Must("udi_edge_stock_expiring_units", "location", "warehouse", "horizon_days", "30"); n != 1 {
			return fmt.Errorf("%v units expiring within 30 days at the warehouse, want 1", n)
		}
		return nil
	})
	wantHealth(t, url+"/healthz", 200)
	wantHealth(t, url+"/readyz", 200)
}

// TestHealthReadyzFollowsTheScanner: /readyz fails, naming the scanner,
// once its pseudo-terminal is closed for longer than
// metrics.reader_lost_after, and the reader_lost alert is raised once,
// in the log and as a metric; when the device is back both recover.
func TestHealthReadyzFollowsTheScanner(t *testing.T) {
	p, url := metricsAgent(t, edge.Config{Metrics: edge.MetricsConfig{ReaderLostAfter: edge.Duration(time.Millisecond)}},
		procScanner{"desk", "warehouse", "receive"}, procScanner{"or3", "OR-3", "use"})
	wantHealth(t, url+"/readyz", 200)
	p.devs["or3"].Unplug()
	h := wantHealth(t, url+"/readyz", 503, "scanner or3")
	for _, c := range h.Checks {
		if c.Name == "scanner or3" && !strings.Contains(c.Detail, "disconnected for") {
			t.Errorf("check %+v does not say why", c)
		}
	}
	wantHealth(t, url+"/healthz", 200) // alive all the same
	checkFor(t, 10*time.Second, func() error {
		if v := metricstest.Scrape(t, url+"/metrics").Must("udi_edge_alert", "alert", "reader_lost", "subject", "or3"); v != 1 {
			return fmt.Errorf("reader_lost alert %v", v)
		}
		return nil
	})
	moreChecks(t, url, 3) // while it stays lost
	p.devs["or3"] = testkit.New(t, p.devs["or3"].Link)
	wantHealth(t, url+"/readyz", 200)
	if b := p.scan("or3", label("09520123456788", "281231", "B1", "R1")); b == 0 {
		t.Fatal("no answer after the scanner came back")
	}
	checkFor(t, 10*time.Second, func() error {
		if !strings.Contains(p.logs.String(), `msg="reader back"`) {
			return fmt.Errorf("no reader back in the log")
		}
		return nil
	})
	logs := p.logs.String()
	if n := strings.Count(logs, `level=WARN msg="reader lost: disconnected too long" component=alerts alert=reader_lost subject=or3`); n != 1 {
		t.Errorf("%d reader lost warnings, want 1:\n%s", n, logs)
	}
	if s := metricstest.Scrape(t, url+"/metrics"); s.Must("udi_edge_alert", "alert", "reader_lost", "subject", "or3") != 0 ||
		s.Must("udi_edge_alerts_raised_total", "alert", "reader_lost") != 1 || s.Must("udi_edge_alert", "alert", "reader_lost", "subject", "desk") != 0 {
		t.Error("the alert's metrics do not say it was raised once and cleared")
	}
}

// TestHealthzWhenTheLedgerIsGone: the ledger file deleted under the agent,
// /healthz and /readyz fail naming the ledger, and the metric says so.
func TestHealthzWhenTheLedgerIsGone(t *testing.T) {
	p, url := metricsAgent(t, edge.Config{}, procScanner{"desk", "warehouse", "receive"})
	if b := p.scan("desk", label("09520123456788", "281231", "B1", "G1")); b != ansAccepted {
		t.Fatalf("first scan: %#x", b)
	}
	wantHealth(t, url+"/healthz", 200)
	if err := os.Remove(p.cfg.Store); err != nil {
		t.Fatal(err)
	}
	if b := p.scan("desk", label("09520123456788", "281231", "B1", "G2")); b != ansFailed {
		t.Fatalf("scan after the file was deleted: %#x, want failed", b)
	}
	h := wantHealth(t, url+"/healthz", 503, "ledger")
	if !strings.Contains(h.Checks[0].Detail, "not writable") {
		t.Errorf("healthz: %+v", h)
	}
	wantHealth(t, url+"/readyz", 503, "ledger")
	s := metricstest.Scrape(t, url+"/metrics")
	if s.Must("udi_edge_ledger_writable") != 0 || s.Must("udi_edge_ledger_failed_transactions_total") != 1 {
		t.Errorf("writable %v, failed transactions %v", s.Must("udi_edge_ledger_writable"), s.Must("udi_edge_ledger_failed_transactions_total"))
	}
}

// TestMetricsSyncLag: a gateway whose broker never answers keeps its
// movements in the outbox: their number and the oldest's age are served,
// the broker disconnected; past metrics.sync_lag /readyz fails naming
// sync and the sync_lag alert is logged once.
func TestMetricsSyncLag(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	p, url := metricsAgent(t, edge.Config{Site: "st-marys", Sync: edge.SyncConfig{Brokers: []string{"tcp://" + dead}},
		Metrics: edge.MetricsConfig{SyncLag: edge.Duration(time.Millisecond)}}, procScanner{"desk", "warehouse", "receive"})
	wantHealth(t, url+"/readyz", 200)
	for _, sn := range []string{"L1", "L2"} {
		if b := p.scan("desk", label("09520123456788", "281231", "B1", sn)); b != ansAccepted {
			t.Fatalf("scan: %#x", b)
		}
	}
	h := wantHealth(t, url+"/readyz", 503, "sync")
	if c := h.Checks[len(h.Checks)-1]; !strings.Contains(c.Detail, "2 movements wait") {
		t.Errorf("sync check %+v", c)
	}
	s := metricstest.Scrape(t, url+"/metrics")
	if s.Must("udi_edge_outbox_movements") != 2 || s.Must("udi_edge_outbox_oldest_age_seconds") <= 0 || s.Must("udi_edge_broker_connected") != 0 {
		t.Errorf("outbox %v, oldest %vs, broker %v", s.Must("udi_edge_outbox_movements"), s.Must("udi_edge_outbox_oldest_age_seconds"), s.Must("udi_edge_broker_connected"))
	}
	checkFor(t, 10*time.Second, func() error {
		if !strings.Contains(p.logs.String(), `msg="sync lagging: the centre has not acknowledged movements in time" component=alerts alert=sync_lag`) {
			return fmt.Errorf("no sync lag alert logged")
		}
		return nil
	})
	moreChecks(t, url, 3) // no second warning
	if n := strings.Count(p.logs.String(), "alert=sync_lag"); n != 1 {
		t.Errorf("%d sync lag log lines, want 1", n)
	}
}

// TestNotifySystemdReadyAndWatchdog runs the agent as systemd runs a
// Type=notify service with WatchdogSec: NOTIFY_SOCKET names a real unix
// datagram socket and WATCHDOG_USEC is set; the agent says READY=1 once
// its scanner is open, keeps sending WATCHDOG=1, and STOPPING=1 on
// SIGTERM.
func TestNotifySystemdReadyAndWatchdog(t *testing.T) {
	next := metricstest.NotifySocket(t)
	t.Setenv("WATCHDOG_USEC", "400000") // a beat every 200 ms
	t.Setenv("WATCHDOG_PID", "")
	p := newAgentProc(t, edge.Config{}, procScanner{"desk", "warehouse", "receive"})
	if m := next(); m != "READY=1\nSTATUS=recording" {
		t.Fatalf("first notification %q, want READY=1", m)
	}
	for range 3 {
		if m := next(); m != "WATCHDOG=1" {
			t.Fatalf("notification %q, want WATCHDOG=1", m)
		}
	}
	if b := p.scan("desk", label("09520123456788", "281231", "B1", "W1")); b != ansAccepted {
		t.Fatalf("scan: %#x", b)
	}
	p.stop()
	for {
		m := next()
		if m == "STOPPING=1" {
			break
		}
		if m != "WATCHDOG=1" {
			t.Fatalf("notification %q while stopping", m)
		}
	}
}
