package central_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
	"github.com/udi-edge/udi-edge/sync/wire"
)

func get(t *testing.T, srv *httptest.Server, path string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("GET %s: content type %q", path, ct)
	}
	return resp.StatusCode, b
}

func TestAPI(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(f.svc.Handler())
	defer srv.Close()

	// Two gateways: the ward receives and commissions the implant, the OR
	// uses it. Their movements interleave in time.
	item, tag := "(01)09506000134352(21)IMPLANT-1", "urn:epc:raw:64.xE280689400005001"
	ward := testkit.NewLedger(site, "ward-1", created)
	m := testkit.Movement(1, item)
	m.Kind = agent.KindReceive
	ward.Add(t, m)
	m = testkit.Movement(2, item)
	m.Kind, m.Tag = agent.KindCommission, tag
	ward.Add(t, m)
	or := testkit.NewLedger(site, "or-3", created)
	or.AddN(t, 1)
	or.Add(t, testkit.Movement(5, item)) // a use, at 10:00:05
	f.send(ward, 1, 2)
	f.send(or, 1, 2)
	f.published(2)

	code, body := get(t, srv, "/v1/trace?code="+url.QueryEscape(item))
	if code != http.StatusOK {
		t.Fatalf("trace: %d %s", code, body)
	}
	var tr central.TraceResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		t.Fatal(err)
	}
	if tr.Code != item || len(tr.Movements) != 3 {
		t.Fatalf("trace: %s", body)
	}
	for i, want := range []string{"ward-1/1/receive", "ward-1/2/commission", "or-3/2/use"} {
		mv := tr.Movements[i]
		if got := mv.Gateway + "/" + string(rune('0'+mv.Seq)) + "/" + mv.Kind; got != want {
			t.Fatalf("movement %d is %s, want %s", i, got, want)
		}
		if mv.Site != site || mv.Created != created || len(mv.Hash) != 64 || mv.Case != "case-7" {
			t.Fatalf("movement %d: %+v", i, mv)
		}
	}
	if strings.Contains(string(body), secret) {
		t.Fatal("trace shows the patient without include_patient=1")
	}
	_, body = get(t, srv, "/v1/trace?include_patient=1&code="+url.QueryEscape(item))
	if !strings.Contains(string(body), `"patient":"`+secret+`"`) {
		t.Fatalf("trace with include_patient=1 lacks the patient: %s", body)
	}
	// The tag leads to the item it was commissioned to, whether it is
	// given as its key or as its EPC in hex, as a gateway's trace reads it.
	for _, code := range []string{tag, "E280689400005001"} {
		_, body = get(t, srv, "/v1/trace?code="+url.QueryEscape(code))
		if err := json.Unmarshal(body, &tr); err != nil || len(tr.Movements) != 3 || tr.Key != tag {
			t.Fatalf("trace of the tag as %s: %s", code, body)
		}
	}
	// The HRI and the scanner's form of the item find it too.
	for _, code := range []string{"(01)09506000134352(21)IMPLANT-1", "]d20109506000134352" + "21IMPLANT-1"} {
		_, body = get(t, srv, "/v1/trace?code="+url.QueryEscape(code))
		if err := json.Unmarshal(body, &tr); err != nil || len(tr.Movements) != 3 || tr.Key != item {
			t.Fatalf("trace of %q: %s", code, body)
		}
	}
	if code, body := get(t, srv, "/v1/trace?code="+url.QueryEscape("(01)09506000134352(21)NONE")); code != http.StatusOK || !strings.Contains(string(body), `"movements":[]`) {
		t.Fatalf("trace of an unknown item: %d %s", code, body)
	}
	if code, body := get(t, srv, "/v1/trace?code=nothing"); code != http.StatusBadRequest || !strings.Contains(string(body), "not an item code") {
		t.Fatalf("trace of a plain code: %d %s", code, body)
	}
	if code, _ := get(t, srv, "/v1/trace"); code != http.StatusBadRequest {
		t.Fatalf("trace without code: %d, want 400", code)
	}

	code, body = get(t, srv, "/v1/gateways")
	var gr central.GatewaysResponse
	if err := json.Unmarshal(body, &gr); code != http.StatusOK || err != nil || len(gr.Gateways) != 2 {
		t.Fatalf("gateways: %d %s", code, body)
	}
	if g := gr.Gateways[0]; g.Gateway != "or-3" || g.Seq != 2 || g.Counters.Stored != 2 || g.Hash != wire.HashHex(or.Hash(2)) {
		t.Fatalf("gateways[0] = %+v", g)
	}
	if code, body := get(t, srv, "/healthz"); code != http.StatusOK || jsonOf(t, body)["status"] != "ok" {
		t.Fatalf("healthz: %d %s", code, body)
	}

	// Master data over HTTP.
	post := func(query, data string) (int, []byte) {
		resp, err := http.Post(srv.URL+"/v1/master?"+query, "text/csv", strings.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if code, body := post("site=st-marys&set=recalls&format=csv", "gtin,lot,reason\n09506000134352,L1,recall\n"); code != http.StatusCreated || jsonOf(t, body)["version"] != float64(f.clock.Now().UnixMilli()) {
		t.Fatalf("POST master: %d %s", code, body)
	}
	if code, body := post("site=st-marys&set=nonsense&format=csv", "a\n"); code != http.StatusBadRequest {
		t.Fatalf("POST master of an unknown set: %d %s", code, body)
	}
	if code, body := get(t, srv, "/v1/nothing"); code != http.StatusNotFound || jsonOf(t, body)["error"] == nil {
		t.Fatalf("unknown path: %d %s", code, body)
	}
}

func TestAPIHealthWhenDisconnected(t *testing.T) {
	f := newFixture(t)
	_ = f.svc.Close()
	down := &downConn{Conn: testkit.NewConn()}
	svc, err := central.NewService(central.Config{Sites: []string{site}, Store: f.store, Conn: down})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	srv := httptest.NewServer(svc.Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("healthz while disconnected: %d, want 503", resp.StatusCode)
	}
}

// downConn is a Conn that reports no connection.
type downConn struct{ *testkit.Conn }

func (downConn) Connected() bool { return false }
