package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/udi-edge/udi-edge/agent/core"
)

// stock answers GET /v1/stock?location=&product=&expiring_days=&offset=&limit=:
// a page of the stock on hand (core.StockReport).
func (s *Server) stock(w http.ResponseWriter, r *http.Request) error {
	q := core.StockQuery{Location: r.URL.Query().Get("location"), Product: r.URL.Query().Get("product")}
	days, err := intParam(r, "expiring_days", 0)
	if err != nil {
		return err
	}
	if v := r.URL.Query().Get("expiring_days"); v != "" && days < 1 {
		return badRequest("expiring_days=%q: want a whole number of days, 1 or more", v)
	}
	q.ExpiringDays = days
	if q.Offset, q.Limit, err = s.page(r); err != nil {
		return err
	}
	rep, err := s.core.Stock(r.Context(), q)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// stockRetries bounds how often Stock starts over when the stock changes
// between the pages it reads.
const stockRetries = 3

// Stock returns the agent's stock on hand that q selects: the page q
// asks for when q.Limit is set, else every line, read page by page from
// one state of the stock (it starts over when a movement is written
// between two pages, and gives up after a few tries).
func (c *Client) Stock(ctx context.Context, q core.StockQuery) (core.StockReport, error) {
	v := url.Values{}
	for k, x := range map[string]string{"location": q.Location, "product": q.Product} {
		if x != "" {
			v.Set(k, x)
		}
	}
	if q.ExpiringDays != 0 {
		v.Set("expiring_days", strconv.Itoa(q.ExpiringDays))
	}
	page := func(offset, limit int) (core.StockReport, error) {
		v.Set("offset", strconv.Itoa(offset))
		if limit > 0 {
			v.Set("limit", strconv.Itoa(limit))
		}
		var rep core.StockReport
		_, err := c.do(ctx, http.MethodGet, "/v1/stock", v, nil, &rep)
		return rep, err
	}
	if q.Limit > 0 {
		return page(q.Offset, q.Limit)
	}
	for range stockRetries {
		all, err := page(0, 0)
		if err != nil {
			return core.StockReport{}, err
		}
		for len(all.Lines) < all.Total {
			next, err := page(len(all.Lines), 0)
			if err != nil {
				return core.StockReport{}, err
			}
			if next.AsOf != all.AsOf || len(next.Lines) == 0 {
				break
			}
			all.Lines = append(all.Lines, next.Lines...)
		}
		if len(all.Lines) >= all.Total {
			return all, nil
		}
	}
	return core.StockReport{}, fmt.Errorf("control socket %s: stock: movements kept being written while its %d pages were read; ask again", c.socket, stockRetries)
}

// ForecastResponse is the answer to GET /v1/forecast?location=&product=.
type ForecastResponse struct {
	Lines []core.ForecastLine `json:"lines"`
}

// forecast answers GET /v1/forecast?location=&product=: the demand
// forecasts and reorder points (core.Gateway.Forecast).
func (s *Server) forecast(w http.ResponseWriter, r *http.Request) error {
	ls, err := s.core.Forecast(r.Context(), core.ForecastQuery{Location: r.URL.Query().Get("location"), Product: r.URL.Query().Get("product")})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ForecastResponse{Lines: ls})
	return nil
}

// Forecast returns the agent's demand forecasts q selects.
func (c *Client) Forecast(ctx context.Context, q core.ForecastQuery) ([]core.ForecastLine, error) {
	v := url.Values{}
	for k, x := range map[string]string{"location": q.Location, "product": q.Product} {
		if x != "" {
			v.Set(k, x)
		}
	}
	var out ForecastResponse
	_, err := c.do(ctx, http.MethodGet, "/v1/forecast", v, nil, &out)
	return out.Lines, err
}
