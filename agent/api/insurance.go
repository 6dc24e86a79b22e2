package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/insurance"
	"github.com/udi-edge/udi-edge/agent/nhsa"
)

// FieldFees is the form field of the fee-detail file in a multipart
// request to reconcile one (POST /v1/reconcile/fees, and the centre's);
// the release tables' fields are core.TableWithdrawn and
// core.TableTranscode.
const FieldFees = "fees"

// FeeFindingsResponse is the body of POST /v1/reconcile/fees: a page of
// the findings, from Offset, and how many there are in all.
type FeeFindingsResponse struct {
	Findings []insurance.Finding `json:"findings"`
	Offset   int                 `json:"offset"`
	Total    int                 `json:"total"`
}

// Part is one file of a multipart/form-data request.
type Part struct {
	// Field is the form field (FieldFees, core.TableWithdrawn…); File the
	// file's name.
	Field, File string
	// Body is the file's content.
	Body io.Reader
}

// FormBody returns parts, in order, as a multipart/form-data body,
// streamed as it is read, and its Content-Type. Close it once the
// request is done.
func FormBody(parts []Part) (io.ReadCloser, string) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for _, p := range parts {
			fw, err := mw.CreateFormFile(p.Field, p.File)
			if err == nil {
				_, err = io.Copy(fw, p.Body)
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(mw.Close())
	}()
	return pr, mw.FormDataContentType()
}

// ReadForm reads the files of a request to fn, in order. A
// multipart/form-data body's parts before the one whose field is last
// are read whole (the body's limit bounds them); the part last is handed
// on as it streams and must be the form's last part. Any other body is
// the file of field last, named name. A part's file name, when it has
// none, is its field. Errors of the form are *Error (400), but for a
// body over its limit (*http.MaxBytesError); fn's are returned as they
// are.
func ReadForm(r *http.Request, last, name string, fn func(Part) error) error {
	// A reader of the body that breaks off at its limit may report it in
	// its own words: the limit is what the client must be told.
	body := &limitSeen{r: r.Body}
	r.Body = body
	err := readForm(r, last, name, fn)
	if body.err != nil && err != nil {
		return body.err
	}
	return err
}

// limitSeen reads r and keeps the *http.MaxBytesError it returns.
type limitSeen struct {
	r   io.ReadCloser
	err error
}

func (l *limitSeen) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		l.err = err
	}
	return n, err
}

func (l *limitSeen) Close() error { return l.r.Close() }

func readForm(r *http.Request, last, name string, fn func(Part) error) error {
	mr, err := r.MultipartReader()
	if errors.Is(err, http.ErrNotMultipart) {
		return fn(Part{Field: last, File: name, Body: r.Body})
	}
	if err != nil {
		return badRequest("the multipart form: %v", err)
	}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return badRequest("the form has no %s part", last)
		}
		if err != nil {
			return formError(err)
		}
		part := Part{Field: p.FormName(), File: p.FileName()}
		if part.File == "" {
			part.File = part.Field
		}
		if part.Field != last {
			b, err := io.ReadAll(p)
			if err != nil {
				return formError(err)
			}
			part.Body = bytes.NewReader(b)
			if err := fn(part); err != nil {
				return err
			}
			continue
		}
		part.Body = p
		if err := fn(part); err != nil {
			return err
		}
		switch _, err := mr.NextPart(); {
		case err == nil:
			return badRequest("the %s part must be the form's last: send the other files before it", last)
		case err != io.EOF:
			return formError(err)
		}
		return nil
	}
}

// formError is the answer to a form that cannot be read.
func formError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return badRequest("the multipart form: %v", err)
}

// FeeError returns the API's answer to an error of a fee-detail
// reconciliation that the request caused (a bad file or table: 400,
// with every bad line or row when it was refused for them), or nil for
// any other error.
func FeeError(err error) *Error {
	var fees *core.BadFeesError
	var rows *nhsa.BadRowsError
	switch {
	case errors.As(err, &fees):
		e := &Error{ErrorResponse: ErrorResponse{Kind: KindBadRows, Error: err.Error()}}
		for _, l := range fees.Lines {
			e.RowErrors = append(e.RowErrors, l.Error())
		}
		return e
	case errors.As(err, &rows):
		e := &Error{ErrorResponse: ErrorResponse{Kind: KindBadRows, Error: err.Error()}}
		for i := range rows.Errors {
			e.RowErrors = append(e.RowErrors, rows.Errors[i].Error())
		}
		return e
	case errors.Is(err, insurance.ErrFormat), errors.Is(err, insurance.ErrHeader), errors.Is(err, insurance.ErrLine),
		errors.Is(err, core.ErrNoFees), errors.Is(err, core.ErrReleaseTable):
		return &Error{ErrorResponse: ErrorResponse{Kind: KindBadRequest, Error: err.Error()}}
	}
	return nil
}

// reconcileFees reconciles the fee-detail file of the request with the
// ledger's uses (core.Gateway.ReconcileFees). It changes nothing.
func (s *Server) reconcileFees(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	format, name := q.Get("format"), q.Get("name")
	if name == "" {
		name = "fees"
	}
	offset, limit, err := s.page(r)
	if err != nil {
		return err
	}
	var tables []core.ReleaseTable
	var found []insurance.Finding
	err = ReadForm(r, FieldFees, name, func(p Part) error {
		switch p.Field {
		case core.TableWithdrawn, core.TableTranscode:
			tables = append(tables, core.ReleaseTable{Kind: p.Field, Name: p.File, File: p.Body})
			return nil
		case FieldFees:
			var err error
			found, err = s.core.ReconcileFees(r.Context(), p.Body, p.File, format, core.FeeOptions{Tables: tables})
			return err
		}
		return badRequest("form field %q: want %s, %s or %s", p.Field, core.TableWithdrawn, core.TableTranscode, FieldFees)
	})
	if e := FeeError(err); e != nil {
		return e
	}
	if err != nil {
		return err
	}
	out := FeeFindingsResponse{Offset: offset, Total: len(found), Findings: []insurance.Finding{}}
	if offset < len(found) {
		out.Findings = found[offset:min(len(found), offset+limit)]
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// exportInsurance answers the 3501–3506 records of a time range, or a
// case's trace codes (core.Gateway.ExportInsurance).
func (s *Server) exportInsurance(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var opt core.InsuranceOptions
	var err error
	if opt.From, err = core.ParseTimeBound(q.Get("from"), false); err != nil {
		return badRequest("from: %v", err)
	}
	if opt.To, err = core.ParseTimeBound(q.Get("to"), true); err != nil {
		return badRequest("to: %v", err)
	}
	if !opt.To.IsZero() && !opt.To.After(opt.From) {
		return badRequest("to=%s is not after from=%s", q.Get("to"), q.Get("from"))
	}
	opt.Case = q.Get("case")
	if opt.DropGS, err = boolParam(r, "drop_gs"); err != nil {
		return err
	}
	return s.serveBuilt(w, "application/json", func(f io.Writer) (string, error) {
		n, err := s.core.ExportInsurance(r.Context(), f, opt)
		return insuranceCounts(n), err
	})
}

// insuranceCounts is ExportHeader of an insurance export.
func insuranceCounts(n core.InsuranceCounts) string {
	return fmt.Sprintf("records=%d skipped=%d problems=%d", n.Records, n.Skipped, n.Problems)
}

// ReconcileFees asks the agent to reconcile a fee-detail file with its
// ledger's uses. The file and the tables are sent whole; when the
// findings fill more than one page, they are sent again for the next
// (which needs them to be io.Seekers, as files are).
func (c *Client) ReconcileFees(ctx context.Context, fees io.Reader, name, format string, opt core.FeeOptions) ([]insurance.Finding, error) {
	parts := make([]Part, 0, len(opt.Tables)+1)
	for _, t := range opt.Tables {
		parts = append(parts, Part{Field: t.Kind, File: t.Name, Body: t.File})
	}
	parts = append(parts, Part{Field: FieldFees, File: name, Body: fees})
	var all []insurance.Finding
	for {
		v := url.Values{"offset": {strconv.Itoa(len(all))}}
		if format != "" {
			v.Set("format", format)
		}
		body, ctype := FormBody(parts)
		var page FeeFindingsResponse
		_, err := c.doType(ctx, http.MethodPost, "/v1/reconcile/fees", v, ctype, body, &page)
		body.Close()
		if err != nil {
			return nil, err
		}
		all = append(all, page.Findings...)
		if len(page.Findings) == 0 || len(all) >= page.Total {
			return all, nil
		}
		if err := rewind(parts); err != nil {
			return nil, fmt.Errorf("control socket %s: %d findings, more than one page: %w", c.socket, page.Total, err)
		}
	}
}

// rewind seeks the bodies of parts back to their start, to send them
// again.
func rewind(parts []Part) error {
	for _, p := range parts {
		s, ok := p.Body.(io.Seeker)
		if !ok {
			return fmt.Errorf("%s cannot be sent again: not a file", p.File)
		}
		if _, err := s.Seek(0, io.SeekStart); err != nil {
			return err
		}
	}
	return nil
}

// ExportInsurance copies the agent's insurance export to w and returns
// its counts.
func (c *Client) ExportInsurance(ctx context.Context, w io.Writer, opt core.InsuranceOptions) (core.InsuranceCounts, error) {
	v := url.Values{}
	if !opt.From.IsZero() {
		v.Set("from", opt.From.Format(time.RFC3339Nano))
	}
	if !opt.To.IsZero() {
		v.Set("to", opt.To.Format(time.RFC3339Nano))
	}
	if opt.Case != "" {
		v.Set("case", opt.Case)
	}
	if opt.DropGS {
		v.Set("drop_gs", "true")
	}
	var n core.InsuranceCounts
	resp, err := c.do(ctx, http.MethodGet, "/v1/export/insurance", v, nil, nil)
	if err != nil {
		return n, err
	}
	defer resp.Body.Close()
	if _, err := fmt.Sscanf(resp.Header.Get(ExportHeader), "records=%d skipped=%d problems=%d", &n.Records, &n.Skipped, &n.Problems); err != nil {
		return n, fmt.Errorf("control socket %s: export: no counts in the answer", c.socket)
	}
	_, err = io.Copy(w, resp.Body)
	return n, err
}
