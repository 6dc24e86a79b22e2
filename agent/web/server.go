package web

import (
	"context"
	"crypto/tls"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/core"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Defaults of Config.
const (
	// DefaultExpiringDays is the warehouse view's "expiring soon" window.
	DefaultExpiringDays = 30
	// DefaultTimeout is the deadline of a page or an action;
	// DefaultLongTimeout of an audit (anomalies, reconcile, verify), which
	// reads the whole ledger.
	DefaultTimeout     = 30 * time.Second
	DefaultLongTimeout = 10 * time.Minute
	// DefaultMaxFindings is the most findings an audit page lists.
	DefaultMaxFindings = 500
)

// Config configures the page. Zero fields take the defaults.
type Config struct {
	// Lang is the language of a station configured with none: "zh"
	// (DefaultLang) or "en".
	Lang string
	// StationLang chooses the language of each station's screen, by
	// station id.
	StationLang map[string]string
	// Reasons are the reasons a nurse may choose for an imported item's
	// use (DefaultReasons when none).
	Reasons []Reason
	// ExpiringDays is the warehouse view's window of expiring stock.
	ExpiringDays int
	// TLS, when set, serves HTTPS with its certificate; needed beyond
	// loopback.
	TLS *tls.Config
	// Tokens and Certs authenticate users; beyond loopback at least one
	// is needed. Certs need TLS.
	Tokens *Tokens
	Certs  *CertRoles
	// AuthAlways requires a credential on a loopback address too.
	AuthAlways bool
	// MaxClients bounds the live screens at once (DefaultMaxClients).
	MaxClients int
	// Log receives the page's own events (a refused request, an action
	// taken); never a patient identifier. Nil: silent.
	Log *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Server is the station page of one gateway's core: HTML pages, their
// actions, and a live event stream, all answered by the core
// (agent/core) the command line and the local API ask.
type Server struct {
	core   *core.Gateway
	cfg    Config
	log    *slog.Logger
	tmpl   *template.Template
	mux    *http.ServeMux
	broker *broker
	state  tracker
	// open gives a request without a credential RoleLocal: set by Serve
	// on a loopback address unless AuthAlways.
	open bool
	// short and long bound the requests served at once.
	short, long chan struct{}
}

// New returns the page of g for cfg, not serving yet. Set its Publish as
// (or call it from) the core's OnAnswer before the first read.
func New(g *core.Gateway, cfg Config) (*Server, error) {
	if cfg.Lang == "" {
		cfg.Lang = DefaultLang
	}
	if !ValidLang(cfg.Lang) {
		return nil, fmt.Errorf("%w: lang %q: want zh or en", ErrInvalid, cfg.Lang)
	}
	for st, l := range cfg.StationLang {
		if !ValidLang(l) {
			return nil, fmt.Errorf("%w: station %s: lang %q: want zh or en", ErrInvalid, st, l)
		}
	}
	if len(cfg.Reasons) == 0 {
		cfg.Reasons = DefaultReasons
	}
	if err := CheckReasons(cfg.Reasons); err != nil {
		return nil, err
	}
	if cfg.ExpiringDays <= 0 {
		cfg.ExpiringDays = DefaultExpiringDays
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = DefaultMaxClients
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Certs != nil && cfg.TLS == nil {
		return nil, fmt.Errorf("%w: client certificates need TLS", ErrInvalid)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tmpl, err := template.New("page").Funcs(funcs).ParseFS(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	s := &Server{core: g, cfg: cfg, log: log, tmpl: tmpl, mux: http.NewServeMux(),
		broker: newBroker(cfg.MaxClients, DefaultClientBuffer),
		short:  make(chan struct{}, 4), long: make(chan struct{}, 1)}
	static, _ := fs.Sub(staticFiles, "static")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", staticHandler(http.FileServerFS(static))))
	s.mux.HandleFunc("GET /login", s.login)
	s.mux.HandleFunc("POST /login", s.login)
	s.route("GET /{$}", PermStation, false, s.index)
	s.route("GET /station/{id}", PermStation, false, s.station)
	s.route("POST /station/{id}/justify", PermAct, false, s.justify)
	s.route("POST /station/{id}/close", PermAct, false, s.closeCase)
	s.route("GET /warehouse", PermWarehouse, false, s.warehouse)
	s.route("GET /audit", PermAudit, true, s.audit)
	s.mux.Handle("GET /events", s.authenticated(http.HandlerFunc(s.events)))
	return s, nil
}

// Publish tells the page of a scan's outcome at station. It is the core's
// OnAnswer (or is called from it): it runs on the ledger's writer
// goroutine, never blocks and never fails; a screen that falls behind is
// dropped and reconnects.
func (s *Server) Publish(station string, o agent.Outcome) {
	s.state.update(station, o)
	s.broker.publish(event{station: station, seq: o.Movement.Seq})
}

// ServeHTTP serves the page.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	s.mux.ServeHTTP(w, r)
}

// Check returns nil when the page may be served on addr ("host:port"):
// beyond loopback it needs TLS (an error wrapping ErrNoTLS) and a token
// or client certificate (ErrNoCredentials).
func (s *Server) Check(addr string) error {
	creds := s.cfg.Tokens != nil || s.cfg.Certs != nil
	if s.cfg.AuthAlways && !creds {
		return fmt.Errorf("%w: authentication is always required (page.auth_always)", ErrNoCredentials)
	}
	return CheckExposure(addr, s.cfg.TLS != nil, creds)
}

// CheckExposure returns nil when a page with TLS or not, and credentials
// or not, may be served on addr: anything on a loopback address; beyond
// it, only over TLS and with credentials.
func CheckExposure(addr string, hasTLS, hasCredentials bool) error {
	if api.CheckLoopback(addr) == nil {
		return nil
	}
	if !hasTLS {
		return fmt.Errorf("%w: %s is not a loopback address: serve it over TLS (page.tls_cert, page.tls_key)", ErrNoTLS, addr)
	}
	if !hasCredentials {
		return fmt.Errorf("%w: %s is not a loopback address: give page.tokens_file or page.client_ca with page.client_roles", ErrNoCredentials, addr)
	}
	return nil
}

// Serve serves the page on ln until ctx ends, then stops: requests and
// live streams in progress are cancelled. It first checks the address
// (Check) and returns that error, closing ln, without serving. A
// request without a credential is a local one (RoleLocal) only on a
// loopback address, unless AuthAlways. Serve once.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	addr := ln.Addr().String()
	if err := s.Check(addr); err != nil {
		ln.Close()
		return err
	}
	s.open = api.CheckLoopback(addr) == nil && !s.cfg.AuthAlways
	base, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		// Each request sets its own deadlines (route, events): a live
		// stream has none of its own.
		IdleTimeout:    time.Minute,
		MaxHeaderBytes: 32 << 10,
		BaseContext:    func(net.Listener) context.Context { return base },
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	if s.cfg.TLS != nil {
		tc := s.cfg.TLS.Clone()
		tc.MinVersion = max(tc.MinVersion, tls.VersionTLS12)
		if s.cfg.Certs != nil {
			tc.ClientCAs, tc.ClientAuth = s.cfg.Certs.CAs, tls.VerifyClientCertIfGiven
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
	cancel()
	grace, stop := context.WithTimeout(context.Background(), 2*time.Second)
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

// authenticated returns next behind authentication: a request reaches it
// with its principal in its context, or is refused.
func (s *Server) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, code, why := s.authenticate(r)
		if code != 0 {
			// The path only: a query may hold a code, a cookie a token.
			s.log.Warn("page request refused", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path, "status", code, "reason", why)
			if code == http.StatusUnauthorized && r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/events") {
				s.render(w, r, http.StatusUnauthorized, "login", pageData{L: s.pick(w, r, ""), Message: why, Next: r.URL.RequestURI()})
				return
			}
			http.Error(w, why, code)
			return
		}
		next.ServeHTTP(w, r.WithContext(withPrincipal(r.Context(), p)))
	})
}

// route registers fn for pattern behind authentication and the
// permission need; the request waits its turn (at most 5 s, then 503)
// and runs under its deadline. A change (POST) must come from the page's
// own script (see sameOrigin).
func (s *Server) route(pattern string, need Permission, long bool, fn func(w http.ResponseWriter, r *http.Request) error) {
	timeout, slots := DefaultTimeout, s.short
	if long {
		timeout, slots = DefaultLongTimeout, s.long
	}
	s.mux.Handle(pattern, s.authenticated(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := PrincipalFrom(r.Context())
		if !p.Role.May(need) {
			why := fmt.Sprintf("%s (role %s) may not %s", p.Name, p.Role, need)
			s.log.Warn("page request refused", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path, "status", http.StatusForbidden, "reason", why)
			s.fail(w, r, fmt.Errorf("%w: %s", ErrForbidden, why))
			return
		}
		if r.Method == http.MethodPost && !sameOrigin(r) {
			s.fail(w, r, fmt.Errorf("%w: a change must come from the page itself", ErrForbidden))
			return
		}
		wait := time.NewTimer(5 * time.Second)
		select {
		case slots <- struct{}{}:
			wait.Stop()
		case <-wait.C:
			w.Header().Set("Retry-After", "1")
			http.Error(w, s.pick(w, r, "").T("busy"), http.StatusServiceUnavailable)
			return
		case <-r.Context().Done():
			wait.Stop()
			return
		}
		defer func() { <-slots }()
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Now().Add(timeout))
		_ = rc.SetWriteDeadline(time.Now().Add(timeout + 5*time.Second))
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := fn(w, r.WithContext(ctx)); err != nil {
			s.fail(w, r, err)
		}
	})))
}

// ActionHeader must be set on the page's changes (POST): a form on
// another site cannot set it, and a script of another site may not
// without the page's leave (it gives none).
const ActionHeader = "X-UDI-Page"

// sameOrigin reports whether a change comes from the page's own script.
func sameOrigin(r *http.Request) bool {
	if r.Header.Get(ActionHeader) != "1" {
		return false
	}
	site := r.Header.Get("Sec-Fetch-Site")
	return site == "" || site == "same-origin" || site == "none"
}

// fail answers err: its status by kind, its text for the screen.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrForbidden):
		code = http.StatusForbidden
	case errors.Is(err, ErrBadRequest), errors.Is(err, core.ErrBadCode), errors.Is(err, core.ErrNoCode), errors.Is(err, core.ErrStockQuery):
		code = http.StatusBadRequest
	case errors.Is(err, core.ErrNoStation), errors.Is(err, core.ErrNoCount):
		code = http.StatusNotFound
	case errors.Is(err, core.ErrNothingPending), errors.Is(err, core.ErrNoCloseCase):
		code = http.StatusConflict
	case errors.Is(err, context.DeadlineExceeded):
		code = http.StatusGatewayTimeout
	}
	if code == http.StatusInternalServerError {
		s.log.Warn("page request failed", "path", r.URL.Path, "err", err)
	}
	http.Error(w, err.Error(), code)
}

// staticHandler serves the embedded assets, cached a little.
func staticHandler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=300")
		h.ServeHTTP(w, r)
	})
}
