package central

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/agent/audit"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/sync/wire"

	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/ident"
)

// MovementJSON is a movement as the centre's API shows it: the one JSON
// form of a movement (api.Movement), with the site and the ledger's
// creation time.
type MovementJSON = api.Movement

// NewMovementJSON returns t as JSON shows it; the patient only when
// withPatient is set.
func NewMovementJSON(t Traced, withPatient bool) MovementJSON {
	j := api.FromMovement(t.Movement)
	j.Site, j.Created, j.Branch = t.Site, t.Created, t.Branch
	if !withPatient {
		j.Patient = ""
	}
	return j
}

// TraceResponse is the body of GET /v1/trace.
type TraceResponse struct {
	Code string `json:"code"`
	// Key is the item or tag key the code was found under.
	Key       string         `json:"key"`
	Movements []MovementJSON `json:"movements"`
}

// GatewaysResponse is the body of GET /v1/gateways.
type GatewaysResponse struct {
	Gateways []GatewayInfo `json:"gateways"`
}

// MasterResponse is the body of POST /v1/master.
type MasterResponse struct {
	Site    string `json:"site"`
	Set     string `json:"set"`
	Version uint64 `json:"version"`
	// Encoding is the encoding the file was read in ("UTF-8", "GB18030",
	// "UTF-16LE", "UTF-16BE"); what was published is UTF-8.
	Encoding string `json:"encoding"`
	// Rows is the number of rows published.
	Rows int `json:"rows"`
	// Rejected lists the problems of the rows left out (partial=1 only).
	Rejected []string `json:"rejected,omitempty"`
}

// FindingsResponse is the body of GET /v1/anomalies and POST
// /v1/reconcile: what an auditor should look at across the site's
// gateways.
type FindingsResponse struct {
	Site     string          `json:"site"`
	Findings []audit.Finding `json:"findings"`
}

// ReceivedResponse is the body of GET /v1/received.
type ReceivedResponse struct {
	Site string `json:"site"`
	// Products are the product keys of what the site's gateways have
	// received, sorted.
	Products []string `json:"products"`
}

// ErrorResponse is the body of every error answer.
type ErrorResponse struct {
	Error string `json:"error"`
	// Rows lists every problem of every bad row of master data refused
	// for them.
	Rows []string `json:"rows,omitempty"`
}

// Handler returns the service's HTTP API, without authentication: every
// request may do everything (RoleLocal), so serve it only where every
// client may (a loopback address of a machine of trusted users), or use
// NewAPIServer, which authenticates. Its requests are bounded as an
// APIServer's with default limits (APILimits):
//
//	GET  /healthz                       200 {"status":"ok"}, 503 when the MQTT connection is down
//	GET  /v1/trace?code=KEY             the movements of an item or tag key across gateways, oldest first;
//	                                    patient identifiers only with include_patient=1
//	GET  /v1/gateways                   every gateway: site, current ledger, head, status, counters
//	GET  /v1/anomalies?site=S           what an auditor should look at across the site's gateways
//	                                    (SiteAnomalies; link_within=8h for cabinet removals)
//	GET  /v1/received?site=S            the product keys of what the site's gateways have received
//	                                    (ReceivedProducts), for the site's catalogue
//	GET  /v1/stock?site=S&location=L&product=P&expiring=DAYS
//	                                    each gateway's stock on hand and open replenishment requests as
//	                                    the centre folds them (SiteStock, a SiteStockReport), packages
//	                                    resolved with the service's catalogue (Config.Catalogue);
//	                                    location, product (any form a trace reads) and expiring (lines
//	                                    expiring within DAYS, the expired included; 0 every line) optional
//	GET  /v1/supply/consumption?supplier=S&since=DAY&until=DAY&offset=N&limit=N
//	                                    a page of the uses of suppliers' items (Consumption), days
//	                                    YYYY-MM-DD in the service's local time, both included
//	GET  /v1/supply/requests?supplier=S&since=DAY&until=DAY&offset=N&limit=N
//	                                    a page of the gateways' replenishment requests (Requests)
//	POST /v1/reconcile?site=S&format=csv|json   body: the site's settlement records (the settlements
//	                                    set's file); the uses of every gateway reconciled with them
//	POST /v1/reconcile/fees?site=S&format=csv|json   body: a multipart form: the catalogue (a file of
//	                                    the catalogue set, .csv or .json), withdrawn and transcode tables,
//	                                    then the fee-detail file (2301), last; SiteReconcileFees
//	POST /v1/master?site=S&set=X&format=csv|json   body: the data; publishes it as the set's next version,
//	                                    once it reads as a gateway reads it; partial=1 publishes the good
//	                                    rows of a file with bad ones, allow_empty=1 a file with no rows,
//	                                    encoding=gbk|gb18030|utf-8|utf-16 names the file's encoding
//
// Answers are JSON; errors are {"error": "..."} (with "rows", every
// problem of every bad row, when master data are refused for them) with
// 400 for a bad request, 401 without a valid credential, 403 for what the
// client's role may not do (Role.May), 404 for an unknown path, 408 for a
// request body that did not arrive in time, 413 for one too large, 502
// when the broker did not take master data, 503 when the server is busy
// (with Retry-After), 504 past a request's deadline, 500 otherwise.
func (s *Service) Handler() http.Handler {
	return s.handler(newGuard(APILimits{}, nil, nil, true, s.log))
}

// handler returns the API, each request authenticated and bounded by g.
func (s *Service) handler(g *guard) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", g.route(PermRead, false, s.serveHealth))
	mux.HandleFunc("GET /v1/trace", g.route(PermRead, false, s.serveTrace))
	mux.HandleFunc("GET /v1/gateways", g.route(PermRead, false, s.serveGateways))
	mux.HandleFunc("GET /v1/anomalies", g.route(PermRead, true, s.serveAnomalies))
	mux.HandleFunc("GET /v1/received", g.route(PermRead, false, s.serveReceived))
	mux.HandleFunc("GET /v1/stock", g.route(PermRead, true, s.serveStock))
	mux.HandleFunc("GET /v1/supply/consumption", g.route(PermRead, false, s.serveConsumption))
	mux.HandleFunc("GET /v1/supply/requests", g.route(PermRead, false, s.serveRequests))
	mux.HandleFunc("POST /v1/reconcile", g.route(PermRead, true, s.serveReconcile))
	mux.HandleFunc("POST /v1/reconcile/fees", g.route(PermRead, true, s.serveReconcileFees))
	mux.HandleFunc("POST /v1/master", g.route(PermPublish, true, s.serveMaster))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no such resource: %s %s", r.Method, r.URL.Path))
	})
	return g.authenticated(mux)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, ErrorResponse{Error: err.Error()})
}

func (s *Service) serveHealth(w http.ResponseWriter, r *http.Request) {
	if c, ok := s.conn.(interface{ Connected() bool }); ok && !c.Connected() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "mqtt disconnected"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Service) serveTrace(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	code := q.Get("code")
	if code == "" {
		writeError(w, http.StatusBadRequest, errors.New("missing parameter code: any form of an item's code (as udi-edge decode reads it), or a tag's EPC"))
		return
	}
	withPatient, err := boolParam(q, "include_patient")
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	p, _ := PrincipalFrom(r.Context())
	if withPatient && !p.Role.May(PermPatient) {
		forbid(w, r, s.log, p, PermPatient, "; ask without include_patient")
		return
	}
	key, ts, err := TraceCode(r.Context(), s.store, code)
	if err != nil {
		var ie *ident.Error
		switch {
		case errors.As(err, &ie) || errors.Is(err, ErrProduct):
			writeError(w, http.StatusBadRequest, err)
		case errors.Is(err, context.DeadlineExceeded):
			writeError(w, http.StatusGatewayTimeout, errors.New("the trace did not complete within the request's deadline"))
		default:
			s.log.Error("trace failed", "err", err)
			writeError(w, http.StatusInternalServerError, errors.New("trace failed"))
		}
		return
	}
	if withPatient {
		// Who saw which patients is itself a record to keep; the log
		// names the item, never the patients.
		s.log.Info("trace with patient identifiers", "by", p.Name, "role", p.Role, "key", key, "movements", len(ts))
	}
	resp := TraceResponse{Code: code, Key: key, Movements: make([]MovementJSON, len(ts))}
	for i, t := range ts {
		resp.Movements[i] = NewMovementJSON(t, withPatient)
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Service) serveGateways(w http.ResponseWriter, r *http.Request) {
	gs, err := s.Gateways(r.Context())
	if errors.Is(err, context.DeadlineExceeded) {
		writeError(w, http.StatusGatewayTimeout, errors.New("listing gateways did not complete within the request's deadline"))
		return
	}
	if err != nil {
		s.log.Error("listing gateways failed", "err", err)
		writeError(w, http.StatusInternalServerError, errors.New("listing gateways failed"))
		return
	}
	if gs == nil {
		gs = []GatewayInfo{}
	}
	writeJSON(w, http.StatusOK, GatewaysResponse{Gateways: gs})
}

func (s *Service) serveMaster(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	opt := MasterOptions{Format: q.Get("format"), Encoding: q.Get("encoding")}
	var err error
	if opt.Partial, err = boolParam(q, "partial"); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if opt.AllowEmpty, err = boolParam(q, "allow_empty"); err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	data, ok := readBody(w, r)
	if !ok {
		return
	}
	site, set := q.Get("site"), q.Get("set")
	pub, err := s.PublishMaster(r.Context(), site, set, data, opt)
	var bad *master.BadRowsError
	switch {
	case errors.As(err, &bad):
		writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: err.Error(), Rows: rowStrings(bad.Rows)})
	case errors.Is(err, ErrInvalid):
		writeError(w, http.StatusBadRequest, err)
	case errors.Is(err, context.DeadlineExceeded) && r.Context().Err() != nil:
		writeError(w, http.StatusGatewayTimeout, fmt.Errorf("not published within the request's deadline: %w", err))
	case err != nil:
		s.log.Error("master data not published", "site", site, "set", set, "err", err)
		writeError(w, http.StatusBadGateway, err)
	default:
		p, _ := PrincipalFrom(r.Context())
		s.log.Info("master data published over the HTTP API", "by", p.Name, "role", p.Role, "site", site, "set", set, "version", pub.Version)
		writeJSON(w, http.StatusCreated, MasterResponse{Site: site, Set: set, Version: pub.Version,
			Encoding: pub.Report.Encoding, Rows: pub.Report.Kept, Rejected: rowStrings(pub.Report.Rejected)})
	}
}

// boolParam reads a yes-or-no parameter of the query: 1, t, true, 0, f,
// false (strconv.ParseBool); false when absent.
func boolParam(q url.Values, name string) (bool, error) {
	v := q.Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("parameter %s: %q is not 1 or 0", name, v)
	}
	return b, nil
}

// rowStrings formats row problems.
func rowStrings(rows []master.RowError) []string {
	var out []string
	for i := range rows {
		out = append(out, rows[i].Error())
	}
	return out
}

// readBody reads the request's body, answering the error itself when it
// cannot. The guard bounds the body (APILimits.MaxBody) and its arrival
// (the request's read deadline).
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	data, err := io.ReadAll(r.Body)
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("the data are larger than %d bytes", mbe.Limit))
		return nil, false
	case errors.Is(err, os.ErrDeadlineExceeded):
		writeError(w, http.StatusRequestTimeout, errors.New("the data did not arrive within the request's deadline"))
		return nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, fmt.Errorf("reading the data: %w", err))
		return nil, false
	}
	return data, true
}

// auditSite returns the site parameter of an audit request, answering
// the error itself when it is missing or not one of the service's.
func (s *Service) auditSite(w http.ResponseWriter, r *http.Request) (string, bool) {
	site := r.URL.Query().Get("site")
	if site == "" || !slices.Contains(s.cfg.Sites, site) {
		writeError(w, http.StatusBadRequest, fmt.Errorf("parameter site: %q is not one of the sites served (%s)", site, strings.Join(s.cfg.Sites, ", ")))
		return "", false
	}
	return site, true
}

// writeFindings answers an audit.
func (s *Service) writeFindings(w http.ResponseWriter, what, site string, found []audit.Finding, err error) {
	if s.writeFailure(w, what, site, err) {
		return
	}
	if found == nil {
		found = []audit.Finding{}
	}
	writeJSON(w, http.StatusOK, FindingsResponse{Site: site, Findings: found})
}

// writeFailure answers err, the failure of a read of the site's
// movements, and reports whether there was one.
func (s *Service) writeFailure(w http.ResponseWriter, what, site string, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, ErrInvalid):
		writeError(w, http.StatusBadRequest, err)
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, fmt.Errorf("the %s did not complete within the request's deadline", what))
	default:
		s.log.Error(what+" failed", "site", site, "err", err)
		writeError(w, http.StatusInternalServerError, fmt.Errorf("the %s failed", what))
	}
	return true
}

func (s *Service) serveAnomalies(w http.ResponseWriter, r *http.Request) {
	site, ok := s.auditSite(w, r)
	if !ok {
		return
	}
	link := audit.DefaultLinkWithin
	if v := r.URL.Query().Get("link_within"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			writeError(w, http.StatusBadRequest, fmt.Errorf("parameter link_within: %q is not a duration such as 8h", v))
			return
		}
		link = d
	}
	found, err := SiteAnomalies(r.Context(), s.store, site, nil, s.now(), link)
	s.writeFindings(w, "anomalies", site, found, err)
}

func (s *Service) serveReconcile(w http.ResponseWriter, r *http.Request) {
	site, ok := s.auditSite(w, r)
	if !ok {
		return
	}
	format := r.URL.Query().Get("format")
	if format != wire.FormatCSV && format != wire.FormatJSON {
		writeError(w, http.StatusBadRequest, fmt.Errorf("parameter format: %q, want csv or json", format))
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	data, _, err := (*master.Data)(nil).Import(wire.SetSettlements, bytes.NewReader(body),
		master.ImportOptions{Format: format, Encoding: r.URL.Query().Get("encoding")})
	var bad *master.BadRowsError
	if errors.As(err, &bad) {
		writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: err.Error(), Rows: rowStrings(bad.Rows)})
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("settlement records: %w", err))
		return
	}
	found, err := SiteReconcile(r.Context(), s.store, site, data, s.now())
	s.writeFindings(w, "reconciliation", site, found, err)
}
