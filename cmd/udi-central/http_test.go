package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pki is a CA and the certificates it signed, as PEM files in dir.
type pki struct {
	t      *testing.T
	dir    string
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	CAFile string
}

// newPKI generates a CA (ECDSA P-256) and writes it to ca.pem.
func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{t: t, dir: t.TempDir()}
	p.caKey = p.key()
	tmpl := p.template("udi-central test CA")
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &p.caKey.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	if p.ca, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	p.CAFile = p.write("ca.pem", "CERTIFICATE", der)
	return p
}

func (p *pki) key() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		p.t.Fatal(err)
	}
	return k
}

func (p *pki) template(cn string) *x509.Certificate {
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		p.t.Fatal(err)
	}
	return &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
}

func (p *pki) write(name, kind string, der []byte) string {
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		p.t.Fatal(err)
	}
	return path
}

// issue signs a certificate for cn, a server's (for 127.0.0.1, ::1 and
// localhost) or a client's, and returns its certificate and key files.
func (p *pki) issue(cn string, server bool) (cert, key string) {
	k := p.key()
	tmpl := p.template(cn)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
		tmpl.DNSNames = []string{"localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &k.PublicKey, p.caKey)
	if err != nil {
		p.t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		p.t.Fatal(err)
	}
	return p.write(cn+".pem", "CERTIFICATE", der), p.write(cn+"-key.pem", "PRIVATE KEY", kder)
}

const (
	auditorToken  = "auditor-token-0123456789abcdef0123456789"
	operatorToken = "operator-token-0123456789abcdef012345678"
)

// writeFile writes data to name in dir with mode and returns its path.
func writeFile(t *testing.T, dir, name, data string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // whatever the umask
		t.Fatal(err)
	}
	return path
}

// httpFiles are the files of a protected API: a server certificate, a
// tokens file of an auditor and an operator, client certificate rules,
// and each client's token file.
type httpFiles struct {
	pki                       *pki
	cert, key                 string
	tokens, roles             string
	auditorFile, operatorFile string
	auditorCert, auditorKey   string
	strangerCert, strangerKey string
}

func newHTTPFiles(t *testing.T) *httpFiles {
	t.Helper()
	p := newPKI(t)
	f := &httpFiles{pki: p}
	f.cert, f.key = p.issue("server", true)
	f.auditorCert, f.auditorKey = p.issue("audit-office", false)
	f.strangerCert, f.strangerKey = p.issue("stranger", false)
	dir := t.TempDir()
	f.tokens = writeFile(t, dir, "http-tokens", auditorToken+" auditor audit-office\n"+operatorToken+" operator pharmacy\n", 0o600)
	f.roles = writeFile(t, dir, "http-client-roles", "auditor cn:audit-office\n", 0o644)
	f.auditorFile = writeFile(t, dir, "auditor-token", auditorToken+"\n", 0o600)
	f.operatorFile = writeFile(t, dir, "operator-token", operatorToken+"\n", 0o600)
	return f
}

// flags are run's flags serving the API with these files.
func (f *httpFiles) flags() []string {
	return []string{"--http-tls-cert", f.cert, "--http-tls-key", f.key, "--http-tokens", f.tokens,
		"--http-client-ca", f.pki.CAFile, "--http-client-roles", f.roles}
}

// client returns an API client made by the client flags args.
func client(t *testing.T, args ...string) *apiClient {
	t.Helper()
	var cf apiClientFlags
	fs := newFlags(&Env{Stdout: io.Discard, Stderr: io.Discard}, "test", "", "")
	cf.register(fs)
	if err := parse(fs, args); err != nil {
		t.Fatal(err)
	}
	c, err := cf.client()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// get GETs url with c and returns the status and the body.
func get(t *testing.T, c *apiClient, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader("gtin,lot,reason\n09506000134352,L1,recall\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// startRun runs `udi-central run` in process with args (no broker
// answers) and returns the API's port and its log (runService).
func startRun(t *testing.T, args ...string) (port string, logs *syncBuffer) {
	t.Helper()
	base := []string{"--site", "st-marys", "--store", filepath.Join(t.TempDir(), "central.db"),
		"--broker", "tcp://" + closedPort(t), "--client-id", "udi-central-test"}
	port, logs, _ = runService(t, nil, append(base, args...)...)
	return port, logs
}

// TestRunHTTPBeyondLoopback runs the service on every interface with
// HTTPS, tokens and client certificates: without a credential 401, an
// auditor reads and may not publish, a client certificate gets its
// role, plain HTTP gets no answer of the API. No token reaches the log.
func TestRunHTTPBeyondLoopback(t *testing.T) {
	f := newHTTPFiles(t)
	port, logs := startRun(t, append([]string{"--http", "0.0.0.0:0"}, f.flags()...)...)
	base := "https://127.0.0.1:" + port

	anon := client(t, "--http-ca", f.pki.CAFile)
	if code, body := get(t, anon, "GET", base+"/v1/gateways"); code != http.StatusUnauthorized || !strings.Contains(body, "authentication required") {
		t.Errorf("no credential: %d %s", code, body)
	}
	auditor := client(t, "--http-ca", f.pki.CAFile, "--http-token-file", f.auditorFile)
	if code, body := get(t, auditor, "GET", base+"/v1/gateways"); code != http.StatusOK || !strings.Contains(body, `"gateways":[]`) {
		t.Errorf("auditor's token, gateways: %d %s", code, body)
	}
	if code, body := get(t, auditor, "POST", base+"/v1/master?site=st-marys&set=recalls&format=csv"); code != http.StatusForbidden || !strings.Contains(body, "audit-office (role auditor) may not publish master data") {
		t.Errorf("auditor's token, publish: %d %s", code, body)
	}
	// The operator may publish: with no broker, the broker does not take it.
	operator := client(t, "--http-ca", f.pki.CAFile, "--http-token-file", f.operatorFile)
	if code, body := get(t, operator, "POST", base+"/v1/master?site=st-marys&set=recalls&format=csv"); code != http.StatusBadGateway {
		t.Errorf("operator's token, publish without a broker: %d %s", code, body)
	}
	byCert := client(t, "--http-ca", f.pki.CAFile, "--http-cert", f.auditorCert, "--http-key", f.auditorKey)
	if code, body := get(t, byCert, "GET", base+"/healthz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "mqtt disconnected") {
		t.Errorf("auditor's certificate, healthz without a broker: %d %s", code, body)
	}
	stranger := client(t, "--http-ca", f.pki.CAFile, "--http-cert", f.strangerCert, "--http-key", f.strangerKey)
	if code, body := get(t, stranger, "GET", base+"/healthz"); code != http.StatusForbidden || !strings.Contains(body, "given no role") {
		t.Errorf("a certificate no rule names: %d %s", code, body)
	}
	if resp, err := http.Get("http://127.0.0.1:" + port + "/v1/gateways"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK || strings.Contains(string(b), "gateways") {
			t.Errorf("plain HTTP: %s %s", resp.Status, b)
		}
	}
	// The commands reach the protected API with the same flags.
	if code, out, errs := runMain(t, "gateways", "--http-url", base, "--http-ca", f.pki.CAFile, "--http-token-file", f.auditorFile); code != ExitOK || errs != "" {
		t.Errorf("gateways with the auditor's token: exit %d, %q, stderr %q", code, out, errs)
	}
	if code, _, errs := runMain(t, "gateways", "--http-url", base, "--http-ca", f.pki.CAFile); code == ExitOK || !strings.Contains(errs, "401") {
		t.Errorf("gateways without a credential: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := runMain(t, "trace", "--http-url", base, "--http-ca", f.pki.CAFile, "--http-cert", f.auditorCert, "--http-key", f.auditorKey, "(01)04012345678901(21)A1"); !strings.Contains(errs, "no movement of") {
		t.Errorf("trace with the auditor's certificate: exit %d, stderr %q; want the service's answer that it holds none", code, errs)
	}
	if code, out, errs := runMain(t, "anomalies", "--site", "st-marys", "--http-url", base, "--http-ca", f.pki.CAFile, "--http-token-file", f.operatorFile); code != ExitOK || !strings.Contains(out, "no findings") {
		t.Errorf("anomalies with the operator's token: exit %d, %q, stderr %q", code, out, errs)
	}
	js := writeFile(t, t.TempDir(), "js.csv", "id,patient,case,item,quantity,amount\nJS9,P1,K9,(01)09506000134352(21)Z9,1,10.00\n", 0o600)
	if code, out, errs := runMain(t, "reconcile", "--site", "st-marys", "--settlements", js, "--http-url", base, "--http-ca", f.pki.CAFile, "--http-token-file", f.auditorFile); code != ExitFailure || !strings.Contains(out, "billed-never-scanned") || !strings.Contains(errs, "1 finding(s)") {
		t.Errorf("reconcile with the auditor's token: exit %d, %q, stderr %q", code, out, errs)
	}
	if code, _, errs := runMain(t, "reconcile", "--site", "st-marys", "--settlements", js, "--http-url", base, "--http-ca", f.pki.CAFile); code == ExitOK || !strings.Contains(errs, "401") {
		t.Errorf("reconcile without a credential: exit %d, stderr %q", code, errs)
	}
	// A fee-detail reconciliation changes nothing: the auditor may run it.
	cat := writeFile(t, t.TempDir(), "catalogue.csv", "gtin,name,insurance_code,charge_code,unit_price,tracking\n06901234100037,knee,C0301020010000300001,HC310403,7980.00,serial\n", 0o600)
	fees := writeFile(t, t.TempDir(), "fees.csv", "feedetl_sn,mdtrt_id,psn_no,fee_ocur_time,med_list_codg,medins_list_codg,det_item_fee_sumamt,cnt,pric\n"+
		"F1,V1,P1,2026-12-06 10:00:00,C0301020010000300001,HC310403,7980.00,1,7980.00\n", 0o600)
	feeArgs := []string{"reconcile", "--site", "st-marys", "--fees", fees, "--master", "catalogue=" + cat, "--json", "--http-url", base, "--http-ca", f.pki.CAFile}
	if code, out, errs := runMain(t, append(feeArgs, "--http-token-file", f.auditorFile)...); code != ExitFailure ||
		!strings.Contains(out, `{"kind":"billed-not-scanned","case":"V1","line":"F1","code":"C0301020010000300001"`) || !strings.Contains(errs, "1 finding(s)") {
		t.Errorf("reconcile --fees with the auditor's token: exit %d, %q, stderr %q", code, out, errs)
	}
	if code, _, errs := runMain(t, feeArgs...); code == ExitOK || !strings.Contains(errs, "401") {
		t.Errorf("reconcile --fees without a credential: exit %d, stderr %q", code, errs)
	}
	csv := writeFile(t, t.TempDir(), "recalls.csv", "gtin,lot,serial,reason,date\n04012345678901,L1,,recall,2026-11-25\n", 0o600)
	if code, _, errs := runMain(t, "publish", "--http-url", base, "--http-ca", f.pki.CAFile, "--http-token-file", f.auditorFile, "--site", "st-marys", "recalls", csv); code == ExitOK || !strings.Contains(errs, "may not publish") {
		t.Errorf("publish with the auditor's token: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := runMain(t, "publish", "--http-url", base, "--http-ca", f.pki.CAFile, "--http-token-file", f.operatorFile, "--site", "st-marys", "recalls", csv); code == ExitOK || !strings.Contains(errs, "502") {
		t.Errorf("publish with the operator's token and no broker: exit %d, stderr %q; want the service's 502", code, errs)
	}
	if s := logs.String(); strings.Contains(s, auditorToken) || strings.Contains(s, operatorToken) || !strings.Contains(s, "status=401") {
		t.Errorf("the log shows a token, or no refusal:\n%s", s)
	}
}

// TestRunHTTPLoopback: on loopback a client without credential may do
// everything, unless --http-auth always.
func TestRunHTTPLoopback(t *testing.T) {
	port, _ := startRun(t, "--http", "127.0.0.1:0")
	local := client(t)
	if code, body := get(t, local, "GET", "http://127.0.0.1:"+port+"/v1/trace?include_patient=1&code=(01)09506000134352(21)X"); code != http.StatusOK || !strings.Contains(body, `"movements":[]`) {
		t.Errorf("loopback without auth: %d %s", code, body)
	}

	f := newHTTPFiles(t)
	port, _ = startRun(t, "--http", "127.0.0.1:0", "--http-auth", "always", "--http-tokens", f.tokens)
	base := "http://127.0.0.1:" + port
	if code, body := get(t, local, "GET", base+"/v1/gateways"); code != http.StatusUnauthorized {
		t.Errorf("--http-auth always, no token: %d %s", code, body)
	}
	if code, body := get(t, client(t, "--http-token-file", f.auditorFile), "GET", base+"/v1/gateways"); code != http.StatusOK {
		t.Errorf("--http-auth always, auditor's token: %d %s", code, body)
	}
}

// TestRunRefusesUnprotectedHTTP: run refuses, before opening anything,
// to serve beyond loopback without TLS and credentials, naming the flags
// to set; and refuses flags that do not go together.
func TestRunRefusesUnprotectedHTTP(t *testing.T) {
	f := newHTTPFiles(t)
	open := writeFile(t, t.TempDir(), "tokens", auditorToken+" auditor a\n", 0o644)
	tls := []string{"--http-tls-cert", f.cert, "--http-tls-key", f.key}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--http", "0.0.0.0:0"}, ExitUsage, "--http 0.0.0.0:0 is not a loopback address: serve HTTPS there with --http-tls-cert and --http-tls-key"},
		{[]string{"--http", ":8380", "--http-tokens", f.tokens}, ExitUsage, "--http :8380 is not a loopback address: serve HTTPS there"},
		{append([]string{"--http", "0.0.0.0:0"}, tls...), ExitUsage, "--http 0.0.0.0:0 is not a loopback address: give clients credentials with --http-tokens, or --http-client-ca and --http-client-roles"},
		{[]string{"--http", "127.0.0.1:0", "--http-auth", "always"}, ExitUsage, "--http-auth always: give clients credentials with --http-tokens"},
		{[]string{"--http-auth", "sometimes"}, ExitUsage, `--http-auth "sometimes": want auto or always`},
		{[]string{"--http-tls-cert", f.cert}, ExitUsage, "--http-tls-cert and --http-tls-key go together"},
		{[]string{"--http-client-ca", f.pki.CAFile}, ExitUsage, "--http-client-ca and --http-client-roles go together"},
		{[]string{"--http-client-ca", f.pki.CAFile, "--http-client-roles", f.roles}, ExitUsage, "--http-client-ca needs TLS"},
		{[]string{"--http-tokens", open}, ExitFailure, "chmod 600"},
		{[]string{"--http-tokens", f.roles}, ExitFailure, "mode 0644"},
		{[]string{"--http-tls-cert", f.cert, "--http-tls-key", f.roles}, ExitFailure, "--http-tls-cert/--http-tls-key"},
	} {
		store := filepath.Join(t.TempDir(), "central.db")
		var out, errs bytes.Buffer
		args := append([]string{"run", "--site", "st-marys", "--store", store, "--broker", "tcp://" + closedPort(t)}, c.args...)
		if code := Main(context.Background(), args, &out, &errs); code != c.code || !strings.Contains(errs.String(), c.want) {
			t.Errorf("%q: exit %d, want %d with %q\n%s", c.args, code, c.code, c.want, errs.String())
		}
		if _, err := os.Stat(store); !os.IsNotExist(err) {
			t.Errorf("%q: the store was opened before the refusal", c.args)
		}
	}
}

// TestRunCheck: --check validates the flags and the files they name,
// prints a summary and exits without opening the store.
func TestRunCheck(t *testing.T) {
	f := newHTTPFiles(t)
	store := filepath.Join(t.TempDir(), "central.db")
	var out, errs bytes.Buffer
	args := append([]string{"run", "--check", "--site", "st-marys", "--store", store, "--http", "0.0.0.0:8380"}, f.flags()...)
	if code := Main(context.Background(), args, &out, &errs); code != ExitOK {
		t.Fatalf("--check: exit %d\n%s", code, errs.String())
	}
	want := "configuration ok: site(s) st-marys, broker(s) tcp://127.0.0.1:1883, store " + store +
		", HTTP API on 0.0.0.0:8380 (HTTPS, 2 token(s), 1 client certificate rule(s), authentication beyond loopback), " +
		"no enrolment (any gateway's batches are taken)\n"
	if out.String() != want {
		t.Fatalf("--check printed %q, want %q", out.String(), want)
	}
	if _, err := os.Stat(store); !os.IsNotExist(err) {
		t.Fatal("--check opened the store")
	}
	out.Reset()
	if code := Main(context.Background(), []string{"run", "--check", "--site", "st-marys", "--http", ""}, &out, &errs); code != ExitOK || !strings.HasSuffix(out.String(), ", no HTTP API, no enrolment (any gateway's batches are taken)\n") {
		t.Fatalf("--check --http '': exit %d %q", code, out.String())
	}
}

func TestAPIClientFlags(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--http-token-file", writeFile(t, dir, "open", auditorToken, 0o640)}, "chmod 600"},
		{[]string{"--http-token-file", writeFile(t, dir, "empty", "\n", 0o600)}, "no token on the first line"},
		{[]string{"--http-cert", "c.pem"}, "--http-cert and --http-key go together"},
		{[]string{"--http-ca", writeFile(t, dir, "ca", "nothing\n", 0o600)}, "no PEM certificate"},
	} {
		var cf apiClientFlags
		fs := newFlags(&Env{Stdout: io.Discard, Stderr: io.Discard}, "test", "", "")
		cf.register(fs)
		if err := parse(fs, c.args); err != nil {
			t.Fatal(err)
		}
		if _, err := cf.client(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.args, err, c.want)
		}
	}
}

// runMain runs the command line args and returns the exit code, stdout
// and stderr.
func runMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errs bytes.Buffer
	code := Main(context.Background(), args, &out, &errs)
	return code, out.String(), errs.String()
}
