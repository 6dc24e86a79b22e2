package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/udi-edge/udi-edge/agent/core"
)

// CountsResponse is the body of GET /v1/counts: a page of the cycle count
// sessions, oldest first.
type CountsResponse struct {
	Sessions []core.CountSession `json:"sessions"`
	Offset   int                 `json:"offset"`
	Total    int                 `json:"total"`
}

// CountReportResponse is the body of the answers that report a session
// (GET /v1/counts/{session}, POST /v1/counts/{session}/end, POST
// /v1/counts/cabinet): the report with a page of its differences, from
// Offset, and how many there are in all.
type CountReportResponse struct {
	core.CountReport
	Offset int `json:"offset"`
	Total  int `json:"total"`
}

// CountEndRequest is the body of POST /v1/counts/{session}/end.
type CountEndRequest struct {
	Actor string `json:"actor,omitempty"`
}

// CountAdjustRequest is the body of POST /v1/counts/{session}/adjust.
type CountAdjustRequest struct {
	// Items are the items (or lots) whose differences are confirmed; none
	// confirms every one but the items the ledger has used.
	Items []string `json:"items,omitempty"`
	// Apply writes the movements; without it they are planned only.
	Apply bool   `json:"apply"`
	Actor string `json:"actor,omitempty"`
}

// CountAdjustResponse is the answer to POST /v1/counts/{session}/adjust:
// the movements planned, or written (Applied) as recorded; at most the
// server's page of them, Total in all.
type CountAdjustResponse struct {
	Session   core.CountSession `json:"session"`
	Applied   bool              `json:"applied"`
	Movements []Movement        `json:"movements"`
	Total     int               `json:"total"`
}

// countRoutes registers the routes of cycle counts.
func (s *Server) countRoutes() {
	s.handle("GET /v1/counts", false, false, s.counts)
	s.handle("POST /v1/counts", true, false, s.countStart)
	s.handle("POST /v1/counts/cabinet", true, true, s.countCabinet)
	s.handle("GET /v1/counts/{session}", false, true, s.countReport)
	s.handle("POST /v1/counts/{session}/end", true, true, s.countEnd)
	s.handle("POST /v1/counts/{session}/adjust", true, true, s.countAdjust)
}

// countError gives the core's count errors their kind of answer.
func countError(err error) error {
	kind := ""
	switch {
	case errors.Is(err, core.ErrCountRequest):
		kind = KindBadRequest
	case errors.Is(err, core.ErrNoCount):
		kind = KindNotFound
	case errors.Is(err, core.ErrCountState):
		kind = KindConflict
	default:
		return err
	}
	return &Error{ErrorResponse: ErrorResponse{Kind: kind, Error: err.Error()}}
}

func sessionParam(r *http.Request) (uint64, error) {
	v := r.PathValue("session")
	id, err := strconv.ParseUint(v, 10, 64)
	if err != nil || id == 0 {
		return 0, badRequest("session %q: want the number of a cycle count session", v)
	}
	return id, nil
}

func (s *Server) counts(w http.ResponseWriter, r *http.Request) error {
	offset, limit, err := s.page(r)
	if err != nil {
		return err
	}
	all, err := s.core.Counts(r.Context())
	if err != nil {
		return countError(err)
	}
	out := CountsResponse{Sessions: []core.CountSession{}, Offset: offset, Total: len(all)}
	if offset < len(all) {
		out.Sessions = all[offset:min(len(all), offset+limit)]
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) countStart(w http.ResponseWriter, r *http.Request) error {
	var req core.CountRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if req.Zone != "" {
		return badRequest("zone: a count started at stations names no zone (the RFID snapshot is POST /v1/counts/cabinet)")
	}
	sess, err := s.core.StartCount(r.Context(), req)
	if err != nil {
		return countError(err)
	}
	writeJSON(w, http.StatusOK, sess)
	return nil
}

func (s *Server) countCabinet(w http.ResponseWriter, r *http.Request) error {
	var req core.CountRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if len(req.Stations) > 0 {
		return badRequest("stations: an RFID snapshot names a location or a zone, no station")
	}
	rep, err := s.core.CountCabinet(r.Context(), req)
	return s.writeReport(w, r, rep, err)
}

func (s *Server) countReport(w http.ResponseWriter, r *http.Request) error {
	id, err := sessionParam(r)
	if err != nil {
		return err
	}
	rep, err := s.core.CountReport(r.Context(), id)
	return s.writeReport(w, r, rep, err)
}

func (s *Server) countEnd(w http.ResponseWriter, r *http.Request) error {
	id, err := sessionParam(r)
	if err != nil {
		return err
	}
	var req CountEndRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	rep, err := s.core.EndCount(r.Context(), id, req.Actor)
	return s.writeReport(w, r, rep, err)
}

// writeReport answers a report with the page of its differences the
// request asks for (offset, limit).
func (s *Server) writeReport(w http.ResponseWriter, r *http.Request, rep core.CountReport, err error) error {
	if err != nil {
		return countError(err)
	}
	offset, limit, err := s.page(r)
	if err != nil {
		return err
	}
	out := CountReportResponse{CountReport: rep, Offset: offset, Total: len(rep.Differences)}
	out.Differences = out.Differences[min(offset, len(out.Differences)):min(len(out.Differences), offset+limit)]
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) countAdjust(w http.ResponseWriter, r *http.Request) error {
	id, err := sessionParam(r)
	if err != nil {
		return err
	}
	var req CountAdjustRequest
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	res, err := s.core.AdjustCount(r.Context(), id, core.CountAdjustment{Items: req.Items, Apply: req.Apply, Actor: req.Actor})
	if err != nil {
		return countError(err)
	}
	out := CountAdjustResponse{Session: res.Session, Applied: res.Applied, Movements: []Movement{}, Total: len(res.Movements)}
	for _, m := range res.Movements[:min(len(res.Movements), s.limits.MaxPage)] {
		out.Movements = append(out.Movements, FromMovement(m))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// Counts returns the agent's cycle count sessions, oldest first, read
// page by page.
func (c *Client) Counts(ctx context.Context) ([]core.CountSession, error) {
	var all []core.CountSession
	for {
		var page CountsResponse
		if _, err := c.do(ctx, http.MethodGet, "/v1/counts", url.Values{"offset": {strconv.Itoa(len(all))}}, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Sessions...)
		if len(page.Sessions) == 0 || len(all) >= page.Total {
			return all, nil
		}
	}
}

// StartCount starts a count session at stations (core.Gateway.StartCount).
func (c *Client) StartCount(ctx context.Context, req core.CountRequest) (core.CountSession, error) {
	b, _ := json.Marshal(req)
	var out core.CountSession
	_, err := c.do(ctx, http.MethodPost, "/v1/counts", nil, bytesReader(b), &out)
	return out, err
}

// CountCabinet takes the RFID snapshot of the cabinets at a location or
// zone and returns its report (core.Gateway.CountCabinet).
func (c *Client) CountCabinet(ctx context.Context, req core.CountRequest) (core.CountReport, error) {
	b, _ := json.Marshal(req)
	return c.report(ctx, http.MethodPost, "/v1/counts/cabinet", b)
}

// EndCount ends session id and returns its report (core.Gateway.EndCount).
func (c *Client) EndCount(ctx context.Context, id uint64, actor string) (core.CountReport, error) {
	b, _ := json.Marshal(CountEndRequest{Actor: actor})
	return c.report(ctx, http.MethodPost, fmt.Sprintf("/v1/counts/%d/end", id), b)
}

// CountReport returns what session id found (core.Gateway.CountReport).
func (c *Client) CountReport(ctx context.Context, id uint64) (core.CountReport, error) {
	return c.report(ctx, http.MethodGet, fmt.Sprintf("/v1/counts/%d", id), nil)
}

// report sends the request that answers a report, then reads the rest of
// its differences page by page from GET /v1/counts/{session}, as long as
// the ledger they are read from does not change (else it starts over).
func (c *Client) report(ctx context.Context, method, path string, body []byte) (core.CountReport, error) {
	var first CountReportResponse
	var rd io.Reader
	if body != nil {
		rd = bytesReader(body)
	}
	if _, err := c.do(ctx, method, path, nil, rd, &first); err != nil {
		return core.CountReport{}, err
	}
	get := fmt.Sprintf("/v1/counts/%d", first.Session.ID)
	for range stockRetries {
		rep := first.CountReport
		for len(rep.Differences) < first.Total {
			var next CountReportResponse
			if _, err := c.do(ctx, http.MethodGet, get, url.Values{"offset": {strconv.Itoa(len(rep.Differences))}}, nil, &next); err != nil {
				return core.CountReport{}, err
			}
			if next.AsOf != rep.AsOf || len(next.Differences) == 0 {
				break
			}
			rep.Differences = append(rep.Differences, next.Differences...)
		}
		if len(rep.Differences) >= first.Total {
			return rep, nil
		}
		if _, err := c.do(ctx, http.MethodGet, get, nil, nil, &first); err != nil {
			return core.CountReport{}, err
		}
	}
	return core.CountReport{}, fmt.Errorf("control socket %s: cycle count %d: movements kept being written while its %d pages were read; ask again",
		c.socket, first.Session.ID, stockRetries)
}

// AdjustCount plans or writes the adjustments of session id
// (core.Gateway.AdjustCount); the movements are at most a page of the
// server's (Total says how many in all).
func (c *Client) AdjustCount(ctx context.Context, id uint64, opt core.CountAdjustment) (core.CountAdjustResult, error) {
	b, _ := json.Marshal(CountAdjustRequest{Items: opt.Items, Apply: opt.Apply, Actor: opt.Actor})
	var out CountAdjustResponse
	if _, err := c.do(ctx, http.MethodPost, fmt.Sprintf("/v1/counts/%d/adjust", id), nil, bytesReader(b), &out); err != nil {
		return core.CountAdjustResult{}, err
	}
	ms, err := movements(out.Movements)
	if err != nil {
		return core.CountAdjustResult{}, err
	}
	return core.CountAdjustResult{Session: out.Session, Applied: out.Applied, Movements: ms, Total: out.Total}, nil
}
