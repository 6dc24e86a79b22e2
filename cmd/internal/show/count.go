package show

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/core"
)

// CountReport prints a session's report: a summary, then a line
// per difference; or the report as one JSON object.
func CountReport(w io.Writer, r core.CountReport, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(r)
	}
	s := r.Session
	state := "counting"
	if !s.Open() {
		state = "ended " + Stamp(s.Ended)
	}
	fmt.Fprintf(w, "cycle count %d at %s by %s: started %s, %s (as of movement %d)\n", s.ID, s.Location, CountBy(s), Stamp(s.Started), state, r.AsOf)
	fmt.Fprintf(w, "%d scan(s) found %d key(s); %d expected; %d matched; %d moved while counted (not judged); %d alert(s)\n",
		r.Scans, r.Found, r.Expected, r.Matched, r.Moved, r.Alerts)
	if len(r.Differences) == 0 {
		fmt.Fprintln(w, "no differences")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DIFFERENCE\tITEM\tNAME\tLOT\tLEDGER\tCOUNTED\tEXPECTED\tACTION")
	for _, d := range r.Differences {
		kind := string(d.Kind)
		if d.Alert {
			kind = strings.ToUpper(kind)
		}
		ledger := "-"
		if d.LedgerStatus != "" {
			ledger = d.LedgerStatus + " at " + Dash(d.LedgerLocation)
		}
		expected := strconv.Itoa(d.Expected)
		if d.Changed {
			expected = fmt.Sprintf("%d (%d at the start)", d.Expected, d.ExpectedAtStart)
		}
		action := string(d.Action)
		if d.Adjusted != 0 {
			action += fmt.Sprintf(" (movement %d)", d.Adjusted)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", kind, d.Item, Dash(d.Name), Dash(d.Lot), ledger, d.Counted, expected, action)
	}
	return tw.Flush()
}

// CountBy says who counted: the stations, or the RFID zones.
func CountBy(s core.CountSession) string {
	if len(s.Zones) > 0 {
		return "RFID " + strings.Join(s.Zones, ",")
	}
	return strings.Join(s.Stations, ",")
}

// Stamp formats a time of a count as the reports show it.
func Stamp(t time.Time) string { return t.Format("2006-01-02 15:04:05") }

// CountSessions prints the cycle count sessions, a line each; or them as
// one JSON object (the local API's answer).
func CountSessions(w io.Writer, ss []core.CountSession, asJSON bool) error {
	if asJSON {
		if ss == nil {
			ss = []core.CountSession{}
		}
		return json.NewEncoder(w).Encode(api.CountsResponse{Sessions: ss, Total: len(ss)})
	}
	if len(ss) == 0 {
		fmt.Fprintln(w, "no cycle count sessions")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SESSION\tLOCATION\tBY\tSTARTED\tENDED\tADJUSTED")
	for _, s := range ss {
		ended, adjusted := "open", "-"
		if !s.Open() {
			ended = Stamp(s.Ended)
		}
		if s.AdjustedSeq != 0 {
			adjusted = fmt.Sprintf("%d movement(s)", s.Adjustments)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Location, CountBy(s), Stamp(s.Started), ended, adjusted)
	}
	return tw.Flush()
}

// CountAdjustment prints the adjusting movements of session id, listed
// or written; or them as one JSON object (the local API's answer).
func CountAdjustment(w io.Writer, id uint64, res core.CountAdjustResult, asJSON bool) error {
	if asJSON {
		out := api.CountAdjustResponse{Session: res.Session, Applied: res.Applied, Movements: []api.Movement{}, Total: res.Total}
		for _, m := range res.Movements {
			out.Movements = append(out.Movements, api.FromMovement(m))
		}
		return json.NewEncoder(w).Encode(out)
	}
	if res.Total == 0 {
		fmt.Fprintf(w, "cycle count %d: nothing to adjust\n", id)
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tKIND\tITEM\tLOCATION\tREASON")
	for _, m := range res.Movements {
		seq := "-"
		if m.Seq != 0 {
			seq = strconv.FormatUint(m.Seq, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", seq, m.Kind, m.Item, m.Location, m.Reason)
	}
	tw.Flush()
	if n := len(res.Movements); n < res.Total {
		fmt.Fprintf(w, "%d of %d movements shown\n", n, res.Total)
	}
	if res.Applied {
		fmt.Fprintf(w, "cycle count %d: %d movement(s) written\n", id, res.Total)
	} else {
		fmt.Fprintf(w, "cycle count %d: %d movement(s) to write: run again with --apply to write them\n", id, res.Total)
	}
	return nil
}
