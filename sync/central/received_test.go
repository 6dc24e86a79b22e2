package central_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
	"github.com/udi-edge/udi-edge/sync/central/storetest"
)

// TestReceivedProducts: the products a site's gateways received, from
// every ledger and branch of the site and no other site, each once; an
// item only used (never received there) is not one; a box received whole
// gives the box's key; an MA and an HIBC item give their product keys.
func TestReceivedProducts(t *testing.T) {
	f := newFixture(t)
	store := f.store
	at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	mv := func(k agent.Kind, item string) agent.Movement {
		return agent.Movement{Time: at, Kind: k, Item: item, Location: "store", Decision: "accepted"}
	}
	const (
		stem = "(01)06901234567892(21)S1"
		box  = "(01)16901234567899(10)L7"
		ma   = "MA.156.M0.100350.01004YA10017.10.260101.11.280101.21.SN9"
		hibc = "+A123BJC5D61/SABC"
	)
	l := testkit.NewLedger(site, "store-1", created)
	l.Add(t, mv(agent.KindReceive, stem))
	l.Add(t, mv(agent.KindReceive, box))
	l.Add(t, mv(agent.KindUse, "(01)06901234560008(21)U1"))
	l.Add(t, mv(agent.KindReceive, stem))
	restored := testkit.NewLedger(site, "store-1", created)
	restored.Add(t, l.Movements[0])
	restored.Add(t, mv(agent.KindReceive, ma))
	other := testkit.NewLedger(site, "or-3", created)
	other.Add(t, mv(agent.KindReceive, hibc))
	elsewhere := testkit.NewLedger("north", "store-9", created)
	elsewhere.Add(t, mv(agent.KindReceive, "(01)06901234000015(21)N1"))
	storetest.MustAppend(t, store, l, 1, 4)
	if h, _, err := store.Append(context.Background(), site, "store-1", created, storetest.Stored(t, restored, 1, 2)); err != nil || h.Branch != 1 {
		t.Fatalf("branch %d, %v", h.Branch, err)
	}
	storetest.MustAppend(t, store, other, 1, 1)
	storetest.MustAppend(t, store, elsewhere, 1, 1)

	got, err := central.ReceivedProducts(context.Background(), store, site)
	want := []string{"+A123BJC5D61", "06901234567892", "16901234567899", "MA.156.M0.100350.01004YA10017"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("received %v, %v; want %v", got, err, want)
	}
	if got, err := central.ReceivedProducts(context.Background(), store, "nowhere"); err != nil || len(got) != 0 {
		t.Fatalf("a site with no ledgers: %v %v", got, err)
	}

	// The same through the API, for a command beside a running service.
	srv := httptest.NewServer(f.svc.Handler())
	defer srv.Close()
	code, body := get(t, srv, "/v1/received?site="+site)
	var rr central.ReceivedResponse
	if err := json.Unmarshal(body, &rr); code != http.StatusOK || err != nil || rr.Site != site || !reflect.DeepEqual(rr.Products, want) {
		t.Fatalf("GET /v1/received: %d %s", code, body)
	}
	if code, body := get(t, srv, "/v1/received?site=north"); code != http.StatusBadRequest || !strings.Contains(string(body), "not one of the sites served") {
		t.Fatalf("a site not served: %d %s", code, body)
	}
}
