package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
	"github.com/udi-edge/udi-edge/agent/master"
)

// pageData is what every template is given.
type pageData struct {
	L lang
	P Principal
	// Path is the page's path and query without lang and token, for the
	// language switch: a sign-in refused never shows the token it was
	// sent.
	Path     string
	Message  string
	Next     string
	Stations []agent.Station
	Station  *stationPage
	WH       *warehousePage
	Audit    *auditPage
}

// LangLink returns the page's address in the other language.
func (d pageData) LangLink() string {
	u, err := url.Parse(d.Path)
	if err != nil {
		return "/?lang=" + d.L.Other()
	}
	q := u.Query()
	q.Set("lang", d.L.Other())
	u.RawQuery = q.Encode()
	return u.String()
}

// May reports whether the user may do what perm names ("act",
// "warehouse", "audit"), for the templates' links and buttons.
func (d pageData) May(perm string) bool {
	switch perm {
	case "act":
		return d.P.Role.May(PermAct)
	case "warehouse":
		return d.P.Role.May(PermWarehouse)
	case "audit":
		return d.P.Role.May(PermAudit)
	}
	return false
}

var funcs = template.FuncMap{
	"deref": func(p *int) int {
		if p == nil {
			return 0
		}
		return *p
	},
}

// render writes template name with d.
func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, name string, d pageData) {
	if d.Path == "" {
		u := *r.URL
		q := u.Query()
		q.Del("lang")
		q.Del("token")
		u.RawQuery = q.Encode()
		d.Path = u.RequestURI()
	}
	var b bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&b, name, d); err != nil {
		s.log.Error("page template failed", "template", name, "err", err)
		http.Error(w, "the page could not be drawn", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(b.Bytes())
}

func (s *Server) data(w http.ResponseWriter, r *http.Request, station string) pageData {
	p, _ := PrincipalFrom(r.Context())
	return pageData{L: s.pick(w, r, station), P: p}
}

// index lists the stations and views the user may open.
func (s *Server) index(w http.ResponseWriter, r *http.Request) error {
	d := s.data(w, r, "")
	d.Stations = s.core.Stations()
	s.render(w, r, http.StatusOK, "index", d)
	return nil
}

// stationPage is a station's screen.
type stationPage struct {
	ID       string
	Location string
	Kind     agent.Kind
	View     view
	Rows     []row
	Pending  []row
	Reasons  []Reason
	CanClose bool
}

// row is a scan in plain words.
type row struct {
	Scan
	Name     string
	Headline string
	Why      []string
	// Class is the row's colour: ok, warn, block, fail or ctx.
	Class string
}

// rowOf puts s in plain words in l; reasons name the codes of
// justifications.
func rowOf(s Scan, l lang, d *master.Data, reasons []Reason) row {
	r := row{Scan: s}
	if s.Product != "" {
		if e, ok := d.Lookup(s.Product); ok {
			r.Name = e.Name
		}
	}
	checks := func() {
		for _, f := range s.Flags {
			if k, ok := checkTexts[lifecycle.CheckCode(f)]; ok {
				r.Why = append(r.Why, l.T(k))
			}
		}
		if len(r.Why) == 0 && s.Reason != "" {
			r.Why = []string{s.Reason}
		}
	}
	_, _, cancelled := agent.Cancelled(agent.Movement{Kind: s.Kind, Reason: s.Reason})
	switch {
	case s.Verdict == agent.VerdictFailed:
		// Why, in words a nurse can act on: a full disk will refuse every
		// scan until someone frees space.
		r.Class, r.Headline, r.Why = "fail", l.T("v_failed"), []string{l.T("fail_ledger")}
		switch {
		case s.DiskFull:
			r.Why = []string{l.T("fail_disk_full")}
		case s.Err != "":
			r.Why = []string{l.T("fail_ledger") + ": " + s.Err}
		}
	case s.Verdict == agent.VerdictRejected:
		r.Class, r.Headline, r.Why = "block", l.T("v_rejected"), []string{s.Reason}
	case slices.Contains(s.Flags, agent.FlagJustification):
		r.Class, r.Headline = "ok", l.T("ctx_justification")
		code := justificationCode(s.Reason)
		r.Why = []string{code}
		if i := slices.IndexFunc(reasons, func(x Reason) bool { return x.Code == code }); i >= 0 {
			r.Why = []string{code + " · " + reasons[i].Text(l)}
		}
	case s.Kind == agent.KindContext:
		r.Class, r.Headline = "ctx", s.Reason
		if k, ok := contextTexts[s.Reason]; ok {
			r.Headline = l.T(k)
		}
	case cancelled:
		r.Class, r.Headline = "ctx", l.T("ctx_cancel")
	case s.Verdict == agent.VerdictBlocked:
		r.Class, r.Headline = "block", l.T("v_blocked")
		checks()
	case s.Decision == agent.DecisionPending:
		r.Class, r.Headline = "warn", l.T("v_pending")
		checks()
	case s.Verdict == agent.VerdictWarned:
		r.Class, r.Headline = "warn", l.T("v_warned")
		checks()
	default:
		r.Class, r.Headline = "ok", l.T("v_accepted")
	}
	return r
}

// justificationCode reads the reason code back from a justification's
// Reason (agent.Justify: "necessity justification CODE for use SEQ").
func justificationCode(reason string) string {
	rest, ok := strings.CutPrefix(reason, "necessity justification ")
	if !ok {
		return reason
	}
	code, _, _ := strings.Cut(rest, " for use ")
	return code
}

// stationPage builds station id's screen for the user of r.
func (s *Server) stationPage(ctx context.Context, id string, l lang) (*stationPage, error) {
	st, ok := s.core.Station(id)
	if !ok {
		return nil, fmt.Errorf("%w: %q", core.ErrNoStation, id)
	}
	if !s.state.seededAlready(id) {
		ms, err := s.core.Recent(ctx, id, MaxScans)
		if err != nil {
			return nil, err
		}
		s.state.seed(id, ms)
	}
	// A use justified elsewhere (the command line, another screen) is
	// pending no longer.
	s.state.settle(id, func(p Scan) bool {
		use, ok, err := s.core.PendingUse(ctx, p.Item)
		return err != nil || ok && use.Seq == p.Seq
	})
	c, err := s.core.StationContext(id)
	if err != nil {
		return nil, err
	}
	v := s.state.view(id, c)
	d := s.core.Master()
	p := &stationPage{ID: id, Location: st.Location, Kind: st.Kind, View: v, Reasons: s.cfg.Reasons, CanClose: s.core.CanCloseCase()}
	for _, sc := range v.Scans {
		p.Rows = append(p.Rows, rowOf(sc, l, d, s.cfg.Reasons))
	}
	for _, sc := range v.Pending {
		p.Pending = append(p.Pending, rowOf(sc, l, d, s.cfg.Reasons))
	}
	return p, nil
}

func (s *Server) station(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	d := s.data(w, r, id)
	var err error
	if d.Station, err = s.stationPage(r.Context(), id, d.L); err != nil {
		if errors.Is(err, core.ErrNoStation) {
			http.NotFound(w, r)
			return nil
		}
		return err
	}
	s.render(w, r, http.StatusOK, "station", d)
	return nil
}

// live renders a station's live part alone (what its screen replaces on
// each event).
func (s *Server) live(ctx context.Context, d pageData, id string) ([]byte, error) {
	var err error
	if d.Station, err = s.stationPage(ctx, id, d.L); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&b, "live", d); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// justify records the reason chosen for a use pending at the station,
// and answers the station's live part.
func (s *Server) justify(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, ok := s.core.Station(id); !ok {
		return fmt.Errorf("%w: %q", core.ErrNoStation, id)
	}
	if err := r.ParseForm(); err != nil {
		return fmt.Errorf("%w: the form: %v", ErrBadRequest, err)
	}
	item, code := r.PostForm.Get("item"), r.PostForm.Get("reason")
	if !slices.ContainsFunc(s.cfg.Reasons, func(x Reason) bool { return x.Code == code }) {
		return fmt.Errorf("%w: reason %q is not one of the reasons offered", ErrBadRequest, code)
	}
	c, err := s.core.StationContext(id)
	if err != nil {
		return err
	}
	v := s.state.view(id, c)
	if item == "" {
		return fmt.Errorf("%w: item: none given", ErrBadRequest)
	}
	if !slices.ContainsFunc(v.Pending, func(p Scan) bool { return p.Item == item }) {
		return fmt.Errorf("%w: item %q: no use of it at station %s waits for a justification", ErrBadRequest, item, id)
	}
	p, _ := PrincipalFrom(r.Context())
	actor := p.Name
	if p.Role == RoleLocal {
		// The station's own screen: whoever's badge it last read.
		actor = v.Actor
	}
	m, err := s.core.Justify(r.Context(), item, code, actor)
	if err != nil {
		return err
	}
	s.log.Info("justification recorded from the page", "station", id, "item", item, "seq", m.Seq, "reason", code, "by", p.Name)
	// The core wrote it itself: no station answer tells of it.
	s.Publish(id, agent.Outcome{Verdict: agent.VerdictAccepted, Movement: m})
	d := s.data(w, r, id)
	b, err := s.live(r.Context(), d, id)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
	return nil
}

// closeCase closes the station's case as its close-case barcode would;
// the station's answer arrives on the live stream.
func (s *Server) closeCase(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.core.CloseCase(id); err != nil {
		return err
	}
	p, _ := PrincipalFrom(r.Context())
	s.log.Info("case closed from the page", "station", id, "by", p.Name)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(s.pick(w, r, id).T("close_sent")))
	return nil
}

// login takes a token (?token= or a form), checks it and keeps it in a
// cookie, then goes to ?next= (a path of this page).
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	l := s.pick(w, r, "")
	next := r.Form.Get("next")
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		next = "/"
	}
	token := r.Form.Get("token")
	if token == "" {
		s.render(w, r, http.StatusOK, "login", pageData{L: l, Next: next})
		return
	}
	if s.cfg.Tokens == nil {
		s.render(w, r, http.StatusUnauthorized, "login", pageData{L: l, Next: next, Message: "this page accepts no token"})
		return
	}
	p, ok := s.cfg.Tokens.Lookup(token)
	if !ok {
		s.log.Warn("page sign-in refused", "remote", r.RemoteAddr, "reason", "unknown token")
		s.render(w, r, http.StatusUnauthorized, "login", pageData{L: l, Next: next, Message: l.T("bad_token")})
		return
	}
	s.log.Info("page signed in", "remote", r.RemoteAddr, "name", p.Name, "role", string(p.Role))
	http.SetCookie(w, &http.Cookie{Name: TokenCookie, Value: token, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, next, http.StatusSeeOther)
}
