package stock

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
	"github.com/udi-edge/udi-edge/agent/master"
)

// Par is the par level of a product at a location: the reorder point
// on-hand must not fall below, and the level a replenishment fills up
// to. A Par with Max 0 is none.
type Par struct {
	ReorderPoint int `json:"reorder_point"`
	Max          int `json:"max"`
}

// Request is a replenishment request the ledger holds and the stock has
// not seen met: the request movement (agent.ReadRequest) and how much of
// the product has arrived at its location since.
type Request struct {
	Location string `json:"location"`
	// Product is the product key asked for (a package's units count as
	// the product they pack when they arrive).
	Product string `json:"product"`
	// Supplier is the supplier the request goes to when the product is
	// consigned (agent.Consignor of the request); "" otherwise.
	Supplier string    `json:"supplier,omitempty"`
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	agent.Request
	// Arrived counts the units of the product that arrived at the
	// location since the request (received, stocked or transferred
	// there); the request is met, and leaves the stock, once they reach
	// its Quantity.
	Arrived int `json:"arrived"`
}

// reqKey names the one open request of a product at a location.
type reqKey struct {
	loc     uint32
	product string
}

// arrives reports whether a movement of kind k brings units to its
// location as a delivery does: a receipt, a put-away, a transfer. A
// return is no delivery: what comes back was never asked for.
func arrives(k agent.Kind) bool {
	return k == agent.KindReceive || k == agent.KindStock || k == agent.KindTransfer
}

// SetCatalogue gives the stock the catalogue held (called for each
// arrival folded) that resolves a package arriving to the units of the
// product a request asked for. Without one, only the product's own DI
// counts. The counts of the lines need none: they are resolved when
// asked.
func (s *Stock) SetCatalogue(fn func() *master.Data) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.catalogue = fn
}

// request folds a replenishment request movement: it is the open
// request of its product at its location from now on.
func (s *Stock) request(m agent.Movement, r agent.Request) {
	if m.Item == "" || m.Location == "" {
		return
	}
	supplier, _ := agent.Consignor(m)
	key := reqKey{s.names.id(m.Location), s.names.intern(m.Item)}
	delete(s.refills, key)
	s.requests[key] = &Request{Location: s.names.name(key.loc), Product: key.product, Supplier: strings.Clone(supplier),
		Seq: m.Seq, Time: m.Time, Request: r}
}

// productOf returns the product a DI stands for and how many of its
// units the DI holds, in the catalogue the stock was given (none: the
// DI itself, 1).
func (s *Stock) productOf(di string) (string, int) {
	if s.catalogue != nil {
		if d := s.catalogue(); d != nil {
			r := s.resolved.resolve(d, di)
			return r.product, r.quantity
		}
	}
	return di, 1
}

// used counts n uses (n < 0: cancelled) of m's product drawn from the
// stock at loc: the demand the forecasts read, and for a consigned unit
// (the use names its supplier; a cancellation, the unit's owner)
// the refill its supplier owes (Need), until a request of the product
// at the location follows.
func (s *Stock) used(m agent.Movement, loc uint32, n int, consigned bool) {
	p, q := s.productOf(lifecycle.Product(m))
	s.demanded(loc, p, m.Time, n*q)
	if consigned {
		key := reqKey{loc, s.names.intern(p)}
		if s.refills[key] += n * q; s.refills[key] <= 0 {
			delete(s.refills, key)
		}
	}
}

// Refills returns the locations and products with consigned units used
// since their last request, location then product: each needs one
// (Need), even across a restart between the use and its request.
func (s *Stock) Refills() [][2]string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([][2]string, 0, len(s.refills))
	for k := range s.refills {
		out = append(out, [2]string{s.names.name(k.loc), k.product})
	}
	sortPairs(out)
	return out
}

// sortPairs orders location and product pairs.
func sortPairs(out [][2]string) {
	slices.SortFunc(out, func(a, b [2]string) int {
		return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1]))
	})
}

// arrived credits n units of the DI di arriving at loc to the open
// request of the product di stands for there, which leaves once met.
func (s *Stock) arrived(loc uint32, di string, n int) {
	if len(s.requests) == 0 {
		return
	}
	product, q := s.productOf(di)
	key := reqKey{loc, product}
	r := s.requests[key]
	if r == nil {
		return
	}
	r.Arrived += n * q
	if r.Arrived >= r.Quantity {
		delete(s.requests, key)
		if r.Seq != 0 {
			s.met[r.Seq] = r
		}
	}
}

// closed folds m, a movement closing request seq (agent.ReadMet): met,
// it is no longer awaiting its movement; withdrawn while open
// (agent.ReadWithdrawn), it leaves the open requests. A request is open
// until such a movement, on the gateway as on the centre, which folds
// the same movements.
func (s *Stock) closed(m agent.Movement, seq uint64) {
	delete(s.met, seq)
	loc, ok := s.names.ids[m.Location]
	if !ok || m.Location == "" {
		return
	}
	key := reqKey{loc, m.Item}
	if r := s.requests[key]; r != nil && r.Seq == seq {
		delete(s.requests, key)
	}
}

// Withdraw is the rule of withdrawal, Need's counterpart: whether the
// open request r is no longer called for by the par level that raised
// it, par being the par level in force now at r's location for r's
// product (Max 0: none is left), and why, in words. A refill is owed
// for the consigned units used, whatever the par level: it is never
// withdrawn. A request a par level raised (routine, urgent) is withdrawn
// when no par level of its product is left at its location, or when the
// par level is no longer the one it was raised under (another reorder
// point or max: corrected, or a computed reorder point moved) and on
// hand, less what arrived for the request, is not below its reorder
// point. One still calling for it, or unchanged, keeps it open: only a
// delivery meets it.
func (s *Stock) Withdraw(r Request, par Par, d *master.Data) (why string, ok bool) {
	if r.Urgency == agent.UrgencyRefill {
		return "", false
	}
	if par.Max <= 0 {
		return "the par level that raised it was removed", true
	}
	if par.ReorderPoint == r.ReorderPoint && par.Max == r.Max {
		return "", false
	}
	on := s.Units(r.Location, r.Product, d) - r.Arrived
	if on < par.ReorderPoint {
		return "", false
	}
	return fmt.Sprintf("the par level that raised it was changed to reorder point %d, max %d: on hand %d (less what arrived for it) is not below it",
		par.ReorderPoint, par.Max, on), true
}

// Met returns the requests met whose meeting the ledger does not record
// yet (agent.FlagMet), oldest first: the gateway records each, so that
// the centre and the suppliers read when a request was met, from the
// gateway's own rule. A restarted gateway's stock finds those a crash
// left unrecorded.
func (s *Stock) Met() []Request {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Request, 0, len(s.met))
	for _, r := range s.met {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b Request) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}

// Requests returns the open replenishment requests at location (every
// location: ""), ordered by location then product.
func (s *Stock) Requests(location string) []Request {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []Request{}
	for _, r := range s.requests {
		if location == "" || r.Location == location {
			out = append(out, *r)
		}
	}
	slices.SortFunc(out, func(a, b Request) int {
		return cmp.Or(strings.Compare(a.Location, b.Location), strings.Compare(a.Product, b.Product))
	})
	return out
}

// Open returns the open request of product at location, if any.
func (s *Stock) Open(location, product string) (Request, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	loc, ok := s.names.ids[location]
	if !ok {
		return Request{}, false
	}
	r := s.requests[reqKey{loc, product}]
	if r == nil {
		return Request{}, false
	}
	return *r, true
}

// usedSince returns how many consigned units of product were drawn
// from location since its last request.
func (s *Stock) usedSince(location, product string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	loc, ok := s.names.ids[location]
	if !ok {
		return 0
	}
	return s.refills[reqKey{loc, product}]
}

// Units returns how many units of product are on hand at location, a
// package's DI counted by the units it packs (d resolves them; nil: no
// package is known). Its work is proportional to the lines at the
// location.
func (s *Stock) Units(location, product string, d *master.Data) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	loc, ok := s.names.ids[location]
	if !ok {
		return 0
	}
	p := s.byLoc[loc]
	if p == nil {
		return 0
	}
	n, packages := 0, d.Counts().Catalogue > 0
	for id, t := range p.lines {
		if id.product == product {
			n += t.units
		} else if packages {
			if r := s.resolved.resolve(d, id.product); r.product == product {
				n += t.units * r.quantity
			}
		}
	}
	return n
}

// Need is the one rule of replenishment: whether product at location
// needs a request now, and which. It needs one when no request of it is
// open there and either on-hand has fallen below the par's reorder point
// (urgent when none is left, routine otherwise) or consigned units of it
// were used there since its last request (the supplier refills what was
// used: up to the par's Max, or as many units as were used with no
// par). The quantity is what brings on-hand to Max (at least 1).
func (s *Stock) Need(location, product string, par Par, d *master.Data) (agent.Request, bool) {
	if _, open := s.Open(location, product); open {
		return agent.Request{}, false
	}
	used := s.usedSince(location, product)
	refill := used > 0
	on := s.Units(location, product, d)
	r := agent.Request{OnHand: on, ReorderPoint: par.ReorderPoint, Max: par.Max}
	switch {
	case par.Max > 0 && on < par.ReorderPoint:
		r.Urgency = agent.UrgencyRoutine
		if on <= 0 {
			r.Urgency = agent.UrgencyUrgent
		}
		r.Quantity = max(par.Max-on, 1)
	case refill && par.Max > 0:
		if on >= par.Max {
			return agent.Request{}, false
		}
		r.Urgency, r.Quantity = agent.UrgencyRefill, par.Max-on
	case refill:
		r.Urgency, r.Quantity = agent.UrgencyRefill, used
	default:
		return agent.Request{}, false
	}
	return r, true
}

// EarlierOnShelf returns the first unit of product on hand at location
// that expires before expiry and not before after (an ISO date: units
// already expired are no better choice), with its lot: what first
// expired, first out would have taken. ok is false when none does.
func (s *Stock) EarlierOnShelf(location, product, expiry, after string, d *master.Data) (lot, earlier string, ok bool) {
	if expiry == "" {
		return "", "", false
	}
	for _, l := range s.OnHand(location, product, d) {
		if l.Expiry == "" || l.Expiry >= expiry {
			break // in order: the first to expire first, none last
		}
		if l.Expiry >= after {
			return l.Lot, l.Expiry, true
		}
	}
	return "", "", false
}
