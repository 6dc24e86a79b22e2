package central

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// DayLayout is the form of a day in supply queries: 2026-05-01.
const DayLayout = "2006-01-02"

// DefaultSupplyDays is the window of a supply query that names no first
// day: this many days up to its last.
const DefaultSupplyDays = 31

// SupplyWindow returns the window [since, until) of the days since and
// until, both included, read in loc: "" for until is today (now's day),
// "" for since DefaultSupplyDays up to until. A day that does not read
// as YYYY-MM-DD, or a since after until, is an error wrapping ErrInvalid
// that names the parameter ("since", "until").
func SupplyWindow(since, until string, loc *time.Location, now time.Time) (time.Time, time.Time, error) {
	day := func(name, v string) (time.Time, error) {
		d, err := time.ParseInLocation(DayLayout, v, loc)
		if err != nil {
			return time.Time{}, fmt.Errorf("%w: %s %q is not a day YYYY-MM-DD", ErrInvalid, name, v)
		}
		return d, nil
	}
	n := now.In(loc)
	last := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, loc)
	if until != "" {
		d, err := day("until", until)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		last = d
	}
	first := last.AddDate(0, 0, 1-DefaultSupplyDays)
	if since != "" {
		d, err := day("since", since)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		first = d
	}
	if first.After(last) {
		return time.Time{}, time.Time{}, fmt.Errorf("%w: since %s is after until %s", ErrInvalid, first.Format(DayLayout), last.Format(DayLayout))
	}
	return first, last.AddDate(0, 0, 1), nil
}

// SupplyPage is the body of GET /v1/supply/consumption and GET
// /v1/supply/requests: one page of records in order of time.
type SupplyPage[R any] struct {
	// Supplier is the supplier asked for ("" every one).
	Supplier string `json:"supplier,omitempty"`
	// Since and Until are the window's first and last days.
	Since string `json:"since"`
	Until string `json:"until"`
	// Offset is the page's first record's place in the window's.
	Offset  int `json:"offset"`
	Records []R `json:"records"`
	// More says that records follow; NextOffset is the next page's
	// offset.
	More       bool `json:"more"`
	NextOffset int  `json:"next_offset,omitempty"`
}

// ConsumptionPage and RequestPage are the two pages of the supply API.
type (
	ConsumptionPage = SupplyPage[ConsumptionRecord]
	RequestPage     = SupplyPage[RequestRecord]
)

// SupplyParams returns the query string of a page of supply records.
func SupplyParams(supplier, since, until string, offset, limit int) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"supplier": supplier, "since": since, "until": until} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if offset > 0 {
		q.Set("offset", strconv.Itoa(offset))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return q
}

// supplyQuery reads the parameters of a supply request: supplier, since,
// until (days, in the service's local time), offset, limit.
func (s *Service) supplyQuery(r *http.Request) (SupplyQuery, error) {
	v := r.URL.Query()
	since, until, err := SupplyWindow(v.Get("since"), v.Get("until"), time.Local, s.now())
	if err != nil {
		return SupplyQuery{}, err
	}
	q := SupplyQuery{Supplier: v.Get("supplier"), Since: since, Until: until}
	for name, p := range map[string]*int{"offset": &q.Offset, "limit": &q.Limit} {
		if x := v.Get(name); x != "" {
			if *p, err = strconv.Atoi(x); err != nil {
				return SupplyQuery{}, fmt.Errorf("%w: parameter %s: %q is not a number", ErrInvalid, name, x)
			}
		}
	}
	return q.check()
}

func page[R any](q SupplyQuery, rs []R, more bool) SupplyPage[R] {
	p := SupplyPage[R]{Supplier: q.Supplier, Since: q.Since.Format(DayLayout), Until: q.Until.AddDate(0, 0, -1).Format(DayLayout),
		Offset: q.Offset, Records: rs, More: more}
	if more {
		p.NextOffset = q.Offset + len(rs)
	}
	return p
}

func (s *Service) serveConsumption(w http.ResponseWriter, r *http.Request) {
	q, err := s.supplyQuery(r)
	if s.writeFailure(w, "supply query", "", err) {
		return
	}
	rs, more, err := Consumption(r.Context(), s.store, s.cfg.Catalogue, q)
	if !s.writeFailure(w, "read of the consumption records", "", err) {
		writeJSON(w, http.StatusOK, page(q, rs, more))
	}
}

func (s *Service) serveRequests(w http.ResponseWriter, r *http.Request) {
	q, err := s.supplyQuery(r)
	if s.writeFailure(w, "supply query", "", err) {
		return
	}
	rs, more, err := Requests(r.Context(), s.store, s.cfg.Catalogue, q)
	if !s.writeFailure(w, "read of the replenishment requests", "", err) {
		writeJSON(w, http.StatusOK, page(q, rs, more))
	}
}
