package web_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/web"
)

// cert makes a certificate for cn signed by parent (self-signed when
// parent is nil) and returns it with its key.
func cert(t *testing.T, cn string, parent *tls.Certificate, ca bool, ips ...net.IP) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: ips,
		IsCA: ca, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	signer, signKey := tmpl, any(key)
	if parent != nil {
		signer, signKey = parent.Leaf, parent.PrivateKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// TestClientCertificates: over TLS a client certificate the CA signed
// gets the role of the first rule it matches; one that matches none is
// refused, and so is a client with none (credentials always required).
func TestClientCertificates(t *testing.T) {
	s := newSite(t, siteOptions{cfg: web.Config{Lang: web.LangEN}})
	ca := cert(t, "ward CA", nil, true)
	server := cert(t, "gateway", &ca, false, net.ParseIP("127.0.0.1"))
	pool := x509.NewCertPool()
	pool.AddCert(ca.Leaf)
	roles, err := web.ParseCertRoles("roles", strings.NewReader("nurse cn:or3-screen\nauditor dns:audit-ws1.hospital.example\n"), pool)
	if err != nil {
		t.Fatal(err)
	}
	p, err := web.New(s.g, web.Config{Lang: web.LangEN, TLS: &tls.Config{Certificates: []tls.Certificate{server}}, Certs: roles, AuthAlways: true})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	get := func(c *tls.Certificate, path string) int {
		t.Helper()
		tc := &tls.Config{RootCAs: pool}
		if c != nil {
			tc.Certificates = []tls.Certificate{*c}
		}
		cl := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
		res, err := cl.Get("https://" + ln.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	nurse := cert(t, "or3-screen", &ca, false)
	aud := func() tls.Certificate {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "desk 9"}, DNSNames: []string{"AUDIT-WS1.hospital.example"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Leaf, &key.PublicKey, ca.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	}()
	stranger := cert(t, "someone", &ca, false)
	for _, c := range []struct {
		who  string
		cert *tls.Certificate
		path string
		want int
	}{
		{"nurse", &nurse, "/station/or3", http.StatusOK},
		{"nurse", &nurse, "/audit", http.StatusForbidden},
		{"auditor by DNS name", &aud, "/audit", http.StatusOK},
		{"a certificate no rule names", &stranger, "/station/or3", http.StatusForbidden},
		{"no certificate", nil, "/station/or3", http.StatusUnauthorized},
	} {
		if got := get(c.cert, c.path); got != c.want {
			t.Errorf("%s GET %s: %d, want %d", c.who, c.path, got, c.want)
		}
	}
}
