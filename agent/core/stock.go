package core

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/agent/stock"
)

// ErrStockQuery is wrapped by the error for a stock query that cannot be
// answered as asked (a negative window, offset or limit, a product that
// is no product code, a location the gateway does not serve).
var ErrStockQuery = errors.New("bad stock query")

// MaxStockLimit bounds the lines one stock answer holds; DefaultStockLimit
// is the limit of a query that asks for none.
const (
	MaxStockLimit     = MaxTraceLimit
	DefaultStockLimit = MaxStockLimit
)

// StockQuery asks for the stock on hand (see stock.Query): every line, or
// those of one location, one product, or expiring within some days.
type StockQuery struct {
	// Location and Product, when set, select the lines of that location,
	// of that product (a product key, or a package's DI). A location the
	// gateway does not serve (no station or cabinet zone of it there,
	// nothing in stock there) is refused, naming those it serves.
	Location string
	Product  string
	// ExpiringDays, when above 0, selects the lines expiring at most that
	// many days from today (the gateway's clock), those expired
	// included.
	ExpiringDays int
	// Offset and Limit select a page of the lines (Limit DefaultStockLimit
	// when 0, at most MaxStockLimit).
	Offset, Limit int
}

// StockReport is a page of the stock on hand, with the totals of every
// line the query selects.
type StockReport struct {
	// AsOf is the sequence number of the last movement the stock holds.
	AsOf uint64 `json:"as_of_seq"`
	// Day is today's date on the gateway's clock, from which the lines'
	// days left are counted.
	Day    string       `json:"day"`
	Lines  []stock.Line `json:"lines"`
	Offset int          `json:"offset"`
	// Total is how many lines the query selects, on every page.
	Total int `json:"total"`
	// Locations totals the selected lines per location, in order.
	Locations []StockTotal `json:"locations"`
	// Pars are the par levels of the selected locations and products,
	// with what is on hand and asked for; Requests the replenishment
	// requests open there (stock.Need raised them, a delivery clears
	// them). Neither is paged.
	Pars     []ParStatus     `json:"pars"`
	Requests []stock.Request `json:"requests"`
}

// ParStatus is a par level with the stock it is compared with.
type ParStatus struct {
	Location     string `json:"location"`
	Product      string `json:"product"`
	Name         string `json:"name,omitempty"`
	OnHand       int    `json:"on_hand"`
	ReorderPoint int    `json:"reorder_point"`
	Max          int    `json:"max"`
	// Computed says the reorder point (and a max above the par's) is the
	// forecast's: the par level gave no min.
	Computed bool `json:"computed,omitempty"`
	// Below says on hand is below the reorder point; Requested is what
	// the open request still awaits (0 when none is open).
	Below     bool `json:"below,omitempty"`
	Requested int  `json:"requested,omitempty"`
}

// HorizonUnits counts the units on hand expiring within an expiry
// horizon (SupplyConfig.ExpiryHorizons), those expired included.
type HorizonUnits struct {
	Days  int `json:"days"`
	Units int `json:"units"`
}

// StockTotal is the total of a location's selected lines.
type StockTotal struct {
	Location    string `json:"location"`
	Lines       int    `json:"lines"`
	Units       int    `json:"units"`
	Quarantined int    `json:"quarantined,omitempty"`
	// Expired counts the units on hand whose expiry is past; Expiring
	// those within each expiry horizon, largest first.
	Expired  int            `json:"expired,omitempty"`
	Expiring []HorizonUnits `json:"expiring,omitempty"`
}

// Stock returns the stock on hand q selects, from the stock the gateway
// keeps (rebuilt from the ledger when the core opens, then kept as each
// movement is written); the first question of a core over a stopped
// agent's file waits for the rebuild.
func (g *Gateway) Stock(ctx context.Context, q StockQuery) (StockReport, error) {
	switch {
	case q.ExpiringDays < 0:
		return StockReport{}, fmt.Errorf("%w: expiring within %d days", ErrStockQuery, q.ExpiringDays)
	case q.Offset < 0 || q.Limit < 0:
		return StockReport{}, fmt.Errorf("%w: offset %d, limit %d", ErrStockQuery, q.Offset, q.Limit)
	}
	limit := q.Limit
	if limit == 0 {
		limit = DefaultStockLimit
	}
	limit = min(limit, MaxStockLimit)
	asked, err := ParseProduct(q.Product)
	if err != nil {
		return StockReport{}, err
	}
	st, err := g.stock.Stock(ctx)
	if err != nil {
		return StockReport{}, err
	}
	if q.Location != "" {
		if err := g.unknownLocation(st, q.Location); err != nil {
			return StockReport{}, fmt.Errorf("%w: %w", ErrStockQuery, err)
		}
	}
	now := g.cfg.Now()
	asOf := st.Last()
	d := g.master.Load()
	ls := st.Lines(stock.Query{Location: q.Location, Product: asked, ExpiringDays: q.ExpiringDays, Now: now}, d)
	r := StockReport{AsOf: asOf, Day: now.Format("2006-01-02"), Offset: q.Offset, Total: len(ls), Lines: []stock.Line{}, Locations: []StockTotal{}}
	hs := g.horizons()
	for _, l := range ls {
		if n := len(r.Locations); n == 0 || r.Locations[n-1].Location != l.Location {
			r.Locations = append(r.Locations, StockTotal{Location: l.Location})
		}
		t := &r.Locations[len(r.Locations)-1]
		t.Lines++
		t.Units += l.Units
		t.Quarantined += l.Quarantined
		if l.Expired && l.Units > 0 {
			t.Expired += l.Units
		}
		if l.DaysLeft != nil && l.Units > 0 {
			for i, h := range hs {
				if *l.DaysLeft <= h {
					if t.Expiring == nil {
						t.Expiring = make([]HorizonUnits, len(hs))
						for j, x := range hs {
							t.Expiring[j].Days = x
						}
					}
					t.Expiring[i].Units += l.Units
				}
			}
		}
	}
	product := resolveProduct(d, asked)
	r.Requests = slices.DeleteFunc(st.Requests(q.Location), func(x stock.Request) bool { return product != "" && x.Product != product })
	r.Pars = []ParStatus{}
	serves := g.serving(st)
	for _, p := range g.parLevels(d) {
		if q.Location != "" && p.Location != q.Location || product != "" && p.Product() != product || !serves(p.Location) {
			continue
		}
		par := g.par(st, d, p.Location, p.Product())
		ps := ParStatus{Location: p.Location, Product: p.Product(), OnHand: st.Units(p.Location, p.Product(), d), ReorderPoint: par.ReorderPoint, Max: par.Max,
			Computed: p.Min == 0}
		if e, ok := d.Lookup(ps.Product); ok {
			ps.Name = e.Name
		}
		ps.Below = ps.OnHand < ps.ReorderPoint
		if o, ok := st.Open(p.Location, ps.Product); ok {
			ps.Requested = o.Quantity - o.Arrived
		}
		r.Pars = append(r.Pars, ps)
	}
	slices.SortFunc(r.Pars, func(a, b ParStatus) int {
		return cmp.Or(cmp.Compare(a.Location, b.Location), cmp.Compare(a.Product, b.Product))
	})
	if q.Offset < len(ls) {
		r.Lines = ls[q.Offset:min(len(ls), q.Offset+limit)]
	}
	return r, nil
}

// servedLocations returns the locations the gateway's stations and
// cabinet zones are at: those whose movements it records.
func (g *Gateway) servedLocations() map[string]bool {
	served := map[string]bool{}
	for _, st := range g.cfg.Stations {
		served[st.Location] = true
	}
	if g.cfg.Cabinet != nil {
		for _, z := range g.cfg.Cabinet.Zones {
			served[z.Location] = true
		}
	}
	return served
}

// serving returns the one rule of the locations the gateway serves: a
// station or cabinet zone of it is there, or its stock (st) holds
// something there. It asks for replenishment (stock.Need), shows par
// levels and answers questions only there: the centre publishes the par
// levels of the whole site to every gateway, and a location of another
// gateway's, whose stock this one never sees, is none of these.
func (g *Gateway) serving(st *stock.Stock) func(location string) bool {
	served := g.servedLocations()
	return func(location string) bool {
		return location != "" && (served[location] || st.Holds(location))
	}
}

// unknownLocation returns an error naming location and the locations the
// gateway serves (serving) when it serves not location: a mistyped name,
// or another gateway's location.
func (g *Gateway) unknownLocation(st *stock.Stock, location string) error {
	if g.serving(st)(location) {
		return nil
	}
	known := g.servedLocations()
	for _, l := range st.Locations() {
		known[l] = true
	}
	delete(known, "")
	return fmt.Errorf("location %q is not known here: no station or cabinet zone of this gateway is at it and nothing is in stock there (known: %s)",
		location, strings.Join(slices.Sorted(maps.Keys(known)), ", "))
}

// ParseProduct reads the product a stock or forecast question names, as
// a trace reads a code: a GTIN of 8, 12, 13 or 14 digits, a Digital
// Link, an HIBC product, an MA DI, or a whole item code (its product).
// It returns the product key the stock groups lines by ("" for "" : every
// product), or an error wrapping ErrStockQuery that says why the text
// names no product.
func ParseProduct(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	lks, err := codeLookups(s)
	if err != nil {
		return "", fmt.Errorf("%w: product %q: %w", ErrStockQuery, s, err)
	}
	return lifecycle.KeyProduct(lks[0].Key), nil
}

// resolveProduct returns the product a package's DI packs (through every
// level), else product itself.
func resolveProduct(d *master.Data, product string) string {
	if product != "" {
		if e, _, ok := d.Resolve(product); ok {
			return e.Product()
		}
	}
	return product
}

// stockStore is the gateway's ledger as the core writes to it: every
// movement written, by the stations, the cabinets or the core itself
// (a justification), is folded into the stock kept before its outcome is
// told.
type stockStore struct {
	Store
	stock *stock.Keeper
	after func(agent.Movement) // told each movement once folded; must not block
}

// Submit submits m to the ledger; once written, it is folded into the
// stock, then done is told.
func (s stockStore) Submit(m agent.Movement, done func(agent.Movement, error)) {
	s.Store.Submit(m, func(got agent.Movement, err error) {
		if err == nil {
			s.stock.Written(got)
			if s.after != nil {
				s.after(got)
			}
		}
		if done != nil {
			done(got, err)
		}
	})
}

// Append records m through Submit (so that it is folded too) and waits
// until it is durable or ctx ends, as agent/bolt's Ledger.Append does.
func (s stockStore) Append(ctx context.Context, m agent.Movement) (agent.Movement, error) {
	type result struct {
		m   agent.Movement
		err error
	}
	ch := make(chan result, 1)
	s.Submit(m, func(m agent.Movement, err error) { ch <- result{m, err} })
	select {
	case r := <-ch:
		return r.m, r.err
	case <-ctx.Done():
		return agent.Movement{}, ctx.Err()
	}
}
