package web_test

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/web"
)

// failRows returns the station page's rows of scans not recorded.
func failRows(page string) []string {
	var rows []string
	for _, row := range strings.Split(page, `<li class="scan `)[1:] {
		if strings.HasPrefix(row, "fail") {
			row, _, _ = strings.Cut(row, "</li>")
			rows = append(rows, row)
		}
	}
	return rows
}

// TestFailedScanSaysWhy: a scan the ledger could not record is shown
// NOT RECORDED with why: a full disk (no space, over quota) in words a
// nurse can act on, in her language; any other failure with the ledger's
// error.
func TestFailedScanSaysWhy(t *testing.T) {
	s := newSite(t, siteOptions{cfg: web.Config{Lang: web.LangEN}})
	fail := func(serial string, err error) {
		s.page.Publish("desk", agent.Outcome{Verdict: agent.VerdictFailed, Err: err,
			Movement: agent.Movement{Kind: agent.KindReceive, Item: key(gtinDomestic, serial), Time: time.Now()}})
	}
	fail("F1", fmt.Errorf("bolt: commit: %w", &fs.PathError{Op: "write", Path: "/var/lib/udi-edge/ledger.db", Err: syscall.ENOSPC}))
	rows := failRows(s.get("/station/desk", ""))
	if len(rows) != 1 || !containsAll(rows[0], "NOT RECORDED", `<ul class="why">`, "disk is full", "Call IT") || strings.Contains(rows[0], "ledger.db") {
		t.Fatalf("a scan refused on a full disk shows:\n%s", strings.Join(rows, "\n---\n"))
	}
	if rows := failRows(s.get("/station/desk?lang=zh", "")); len(rows) != 1 || !strings.Contains(rows[0], "网关磁盘已满") {
		t.Fatalf("in Chinese:\n%s", strings.Join(rows, "\n---\n"))
	}
	fail("F2", fmt.Errorf("bolt: commit: %w", &fs.PathError{Op: "write", Path: "/srv/ledger.db", Err: syscall.EDQUOT}))
	fail("F3", errors.New("bolt: ledger file gone: /srv/ledger.db was removed"))
	rows = failRows(s.get("/station/desk?lang=en", ""))
	if len(rows) != 3 {
		t.Fatalf("%d rows not recorded, want 3", len(rows))
	}
	if !strings.Contains(rows[0], "could not record it: bolt: ledger file gone") || !strings.Contains(rows[1], "disk is full") {
		t.Fatalf("newest first, over quota and gone:\n%s", strings.Join(rows, "\n---\n"))
	}
}

// TestFailedScanAfterRestart: scans refused by a restarted agent before
// its station page was first opened stay on the screen, newest first,
// when the page reads back the scans recorded before the restart.
func TestFailedScanAfterRestart(t *testing.T) {
	s := newSite(t, siteOptions{cfg: web.Config{Lang: web.LangEN}})
	s.g.OnAnswer = nil // recorded before the restart: the page heard none
	for i := range web.MaxScans + 5 {
		s.scan("desk", label(gtinDomestic, "281231", "L1", fmt.Sprintf("R%d", i)))
	}
	s.g.OnAnswer = s.page.Publish
	full := fmt.Errorf("bolt: commit: %w", &fs.PathError{Op: "write", Path: "/var/lib/udi-edge/ledger.db", Err: syscall.ENOSPC})
	for _, serial := range []string{"F1", "F2"} {
		s.page.Publish("desk", agent.Outcome{Verdict: agent.VerdictFailed, Err: full,
			Movement: agent.Movement{Kind: agent.KindReceive, Item: key(gtinDomestic, serial), Time: time.Now()}})
	}
	page := s.get("/station/desk", "")
	rows := strings.Split(page, `<li class="scan `)[1:]
	if len(rows) != web.MaxScans {
		t.Fatalf("%d rows, want %d", len(rows), web.MaxScans)
	}
	for i, want := range []string{key(gtinDomestic, "F2"), key(gtinDomestic, "F1"), key(gtinDomestic, fmt.Sprintf("R%d", web.MaxScans+4))} {
		if !strings.Contains(rows[i], want) {
			t.Fatalf("row %d is not %s:\n%s", i, want, rows[i])
		}
	}
	if n := len(failRows(page)); n != 2 {
		t.Fatalf("%d refused scans shown, want 2", n)
	}
}
