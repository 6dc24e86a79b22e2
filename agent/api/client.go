package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/audit"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/master"
)

// Client asks a running agent through its control socket.
type Client struct {
	socket string
	hc     *http.Client
}

// NewClient returns a client of the agent serving the unix socket path.
func NewClient(socket string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			d := net.Dialer{Timeout: 2 * time.Second}
			return d.DialContext(ctx, "unix", socket)
		},
		MaxIdleConns:    1,
		IdleConnTimeout: 5 * time.Second,
	}
	return &Client{socket: socket, hc: &http.Client{Transport: tr}}
}

// do sends one request; out, if not nil, receives the JSON answer. An
// error answer is an *Error; no agent on the socket is ErrNoAgent.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body io.Reader, out any) (*http.Response, error) {
	return c.doType(ctx, method, path, q, "application/octet-stream", body, out)
}

// doType is do with the body's Content-Type.
func (c *Client) doType(ctx context.Context, method, path string, q url.Values, contentType string, body io.Reader, out any) (*http.Response, error) {
	u := "http://agent" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" && (errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED)) {
			return nil, fmt.Errorf("%w (%s)", ErrNoAgent, c.socket)
		}
		return nil, fmt.Errorf("control socket %s: %w", c.socket, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		e := &Error{Status: resp.StatusCode}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&e.ErrorResponse); err != nil || e.ErrorResponse.Error == "" {
			e.ErrorResponse = ErrorResponse{Kind: KindInternal, Error: fmt.Sprintf("control socket %s: %s", c.socket, resp.Status)}
		}
		return nil, e
	}
	if out == nil {
		return resp, nil
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return nil, fmt.Errorf("control socket %s: %s %s: %w", c.socket, method, path, err)
	}
	return resp, nil
}

// Status returns what the agent is doing.
func (c *Client) Status(ctx context.Context) (core.Status, error) {
	var s core.Status
	_, err := c.do(ctx, http.MethodGet, "/v1/status", nil, nil, &s)
	return s, err
}

// Trace returns the movements of the item or product q names.
func (c *Client) Trace(ctx context.Context, q core.TraceQuery) (core.TraceResult, error) {
	v := url.Values{}
	if q.Key != "" {
		v.Set("key", q.Key)
	} else {
		v.Set("code", q.Code)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out TraceResponse
	if _, err := c.do(ctx, http.MethodGet, "/v1/trace", v, nil, &out); err != nil {
		return core.TraceResult{}, err
	}
	res := core.TraceResult{Key: out.Key, Product: out.Product, Truncated: out.Truncated}
	var err error
	if res.Movements, err = movements(out.Movements); err != nil {
		return res, err
	}
	for _, s := range out.Settlements {
		st, err := s.Settlement()
		if err != nil {
			return res, err
		}
		res.Settlements = append(res.Settlements, st)
	}
	return res, nil
}

// Rejects returns the rejected reads q asks for, oldest first.
func (c *Client) Rejects(ctx context.Context, q core.RejectQuery) ([]agent.Movement, error) {
	v := url.Values{}
	if q.Station != "" {
		v.Set("station", q.Station)
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.Format(time.RFC3339))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out RejectsResponse
	if _, err := c.do(ctx, http.MethodGet, "/v1/rejects", v, nil, &out); err != nil {
		return nil, err
	}
	return movements(out.Rejects)
}

// movements returns the movements of their JSON forms.
func movements(js []Movement) ([]agent.Movement, error) {
	out := make([]agent.Movement, len(js))
	for i, j := range js {
		m, err := j.Movement()
		if err != nil {
			return nil, err
		}
		out[i] = m
	}
	return out, nil
}

// findings fetches every page of an audit.
func (c *Client) findings(ctx context.Context, path string, v url.Values) ([]audit.Finding, error) {
	var all []audit.Finding
	for {
		v.Set("offset", strconv.Itoa(len(all)))
		var page FindingsResponse
		if _, err := c.do(ctx, http.MethodGet, path, v, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Findings...)
		if len(page.Findings) == 0 || len(all) >= page.Total {
			return all, nil
		}
	}
}

// Anomalies returns the agent's anomalies; linkWithin 0 is the default.
func (c *Client) Anomalies(ctx context.Context, linkWithin time.Duration) ([]audit.Finding, error) {
	v := url.Values{}
	if linkWithin > 0 {
		v.Set("link_within", linkWithin.String())
	}
	return c.findings(ctx, "/v1/anomalies", v)
}

// Reconcile returns the agent's reconciliation of uses and settlements.
func (c *Client) Reconcile(ctx context.Context) ([]audit.Finding, error) {
	return c.findings(ctx, "/v1/reconcile", url.Values{})
}

// Verify checks the agent's ledger.
func (c *Client) Verify(ctx context.Context) (agent.VerifyReport, error) {
	var r agent.VerifyReport
	_, err := c.do(ctx, http.MethodGet, "/v1/verify", nil, nil, &r)
	return r, err
}

// ExportEPCIS copies the agent's EPCIS document to w and returns its
// counts.
func (c *Client) ExportEPCIS(ctx context.Context, w io.Writer, opt core.ExportOptions) (written, skipped int, err error) {
	v := url.Values{}
	v.Set("from", strconv.FormatUint(max(opt.From, 1), 10))
	if opt.IncludePatient {
		v.Set("include_patient", "true")
	}
	if opt.IncludeActor {
		v.Set("include_actor", "true")
	}
	resp, err := c.do(ctx, http.MethodGet, "/v1/export/epcis", v, nil, nil)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if _, err := fmt.Sscanf(resp.Header.Get(ExportHeader), "written=%d skipped=%d", &written, &skipped); err != nil {
		return 0, 0, fmt.Errorf("control socket %s: export: no counts in the answer", c.socket)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return 0, 0, err
	}
	return written, skipped, nil
}

// Inventory returns what the cabinet zone holds now.
func (c *Client) Inventory(ctx context.Context, zone string) ([]string, error) {
	var out InventoryResponse
	_, err := c.do(ctx, http.MethodGet, "/v1/inventory/"+url.PathEscape(zone), nil, nil, &out)
	return out.Items, err
}

// Door tells the agent that a cabinet's door opened or closed.
func (c *Client) Door(ctx context.Context, zone string, open bool) error {
	b, _ := json.Marshal(DoorRequest{Open: open})
	_, err := c.do(ctx, http.MethodPost, "/v1/doors/"+url.PathEscape(zone), nil, bytesReader(b), &DoorRequest{})
	return err
}

// Justify records a necessity justification for the item's pending use.
func (c *Client) Justify(ctx context.Context, code, reason, actor string) (agent.Movement, error) {
	b, _ := json.Marshal(JustifyRequest{Code: code, Reason: reason, Actor: actor})
	var out JustifyResponse
	if _, err := c.do(ctx, http.MethodPost, "/v1/justify", nil, bytesReader(b), &out); err != nil {
		return agent.Movement{}, err
	}
	return out.Movement.Movement()
}

// DeclareLoan declares a supplier's loan set (core.Gateway.DeclareLoan).
func (c *Client) DeclareLoan(ctx context.Context, set core.LoanSet) ([]agent.Movement, error) {
	b, _ := json.Marshal(set)
	var out LoanResponse
	if _, err := c.do(ctx, http.MethodPost, "/v1/loans", nil, bytesReader(b), &out); err != nil {
		return nil, err
	}
	ms := make([]agent.Movement, 0, len(out.Movements))
	for _, x := range out.Movements {
		m, err := x.Movement()
		if err != nil {
			return ms, err
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// Import sends a master data file to replace one set.
func (c *Client) Import(ctx context.Context, set string, r io.Reader, opt core.ImportOptions) (core.ImportResult, error) {
	v := url.Values{}
	v.Set("format", opt.Format)
	if opt.Name != "" {
		v.Set("name", opt.Name)
	}
	if opt.Partial {
		v.Set("partial", "true")
	}
	if opt.AllowEmpty {
		v.Set("allow_empty", "true")
	}
	if opt.Encoding != "" {
		v.Set("encoding", opt.Encoding)
	}
	var out core.ImportResult
	_, err := c.do(ctx, http.MethodPut, "/v1/master/"+url.PathEscape(set), v, r, &out)
	return out, err
}

// CaseCost returns what a case's consumables cost.
func (c *Client) CaseCost(ctx context.Context, caseID string) (audit.CaseCost, error) {
	var out audit.CaseCost
	_, err := c.do(ctx, http.MethodGet, "/v1/cases/"+url.PathEscape(caseID)+"/cost", nil, nil, &out)
	return out, err
}

// Implants returns the implant record of patient ("" every patient).
func (c *Client) Implants(ctx context.Context, patient string) ([]audit.ImplantRecord, error) {
	v := url.Values{}
	if patient != "" {
		v.Set("patient", patient)
	}
	var out ImplantsResponse
	_, err := c.do(ctx, http.MethodGet, "/v1/implants", v, nil, &out)
	return out.Records, err
}

// Procurement returns the volume-based procurement report of the uses
// from from to to (zero: open bounds).
func (c *Client) Procurement(ctx context.Context, from, to time.Time) ([]audit.VolumeLine, error) {
	v := url.Values{}
	if !from.IsZero() {
		v.Set("from", from.Format(time.RFC3339Nano))
	}
	if !to.IsZero() {
		v.Set("to", to.Format(time.RFC3339Nano))
	}
	var out ProcurementResponse
	_, err := c.do(ctx, http.MethodGet, "/v1/procurement", v, nil, &out)
	return out.Lines, err
}

// Catalogue returns the catalogue the agent holds.
func (c *Client) Catalogue(ctx context.Context) ([]master.CatalogueEntry, error) {
	resp, err := c.do(ctx, http.MethodGet, "/v1/master/catalogue", nil, nil, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	cat, _, err := master.ParseCatalogue(resp.Body, master.ImportOptions{Format: master.FormatJSON, AllowEmpty: true})
	if err != nil {
		return nil, fmt.Errorf("control socket %s: catalogue: %w", c.socket, err)
	}
	return cat, nil
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
