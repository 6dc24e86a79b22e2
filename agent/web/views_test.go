package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/web"
)

// TestWarehouseView: stock against par (below first), expiring stock
// with its owner, the last cycle count's differences and the unknown
// tag it found to commission; the screen is told of each movement.
func TestWarehouseView(t *testing.T) {
	s := newSite(t, siteOptions{cfg: web.Config{Lang: web.LangEN, ExpiringDays: 60}})
	ctx := context.Background()
	soon := time.Now().AddDate(0, 0, 20).Format("060102")
	s.scan("desk", label(gtinDomestic, soon, "L1", "W1"), label(gtinDomestic, "291231", "L2", "W2"))
	all := s.follow("/events", "")
	s.scan("desk", label(gtinImported, "291231", "P1", "W3"))
	if ev := all.until("movement"); ev != "desk" {
		t.Errorf("movement event names %q", ev)
	}
	sess, err := s.g.StartCount(ctx, core.CountRequest{Location: "WH", Stations: []string{"hand"}})
	if err != nil {
		t.Fatal(err)
	}
	s.scan("hand", label(gtinDomestic, "291231", "L2", "W2"), label(gtinImported, "291231", "P1", "W3"), label(gtinDomestic, "291231", "L9", "ZZ9"))
	if _, err := s.g.EndCount(ctx, sess.ID, ""); err != nil {
		t.Fatal(err)
	}
	page := s.get("/warehouse", "")
	for _, want := range []string{
		`<tr class="block"><td>WH</td><td>bone screw <span class="key">` + gtinDomestic + `</span></td><td>2</td><td>3</td><td>6</td><td>below</td>`,
		"Expiring soon (≤ 60 d)", `<td>L1</td>`, "hospital",
		"Last cycle count", "Found 3", "missing", key(gtinDomestic, "W1"),
		`id="commission"`, key(gtinDomestic, "ZZ9"),
	} {
		if !strings.Contains(page, want) {
			t.Errorf("warehouse page lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(page)
	}
	if strings.Contains(page, `<td>L2</td>`) {
		t.Errorf("a lot expiring in 2029 is listed as expiring within 60 days")
	}
	part := s.get("/warehouse?part=1&location=WH", "")
	if strings.Contains(part, "<html") || !strings.Contains(part, `id="pars"`) {
		t.Errorf("the part is not the body alone:\n%s", part)
	}
}

// TestAuditView: an item's trace, anomalies, reconcile and verify; the
// auditor's view changes nothing, and shows the patient only to a role
// that may see it.
func TestAuditView(t *testing.T) {
	ts, tok := tokens(t)
	s := newSite(t, siteOptions{cfg: web.Config{Lang: web.LangEN, Tokens: ts}})
	s.scan("or3", "]C0"+wristband, label(gtinDomestic, "281231", "L1", "A1"), label(gtinDomestic, "281231", "L1", "A1"))
	last := s.l.LastSeq()
	item := url.QueryEscape(key(gtinDomestic, "A1"))
	local := s.get("/audit?code="+item, "")
	if !containsAll(local, `id="trace"`, "already used", web.MaskPatient(patient)) || strings.Contains(local, patient) {
		t.Fatalf("local trace:\n%s", local)
	}
	full := s.get("/audit?code="+item, tok[web.RoleAuditor])
	if !strings.Contains(full, `<td class="patient">`+patient+`</td>`) {
		t.Fatalf("the auditor's trace does not show the patient:\n%s", full)
	}
	if p := s.get("/audit?show=anomalies", tok[web.RoleAuditor]); !containsAll(p, `id="findings"`, "never-received", "Anomalies (1)") {
		t.Errorf("anomalies:\n%s", p)
	}
	if p := s.get("/audit?show=reconcile", ""); !strings.Contains(p, `id="findings"`) {
		t.Errorf("reconcile:\n%s", p)
	}
	if p := s.get("/audit?show=verify", ""); !containsAll(p, "The hash chain is intact", "Movements 3") {
		t.Errorf("verify:\n%s", p)
	}
	if p := s.get("/audit?code=%2B%2B%2B", ""); !strings.Contains(p, `class="error"`) {
		t.Errorf("a code that cannot be read:\n%s", p)
	}
	if s.l.LastSeq() != last {
		t.Errorf("the auditor's view recorded movements")
	}
}

// TestRoles: with credentials required, each role reaches what it may
// and is refused the rest; a browser signs in once with its token, kept
// in a cookie.
func TestRoles(t *testing.T) {
	ts, tok := tokens(t)
	s := newSite(t, siteOptions{cfg: web.Config{Lang: web.LangEN, Tokens: ts, AuthAlways: true}})
	s.scan("or3", "]C0"+wristband, label(gtinImported, "281231", "P1", "S7"))
	nurse, wh, aud := tok[web.RoleNurse], tok[web.RoleWarehouse], tok[web.RoleAuditor]
	justify := url.Values{"item": {key(gtinImported, "S7")}, "reason": {"R01"}}
	for _, c := range []struct {
		method, path, token string
		form                url.Values
		want                int
	}{
		{"GET", "/station/or3", "", nil, http.StatusUnauthorized},
		{"GET", "/station/or3", strings.Repeat("x", 40), nil, http.StatusUnauthorized},
		{"GET", "/events?station=or3", "", nil, http.StatusUnauthorized},
		{"GET", "/station/or3", nurse, nil, http.StatusOK},
		{"GET", "/warehouse", nurse, nil, http.StatusForbidden},
		{"GET", "/audit", nurse, nil, http.StatusForbidden},
		{"GET", "/events", nurse, nil, http.StatusForbidden},
		{"GET", "/warehouse", wh, nil, http.StatusOK},
		{"GET", "/audit", wh, nil, http.StatusForbidden},
		{"POST", "/station/or3/close", wh, nil, http.StatusForbidden},
		{"POST", "/station/or3/justify", wh, justify, http.StatusForbidden},
		{"GET", "/audit", aud, nil, http.StatusOK},
		{"GET", "/warehouse", aud, nil, http.StatusOK},
		{"POST", "/station/or3/justify", aud, justify, http.StatusForbidden},
		{"POST", "/station/or3/close", aud, nil, http.StatusForbidden},
		{"GET", "/static/page.js", "", nil, http.StatusOK},
	} {
		if code, body := s.do(c.method, c.path, c.token, c.form); code != c.want {
			t.Errorf("%s %s as %.8s: %d, want %d: %s", c.method, c.path, c.token, code, c.want, body)
		}
	}
	// The auditor's refusals recorded nothing; the nurse justifies, as
	// the token's name.
	code, _ := s.do(http.MethodPost, "/station/or3/justify", nurse, justify)
	if code != http.StatusOK {
		t.Fatalf("nurse justify: %d", code)
	}
	tr, err := s.g.Trace(context.Background(), core.TraceQuery{Key: key(gtinImported, "S7")})
	if err != nil || len(tr.Movements) != 2 || tr.Movements[1].Actor != "nurse-1" {
		t.Fatalf("trace: %+v %v", tr.Movements, err)
	}
	// A role's page shows only what it may do.
	if p := s.get("/station/or3", aud); strings.Contains(p, `data-action="close"`) || strings.Contains(p, `href="/audit"`) == false {
		t.Errorf("auditor's station page offers CLOSE CASE or lacks the audit link")
	}
	if p := s.get("/", nurse); strings.Contains(p, `href="/warehouse"`) || !strings.Contains(p, `href="/station/or3"`) {
		t.Errorf("nurse's index:\n%s", p)
	}
	// Sign in: the token becomes a cookie, then the screen goes on.
	res, err := noRedirect.Get(s.url + "/login?token=" + nurse + "&next=/station/or3")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var c *http.Cookie
	for _, x := range res.Cookies() {
		if x.Name == web.TokenCookie {
			c = x
		}
	}
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/station/or3" || c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Fatalf("sign in: %d %q %+v", res.StatusCode, res.Header.Get("Location"), c)
	}
	res, err = noRedirect.Get(s.url + "/login?token=" + nurse + "&next=//evil.example/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Location") != "/" {
		t.Errorf("sign in went on to %q", res.Header.Get("Location"))
	}
	if code, body := s.do("GET", "/login?token=wrong", "", nil); code != http.StatusUnauthorized || !strings.Contains(body, "Unknown token") {
		t.Errorf("a wrong token: %d", code)
	}
	for _, tk := range []string{nurse, wh, aud} {
		if strings.Contains(s.logs.String(), tk) {
			t.Fatalf("a token was logged")
		}
	}
}

// TestExposure: beyond loopback the page needs TLS and credentials;
// AuthAlways needs credentials.
func TestExposure(t *testing.T) {
	for _, c := range []struct {
		addr       string
		tls, creds bool
		want       error
	}{
		{"127.0.0.1:8780", false, false, nil},
		{"[::1]:8780", false, false, nil},
		{"localhost:8780", false, false, nil},
		{"0.0.0.0:8780", false, true, web.ErrNoTLS},
		{":8780", true, false, web.ErrNoCredentials},
		{"10.1.2.3:8780", true, true, nil},
	} {
		if err := web.CheckExposure(c.addr, c.tls, c.creds); !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s tls=%v creds=%v: %v, want %v", c.addr, c.tls, c.creds, err, c.want)
		}
	}
	s := newSite(t, siteOptions{})
	p, err := web.New(s.g, web.Config{AuthAlways: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Check("127.0.0.1:1"); !errors.Is(err, web.ErrNoCredentials) {
		t.Errorf("AuthAlways without credentials: %v", err)
	}
}

// TestTokensFile: the page's credentials files are agent/access's
// (tested there) with the page's roles, nurse, warehouse and auditor,
// and the page's *CredentialsError naming file and line, never the
// token.
func TestTokensFile(t *testing.T) {
	long := strings.Repeat("a", 40)
	for _, c := range []struct{ file, want string }{
		{long + " nurse n1\n" + long + " auditor n2\n", "page: tokens line 2: the same token as line 1"},
		{long + " operator n1\n", `page: tokens line 1: unknown role "operator": want nurse, warehouse or auditor`},
		{long + " local n1\n", `unknown role "local"`},
		{"# nothing\n", "page: tokens: no token"},
	} {
		_, err := web.ParseTokens("tokens", strings.NewReader(c.file))
		var ce *web.CredentialsError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), long) || !errors.Is(err, web.ErrCredentials) {
			t.Errorf("%q: %v, want %q", c.file, err, c.want)
		}
	}
	for _, c := range []struct{ file, want string }{
		{"operator cn:x\n", `page: roles line 1: unknown role "operator": want nurse, warehouse or auditor`},
		{"", "page: roles: no rule in it"},
	} {
		_, err := web.ParseCertRoles("roles", strings.NewReader(c.file), nil)
		var ce *web.CredentialsError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.file, err, c.want)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens")
	if err := os.WriteFile(path, []byte(long+" warehouse w1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var ce *web.CredentialsError
	if _, err := web.LoadTokens(path); !errors.As(err, &ce) || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("mode 0644: %v", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if ts, err := web.LoadTokens(path); err != nil {
		t.Error(err)
	} else if p, ok := ts.Lookup(long); !ok || p != (web.Principal{Name: "w1", Role: web.RoleWarehouse}) {
		t.Errorf("Lookup: %+v %v", p, ok)
	}
}
