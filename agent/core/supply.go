package core

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/agent/stock"
)

// SupplyConfig configures the warehouse's side of the gateway:
// replenishment requests and expiry alerts.
type SupplyConfig struct {
	// ExpiryHorizons are the days before expiry at which stock on hand
	// is alerted, largest first (DefaultExpiryHorizons when nil).
	ExpiryHorizons []int
	// LeadDays is how many days a replenishment takes to arrive, where
	// the catalogue does not say (DefaultLeadDays when 0); ReviewDays
	// how often stock is reviewed (DefaultReviewDays); ServiceLevel the
	// chance of not running out over a lead time the safety stock is
	// sized for (DefaultServiceLevel); HistoryDays how many days of uses
	// a forecast reads (DefaultHistoryDays).
	LeadDays, ReviewDays, HistoryDays int
	ServiceLevel                      float64
	// Pars are par levels configured on the gateway, for the products
	// and locations the master data's par levels do not name.
	Pars []master.ParLevel
	// Sweep is how often every par level, refill and expiry horizon is
	// looked at again (DefaultSweep when 0): the requests a movement
	// raises come at once, the sweep raises those a restart or a new
	// par level left unasked and alerts the stock crossing a horizon.
	Sweep time.Duration
}

// DefaultExpiryHorizons are the expiry alert horizons, in days.
var DefaultExpiryHorizons = []int{90, 60, 30}

// DefaultSweep is the default of SupplyConfig.Sweep.
const DefaultSweep = time.Hour

// stockKey is a product at a location.
type stockKey struct{ location, product string }

// supplier raises the gateway's replenishment requests. The ledger's
// writer tells it what each movement written took from where (touch,
// which never blocks); its own goroutine asks stock.Need of each and
// records the request Need gives, waiting until it is written before it
// looks at the next, so that the stock holds one request before the next
// question: one shortfall, one request. The requests are in the ledger,
// so a restarted gateway's stock knows them, and its first sweep raises
// what a crash left unasked.
type supplier struct {
	g     *Gateway
	mu    sync.Mutex
	dirty map[stockKey]struct{}
	all   bool // sweep every par level and refill
	wake  chan struct{}
	// alerted holds the expiry horizon each stock line was last seen
	// within (alerted, or found within it already: see alertExpiring);
	// arrived the lots and expiries (patterns: "" matches any) of the
	// units that arrived at a location, per product, since the gateway
	// started.
	alerted map[string]int
	arrived map[stockKey]map[[2]string]bool
}

func newSupplier(g *Gateway) *supplier {
	return &supplier{g: g, dirty: map[stockKey]struct{}{}, all: true, wake: make(chan struct{}, 1), alerted: map[string]int{},
		arrived: map[stockKey]map[[2]string]bool{}}
}

// sweepSoon makes the supplier look at every par level, request and
// expiry horizon at once: the par levels or the catalogue changed.
func (s *supplier) sweepSoon() {
	s.mu.Lock()
	s.all = true
	s.mu.Unlock()
	s.signal()
}

// touch tells the supplier of m, a movement just written. It runs on the
// ledger's writer goroutine and never blocks.
func (s *supplier) touch(m agent.Movement) {
	if m.Decision == agent.DecisionBlocked || m.Item == "" {
		return
	}
	var locs []string
	switch m.Kind {
	case agent.KindUse, agent.KindWaste, agent.KindDispose, agent.KindIssue:
		locs = append(locs, m.From, m.Location)
	case agent.KindTransfer, agent.KindStock, agent.KindReceive:
		// Where it came from has less; where it went may have met a
		// request, and refills waiting on it are due.
		locs = append(locs, m.From, m.Location)
	default:
		return
	}
	product := lifecycle.Product(m)
	d := s.g.master.Load()
	if e, _, ok := d.Resolve(product); ok {
		product = e.Product()
	}
	// Where a unit was before the movement the ledger knows, not the
	// movement: every location with a par level of the product is asked.
	locs = append(locs, d.ParLocations(product)...)
	for _, p := range s.g.cfg.Supply.Pars {
		if p.Product() == product {
			locs = append(locs, p.Location)
		}
	}
	s.mu.Lock()
	for _, l := range locs {
		if l != "" {
			s.dirty[stockKey{l, product}] = struct{}{}
		}
	}
	if arrives := m.Kind == agent.KindReceive || m.Kind == agent.KindStock || m.Kind == agent.KindTransfer || m.Kind == agent.KindReturn; arrives && m.Location != "" {
		k := stockKey{m.Location, product}
		if s.arrived[k] == nil {
			s.arrived[k] = map[[2]string]bool{}
		}
		s.arrived[k][[2]string{m.Lot, m.Expiry}] = true
	}
	s.mu.Unlock()
	s.signal()
}

func (s *supplier) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run raises requests until ctx ends, and sweeps every cfg.Sweep.
func (s *supplier) run(ctx context.Context) {
	every := s.g.cfg.Supply.Sweep
	if every <= 0 {
		every = DefaultSweep
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	s.signal()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.mu.Lock()
			s.all = true
			s.mu.Unlock()
		case <-s.wake:
		}
		st, err := s.g.stock.Stock(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.g.log.Error("stock not built: no replenishment request raised until it is", "err", err)
			}
			continue
		}
		s.mu.Lock()
		keys, all := s.dirty, s.all
		s.dirty, s.all = map[stockKey]struct{}{}, false
		s.mu.Unlock()
		d := s.g.master.Load()
		if all {
			for _, p := range s.g.parLevels(d) {
				keys[stockKey{p.Location, p.Product()}] = struct{}{}
			}
			s.alertExpiring(st, d)
			for _, r := range st.Requests("") {
				if ctx.Err() != nil {
					return
				}
				s.withdraw(ctx, st, d, r)
			}
		}
		// Refills owed are asked at every wake: a consigned unit is owed
		// to the shelf it was drawn from, which its use does not name.
		for _, r := range st.Refills() {
			keys[stockKey{r[0], r[1]}] = struct{}{}
		}
		ordered := make([]stockKey, 0, len(keys))
		for k := range keys {
			ordered = append(ordered, k)
		}
		sortKeys(ordered)
		for _, r := range st.Met() {
			if ctx.Err() != nil {
				return
			}
			s.announce(ctx, r)
		}
		for _, k := range ordered {
			if ctx.Err() != nil {
				return
			}
			s.raise(ctx, st, d, k)
		}
	}
}

// sortKeys orders keys by location, then product.
func sortKeys(keys []stockKey) {
	slices.SortFunc(keys, func(a, b stockKey) int {
		return cmp.Or(cmp.Compare(a.location, b.location), cmp.Compare(a.product, b.product))
	})
}

// parLevel returns the par level of product at location: the master
// data's, else the configuration's.
func (g *Gateway) parLevel(d *master.Data, location, product string) (master.ParLevel, bool) {
	if p, ok := d.Par(location, product); ok {
		return p, true
	}
	for _, p := range g.cfg.Supply.Pars {
		if p.Location == location && p.Product() == product {
			return p, true
		}
	}
	return master.ParLevel{}, false
}

// parLevels returns every par level: the master data's, then the
// configuration's the master data does not name.
func (g *Gateway) parLevels(d *master.Data) []master.ParLevel {
	ps := d.ParLevels()
	for _, p := range g.cfg.Supply.Pars {
		if _, ok := d.Par(p.Location, p.Product()); !ok {
			ps = append(ps, p)
		}
	}
	return ps
}

// par returns the par level stock.Need compares with: a par level's min
// and max; a par level whose min is 0 takes the reorder point the
// forecast gives (and its order-up-to level when that is above its
// max).
func (g *Gateway) par(st *stock.Stock, d *master.Data, location, product string) stock.Par {
	p, ok := g.parLevel(d, location, product)
	if !ok {
		return stock.Par{}
	}
	out := stock.Par{ReorderPoint: p.Min, Max: p.Max}
	if p.Min == 0 {
		if f := g.forecastOf(st, d, stockKey{location, product}); f.Error == "" {
			out.ReorderPoint = f.ReorderPoint
			out.Max = max(out.Max, f.OrderUpTo)
		}
	}
	return out
}

// raise records the request k needs, if any (stock.Need), and waits
// until it is written. It asks only at the locations the gateway serves
// (Gateway.serving): another gateway's location, which the centre's par
// levels name too, is none of its business.
func (s *supplier) raise(ctx context.Context, st *stock.Stock, d *master.Data, k stockKey) {
	if !s.g.serving(st)(k.location) {
		return
	}
	r, ok := st.Need(k.location, k.product, s.g.par(st, d, k.location, k.product), d)
	if !ok {
		return
	}
	m := agent.Movement{
		Time: s.g.cfg.Now(), Kind: agent.KindContext, Item: k.product, Location: k.location,
		Station: "replenishment", Flags: []string{agent.FlagReplenish}, Reason: agent.RequestReason(r),
	}
	if e, ok := d.Lookup(k.product); ok {
		if e.GTIN == k.product {
			m.GTIN = e.GTIN
		}
		if e.Consigned && e.Supplier != "" {
			m.Flags = append(m.Flags, agent.ConsignedFlag(e.Supplier))
		}
	}
	got, err := s.g.store.Append(ctx, m)
	if err != nil {
		if ctx.Err() == nil {
			s.g.log.Error("replenishment request not recorded: asked again at the next sweep", "location", k.location, "product", k.product, "err", err)
			s.mu.Lock()
			s.dirty[k] = struct{}{}
			s.mu.Unlock()
		}
		return
	}
	s.g.log.Info("replenishment requested", "location", k.location, "product", k.product, "quantity", r.Quantity,
		"urgency", r.Urgency, "on_hand", r.OnHand, "reorder_point", r.ReorderPoint, "max", r.Max, "seq", got.Seq)
}

// closing returns the movement closing request r (agent.FlagMet) with
// reason: met (agent.MetReason) or withdrawn (agent.WithdrawnReason).
func (s *supplier) closing(r stock.Request, reason string) agent.Movement {
	m := agent.Movement{
		Time: s.g.cfg.Now(), Kind: agent.KindContext, Item: r.Product, Location: r.Location,
		Station: "replenishment", Flags: []string{agent.FlagMet}, Reason: reason,
	}
	if r.Supplier != "" {
		m.Flags = append(m.Flags, agent.ConsignedFlag(r.Supplier))
	}
	return m
}

// withdraw records the withdrawal of the open request r when the par
// level that raised it no longer calls for it (stock.Withdraw: removed,
// or corrected), or its location is not one the gateway serves (raised
// for another gateway's location, before gateways asked only for their
// own: no delivery there would ever meet it), and waits until it is
// written: the stock, and the centre's, then hold it closed, as a
// request met. One not recorded is looked at again at the next sweep.
func (s *supplier) withdraw(ctx context.Context, st *stock.Stock, d *master.Data, r stock.Request) {
	why, ok := "the location is not this gateway's: no station or cabinet zone of it is there and nothing is in stock there", !s.g.serving(st)(r.Location)
	if !ok {
		why, ok = st.Withdraw(r, s.g.par(st, d, r.Location, r.Product), d)
	}
	if !ok {
		return
	}
	got, err := s.g.store.Append(ctx, s.closing(r, agent.WithdrawnReason(r.Seq, r.Arrived, why)))
	if err != nil {
		if ctx.Err() == nil {
			s.g.log.Error("replenishment request withdrawn, not recorded: looked at again at the next sweep", "location", r.Location, "product", r.Product, "request", r.Seq, "err", err)
		}
		return
	}
	s.g.log.Info("replenishment request withdrawn", "location", r.Location, "product", r.Product, "request", r.Seq, "why", why, "seq", got.Seq)
}

// announce records that request r was met (agent.FlagMet), and waits
// until it is written; the stock then forgets it.
func (s *supplier) announce(ctx context.Context, r stock.Request) {
	got, err := s.g.store.Append(ctx, s.closing(r, agent.MetReason(r.Seq, r.Arrived)))
	if err != nil {
		if ctx.Err() == nil {
			s.g.log.Error("replenishment met, not recorded: recorded at the next sweep", "location", r.Location, "product", r.Product, "request", r.Seq, "err", err)
		}
		return
	}
	s.g.log.Info("replenishment request met", "location", r.Location, "product", r.Product, "request", r.Seq, "arrived", r.Arrived, "seq", got.Seq)
}

// alertExpiring logs the stock on hand that came within an expiry
// horizon (and again at each nearer one, expired last): once per line
// and horizon while the gateway runs, and, across restarts, only when
// the line entered the horizon in the last day (its expiry date and
// today say so) or units of it arrived since the gateway started. A
// line found within a horizon it entered before, which the gateway
// running then alerted, is not alerted again by a restart; the status
// and the metrics count it all the same.
func (s *supplier) alertExpiring(st *stock.Stock, d *master.Data) {
	hs := s.g.horizons()
	now := s.g.cfg.Now()
	lines := st.Lines(stock.Query{ExpiringDays: hs[0], Now: now}, d)
	s.g.observeExpiring(lines, hs)
	for _, l := range lines {
		if l.Units <= 0 || l.DaysLeft == nil {
			continue
		}
		h := horizonOf(hs, *l.DaysLeft, l.Expired)
		key := l.Location + "\x00" + l.Product + "\x00" + l.Lot + "\x00" + l.Expiry + "\x00" + l.Owner
		if prev, ok := s.alerted[key]; ok && prev <= h {
			continue
		}
		s.alerted[key] = h
		if !enteredSince(hs, h, l.Expiry, now.AddDate(0, 0, -1)) && !s.arrivedLine(l) {
			continue
		}
		level := "stock expiring"
		if l.Expired {
			level = "stock expired on the shelf"
		}
		s.g.log.Warn(level, "location", l.Location, "product", l.Product, "lot", l.Lot, "expiry", l.Expiry,
			"days_left", *l.DaysLeft, "horizon_days", h, "units", l.Units, "owner", l.Owner)
	}
}

// horizons returns the expiry horizons configured, largest first.
func (g *Gateway) horizons() []int {
	hs := slices.Clone(g.cfg.Supply.ExpiryHorizons)
	if len(hs) == 0 {
		hs = slices.Clone(DefaultExpiryHorizons)
	}
	slices.Sort(hs)
	slices.Reverse(hs)
	return hs
}

// arrivedLine reports whether units of l's product, lot and expiry
// arrived at its location since the gateway started.
func (s *supplier) arrivedLine(l stock.Line) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p := range s.arrived[stockKey{l.Location, l.Product}] {
		if (p[0] == "" || p[0] == l.Lot) && (p[1] == "" || p[1] == l.Expiry) {
			return true
		}
	}
	return false
}

// enteredSince reports whether a line expiring at expiry, within horizon
// h now (horizonOf), was not yet within it at the instant then: it
// entered it since.
func enteredSince(hs []int, h int, expiry string, then time.Time) bool {
	days, expired, ok := lifecycle.DaysLeft(expiry, then)
	if !ok || !expired && days > hs[0] {
		return true
	}
	return horizonOf(hs, days, expired) > h
}

// horizonOf returns the nearest horizon of hs (largest first) that days
// left is within; 0 once expired.
func horizonOf(hs []int, days int, expired bool) int {
	if days < 0 || expired {
		return 0
	}
	h := hs[0]
	for _, x := range hs {
		if days <= x {
			h = x
		}
	}
	return h
}

// ErrLoanSet is wrapped by the error for a loan set that cannot be
// declared as given.
var ErrLoanSet = errors.New("bad loan set")

// MaxLoanItems bounds the codes of one loan set.
const MaxLoanItems = 1000

// LoanSet is a supplier's loan set brought for one operation ("bill
// only"): the items it holds, never received at this site. Declared, a
// use of one of them is a loan (agent.FlagLoan): the supplier's, with
// the use standing for its receipt, not an item never received.
type LoanSet struct {
	// Supplier is who owns the set; required.
	Supplier string `json:"supplier"`
	// Case and Location are the operation's, where known.
	Case     string `json:"case,omitempty"`
	Location string `json:"location,omitempty"`
	// Codes are the items, each a code in any form that names one item
	// or one lot (a product alone names no item of a set).
	Codes []string `json:"codes"`
	// Actor is who declared the set (staff id).
	Actor string `json:"actor,omitempty"`
}

// DeclareLoan records a loan set: one context movement per item
// (agent.FlagLoanSet, the supplier's agent.ConsignedFlag), naming its
// item key, so that the item's history says whose it is. Every code is
// read, and the ledger asked of it, before anything is written: one bad
// code refuses the set, naming it, as does an item on hand here (received
// at this site: it is the hospital's, or a consignment's, not a loan)
// and one already declared for the same case (nothing is written twice:
// the answer names the movement that declared it). A code given twice is
// recorded once.
func (g *Gateway) DeclareLoan(ctx context.Context, set LoanSet) ([]agent.Movement, error) {
	supplier := strings.TrimSpace(set.Supplier)
	switch {
	case supplier == "":
		return nil, fmt.Errorf("%w: no supplier: name who owns the set", ErrLoanSet)
	case len(supplier) > 200 || strings.ContainsAny(supplier, "\r\n\t"):
		return nil, fmt.Errorf("%w: supplier %.40q: want one line of at most 200 bytes", ErrLoanSet, supplier)
	case len(set.Codes) == 0:
		return nil, fmt.Errorf("%w: no item codes", ErrLoanSet)
	}
	for _, f := range []struct{ name, v string }{{"case", set.Case}, {"location", set.Location}, {"actor", set.Actor}} {
		if len(f.v) > 200 || strings.ContainsFunc(f.v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return nil, fmt.Errorf("%w: %s %.40q: want one line of at most 200 bytes", ErrLoanSet, f.name, f.v)
		}
	}
	switch {
	case len(set.Codes) > MaxLoanItems:
		return nil, fmt.Errorf("%w: %d item codes, at most %d", ErrLoanSet, len(set.Codes), MaxLoanItems)
	}
	var keys []string
	for i, c := range set.Codes {
		lks, err := codeLookups(c)
		if err != nil {
			return nil, fmt.Errorf("%w: code %d (%.60q): %w", ErrLoanSet, i+1, c, err)
		}
		key := ""
		for _, lk := range lks {
			if !lk.Prefix {
				key = lk.Key
				break
			}
		}
		if key == "" {
			return nil, fmt.Errorf("%w: code %d (%.60q) names a product, not an item or a lot: scan the item's own label", ErrLoanSet, i+1, c)
		}
		if slices.Contains(keys, key) {
			continue
		}
		if err := g.loanable(ctx, key, set.Case); err != nil {
			return nil, fmt.Errorf("%w: code %d (%.60q): %w", ErrLoanSet, i+1, c, err)
		}
		keys = append(keys, key)
	}
	reason := "loan set of " + supplier
	if set.Case != "" {
		reason += " for case " + set.Case
	}
	out := make([]agent.Movement, 0, len(keys))
	for _, k := range keys {
		m, err := g.store.Append(ctx, agent.Movement{
			Time: g.cfg.Now(), Kind: agent.KindContext, Item: k, Location: set.Location, Case: set.Case,
			Station: "api", Actor: set.Actor, Reason: reason,
			Flags: []string{agent.FlagLoanSet, agent.ConsignedFlag(supplier)},
		})
		if err != nil {
			return out, err
		}
		out = append(out, m)
	}
	return out, nil
}

// loanable returns an error saying why the item key may not be declared
// part of a loan set for case caseID, from its movements in the ledger:
// the item (one named by its serial) is on hand here, received at this
// site; or a loan set declared it for the same case already.
func (g *Gateway) loanable(ctx context.Context, key, caseID string) error {
	ms, err := g.store.Trace(ctx, key)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.Kind == agent.KindContext && slices.Contains(m.Flags, agent.FlagLoanSet) && m.Case == caseID {
			who, _ := agent.Consignor(m)
			return fmt.Errorf("already declared for this case, in the loan set of %s (movement %d): nothing written", who, m.Seq)
		}
	}
	if !lifecycle.Unit(key) {
		return nil // a lot: units of it may be on hand and others lent
	}
	st, _ := lifecycle.Replay(ms)
	switch st.Status {
	case lifecycle.StatusReceived, lifecycle.StatusCommissioned, lifecycle.StatusStocked, lifecycle.StatusIssued,
		lifecycle.StatusReturned, lifecycle.StatusQuarantined:
		if st.Received {
			return fmt.Errorf("the item is on hand here (%s at %s, movement %d): received at this site, it is no loan", st.Status, st.Location, st.LastSeq)
		}
	}
	return nil
}
