package stock

import (
	"slices"
	"strings"

	"github.com/udi-edge/udi-edge/agent/lifecycle"
)

// UnitAt is one item named by its serial that is at a location: on hand
// there, or held there (quarantined).
type UnitAt struct {
	// Key is the item key (a tag commissioned to an item counts as the
	// item: its key is the item's).
	Key string
	// Product, Lot and Expiry are what the item is, as Line has them (a
	// package's DI as scanned: not resolved).
	Product, Lot, Expiry string
	// Status is the item's lifecycle status: received, commissioned,
	// stocked, returned or quarantined.
	Status lifecycle.Status
	// LastSeq is the sequence number of the item's last movement.
	LastSeq uint64
}

// LotAt is the count at a location of one key that names many items (a
// lot, a product): how many of its scans are on hand there (see Apply).
type LotAt struct {
	Key                  string
	Product, Lot, Expiry string
	// Units is the count, in the key's own units (a package's DI counts
	// packages); below zero when more were removed than were counted.
	Units int
	// LastSeq is the sequence number of the key's last movement,
	// wherever it was.
	LastSeq uint64
}

// UnitsAt returns the items named by their serial that are at location
// (on hand or quarantined), ordered by key. Its work grows with the
// units at the location (an index kept as movements are folded), not
// with every item the stock follows.
func (s *Stock) UnitsAt(location string) []UnitAt {
	s.mu.RLock()
	defer s.mu.RUnlock()
	loc, ok := s.names.ids[location]
	if !ok {
		return nil
	}
	var out []UnitAt
	for key, u := range s.present[loc] {
		if u.loc != loc || u.id == nil {
			continue
		}
		st := lifecycle.Statuses[u.status]
		switch st {
		case lifecycle.StatusReceived, lifecycle.StatusCommissioned, lifecycle.StatusStocked, lifecycle.StatusReturned,
			lifecycle.StatusQuarantined:
		default:
			continue
		}
		out = append(out, UnitAt{Key: key, Product: u.id.product, Lot: u.id.lot, Expiry: u.id.expiry, Status: st, LastSeq: u.lastSeq})
	}
	slices.SortFunc(out, func(a, b UnitAt) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// LotsAt returns the keys naming many items (lots, products) counted at
// location, other than zero, ordered by key. Its work grows with the
// keys of lots the stock follows.
func (s *Stock) LotsAt(location string) []LotAt {
	s.mu.RLock()
	defer s.mu.RUnlock()
	loc, ok := s.names.ids[location]
	if !ok {
		return nil
	}
	var out []LotAt
	for key, l := range s.lots {
		n := l.at[loc]
		if n == 0 || l.u.id == nil {
			continue
		}
		out = append(out, LotAt{Key: key, Product: l.u.id.product, Lot: l.u.id.lot, Expiry: l.u.id.expiry, Units: n, LastSeq: l.u.lastSeq})
	}
	slices.SortFunc(out, func(a, b LotAt) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// Locations returns the locations the stock has anything at (Holds),
// in order.
func (s *Stock) Locations() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	seen := map[uint32]bool{}
	for loc := range s.byLoc {
		seen[loc] = true
	}
	for loc := range s.present {
		seen[loc] = true
	}
	for k := range s.demand {
		seen[k.loc] = true
	}
	out := make([]string, 0, len(seen))
	for loc := range seen {
		if n := s.names.name(loc); n != "" {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// Holds reports whether the stock has anything at location: units on
// hand or held, or uses (demand). An open replenishment request alone is
// nothing held: one raised at another gateway's location (as gateways
// did before they asked only for their own) makes it no location of
// this gateway's.
func (s *Stock) Holds(location string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	loc, ok := s.names.ids[location]
	if !ok || location == "" {
		return false
	}
	if s.byLoc[loc] != nil || s.present[loc] != nil {
		return true
	}
	for k := range s.demand {
		if k.loc == loc {
			return true
		}
	}
	return false
}
