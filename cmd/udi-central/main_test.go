package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/testkit"
)

// syncBuffer is a writer safe for concurrent use.
type syncBuffer = testkit.LogBuffer

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, 10*time.Second, what, cond)
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestRunWithoutBroker runs the service in process while no broker
// answers: the HTTP API serves, health says so, and cancelling stops it
// with exit code 0. (The end-to-end test with a broker is
// sync/central/udicentral_test.go.)
func TestRunWithoutBroker(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	store := filepath.Join(t.TempDir(), "central.db")
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"run", "--site", "st-marys", "--store", store, "--http", "127.0.0.1:0",
			"--broker", "tcp://" + closedPort(t), "--client-id", "udi-central-test"}, &stdout, &stderr)
	}()
	re := regexp.MustCompile(`msg="http listening" addr=(\S+)`)
	waitFor(t, "the HTTP API", func() bool { return re.MatchString(stderr.String()) })
	url := "http://" + re.FindStringSubmatch(stderr.String())[1]
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("healthz without a broker: %d, want 503", resp.StatusCode)
	}
	resp, err = http.Get(url + "/v1/gateways")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("gateways: %d", resp.StatusCode)
	}

	// A second instance on the same store fails: the file is locked.
	if code := Main(context.Background(), []string{"run", "--site", "st-marys", "--store", store, "--http", ""}, &stdout, &stderr); code != ExitFailure {
		t.Fatalf("second run on a held store: exit %d, want %d", code, ExitFailure)
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Fatalf("run exit %d, want 0\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
	if !strings.Contains(stderr.String(), `msg=stopped`) {
		t.Fatalf("no clean stop in the log:\n%s", stderr.String())
	}
}

func TestRunHTTPAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var out, errs bytes.Buffer
	code := Main(context.Background(), []string{"run", "--site", "st-marys", "--store", filepath.Join(t.TempDir(), "c.db"),
		"--http", ln.Addr().String(), "--broker", "tcp://" + closedPort(t)}, &out, &errs)
	if code != ExitFailure || !strings.Contains(errs.String(), "--http") {
		t.Fatalf("exit %d, want 1 naming --http:\n%s", code, errs.String())
	}
}

func TestUsageExitCodes(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
	}{
		{nil, ExitUsage},
		{[]string{"help"}, ExitOK},
		{[]string{"nope"}, ExitUsage},
		{[]string{"run", "--site", "a", "extra"}, ExitUsage},
		{[]string{"run", "--site", "a", "--log-level", "loud"}, ExitUsage},
		{[]string{"run", "--site", "a", "--cert", "c.pem"}, ExitUsage},
		{[]string{"run", "--site", "a", "--password", "x", "--password-file", "f"}, ExitUsage},
		{[]string{"gateways", "extra"}, ExitUsage},
		{[]string{"trace", "a", "b"}, ExitUsage},
		{[]string{"publish", "recalls"}, ExitUsage},
		{[]string{"publish", "recalls", "f.csv"}, ExitUsage},
	} {
		var out, errs bytes.Buffer
		if code := Main(context.Background(), c.args, &out, &errs); code != c.code {
			t.Errorf("%q: exit %d, want %d\n%s", c.args, code, c.code, errs.String())
		}
	}
}
