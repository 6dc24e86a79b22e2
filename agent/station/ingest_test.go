package station_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/code"
	"github.com/udi-edge/udi-edge/agent/station"
	"github.com/udi-edge/udi-edge/agent/testkit"
)

var stations = map[string]agent.Station{
	"desk": {ID: "desk", Location: "warehouse", Kind: agent.KindReceive},
	"or1":  {ID: "or1", Location: "OR-1", Kind: agent.KindUse, RequireSerial: true},
}

func read(src, raw string) agent.Read {
	r := agent.Read{Source: src, Raw: []byte(raw), Data: []byte(raw), Time: time.Date(2026, 11, 24, 10, 5, 0, 0, time.FixedZone("CST", 8*3600))}
	if strings.HasPrefix(raw, "]") && len(raw) >= 3 {
		r.Symbology, r.Data = raw[:3], []byte(raw[3:])
	}
	return r
}

func TestMovementFromRead(t *testing.T) {
	in := &station.Ingest{Parser: code.Parser{Now: func() time.Time { return time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC) }}, Stations: stations}
	implant := "]d20109520123456788172805311021A-77\x1d2100042"
	cases := []struct {
		name   string
		r      agent.Read
		kind   agent.Kind
		item   string
		reason string
	}{
		{"receive at desk", read("desk", implant), agent.KindReceive, "(01)09520123456788(21)00042", ""},
		{"use in OR", read("or1", implant), agent.KindUse, "(01)09520123456788(21)00042", ""},
		{"lot-only at desk", read("desk", "]d20109520123456788172805311021A-77"), agent.KindReceive, "(01)09520123456788(10)21A-77", ""},
		{"lot-only in OR needs serial", read("or1", "]d20109520123456788172805311021A-77"), agent.KindReject, "", "serial"},
		{"bad check digit", read("desk", "]d20109520123456789172805311021A-77"), agent.KindReject, "", "check digit"},
		{"plain code", read("desk", "]C0WARD7-BED12"), agent.KindReject, "", "not an item code"},
		{"unknown station", read("ghost", implant), agent.KindReject, "", `station "ghost" is not configured`},
		{"framing error", agent.Read{Source: "desk", Raw: []byte("0101"), Err: errors.New("line longer than 4096 bytes")}, agent.KindReject, "", "longer than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := in.Movement(tc.r)
			if m.Kind != tc.kind || m.Item != tc.item {
				t.Fatalf("kind %q item %q, want %q %q (reason %q)", m.Kind, m.Item, tc.kind, tc.item, m.Reason)
			}
			if !strings.Contains(strings.ToLower(m.Reason), strings.ToLower(tc.reason)) || (tc.reason == "") != (m.Reason == "") {
				t.Errorf("reason %q, want it to contain %q", m.Reason, tc.reason)
			}
			if string(m.Raw) != string(tc.r.Raw) || m.Station != tc.r.Source {
				t.Errorf("raw %q station %q: the code as read must be kept", m.Raw, m.Station)
			}
		})
	}
	m := in.Movement(read("or1", implant))
	if m.GTIN != "09520123456788" || m.Serial != "00042" || m.Lot != "21A-77" || m.Expiry != "2028-05-31" || m.Location != "OR-1" || m.Symbology != "]d2" {
		t.Errorf("item fields: %+v", m)
	}
	if _, off := m.Time.Zone(); off != 8*3600 {
		t.Errorf("the read's zone must be kept, got offset %d", off)
	}
}

func TestHandleAnswersAfterLedger(t *testing.T) {
	l := &testkit.MemLedger{}
	var mu sync.Mutex
	got := map[agent.Verdict]int{}
	in := &station.Ingest{Ledger: l, Stations: stations, Answer: func(st string, o agent.Outcome) {
		mu.Lock()
		got[o.Verdict]++
		mu.Unlock()
		if o.Verdict != agent.VerdictFailed && o.Movement.Seq == 0 {
			t.Errorf("answered before the ledger assigned a sequence: %+v", o.Movement)
		}
	}}
	in.Handle(read("desk", "]d20109520123456788172805311021A-77\x1d2100042"))
	in.Handle(read("desk", "garbage"))
	in.Wait()
	if got[agent.VerdictAccepted] != 1 || got[agent.VerdictRejected] != 1 {
		t.Fatalf("verdicts %v", got)
	}
	if l.Len() != 2 {
		t.Fatalf("every read, good or bad, is recorded: %d recorded", l.Len())
	}
	l.Fail(errors.New("disk full"))
	in.Handle(read("desk", "]d20109520123456788172805311021A-77\x1d2100043"))
	in.Wait()
	if got[agent.VerdictFailed] != 1 {
		t.Fatalf("a ledger failure must be answered as failed: %v", got)
	}
}

// TestLabelWarningsRecorded: a label that breaks a GS1 pairing rule is
// read (the nurse is not stopped by the manufacturer's label), and the
// movement records the warning for the auditor.
func TestLabelWarningsRecorded(t *testing.T) {
	in := &station.Ingest{Stations: stations}
	m := in.Movement(read("desk", "]d2"+"0109520123456788"+"2559520123456788\x1d21A"))
	if m.Kind != agent.KindReceive || m.Item != "(01)09520123456788(21)A" {
		t.Fatalf("a label with a pairing fault must be read: %+v", m)
	}
	if !slices.Contains(m.Flags, code.WarnPairing) || !strings.Contains(m.Reason, "(01) GTIN and (255) GCN may not be used together") {
		t.Fatalf("flags %v reason %q", m.Flags, m.Reason)
	}
	clean := in.Movement(read("desk", "]d20109520123456788172805311021A-77\x1d2100042"))
	if len(clean.Flags) != 0 || clean.Reason != "" {
		t.Fatalf("a clean label carries no warning: %v %q", clean.Flags, clean.Reason)
	}
}

// TestConsignmentDesk: what a consignment desk receives is flagged as the
// supplier's; its other movements and other stations' are not.
func TestConsignmentDesk(t *testing.T) {
	sts := map[string]agent.Station{
		"cdesk": {ID: "cdesk", Location: "warehouse", Kind: agent.KindReceive, Consignor: "华东医药"},
		"desk":  stations["desk"],
	}
	in := &station.Ingest{Parser: code.Parser{}, Stations: sts}
	implant := "]d20109520123456788172805311021A-77\x1d2100042"
	if m := in.Movement(read("cdesk", implant)); !slices.Contains(m.Flags, agent.ConsignedFlag("华东医药")) {
		t.Errorf("consignment desk receipt flags %v", m.Flags)
	}
	if m := in.Movement(read("desk", implant)); len(m.Flags) != 0 {
		t.Errorf("hospital desk receipt flags %v", m.Flags)
	}
}
