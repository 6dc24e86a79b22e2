package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a registry of its own holding the Go runtime's and
// the process's collectors (memory, goroutines, open files, CPU).
func NewRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// Check is one condition of a health answer.
type Check struct {
	// Name says what was checked: "ledger", "device or3-station", "sync".
	Name string `json:"name"`
	// OK says whether the condition holds.
	OK bool `json:"ok"`
	// Detail says what was found, in words; never a patient identifier.
	Detail string `json:"detail,omitempty"`
}

// Health is the JSON body of /healthz and /readyz.
type Health struct {
	// Status is "ok" when every check holds, else "failing".
	Status string `json:"status"`
	// Failed names the checks that do not hold.
	Failed []string `json:"failed,omitempty"`
	Checks []Check  `json:"checks"`
}

// Evaluate returns the health answer of checks.
func Evaluate(checks []Check) Health {
	h := Health{Status: "ok", Checks: checks}
	if h.Checks == nil {
		h.Checks = []Check{}
	}
	for _, c := range checks {
		if !c.OK {
			h.Failed = append(h.Failed, c.Name)
		}
	}
	if len(h.Failed) > 0 {
		h.Status = "failing"
	}
	return h
}

// Endpoint serves a daemon's metrics and health over HTTP: /metrics from
// Registry, /healthz from Live and /readyz from Ready, each answered 200
// when every check holds and 503 otherwise, with a Health body.
type Endpoint struct {
	Registry *prometheus.Registry
	// Live says whether the process should be left running: it answers,
	// and what it cannot do without (its ledger) is there.
	Live func(ctx context.Context) []Check
	// Ready says whether the daemon does its work now.
	Ready func(ctx context.Context) []Check
	// Log receives the endpoint's errors; nil discards them.
	Log *slog.Logger
}

// healthTimeout bounds the checks of one health request.
const healthTimeout = 5 * time.Second

// Handler returns the endpoint's HTTP handler.
func (e *Endpoint) Handler() http.Handler {
	log := e.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(e.Registry, promhttp.HandlerOpts{
		ErrorLog:            slog.NewLogLogger(log.Handler(), slog.LevelError),
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	}))
	health := func(checks func(context.Context) []Check) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var h Health
			if checks == nil {
				h = Evaluate(nil)
			} else {
				ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
				h = Evaluate(checks(ctx))
				cancel()
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			if h.Status != "ok" {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			_ = json.NewEncoder(w).Encode(h)
		}
	}
	mux.Handle("GET /healthz", health(e.Live))
	mux.Handle("GET /readyz", health(e.Ready))
	return mux
}

// Serve serves the endpoint on ln until ctx ends, then closes it, giving
// requests in flight a second; it returns nil after ctx ended.
func (e *Endpoint) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           e.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    16 << 10,
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			_ = srv.Close()
		}
	}()
	err := srv.Serve(ln)
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// CheckListen returns nil when addr is a TCP address with a port the
// endpoint may listen on: a loopback address ("127.0.0.1:8711",
// "[::1]:8711", "localhost:8711"), or any when remote is set.
func CheckListen(addr string, remote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: %w", addr, err)
	}
	if remote || host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q: %w: metrics beyond loopback need remote set (nothing in them is a patient's, but they show what the hospital uses)", addr, ErrNotLoopback)
	}
	return nil
}

// Listen listens on addr (see CheckListen).
func Listen(addr string, remote bool) (net.Listener, error) {
	if err := CheckListen(addr, remote); err != nil {
		return nil, err
	}
	return net.Listen("tcp", addr)
}
