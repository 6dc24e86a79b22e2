package web_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/agent/station"
	"github.com/udi-edge/udi-edge/agent/testkit"
	"github.com/udi-edge/udi-edge/agent/web"
)

// The patient of the tests: the page must never show this whole, but
// to an auditor, nor log it.
const (
	patient       = "004217"
	wristband     = "PAT" + patient
	closeCode     = "CMD-CLOSE-CASE"
	gtinImported  = "09520123456788" // imported: a use waits for a justification
	gtinDomestic  = "06901234100013"
	gtinUncatalog = "06901234999990"
)

// label is a GS1 DataMatrix as a scanner sends it, AIM prefix first.
func label(gtin, expiry, lot, serial string) string {
	return "]d201" + gtin + "17" + expiry + "10" + lot + "\x1d21" + serial
}

// key is the item key of a GS1 label.
func key(gtin, serial string) string { return "(01)" + gtin + "(21)" + serial }

// site is a running gateway over a real ledger file with its page served
// on a free loopback port: an operating room's station, a warehouse
// desk and handheld.
type site struct {
	t    testing.TB
	l    *bolt.Ledger
	g    *core.Gateway
	page *web.Server
	url  string
	logs *testkit.LogBuffer
}

type siteOptions struct {
	noClose bool
	cfg     web.Config
}

func newSite(t testing.TB, opt siteOptions) *site {
	t.Helper()
	l, err := bolt.Open(bolt.Options{Path: filepath.Join(t.TempDir(), "ledger.db"), Gateway: "gw-1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	})
	s := &site{t: t, l: l, logs: &testkit.LogBuffer{}}
	log := slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	stations := map[string]agent.Station{
		"or3":  {ID: "or3", Location: "OR-3", Kind: agent.KindUse},
		"desk": {ID: "desk", Location: "WH", Kind: agent.KindReceive},
		"hand": {ID: "hand", Location: "WH", Kind: agent.KindStock},
	}
	patterns := &station.Patterns{Wristband: regexp.MustCompile(`^PAT(\d{6})$`), Case: regexp.MustCompile(`^CASE-(\S+)$`),
		Badge: regexp.MustCompile(`^BADGE-(\w+)$`), Commands: map[string]agent.Command{}}
	if !opt.noClose {
		patterns.Commands[closeCode] = agent.CmdCloseCase
	}
	s.g, err = core.New(core.Config{Stations: stations, Patterns: patterns, Live: true,
		Supply: core.SupplyConfig{Pars: []master.ParLevel{{Location: "WH", GTIN: gtinDomestic, Min: 3, Max: 6}}}},
		core.Deps{Store: l, Master: l, Log: log.With("component", "core")})
	if err != nil {
		t.Fatal(err)
	}
	cat := "gtin,name,unit_price,imported\n" + gtinImported + ",hip stem,6850.00,true\n" + gtinDomestic + ",bone screw,120.00,\n"
	if _, err := s.g.Import(context.Background(), "catalogue", strings.NewReader(cat), core.ImportOptions{Format: "csv"}); err != nil {
		t.Fatal(err)
	}
	cfg := opt.cfg
	cfg.Log = log.With("component", "page")
	if s.page, err = web.New(s.g, cfg); err != nil {
		t.Fatal(err)
	}
	s.g.OnAnswer = s.page.Publish
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.page.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		s.g.Wait()
		if strings.Contains(s.logs.String(), patient) {
			t.Errorf("a patient identifier was logged:\n%s", s.logs.String())
		}
	})
	s.url = "http://" + ln.Addr().String()
	return s
}

// scan sends raw (AIM prefix first) from station and waits for it to be
// answered.
func (s *site) scan(st string, raws ...string) {
	s.t.Helper()
	for _, raw := range raws {
		r := agent.Read{Source: st, Time: time.Now(), Raw: []byte(raw), Data: []byte(raw)}
		if strings.HasPrefix(raw, "]") {
			r.Symbology, r.Data = raw[:3], []byte(raw[3:])
		}
		s.g.Scan(r)
		s.g.Wait()
	}
}

// do sends a request as a browser would: with the token, if any, as
// its cookie; a POST from the page's own script.
func (s *site) do(method, path, token string, form url.Values) (int, string) {
	s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, s.url+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if method == http.MethodPost {
		req.Header.Set(web.ActionHeader, "1")
	}
	if token != "" {
		req.AddCookie(&http.Cookie{Name: web.TokenCookie, Value: token})
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

var noRedirect = &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// get is do for a GET that must answer 200.
func (s *site) get(path, token string) string {
	s.t.Helper()
	code, body := s.do(http.MethodGet, path, token, nil)
	if code != http.StatusOK {
		s.t.Fatalf("GET %s: %d %s", path, code, body)
	}
	return body
}

// stream is a live stream of the page, read event by event.
type stream struct {
	t      testing.TB
	events chan sse
	cancel func()
}

type sse struct{ name, data string }

func (s *site) follow(path, token string) *stream {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.AddCookie(&http.Cookie{Name: web.TokenCookie, Value: token})
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		s.t.Fatalf("GET %s: %d %s", path, res.StatusCode, res.Header.Get("Content-Type"))
	}
	st := &stream{t: s.t, events: make(chan sse, 256), cancel: cancel}
	go func() {
		defer res.Body.Close()
		defer close(st.events)
		r := bufio.NewReader(res.Body)
		var ev sse
		var data []string
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				if ev.name != "" || data != nil {
					ev.data = strings.Join(data, "\n")
					st.events <- ev
				}
				ev, data = sse{}, nil
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = append(data, strings.TrimPrefix(line, "data: "))
			}
		}
	}()
	s.t.Cleanup(cancel)
	return st
}

// until reads events until one named name holds every want; it fails
// the test after 10 s.
func (st *stream) until(name string, want ...string) string {
	st.t.Helper()
	timeout := time.After(10 * time.Second)
	var last string
	for {
		select {
		case ev, ok := <-st.events:
			if !ok {
				st.t.Fatalf("the stream ended; last %s event:\n%s", name, last)
			}
			if ev.name != name {
				continue
			}
			last = ev.data
			if containsAll(ev.data, want...) {
				return ev.data
			}
		case <-timeout:
			st.t.Fatalf("no %s event with %q within 10s; last:\n%s", name, want, last)
		}
	}
}

func containsAll(s string, want ...string) bool {
	for _, w := range want {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// tokens writes a tokens file of a token per role and returns them.
func tokens(t testing.TB) (*web.Tokens, map[web.Role]string) {
	t.Helper()
	toks := map[web.Role]string{}
	var b strings.Builder
	for i, r := range []web.Role{web.RoleNurse, web.RoleWarehouse, web.RoleAuditor} {
		tok := fmt.Sprintf("%x", sha256.Sum256([]byte{byte(i)}))
		toks[r] = tok
		if r == web.RoleAuditor {
			// The file need not hold the token itself.
			sum := sha256.Sum256([]byte(tok))
			tok = "sha256:" + hex.EncodeToString(sum[:])
		}
		fmt.Fprintf(&b, "%s %s %s-1\n", tok, r, r)
	}
	ts, err := web.ParseTokens("tokens", strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return ts, toks
}
