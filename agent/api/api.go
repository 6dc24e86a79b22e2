// Package api is udi-edge's local API: HTTP over the agent's control unix
// socket (and, optionally, a loopback TCP address), versioned under /v1/,
// JSON with snake_case keys. The command line, the station page and any
// local tool ask a running agent through it; every answer comes from the
// one core (agent/core), the same code a command runs on a stopped
// agent's ledger file.
//
//	GET  /v1/status                          what the agent is doing
//	GET  /v1/trace?code=CODE|key=KEY&limit=N  an item's movements and settlement lines
//	GET  /v1/rejects?station=&since=&limit=  rejected reads, with their bytes
//	GET  /v1/anomalies?link_within=&offset=&limit=
//	GET  /v1/reconcile?offset=&limit=
//	POST /v1/reconcile/fees?format=csv|json&name=&offset=&limit=   body: a fee-detail file (2301), or a
//	                                         multipart form: withdrawn and transcode tables, then fees
//	GET  /v1/verify                          the ledger's hash chain and structure
//	GET  /v1/export/epcis?from=&include_patient=&include_actor=
//	GET  /v1/export/insurance?from=&to=&case=&drop_gs=   3501–3506 records, or a case's trace codes
//	GET  /v1/inventory/{zone}                what a cabinet zone holds
//	POST /v1/doors/{zone}                    {"open": true|false}
//	POST /v1/justify                         {"code": …, "reason": …, "actor": …}
//	POST /v1/loans                           {"supplier": …, "case": …, "location": …, "codes": […], "actor": …}
//	PUT  /v1/master/{set}?format=csv|json&partial=&allow_empty=&encoding=&name=   body: the file
//	GET  /v1/stock?location=&product=&expiring_days=&offset=&limit=   the stock on hand, par levels, open requests
//	GET  /v1/forecast?location=&product=     demand forecasts and reorder points
//	GET  /v1/counts?offset=&limit=           the cycle count sessions
//	POST /v1/counts                          {"location": …, "stations": […], "actor": …}: start one
//	POST /v1/counts/cabinet?offset=&limit=   {"location"|"zone": …, "actor": …}: an RFID snapshot, its report
//	GET  /v1/counts/{session}?offset=&limit= what a session found against the ledger
//	POST /v1/counts/{session}/end?offset=&limit=   {"actor": …}: end it, its report
//	POST /v1/counts/{session}/adjust         {"items": […], "apply": true|false, "actor": …}
//
// The server is bounded: the size of a request body, the number of
// requests served at once (others wait a little, then get 503), and a
// deadline per request; long reads (verify, audits, export) have a longer
// one, and take their turns apart from the short requests, so that they
// and their clients never hold up a status or a trace. Shutting down cancels what is in progress and never waits for a
// stuck client. On the unix socket, a peer running as the agent's user or
// root may change things (POST, PUT); any other peer the socket's mode
// lets in (its group) only reads. Over TCP everything is read-only.
//
// The package never logs a patient identifier and never holds a
// response whole in memory beyond the bounded pages it serves.
package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/udi-edge/udi-edge/agent/master"

	"github.com/udi-edge/udi-edge/agent/audit"
)

// Version is the path prefix of this version of the API.
const Version = "/v1"

// TraceResponse is the body of GET /v1/trace.
type TraceResponse struct {
	Key         string       `json:"key"`
	Product     bool         `json:"product,omitempty"`
	Movements   []Movement   `json:"movements"`
	Settlements []Settlement `json:"settlements,omitempty"`
	// Truncated says the product has more movements than the limit.
	Truncated bool `json:"truncated,omitempty"`
}

// FindingsResponse is the body of GET /v1/anomalies and /v1/reconcile: a
// page of the findings, from Offset, and how many there are in all.
type FindingsResponse struct {
	Findings []audit.Finding `json:"findings"`
	Offset   int             `json:"offset"`
	Total    int             `json:"total"`
}

// RejectsResponse is the body of GET /v1/rejects.
type RejectsResponse struct {
	Rejects []Movement `json:"rejects"`
}

// InventoryResponse is the body of GET /v1/inventory/{zone}.
type InventoryResponse struct {
	Zone  string   `json:"zone"`
	Items []string `json:"items"`
}

// ImplantsResponse is the body of GET /v1/implants: the implant record
// (personal data: patients and medical record numbers).
type ImplantsResponse struct {
	Records []audit.ImplantRecord `json:"records"`
}

// ProcurementResponse is the body of GET /v1/procurement.
type ProcurementResponse struct {
	Lines []audit.VolumeLine `json:"lines"`
}

// DoorRequest is the body of POST /v1/doors/{zone}.
type DoorRequest struct {
	Open bool `json:"open"`
}

// JustifyRequest is the body of POST /v1/justify.
type JustifyRequest struct {
	Code   string `json:"code"`
	Reason string `json:"reason"`
	Actor  string `json:"actor,omitempty"`
}

// JustifyResponse is the answer to POST /v1/justify: the movement that
// records the justification.
type JustifyResponse struct {
	Movement Movement `json:"movement"`
}

// LoanResponse is the answer to POST /v1/loans (body: core.LoanSet): the
// movements that declare the set's items.
type LoanResponse struct {
	Movements []Movement `json:"movements"`
}

// ExportHeader is the header of an export's answer that carries the
// counts of the document that follows: "written=N skipped=M" for
// /v1/export/epcis, "records=N skipped=M problems=K" for
// /v1/export/insurance.
const ExportHeader = "X-Udi-Export"

// Error kinds, in ErrorResponse.Kind.
const (
	KindBadRequest = "bad_request"
	KindForbidden  = "forbidden"
	KindNotFound   = "not_found"
	KindConflict   = "conflict"
	KindBadRows    = "bad_rows"
	KindEmpty      = "empty"
	KindBusy       = "busy"
	KindTimeout    = "timeout"
	KindNotRunning = "not_running"
	KindDamaged    = "damaged"
	KindInternal   = "internal"
)

// ErrorResponse is the body of every error answer.
type ErrorResponse struct {
	Error string `json:"error"`
	Kind  string `json:"kind"`
	// RowErrors lists the problems of the bad rows of a refused master
	// data file (a row may have several), at most master.MaxRejected;
	// BadRows counts the bad rows, every one.
	RowErrors []string `json:"row_errors,omitempty"`
	BadRows   int      `json:"bad_rows,omitempty"`
}

// Error is an error answer of the API, as the client returns it.
type Error struct {
	Status int
	ErrorResponse
}

func (e *Error) Error() string { return e.ErrorResponse.Error }

// Is reports whether the answer is the API's form of target: ErrForbidden,
// ErrBusy, ErrNotRunning, master.ErrEmpty, master.ErrBadRows.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrForbidden:
		return e.Kind == KindForbidden
	case ErrBusy:
		return e.Kind == KindBusy
	case ErrNotRunning:
		return e.Kind == KindNotRunning
	case master.ErrEmpty:
		return e.Kind == KindEmpty
	case master.ErrBadRows:
		return e.Kind == KindBadRows
	}
	return false
}

// Errors the client returns, besides *Error.
var (
	// ErrNoAgent says no agent answers on the socket.
	ErrNoAgent = errors.New("no agent answers on the control socket")
	// ErrForbidden says the caller may only read.
	ErrForbidden = errors.New("read-only access: changes need the agent's user or root")
	// ErrBusy says the agent serves as many requests as it may.
	ErrBusy = errors.New("the agent is busy with other requests; try again")
	// ErrNotRunning matches core.ErrNotRunning's answer.
	ErrNotRunning = errors.New("not a running agent")
)

func statusOf(kind string) int {
	switch kind {
	case KindBadRequest, KindEmpty:
		return http.StatusBadRequest
	case KindForbidden:
		return http.StatusForbidden
	case KindNotFound:
		return http.StatusNotFound
	case KindConflict, KindNotRunning:
		return http.StatusConflict
	case KindBadRows:
		return http.StatusUnprocessableEntity
	case KindBusy:
		return http.StatusServiceUnavailable
	case KindTimeout:
		return http.StatusGatewayTimeout
	case KindDamaged:
		return http.StatusInternalServerError
	}
	return http.StatusInternalServerError
}

// badRequest is a request error: 400 with its text.
func badRequest(format string, args ...any) error {
	return &Error{Status: http.StatusBadRequest, ErrorResponse: ErrorResponse{Kind: KindBadRequest, Error: fmt.Sprintf(format, args...)}}
}
