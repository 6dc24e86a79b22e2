package central

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/agent/stock"
)

// GatewayStock is one gateway's stock as the centre folds it from the
// movements it holds: the same fold as the gateway's own (agent/stock),
// so that the two agree up to the last movement the centre holds.
type GatewayStock struct {
	Gateway string `json:"gateway"`
	// AsOf is the last movement folded (the centre's head of the
	// gateway's current ledger and branch).
	AsOf     uint64          `json:"as_of_seq"`
	Lines    []stock.Line    `json:"lines"`
	Requests []stock.Request `json:"requests"`
}

// SiteStockReport is the stock of every gateway of a site.
type SiteStockReport struct {
	Site     string         `json:"site"`
	Gateways []GatewayStock `json:"gateways"`
}

// SiteStock folds the current history of each gateway of site (its
// newest ledger, along its current branch: the parents' movements up to
// the fork, then its own) into the gateway's stock, and returns the lines
// q selects and the open replenishment requests (of q's location and
// product, when set), data resolving packages and arrivals. Like the
// site's audits it reads every movement of the site: a command run now
// and then, not the service's path. q's product is read as a gateway
// reads it (core.ParseProduct: a GTIN-13, a Digital Link...); a text
// naming no product is an error wrapping core.ErrStockQuery.
func SiteStock(ctx context.Context, st Store, site string, q stock.Query, data *master.Data) (SiteStockReport, error) {
	var err error
	if q.Product, err = core.ParseProduct(q.Product); err != nil {
		return SiteStockReport{}, err
	}
	product := q.Product
	if e, _, ok := data.Resolve(product); ok && product != "" {
		product = e.Product() // a package's DI asks for the product it packs, as the lines do
	}
	heads, err := st.Ledgers(ctx)
	if err != nil {
		return SiteStockReport{}, err
	}
	// The current ledger of each gateway: the newest Created, its
	// highest branch.
	current := map[string]Head{}
	for _, h := range heads {
		if h.Site != site || h.Seq == 0 {
			continue
		}
		c, ok := current[h.Gateway]
		if !ok || h.Created > c.Created || h.Created == c.Created && h.Branch > c.Branch {
			current[h.Gateway] = h
		}
	}
	rep := SiteStockReport{Site: site, Gateways: []GatewayStock{}}
	for _, h := range current {
		s := stock.New()
		s.SetCatalogue(func() *master.Data { return data })
		if err := foldHistory(ctx, st, heads, h, s); err != nil {
			return SiteStockReport{}, err
		}
		g := GatewayStock{Gateway: h.Gateway, AsOf: s.Last(), Lines: s.Lines(q, data), Requests: []stock.Request{}}
		if g.Lines == nil {
			g.Lines = []stock.Line{}
		}
		for _, r := range s.Requests(q.Location) {
			if product == "" || r.Product == product {
				g.Requests = append(g.Requests, r)
			}
		}
		rep.Gateways = append(rep.Gateways, g)
	}
	slices.SortFunc(rep.Gateways, func(a, b GatewayStock) int { return cmp.Compare(a.Gateway, b.Gateway) })
	return rep, nil
}

// foldHistory folds the history of branch h into s: the branches it
// forked from, each up to where its child forked, then its own
// movements.
func foldHistory(ctx context.Context, st Store, heads []Head, h Head, s *stock.Stock) error {
	chain := []Head{h}
	for cur := h; cur.Branch != 0; {
		parent, ok := findBranch(heads, cur.Gateway, cur.Created, cur.Parent)
		if !ok || len(chain) > len(heads) {
			break // a parent the store does not list: its own movements only
		}
		chain = append(chain, parent)
		cur = parent
	}
	for i := len(chain) - 1; i >= 0; i-- {
		b := chain[i]
		until := uint64(0) // the next branch's fork: this one's movements before it
		if i > 0 {
			until = chain[i-1].Fork
		}
		for m, err := range branchMovements(ctx, st, b) {
			if err != nil {
				return err
			}
			if until != 0 && m.Seq >= until {
				break
			}
			s.Apply(m)
		}
	}
	return nil
}

func findBranch(heads []Head, gateway string, created int64, branch int) (Head, bool) {
	for _, h := range heads {
		if h.Gateway == gateway && h.Created == created && h.Branch == branch {
			return h, true
		}
	}
	return Head{}, false
}

// StockParams returns the query string of GET /v1/stock: the site, and
// q's location, product and expiring days when set (the service counts
// days left from its own clock).
func StockParams(site string, q stock.Query) url.Values {
	v := url.Values{"site": {site}}
	if q.Location != "" {
		v.Set("location", q.Location)
	}
	if q.Product != "" {
		v.Set("product", q.Product)
	}
	if q.ExpiringDays > 0 {
		v.Set("expiring", strconv.Itoa(q.ExpiringDays))
	}
	return v
}

// stockQuery reads the parameters of GET /v1/stock other than the site:
// location, product (which SiteStock reads) and expiring, a whole
// number of days (0, as absent, selects every line); an expiring that
// is not is an error wrapping ErrInvalid that names it.
func (s *Service) stockQuery(r *http.Request) (stock.Query, error) {
	v := r.URL.Query()
	q := stock.Query{Location: v.Get("location"), Product: v.Get("product"), Now: s.now()}
	if x := v.Get("expiring"); x != "" {
		n, err := strconv.Atoi(x)
		if err != nil || n < 0 {
			return stock.Query{}, fmt.Errorf("%w: parameter expiring: %q is not a whole number of days, 0 or more", ErrInvalid, x)
		}
		q.ExpiringDays = n
	}
	return q, nil
}

// serveStock answers GET /v1/stock: the site's stock (SiteStock), its
// packages resolved with the service's catalogue (Config.Catalogue).
func (s *Service) serveStock(w http.ResponseWriter, r *http.Request) {
	site, ok := s.auditSite(w, r)
	if !ok {
		return
	}
	q, err := s.stockQuery(r)
	if s.writeFailure(w, "stock query", site, err) {
		return
	}
	rep, err := SiteStock(r.Context(), s.store, site, q, s.cfg.Catalogue)
	if errors.Is(err, core.ErrStockQuery) {
		err = fmt.Errorf("%w: parameter product: %w", ErrInvalid, err)
	}
	if !s.writeFailure(w, "read of the stock", site, err) {
		writeJSON(w, http.StatusOK, rep)
	}
}
