package stock

import (
	"slices"
	"strings"
	"sync"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/code"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
	"github.com/udi-edge/udi-edge/agent/master"
)

// Stock is the stock on hand folded from movements. The zero Stock is
// not usable; New returns an empty one. It is safe for concurrent use:
// Apply excludes the queries, which run side by side.
type Stock struct {
	mu sync.RWMutex
	// last is the Seq of the last movement applied.
	last uint64
	// names interns locations and gateway ids.
	names names
	// units holds the state of every item key that names one item,
	// lots that of every key that names many (a lot, a product).
	units map[string]*unit
	lots  map[string]*lot
	// present indexes, per location, the units there (on hand or held)
	// by key, so that a location's units are read without a walk of
	// every item.
	present map[uint32]map[string]*unit
	// alias leads a tag commissioned to an item to the item's key.
	alias map[string]string
	// idents interns what an item is (product, lot, expiry).
	idents    map[ident]*ident
	lastIdent *ident
	// byLoc and byProduct index the lines: the counts of one ident at
	// one location.
	byLoc     map[uint32]*place
	byProduct map[string]map[lineKey]*tally
	// resolved caches what the DIs stand for in the catalogue last asked.
	resolved resolver
	// requests holds the open replenishment requests, one at most per
	// location and product (see supply.go); catalogue, when set, gives
	// the catalogue that resolves what arrives to the product asked for.
	requests  map[reqKey]*Request
	met       map[uint64]*Request // met, the movement saying so not yet folded
	refills   map[reqKey]int
	demand    map[reqKey]*series
	catalogue func() *master.Data
	// history, when set, reads back the items gone for good, whose
	// state is forgotten (evict.go): forgotten marks their keys.
	history             HistoryFunc
	gone                []goneItem
	keepGone            int
	forgotten           keySet
	reloads, reloadErrs int
}

// ident is what an item is, for the stock: its product key (a package's
// DI as scanned; Lines resolves it), lot, expiry and owner (the supplier
// who consigned it, as its receipt says; "" for the hospital). Idents are
// interned: two items of the same product, lot, expiry and owner share
// one.
type ident struct {
	product, lot, expiry, owner string
}

// lineKey names one line: an ident at a location.
type lineKey struct {
	loc uint32
	id  *ident
}

// tally is a line's counts, in the ident's own units (a package DI's
// packages): on hand, and held (quarantined); pos is the line's index in
// its place's order.
type tally struct {
	units, held int
	pos         int
}

// New returns an empty Stock.
func New() *Stock {
	s := &Stock{
		units:     map[string]*unit{},
		present:   map[uint32]map[string]*unit{},
		lots:      map[string]*lot{},
		alias:     map[string]string{},
		idents:    map[ident]*ident{},
		byLoc:     map[uint32]*place{},
		byProduct: map[string]map[lineKey]*tally{},
		requests:  map[reqKey]*Request{},
		met:       map[uint64]*Request{},
		refills:   map[reqKey]int{},
		demand:    map[reqKey]*series{},
		keepGone:  defaultKeepGone,
	}
	s.names.init()
	return s
}

// Last returns the sequence number of the last movement applied (0 when
// none carried one).
func (s *Stock) Last() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.last
}

// Items returns how many item keys the stock holds in memory: items
// named by their serial (those gone for good are forgotten when the
// stock can read them back: SetHistory), and keys of lots or products.
func (s *Stock) Items() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.units) + len(s.lots)
}

// Apply folds m, the next movement of the ledger, into the stock.
//
// A movement whose Seq is not above the last one applied is skipped: it
// is already in (a rebuild and the movements written meanwhile overlap).
// A movement with Seq 0 (not recorded) is always applied. A rejected
// read, a context scan and a movement the checks blocked change nothing,
// as for lifecycle.Apply.
//
// An item named by its serial moves as lifecycle.Apply moves it. A key
// that names a lot or a product counts one unit a scan:
//
//   - receive, return: one unit more at the movement's Location;
//   - use, waste, dispose, issue: one unit less at From when the movement
//     names one; else at Location when it holds any; else where the key
//     has the most units (the unit was scanned away from where it was
//     counted); else at Location, which goes below zero (more units
//     removed than ever counted: shown as it is);
//   - stock, transfer: one unit moves to Location from From when the
//     movement names one (other than Location); else from the other
//     location where the key has the most units; when no other location
//     has any, a unit already at Location stays, and a key found nowhere
//     is counted at Location (as an item never received is stocked);
//   - a cancellation of the key's last movement undoes what it counted;
//   - commission, quarantine, count and any other adjustment change no
//     count: a scan of a lot cannot say which unit it saw.
func (s *Stock) Apply(m agent.Movement) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apply(m)
}

func (s *Stock) apply(m agent.Movement) {
	if m.Seq != 0 {
		if m.Seq <= s.last {
			return
		}
		s.last = m.Seq
	}
	if r, ok := agent.ReadRequest(m); ok {
		s.request(m, r)
		return
	}
	if seq, _, ok := agent.ReadMet(m); ok {
		s.closed(m, seq)
		return
	}
	if !m.Kind.MovesItem() || m.Item == "" || m.Decision == agent.DecisionBlocked {
		return
	}

	key := m.Item
	if to, ok := s.alias[key]; ok {
		key = to
	}
	if m.Kind == agent.KindCommission && m.Tag != "" && m.Tag != m.Item {
		s.bind(m.Tag, key)
	}
	if lifecycle.Unit(key) {
		s.applyUnit(key, m)
		s.forget(key)
	} else {
		s.applyLot(key, m)
	}
}

// bind leads tag to item from now on. A tag seen before it was
// commissioned (an unknown tag in a cabinet) was counted as an item of
// its own: that count ends, the item's takes over.
func (s *Stock) bind(tag, item string) {
	if u, ok := s.units[tag]; ok {
		s.count(*u, -1)
		if isPresent(*u) {
			s.unplace(u.loc, tag)
		}
		delete(s.units, tag)
	}
	s.alias[strings.Clone(tag)] = strings.Clone(item)
}

// applyUnit folds m into the state of the item key, which names one
// item: lifecycle.Apply says where it is and in which status, and its
// count moves from where it was to where it is.
func (s *Stock) applyUnit(key string, m agent.Movement) {
	u := s.units[key]
	if u == nil {
		u = s.recall(key, m.Seq) // forgotten, read back and kept again
	}
	kept := u != nil
	var old unit
	if kept {
		old = *u
	} else {
		u = new(unit)
	}
	prev, applied := s.step(key, u, m)
	if !applied {
		return // not applied (blocked, rejected, context)
	}
	if !kept {
		// Updated in place from now on: a map assignment would keep m's
		// key, which shares the memory of the whole decoded movement.
		s.units[strings.Clone(key)] = u
	}
	cancel := lifecycle.CancelsLast(prev, m)
	s.count(old, -1)
	s.count(*u, +1)
	if was, is := isPresent(old), isPresent(*u); was != is || was && old.loc != u.loc {
		if was {
			s.unplace(old.loc, key)
		}
		if is {
			s.place(u.loc, key, u)
		}
	}
	if arrives(m.Kind) && onHand(*u) && (!onHand(old) || old.loc != u.loc) {
		s.arrived(u.loc, u.id.product, 1)
	}
	if m.Kind == agent.KindUse {
		// Drawn from the shelf it was on, else where it is used.
		from := old.loc
		if !onHand(old) {
			from = s.names.id(m.Location)
		}
		s.used(m, from, 1, owedRefill(m))
	} else if cancel && prev.LastKind == agent.KindUse {
		from := u.loc
		if !onHand(*u) {
			from = s.names.id(m.Location)
		}
		s.used(m, from, -1, u.id != nil && u.id.owner != "")
	}
}

// step folds m into u, the state of key, as lifecycle.Apply moves it,
// and returns the state before; applied is false when m changed nothing
// (blocked, rejected, context), u then as it was.
func (s *Stock) step(key string, u *unit, m agent.Movement) (prev lifecycle.State, applied bool) {
	prev = s.state(key, u)
	next, _ := lifecycle.Apply(prev, m)
	if next.Movements == prev.Movements {
		return prev, false
	}
	tagged := u.bits & bitTagged
	if m.Kind == agent.KindCommission && m.Tag != "" && m.Tag != m.Item {
		tagged = bitTagged
	}
	id := s.identOf(u.id, key, m)
	*u = s.record(next)
	u.id, u.bits = id, u.bits|tagged
	return prev, true
}

// owedRefill reports whether the use m draws a unit its supplier
// refills: a consigned unit, but not a loan set's ("bill only"), which
// is brought for one operation and never stocked here, so that no
// delivery would meet a request for it.
func owedRefill(m agent.Movement) bool {
	_, consigned := agent.Consignor(m)
	return consigned && !slices.Contains(m.Flags, agent.FlagLoan)
}

// isPresent reports whether u's unit is at its location: on hand or
// held there.
func isPresent(u unit) bool {
	return onHand(u) || u.id != nil && lifecycle.Statuses[u.status] == lifecycle.StatusQuarantined
}

// place and unplace keep the index of the units at each location.
func (s *Stock) place(loc uint32, key string, u *unit) {
	at := s.present[loc]
	if at == nil {
		at = map[string]*unit{}
		s.present[loc] = at
	}
	at[strings.Clone(key)] = u
}

func (s *Stock) unplace(loc uint32, key string) {
	if at := s.present[loc]; at != nil {
		delete(at, key)
		if len(at) == 0 {
			delete(s.present, loc)
		}
	}
}

// onHand reports whether u's unit counts as on hand.
func onHand(u unit) bool {
	if u.id == nil {
		return false
	}
	switch lifecycle.Statuses[u.status] {
	case lifecycle.StatusReceived, lifecycle.StatusCommissioned, lifecycle.StatusStocked, lifecycle.StatusReturned:
		return true
	}
	return false
}

// count adds sign times u's unit to the line it stands on, if any.
func (s *Stock) count(u unit, sign int) {
	if u.id == nil {
		return
	}
	switch lifecycle.Statuses[u.status] {
	case lifecycle.StatusReceived, lifecycle.StatusCommissioned, lifecycle.StatusStocked, lifecycle.StatusReturned:
		s.add(u.loc, u.id, sign, 0)
	case lifecycle.StatusQuarantined:
		s.add(u.loc, u.id, 0, sign)
	}
}

// identOf returns what the item key is after m: the product it had, else
// m's (lifecycle.Product); the lot and expiry m carries, else those it
// had (else, for a lot key, the key's lot).
func (s *Stock) identOf(prev *ident, key string, m agent.Movement) *ident {
	owner, receipt := "", m.Kind == agent.KindReceive
	if receipt {
		owner, _ = agent.Consignor(m)
	} else if prev != nil {
		owner = prev.owner
	}
	if prev != nil && (m.Lot == "" || m.Lot == prev.lot) && (m.Expiry == "" || m.Expiry == prev.expiry) && owner == prev.owner {
		return prev
	}
	var id ident
	if prev != nil {
		id = *prev
	}
	id.owner = owner
	if id.product == "" {
		id.product = lifecycle.Product(agent.Movement{GTIN: m.GTIN, Item: key})
	}
	if m.Lot != "" {
		id.lot = m.Lot
	} else if id.lot == "" {
		id.lot = code.SplitKey(key).Lot
	}
	if m.Expiry != "" {
		id.expiry = m.Expiry
	}
	if prev != nil && id == *prev {
		return prev
	}
	if p := s.lastIdent; p != nil && *p == id {
		return p // the carton before: same product, lot and expiry
	}
	if p, ok := s.idents[id]; ok {
		s.lastIdent = p
		return p
	}
	// Interned, so that the idents of one product share its string and
	// compare by pointer when the lines are sorted.
	id = ident{s.names.intern(id.product), s.names.intern(id.lot), s.names.intern(id.expiry), s.names.intern(id.owner)}
	p := &id
	s.idents[id] = p
	s.lastIdent = p
	return p
}

// place is the lines of one location. order lists them, kept in the
// order Lines gives them when no package is resolved (product, expiry
// with none last, lot) lazily: a new or emptied line only marks it
// unsorted, and the next query of the location sorts it once (under mu,
// as queries run side by side), so that folding a movement never moves
// the whole list and a location's query sorts only after lines came or
// went.
type place struct {
	lines  map[*ident]*tally
	mu     sync.Mutex
	order  []lineRef
	sorted bool
}

// lineRef is one line of a place.
type lineRef struct {
	id *ident
	t  *tally
}

// compareIdents orders idents by product, expiry (none last), lot.
func compareIdents(a, b *ident) int {
	if a.product != b.product {
		return strings.Compare(a.product, b.product)
	}
	if c := compareExpiry(a.expiry, b.expiry); c != 0 {
		return c
	}
	if c := strings.Compare(a.lot, b.lot); c != 0 {
		return c
	}
	return strings.Compare(a.owner, b.owner)
}

// each calls fn with p's lines in order, sorting them first if lines
// came or went since; the caller holds s.mu for reading.
func (p *place) each(fn func(lineRef)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.sorted {
		slices.SortFunc(p.order, func(a, b lineRef) int { return compareIdents(a.id, b.id) })
		for i, r := range p.order {
			r.t.pos = i
		}
		p.sorted = true
	}
	for _, r := range p.order {
		fn(r)
	}
}

// add changes the line of id at loc by units and held, and drops the
// line when both come to zero.
func (s *Stock) add(loc uint32, id *ident, units, held int) {
	if units == 0 && held == 0 {
		return
	}
	p := s.byLoc[loc]
	if p == nil {
		p = &place{lines: map[*ident]*tally{}, sorted: true}
		s.byLoc[loc] = p
	}
	t := p.lines[id]
	if t == nil {
		t = &tally{pos: len(p.order)}
		p.lines[id] = t
		p.order = append(p.order, lineRef{id, t})
		p.sorted = len(p.order) == 1
		byP := s.byProduct[id.product]
		if byP == nil {
			byP = map[lineKey]*tally{}
			s.byProduct[id.product] = byP
		}
		byP[lineKey{loc, id}] = t
	}
	t.units += units
	t.held += held
	if t.units == 0 && t.held == 0 {
		delete(p.lines, id)
		if last := len(p.order) - 1; t.pos != last {
			p.order[t.pos] = p.order[last]
			p.order[t.pos].t.pos = t.pos
			p.sorted = false
		}
		p.order = p.order[:len(p.order)-1]
		if len(p.lines) == 0 {
			delete(s.byLoc, loc)
		}
		byP := s.byProduct[id.product]
		delete(byP, lineKey{loc, id})
		if len(byP) == 0 {
			delete(s.byProduct, id.product)
		}
	}
}

// names interns strings as small numbers; 0 is "".
type names struct {
	ids  map[string]uint32
	strs []string
}

func (n *names) init() {
	n.ids = map[string]uint32{"": 0}
	n.strs = []string{""}
}

func (n *names) id(s string) uint32 {
	if i, ok := n.ids[s]; ok {
		return i
	}
	s = strings.Clone(s)
	i := uint32(len(n.strs))
	n.ids[s] = i
	n.strs = append(n.strs, s)
	return i
}

func (n *names) name(i uint32) string { return n.strs[i] }

// intern returns the one copy of s kept.
func (n *names) intern(s string) string { return n.strs[n.id(s)] }
