package core

import (
	"cmp"
	"context"
	"slices"
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
	// alerted holds the expiry horizon last alerted per stock line.
	alerted map[string]int
}

func newSupplier(g *Gateway) *supplier {
	return &supplier{g: g, dirty: map[stockKey]struct{}{}, all: true, wake: make(chan struct{}, 1), alerted: map[string]int{}}
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
	if e, _, ok := s.g.master.Load().Resolve(product); ok {
		product = e.Product()
	}
	s.mu.Lock()
	for _, l := range locs {
		if l != "" {
			s.dirty[stockKey{l, product}] = struct{}{}
		}
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
			for _, p := range d.ParLevels() {
				keys[stockKey{p.Location, p.Product()}] = struct{}{}
			}
			for _, r := range st.Refills() {
				keys[stockKey{r[0], r[1]}] = struct{}{}
			}
			s.alertExpiring(st, d)
		}
		ordered := make([]stockKey, 0, len(keys))
		for k := range keys {
			ordered = append(ordered, k)
		}
		slices.SortFunc(ordered, func(a, b stockKey) int {
			return cmp.Or(cmp.Compare(a.location, b.location), cmp.Compare(a.product, b.product))
		})
		for _, k := range ordered {
			if ctx.Err() != nil {
				return
			}
			s.raise(ctx, st, d, k)
		}
	}
}

// par returns the par level of product at location: the master data's.
func par(d *master.Data, location, product string) stock.Par {
	p, ok := d.Par(location, product)
	if !ok {
		return stock.Par{}
	}
	return stock.Par{ReorderPoint: p.Min, Max: p.Max}
}

// raise records the request k needs, if any (stock.Need), and waits
// until it is written.
func (s *supplier) raise(ctx context.Context, st *stock.Stock, d *master.Data, k stockKey) {
	r, ok := st.Need(k.location, k.product, par(d, k.location, k.product), d)
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

// alertExpiring logs, once per line and horizon, the stock on hand that
// came within an expiry horizon (and again at each nearer one).
func (s *supplier) alertExpiring(st *stock.Stock, d *master.Data) {
	hs := s.g.horizons()
	now := s.g.cfg.Now()
	for _, l := range st.Lines(stock.Query{ExpiringDays: hs[0], Now: now}, d) {
		if l.Units <= 0 || l.DaysLeft == nil {
			continue
		}
		h := horizonOf(hs, *l.DaysLeft)
		key := l.Location + "\x00" + l.Product + "\x00" + l.Lot + "\x00" + l.Expiry + "\x00" + l.Owner
		if prev, ok := s.alerted[key]; ok && prev <= h {
			continue
		}
		s.alerted[key] = h
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

// horizonOf returns the nearest horizon of hs (largest first) that days
// left is within; 0 once expired.
func horizonOf(hs []int, days int) int {
	if days < 0 {
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
