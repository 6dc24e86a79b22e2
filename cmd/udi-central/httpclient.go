package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"

	"github.com/spf13/pflag"
	"github.com/udi-edge/udi-edge/sync/central"
)

// apiClientFlags are the flags with which a command reaches the API of a
// running service that authenticates its clients (--http-url https://…).
type apiClientFlags struct {
	tokenFile, ca, cert, key string
}

func (f *apiClientFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.tokenFile, "http-token-file", "", "file holding the bearer token to present to the service's API (mode 0600)")
	fs.StringVar(&f.ca, "http-ca", "", "PEM CA file the service's HTTPS certificate is verified against (default: the system's CAs)")
	fs.StringVar(&f.cert, "http-cert", "", "PEM client certificate to present to the service's API (with --http-key)")
	fs.StringVar(&f.key, "http-key", "", "PEM private key of --http-cert")
}

// apiClient makes requests of the service's API with the credential the
// flags name.
type apiClient struct {
	http  *http.Client
	token string
}

// client returns the client the flags describe.
func (f *apiClientFlags) client() (*apiClient, error) {
	c := &apiClient{http: http.DefaultClient}
	if f.tokenFile != "" {
		t, err := central.ReadTokenFile(f.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("--http-token-file: %w", err)
		}
		c.token = t
	}
	tc, err := clientTLS(f.ca, f.cert, f.key, "--http-ca", "--http-cert", "--http-key")
	if err != nil {
		return nil, err
	}
	if tc != nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = tc
		c.http = &http.Client{Transport: tr}
	}
	return c, nil
}

// Do sends req with the client's token, if any.
func (c *apiClient) Do(req *http.Request) (*http.Response, error) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return c.http.Do(req)
}

// clientTLS returns the TLS configuration of a client that verifies its
// server against the PEM CAs of caFile (the system's when ""), and
// presents the certificate of certFile and keyFile when given; nil when
// all three are "". The *Flag names name the flags in errors.
func clientTLS(caFile, certFile, keyFile, caFlag, certFlag, keyFlag string) (*tls.Config, error) {
	if (certFile == "") != (keyFile == "") {
		return nil, usagef("%s and %s go together", certFlag, keyFlag)
	}
	if caFile == "" && certFile == "" {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", caFlag, err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s %s: no PEM certificate in it", caFlag, caFile)
		}
	}
	if certFile != "" {
		kp, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("%s/%s: %w", certFlag, keyFlag, err)
		}
		tc.Certificates = []tls.Certificate{kp}
	}
	return tc, nil
}
