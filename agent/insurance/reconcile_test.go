package insurance

import (
	"slices"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/master"
)

const caseID = "OR-20260312-07"

// line is a charge of qty units at price fen, totalling qty × price.
func line(sn, code, hosp string, qty int, price master.Amount) FeeLine {
	p, _ := PriceOf(price)
	return FeeLine{SN: sn, Visit: "V1", Code: code, HospitalCode: hosp, Qty: QtyOf(qty), Price: p, Amount: price * master.Amount(qty)}
}

// refundOf is a refund of n units of l.
func refundOf(sn string, l FeeLine, n int) FeeLine {
	r := l
	r.SN, r.InitSN, r.Qty, r.Amount = sn, l.SN, -QtyOf(n), -l.Amount/master.Amount(l.Qty/10000)*master.Amount(n)
	r.Result = nil
	return r
}

func TestReconcile(t *testing.T) {
	base := wantLines() // stent ×1, balloon ×2 refunded 1, a drug, stapler ×1 above both caps
	stent := use(stentGTIN, "SN0001", "L2309A", caseID, 60)
	balloon := use(balloonGTIN, "SN0101", "L2310B", caseID, 61)
	stapler := use(staplerGTIN, "SN0201", "L2401C", caseID, 62)
	uses := []agent.Movement{stent, balloon, stapler}
	caps := []string{"above-price-cap F20260312005  " + staplerCode, "above-procurement-cap F20260312005  " + staplerCode}

	blocked := use(stentGTIN, "SN0009", "L2309A", caseID, 63)
	blocked.Decision = agent.DecisionBlocked
	notUse := mv(agent.KindReceive, stentGTIN, "SN0008", "L2309A", 1)
	stentLine := line("S1", stentCode, "HC-1001", 1, 75000)
	oldStent := "C02030112000000013059999999"
	mapper := func(withdrawn ...string) CodeMapper {
		return func(code string) (string, bool) {
			if code == oldStent {
				return stentCode, false
			}
			return code, slices.Contains(withdrawn, code)
		}
	}

	for _, c := range []struct {
		name   string
		lines  []FeeLine
		uses   []agent.Movement
		mapper CodeMapper
		want   []string
	}{
		{name: "the case as billed", lines: base, uses: uses, want: caps},
		{name: "a second stent scanned", lines: base, uses: append(slices.Clone(uses), use(stentGTIN, "SN0002", "L2309A", caseID, 70)),
			want: append(slices.Clone(caps[:0:0]), "quantity-mismatch F20260312001  "+stentCode, caps[0], caps[1])},
		{name: "balloon never scanned", lines: base, uses: []agent.Movement{stent, stapler},
			want: []string{"billed-not-scanned F20260312002  " + balloonCode, caps[0], caps[1]}},
		{name: "balloon refunded whole, never scanned", lines: []FeeLine{stentLine, line("B1", balloonCode, "HC-1002", 2, 120000),
			refundOf("B2", line("B1", balloonCode, "HC-1002", 2, 120000), 2)}, uses: []agent.Movement{stent}},
		{name: "blocked and other movements are no use", lines: []FeeLine{stentLine}, uses: []agent.Movement{stent, blocked, notUse}},
		{name: "stapler scanned, not billed", lines: []FeeLine{stentLine}, uses: []agent.Movement{stent, stapler},
			want: []string{"scanned-not-billed  (01)" + staplerGTIN + "(21)SN0201 " + staplerCode}},
		{name: "unknown item and no national code", lines: []FeeLine{stentLine},
			uses: []agent.Movement{stent, use(strayGTIN, "X1", "L1", caseID, 71), use(gauzeGTIN, "G1", "L1", caseID, 72)},
			want: []string{"unknown-item  (01)" + strayGTIN + "(21)X1 ", "no-national-code  (01)" + gauzeGTIN + "(21)G1 "}},
		{name: "billed under another code", lines: []FeeLine{line("S1", "C99990112000000013050000021", "HC-1001", 1, 75000)},
			uses: []agent.Movement{stent}, want: []string{"code-mismatch S1 (01)" + stentGTIN + "(21)SN0001 C99990112000000013050000021"}},
		{name: "20-character line, 27-character item", lines: []FeeLine{line("S1", stentCode[:20], "HC-1001", 1, 75000)}, uses: []agent.Movement{stent}},
		{name: "20 characters differ", lines: []FeeLine{line("S1", "C0203011200000001399", "HC-9", 1, 75000)}, uses: []agent.Movement{stent},
			want: []string{"billed-not-scanned S1  C0203011200000001399", "scanned-not-billed  (01)" + stentGTIN + "(21)SN0001 " + stentCode}},
		{name: "withdrawn code", lines: []FeeLine{stentLine}, uses: []agent.Movement{stent}, mapper: mapper(stentCode),
			want: []string{"withdrawn-code S1  " + stentCode, "withdrawn-code  (01)" + stentGTIN + "(21)SN0001 " + stentCode}},
		{name: "old code billed", lines: []FeeLine{line("S1", oldStent, "HC-1001", 1, 75000)}, uses: []agent.Movement{stent}, mapper: mapper(),
			want: []string{"outdated-code S1  " + oldStent}},
		{name: "total is not cnt × pric", lines: []FeeLine{func() FeeLine { l := stentLine; l.Amount = 75100; return l }()},
			uses: []agent.Movement{stent}, want: []string{"amount-mismatch S1  " + stentCode}},
		{name: "total rounded to the fen", lines: []FeeLine{{SN: "D1", Code: "XB01", Qty: 30000, Price: 3_333333, Amount: 1000}}},
		{name: "fractional quantity", lines: []FeeLine{{SN: "S1", Code: stentCode, HospitalCode: "HC-1001", Qty: 15000, Price: 750_000000, Amount: 112500}},
			uses: []agent.Movement{stent}, want: []string{"quantity-mismatch S1  " + stentCode}},
		{name: "above the procurement price only", lines: []FeeLine{line("S1", stentCode, "HC-1001", 1, 80001)}, uses: []agent.Movement{stent},
			want: []string{"above-procurement-cap S1  " + stentCode}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Reconcile(caseID, c.lines, c.uses, cat, c.mapper)
			if !slices.Equal(kinds(got), c.want) {
				t.Errorf("findings:\n got %q\nwant %q", kinds(got), c.want)
			}
			for _, f := range got {
				if f.Case != caseID || f.Detail == "" || strings.Contains(f.Detail, "PAT-0001") || strings.Contains(f.Detail, "V1") {
					t.Errorf("finding %+v: no case, no detail, or a patient id", f)
				}
			}
		})
	}
}

func TestReconcileDetails(t *testing.T) {
	got := Reconcile(caseID, wantLines(), []agent.Movement{use(stentGTIN, "SN0001", "L", caseID, 1), use(stentGTIN, "SN0002", "L", caseID, 2)}, cat, nil)
	want := map[string]string{
		QuantityMismatch + " " + stentCode:   "billed 1 of code " + stentCode + ", net of refunds, and 2 were scanned",
		BilledNotScanned + " " + balloonCode: "billed 1 of code " + balloonCode + ", net of refunds, and no use of that code was scanned in the case",
		AbovePriceCap + " " + staplerCode:    "line F20260312005 is priced 2580.00, above the platform's cap of 2500.00",
		BilledNotScanned + " " + staplerCode: "billed 1 of code " + staplerCode + ", net of refunds, and no use of that code was scanned in the case",
	}
	if len(got) != len(want) {
		t.Errorf("findings %q, want %d", kinds(got), len(want))
	}
	for _, f := range got {
		if w := want[f.Kind+" "+f.Code]; f.Detail != w {
			t.Errorf("%s %s: %q, want %q", f.Kind, f.Code, f.Detail, w)
		}
	}
}

func TestCodesMatch(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{stentCode, stentCode, true},
		{stentCode[:20], stentCode, true},
		{stentCode, stentCode[:20], true},
		{stentCode[:20], stentCode[:20], true},
		{stentCode, balloonCode, false},
		{stentCode[:20], balloonCode, false},
		{stentCode[:19], stentCode, false},
		{"", "", false},
	} {
		if got := CodesMatch(c.a, c.b); got != c.want {
			t.Errorf("CodesMatch(%q, %q) = %v", c.a, c.b, got)
		}
	}
}

func TestLineTotal(t *testing.T) {
	for _, c := range []struct {
		q    Qty
		p    Price
		want master.Amount
	}{
		{QtyOf(2), 3_505000, 701},
		{QtyOf(3), 3_333333, 1000},
		{5000, 1_010000, 51}, // 0.505 → 0.51
		{-QtyOf(1), 1200_000000, -120000},
	} {
		if got, ok := lineTotal(c.q, c.p); !ok || got != c.want {
			t.Errorf("lineTotal(%s, %s) = %s, %v; want %s", c.q, c.p, got, ok, c.want)
		}
	}
	if !amountNear(1000, QtyOf(3), 3_333333) || !amountNear(999, QtyOf(3), 3_333333) || amountNear(998, QtyOf(3), 3_333333) {
		t.Error("amountNear does not take either rounding, or takes a fen off")
	}
}
