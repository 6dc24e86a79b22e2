package central

import (
	"context"
	"net/http"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/code"
)

// ReceivedProducts returns the product key of every item the gateways of
// site have received (movements of kind receive, on every ledger and
// branch), each once, sorted: what the site stocks, by what came in. A
// package received whole gives the package's key (ReceivedProduct). It
// is one lookup in the store's index of received products
// (Store.ReceivedProducts), which Append keeps, whatever the number of
// movements held: for a command such as publishing the site's catalogue
// from the national index (sync/central/nationaldb), and for the API.
func ReceivedProducts(ctx context.Context, st Store, site string) ([]string, error) {
	return st.ReceivedProducts(ctx, site)
}

// ReceivedProduct returns the product key of the item m received: the
// product its item key names (code.SplitKey), else its GTIN; "" for a
// movement that is no receive, or names no product.
func ReceivedProduct(m *agent.Movement) string {
	if m.Kind != agent.KindReceive {
		return ""
	}
	if p := code.SplitKey(m.Item).Product; p != "" {
		return p
	}
	return m.GTIN
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
