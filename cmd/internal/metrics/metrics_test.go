package metrics_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/udi-edge/udi-edge/cmd/internal/metrics"
	"github.com/udi-edge/udi-edge/cmd/internal/metrics/metricstest"
)

// TestNotifyOverARealSocket: the datagrams reach a real unixgram socket,
// states joined by newlines; without NOTIFY_SOCKET nothing is sent.
func TestNotifyOverARealSocket(t *testing.T) {
	next := metricstest.NotifySocket(t)
	n := metrics.NotifierFromEnv()
	if err := n.Notify("READY=1", "STATUS=running"); err != nil {
		t.Fatal(err)
	}
	if m := next(); m != "READY=1\nSTATUS=running" {
		t.Fatalf("received %q", m)
	}
	t.Setenv("NOTIFY_SOCKET", "")
	if metrics.NotifierFromEnv() != nil {
		t.Fatal("a notifier without NOTIFY_SOCKET")
	}
	var none *metrics.Notifier
	if err := none.Notify("READY=1"); err != nil {
		t.Fatal(err)
	}
}

// TestWatchdogInterval: half of WATCHDOG_USEC, for this process only.
func TestWatchdogInterval(t *testing.T) {
	for _, c := range []struct {
		usec, pid string
		want      time.Duration
		ok        bool
	}{
		{"", "", 0, false},
		{"0", "", 0, false},
		{"junk", "", 0, false},
		{"30000000", "", 15 * time.Second, true},
		{"30000000", "self", 15 * time.Second, true},
		{"30000000", "1", 0, false},
	} {
		t.Setenv("WATCHDOG_USEC", c.usec)
		pid := c.pid
		if pid == "self" {
			pid = strconv.Itoa(os.Getpid())
		}
		t.Setenv("WATCHDOG_PID", pid)
		if got, ok := metrics.WatchdogInterval(); got != c.want || ok != c.ok {
			t.Errorf("WATCHDOG_USEC=%q WATCHDOG_PID=%q: %v %v, want %v %v", c.usec, pid, got, ok, c.want, c.ok)
		}
	}
}

// TestWatchdogWithholdsBeats: a beat is sent while the daemon is alive,
// withheld (and logged once) while it is not.
func TestWatchdogWithholdsBeats(t *testing.T) {
	next := metricstest.NotifySocket(t)
	t.Setenv("WATCHDOG_USEC", "2000000")
	t.Setenv("WATCHDOG_PID", "")
	var log bytes.Buffer
	w := metrics.NewWatchdog(metrics.NotifierFromEnv(), slog.New(slog.NewTextHandler(&log, nil)))
	if w.Every != time.Second {
		t.Fatalf("every %v", w.Every)
	}
	w.Beat(nil)
	if m := next(); m != "WATCHDOG=1" {
		t.Fatalf("received %q", m)
	}
	stuck := errors.New("the ledger writer is stuck")
	w.Beat(stuck)
	w.Beat(stuck)
	if err := metrics.NotifierFromEnv().Notify("MARK"); err != nil {
		t.Fatal(err)
	}
	if m := next(); m != "MARK" {
		t.Fatalf("a beat was sent while stuck: %q", m)
	}
	w.Beat(nil)
	if m := next(); m != "WATCHDOG=1" {
		t.Fatalf("received %q", m)
	}
	if n := strings.Count(log.String(), "watchdog not fed"); n != 1 || !strings.Contains(log.String(), "watchdog fed again") {
		t.Fatalf("log:\n%s", log.String())
	}
}

// TestEndpoint: /metrics serves the registry, /healthz and /readyz 200
// or 503 with a JSON body naming the failed checks.
func TestEndpoint(t *testing.T) {
	reg := metrics.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "test_things_total", Help: "Things."})
	reg.MustRegister(c)
	c.Add(3)
	ready := true
	e := &metrics.Endpoint{Registry: reg,
		Live: func(context.Context) []metrics.Check { return []metrics.Check{{Name: "ledger", OK: true}} },
		Ready: func(context.Context) []metrics.Check {
			return []metrics.Check{{Name: "ledger", OK: true}, {Name: "device or3", OK: ready, Detail: "disconnected"}}
		},
	}
	ln, err := metrics.Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Serve(ctx, ln) }()
	url := "http://" + ln.Addr().String()
	get := func(path string) (int, string) {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "test_things_total 3") || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("/metrics %d:\n%s", code, body)
	}
	var h metrics.Health
	code, body := get("/readyz")
	if err := json.Unmarshal([]byte(body), &h); err != nil || code != 200 || h.Status != "ok" || len(h.Checks) != 2 {
		t.Fatalf("/readyz %d %v: %s", code, err, body)
	}
	ready = false
	code, body = get("/readyz")
	if err := json.Unmarshal([]byte(body), &h); err != nil || code != 503 || h.Status != "failing" || len(h.Failed) != 1 || h.Failed[0] != "device or3" {
		t.Fatalf("/readyz %d %v: %s", code, err, body)
	}
	if code, body := get("/healthz"); code != 200 || !strings.Contains(body, `"status":"ok"`) {
		t.Fatalf("/healthz %d: %s", code, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestCheckListen(t *testing.T) {
	for _, c := range []struct {
		addr   string
		remote bool
		ok     bool
	}{
		{"127.0.0.1:8711", false, true},
		{"[::1]:8711", false, true},
		{"localhost:8711", false, true},
		{"0.0.0.0:8711", false, false},
		{":8711", false, false},
		{"10.1.2.3:8711", false, false},
		{"0.0.0.0:8711", true, true},
		{"127.0.0.1", false, false},
	} {
		err := metrics.CheckListen(c.addr, c.remote)
		if (err == nil) != c.ok {
			t.Errorf("CheckListen(%q, %v) = %v", c.addr, c.remote, err)
		}
		if !c.ok && !c.remote && strings.Contains(c.addr, ":") && c.addr != "127.0.0.1" && !errors.Is(err, metrics.ErrNotLoopback) {
			t.Errorf("CheckListen(%q): %v is not ErrNotLoopback", c.addr, err)
		}
	}
}

// TestAlertsOncePerTransition: a raise logs one WARN and sets the gauge,
// repeats log nothing, a clear logs one INFO; a subject first seen clear
// logs nothing but has its gauge.
func TestAlertsOncePerTransition(t *testing.T) {
	reg := prometheus.NewRegistry()
	var log bytes.Buffer
	a := metrics.NewAlerts(reg, "test", slog.New(slog.NewTextHandler(&log, nil)))
	a.Set("reader_lost", "cab-1", false, "reader back")
	for range 3 {
		a.Set("reader_lost", "or3", true, "reader lost", "down_for", "31s")
	}
	if !a.Active("reader_lost", "or3") || a.Active("reader_lost", "cab-1") {
		t.Fatal("active states wrong")
	}
	a.Set("reader_lost", "or3", false, "reader back")
	a.Set("reader_lost", "or3", false, "reader back")
	l := log.String()
	if strings.Count(l, "level=WARN") != 1 || strings.Count(l, "level=INFO") != 1 || !strings.Contains(l, `msg="reader lost" alert=reader_lost subject=or3 down_for=31s`) {
		t.Fatalf("log:\n%s", l)
	}
	got, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for _, f := range got {
		if _, err := expfmt.MetricFamilyToText(&text, f); err != nil {
			t.Fatal(err)
		}
	}
	m, err := metricstest.Parse(strings.NewReader(text.String()))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, subject string
		want          float64
	}{{"test_alert", "cab-1", 0}, {"test_alert", "or3", 0}, {"test_alerts_raised_total", "", 1}} {
		labels := []string{"alert", "reader_lost"}
		if c.subject != "" {
			labels = append(labels, "subject", c.subject)
		}
		if v, ok := m.Value(c.name, labels...); !ok || v != c.want {
			t.Errorf("%s %v = %v %v, want %v", c.name, labels, v, ok, c.want)
		}
	}
}

// TestDiskSpace: the file system of a real directory has a size, and no
// more free than that.
func TestDiskSpace(t *testing.T) {
	free, size, err := metrics.DiskSpace(t.TempDir())
	if err != nil || size == 0 || free > size {
		t.Fatalf("free %d size %d: %v", free, size, err)
	}
	if _, _, err := metrics.DiskSpace(filepath.Join(t.TempDir(), "missing", "dir")); err == nil {
		t.Fatal("statfs of a missing directory succeeded")
	}
}
