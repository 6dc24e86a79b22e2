package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/udi-edge/udi-edge/sync/central"
)

// httpFlags are run's flags of the HTTP API: where it listens, its TLS,
// the credentials of its clients and its bounds.
type httpFlags struct {
	addr                  string
	tlsCert, tlsKey       string
	tokens                string
	clientCA, clientRoles string
	auth                  string
	maxConcurrent         int
	timeout               time.Duration
}

func (f *httpFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.addr, "http", DefaultHTTP, `HTTP API address ("" for none); beyond loopback it needs TLS and client credentials`)
	fs.StringVar(&f.tlsCert, "http-tls-cert", "", "PEM certificate (with its chain) to serve the API over HTTPS with; with --http-tls-key")
	fs.StringVar(&f.tlsKey, "http-tls-key", "", "PEM private key of --http-tls-cert")
	fs.StringVar(&f.tokens, "http-tokens", "", `file of the API's bearer tokens, one "TOKEN ROLE NAME" a line, ROLE auditor or operator; mode 0600`)
	fs.StringVar(&f.clientCA, "http-client-ca", "", "PEM CA(s) client certificates are verified against; with --http-client-roles and TLS")
	fs.StringVar(&f.clientRoles, "http-client-roles", "", `file giving client certificates their roles, one "ROLE cn:NAME" (or dns:, email:, uri:) a line`)
	fs.StringVar(&f.auth, "http-auth", "auto", "auto: clients authenticate beyond loopback, a loopback client without credential may do everything; always: everywhere")
	fs.IntVar(&f.maxConcurrent, "http-max-concurrent", central.DefaultAPIMaxConcurrent, "API requests served at once; others wait up to 5s, then get 503")
	fs.DurationVar(&f.timeout, "http-timeout", central.DefaultAPITimeout,
		fmt.Sprintf("deadline of an API read (publishing master data and what reads a whole site, anomalies, reconcile and stock, have %v)", central.DefaultAPILongTimeout))
}

// config reads the files the flags name and returns the API's
// configuration, checked for --http as given (Serve checks the address
// bound again); nil without --http.
func (f *httpFlags) config() (*central.APIConfig, error) {
	if f.addr == "" {
		return nil, nil
	}
	c := &central.APIConfig{Limits: central.APILimits{MaxConcurrent: f.maxConcurrent, Timeout: f.timeout}}
	switch f.auth {
	case "auto":
	case "always":
		c.AuthAlways = true
	default:
		return nil, usagef("--http-auth %q: want auto or always", f.auth)
	}
	if f.maxConcurrent < 1 || f.timeout <= 0 {
		return nil, usagef("--http-max-concurrent and --http-timeout must be positive")
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return nil, usagef("--http-tls-cert and --http-tls-key go together")
	}
	if (f.clientCA == "") != (f.clientRoles == "") {
		return nil, usagef("--http-client-ca and --http-client-roles go together")
	}
	if f.clientCA != "" && f.tlsCert == "" {
		return nil, usagef("--http-client-ca needs TLS: --http-tls-cert and --http-tls-key")
	}
	if f.tlsCert != "" {
		kp, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("--http-tls-cert/--http-tls-key: %w", err)
		}
		c.TLS = &tls.Config{Certificates: []tls.Certificate{kp}, MinVersion: tls.VersionTLS12}
	}
	var err error
	if f.tokens != "" {
		if c.Tokens, err = central.LoadTokens(f.tokens); err != nil {
			return nil, fmt.Errorf("--http-tokens: %w", err)
		}
	}
	if f.clientCA != "" {
		if c.Certs, err = central.LoadCertRoles(f.clientCA, f.clientRoles); err != nil {
			return nil, fmt.Errorf("--http-client-ca/--http-client-roles: %w", err)
		}
	}
	if err := f.check(c, f.addr); err != nil {
		return nil, err
	}
	return c, nil
}

// check checks c for addr (APIConfig.Check), naming the flags to set.
func (f *httpFlags) check(c *central.APIConfig, addr string) error {
	err := c.Check(addr)
	creds := "give clients credentials with --http-tokens, or --http-client-ca and --http-client-roles"
	switch {
	case err == nil:
		return nil
	case errors.Is(err, central.ErrNoTLS):
		return usagef("--http %s is not a loopback address: serve HTTPS there with --http-tls-cert and --http-tls-key, and %s", addr, creds)
	case errors.Is(err, central.ErrNoCredentials) && c.AuthAlways:
		return usagef("--http-auth always: %s", creds)
	case errors.Is(err, central.ErrNoCredentials):
		return usagef("--http %s is not a loopback address: %s", addr, creds)
	}
	return usagef("--http %s: %v", addr, err)
}

// describe says how the API is served, for --check.
func (f *httpFlags) describe(c *central.APIConfig) string {
	if c == nil {
		return "no HTTP API"
	}
	var parts []string
	if c.TLS != nil {
		parts = append(parts, "HTTPS")
	} else {
		parts = append(parts, "plain HTTP")
	}
	if c.Tokens != nil {
		parts = append(parts, fmt.Sprintf("%d token(s)", c.Tokens.Len()))
	}
	if c.Certs != nil {
		parts = append(parts, fmt.Sprintf("%d client certificate rule(s)", c.Certs.Len()))
	}
	if c.AuthAlways {
		parts = append(parts, "authentication always")
	} else {
		parts = append(parts, "authentication beyond loopback")
	}
	return fmt.Sprintf("HTTP API on %s (%s)", f.addr, strings.Join(parts, ", "))
}

// serve listens on --http and serves svc's API with c until ctx ends;
// the channel receives Serve's result. The address bound is checked
// again: a host name may resolve anywhere.
func (f *httpFlags) serve(ctx context.Context, svc *central.Service, c *central.APIConfig, log *slog.Logger) (<-chan error, error) {
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return nil, fmt.Errorf("--http: %w", err)
	}
	if err := f.check(c, ln.Addr().String()); err != nil {
		ln.Close()
		return nil, err
	}
	log.Info("http listening", "addr", ln.Addr().String(), "tls", c.TLS != nil, "tokens", c.Tokens != nil, "client_certificates", c.Certs != nil, "auth_always", c.AuthAlways)
	done := make(chan error, 1)
	go func() {
		err := svc.NewAPIServer(*c).Serve(ctx, ln)
		if err != nil {
			log.Error("http server stopped", "err", err)
		}
		done <- err
	}()
	return done, nil
}
