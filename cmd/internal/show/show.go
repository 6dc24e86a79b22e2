// Package show prints what udi-edge's commands and udi-lab's demo print:
// traces, settlement lines, findings, verify reports, status, decoded
// codes and compactions, as aligned tables for people. One home, so the
// demo shows exactly what the commands do.
package show

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/audit"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/master"
)

// Settlements prints settlement lines as a table.
func Settlements(w io.Writer, lines []master.Settlement) {
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(w, "settlement line(s): %d\n", len(lines))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCASE\tPATIENT\tINSURANCE CODE\tBILLED\tQTY\tAMOUNT")
	for _, s := range lines {
		what := s.Item
		if what == "" {
			what = s.GTIN + " lot " + Dash(s.Lot)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", s.ID, s.Case, s.Patient, Dash(s.InsuranceCode), what, s.Quantity, s.Amount)
	}
	tw.Flush()
}

// Trace prints movements as a table; a use the checks blocked says
// so in its DECISION column: it was attempted, recorded, and did not
// happen. A movement recorded while the gateway's clock was behind a
// time already recorded (agent.ClockBack) says so in its note, first.
func Trace(w io.Writer, key string, ms []agent.Movement) {
	fmt.Fprintf(w, "item %s: %d movement(s)\n", key, len(ms))
	if len(ms) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tKIND\tDECISION\tLOCATION\tSTATION\tLOT\tEXPIRY\tCASE\tPATIENT\tACTOR\tAS READ\tNOTE")
	for _, m := range ms {
		note := m.Reason
		if len(m.Flags) > 0 {
			note = strings.TrimSpace("[" + strings.Join(m.Flags, " ") + "] " + note)
		}
		if d, ok := agent.ClockBack(m); ok {
			note = ClockBack(d) + "; " + note
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			m.Gateway+"/"+strconv.FormatUint(m.Seq, 10), m.Time.Format("2006-01-02 15:04:05 MST"), m.Kind, decisionWord(m),
			m.Location, m.Station, Dash(m.Lot), Dash(m.Expiry), Dash(m.Case), Dash(m.Patient), Dash(m.Actor), api.AsRead(m), note)
	}
	tw.Flush()
}

// ClockBack says in words that a movement's time is d behind a time its
// gateway had already recorded: its clock had been set back.
func ClockBack(d time.Duration) string {
	return "CLOCK SET BACK: time " + shortDuration(d) + " before one already recorded (SEQ is the order)"
}

// shortDuration writes d to the second without zero units: "1h", "1h10m",
// "59m30s".
func shortDuration(d time.Duration) string {
	s := d.Truncate(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Retained says what the ledger keeps of an item whose movements
// retention took away; nothing when r is nil.
func Retained(w io.Writer, r *core.RetainedItem) {
	if r == nil {
		return
	}
	fmt.Fprintf(w, "retained away on %s: %d movement(s), %d to %d, from %s to %s, the last a %s; the centre holds them (udi-central trace)\n",
		r.RetainedAt.Format("2006-01-02"), r.Movements, r.First, r.Last, r.FirstTime.Format("2006-01-02 15:04:05 MST"),
		r.LastTime.Format("2006-01-02 15:04:05 MST"), r.LastKind)
}

// decisionWord is a movement's decision as a table shows it: BLOCKED in
// capitals (the attempt did not happen), "-" where no check ran.
func decisionWord(m agent.Movement) string {
	switch m.Decision {
	case "":
		return "-"
	case agent.DecisionBlocked:
		return "BLOCKED"
	}
	return m.Decision
}

// Dash returns s, or "-" when it is empty.
func Dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Findings prints an audit's findings, as a table or JSON lines.
func Findings(w io.Writer, fs []audit.Finding, asJSON bool) {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, f := range fs {
			_ = enc.Encode(f)
		}
		return
	}
	if len(fs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FINDING\tSEQ\tITEM\tCASE\tSETTLEMENT\tDETAIL")
	for _, f := range fs {
		seq := "-"
		if f.Seq > 0 {
			seq = f.Gateway + "/" + strconv.FormatUint(f.Seq, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", f.Kind, seq, Dash(f.Item), Dash(f.Case), Dash(f.Settlement), f.Text)
	}
	tw.Flush()
}

// Verify prints a verify report.
func Verify(w io.Writer, r agent.VerifyReport) {
	defer func() {
		for _, x := range r.Warnings {
			fmt.Fprintf(w, "warning: %s\n", x)
		}
	}()
	switch {
	case r.Intact:
		fmt.Fprintf(w, "intact: %d movements, last hash %s\n", r.Movements, r.LastHash)
		fmt.Fprintf(w, "ledger %s of gateway %s, movements 1 to %d, genesis %s\n", r.Store, r.Gateway, r.LastSeq, r.Genesis)
		return
	case r.Broken != nil && r.Broken.Seq == 0:
		fmt.Fprintf(w, "NOT INTACT: the ledger's meta bucket %s: %s\n", r.Broken.Kind, r.Broken.Reason)
	case r.Broken != nil:
		fmt.Fprintf(w, "NOT INTACT: movement %d %s: %s\n", r.Broken.Seq, r.Broken.Kind, r.Broken.Reason)
	case r.LastHash != "":
		fmt.Fprintf(w, "NOT INTACT: the hash chain holds (%d movements, last hash %s), but:\n", r.Movements, r.LastHash)
	default:
		fmt.Fprintln(w, "NOT INTACT: the file is damaged:")
	}
	if r.Broken != nil && len(r.Problems) > 0 {
		fmt.Fprintln(w, "the structural check also found:")
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  %s\n", p)
	}
	fmt.Fprintf(w, "ledger %s of gateway %s\n", r.Store, r.Gateway)
}

// Status prints a gateway's status; running says whether an agent
// answered (else it is what its ledger file holds).
func Status(w io.Writer, st core.Status, running bool) {
	fmt.Fprintf(w, "gateway %s: %d movement(s) in the ledger\n", st.Gateway, st.LastSeq)
	if !running {
		fmt.Fprintln(w, "AGENT NOT RUNNING: this is what its ledger file holds")
	}
	if st.Ledger.Failed != "" {
		fmt.Fprintf(w, "LEDGER FAILED: %s; every scan is answered failed\n", st.Ledger.Failed)
	}
	if st.Ledger.Lost != "" {
		fmt.Fprintf(w, "LEDGER LOST MOVEMENTS: %s\n", st.Ledger.Lost)
	}
	if st.Ledger.FirstSeq > 1 {
		fmt.Fprintf(w, "ledger holds movements from %d on: retention took older acknowledged ones away (last on %s); the centre holds them\n",
			st.Ledger.FirstSeq, st.Ledger.RetainedAt)
	}
	switch {
	case st.Ledger.OverBudget:
		fmt.Fprintf(w, "LEDGER OVER ITS DISK BUDGET: %d of %d bytes; acknowledged movements leave before their horizon, unacknowledged ones stay\n", st.Ledger.Bytes, st.Ledger.MaxBytes)
	case st.Ledger.NearBudget:
		fmt.Fprintf(w, "ledger near its disk budget: %d of %d bytes\n", st.Ledger.Bytes, st.Ledger.MaxBytes)
	}
	if st.Ledger.IndexDamaged {
		fmt.Fprintln(w, "ITEM INDEX DAMAGED: movements are still recorded; traces over the damage fail; stop the agent and run udi-edge reindex")
	}
	for _, d := range st.Devices {
		state := "port open"
		if !d.Connected {
			state = "NOT CONNECTED"
		}
		if d.Missed > 0 {
			state += fmt.Sprintf(", %d answer(s) missed", d.Missed)
		}
		if d.Garbled > 0 {
			state += fmt.Sprintf(", %d garbled frame(s): check baud rate, data bits and parity", d.Garbled)
		}
		fmt.Fprintf(w, "  %-16s %-7s %s\n", d.ID, d.Kind, state)
	}
	m := st.Master
	if m.Version == "" {
		fmt.Fprintln(w, "master data: none")
	} else {
		fmt.Fprintf(w, "master data: %s (catalogue %d, recalls %d, lots %d, settlements %d, schedules %d, par %d)\n",
			m.Version, m.Counts.Catalogue, m.Counts.Recalls, m.Counts.LotStatuses, m.Counts.Settlements, m.Counts.Schedules, m.Counts.ParLevels)
	}
	if len(m.Damaged) > 0 {
		fmt.Fprintf(w, "MASTER DATA DAMAGED: %v: the checks that need them run as with none; import them again\n", m.Damaged)
	}
	switch s := st.Sync; {
	case s == nil && running:
		fmt.Fprintln(w, "sync: not configured (offline gateway)")
	case s == nil:
	default:
		link := "connected"
		if !s.Connected {
			link = "NOT CONNECTED (everything waits in the ledger)"
		}
		fmt.Fprintf(w, "sync: %s; acknowledged by the centre up to %d, %d movement(s) waiting; %d batch(es) sent, %d resend(s), %d connection(s)\n",
			link, s.Acked, s.Waiting, s.Batches, s.Resends, s.Connects)
	}
}
