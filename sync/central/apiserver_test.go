package central_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
	"github.com/udi-edge/udi-edge/sync/internal/mosquitto"
)

// apiServer is an APIServer of a fixture's service, serving on a real
// listener.
type apiServer struct {
	url  string // base URL, on 127.0.0.1 whatever the listener's address
	port string
	stop func() error
}

// serveAPI serves f's service with cfg on a listener on addr.
func serveAPI(t *testing.T, f *fixture, cfg central.APIConfig, addr string) *apiServer {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.svc.NewAPIServer(cfg).Serve(ctx, ln) }()
	scheme := "http"
	if cfg.TLS != nil {
		scheme = "https"
	}
	s := &apiServer{url: scheme + "://127.0.0.1:" + port, port: port}
	var stopped bool
	var stopErr error
	s.stop = func() error {
		if stopped {
			return stopErr
		}
		stopped = true
		cancel()
		select {
		case stopErr = <-done:
		case <-time.After(10 * time.Second):
			stopErr = errors.New("the API server did not stop within 10s")
		}
		return stopErr
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// call makes a request with an optional bearer token and returns the
// status, the body and the header of the answer.
func call(t *testing.T, c *http.Client, method, u, token, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: %d, content type %q: %s", method, u, resp.StatusCode, ct, b)
	}
	return resp.StatusCode, string(b), resp.Header
}

const recallsCSV = "gtin,lot,reason\n09506000134352,L1,recall\n"

// seedTrace gives f one movement of an item, with the patient, and
// returns the trace path of the item with include_patient=1.
func seedTrace(t *testing.T, f *fixture) string {
	t.Helper()
	l := testkit.NewLedger(site, "or-3", created)
	l.AddN(t, 1)
	f.send(l, 1, 1)
	f.published(1)
	return "/v1/trace?include_patient=1&code=" + url.QueryEscape(testkit.ItemKey(1))
}

// TestAPIServerRoles: with authentication, a request without a valid
// token is 401; an auditor reads, patients included, and may not
// publish; an operator publishes and reads without patients. The log
// names who did what and holds no token.
func TestAPIServerRoles(t *testing.T) {
	f := newFixture(t)
	trace := seedTrace(t, f)
	tokens, err := central.LoadTokens(tokensFile(t))
	if err != nil {
		t.Fatal(err)
	}
	s := serveAPI(t, f, central.APIConfig{Tokens: tokens, AuthAlways: true}, "127.0.0.1:0")
	c := http.DefaultClient
	publish := s.url + "/v1/master?site=" + site + "&set=recalls&format=csv"

	for _, path := range []string{"/healthz", "/v1/gateways", trace, "/v1/nothing"} {
		code, body, h := call(t, c, "GET", s.url+path, "", "")
		if code != http.StatusUnauthorized || !strings.Contains(body, `"error":"authentication required: send an Authorization: Bearer token"`) || h.Get("WWW-Authenticate") == "" {
			t.Errorf("GET %s without a token: %d %s %v", path, code, body, h)
		}
	}
	if code, body, _ := call(t, c, "POST", publish, "", recallsCSV); code != http.StatusUnauthorized {
		t.Errorf("publish without a token: %d %s", code, body)
	}
	if code, body, _ := call(t, c, "GET", s.url+"/v1/gateways", "not-a-token-but-long-enough-to-be-one", ""); code != http.StatusUnauthorized || !strings.Contains(body, "unknown bearer token") {
		t.Errorf("an unknown token: %d %s", code, body)
	}
	req, _ := http.NewRequest("GET", s.url+"/v1/gateways", nil)
	req.Header.Set("Authorization", "Basic "+auditorToken)
	if resp, err := c.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("Basic instead of Bearer: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// The auditor reads, patients included, and may not publish.
	if code, body, _ := call(t, c, "GET", s.url+trace, auditorToken, ""); code != http.StatusOK || !strings.Contains(body, `"patient":"`+secret+`"`) {
		t.Errorf("auditor trace with patients: %d %s", code, body)
	}
	if code, body, _ := call(t, c, "GET", s.url+"/healthz", auditorToken, ""); code != http.StatusOK {
		t.Errorf("auditor healthz: %d %s", code, body)
	}
	if code, body, _ := call(t, c, "POST", publish, auditorToken, recallsCSV); code != http.StatusForbidden || !strings.Contains(body, "audit-office (role auditor) may not publish master data") {
		t.Errorf("auditor publish: %d %s", code, body)
	}
	if n := len(f.conn.Published()); n != 1 { // the ack only
		t.Fatalf("%d messages published after a refused publication, want 1", n)
	}
	// The operator publishes, and reads without patients.
	if code, body, _ := call(t, c, "POST", publish, operatorToken, recallsCSV); code != http.StatusCreated || !strings.Contains(body, `"version":1`) {
		t.Errorf("operator publish: %d %s", code, body)
	}
	if code, body, _ := call(t, c, "GET", s.url+strings.Replace(trace, "include_patient=1&", "", 1), operatorToken, ""); code != http.StatusOK || strings.Contains(body, secret) || !strings.Contains(body, `"seq":1`) {
		t.Errorf("operator trace: %d %s", code, body)
	}
	if code, body, _ := call(t, c, "GET", s.url+trace, operatorToken, ""); code != http.StatusForbidden || strings.Contains(body, secret) || !strings.Contains(body, "may not see patient identifiers") {
		t.Errorf("operator trace with patients: %d %s", code, body)
	}
	if code, body, _ := call(t, c, "GET", s.url+"/v1/trace?include_patient=maybe&code=x", auditorToken, ""); code != http.StatusBadRequest {
		t.Errorf("include_patient=maybe: %d %s", code, body)
	}

	logs := f.logs.String()
	for _, want := range []string{`msg="trace with patient identifiers" by=audit-office role=auditor`, `msg="master data published over the HTTP API" by=pharmacy role=operator`, `status=401 reason="unknown bearer token"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, auditorToken) || strings.Contains(logs, operatorToken) {
		t.Errorf("a token reached the log:\n%s", logs)
	}
}

// TestAPIServerLoopbackOpen: on a loopback address without AuthAlways a
// request without a credential may do everything; a credential presented
// is still checked.
func TestAPIServerLoopbackOpen(t *testing.T) {
	f := newFixture(t)
	trace := seedTrace(t, f)
	tokens, err := central.LoadTokens(tokensFile(t))
	if err != nil {
		t.Fatal(err)
	}
	s := serveAPI(t, f, central.APIConfig{Tokens: tokens}, "127.0.0.1:0")
	if code, body, _ := call(t, http.DefaultClient, "GET", s.url+trace, "", ""); code != http.StatusOK || !strings.Contains(body, secret) {
		t.Errorf("local trace with patients: %d %s", code, body)
	}
	if code, body, _ := call(t, http.DefaultClient, "POST", s.url+"/v1/master?site="+site+"&set=recalls&format=csv", "", recallsCSV); code != http.StatusCreated {
		t.Errorf("local publish: %d %s", code, body)
	}
	if code, body, _ := call(t, http.DefaultClient, "GET", s.url+"/v1/gateways", "wrong-token-wrong-token-wrong-token", ""); code != http.StatusUnauthorized {
		t.Errorf("a wrong token on the open loopback: %d %s", code, body)
	}
	if code, body, _ := call(t, http.DefaultClient, "POST", s.url+"/v1/master?site="+site+"&set=recalls&format=csv", auditorToken, recallsCSV); code != http.StatusForbidden {
		t.Errorf("an auditor's token on the open loopback may not publish: %d %s", code, body)
	}
}

// TestAPIServerRefusesBeyondLoopback: beyond loopback the server needs
// TLS and credentials, and does not serve without them.
func TestAPIServerRefusesBeyondLoopback(t *testing.T) {
	tokens, err := central.LoadTokens(tokensFile(t))
	if err != nil {
		t.Fatal(err)
	}
	withTLS := &tls.Config{}
	for _, c := range []struct {
		addr string
		cfg  central.APIConfig
		want error
	}{
		{"127.0.0.1:8380", central.APIConfig{}, nil},
		{"127.3.4.5:8380", central.APIConfig{}, nil},
		{"[::1]:8380", central.APIConfig{}, nil},
		{"localhost:8380", central.APIConfig{}, nil},
		{"127.0.0.1:8380", central.APIConfig{AuthAlways: true}, central.ErrNoCredentials},
		{"127.0.0.1:8380", central.APIConfig{AuthAlways: true, Tokens: tokens}, nil},
		{"0.0.0.0:8380", central.APIConfig{}, central.ErrNoTLS},
		{":8380", central.APIConfig{Tokens: tokens}, central.ErrNoTLS},
		{"[::]:8380", central.APIConfig{TLS: withTLS}, central.ErrNoCredentials},
		{"10.1.2.3:8380", central.APIConfig{TLS: withTLS, Tokens: tokens}, nil},
		{"central.hospital.example:8380", central.APIConfig{Tokens: tokens}, central.ErrNoTLS},
		{"127.0.0.1:8380", central.APIConfig{Certs: &central.CertRoles{}}, central.ErrInvalid},
	} {
		if err := c.cfg.Check(c.addr); !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("Check(%s) with TLS %v, tokens %v: %v, want %v", c.addr, c.cfg.TLS != nil, c.cfg.Tokens != nil, err, c.want)
		}
	}

	// Serve refuses at once, and closes the listener.
	f := newFixture(t)
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- f.svc.NewAPIServer(central.APIConfig{Tokens: tokens}).Serve(context.Background(), ln) }()
	select {
	case err := <-done:
		if !errors.Is(err, central.ErrNoTLS) {
			t.Fatalf("Serve on %s without TLS: %v", ln.Addr(), err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve beyond loopback without TLS did not return")
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if c, err := net.Dial("tcp", "127.0.0.1:"+port); err == nil {
		c.Close()
		t.Fatal("the refused listener still accepts connections")
	}
}

// TestAPIServerClientCertificates serves on every interface with TLS,
// tokens and client certificates: a certificate's common name gives its
// role, one that no rule names is 403, one of another CA fails the
// handshake, and plain HTTP gets no answer of the API.
func TestAPIServerClientCertificates(t *testing.T) {
	f := newFixture(t)
	trace := seedTrace(t, f)
	certs := mosquitto.NewCerts(t, "audit-office", "pharmacy", "stranger")
	other := mosquitto.NewCerts(t, "audit-office")
	rolesFile := filepath.Join(t.TempDir(), "roles")
	if err := os.WriteFile(rolesFile, []byte("auditor cn:audit-office\noperator cn:pharmacy\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cr, err := central.LoadCertRoles(certs.CAFile, rolesFile)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := central.LoadTokens(tokensFile(t))
	if err != nil {
		t.Fatal(err)
	}
	kp, err := tls.LoadX509KeyPair(certs.ServerCert, certs.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	s := serveAPI(t, f, central.APIConfig{TLS: &tls.Config{Certificates: []tls.Certificate{kp}}, Tokens: tokens, Certs: cr}, "0.0.0.0:0")
	client := func(c *mosquitto.Certs, name string) *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: c.ClientTLSConfig(name)}}
	}
	publish := s.url + "/v1/master?site=" + site + "&set=recalls&format=csv"

	auditor := client(certs, "audit-office")
	if code, body, _ := call(t, auditor, "GET", s.url+trace, "", ""); code != http.StatusOK || !strings.Contains(body, secret) {
		t.Errorf("auditor's certificate, trace: %d %s", code, body)
	}
	if code, body, _ := call(t, auditor, "POST", publish, "", recallsCSV); code != http.StatusForbidden || !strings.Contains(body, "cn:audit-office (role auditor) may not publish") {
		t.Errorf("auditor's certificate, publish: %d %s", code, body)
	}
	if code, body, _ := call(t, client(certs, "pharmacy"), "POST", publish, "", recallsCSV); code != http.StatusCreated {
		t.Errorf("operator's certificate, publish: %d %s", code, body)
	}
	if code, body, _ := call(t, client(certs, "stranger"), "GET", s.url+"/v1/gateways", "", ""); code != http.StatusForbidden || !strings.Contains(body, "CN=stranger") {
		t.Errorf("a certificate no rule names: %d %s", code, body)
	}
	// Without a certificate: a token, or nothing.
	anon := client(certs, "")
	if code, body, _ := call(t, anon, "GET", s.url+"/v1/gateways", "", ""); code != http.StatusUnauthorized || !strings.Contains(body, "Bearer token or a client certificate") {
		t.Errorf("no credential over TLS: %d %s", code, body)
	}
	if code, body, _ := call(t, anon, "POST", publish, operatorToken, recallsCSV); code != http.StatusCreated || !strings.Contains(body, `"version":`) {
		t.Errorf("operator's token over TLS: %d %s", code, body)
	}
	// A certificate of another CA fails the handshake.
	if resp, err := client(other, "audit-office").Get(s.url + "/v1/gateways"); err == nil {
		resp.Body.Close()
		t.Fatalf("a certificate of another CA: %s, want a failed handshake", resp.Status)
	}
	// Plain HTTP on the TLS port.
	resp, err := http.Get("http://127.0.0.1:" + s.port + "/v1/gateways")
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(string(b), "gateways") {
			t.Fatalf("plain HTTP to the TLS port: %s %s", resp.Status, b)
		}
	}
}

// stallMaster opens a connection and sends the start of a publication
// whose body never comes.
func stallMaster(t *testing.T, s *apiServer) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "POST /v1/master?site=%s&set=recalls&format=csv HTTP/1.1\r\nHost: centre\r\nContent-Length: 1000\r\n\r\ngtin,lot", site)
	return c
}

// TestAPIServerStuckRequestIsCutOff: a publication whose body never
// comes holds its turn only until its deadline; meanwhile the others
// wait, then are told the server is busy; the server is never stuck.
func TestAPIServerStuckRequestIsCutOff(t *testing.T) {
	f := newFixture(t)
	s := serveAPI(t, f, central.APIConfig{Limits: central.APILimits{MaxConcurrent: 1, Wait: 100 * time.Millisecond, Timeout: 2 * time.Second, LongTimeout: time.Second}}, "127.0.0.1:0")
	c := stallMaster(t, s)
	testkit.WaitFor(t, wait, "a read refused as busy while a publication stalls", func() bool {
		code, body, h := call(t, http.DefaultClient, "GET", s.url+"/v1/gateways", "", "")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "busy") && h.Get("Retry-After") != ""
	})
	testkit.WaitFor(t, wait, "the turn freed past the publication's deadline", func() bool {
		code, _, _ := call(t, http.DefaultClient, "GET", s.url+"/v1/gateways", "", "")
		return code == http.StatusOK
	})
	_ = c.SetReadDeadline(time.Now().Add(wait))
	answer, _ := io.ReadAll(c)
	if !bytes.Contains(answer, []byte("408 Request Timeout")) || !bytes.Contains(answer, []byte("did not arrive within the request's deadline")) {
		t.Errorf("the stalled request's answer: %q", answer)
	}
}

// TestAPIServerShutdownWithAStuckClient: stopping the server never waits
// for a client that does not send its request.
func TestAPIServerShutdownWithAStuckClient(t *testing.T) {
	f := newFixture(t)
	s := serveAPI(t, f, central.APIConfig{Limits: central.APILimits{MaxConcurrent: 1, Wait: 50 * time.Millisecond, LongTimeout: time.Hour}}, "127.0.0.1:0")
	c := stallMaster(t, s)
	// The stalled publication holds the only turn: it is in its handler.
	testkit.WaitFor(t, wait, "the stalled publication to hold the turn", func() bool {
		code, _, _ := call(t, http.DefaultClient, "GET", s.url+"/healthz", "", "")
		return code == http.StatusServiceUnavailable
	})
	if err := s.stop(); err != nil { // fails after 10 s
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	if _, err := io.ReadAll(c); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the stuck client's connection is still open after the server stopped")
	}
}

// TestAPIServerBodyBounded: a body over the bound is refused with 413,
// naming the bound, and nothing is published.
func TestAPIServerBodyBounded(t *testing.T) {
	f := newFixture(t)
	s := serveAPI(t, f, central.APIConfig{Limits: central.APILimits{MaxBody: 1 << 10}}, "127.0.0.1:0")
	big := "gtin,lot,reason\n" + strings.Repeat("09506000134352,L1,recall\n", 100)
	code, body, _ := call(t, http.DefaultClient, "POST", s.url+"/v1/master?site="+site+"&set=recalls&format=csv", "", big)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(body, "larger than 1024 bytes") {
		t.Fatalf("a body of %d bytes over a 1 KiB bound: %d %s", len(big), code, body)
	}
	if n := len(f.conn.Published()); n != 0 {
		t.Fatalf("%d messages published", n)
	}
}
