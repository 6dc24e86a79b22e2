package core_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/insurance"
)

const feeHeader = "feedetl_sn,mdtrt_id,psn_no,fee_ocur_time,med_list_codg,medins_list_codg,det_item_fee_sumamt,cnt,pric\n"

// TestReadFeesRefusesWhole: a fee-detail file with bad lines is refused
// whole, every bad line counted and named with its field; a file with no
// line is ErrNoFees; a good one is read line by line.
func TestReadFeesRefusesWhole(t *testing.T) {
	ctx := context.Background()
	good := feeHeader + "F1,V1,P1,2026-03-12 10:00:00,C0301010010000100001,HC310401,6850.00,1,6850.00\n"
	lines, err := core.ReadFees(ctx, strings.NewReader(good), "fees.csv", "")
	if err != nil || len(lines) != 1 || lines[0].SN != "F1" || lines[0].Visit != "V1" || lines[0].Qty != insurance.QtyOf(1) {
		t.Fatalf("good file: %+v %v", lines, err)
	}
	bad := good + "F2,V1,P1,2026-03-12 10:01:00,C0301010010000100001,HC310401,6850.00,one,6850.00\n" +
		"F3,V1,P1,2026-03-12 10:02:00,C0301010010000100001,HC310401,6850.00,1,6850.00\n" +
		"F4,V1,P1,yesterday,C0301010010000100001,HC310401,6850.00,1,6850.00\n"
	_, err = core.ReadFees(ctx, strings.NewReader(bad), "fees.csv", "csv")
	var be *core.BadFeesError
	if !errors.As(err, &be) || !errors.Is(err, insurance.ErrLine) || be.Count != 2 || len(be.Lines) != 2 ||
		be.Lines[0].Line != 3 || be.Lines[0].Field() != "cnt" || be.Lines[1].Line != 5 || be.Lines[1].Field() != "fee_ocur_time" ||
		!strings.Contains(err.Error(), "fees.csv: 2 bad fee line(s), nothing reconciled; the first: fees.csv: line 3: field cnt") {
		t.Fatalf("a file with bad lines: %v", err)
	}
	if strings.Contains(err.Error(), "P1") {
		t.Errorf("the error names a patient: %v", err)
	}
	if _, err := core.ReadFees(ctx, strings.NewReader(feeHeader), "fees.csv", ""); !errors.Is(err, core.ErrNoFees) {
		t.Errorf("a file with no line: %v", err)
	}
	if _, err := core.ReadFees(ctx, strings.NewReader(good), "fees.txt", ""); !errors.Is(err, insurance.ErrFormat) {
		t.Errorf("a file of no known format: %v", err)
	}
}

// TestReadReleases: the tables map an old code to its replacement and
// report a withdrawn code; a bad table is refused naming its row.
func TestReadReleases(t *testing.T) {
	const old, cur, gone = "C03019900100001000010000012", "C03010100100001000010000012", "C03010300100006000010000001"
	m, err := core.ReadReleases([]core.ReleaseTable{
		{Kind: core.TableWithdrawn, Name: "w.csv", File: strings.NewReader("27位码,原码状态\n" + gone + ",停用\n")},
		{Kind: core.TableTranscode, Name: "t.csv", File: strings.NewReader("原27位码,27位码\n" + old + "," + cur + "\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in, now   string
		withdrawn bool
	}{{old, cur, false}, {gone, gone, true}, {cur, cur, false}, {"XB01ABA051B002010100483", "XB01ABA051B002010100483", false}} {
		if now, w := m(c.in); now != c.now || w != c.withdrawn {
			t.Errorf("%s maps to %s %v, want %s %v", c.in, now, w, c.now, c.withdrawn)
		}
	}
	if m, err := core.ReadReleases(nil); m != nil || err != nil {
		t.Errorf("no tables: %v %v", m, err)
	}
	_, err = core.ReadReleases([]core.ReleaseTable{{Kind: core.TableTranscode, Name: "t.csv", File: strings.NewReader("原27位码,27位码\n" + old + ",C0301\n")}})
	if !errors.Is(err, core.ErrReleaseTable) || !strings.Contains(err.Error(), "t.csv:2") {
		t.Errorf("a bad table: %v", err)
	}
}

func TestParseTimeBound(t *testing.T) {
	from, err := core.ParseTimeBound("2026-03-12", false)
	to, err2 := core.ParseTimeBound("2026-03-12", true)
	if err != nil || err2 != nil || !from.Equal(time.Date(2026, 3, 11, 16, 0, 0, 0, time.UTC)) || to.Sub(from) != 24*time.Hour {
		t.Fatalf("a day: %v %v %v %v", from, to, err, err2)
	}
	if at, err := core.ParseTimeBound("2026-03-12T08:00:00Z", true); err != nil || !at.Equal(time.Date(2026, 3, 12, 8, 0, 0, 0, time.UTC)) {
		t.Fatalf("a time: %v %v", at, err)
	}
	if _, err := core.ParseTimeBound("12/03/2026", false); err == nil || !strings.Contains(err.Error(), "neither a day") {
		t.Fatalf("a bad bound: %v", err)
	}
}

// TestExportInsurance: the sales of a day are its standing uses, in the
// case they stand in now: a use linked to the case later is in it, a
// blocked use is no sale, and a use of the day cancelled the next day is
// undone; a receipt of the day before is not exported. The case's trace
// codes are those of the same uses.
func TestExportInsurance(t *testing.T) {
	g, l := openCore(t, filepath.Join(t.TempDir(), "ledger.db"))
	defer l.Close()
	ctx := context.Background()
	cat, err := os.Open("../master/testdata/catalogue.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	if _, err := g.Import(ctx, "catalogue", cat, core.ImportOptions{Format: "csv"}); err != nil {
		t.Fatal(err)
	}
	day := func(d, h, m int) time.Time { return time.Date(2026, 3, d, h, m, 0, 0, insurance.ChinaTime) }
	code := func(serial string) string { return "010690123410001317281231" + "10L1\x1d21" + serial }
	item := func(k agent.Kind, serial string, at time.Time, mods ...func(*agent.Movement)) agent.Movement {
		m := agent.Movement{Kind: k, Item: "(01)06901234100013(21)" + serial, GTIN: "06901234100013", Serial: serial, Lot: "L1",
			Expiry: "2028-12-31", Time: at, Location: "OR-3", Symbology: "]d2", Raw: []byte("]d2" + code(serial))}
		for _, f := range mods {
			f(&m)
		}
		return m
	}
	inV1 := func(m *agent.Movement) { m.Case = "V1" }
	var seq uint64
	for _, m := range []agent.Movement{
		item(agent.KindReceive, "H1", day(11, 10, 0)),
		item(agent.KindUse, "H1", day(12, 9, 0), inV1),
		item(agent.KindUse, "H2", day(12, 9, 1)),
		item(agent.KindContext, "H2", day(12, 9, 2), func(m *agent.Movement) {
			m.Case, m.Flags, m.Reason = "V1", []string{agent.FlagCaseLink}, agent.LinkReason(3)
		}),
		item(agent.KindUse, "H3", day(12, 9, 3), inV1, func(m *agent.Movement) { m.Decision = agent.DecisionBlocked }),
		item(agent.KindUse, "H4", day(12, 23, 50), inV1),
		item(agent.KindAdjust, "H4", day(13, 0, 10), func(m *agent.Movement) { m.Reason = agent.CancelReason(agent.KindUse, 6) }),
	} {
		got, err := l.Append(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		seq = got.Seq
	}
	if seq != 7 {
		t.Fatalf("%d movements recorded", seq)
	}
	from, _ := core.ParseTimeBound("2026-03-12", false)
	to, _ := core.ParseTimeBound("2026-03-12", true)
	var b bytes.Buffer
	n, err := g.ExportInsurance(ctx, &b, core.InsuranceOptions{From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Purchases []json.RawMessage `json:"3503"`
		Sales     []struct {
			Sel struct {
				Code         string                `json:"med_list_codg"`
				HospitalCode string                `json:"fixmedins_hilist_id"`
				VisitNo      string                `json:"mdtrt_sn"`
				Qty          json.Number           `json:"sel_retn_cnt"`
				Traces       []insurance.TraceInfo `json:"drugtracinfo"`
			} `json:"selinfo"`
		} `json:"3505"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if n.Records != 1 || len(doc.Sales) != 1 || len(doc.Purchases) != 0 {
		t.Fatalf("counts %+v, %d sales and %d purchases, want one sale:\n%s", n, len(doc.Sales), len(doc.Purchases), b.String())
	}
	s := doc.Sales[0].Sel
	var traces []string
	for _, tr := range s.Traces {
		traces = append(traces, tr.Code)
	}
	if s.VisitNo != "V1" || s.Qty != "2" || s.Code != "C0301010010000100001" || s.HospitalCode != "HC310401" ||
		!slices.Equal(traces, []string{code("H1"), code("H2")}) {
		t.Fatalf("the sale: %+v, traces %q", s, traces)
	}

	b.Reset()
	n, err = g.ExportInsurance(ctx, &b, core.InsuranceOptions{Case: "V1", DropGS: true})
	var ct core.CaseTraces
	if err != nil || json.Unmarshal(b.Bytes(), &ct) != nil {
		t.Fatalf("case traces: %v\n%s", err, b.String())
	}
	noGS := func(s string) string { return strings.ReplaceAll(code(s), "\x1d", "") }
	if ct.Case != "V1" || ct.Uses != 2 || n.Records != 2 || !slices.Equal(ct.Codes, []string{noGS("H1"), noGS("H2")}) {
		t.Fatalf("case traces %+v (%+v)", ct, n)
	}
}
