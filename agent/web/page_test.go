package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/web"
)

// TestStationLive: a station's screen follows its scans live: the case
// the wristband opened (the patient masked), each scan with its decision
// in plain words, the blocked one with why; the full patient identifier
// appears nowhere on the screen or in the log.
func TestStationLive(t *testing.T) {
	s := newSite(t, siteOptions{cfg: web.Config{Lang: web.LangEN}})
	live := s.follow("/events?station=or3", "")
	first := live.until("station", "No case open")
	if strings.Contains(first, "<html") {
		t.Fatalf("the live part is the whole page:\n%s", first)
	}
	s.scan("or3", "]C0"+wristband)
	got := live.until("station", "Open case", web.MaskPatient(patient), "Patient identified: case open")
	if web.MaskPatient(patient) != "•••217" {
		t.Fatalf("masked %q as %q", patient, web.MaskPatient(patient))
	}
	s.scan("or3", label(gtinDomestic, "281231", "L1", "A1"))
	got = live.until("station", "Accepted", "bone screw", key(gtinDomestic, "A1"))
	s.scan("or3", label(gtinDomestic, "281231", "L1", "A1"))
	got = live.until("station", "BLOCKED — do not use", "Already used")
	s.scan("or3", label(gtinDomestic, "240101", "L0", "A2"))
	got = live.until("station", "Expired")
	s.scan("or3", "]C0hello")
	got = live.until("station", "Not understood")
	for _, page := range []string{got, s.get("/station/or3", "")} {
		if strings.Contains(page, patient) {
			t.Fatalf("the patient identifier is shown unmasked:\n%s", page)
		}
	}
	// The newest scan first, in the order recorded.
	page := s.get("/station/or3", "")
	if i, j := strings.Index(page, "Not understood"), strings.Index(page, "Patient identified"); i < 0 || j < 0 || i > j {
		t.Errorf("scans not newest first:\n%s", page)
	}
}

// TestStationAfterRestart: a page opened after scans were recorded (the
// page restarted, the agent not) shows them from the ledger, the use
// still pending, and the case as the station's own context holds it,
// though the page heard none of it.
func TestStationAfterRestart(t *testing.T) {
	s := newSite(t, siteOptions{cfg: web.Config{Lang: web.LangEN}})
	s.g.OnAnswer = nil // the page hears nothing: as if it started later
	s.scan("or3", "]C0"+wristband, label(gtinImported, "281231", "P1", "S7"), label(gtinDomestic, "281231", "L1", "B1"))
	s.g.OnAnswer = s.page.Publish
	page := s.get("/station/or3", "")
	if !containsAll(page, "Justification needed", key(gtinImported, "S7"), "bone screw", "Patient identified", "Open case", "•••217") {
		t.Fatalf("page after restart:\n%s", page)
	}
	// CLOSE CASE scanned while the page hears nothing: the page shows
	// the station's case closed all the same.
	s.g.OnAnswer = nil
	s.scan("or3", "]C0"+closeCode)
	s.g.OnAnswer = s.page.Publish
	if page := s.get("/station/or3", ""); !strings.Contains(page, "No case open") || strings.Contains(page, "Open case") {
		t.Errorf("a case is shown open that the station no longer has:\n%s", page)
	}
}

// TestJustifyFromPage: the reasons are offered for an imported item's
// pending use; choosing one records the justification in the ledger (the
// use pending no longer), and the screen no longer asks. A change
// without the page's header, an unknown reason or an item not pending
// are refused and record nothing.
func TestJustifyFromPage(t *testing.T) {
	s := newSite(t, siteOptions{cfg: web.Config{Lang: web.LangEN}})
	ctx := context.Background()
	s.scan("or3", "]C0BADGE-N042", "]C0"+wristband, label(gtinImported, "281231", "P1", "S7"))
	item := key(gtinImported, "S7")
	page := s.get("/station/or3", "")
	if !containsAll(page, "Justification needed", "hip stem", `data-reason="R01"`, "No domestic product can replace it", `data-item="`+item+`"`) {
		t.Fatalf("no justification offered:\n%s", page)
	}
	last := s.l.LastSeq()
	req, _ := http.NewRequest(http.MethodPost, s.url+"/station/or3/justify", strings.NewReader(url.Values{"item": {item}, "reason": {"R02"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("a POST without the page's header: %v %v", res.StatusCode, err)
	}
	for _, bad := range []url.Values{
		{"item": {item}, "reason": {"R99"}},
		{"item": {key(gtinDomestic, "X")}, "reason": {"R02"}},
		{"reason": {"R02"}},
	} {
		if code, body := s.do(http.MethodPost, "/station/or3/justify", "", bad); code != http.StatusBadRequest {
			t.Errorf("%v: %d %s", bad, code, body)
		}
	}
	if s.l.LastSeq() != last {
		t.Fatalf("refused requests recorded movements")
	}
	code, body := s.do(http.MethodPost, "/station/or3/justify", "", url.Values{"item": {item}, "reason": {"R02"}})
	if code != http.StatusOK || strings.Contains(body, "Justification needed") || !containsAll(body, "Justification recorded", "R02 · Domestic product out of stock") {
		t.Fatalf("justify: %d\n%s", code, body)
	}
	if _, pending, err := s.g.PendingUse(ctx, item); err != nil || pending {
		t.Fatalf("the use is still pending in the ledger: %v %v", pending, err)
	}
	tr, err := s.g.Trace(ctx, core.TraceQuery{Key: item})
	if err != nil {
		t.Fatal(err)
	}
	j := tr.Movements[len(tr.Movements)-1]
	if !slices.Contains(j.Flags, agent.FlagJustification) || !strings.Contains(j.Reason, "necessity justification R02 for use") || j.Actor != "N042" {
		t.Fatalf("justification recorded as %+v", j)
	}
	// Once more: nothing is pending.
	if code, _ := s.do(http.MethodPost, "/station/or3/justify", "", url.Values{"item": {item}, "reason": {"R02"}}); code != http.StatusBadRequest {
		t.Errorf("a second justification: %d", code)
	}
}

// TestJustifiedElsewhere: a use justified from the command line (the
// core, not the page) is no longer offered.
func TestJustifiedElsewhere(t *testing.T) {
	s := newSite(t, siteOptions{cfg: web.Config{Lang: web.LangEN}})
	s.scan("or3", "]C0"+wristband, label(gtinImported, "281231", "P1", "S8"))
	if !strings.Contains(s.get("/station/or3", ""), "Justification needed") {
		t.Fatal("not pending")
	}
	if _, err := s.g.Justify(context.Background(), key(gtinImported, "S8"), "R01", "cli"); err != nil {
		t.Fatal(err)
	}
	if page := s.get("/station/or3", ""); strings.Contains(page, "Justification needed") {
		t.Fatalf("still offered:\n%s", page)
	}
}

// TestCloseCase: CLOSE CASE on the page closes the station's case as its
// barcode would: the station records "case closed" with the case, the
// next use has no case, and the screen shows none. Without a close-case
// barcode configured the page says so and records nothing.
func TestCloseCase(t *testing.T) {
	s := newSite(t, siteOptions{cfg: web.Config{Lang: web.LangEN}})
	live := s.follow("/events?station=or3", "")
	s.scan("or3", "]C0"+wristband, "]C0CASE-C77")
	live.until("station", "Open case", "C77", `data-action="close"`)
	code, body := s.do(http.MethodPost, "/station/or3/close", "", nil)
	if code != http.StatusAccepted {
		t.Fatalf("close: %d %s", code, body)
	}
	live.until("station", "No case open", "Case closed")
	s.g.Wait()
	var closed agent.Movement
	if err := s.l.Range(1, func(m agent.Movement) error { closed = m; return nil }); err != nil {
		t.Fatal(err)
	}
	if closed.Kind != agent.KindContext || closed.Reason != "case closed" || closed.Case != "C77" || closed.Patient != patient || closed.Station != "or3" {
		t.Fatalf("recorded %+v", closed)
	}
	s.scan("or3", label(gtinDomestic, "281231", "L1", "C1"))
	live.until("station", "No open case")

	n := newSite(t, siteOptions{noClose: true, cfg: web.Config{Lang: web.LangEN}})
	n.scan("or3", "]C0"+wristband)
	if page := n.get("/station/or3", ""); strings.Contains(page, `data-action="close"`) || !strings.Contains(page, "No close-case barcode") {
		t.Fatalf("page without a close-case barcode:\n%s", page)
	}
	last := n.l.LastSeq()
	if code, _ := n.do(http.MethodPost, "/station/or3/close", "", nil); code != http.StatusConflict {
		t.Errorf("close without a barcode: %d", code)
	}
	n.g.Wait()
	if n.l.LastSeq() != last {
		t.Errorf("recorded a movement")
	}
	if code, _ := s.do(http.MethodPost, "/station/or9/close", "", nil); code != http.StatusNotFound {
		t.Errorf("close at an unknown station: %d", code)
	}
}

// TestLanguage: a station speaks its configured language, the page's
// default otherwise; ?lang= switches, and the choice is remembered.
func TestLanguage(t *testing.T) {
	s := newSite(t, siteOptions{cfg: web.Config{StationLang: map[string]string{"desk": web.LangEN}}})
	s.scan("or3", "]C0"+wristband)
	if p := s.get("/station/or3", ""); !containsAll(p, "结束病例", "当前病例", `lang="zh-CN"`) {
		t.Fatalf("or3 not in Chinese:\n%s", p)
	}
	if p := s.get("/station/desk", ""); !strings.Contains(p, "No scan yet") {
		t.Fatalf("desk not in English:\n%s", p)
	}
	req, _ := http.NewRequest(http.MethodGet, s.url+"/station/or3?lang=en", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var c *http.Cookie
	for _, x := range res.Cookies() {
		if x.Name == web.LangCookie {
			c = x
		}
	}
	if c == nil || c.Value != "en" {
		t.Fatalf("no language cookie: %v", res.Cookies())
	}
	req, _ = http.NewRequest(http.MethodGet, s.url+"/station/or3", nil)
	req.AddCookie(c)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if !strings.Contains(string(b), "CLOSE CASE") {
		t.Fatalf("the remembered language was not used:\n%s", b)
	}
	if _, err := web.New(s.g, web.Config{Lang: "fr"}); err == nil {
		t.Error("lang fr accepted")
	}
	if _, err := web.New(s.g, web.Config{Reasons: []web.Reason{{Code: "R1", EN: "a", ZH: "甲"}, {Code: "R1", EN: "b", ZH: "乙"}}}); err == nil {
		t.Error("a reason given twice accepted")
	}
}
