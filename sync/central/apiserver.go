package central

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/agent/api"
)

// APILimits bound what the HTTP API does for its clients. Zero fields
// take the defaults.
type APILimits struct {
	// MaxBody is the largest request body (master data), in bytes.
	MaxBody int64
	// MaxConcurrent is how many requests are served at once.
	MaxConcurrent int
	// Wait is how long a request waits for its turn before it is refused
	// as busy (503).
	Wait time.Duration
	// Timeout is the deadline of a read (health, trace, gateways), on
	// its context and its connection.
	Timeout time.Duration
	// LongTimeout is the deadline of a publication of master data, the
	// upload of its body included, and of the requests that read every
	// movement of a site (anomalies, reconcile, stock).
	LongTimeout time.Duration
}

// Defaults of APILimits.
const (
	DefaultAPIMaxBody       = MaxMasterSize
	DefaultAPIMaxConcurrent = 16
	DefaultAPIWait          = 5 * time.Second
	DefaultAPITimeout       = 30 * time.Second
	DefaultAPILongTimeout   = 5 * time.Minute
)

// apiGrace is how long stopping the server waits for the requests in
// progress, already cancelled, before it closes their connections.
const apiGrace = 2 * time.Second

func (l APILimits) withDefaults() APILimits {
	if l.MaxBody <= 0 {
		l.MaxBody = DefaultAPIMaxBody
	}
	if l.MaxConcurrent <= 0 {
		l.MaxConcurrent = DefaultAPIMaxConcurrent
	}
	l.Wait = orDefault(l.Wait, DefaultAPIWait)
	l.Timeout = orDefault(l.Timeout, DefaultAPITimeout)
	l.LongTimeout = orDefault(l.LongTimeout, DefaultAPILongTimeout)
	return l
}

// APIConfig configures an APIServer: its bounds, its TLS, and the
// credentials its clients authenticate with.
//
// On a loopback address a request without a credential may do
// everything (RoleLocal), unless AuthAlways. Anywhere else the server
// needs TLS and at least one kind of credential, and refuses to serve
// without them (Check); every request must then present a valid one.
type APIConfig struct {
	// Limits bound the server.
	Limits APILimits
	// TLS, when set, serves HTTPS with its certificate (Certificates or
	// GetCertificate). The server sets ClientCAs and ClientAuth from
	// Certs, and TLS 1.2 at least.
	TLS *tls.Config
	// Tokens are the bearer tokens accepted; nil for none.
	Tokens *Tokens
	// Certs give client certificates their roles; nil for none. They
	// need TLS.
	Certs *CertRoles
	// AuthAlways requires a credential on a loopback address too.
	AuthAlways bool
}

// Check returns nil when c may serve on addr ("host:port"). Beyond
// loopback it returns an error wrapping ErrNoTLS without TLS, and one
// wrapping ErrNoCredentials without tokens or client certificates (also
// on loopback with AuthAlways); client certificates without TLS are
// ErrInvalid.
func (c APIConfig) Check(addr string) error {
	if c.Certs != nil && c.TLS == nil {
		return fmt.Errorf("%w: client certificates need TLS", ErrInvalid)
	}
	loopback := isLoopback(addr)
	if !loopback && c.TLS == nil {
		return fmt.Errorf("%w: %s is not a loopback address", ErrNoTLS, addr)
	}
	if (!loopback || c.AuthAlways) && c.Tokens == nil && c.Certs == nil {
		if loopback {
			return fmt.Errorf("%w: authentication is always required", ErrNoCredentials)
		}
		return fmt.Errorf("%w: %s is not a loopback address", ErrNoCredentials, addr)
	}
	return nil
}

// isLoopback reports whether addr is a loopback address with a port:
// 127.0.0.0/8, ::1 or localhost. An address of every interface
// (":8380", "0.0.0.0:8380") or a host name is not.
func isLoopback(addr string) bool { return api.CheckLoopback(addr) == nil }

// APIServer serves a Service's HTTP API (Service.Handler) to
// authenticated clients within bounds.
type APIServer struct {
	svc *Service
	cfg APIConfig
}

// NewAPIServer returns the server of the service's API for cfg, not
// serving yet.
func (s *Service) NewAPIServer(cfg APIConfig) *APIServer {
	cfg.Limits = cfg.Limits.withDefaults()
	return &APIServer{svc: s, cfg: cfg}
}

// Serve serves the API on ln until ctx ends, then stops: the requests in
// progress are cancelled, and a client that does not send its request or
// read its answer is cut off after a short grace. It first checks the
// configuration for ln's address (APIConfig.Check) and returns that
// error, closing ln, without serving. Otherwise it returns nil after ctx
// ended, or the error that stopped the server.
func (a *APIServer) Serve(ctx context.Context, ln net.Listener) error {
	addr := ln.Addr().String()
	if err := a.cfg.Check(addr); err != nil {
		ln.Close()
		return err
	}
	log := a.svc.log
	open := isLoopback(addr) && !a.cfg.AuthAlways
	g := newGuard(a.cfg.Limits, a.cfg.Tokens, a.cfg.Certs, open, log)
	base, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	l := a.cfg.Limits
	srv := &http.Server{
		Handler: a.svc.handler(g),
		// Also the deadline of a TLS handshake.
		ReadHeaderTimeout: 10 * time.Second,
		// Each request sets its own deadlines (guard.route); these bound
		// whatever comes before.
		ReadTimeout:    l.LongTimeout,
		WriteTimeout:   l.LongTimeout + time.Minute,
		IdleTimeout:    time.Minute,
		MaxHeaderBytes: 64 << 10,
		BaseContext:    func(net.Listener) context.Context { return base },
		// Failed handshakes and the like, at debug: a scanner of the
		// network would fill the log.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	if a.cfg.TLS != nil {
		tc := a.cfg.TLS.Clone()
		tc.MinVersion = max(tc.MinVersion, tls.VersionTLS12)
		if a.cfg.Certs != nil {
			// A client without a certificate may still present a token;
			// one with a certificate the CAs did not sign is refused in
			// the handshake.
			tc.ClientCAs, tc.ClientAuth = a.cfg.Certs.CAs, tls.VerifyClientCertIfGiven
		}
		srv.TLSConfig = tc
	}
	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	cancel() // cancels every request in progress
	grace, stop := context.WithTimeout(context.Background(), apiGrace)
	defer stop()
	if srv.Shutdown(grace) != nil {
		srv.Close()
	}
	if err == nil {
		if e := <-errc; !errors.Is(e, http.ErrServerClosed) {
			err = e
		}
	}
	return err
}

// guard authenticates and bounds the API's requests.
type guard struct {
	// open gives a request without a credential RoleLocal.
	open   bool
	tokens *Tokens
	certs  *CertRoles
	limits APILimits
	slots  chan struct{}
	log    *slog.Logger
}

func newGuard(limits APILimits, tokens *Tokens, certs *CertRoles, open bool, log *slog.Logger) *guard {
	limits = limits.withDefaults()
	return &guard{open: open, tokens: tokens, certs: certs, limits: limits, slots: make(chan struct{}, limits.MaxConcurrent), log: log}
}

// authenticated returns next behind authentication: a request reaches it
// only with the principal of a valid credential in its context (or
// RoleLocal, where the guard is open). A credential presented is always
// checked, also where none is needed.
func (g *guard) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, code, why := g.authenticate(r)
		if code != 0 {
			g.log.Warn("http request refused", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path, "status", code, "reason", why)
			if code == http.StatusUnauthorized && g.tokens != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="udi-central"`)
			}
			writeError(w, code, errors.New(why))
			return
		}
		next.ServeHTTP(w, r.WithContext(withPrincipal(r.Context(), p)))
	})
}

// authenticate returns the principal of r, or the status and reason of
// its refusal. The reason never holds a token.
func (g *guard) authenticate(r *http.Request) (p Principal, code int, why string) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, _ := strings.Cut(h, " ")
		token = strings.TrimSpace(token)
		switch {
		case !strings.EqualFold(scheme, "Bearer") || token == "":
			return p, http.StatusUnauthorized, "Authorization: want Bearer and a token"
		case g.tokens == nil:
			return p, http.StatusUnauthorized, "this service accepts no bearer token"
		}
		if p, ok := g.tokens.Lookup(token); ok {
			return p, 0, ""
		}
		return p, http.StatusUnauthorized, "unknown bearer token"
	}
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && g.certs != nil {
		leaf := r.TLS.VerifiedChains[0][0]
		if p, ok := g.certs.Match(leaf); ok {
			return p, 0, ""
		}
		return p, http.StatusForbidden, fmt.Sprintf("client certificate %q is given no role", leaf.Subject.String())
	}
	if g.open {
		return localPrincipal, 0, ""
	}
	var ways []string
	if g.tokens != nil {
		ways = append(ways, "an Authorization: Bearer token")
	}
	if g.certs != nil {
		ways = append(ways, "a client certificate")
	}
	if len(ways) == 0 {
		return p, http.StatusUnauthorized, "authentication required, and this service accepts no credential"
	}
	return p, http.StatusUnauthorized, "authentication required: send " + strings.Join(ways, " or ")
}

// route returns fn behind the checks of a route: the principal's role
// must have need; the request waits its turn (at most limits.Wait, then
// 503), and runs under its deadline (limits.Timeout, or LongTimeout when
// long) on its context and its connection, with its body bounded.
func (g *guard) route(need Permission, long bool, fn http.HandlerFunc) http.HandlerFunc {
	timeout := g.limits.Timeout
	if long {
		timeout = g.limits.LongTimeout
	}
	return func(w http.ResponseWriter, r *http.Request) {
		p, _ := PrincipalFrom(r.Context())
		if !p.Role.May(need) {
			forbid(w, r, g.log, p, need, "")
			return
		}
		wait := time.NewTimer(g.limits.Wait)
		select {
		case g.slots <- struct{}{}:
			wait.Stop()
		case <-wait.C:
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, fmt.Errorf("busy: %d requests in progress; try again", g.limits.MaxConcurrent))
			return
		case <-r.Context().Done():
			wait.Stop()
			return
		}
		defer func() { <-g.slots }()
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		// The deadline holds for the connection too: a client that stops
		// sending its body, or stops reading the answer, is cut off.
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Now().Add(timeout))
		_ = rc.SetWriteDeadline(time.Now().Add(timeout + 5*time.Second))
		r.Body = http.MaxBytesReader(w, r.Body, g.limits.MaxBody)
		fn(w, r.WithContext(ctx))
	}
}

// forbid answers 403: p's role may not do what; hint ends the message.
func forbid(w http.ResponseWriter, r *http.Request, log *slog.Logger, p Principal, what Permission, hint string) {
	why := fmt.Sprintf("%s (role %s) may not %s%s", p.Name, p.Role, what, hint)
	log.Warn("http request refused", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path, "status", http.StatusForbidden, "reason", why)
	writeError(w, http.StatusForbidden, errors.New(why))
}
