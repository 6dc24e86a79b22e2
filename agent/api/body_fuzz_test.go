package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/core"
)

// bodyRoutes are the local API's requests that read a body or change
// the ledger from what a client sends.
var bodyRoutes = []struct{ method, path string }{
	{http.MethodPost, "/v1/justify"},
	{http.MethodPost, "/v1/loans"},
	{http.MethodPost, "/v1/counts"},
	{http.MethodPost, "/v1/counts/cabinet"},
	{http.MethodPost, "/v1/counts/S1/end"},
	{http.MethodPost, "/v1/counts/S1/adjust"},
	{http.MethodPost, "/v1/doors/z1"},
	{http.MethodPost, "/v1/reconcile/fees"},
	{http.MethodPut, "/v1/master/recalls"},
	{http.MethodPut, "/v1/master/catalogue"},
	{http.MethodPut, "/v1/master/settlements"},
	{http.MethodPut, "/v1/master/nonsense"},
}

// FuzzRequestBodies sends any body and query, over the control socket
// as the agent's own user, to each request of the local API that reads
// a body (justify, loans, counts, doors, fee reconciliation, master data
// import), served by a real core over a real ledger: the answer is a
// success or a client's error (4xx) in JSON naming its kind and saying
// what is wrong, never a failure of the agent (5xx).
func FuzzRequestBodies(f *testing.F) {
	seeds := map[string][]string{
		"/v1/justify":            {`{"code":"(01)09520123456788(21)S001","reason":"R1"}`, `{"code":"","reason":" "}`, `{"code":"x","reason":"y","extra":1}`},
		"/v1/loans":              {`{"supplier":"华东医药","items":["(01)09520123456788(21)S900"]}`, `{"supplier":""}`, `[]`},
		"/v1/counts":             {`{"location":"warehouse","actor":"n1"}`, `{}`, `{"location":1}`},
		"/v1/counts/cabinet":     {`{"zone":"z1"}`, `{"zone":""}`},
		"/v1/counts/S1/end":      {`{"actor":"n1"}`, `{`},
		"/v1/counts/S1/adjust":   {`{"items":["a"],"apply":true}`, `{"apply":"yes"}`},
		"/v1/doors/z1":           {`{"open":true}`, `{"open":null}`},
		"/v1/reconcile/fees":     {`[{"item":"(01)09520123456788(21)S001","amount":"1.00"}]`, `not json`},
		"/v1/master/recalls":     {"gtin,lot,reason\n09520123456788,L1,recall\n", `[{"gtin":"09520123456788","lots":["L1"]}]`},
		"/v1/master/catalogue":   {"gtin,name,unit_price\n09520123456788,Stent,750.00\n", "gtin,name\n"},
		"/v1/master/settlements": {"id,patient,case,insurance_code,item,gtin,lot,quantity,amount\nJS1,P1,K1,C1,,09520123456788,L1,1,12.5\n"},
		"/v1/master/nonsense":    {"a\n"},
	}
	for i, r := range bodyRoutes {
		for _, body := range seeds[r.path] {
			f.Add(uint8(i), "", []byte(body))
			f.Add(uint8(i), "format=json&partial=true", []byte(body[:len(body)/2]))
		}
	}
	f.Add(uint8(8), "format=xml", []byte("x"))
	f.Add(uint8(8), "format=csv&encoding=gbk&allow_empty=maybe", []byte("gtin,lot\n"))
	client := serveFuzz(f)
	f.Fuzz(func(t *testing.T, route uint8, query string, body []byte) {
		r := bodyRoutes[int(route)%len(bodyRoutes)]
		u := "http://agent" + r.path
		if strings.ContainsFunc(query, func(c rune) bool { return c <= ' ' || c == 0x7f || c == '#' }) {
			return // not a request line: net/http refuses it before the API sees it
		}
		if query != "" {
			u += "?" + query
		}
		req, err := http.NewRequest(r.method, u, bytes.NewReader(body))
		if err != nil {
			return // not a request a client can send
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", r.method, u, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s %q: %d %s", r.method, u, body, resp.StatusCode, b)
		}
		if resp.StatusCode >= 400 {
			var e api.ErrorResponse
			if err := json.Unmarshal(b, &e); err != nil || e.Error == "" || e.Kind == "" {
				t.Fatalf("%s %s %q: %d %q says nothing", r.method, u, body, resp.StatusCode, b)
			}
		}
	})
}

// serveFuzz serves the local API of a core over a real ledger holding a
// few receipts, and returns an HTTP client of its control socket.
func serveFuzz(f *testing.F) *http.Client {
	l := ledgerWith(f, receipts(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC), "warehouse", "S%03d", 5))
	g, err := core.New(core.Config{}, core.Deps{Store: l, Master: l})
	if err != nil {
		f.Fatal(err)
	}
	return serveCore(f, g, api.Limits{}).httpClient()
}
