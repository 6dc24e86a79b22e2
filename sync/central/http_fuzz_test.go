package central_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
)

// vectorCodes are the item codes and tag EPCs of the shared test vectors
// (testdata/vectors/codes.json at the module root: GS1 element strings, Digital Link URIs, HIBC, SGTIN hex).
func vectorCodes(f *testing.F) []string {
	b, err := os.ReadFile("../../testdata/vectors/codes.json")
	if err != nil {
		f.Fatal(err)
	}
	var v map[string]json.RawMessage
	if err := json.Unmarshal(b, &v); err != nil {
		f.Fatal(err)
	}
	var codes []string
	for _, set := range []string{"gs1", "gs1_digital_link", "hibc", "sgtin96", "sgtin198"} {
		var entries []struct {
			Input    string `json:"input"`
			InputHex string `json:"input_hex"`
		}
		if err := json.Unmarshal(v[set], &entries); err != nil {
			f.Fatal(err)
		}
		for _, e := range entries {
			codes = append(codes, e.Input, e.InputHex)
		}
	}
	return codes
}

// FuzzTraceQuery sends any query string to the centre's GET /v1/trace,
// over a real (empty) store: the answer is 200 with the code asked for,
// or 400 with an error saying what is wrong, always JSON; never a
// failure of the server.
func FuzzTraceQuery(f *testing.F) {
	for _, c := range vectorCodes(f) {
		if c != "" {
			f.Add(url.Values{"code": {c}}.Encode())
			f.Add(url.Values{"code": {c[:len(c)/2]}}.Encode())
		}
	}
	for _, q := range []string{
		"code=%2801%2909506000134352%2821%29SN1", "code=3034257BF7194E4000001A85", "code=urn:epc:id:sgtin:0614141.812345.6789",
		"code=30342", "code=ZZZZ", "code=", "", "code=x&include_patient=maybe", "code=%zz", "code=a&code=b", "include_patient=1",
		"code=%2801%2909506000134352&include_patient=true",
	} {
		f.Add(q)
	}
	h := fuzzService(f)
	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest(http.MethodGet, "/v1/trace", nil)
		req.URL.RawQuery = query
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		var body struct {
			Error string `json:"error"`
			Code  string `json:"code"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatalf("%q: %d, not JSON: %q", query, w.Code, w.Body.String())
		}
		switch w.Code {
		case http.StatusOK:
			if q, _ := url.ParseQuery(query); body.Code != q.Get("code") {
				t.Fatalf("%q: answered for %q", query, body.Code)
			}
		case http.StatusBadRequest:
			if body.Error == "" {
				t.Fatalf("%q: 400 without a reason", query)
			}
		default:
			t.Fatalf("%q: %d %s", query, w.Code, w.Body.String())
		}
	})
}

// fuzzService returns the API of a centre of site h1 over a real (empty)
// bbolt store and an in-process MQTT connection.
func fuzzService(f *testing.F) http.Handler {
	store, err := boltstore.Open(filepath.Join(f.TempDir(), "central.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	svc, err := central.NewService(central.Config{Sites: []string{"h1"}, Store: store, Conn: testkit.NewConn()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { svc.Close() })
	if err := svc.Start(context.Background()); err != nil {
		f.Fatal(err)
	}
	return svc.Handler()
}

// controlRoutes are the centre's API requests other than the trace.
var controlRoutes = []struct{ method, path string }{
	{http.MethodGet, "/v1/gateways"},
	{http.MethodGet, "/v1/anomalies"},
	{http.MethodGet, "/v1/received"},
	{http.MethodGet, "/v1/stock"},
	{http.MethodGet, "/v1/supply/consumption"},
	{http.MethodGet, "/v1/supply/requests"},
	{http.MethodPost, "/v1/reconcile"},
	{http.MethodPost, "/v1/reconcile/fees"},
	{http.MethodPost, "/v1/master"},
}

// FuzzControlRequests sends any query and body to each other request of
// the centre's API (gateways, anomalies, received, supply, reconcile,
// stock, fee reconciliation, master data publishing) over a real store: the
// answer is a success or a client's error (4xx) in JSON saying what is
// wrong, never a failure of the centre (5xx).
func FuzzControlRequests(f *testing.F) {
	for i, q := range []string{"", "site=h1", "site=h1&from=2026-11-01&to=2026-12-01", "site=h1&format=csv", "site=h1&supplier=x&format=json",
		"site=h1", "site=h1", "site=h1&set=recalls&format=csv"} {
		f.Add(uint8(i), q, []byte{})
	}
	f.Add(uint8(5), "site=h1", []byte(`[{"id":"JS1","item":"(01)09506000134352(21)S1","amount":"1.00"}]`))
	f.Add(uint8(6), "site=h1&format=csv", []byte("id,patient,case,insurance_code,item,gtin,lot,quantity,amount\nJS1,P1,K1,C1,,09506000134352,L1,1,12.5\n"))
	f.Add(uint8(7), "site=h1&set=recalls&format=csv", []byte("gtin,lot,reason\n09506000134352,L1,recall\n"))
	f.Add(uint8(7), "site=h1&set=catalogue&format=json&partial=true", []byte(`[{"gtin":"09506000134352","name":"x","unit_price":"1"},{"gtin":"1"}]`))
	f.Add(uint8(7), "site=h2&set=nonsense&format=xml&allow_empty=maybe", []byte("a"))
	h := fuzzService(f)
	f.Fuzz(func(t *testing.T, route uint8, query string, body []byte) {
		r := controlRoutes[int(route)%len(controlRoutes)]
		req := httptest.NewRequest(r.method, r.path, bytes.NewReader(body))
		req.URL.RawQuery = query
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %s?%s %q: %d %s", r.method, r.path, query, body, w.Code, w.Body.String())
		}
		if w.Code >= 400 {
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Fatalf("%s %s?%s: %d %q says nothing", r.method, r.path, query, w.Code, w.Body.String())
			}
		}
	})
}

// FuzzStockQuery sends any query string to the centre's GET /v1/stock,
// over a real store holding a gateway's movements and a catalogue with
// a package: the answer is the stock of the site asked, every line of
// the location asked and of one product when one is asked, none
// expiring after the days asked; or 400 with an error naming the
// parameter that is wrong; never anything else.
func FuzzStockQuery(f *testing.F) {
	for _, q := range []string{
		"site=st-marys", "site=st-marys&location=OR-3", "site=st-marys&location=WARD-2&product=06901234567038",
		"site=st-marys&product=6901234567045", "site=st-marys&product=06901234567052", "site=st-marys&product=(01)06901234567014(21)S1",
		"site=st-marys&product=https%3A%2F%2Fid.gs1.org%2F01%2F06901234567014", "site=st-marys&product=%2BH123PROD1",
		"site=st-marys&product=6901234567046", "site=st-marys&product=gauze", "site=st-marys&expiring=0", "site=st-marys&expiring=432",
		"site=st-marys&expiring=-1", "site=st-marys&expiring=1e3", "site=st-marys&expiring=99999999999999999999", "site=north", "",
		"site=st-marys&site=north", "site=%zz", "location=OR-3", "site=st-marys&product=&expiring=&location=",
	} {
		f.Add(q)
	}
	for _, c := range vectorCodes(f) {
		if c != "" {
			f.Add(url.Values{"site": {site}, "product": {c}}.Encode())
		}
	}
	store, err := boltstore.Open(filepath.Join(f.TempDir(), "central.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	feed(f, store, supplyLedger(f))
	svc, err := central.NewService(central.Config{Sites: []string{site}, Store: store, Conn: testkit.NewConn(),
		Catalogue: supplyCatalogue(f), Now: func() time.Time { return day0 }})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { svc.Close() })
	h := svc.Handler()
	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest(http.MethodGet, "/v1/stock", nil)
		req.URL.RawQuery = query
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		v, _ := url.ParseQuery(query)
		switch w.Code {
		case http.StatusOK:
			var rep central.SiteStockReport
			if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil || rep.Site != v.Get("site") || rep.Gateways == nil {
				t.Fatalf("%q: %v %s", query, err, w.Body.String())
			}
			days, _ := strconv.Atoi(v.Get("expiring"))
			for _, g := range rep.Gateways {
				products := map[string]bool{}
				for _, l := range g.Lines {
					products[l.Product] = true
					if loc := v.Get("location"); loc != "" && l.Location != loc {
						t.Fatalf("%q: a line of %s", query, l.Location)
					}
					if days > 0 && (l.DaysLeft == nil || *l.DaysLeft > days) {
						t.Fatalf("%q: a line expiring in %v days", query, l.DaysLeft)
					}
				}
				if v.Get("product") != "" && len(products) > 1 {
					t.Fatalf("%q: lines of %d products", query, len(products))
				}
			}
		case http.StatusBadRequest:
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || !strings.Contains(e.Error, "parameter ") {
				t.Fatalf("%q: 400 %q names no parameter", query, w.Body.String())
			}
		default:
			t.Fatalf("%q: %d %s", query, w.Code, w.Body.String())
		}
	})
}
