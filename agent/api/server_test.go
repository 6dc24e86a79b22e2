package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/testkit"
)

// served is a core over a real ledger, served on a unix socket (and a
// loopback TCP address) with limits.
type served struct {
	socket, tcp string
	client      *api.Client
	stop        func() error
}

func serve(t *testing.T, limits api.Limits) *served {
	t.Helper()
	l := ledgerWith(t, receipts(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC), "warehouse", "S%03d", 20))
	g, err := core.New(core.Config{}, core.Deps{Store: l, Master: l})
	if err != nil {
		t.Fatal(err)
	}
	return serveCore(t, g, limits)
}

// ledgerWith opens a real ledger in a temporary directory, writes ms to
// it in order, and closes it when the test ends.
func ledgerWith(tb testing.TB, ms []agent.Movement) *bolt.Ledger {
	tb.Helper()
	l, err := bolt.Open(bolt.Options{Path: filepath.Join(tb.TempDir(), "ledger.db"), Gateway: "gw-api"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	errs := make(chan error, len(ms))
	for _, m := range ms {
		l.Submit(m, func(_ agent.Movement, err error) { errs <- err })
	}
	for range ms {
		if err := <-errs; err != nil {
			tb.Fatal(err)
		}
	}
	return l
}

// receipts returns n receipts at location at time at, of items
// (01)09520123456788(21) followed by serial (a format of the item's
// number).
func receipts(at time.Time, location, serial string, n int) []agent.Movement {
	ms := make([]agent.Movement, n)
	for i := range ms {
		ms[i] = agent.Movement{Time: at, Kind: agent.KindReceive, Item: "(01)09520123456788(21)" + fmt.Sprintf(serial, i), Location: location}
	}
	return ms
}

// httpClient is an HTTP client of the control socket, for requests the
// api.Client does not make.
func (s *served) httpClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", s.socket)
	}}, Timeout: time.Minute}
}

// serveCore serves the local API of g on a unix socket (and a loopback
// TCP address) with limits, until the test ends.
func serveCore(t testing.TB, g *core.Gateway, limits api.Limits) *served {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := api.ListenUnix(sock, "")
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := api.ListenLoopback("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- api.NewServer(g, limits, nil).Serve(ctx, ln, tcp) }()
	s := &served{socket: sock, tcp: tcp.Addr().String(), client: api.NewClient(sock)}
	var stopped bool
	s.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			return errors.New("the server did not stop within 10s")
		}
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// stall opens a connection and sends the start of a request whose body
// never comes.
func stall(t *testing.T, socket string) net.Conn {
	t.Helper()
	c, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "PUT /v1/master/catalogue?format=csv HTTP/1.1\r\nHost: agent\r\nContent-Length: 1000\r\n\r\ngtin,name")
	return c
}

// TestStuckRequestIsCutOff: a request whose body never comes holds its
// turn only until its deadline; meanwhile the other long requests wait,
// then are told the agent is busy; the agent is never stuck for good.
func TestStuckRequestIsCutOff(t *testing.T) {
	s := serve(t, api.Limits{MaxLong: 1, Wait: 100 * time.Millisecond, Timeout: 2 * time.Second, LongTimeout: time.Second})
	c := stall(t, s.socket)
	// The stalled import holds the one turn of long requests: a verify
	// waits, then is busy; a status is answered all the while.
	testkit.CheckFor(t, 5*time.Second, func() error {
		_, err := s.client.Verify(context.Background())
		if !errors.Is(err, api.ErrBusy) {
			return fmt.Errorf("verify while an import stalls: %v, want busy", err)
		}
		return nil
	})
	if _, err := s.client.Status(context.Background()); err != nil {
		t.Fatalf("status while an import stalls: %v", err)
	}
	// Past the import's deadline the connection is cut and the turn free.
	testkit.CheckFor(t, 5*time.Second, func() error {
		_, err := s.client.Verify(context.Background())
		return err
	})
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	answer, _ := io.ReadAll(c)
	if !bytes.Contains(answer, []byte("504 Gateway Timeout")) || !bytes.Contains(answer, []byte(`"kind":"timeout"`)) {
		t.Errorf("the stalled request's answer: %q", answer)
	}
}

// TestShutdownWithAStuckClient: stopping the server never waits for a
// client that does not send its request.
func TestShutdownWithAStuckClient(t *testing.T) {
	s := serve(t, api.Limits{LongTimeout: time.Hour})
	stall(t, s.socket)
	time.Sleep(50 * time.Millisecond) // the request is in its handler
	start := time.Now()
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("stopping took %v with a stuck client", d)
	}
}

// TestBodyBounded: a body over the bound is refused, naming the bound.
func TestBodyBounded(t *testing.T) {
	s := serve(t, api.Limits{MaxBody: 1 << 10})
	big := "gtin,name,unit_price\n" + strings.Repeat("09520123456788,hip stem,1.00\n", 100)
	_, err := s.client.Import(context.Background(), "catalogue", strings.NewReader(big), core.ImportOptions{Format: "csv"})
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || !strings.Contains(ae.ErrorResponse.Error, "larger than 1024 bytes") {
		t.Fatalf("import of %d bytes over a 1 KiB bound: %v", len(big), err)
	}
}

// TestTCPIsReadOnly: over the loopback TCP address a client reads, and
// any change is refused.
func TestTCPIsReadOnly(t *testing.T) {
	s := serve(t, api.Limits{})
	resp, err := http.Get("http://" + s.tcp + "/v1/trace?code=" + "(01)09520123456788(21)S007")
	if err != nil {
		t.Fatal(err)
	}
	var tr api.TraceResponse
	err = json.NewDecoder(resp.Body).Decode(&tr)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || len(tr.Movements) != 1 || tr.Movements[0].Seq != 8 {
		t.Fatalf("trace over TCP: %s %+v %v", resp.Status, tr, err)
	}
	req, _ := http.NewRequest(http.MethodPut, "http://"+s.tcp+"/v1/master/catalogue?format=csv", strings.NewReader("gtin,name,unit_price\n"))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), `"kind":"forbidden"`) {
		t.Fatalf("import over TCP: %s %s", resp.Status, body)
	}
	// The agent's own user may change things on the socket.
	if _, err := s.client.Import(context.Background(), "catalogue", strings.NewReader("gtin,name,unit_price\n09520123456788,hip stem,6850.00\n"), core.ImportOptions{Format: "csv"}); err != nil {
		t.Fatalf("import on the socket: %v", err)
	}
}

// snakeCase returns a walk of a decoded JSON answer that reports every
// key not in snake_case, naming it by its path.
func snakeCase(t *testing.T) func(path string, v any) {
	key := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, y := range x {
				if !key.MatchString(k) {
					t.Errorf("%s: key %q is not snake_case", path, k)
				}
				walk(path+"."+k, y)
			}
		case []any:
			for _, y := range x {
				walk(path+"[]", y)
			}
		}
	}
	return walk
}

// TestSnakeCase: every key of every JSON answer is snake_case.
func TestSnakeCase(t *testing.T) {
	s := serve(t, api.Limits{})
	walk := snakeCase(t)
	for _, path := range []string{"/v1/status", "/v1/trace?code=09520123456788", "/v1/verify", "/v1/anomalies", "/v1/reconcile",
		"/v1/rejects", "/v1/nowhere", "/v1/trace?code=PATIENT-1", "/v1/cases/K1/cost", "/v1/implants", "/v1/procurement"} {
		resp, err := http.Get("http://" + s.tcp + path)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		err = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		walk(path, v)
	}
}

// TestBodyOverBoundNotRead: a body whose declared length is over the
// bound is refused before a byte of it is read, naming the bound; the
// client need not send it.
func TestBodyOverBoundNotRead(t *testing.T) {
	s := serve(t, api.Limits{MaxBody: 1 << 10, LongTimeout: time.Minute})
	c, err := net.Dial("unix", s.socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "PUT /v1/master/catalogue?format=csv HTTP/1.1\r\nHost: agent\r\nContent-Length: %d\r\n\r\ngtin,name,unit_price\n", 80<<20)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer while the body is not sent: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "larger than 1024 bytes") {
		t.Fatalf("%s %s", resp.Status, body)
	}
}
