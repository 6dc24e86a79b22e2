package central

import (
	"context"
	"net/http"
	"slices"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/code"
)

// ReceivedProducts returns the product key of every item the gateways of
// site have received (movements of kind receive, on every ledger and
// branch), each once, sorted: what the site stocks, by what came in. A
// package received whole gives the package's key. It reads every
// movement of the site's ledgers, as SiteAnomalies does: it is for a
// command run now and then, such as publishing the site's catalogue from
// the national index (sync/central/nationaldb), not for the service's
// path of batches.
func ReceivedProducts(ctx context.Context, st Store, site string) ([]string, error) {
	seen := map[string]bool{}
	err := siteMovements(ctx, st, site, func(m agent.Movement) {
		if m.Kind != agent.KindReceive {
			return
		}
		if p := code.SplitKey(m.Item).Product; p != "" {
			seen[p] = true
		} else if m.GTIN != "" {
			seen[m.GTIN] = true
		}
	})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	slices.Sort(out)
	return out, nil
}

func (s *Service) serveReceived(w http.ResponseWriter, r *http.Request) {
	site, ok := s.auditSite(w, r)
	if !ok {
		return
	}
	products, err := ReceivedProducts(r.Context(), s.store, site)
	if !s.writeFailure(w, "read of the received products", site, err) {
		writeJSON(w, http.StatusOK, ReceivedResponse{Site: site, Products: products})
	}
}
