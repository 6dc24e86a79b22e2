package central_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"

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
	h := svc.Handler()
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
