package web_test

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/agent/web"
)

// formRoutes are the page's requests that read what a browser sends:
// its forms (sign-in, justify, close case) and the queries of its views.
// A route's fields are what its 400 answers may name.
var formRoutes = []struct {
	method, path string
	fields       []string
}{
	{http.MethodPost, "/login", nil},
	{http.MethodGet, "/login", nil},
	{http.MethodPost, "/station/{id}/justify", []string{"form", "reason", "item"}},
	{http.MethodPost, "/station/{id}/close", nil},
	{http.MethodGet, "/station/{id}", nil},
	{http.MethodGet, "/warehouse", []string{"location"}},
	{http.MethodGet, "/audit", []string{"code"}},
	{http.MethodGet, "/", nil},
}

// FuzzForms sends any form body, query, station id and credential to
// each of the page's forms and views, served over a real core and
// ledger whose operating-room station has an open case and an imported
// item waiting for a justification: the answer is a success, a redirect,
// or a client's error (4xx) saying what is wrong, a 400 naming the field
// at fault; never a failure of the agent (5xx) but the documented 503 of
// a full queue (with Retry-After), never a dropped connection (a panic),
// and never the token a sign-in sent back in the page.
func FuzzForms(f *testing.F) {
	ts, toks := tokens(f)
	s := newSite(f, siteOptions{cfg: web.Config{Lang: web.LangEN, Tokens: ts}})
	s.scan("or3", wristband, label(gtinImported, "301231", "L1", "S1"), label(gtinImported, "301231", "L1", "S2"))
	creds := []string{"", toks[web.RoleNurse], toks[web.RoleWarehouse], toks[web.RoleAuditor], strings.Repeat("f", 64)}

	pending := key(gtinImported, "S1")
	for _, c := range []struct {
		route uint8
		id    string
		query string
		form  string
	}{
		{0, "", "", url.Values{"token": {toks[web.RoleNurse]}, "next": {"/station/or3"}}.Encode()},
		{0, "", "", url.Values{"token": {"not a token"}, "next": {"//evil.example"}}.Encode()},
		{1, "", "token=" + toks[web.RoleAuditor] + "&next=/audit", ""},
		{1, "", "next=/%5Cevil", ""},
		{2, "or3", "", url.Values{"item": {pending}, "reason": {"R01"}}.Encode()},
		{2, "or3", "", url.Values{"item": {key(gtinImported, "S2")}, "reason": {"R99"}}.Encode()},
		{2, "or3", "", url.Values{"item": {""}, "reason": {"R02"}}.Encode()},
		{2, "or3", "", "item=%zz&reason=R01"},
		{2, "desk", "", "item=x&reason=R01"},
		{2, "nowhere", "", ""},
		{3, "or3", "", ""},
		{3, "hand", "", ""},
		{3, "nowhere", "", "x=1"},
		{4, "or3", "lang=zh", ""},
		{4, "nowhere", "", ""},
		{5, "", "location=WH&part=1", ""},
		{5, "", "location=%00", ""},
		{6, "", "code=" + url.QueryEscape(pending) + "&show=anomalies", ""},
		{6, "", "code=]d2010952&show=verify", ""},
		{6, "", "show=reconcile", ""},
		{7, "", "lang=en", ""},
	} {
		for cred := range uint8(len(creds)) {
			f.Add(c.route, cred, c.id, c.query, []byte(c.form))
		}
		f.Add(c.route, uint8(len(creds)), c.id, c.query, []byte(c.form[:len(c.form)/2]))
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	f.Fuzz(func(t *testing.T, route, cred uint8, id, query string, form []byte) {
		r := formRoutes[int(route)%len(formRoutes)]
		if strings.ContainsFunc(query, func(c rune) bool { return c <= ' ' || c == 0x7f || c == '#' }) {
			return // not a request line: net/http refuses it before the page sees it
		}
		path := strings.Replace(r.path, "{id}", url.PathEscape(id), 1)
		u := s.url + path
		if query != "" {
			u += "?" + query
		}
		req, err := http.NewRequest(r.method, u, bytes.NewReader(form))
		if err != nil {
			return // not a request a client can send
		}
		token := creds[int(cred)%len(creds)]
		if r.method == http.MethodPost {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if cred/uint8(len(creds))%2 == 0 {
				req.Header.Set(web.ActionHeader, "1")
			}
		}
		if token != "" {
			req.AddCookie(&http.Cookie{Name: web.TokenCookie, Value: token})
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s %q: %v", r.method, u, form, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body := string(b)
		switch code := resp.StatusCode; {
		case code == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
		case code >= 500:
			t.Fatalf("%s %s %q: %d %s", r.method, u, form, code, body)
		case code == http.StatusBadRequest:
			if !slices.ContainsFunc(r.fields, func(field string) bool { return strings.Contains(body, field+" ") || strings.Contains(body, field+":") }) {
				t.Fatalf("%s %s %q: 400 names none of %q: %s", r.method, u, form, r.fields, body)
			}
		case code >= 400 && strings.TrimSpace(body) == "":
			t.Fatalf("%s %s %q: %d says nothing", r.method, u, form, code)
		}
		if r.path == "/login" {
			sent, _ := url.ParseQuery(query + "&" + string(form))
			for _, tok := range sent["token"] {
				if len(tok) >= 16 && strings.Contains(body, tok) {
					t.Fatalf("%s %s %q: the page shows the token sent: %s", r.method, u, form, body)
				}
			}
		}
	})
}
