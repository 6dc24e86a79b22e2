package insurance

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/agent"
)

func TestTraceCode(t *testing.T) {
	m := mv(agent.KindUse, stentGTIN, "SN0001", "L2309A", 0)
	epc := m
	epc.Symbology, epc.Raw = agent.SymbologyEPC, []byte{0x30, 0x00, 0x30, 0x14, 0x1d}
	with := func(sym string, raw string) agent.Movement { x := m; x.Symbology, x.Raw = sym, []byte(raw); return x }
	for _, c := range []struct {
		name string
		m    agent.Movement
		o    TraceOptions
		want string
		bad  string
	}{
		{"DataMatrix, GS kept", m, TraceOptions{}, "01" + stentGTIN + "172809301125090110L2309A\x1d21SN0001", ""},
		{"DataMatrix, GS dropped", m, TraceOptions{DropGS: true}, "01" + stentGTIN + "172809301125090110L2309A21SN0001", ""},
		{"leading GS is FNC1", with("]C1", "]C1\x1d01"+stentGTIN+"21SN0001"), TraceOptions{}, "01" + stentGTIN + "21SN0001", ""},
		{"no AIM identifier", with("", "01"+stentGTIN+"21SN0001"), TraceOptions{}, "01" + stentGTIN + "21SN0001", ""},
		{"HIBC", with("]C0", "]C0+A123BJC5D6/$$3281231LOT1/S0001Q"), TraceOptions{}, "+A123BJC5D6/$$3281231LOT1/S0001Q", ""},
		{"RFID tag", epc, TraceOptions{}, "01" + stentGTIN + "21SN0001", ""},
		{"RFID tag without serial", func() agent.Movement { x := epc; x.Serial = ""; return x }(), TraceOptions{}, "", "carries no GTIN and serial"},
		{"nothing scanned", with("]d2", "]d2"), TraceOptions{}, "", "no code was scanned"},
		{"too long", with("]Q1", "]Q1"+strings.Repeat("9", 101)), TraceOptions{}, "", "has 101 characters, the platform takes at most 100"},
		{"100 characters", with("]Q1", "]Q1"+strings.Repeat("码", 100)), TraceOptions{}, strings.Repeat("码", 100), ""},
		{"control character", with("]d2", "]d2010695\r1234"), TraceOptions{}, "", `control character '\r'`},
		{"not UTF-8", with("]d2", "]d2\xff\xfe"), TraceOptions{}, "", "not UTF-8"},
	} {
		got, err := TraceCode(c.m, c.o)
		if c.bad != "" {
			if !errors.Is(err, ErrTraceCode) || !strings.Contains(err.Error(), c.bad) || !strings.Contains(err.Error(), "gw-or-1/") {
				t.Errorf("%s: %q, %v; want an error with %q", c.name, got, err, c.bad)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}

func TestSettlementTraces(t *testing.T) {
	stent := use(stentGTIN, "SN0001", "L2309A", caseID, 1)
	again := stent
	again.Seq += 100
	blocked := use(stentGTIN, "SN0002", "L2309A", caseID, 2)
	blocked.Decision = agent.DecisionBlocked
	balloon := use(balloonGTIN, "SN0101", "L2310B", caseID, 3)
	noCode := use(staplerGTIN, "SN0201", "L2401C", caseID, 4)
	noCode.Raw = []byte("]d2")
	gauze := use(gauzeGTIN, "G1", "L1", caseID, 5)
	stray := use(strayGTIN, "X1", "L1", caseID, 6)
	receipt := mv(agent.KindReceive, stentGTIN, "SN0003", "L2309A", 0)

	tr := SettlementTraces([]agent.Movement{receipt, stent, again, blocked, balloon, noCode, gauze, stray}, cat, TraceOptions{DropGS: true})
	want := []string{"01" + stentGTIN + "172809301125090110L2309A21SN0001", "01" + balloonGTIN + "172809301125090110L2310B21SN0101"}
	if !slices.Equal(tr.Codes, want) || tr.Uses != 3 {
		t.Errorf("codes %q, uses %d; want %q, 3", tr.Codes, tr.Uses, want)
	}
	var reasons []string
	for _, s := range tr.Skipped {
		reasons = append(reasons, s.Item+": "+s.Reason)
	}
	if len(reasons) != 3 || !strings.Contains(reasons[0], "SN0201: insurance: movement") || !strings.Contains(reasons[0], "no code was scanned") ||
		!strings.HasSuffix(reasons[1], "G1: product "+gauzeGTIN+" has no national code") || !strings.HasSuffix(reasons[2], "X1: not in the catalogue") {
		t.Errorf("skipped: %q", reasons)
	}

	if f, ok := CheckTraceCount(caseID, 3, tr); !ok || f.Kind != TraceCountMismatch || f.Case != caseID ||
		f.Detail != "the settlement requires 3 consumable trace codes; the case used 3 consumable items, 2 of which yield a code" {
		t.Errorf("CheckTraceCount(3) = %+v, %v", f, ok)
	}
	if f, ok := CheckTraceCount(caseID, 4, tr); !ok || !strings.Contains(f.Detail, "requires 4") {
		t.Errorf("CheckTraceCount(4) = %+v, %v", f, ok)
	}
	good := SettlementTraces([]agent.Movement{stent, balloon}, cat, TraceOptions{})
	if f, ok := CheckTraceCount(caseID, 2, good); ok {
		t.Errorf("CheckTraceCount(2) of two coded uses = %+v", f)
	}
	if _, ok := CheckTraceCount(caseID, 1, good); !ok {
		t.Error("CheckTraceCount(1) of two uses found nothing")
	}
}
