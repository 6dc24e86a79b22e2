package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/agent/api"
)

// queryRoutes are the local API's GET requests, each read from its path
// and query string alone.
var queryRoutes = []string{
	"/v1/status", "/v1/trace", "/v1/rejects", "/v1/anomalies", "/v1/reconcile", "/v1/verify",
	"/v1/export/epcis", "/v1/export/insurance", "/v1/inventory/z1", "/v1/master/catalogue",
	"/v1/cases/K1/cost", "/v1/implants", "/v1/procurement", "/v1/stock", "/v1/forecast",
	"/v1/counts", "/v1/counts/S1",
}

// FuzzQueries sends any query string (and a path segment) to each GET
// request of the local API, served by a real core over a real ledger:
// the answer is a success or a client's error (4xx) in JSON naming its
// kind and what is wrong, never a failure of the agent (5xx).
func FuzzQueries(f *testing.F) {
	seeds := []string{
		"", "code=(01)09520123456788(21)S001", "code=%5Dd20109520123456788", "key=(01)09520123456788(21)S001",
		"code=urn:epc:id:sgtin:9520123.045678.S001", "code=300833B2DDD9014000000001", "code=MA.156.M0.100350.01004YA10017.S2611A0042",
		"station=or3&since=2026-12-01T00:00:00Z", "since=yesterday", "link_within=10m", "link_within=-1h",
		"from=5&include_patient=true", "from=2026-12-01&to=2026-11-01", "from=x", "case=K1&drop_gs=true",
		"location=warehouse&product=09520123456788&expiring_days=30", "expiring_days=0", "expiring_days=99999999999999999999",
		"patient=P1", "format=csv", "code=%ff%fe", "code=" + strings.Repeat("9", 300),
	}
	for i := range queryRoutes {
		for _, q := range seeds {
			f.Add(uint8(i), "", q)
		}
	}
	f.Add(uint8(8), "z%2F..", "")
	f.Add(uint8(10), "K%00", "")
	client := serveFuzz(f)
	f.Fuzz(func(t *testing.T, route uint8, segment, query string) {
		p := queryRoutes[int(route)%len(queryRoutes)]
		if segment != "" {
			// The last segment (a zone, a case, a session) is the client's.
			p = p[:strings.LastIndexByte(p, '/')+1] + segment
		}
		bad := func(c rune) bool { return c <= ' ' || c == 0x7f || c == '#' || c == '?' }
		if strings.ContainsFunc(query, bad) || strings.ContainsFunc(segment, bad) {
			return // not a request line: net/http refuses it before the API sees it
		}
		u := "http://agent" + p
		if query != "" {
			u += "?" + query
		}
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			return // not a request a client can send
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
		}
		if resp.StatusCode >= 400 && resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			var e api.ErrorResponse
			if err := json.Unmarshal(b, &e); err != nil || e.Error == "" || e.Kind == "" {
				t.Fatalf("GET %s: %d %q says nothing", u, resp.StatusCode, b)
			}
		}
	})
}
