package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/audit"
	"github.com/udi-edge/udi-edge/agent/cabinet"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/master"
)

// Limits bound what the server does for its clients. Zero fields take the
// defaults.
type Limits struct {
	// MaxBody is the largest request body (a master data file), in bytes.
	MaxBody int64
	// MaxConcurrent is how many short requests (status, a trace, a
	// door) are served at once.
	MaxConcurrent int
	// MaxLong is how many long requests (verify, audits, exports,
	// imports) are served at once. The two kinds take their turns apart,
	// so that long requests, and clients slow to read their large
	// answers, never hold up a short one.
	MaxLong int
	// Wait is how long a request waits for its turn before it is refused
	// as busy.
	Wait time.Duration
	// Timeout is the deadline of a short request (status, trace, a door).
	Timeout time.Duration
	// LongTimeout is the deadline of a long one (verify, audits, export,
	// import).
	LongTimeout time.Duration
	// MaxPage is the most findings, movements or rejects one answer holds.
	MaxPage int
}

// Defaults of Limits.
const (
	DefaultMaxBody       = 64 << 20
	DefaultMaxConcurrent = 4
	DefaultMaxLong       = 2
	DefaultWait          = 5 * time.Second
	DefaultTimeout       = 30 * time.Second
	DefaultLongTimeout   = 10 * time.Minute
	DefaultMaxPage       = core.MaxTraceLimit
)

func (l Limits) withDefaults() Limits {
	if l.MaxBody <= 0 {
		l.MaxBody = DefaultMaxBody
	}
	if l.MaxConcurrent <= 0 {
		l.MaxConcurrent = DefaultMaxConcurrent
	}
	if l.MaxLong <= 0 {
		l.MaxLong = DefaultMaxLong
	}
	if l.Wait <= 0 {
		l.Wait = DefaultWait
	}
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.LongTimeout <= 0 {
		l.LongTimeout = DefaultLongTimeout
	}
	if l.MaxPage <= 0 {
		l.MaxPage = DefaultMaxPage
	}
	return l
}

// Server serves the local API of one gateway's core.
type Server struct {
	core   *core.Gateway
	log    *slog.Logger
	limits Limits
	slots  chan struct{} // the turns of short requests
	long   chan struct{} // the turns of long ones
	// sending bounds the short answers held in memory while their
	// clients read them (bufferedAnswer).
	sending chan struct{}
	mux     *http.ServeMux
}

// NewServer returns the API of g.
func NewServer(g *core.Gateway, limits Limits, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	limits = limits.withDefaults()
	s := &Server{core: g, log: log, limits: limits, slots: make(chan struct{}, limits.MaxConcurrent),
		long: make(chan struct{}, limits.MaxLong), sending: make(chan struct{}, limits.MaxConcurrent), mux: http.NewServeMux()}
	s.handle("GET /v1/status", false, false, s.status)
	s.handle("GET /v1/trace", false, false, s.trace)
	s.handle("GET /v1/rejects", false, true, s.rejects)
	s.handle("GET /v1/anomalies", false, true, s.anomalies)
	s.handle("GET /v1/reconcile", false, true, s.reconcile)
	s.handle("GET /v1/verify", false, true, s.verify)
	s.handle("GET /v1/export/epcis", false, true, s.export)
	s.handle("GET /v1/export/insurance", false, true, s.exportInsurance)
	s.handle("POST /v1/reconcile/fees", false, true, s.reconcileFees)
	s.handle("GET /v1/inventory/{zone}", false, false, s.inventory)
	s.handle("POST /v1/doors/{zone}", true, false, s.door)
	s.handle("POST /v1/justify", true, false, s.justify)
	s.handle("POST /v1/loans", true, false, s.loan)
	s.handle("PUT /v1/master/{set}", true, true, s.importSet)
	s.handle("GET /v1/master/catalogue", false, true, s.catalogue)
	s.handle("GET /v1/cases/{case}/cost", false, true, s.caseCost)
	s.handle("GET /v1/implants", false, true, s.implants)
	s.handle("GET /v1/procurement", false, true, s.procurement)
	s.handle("GET /v1/stock", false, true, s.stock)
	s.handle("GET /v1/forecast", false, true, s.forecast)
	s.countRoutes()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &Error{ErrorResponse: ErrorResponse{Kind: KindNotFound, Error: fmt.Sprintf("no such resource: %s %s", r.Method, r.URL.Path)}})
	})
	return s
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// handle registers fn for pattern: a change needs a writer peer; every
// request waits its turn, among the short or the long ones, and runs
// under its deadline.
func (s *Server) handle(pattern string, change, long bool, fn func(w http.ResponseWriter, r *http.Request) error) {
	timeout, slots := s.limits.Timeout, s.slots
	if long {
		timeout, slots = s.limits.LongTimeout, s.long
	}
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if change && !mayChange(r.Context()) {
			writeError(w, &Error{ErrorResponse: ErrorResponse{Kind: KindForbidden, Error: ErrForbidden.Error()}})
			return
		}
		if r.ContentLength > s.limits.MaxBody {
			// Refused before a byte is read: reading a body to its bound
			// only to refuse it cost the agent its pace for a second.
			writeError(w, &Error{Status: http.StatusBadRequest, ErrorResponse: ErrorResponse{Kind: KindBadRequest,
				Error: fmt.Sprintf("request body larger than %d bytes", s.limits.MaxBody)}})
			return
		}
		wait := time.NewTimer(s.limits.Wait)
		select {
		case slots <- struct{}{}:
			wait.Stop()
		case <-wait.C:
			writeError(w, &Error{ErrorResponse: ErrorResponse{Kind: KindBusy, Error: ErrBusy.Error()}})
			return
		case <-r.Context().Done():
			wait.Stop()
			return
		}
		released := false
		release := func() {
			if !released {
				released = true
				<-slots
			}
		}
		defer release()
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		// The deadline holds for the connection too: a client that stops
		// sending its body, or stops reading the answer, is cut off.
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Now().Add(timeout))
		_ = rc.SetWriteDeadline(time.Now().Add(timeout + 5*time.Second))
		r.Body = http.MaxBytesReader(w, r.Body, s.limits.MaxBody)
		out := w
		var buf *bufferedAnswer
		if !long {
			// A short answer (at most a page of a trace) is made in
			// memory and sent after its turn is given back: a client
			// slow to read it holds up no other short request.
			buf = &bufferedAnswer{ResponseWriter: w}
			out = buf
		}
		if err := fn(out, r.WithContext(ctx)); err != nil {
			writeError(out, s.classify(err))
		}
		if buf != nil {
			release()
			s.send(w, buf)
		}
	})
}

// bufferedAnswer holds a short request's answer in memory until its turn
// is given back.
type bufferedAnswer struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (b *bufferedAnswer) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedAnswer) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// Unwrap gives http.ResponseController the connection's writer.
func (b *bufferedAnswer) Unwrap() http.ResponseWriter { return b.ResponseWriter }

// sendSmall is the largest short answer sent without a sending turn:
// the socket's buffers take it whole, whoever reads it.
const sendSmall = 64 << 10

// send writes a buffered answer to its client. A large one waits for one
// of MaxConcurrent sending turns, so that the answers held for slow
// readers stay bounded; one that cannot get its turn within the wait is
// answered busy instead.
func (s *Server) send(w http.ResponseWriter, b *bufferedAnswer) {
	if b.body.Len() > sendSmall {
		wait := time.NewTimer(s.limits.Wait)
		select {
		case s.sending <- struct{}{}:
			wait.Stop()
			defer func() { <-s.sending }()
		case <-wait.C:
			writeError(w, &Error{ErrorResponse: ErrorResponse{Kind: KindBusy, Error: ErrBusy.Error()}})
			return
		}
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	w.WriteHeader(b.status)
	_, _ = w.Write(b.body.Bytes())
}

// classify turns an error of the core into the API's answer.
func (s *Server) classify(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	kind := KindInternal
	var mbe *http.MaxBytesError
	var rows *master.BadRowsError
	switch {
	case errors.As(err, &mbe):
		kind = KindBadRequest
		err = fmt.Errorf("request body larger than %d bytes", mbe.Limit)
	case errors.As(err, &rows):
		e := &Error{ErrorResponse: ErrorResponse{Kind: KindBadRows, Error: err.Error(), BadRows: rows.Bad}}
		for i := range rows.Rows {
			e.RowErrors = append(e.RowErrors, rows.Rows[i].Error())
		}
		return e
	case errors.Is(err, master.ErrEmpty):
		kind = KindEmpty
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		kind = KindTimeout
		err = fmt.Errorf("the request did not complete within its deadline: %w", err)
	case errors.Is(err, core.ErrNotRunning):
		kind = KindNotRunning
	case errors.Is(err, core.ErrNoRFID), errors.Is(err, cabinet.ErrNoZone):
		kind = KindNotFound
	case errors.Is(err, core.ErrNothingPending), errors.Is(err, core.ErrStaleMaster):
		kind = KindConflict
	case errors.Is(err, core.ErrBadCode), errors.Is(err, core.ErrNoCode), errors.Is(err, core.ErrStockQuery), errors.Is(err, master.ErrFormat),
		errors.Is(err, core.ErrLoanSet),
		errors.Is(err, master.ErrHeader), errors.Is(err, master.ErrEncoding),
		errors.Is(err, master.ErrTooLarge):
		kind = KindBadRequest
	case errors.Is(err, cabinet.ErrNotAnswering):
		kind = KindBusy
	}
	if kind == KindInternal {
		s.log.Warn("request failed", "err", err)
	}
	return &Error{ErrorResponse: ErrorResponse{Kind: kind, Error: err.Error()}}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *Error) {
	code := e.Status
	if code == 0 {
		code = statusOf(e.Kind)
	}
	writeJSON(w, code, e.ErrorResponse)
}

// intParam reads a whole number from the query; def when absent.
func intParam(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, badRequest("%s=%q: want a whole number", name, v)
	}
	return n, nil
}

func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest("%s=%q: want true or false", name, v)
	}
	return b, nil
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) error {
	st, err := s.core.Status(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) trace(w http.ResponseWriter, r *http.Request) error {
	q := core.TraceQuery{Code: r.URL.Query().Get("code"), Key: r.URL.Query().Get("key")}
	if (q.Code == "") == (q.Key == "") {
		return badRequest("give code= (any form of a code) or key= (an item key as stored)")
	}
	var err error
	if q.Limit, err = intParam(r, "limit", core.DefaultTraceLimit); err != nil {
		return err
	}
	res, err := s.core.Trace(r.Context(), q)
	if err != nil {
		return err
	}
	out := TraceResponse{Key: res.Key, Product: res.Product, Truncated: res.Truncated}
	for _, st := range res.Settlements {
		out.Settlements = append(out.Settlements, FromSettlement(st))
	}
	writeMovements(w, out, res.Movements)
	return nil
}

// writeMovements writes a trace's answer, its movements encoded one by
// one (no second copy of them all), and lets the ledger's writer run
// between them: a long answer on one of two cores must not delay a
// scan's.
func writeMovements(w http.ResponseWriter, head TraceResponse, ms []agent.Movement) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	// The head without its movements: {"key":…,"movements":[ … ],…}
	b, _ := json.Marshal(head)
	pre, post, _ := bytes.Cut(b, []byte(`"movements":null`))
	bw.Write(pre)
	bw.WriteString(`"movements":[`)
	enc := json.NewEncoder(bw)
	for i, m := range ms {
		if i > 0 {
			bw.WriteByte(',')
		}
		_ = enc.Encode(FromMovement(m))
		if i&63 == 63 {
			runtime.Gosched()
		}
	}
	bw.WriteByte(']')
	bw.Write(post)
	bw.WriteByte('\n')
	_ = bw.Flush()
}

func (s *Server) rejects(w http.ResponseWriter, r *http.Request) error {
	q := core.RejectQuery{Station: r.URL.Query().Get("station")}
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return badRequest("since=%q: want an RFC 3339 time such as 2026-12-06T08:00:00+08:00", v)
		}
		q.Since = t
	}
	var err error
	if q.Limit, err = intParam(r, "limit", core.DefaultTraceLimit); err != nil {
		return err
	}
	ms, err := s.core.Rejects(r.Context(), q)
	if err != nil {
		return err
	}
	out := RejectsResponse{Rejects: make([]Movement, len(ms))}
	for i, m := range ms {
		out.Rejects[i] = FromMovement(m)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// page reads the offset and limit of a page of findings: limit at most
// MaxPage, and MaxPage when not given.
func (s *Server) page(r *http.Request) (offset, limit int, err error) {
	if offset, err = intParam(r, "offset", 0); err != nil {
		return 0, 0, err
	}
	if limit, err = intParam(r, "limit", s.limits.MaxPage); err != nil {
		return 0, 0, err
	}
	return offset, min(limit, s.limits.MaxPage), nil
}

func (s *Server) findings(w http.ResponseWriter, r *http.Request, fs []audit.Finding) error {
	offset, limit, err := s.page(r)
	if err != nil {
		return err
	}
	out := FindingsResponse{Offset: offset, Total: len(fs), Findings: []audit.Finding{}}
	if offset < len(fs) {
		out.Findings = fs[offset:min(len(fs), offset+limit)]
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) anomalies(w http.ResponseWriter, r *http.Request) error {
	var within time.Duration
	if v := r.URL.Query().Get("link_within"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return badRequest("link_within=%q: want a duration such as 4h", v)
		}
		within = d
	}
	fs, err := s.core.Anomalies(r.Context(), within)
	if err != nil {
		return err
	}
	return s.findings(w, r, fs)
}

func (s *Server) reconcile(w http.ResponseWriter, r *http.Request) error {
	fs, err := s.core.Reconcile(r.Context())
	if err != nil {
		return err
	}
	return s.findings(w, r, fs)
}

func (s *Server) verify(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.core.Verify(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// export answers the EPCIS document, built first (serveBuilt).
func (s *Server) export(w http.ResponseWriter, r *http.Request) error {
	var opt core.ExportOptions
	from, err := intParam(r, "from", 1)
	if err != nil {
		return err
	}
	opt.From = uint64(from)
	if opt.IncludePatient, err = boolParam(r, "include_patient"); err != nil {
		return err
	}
	if opt.IncludeActor, err = boolParam(r, "include_actor"); err != nil {
		return err
	}
	return s.serveBuilt(w, "application/ld+json", func(f io.Writer) (string, error) {
		written, skipped, err := s.core.ExportEPCIS(r.Context(), f, opt)
		return fmt.Sprintf("written=%d skipped=%d", written, skipped), err
	})
}

// serveBuilt answers with a document build writes into a temporary file
// first, so that an error is answered as one instead of cutting the
// document short, and memory stays bounded whatever its size; build's
// counts go in ExportHeader.
func (s *Server) serveBuilt(w http.ResponseWriter, contentType string, build func(io.Writer) (string, error)) error {
	tmp, err := os.CreateTemp("", "udi-edge-export-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	counts, err := build(tmp)
	if err != nil {
		return err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set(ExportHeader, counts)
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, tmp); err != nil {
		s.log.Warn("export not delivered", "err", err)
	}
	return nil
}

func (s *Server) inventory(w http.ResponseWriter, r *http.Request) error {
	zone := r.PathValue("zone")
	items, err := s.core.Inventory(r.Context(), zone)
	if err != nil {
		return err
	}
	if items == nil {
		items = []string{}
	}
	writeJSON(w, http.StatusOK, InventoryResponse{Zone: zone, Items: items})
	return nil
}

// decodeBody reads a JSON request body into v; unknown keys are refused.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return badRequest("request body: %v", err)
	}
	return nil
}

func (s *Server) door(w http.ResponseWriter, r *http.Request) error {
	var req DoorRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if err := s.core.Door(r.Context(), r.PathValue("zone"), req.Open); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, req)
	return nil
}

func (s *Server) justify(w http.ResponseWriter, r *http.Request) error {
	var req JustifyRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Code == "" || strings.TrimSpace(req.Reason) == "" {
		return badRequest("a justification needs the item's code and a reason")
	}
	m, err := s.core.Justify(r.Context(), req.Code, req.Reason, req.Actor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, JustifyResponse{Movement: FromMovement(m)})
	return nil
}

func (s *Server) loan(w http.ResponseWriter, r *http.Request) error {
	var req core.LoanSet
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	ms, err := s.core.DeclareLoan(r.Context(), req)
	if err != nil {
		return err
	}
	out := LoanResponse{Movements: make([]Movement, len(ms))}
	for i, m := range ms {
		out.Movements[i] = FromMovement(m)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) importSet(w http.ResponseWriter, r *http.Request) error {
	opt := core.ImportOptions{Format: r.URL.Query().Get("format"), Name: r.URL.Query().Get("name")}
	if opt.Format != "csv" && opt.Format != "json" {
		return badRequest("format=%q: want csv or json", opt.Format)
	}
	var err error
	if opt.Partial, err = boolParam(r, "partial"); err != nil {
		return err
	}
	if opt.AllowEmpty, err = boolParam(r, "allow_empty"); err != nil {
		return err
	}
	opt.Encoding = r.URL.Query().Get("encoding")
	res, err := s.core.Import(r.Context(), r.PathValue("set"), r.Body, opt)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// caseCost answers a case's cost.
func (s *Server) caseCost(w http.ResponseWriter, r *http.Request) error {
	c, err := s.core.CaseCost(r.Context(), r.PathValue("case"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// implants answers the implant record of ?patient= (every patient when
// absent).
func (s *Server) implants(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.core.Implants(r.Context(), r.URL.Query().Get("patient"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ImplantsResponse{Records: rs})
	return nil
}

// procurement answers the volume-based procurement report of
// ?from=&to= (core.ParseTimeBound's forms).
func (s *Server) procurement(w http.ResponseWriter, r *http.Request) error {
	from, err := core.ParseTimeBound(r.URL.Query().Get("from"), false)
	if err != nil {
		return badRequest("from: %v", err)
	}
	to, err := core.ParseTimeBound(r.URL.Query().Get("to"), true)
	if err != nil {
		return badRequest("to: %v", err)
	}
	ls, err := s.core.Procurement(r.Context(), from, to)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ProcurementResponse{Lines: ls})
	return nil
}

// catalogue writes the catalogue as a catalogue JSON file
// (master.WriteCatalogueJSON), the form PUT /v1/master/catalogue takes.
func (s *Server) catalogue(w http.ResponseWriter, r *http.Request) error {
	cat, err := s.core.Catalogue(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	return master.WriteCatalogueJSON(w, cat)
}

// Serve serves the API on every listener until ctx ends, then stops: what
// is in progress is cancelled, and a client that does not read its answer
// or send its request is cut off after a short grace.
func (s *Server) Serve(ctx context.Context, lns ...net.Listener) error {
	base, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       s.limits.LongTimeout,
		WriteTimeout:      s.limits.LongTimeout + time.Minute,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return base },
		ConnContext:       connContext,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, len(lns))
	var wg sync.WaitGroup
	for _, ln := range lns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	cancel() // cancels every request in progress
	grace, stop := context.WithTimeout(context.Background(), 2*time.Second)
	defer stop()
	if srv.Shutdown(grace) != nil {
		srv.Close()
	}
	wg.Wait()
	return err
}
