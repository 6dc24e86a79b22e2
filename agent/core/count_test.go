package core_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/count"
	"github.com/udi-edge/udi-edge/agent/station"
	"github.com/udi-edge/udi-edge/agent/testkit"
)

// countGateway is a running gateway over a real ledger file: a receiving
// desk, a picking station and a handheld scanner at the warehouse, a
// ward's transfer station, an operating room.
type countGateway struct {
	t    *testing.T
	path string
	l    *bolt.Ledger
	g    *core.Gateway
	logs *testkit.LogBuffer
	now  time.Time
}

func openCountGateway(t *testing.T, path string) *countGateway {
	t.Helper()
	l, err := bolt.Open(bolt.Options{Path: path, Gateway: "gw-1"})
	if err != nil {
		t.Fatal(err)
	}
	cg := &countGateway{t: t, path: path, l: l, logs: &testkit.LogBuffer{}, now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))}
	stations := map[string]agent.Station{
		"desk": {ID: "desk", Location: "WH", Kind: agent.KindReceive},
		"pick": {ID: "pick", Location: "WH", Kind: agent.KindIssue},
		"hand": {ID: "hand", Location: "WH", Kind: agent.KindStock},
		"ward": {ID: "ward", Location: "W5", Kind: agent.KindTransfer},
		"or":   {ID: "or", Location: "OR-3", Kind: agent.KindUse},
	}
	patterns := &station.Patterns{Wristband: regexp.MustCompile(`^PAT(\d{6})$`), Badge: regexp.MustCompile(`^BADGE-(\w+)$`),
		Commands: map[string]agent.Command{"CMD-CANCEL": agent.CmdCancelLast, "CMD-COUNT-START": agent.CmdCountStart, "CMD-COUNT-END": agent.CmdCountEnd}}
	log := slog.New(slog.NewTextHandler(cg.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cg.g, err = core.New(core.Config{Stations: stations, Patterns: patterns, Live: true, Now: func() time.Time { return cg.now }},
		core.Deps{Store: l, Master: l, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cg.l.Close() })
	return cg
}

// scan scans each code at station and waits for the answers.
func (cg *countGateway) scan(st string, codes ...string) []agent.Outcome {
	var outs []agent.Outcome
	cg.g.OnAnswer = func(_ string, o agent.Outcome) { outs = append(outs, o) }
	for _, c := range codes {
		scan(cg.g, st, c, cg.now)
		cg.g.Wait()
	}
	cg.g.OnAnswer = nil
	return outs
}

func (cg *countGateway) reopen() {
	cg.t.Helper()
	if err := cg.l.Close(); err != nil {
		cg.t.Fatal(err)
	}
	*cg = *openCountGateway(cg.t, cg.path)
}

func stem(serial string) string { return gs1("09520123456788", "271231", "L1", serial) }
func stemKey(serial string) string {
	return "(01)09520123456788(21)" + serial
}

const gauzeG1, gauzeG2 = "]d2010690123410001317271231" + "10G1", "]d2010690123410001317271231" + "10G2"

// diffs prints a report's differences, one "kind item ledger counted/expected action" each.
func diffs(r core.CountReport) []string {
	var out []string
	for _, d := range r.Differences {
		out = append(out, fmt.Sprintf("%s %s %s/%s %d/%d %s", d.Kind, d.Item, d.LedgerLocation, d.LedgerStatus, d.Counted, d.Expected, d.Action))
	}
	return out
}

// TestCountSession: a count session at the warehouse, scanned at a
// handheld station while the warehouse goes on working: what it finds
// against the stock at its start (an item missing, one the ledger has
// used, one issued, one at the ward, one never received, a lot short and
// one over), and no false alarm for what came or went while it ran (an
// item used in the operating room, one received, one issued after it was
// scanned: only the one received is on hand, and counted as moved). Its alerts are logged with item keys and no patient; after
// it ends the station records as before; it survives a restart; its
// adjustments are movements with reasons, the stock follows them, and
// they are never made twice.
func TestCountSession(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	cg := openCountGateway(t, path)
	g, ctx := cg.g, context.Background()
	cg.scan("desk", stem("S1"), stem("S2"), stem("S3"), stem("S4"), stem("S5"), stem("S6"), stem("S7"),
		gauzeG1, gauzeG1, gauzeG1, gauzeG1, gauzeG1)
	cg.scan("ward", stem("S5"))
	cg.scan("or", "]C0PAT004217", stem("S6"))
	cg.scan("pick", stem("S7"))

	if _, err := g.StartCount(ctx, core.CountRequest{Stations: []string{"nowhere"}}); !errors.Is(err, core.ErrCountRequest) || !strings.Contains(err.Error(), "nowhere") {
		t.Errorf("an unknown station: %v", err)
	}
	if _, err := g.StartCount(ctx, core.CountRequest{Stations: []string{"hand", "ward"}}); !errors.Is(err, core.ErrCountRequest) {
		t.Errorf("stations at two locations and no location named: %v", err)
	}
	// A mistyped location: its counts would move what they find out of
	// the stock where it is, to a location of its own. Refused, naming it.
	before := cg.l.LastSeq()
	if _, err := g.StartCount(ctx, core.CountRequest{Location: "wh", Stations: []string{"hand"}}); !errors.Is(err, core.ErrCountRequest) ||
		!strings.Contains(err.Error(), `"wh"`) || !strings.Contains(err.Error(), "OR-3, W5, WH") {
		t.Errorf("an unknown location: %v", err)
	}
	if n := cg.l.LastSeq(); n != before {
		t.Errorf("a refused count wrote %d movement(s)", n-before)
	}
	s, err := g.StartCount(ctx, core.CountRequest{Stations: []string{"hand"}, Actor: "badge-9"})
	if err != nil || s.Location != "WH" || !s.Open() {
		t.Fatalf("start: %+v %v", s, err)
	}
	if _, err := g.StartCount(ctx, core.CountRequest{Stations: []string{"pick"}}); !errors.Is(err, core.ErrCountState) {
		t.Errorf("a second count at WH: %v", err)
	}
	outs := cg.scan("hand", stem("S1"), stem("S4"), stem("S5"), stem("S6"), stem("S7"), stem("S9"), gauzeG1, gauzeG1, gauzeG1, gauzeG2,
		"]C0BADGE-N7", "]C0NOT-A-CODE", "]C0CMD-CANCEL")
	for i, o := range outs[:10] {
		if o.Movement.Kind != agent.KindCount || o.Movement.Location != "WH" || !strings.HasPrefix(o.Movement.Reason, agent.CountReason(s.ID)) {
			t.Errorf("scan %d during the count: %s at %s %q", i, o.Movement.Kind, o.Movement.Location, o.Movement.Reason)
		}
	}
	if m := outs[3].Movement; !slices.Contains(m.Flags, "seen-after-use") {
		t.Errorf("the used item's count: flags %v", m.Flags)
	}
	if outs[10].Movement.Kind != agent.KindContext || outs[11].Movement.Kind != agent.KindReject {
		t.Errorf("a badge and garbage during the count: %s, %s", outs[10].Movement.Kind, outs[11].Movement.Kind)
	}
	// CANCEL LAST would cancel the station's last movement before the
	// count: refused.
	if m := outs[12].Movement; m.Kind != agent.KindReject || !strings.Contains(m.Reason, "commands are taken once it ends") {
		t.Errorf("a command during the count: %s %q", m.Kind, m.Reason)
	}
	// Meanwhile the warehouse works: S3 is used, S8 received, S4 (already
	// counted) issued.
	cg.scan("or", stem("S3"))
	cg.scan("desk", stem("S8"))
	cg.scan("pick", stem("S4"))

	open, err := g.CountReport(ctx, s.ID)
	if err != nil || !open.Session.Open() || open.Scans != 10 {
		t.Fatalf("report while open: %+v %v", open, err)
	}
	r, err := g.EndCount(ctx, s.ID, "badge-9")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"missing " + stemKey("S2") + " / 0/1 write-off",
		"used " + stemKey("S6") + " OR-3/used 1/0 investigate",
		"issued " + stemKey("S7") + " WH/issued 1/0 restock",
		"misplaced " + stemKey("S5") + " W5/received 1/0 none",
		"unknown " + stemKey("S9") + " /none 1/0 commission",
		"lot (01)06901234100013(10)G1 / 3/5 write-off",
		"lot (01)06901234100013(10)G2 / 1/0 take-on-hand",
	}
	if got := diffs(r); !reflect.DeepEqual(got, want) {
		t.Fatalf("differences:\n%q\nwant\n%q", got, want)
	}
	// Expected: S1 and S2 (on hand at WH throughout; S1 found), and the
	// lot G1's 5.
	if r.Session.Open() || r.Scans != 10 || r.Found != 8 || r.Moved != 1 || r.Matched != 2 || r.Alerts != 4 || r.Expected != 7 {
		t.Errorf("report: scans %d found %d moved %d matched %d alerts %d expected %d", r.Scans, r.Found, r.Moved, r.Matched, r.Alerts, r.Expected)
	}
	logs := cg.logs.String()
	for _, w := range []string{"level=WARN msg=\"cycle count: item missing, possible loss\" session=" + fmt.Sprint(s.ID) + " location=WH item=" + stemKey("S2"),
		"item present that the ledger has used", "item=" + stemKey("S7")} {
		if !strings.Contains(logs, w) {
			t.Errorf("log lacks %q", w)
		}
	}
	if strings.Contains(logs, "004217") {
		t.Error("a patient identifier in the log")
	}
	if _, err := g.EndCount(ctx, s.ID, ""); !errors.Is(err, core.ErrCountState) {
		t.Errorf("ended twice: %v", err)
	}
	if o := cg.scan("hand", stem("S1")); o[0].Movement.Kind != agent.KindStock {
		t.Errorf("after the count the station stocks again: %s", o[0].Movement.Kind)
	}

	// A second session, at the ward, survives a restart.
	s2, err := g.StartCount(ctx, core.CountRequest{Stations: []string{"ward"}})
	if err != nil {
		t.Fatal(err)
	}
	cg.reopen()
	g = cg.g
	sessions, err := g.Counts(ctx)
	if err != nil || len(sessions) != 2 || sessions[0].ID != s.ID || sessions[0].Open() || !sessions[1].Open() || sessions[1].Location != "W5" {
		t.Fatalf("sessions after a restart: %+v %v", sessions, err)
	}
	if o := cg.scan("ward", stem("S5")); o[0].Movement.Kind != agent.KindCount || !strings.HasPrefix(o[0].Movement.Reason, agent.CountReason(s2.ID)) {
		t.Errorf("a scan at the ward after the restart: %s %q", o[0].Movement.Kind, o[0].Movement.Reason)
	}
	// The first count recorded S5 at the warehouse, where it was found.
	if r2, err := g.EndCount(ctx, s2.ID, ""); err != nil || !reflect.DeepEqual(diffs(r2), []string{"misplaced " + stemKey("S5") + " WH/received 1/0 none"}) {
		t.Errorf("the ward's count: %q %v", diffs(r2), err)
	}
	again, err := g.CountReport(ctx, s.ID)
	if err != nil || !reflect.DeepEqual(diffs(again), want) {
		t.Errorf("the report read again after the restart: %q %v", diffs(again), err)
	}

	// Adjustments: planned, then written; the stock follows them.
	if _, err := g.AdjustCount(ctx, s.ID, core.CountAdjustment{Items: []string{stemKey("S1")}}); !errors.Is(err, core.ErrCountRequest) {
		t.Errorf("an item that is no difference: %v", err)
	}
	plan, err := g.AdjustCount(ctx, s.ID, core.CountAdjustment{Actor: "badge-9"})
	if err != nil || plan.Applied || len(plan.Movements) != 5 {
		t.Fatalf("plan: %+v %v", plan, err)
	}
	last := cg.l.LastSeq()
	done, err := g.AdjustCount(ctx, s.ID, core.CountAdjustment{Actor: "badge-9", Apply: true})
	if err != nil || !done.Applied || len(done.Movements) != 5 || done.Session.Adjustments != 5 {
		t.Fatalf("adjust: %+v %v", done, err)
	}
	var kinds []string
	for _, m := range done.Movements {
		if m.Seq <= last || m.Actor != "badge-9" {
			t.Errorf("adjustment not recorded as asked: %+v", m)
		}
		if id, ok := agent.CountSession(m); !ok || id != s.ID {
			t.Errorf("adjustment %q does not name the session", m.Reason)
		}
		kinds = append(kinds, string(m.Kind)+" "+m.Item)
	}
	wantKinds := []string{"dispose " + stemKey("S2"), "adjust " + stemKey("S7"), "dispose (01)06901234100013(10)G1",
		"dispose (01)06901234100013(10)G1", "return (01)06901234100013(10)G2"}
	if !reflect.DeepEqual(kinds, wantKinds) {
		t.Errorf("adjustments %q, want %q", kinds, wantKinds)
	}
	st, err := g.Stock(ctx, core.StockQuery{Location: "WH"})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range st.Lines {
		lines = append(lines, fmt.Sprintf("%s %s %d", l.Product, l.Lot, l.Units))
	}
	// WH: S1, S7 (restocked), S8 of the stems; G1 3, G2 1 of the gauze.
	if want := []string{"06901234100013 G1 3", "06901234100013 G2 1", "09520123456788 L1 3"}; !reflect.DeepEqual(lines, want) {
		t.Errorf("stock at WH after the adjustments: %q, want %q", lines, want)
	}
	after, err := g.CountReport(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range after.Differences {
		if adjusted := d.Action == count.Adjusted; adjusted != (d.Kind != count.Used && d.Kind != count.Misplaced && d.Kind != count.Unknown) || adjusted && d.Adjusted == 0 {
			t.Errorf("after the adjustments: %+v", d)
		}
	}
	if len(after.Differences) != len(want) {
		t.Errorf("after the adjustments, differences %q", diffs(after))
	}
	twice, err := g.AdjustCount(ctx, s.ID, core.CountAdjustment{Apply: true})
	if err != nil || len(twice.Movements) != 0 {
		t.Errorf("adjusted twice: %+v %v", twice.Movements, err)
	}
	// The used item is restocked only when named.
	used, err := g.AdjustCount(ctx, s.ID, core.CountAdjustment{Items: []string{stemKey("S6")}, Apply: true})
	if err != nil || len(used.Movements) != 1 || used.Movements[0].Kind != agent.KindAdjust || !slices.Contains(used.Movements[0].Flags, "moved-after-use") {
		t.Fatalf("restock of the used item: %+v %v", used.Movements, err)
	}
	kept, _ := g.Stock(ctx, core.StockQuery{Location: "WH", Product: "09520123456788"})
	if kept.Total != 1 || kept.Lines[0].Units != 4 {
		t.Errorf("stems at WH after S6 restocked: %+v", kept.Lines)
	}
	// The stock rebuilt from the file agrees with the one kept.
	cg.reopen()
	rebuilt, err := cg.g.Stock(ctx, core.StockQuery{Location: "WH"})
	if err != nil || rebuilt.Total != 3 || rebuilt.Lines[2].Units != 4 {
		t.Errorf("rebuilt: %+v %v", rebuilt.Lines, err)
	}
	if _, err := cg.g.CountReport(ctx, 999); !errors.Is(err, core.ErrNoCount) {
		t.Errorf("no such session: %v", err)
	}
}

// TestCountAdjustNeedsTheEnd: a session is adjusted only once it ended.
func TestCountAdjustNeedsTheEnd(t *testing.T) {
	cg := openCountGateway(t, filepath.Join(t.TempDir(), "ledger.db"))
	s, err := cg.g.StartCount(context.Background(), core.CountRequest{Stations: []string{"hand"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cg.g.AdjustCount(context.Background(), s.ID, core.CountAdjustment{Apply: true}); !errors.Is(err, core.ErrCountState) {
		t.Errorf("adjusting an open session: %v", err)
	}
}

// TestCountEndAfterEveryScan: scans arrive at a counting station while
// the session ends: each scan is either a count of the session, recorded
// before the movement that ends it, or the station's own movement after
// it; none is lost.
func TestCountEndAfterEveryScan(t *testing.T) {
	cg := openCountGateway(t, filepath.Join(t.TempDir(), "ledger.db"))
	ctx := context.Background()
	s, err := cg.g.StartCount(ctx, core.CountRequest{Stations: []string{"hand"}})
	if err != nil {
		t.Fatal(err)
	}
	// The scanner goes on until 20 scans after the end, 5,000 at most.
	var answered, sent atomic.Int64
	var ended atomic.Bool
	cg.g.OnAnswer = func(string, agent.Outcome) { answered.Add(1) }
	done := make(chan struct{})
	go func() {
		defer close(done)
		for after := 0; after < 20 && sent.Load() < 5000; sent.Add(1) {
			if ended.Load() {
				after++
			}
			scan(cg.g, "hand", stem(fmt.Sprintf("C%04d", sent.Load())), cg.now)
		}
	}()
	testkit.Eventually(t, 10*time.Second, "a few scans answered", func() bool { return answered.Load() >= 30 })
	r, err := cg.g.EndCount(ctx, s.ID, "")
	ended.Store(true)
	if err != nil {
		t.Fatal(err)
	}
	<-done
	cg.g.Wait()
	n := int(sent.Load())
	counted, stocked := 0, 0
	err = cg.l.Range(s.ID+1, func(m agent.Movement) error {
		id, ok := agent.CountSession(m)
		switch {
		case m.Kind == agent.KindCount && ok && id == s.ID:
			counted++
			if m.Seq > r.Session.EndSeq {
				t.Errorf("count %d recorded after the end %d", m.Seq, r.Session.EndSeq)
			}
		case m.Kind == agent.KindStock:
			stocked++
			if m.Seq < r.Session.EndSeq {
				t.Errorf("stock %d recorded before the end %d", m.Seq, r.Session.EndSeq)
			}
		}
		return nil
	})
	if err != nil || counted+stocked != n || counted != r.Scans || counted < 30 || stocked == 0 {
		t.Errorf("%d counted (the report says %d), %d stocked, of %d scans: %v", counted, r.Scans, stocked, n, err)
	}
}

// TestCountByBarcode: COUNT START and COUNT END barcodes run a count at
// a station with no keyboard: the scans between are counts, the end
// reports the difference; a command that cannot be done is recorded as
// a rejected read with its reason.
func TestCountByBarcode(t *testing.T) {
	cg := openCountGateway(t, filepath.Join(t.TempDir(), "ledger.db"))
	cg.scan("desk", stem("S1"), stem("S2"))
	outs := cg.scan("hand", "]C0CMD-COUNT-END", "]C0CMD-COUNT-START", stem("S1"), "]C0CMD-COUNT-START", "]C0CMD-COUNT-END")
	if len(outs) != 5 {
		t.Fatalf("%d answers", len(outs))
	}
	if o := outs[0]; o.Verdict != agent.VerdictRejected || !strings.Contains(o.Movement.Reason, "no cycle count is open at station hand") {
		t.Errorf("END with none open: %v %q", o.Verdict, o.Movement.Reason)
	}
	start := outs[1]
	if start.Verdict != agent.VerdictAccepted || !strings.Contains(start.Movement.Reason, "started at WH") || start.Movement.Seq == 0 {
		t.Fatalf("START: %v %+v", start.Verdict, start.Movement)
	}
	if m := outs[2].Movement; m.Kind != agent.KindCount || !strings.HasPrefix(m.Reason, agent.CountReason(start.Movement.Seq)) {
		t.Errorf("a scan during the count: %s %q", m.Kind, m.Reason)
	}
	if o := outs[3]; o.Verdict != agent.VerdictRejected || !strings.Contains(o.Movement.Reason, "count command refused") {
		t.Errorf("START while counting: %v %q", o.Verdict, o.Movement.Reason)
	}
	if o := outs[4]; o.Verdict != agent.VerdictAccepted || !strings.Contains(o.Movement.Reason, "1 difference(s), 1 alert(s)") {
		t.Errorf("END: %v %q", o.Verdict, o.Movement.Reason)
	}
	r, err := cg.g.CountReport(context.Background(), start.Movement.Seq)
	if err != nil || r.Session.Open() || len(r.Differences) != 1 || r.Differences[0].Item != stemKey("S2") {
		t.Fatalf("report: %+v %v", r, err)
	}
	// After the count the station records as it did before.
	if m := cg.scan("hand", stem("S1"))[0].Movement; m.Kind != agent.KindStock {
		t.Errorf("after the count: %s", m.Kind)
	}
}
