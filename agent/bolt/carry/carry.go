// Package carry says which movements a retention cut of a gateway's
// ledger (agent/bolt, Folds) must keep so that the gateway's folds of it
// come out the same: the stock (agent/stock) and every item's state
// (agent/lifecycle). The ledger cannot tell on its own, and must not
// import them (their tests import the ledger); the agent hands it this
// package's Needed and Proof.
//
// Needed judges one group of item keys at a time. The stock also sums
// across groups (the arrivals that meet a request, the consigned uses
// owing a refill request), so Proof folds the movements before a cut
// twice, all of them and those that would stay, and names where the two
// stocks differ; the ledger then carries more there and proves again.
//
// The package does no I/O, never logs, and holds nothing beyond one
// call: it reads the movements it is given.
package carry

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/agent/stock"
)

// Needed reports whether the gateway's folds still need the movements
// ms, those of one group of item keys (the keys one movement names
// together, a tag and the item it was commissioned to, are one group),
// oldest first, all of them before the cut: a group is needed while the
// stock folded from it alone holds anything (a unit or a lot on hand or
// held, below zero too), while it holds a replenishment request no
// movement records as met nor a later request replaced, or while the lifecycle says an item of it is
// still in use: received, commissioned, stocked, issued (taken out, not
// yet used or put back), returned or quarantined, or with a removal
// outstanding. The life of an item used, wasted or disposed of has
// ended: its movements may leave. What the stock sums across groups (a
// consigned use owed a refill request, the arrivals that meet a request)
// is the Proof's to keep right.
func Needed(ms []agent.Movement) bool {
	// The requests that may be open: the last of each location and
	// product, unless a movement records it met.
	last := map[[2]string]uint64{}
	met := map[uint64]bool{}
	for _, m := range ms {
		if _, ok := agent.ReadRequest(m); ok {
			last[[2]string{m.Location, m.Item}] = m.Seq
		} else if seq, _, ok := agent.ReadMet(m); ok {
			met[seq] = true
		}
	}
	st := stock.New()
	units := map[string][]agent.Movement{}
	// A tag commissioned to an item is that item: its own reads do not
	// make a life of their own (the stock counts them as the item's).
	bound := map[string]bool{}
	for _, m := range ms {
		if m.Kind == agent.KindCommission && m.Tag != "" && m.Tag != m.Item {
			bound[m.Tag] = true
		}
	}
	for _, m := range ms {
		if _, ok := agent.ReadRequest(m); ok && !met[m.Seq] && last[[2]string{m.Location, m.Item}] == m.Seq {
			return true
		}
		st.Apply(m)
		for _, k := range m.TraceKeys() {
			if lifecycle.Unit(k) {
				units[k] = append(units[k], m)
			}
		}
	}
	for _, line := range st.Lines(stock.Query{}, nil) {
		if line.Units != 0 || line.Quarantined != 0 {
			return true
		}
	}
	for k, h := range units {
		if bound[k] {
			continue
		}
		s, _ := lifecycle.Replay(h)
		switch s.Status {
		case lifecycle.StatusUsed, lifecycle.StatusWasted, lifecycle.StatusDisposed, lifecycle.StatusNone:
		default:
			return true
		}
		if s.Removal.Outstanding() {
			return true
		}
	}
	return false
}

// stockView is what a Proof compares of a stock: its lines, open
// requests, consigned uses awaiting a refill request, and met requests
// not recorded met.
type stockView struct {
	lines    []stock.Line
	requests []stock.Request
	refills  [][2]string
	met      []stock.Request
}

func viewOf(st *stock.Stock, data *master.Data) stockView {
	return stockView{lines: st.Lines(stock.Query{}, data), requests: st.Requests(""), refills: st.Refills(), met: st.Met()}
}

// Proof folds the movements before a cut twice: all of them, and those
// that stay, and compares the two stocks. data is the master data the
// stock resolves packages with (arrivals meeting a request).
type Proof struct {
	data      *master.Data
	all, kept *stock.Stock
}

// NewProof returns an empty Proof over data (nil: none).
func NewProof(data *master.Data) *Proof {
	if data == nil {
		data = new(master.Data)
	}
	p := &Proof{data: data, all: stock.New(), kept: stock.New()}
	catalogue := func() *master.Data { return data }
	p.all.SetCatalogue(catalogue)
	p.kept.SetCatalogue(catalogue)
	return p
}

// Add folds m, the next movement before the cut, into both stocks when
// it stays (kept), into the first only when it leaves.
func (p *Proof) Add(m agent.Movement, kept bool) {
	p.all.Apply(m)
	if kept {
		p.kept.Apply(m)
	}
}

// Differ returns "" when the stock from what stays is the stock from
// every movement, else what differs first and where: the locations and
// products that differ, as {location, product}.
func (p *Proof) Differ() (string, [][2]string) { return Compare(p.all, p.kept, p.data) }

// Compare returns "" when the stocks all (folded from every movement)
// and kept (from those that stay) agree, else what differs first and
// the locations and products that differ, as {location, product}.
func Compare(all, kept *stock.Stock, data *master.Data) (string, [][2]string) {
	a, k := viewOf(all, data), viewOf(kept, data)
	var at [][2]string
	seen := map[[2]string]bool{}
	var first string
	note := func(what string, loc, product string) {
		if first == "" {
			first = what
		}
		if w := [2]string{loc, product}; !seen[w] {
			seen[w] = true
			at = append(at, w)
		}
	}
	lineKey := func(l stock.Line) string {
		return l.Location + "\x00" + l.Product + "\x00" + l.Lot + "\x00" + l.Expiry + "\x00" + l.Owner
	}
	empty := func(l stock.Line) bool { return l.Units == 0 && l.Quarantined == 0 }
	lines := map[string]stock.Line{}
	for _, l := range a.lines {
		if !empty(l) {
			lines[lineKey(l)] = l
		}
	}
	for _, l := range k.lines {
		x := lines[lineKey(l)]
		delete(lines, lineKey(l))
		if x.Units != l.Units || x.Quarantined != l.Quarantined {
			note(fmt.Sprintf("stock of %s lot %q at %s: %d on hand, %d held from what stays, %d and %d from every movement",
				l.Product, l.Lot, l.Location, l.Units, l.Quarantined, x.Units, x.Quarantined), l.Location, l.Product)
		}
	}
	for _, l := range lines {
		note(fmt.Sprintf("stock of %s lot %q at %s: %d on hand from every movement, none from what stays", l.Product, l.Lot, l.Location, l.Units), l.Location, l.Product)
	}
	reqs := func(what string, x, y []stock.Request) {
		if !slices.EqualFunc(x, y, func(a, b stock.Request) bool {
			return a.Location == b.Location && a.Product == b.Product && a.Seq == b.Seq && a.Arrived == b.Arrived
		}) {
			for _, r := range append(slices.Clone(x), y...) {
				note(fmt.Sprintf("%s of %s at %s differ", what, r.Product, r.Location), r.Location, r.Product)
			}
		}
	}
	reqs("open replenishment requests", a.requests, k.requests)
	reqs("met requests not recorded", a.met, k.met)
	if !slices.Equal(a.refills, k.refills) {
		for _, r := range append(slices.Clone(a.refills), k.refills...) {
			note(fmt.Sprintf("consigned uses awaiting a refill of %s at %s differ", r[1], r[0]), r[0], r[1])
		}
	}
	return first, at
}

// Places returns the locations and products m moves, asks for or uses,
// as {location, product}: where a stock that differs is folded from.
func (p *Proof) Places(m agent.Movement) [][2]string {
	raw := lifecycle.Product(m)
	products := []string{raw, m.Item}
	if e, _, ok := p.data.Resolve(raw); ok {
		products = append(products, cmp.Or(e.GTIN, e.HIBC))
	}
	var out [][2]string
	for _, loc := range []string{m.Location, m.From} {
		for _, pr := range products {
			if loc != "" {
				out = append(out, [2]string{loc, pr})
			}
		}
	}
	return out
}
