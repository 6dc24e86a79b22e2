package mosquitto

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Certs is a throw-away PKI for one test: a CA, a server certificate for
// 127.0.0.1, ::1 and localhost, and client certificates, as PEM files.
type Certs struct {
	CAFile     string // CA certificate
	ServerCert string // server certificate, signed by the CA
	ServerKey  string // server private key

	t       testing.TB
	dir     string
	pool    *x509.CertPool
	clients map[string]tls.Certificate
}

// NewCerts generates a CA, a server certificate and one client certificate
// per name in clients (its CN is the name), all ECDSA P-256, and writes
// them to a temporary directory.
func NewCerts(t testing.TB, clients ...string) *Certs {
	t.Helper()
	c := &Certs{t: t, dir: t.TempDir(), pool: x509.NewCertPool(), clients: map[string]tls.Certificate{}}

	caKey := newKey(t)
	caTmpl := template(t, "udi-edge test CA")
	caTmpl.IsCA = true
	caTmpl.BasicConstraintsValid = true
	caTmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("certs: CA: %v", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatalf("certs: CA: %v", err)
	}
	c.pool.AddCert(ca)
	c.CAFile = c.write("ca.pem", "CERTIFICATE", caDER)

	issue := func(cn string, usage x509.ExtKeyUsage, file string) tls.Certificate {
		key := newKey(t)
		tmpl := template(t, cn)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{usage}
		if usage == x509.ExtKeyUsageServerAuth {
			tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
			tmpl.DNSNames = []string{"localhost"}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatalf("certs: %s: %v", cn, err)
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatalf("certs: %s: %v", cn, err)
		}
		c.write(file+".pem", "CERTIFICATE", der)
		c.write(file+"-key.pem", "PRIVATE KEY", keyDER)
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	}
	issue("127.0.0.1", x509.ExtKeyUsageServerAuth, "server")
	c.ServerCert = filepath.Join(c.dir, "server.pem")
	c.ServerKey = filepath.Join(c.dir, "server-key.pem")
	for _, name := range clients {
		if name == "" || strings.ContainsAny(name, `/\`) {
			t.Fatalf("certs: bad client name %q", name)
		}
		c.clients[name] = issue(name, x509.ExtKeyUsageClientAuth, "client-"+name)
	}
	return c
}

// newKey generates an ECDSA P-256 key.
func newKey(t testing.TB) *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("certs: %v", err)
	}
	return key
}

// template is a certificate valid from an hour ago for a day, with a random
// serial number.
func template(t testing.TB, cn string) *x509.Certificate {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatalf("certs: %v", err)
	}
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
	}
}

// write writes one PEM block to name in the directory and returns its path.
func (c *Certs) write(name, blockType string, der []byte) string {
	path := filepath.Join(c.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600); err != nil {
		c.t.Fatalf("certs: %v", err)
	}
	return path
}

// client returns the certificate of a client given to NewCerts.
func (c *Certs) client(name string) tls.Certificate {
	c.t.Helper()
	cert, ok := c.clients[name]
	if !ok {
		c.t.Fatalf("certs: no client certificate %q (give its name to NewCerts)", name)
	}
	return cert
}

// ClientCert is the path of the certificate of client name.
func (c *Certs) ClientCert(name string) string {
	c.t.Helper()
	c.client(name)
	return filepath.Join(c.dir, "client-"+name+".pem")
}

// ClientKey is the path of the private key of client name.
func (c *Certs) ClientKey(name string) string {
	c.t.Helper()
	c.client(name)
	return filepath.Join(c.dir, "client-"+name+"-key.pem")
}

// ClientTLSConfig is a client configuration that verifies the server with
// the CA and, unless name is "", presents client name's certificate.
func (c *Certs) ClientTLSConfig(name string) *tls.Config {
	c.t.Helper()
	cfg := &tls.Config{
		RootCAs: c.pool,
		// The brokers listen on 127.0.0.1; naming it here keeps
		// verification working when a proxy path dials with tls.Client.
		ServerName: "127.0.0.1",
		MinVersion: tls.VersionTLS12,
	}
	if name != "" {
		cfg.Certificates = []tls.Certificate{c.client(name)}
	}
	return cfg
}

// ServerTLS is the listener configuration for these certificates, without
// client certificates.
func (c *Certs) ServerTLS() *TLS {
	return &TLS{CAFile: c.CAFile, CertFile: c.ServerCert, KeyFile: c.ServerKey}
}
