package stock

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/udi-edge/udi-edge/agent/lifecycle"
	"github.com/udi-edge/udi-edge/agent/master"
)

// Query selects lines of stock. Its zero value selects every line.
type Query struct {
	// Location, if set, selects the lines at that location.
	Location string
	// Product, if set, selects the lines of that product: a product key
	// as Line.Product prints it, or the DI of a package of it.
	Product string
	// ExpiringDays, if above 0, selects the lines whose expiry is at
	// most that many days after the day of Now (lifecycle.DaysLeft),
	// those already expired included; a line with no expiry is left out.
	ExpiringDays int
	// Now is the instant the lines' days left are counted from (its zone
	// gives the day); the zero time leaves them out (and ExpiringDays
	// then selects only what is expired by the zero time: nothing).
	Now time.Time
}

// Line is the stock of one product, lot and expiry at one location.
type Line struct {
	Location string `json:"location"`
	// Product is the product key (a GTIN, an HIBC product key, an MA DI):
	// a package's DI counts as the product it packs.
	Product string `json:"product"`
	// Name is the catalogue's name of the product, "" when unknown.
	Name   string `json:"name,omitempty"`
	Lot    string `json:"lot,omitempty"`
	Expiry string `json:"expiry,omitempty"`
	// Owner is the supplier who owns the units on consignment (as their
	// receipt said); "" when the hospital owns them.
	Owner string `json:"owner,omitempty"`
	// DaysLeft is lifecycle.DaysLeft's count of days from the query's
	// Now to the expiry (negative once past); nil when the expiry is no
	// date or the query gave no Now. Expired says the expiry is past.
	DaysLeft *int `json:"days_left,omitempty"`
	Expired  bool `json:"expired,omitempty"`
	// Units is how many units are on hand (a package's DI counted by the
	// units it packs); below zero when more units of a lot were removed
	// than were ever counted (see Stock.Apply). Quarantined is how many
	// are held apart, not to be used.
	Units       int `json:"units"`
	Quarantined int `json:"quarantined,omitempty"`
}

// resolved is what a DI stands for: the product it is (or packs), its
// name, and how many of the product's units it holds.
type resolved struct {
	product, name string
	quantity      int
}

func resolve(d *master.Data, di string) resolved {
	e, q, ok := d.Resolve(di)
	if !ok {
		return resolved{product: di, quantity: 1}
	}
	p := e.GTIN
	if p == "" {
		p = e.HIBC
	}
	return resolved{product: p, name: e.Name, quantity: q}
}

// resolver caches what the DIs in stock stand for in one catalogue
// (master data is replaced whole, never changed in place).
type resolver struct {
	mu   sync.Mutex
	data *master.Data
	dis  map[string]resolved
}

func (r *resolver) resolve(d *master.Data, di string) resolved {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dis == nil || r.data != d {
		r.data, r.dis = d, map[string]resolved{}
	}
	x, ok := r.dis[di]
	if !ok {
		x = resolve(d, di)
		r.dis[di] = x
	}
	return x
}

// expiry is what lifecycle.DaysLeft says of an expiry.
type expiry struct {
	days        int
	expired, ok bool
}

// Lines returns the lines q selects, with the catalogue d (nil: none)
// resolving packages to the units they pack: ordered by location,
// product, then expiry, the first to expire first and lines with no
// expiry last (first expired, first out), then lot. The work is
// proportional to the lines looked at (a location's, a product's or
// all), never to the movements folded.
func (s *Stock) Lines(q Query, d *master.Data) []Line {
	s.mu.RLock()
	defer s.mu.RUnlock()
	want := ""
	if q.Product != "" {
		want = resolve(d, q.Product).product // not cached: any text may be asked
	}
	expiries := map[string]expiry{}
	expiryOf := func(x string) expiry {
		e, ok := expiries[x]
		if !ok {
			e.days, e.expired, e.ok = lifecycle.DaysLeft(x, q.Now)
			expiries[x] = e
		}
		return e
	}
	// A location's lines come in order (see place); lines of several
	// locations, of a product, or of a package DI, which counts as the
	// product it packs, are sorted when they do not.
	var out []Line
	inOrder := true
	emit := func(loc string, id *ident, t *tally) {
		r := s.resolved.resolve(d, id.product)
		if want != "" && r.product != want {
			return
		}
		if q.ExpiringDays > 0 {
			if e := expiryOf(id.expiry); !e.ok || e.days > q.ExpiringDays {
				return
			}
		}
		l := Line{Location: loc, Product: r.product, Name: r.name, Lot: id.lot, Expiry: id.expiry, Owner: id.owner,
			Units: t.units * r.quantity, Quarantined: t.held * r.quantity}
		if n := len(out); n > 0 && inOrder && compareLines(out[n-1], l) > 0 {
			inOrder = false
		}
		out = append(out, l)
	}
	switch {
	case q.Location != "":
		loc, ok := s.names.ids[q.Location]
		if !ok || s.byLoc[loc] == nil {
			return nil
		}
		p := s.byLoc[loc]
		out = make([]Line, 0, len(p.order))
		p.each(func(r lineRef) { emit(q.Location, r.id, r.t) })
	case q.Product != "":
		for di, lines := range s.byProduct {
			if di != want && s.resolved.resolve(d, di).product != want {
				continue
			}
			for k, t := range lines {
				emit(s.names.name(k.loc), k.id, t)
			}
		}
	default:
		locs := make([]uint32, 0, len(s.byLoc))
		for loc := range s.byLoc {
			locs = append(locs, loc)
		}
		slices.SortFunc(locs, func(a, b uint32) int { return strings.Compare(s.names.name(a), s.names.name(b)) })
		for _, loc := range locs {
			name := s.names.name(loc)
			s.byLoc[loc].each(func(r lineRef) { emit(name, r.id, r.t) })
		}
	}
	if !inOrder {
		slices.SortFunc(out, compareLines)
	}
	// One line for the lines of one product, lot and expiry that came
	// from several DIs (a package and its unit); none for those that came
	// to nothing (a lot's count below zero met by another's above).
	merged := out[:0]
	for _, l := range out {
		if n := len(merged); n > 0 {
			if m := &merged[n-1]; m.Location == l.Location && m.Product == l.Product && m.Lot == l.Lot && m.Expiry == l.Expiry && m.Owner == l.Owner {
				m.Units += l.Units
				m.Quarantined += l.Quarantined
				continue
			}
		}
		merged = append(merged, l)
	}
	out = merged
	out = slices.DeleteFunc(out, func(l Line) bool { return l.Units == 0 && l.Quarantined == 0 })
	if !q.Now.IsZero() {
		days := make([]int, len(out))
		for i := range out {
			if e := expiryOf(out[i].Expiry); e.ok {
				days[i] = e.days
				out[i].DaysLeft, out[i].Expired = &days[i], e.expired
			}
		}
	}
	return out
}

// OnHand returns the lines of product at location that have units on
// hand, the first to expire first (first expired, first out), with d
// resolving packages as for Lines.
func (s *Stock) OnHand(location, product string, d *master.Data) []Line {
	ls := s.Lines(Query{Location: location, Product: product}, d)
	return slices.DeleteFunc(ls, func(l Line) bool { return l.Units <= 0 })
}

// compareLines orders lines by location, product, expiry (none last) and
// lot.
func compareLines(a, b Line) int {
	if c := strings.Compare(a.Location, b.Location); c != 0 {
		return c
	}
	if c := strings.Compare(a.Product, b.Product); c != 0 {
		return c
	}
	if c := compareExpiry(a.Expiry, b.Expiry); c != 0 {
		return c
	}
	if c := strings.Compare(a.Lot, b.Lot); c != 0 {
		return c
	}
	return strings.Compare(a.Owner, b.Owner)
}

// compareExpiry orders ISO expiry dates, the earliest first, and "" last.
func compareExpiry(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return 1
	case b == "":
		return -1
	}
	return strings.Compare(a, b)
}
