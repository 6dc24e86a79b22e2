package epcis_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/epcis"
)

var (
	shanghai = time.FixedZone("CST", 8*3600)
	newYork  = time.FixedZone("EST", -5*3600)
	kolkata  = time.FixedZone("IST", 5*3600+1800)
)

const (
	gtin    = "80614141123458"
	gsrn    = "123456789012345675"
	hibcKey = "+A123BJC5D6E71/SSN1234"
)

// sequence is the life of an implant and its neighbours in one hospital:
// receiving, commissioning an RFID tag, stocking an OR cabinet, issue,
// use on a patient in a case, a return, a quarantine, waste, a transfer,
// a count, a lot-level item, an HIBC item, plus a rejected read and a
// wristband scan that must not be exported.
func sequence() []agent.Movement {
	t0 := time.Date(2026, 3, 14, 8, 0, 0, 0, shanghai)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	item := "(01)" + gtin + "(21)6789"
	base := agent.Movement{Gateway: "gw-or-3", Item: item, GTIN: gtin, Serial: "6789", Lot: "LOT-42", Expiry: "2030-01-31"}
	mv := func(seq uint64, k agent.Kind, min int, f func(*agent.Movement)) agent.Movement {
		m := base
		m.Seq, m.Kind, m.Time = seq, k, at(min)
		h := sha256.Sum256([]byte{byte(seq)})
		m.Hash = h[:]
		if f != nil {
			f(&m)
		}
		return m
	}
	return []agent.Movement{
		mv(1, agent.KindReceive, 0, func(m *agent.Movement) {
			m.Location, m.Station, m.Symbology = "WH-01", "scan-wh-1", "]d2"
			m.Raw = []byte("]d201" + gtin + "17300131" + "10LOT-42\x1d216789")
			m.Settlement = ""
		}),
		mv(2, agent.KindCommission, 5, func(m *agent.Movement) {
			m.Location, m.Station, m.Tag = "WH-01", "scan-wh-1", "urn:epc:raw:96.xE28011700000020A1B2C3D4E"
			m.Reason = "tag urn:epc:raw:96.xE28011700000020A1B2C3D4E bound to this item"
		}),
		mv(3, agent.KindStock, 60, func(m *agent.Movement) {
			m.Location, m.From, m.Station, m.Antenna = "OR-03/cabinet-1", "WH-01", "cab-1", 2
			m.Symbology, m.Raw = "EPC", []byte{0x30, 0x00, 0xE2, 0x80}
		}),
		mv(4, agent.KindIssue, 120, func(m *agent.Movement) {
			m.Location, m.From, m.Station, m.Antenna = "OR-03", "OR-03/cabinet-1", "cab-1", 2
			m.Reason = "gone from cabinet-1 after 3 inventory rounds"
		}),
		mv(5, kindContext, 121, func(m *agent.Movement) {
			m.Item, m.GTIN, m.Serial, m.Lot, m.Expiry = "", "", "", "", ""
			m.Location, m.Station, m.Patient = "OR-03", "scan-or-3", gsrn
			m.Raw = []byte("]C1" + gsrn)
		}),
		mv(6, agent.KindUse, 125, func(m *agent.Movement) {
			m.Location, m.From, m.Station = "OR-03", "OR-03/cabinet-1", "scan-or-3"
			m.Case, m.Patient, m.Actor = "123", gsrn, "N042"
			m.Settlement, m.Decision, m.Flags = "YB-2026-000123", "accepted", []string{"imported-unjustified"}
		}),
		mv(7, agent.KindReturn, 180, func(m *agent.Movement) {
			m.Item, m.Serial = "(01)"+gtin+"(21)6790", "6790"
			m.Location, m.From, m.Station = "WH-01", "OR-03", "scan-wh-1"
		}),
		mv(8, agent.KindQuarantine, 200, func(m *agent.Movement) {
			m.Item, m.Serial = "(01)"+gtin+"(21)6791", "6791"
			m.Location, m.Flags = "WH-Q", []string{"recalled"}
		}),
		mv(9, agent.KindWaste, 210, func(m *agent.Movement) {
			m.Item, m.Serial = "(01)"+gtin+"(21)6792", "6792"
			m.Location, m.Station, m.Case, m.Patient = "OR-03", "scan-or-3", "123", gsrn
		}),
		mv(10, agent.KindTransfer, 240, func(m *agent.Movement) {
			m.Item, m.Serial = "(01)"+gtin+"(21)6793", "6793"
			m.Location, m.From, m.Reason = "CATH-1", "WH-01", "through door-2, in"
		}),
		mv(11, agent.KindCount, 300, func(m *agent.Movement) {
			m.Location, m.Station, m.Antenna, m.Reason = "OR-03/cabinet-1", "cab-1", 1, "present at start-up"
			m.Time = m.Time.In(time.UTC)
		}),
		mv(12, agent.KindReceive, 310, func(m *agent.Movement) {
			m.Item, m.GTIN, m.Serial, m.Lot, m.Expiry = "(01)09506000134352(10)L/7 A", "09506000134352", "", "L/7 A", "2027-06-00"
			m.Location = "WH-01"
		}),
		mv(13, agent.KindReceive, 320, func(m *agent.Movement) {
			m.Item, m.GTIN, m.Serial, m.Lot, m.Expiry = hibcKey, "", "SN1234", "", ""
			m.Location, m.Symbology, m.Raw = "WH-01", "]C0", []byte("+A123BJC5D6E71/$$3301231SN1234L")
		}),
		mv(14, agent.KindReject, 330, func(m *agent.Movement) {
			m.Item, m.GTIN, m.Serial, m.Lot, m.Expiry = "", "", "", "", ""
			m.Raw, m.Reason = []byte("garbage"), "unreadable"
		}),
		mv(15, agent.KindDispose, 400, func(m *agent.Movement) {
			m.Item, m.Serial = "(01)"+gtin+"(21)6791", "6791"
			m.Location = "WH-Q"
		}),
		mv(16, agent.KindAdjust, 410, func(m *agent.Movement) {
			m.Location, m.Station, m.Reason = "OR-03", "scan-or-3", "cancels use movement 6"
			m.Case, m.Patient = "123", gsrn
		}),
	}
}

func write(t testing.TB, ms []agent.Movement, opt epcis.Options) []byte {
	t.Helper()
	if opt.CreationDate.IsZero() {
		opt.CreationDate = time.Date(2026, 3, 14, 18, 0, 0, 0, shanghai)
	}
	var buf bytes.Buffer
	if err := epcis.Write(&buf, ms, opt); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

// TestReferenceExampleValidates proves the validator accepts a document
// known to be valid.
func TestReferenceExampleValidates(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(vectors, "implant-use-example.jsonld"))
	if err != nil {
		t.Fatal(err)
	}
	if err := validate(t, data); err != nil {
		t.Fatalf("reference example rejected: %v", err)
	}
}

// TestBrokenDocumentsFail proves the validation can fail: each breakage of
// the reference example must be rejected.
func TestBrokenDocumentsFail(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(vectors, "implant-use-example.jsonld"))
	if err != nil {
		t.Fatal(err)
	}
	event := func(d map[string]any) map[string]any {
		return d["epcisBody"].(map[string]any)["eventList"].([]any)[0].(map[string]any)
	}
	cases := map[string]func(d map[string]any){
		"action not in enum":       func(d map[string]any) { event(d)["action"] = "USE" },
		"no eventTimeZoneOffset":   func(d map[string]any) { delete(event(d), "eventTimeZoneOffset") },
		"offset without two digit": func(d map[string]any) { event(d)["eventTimeZoneOffset"] = "+8:00" },
		"eventTime not date-time":  func(d map[string]any) { event(d)["eventTime"] = "14/03/2026 09:42" },
		"bizStep neither CBV nor URI": func(d map[string]any) {
			event(d)["bizStep"] = "implanting"
		},
		"bizStep in CBV namespace but unknown": func(d map[string]any) {
			event(d)["bizStep"] = "urn:epcglobal:cbv:bizstep:implanting"
		},
		"epc not a URI":             func(d map[string]any) { event(d)["epcList"] = []any{"6789"} },
		"no schemaVersion":          func(d map[string]any) { delete(d, "schemaVersion") },
		"extension name not a URI":  func(d map[string]any) { event(d)["lot number"] = "LOT-42" },
		"ilmd on OBSERVE":           func(d map[string]any) { event(d)["ilmd"] = map[string]any{"cbvmda:lotNumber": "L"} },
		"source without type":       func(d map[string]any) { event(d)["sourceList"] = []any{map[string]any{"source": "urn:x:y"}} },
		"neither epcList nor qList": func(d map[string]any) { delete(event(d), "epcList") },
	}
	for name, breakIt := range cases {
		t.Run(name, func(t *testing.T) {
			var d map[string]any
			if err := json.Unmarshal(data, &d); err != nil {
				t.Fatal(err)
			}
			breakIt(d)
			broken, _ := json.Marshal(d)
			if err := validate(t, broken); err == nil {
				t.Fatalf("broken document accepted:\n%s", broken)
			}
		})
	}
}

func TestSequenceValidates(t *testing.T) {
	for _, opt := range []epcis.Options{
		{Site: "hosp-1", Gateway: "gw-or-3"},
		{Site: "hosp-1", Gateway: "gw-or-3", IncludePatient: true, IncludeActor: true},
		{},
	} {
		data := write(t, sequence(), opt)
		if err := validate(t, data); err != nil {
			t.Fatalf("options %+v: %v\n%s", opt, err, data)
		}
	}
}

func TestEmptyDocumentValidates(t *testing.T) {
	data := write(t, nil, epcis.Options{Site: "hosp-1"})
	if err := validate(t, data); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if n := len(decode(t, data).Body.Events); n != 0 {
		t.Fatalf("%d events, want 0", n)
	}
}

// events writes the sequence and returns its events by udi:seq.
func events(t *testing.T, opt epcis.Options) map[string]map[string]any {
	t.Helper()
	d := decode(t, write(t, sequence(), opt))
	out := make(map[string]map[string]any)
	for _, ev := range d.Body.Events {
		out[str(ev, "udi:seq")] = ev
	}
	return out
}

func TestMappingPerKind(t *testing.T) {
	evs := events(t, epcis.Options{Site: "hosp-1"})
	want := []struct {
		seq, kind, action, step, disp string
	}{
		{"1", "receive", "OBSERVE", "receiving", "sellable_not_accessible"},
		{"2", "commission", "ADD", "commissioning", "active"},
		{"3", "stock", "OBSERVE", "stocking", "sellable_accessible"},
		{"4", "issue", "OBSERVE", "picking", "in_progress"},
		{"6", "use", "OBSERVE", "dispensing", "dispensed"},
		{"7", "return", "OBSERVE", "receiving", "returned"},
		{"8", "quarantine", "OBSERVE", "holding", "recalled"},
		{"9", "waste", "DELETE", "destroying", "destroyed"},
		{"10", "transfer", "OBSERVE", "arriving", ""},
		{"11", "count", "OBSERVE", "cycle_counting", ""},
		{"15", "dispose", "DELETE", "destroying", "disposed"},
		{"16", "adjust", "OBSERVE", "other", ""},
	}
	for _, w := range want {
		ev := evs[w.seq]
		if ev == nil {
			t.Errorf("seq %s (%s): no event", w.seq, w.kind)
			continue
		}
		got := [4]string{str(ev, "udi:kind"), str(ev, "action"), str(ev, "bizStep"), str(ev, "disposition")}
		if got != [4]string{w.kind, w.action, w.step, w.disp} {
			t.Errorf("seq %s: got %q, want %q", w.seq, got, [4]string{w.kind, w.action, w.step, w.disp})
		}
		m, ok := epcis.MappingOf(agent.Kind(w.kind))
		if !ok || m.Action != w.action || m.BizStep != w.step || (w.kind != "quarantine" && m.Disposition != w.disp) {
			t.Errorf("MappingOf(%s) = %+v, %v", w.kind, m, ok)
		}
	}
	if len(evs) != 14 {
		t.Errorf("%d events, want 14 (reject and context skipped)", len(evs))
	}
	for _, k := range []agent.Kind{agent.KindReject, kindContext} {
		if _, ok := epcis.MappingOf(k); ok {
			t.Errorf("MappingOf(%s) ok", k)
		}
	}
	for _, k := range agent.Kinds {
		if _, ok := epcis.MappingOf(k); !ok && k != agent.KindReject && k != kindContext {
			t.Errorf("kind %s has no mapping", k)
		}
	}
}

func TestQuarantineOfExpiredItem(t *testing.T) {
	m := sequence()[7]
	m.Flags = []string{"expired"}
	ev := decode(t, write(t, []agent.Movement{m}, epcis.Options{})).Body.Events[0]
	if d := str(ev, "disposition"); d != "expired" {
		t.Fatalf("disposition %q, want expired", d)
	}
	m.Flags = []string{"expired", "recalled"}
	ev = decode(t, write(t, []agent.Movement{m}, epcis.Options{})).Body.Events[0]
	if d := str(ev, "disposition"); d != "recalled" {
		t.Fatalf("disposition %q, want recalled", d)
	}
}

func TestTimeAndZone(t *testing.T) {
	base := sequence()[0]
	for _, c := range []struct {
		at         time.Time
		time, zone string
	}{
		{time.Date(2026, 3, 14, 9, 42, 17, 123456789, shanghai), "2026-03-14T09:42:17.123+08:00", "+08:00"},
		{time.Date(2026, 1, 2, 3, 4, 5, 0, newYork), "2026-01-02T03:04:05.000-05:00", "-05:00"},
		{time.Date(2026, 1, 2, 3, 4, 5, 0, kolkata), "2026-01-02T03:04:05.000+05:30", "+05:30"},
		{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "2026-01-02T03:04:05.000Z", "+00:00"},
	} {
		m := base
		m.Time = c.at
		data := write(t, []agent.Movement{m}, epcis.Options{})
		if err := validate(t, data); err != nil {
			t.Fatal(err)
		}
		ev := decode(t, data).Body.Events[0]
		if got := str(ev, "eventTime"); got != c.time {
			t.Errorf("eventTime %q, want %q", got, c.time)
		}
		if got := str(ev, "eventTimeZoneOffset"); got != c.zone {
			t.Errorf("eventTimeZoneOffset %q, want %q", got, c.zone)
		}
	}
	m := base
	m.Time = time.Time{}
	if err := epcis.Write(&bytes.Buffer{}, []agent.Movement{m}, epcis.Options{}); !errors.Is(err, epcis.ErrTime) {
		t.Fatalf("zero time: %v, want ErrTime", err)
	}
}

func TestItemURIs(t *testing.T) {
	evs := events(t, epcis.Options{Site: "hosp-1"})
	if got := str(evs["6"], "epcList"); got != `["https://id.gs1.org/01/80614141123458/21/6789"]` {
		t.Errorf("serialised item: epcList %s", got)
	}
	// Lot-level: quantityList with the lot's DL URI, percent-encoded, no epcList.
	lot := evs["12"]
	if _, has := lot["epcList"]; has {
		t.Errorf("lot-level item has an epcList")
	}
	if got := str(lot, "quantityList"); got != `[{"epcClass":"https://id.gs1.org/01/09506000134352/10/L%2F7%20A","quantity":1}]` {
		t.Errorf("lot-level item: quantityList %s", got)
	}
	if got := str(evs["13"], "epcList", 0); got != "urn:udi-edge:hibc:%2BA123BJC5D6E71%2FSSN1234" {
		t.Errorf("HIBC item: %q", got)
	}

	cases := []struct{ key, field, want string }{
		{"(01)9506000134352(21)A/B", "epcList", `["https://id.gs1.org/01/09506000134352/21/A%2FB"]`},
		{"(01)09506000134352", "quantityList", `[{"epcClass":"https://id.gs1.org/01/09506000134352","quantity":1}]`},
		{"+A123BJC5D6E71/$LOT9", "quantityList", `[{"epcClass":"urn:udi-edge:hibc:%2BA123BJC5D6E71%2F%24LOT9","quantity":1}]`},
		{"urn:epc:raw:96.xE28011700000020A1B2C3D4E", "epcList", `["urn:epc:raw:96.xE28011700000020A1B2C3D4E"]`},
		// MA (CHINA.md's vector) and AHM: no GS1 key, a udi-edge URN.
		{"MA.156.M0.100350.01004YA10017.SLMSAGAAAC", "epcList", `["urn:udi-edge:ma:MA.156.M0.100350.01004YA10017.SLMSAGAAAC"]`},
		{"MA.156.M0.100350.01004YA10017.Sx/1+2", "epcList", `["urn:udi-edge:ma:MA.156.M0.100350.01004YA10017.Sx%2F1%2B2"]`},
		{"MA.156.M0.100350.01004YA10017.LAY21062803", "quantityList", `[{"epcClass":"urn:udi-edge:ma:MA.156.M0.100350.01004YA10017.LAY21062803","quantity":1}]`},
		{"MA.156.M0.100350.01004YA10017", "quantityList", `[{"epcClass":"urn:udi-edge:ma:MA.156.M0.100350.01004YA10017","quantity":1}]`},
		{"MF6901234567890BA20220101*SN000123", "epcList", `["urn:udi-edge:ahm:MF6901234567890BA20220101%2ASN000123"]`},
	}
	for _, c := range cases {
		m := sequence()[0]
		m.Item = c.key
		data := write(t, []agent.Movement{m}, epcis.Options{})
		if err := validate(t, data); err != nil {
			t.Errorf("%s: %v", c.key, err)
		}
		if got := str(decode(t, data).Body.Events[0], c.field); got != c.want {
			t.Errorf("%s: %s %s, want %s", c.key, c.field, got, c.want)
		}
	}
	for _, bad := range []string{"", "(01)123(21)X", "(01)09506000134352(22)X", "hello", "MA.156.M0", "MA.WARD", "MF12"} {
		m := sequence()[0]
		m.Item = bad
		if err := epcis.Write(&bytes.Buffer{}, []agent.Movement{m}, epcis.Options{}); !errors.Is(err, epcis.ErrItem) {
			t.Errorf("item %q: %v, want ErrItem", bad, err)
		}
	}
}

func TestWhereAndPath(t *testing.T) {
	evs := events(t, epcis.Options{Site: "hosp-1"})
	stock := evs["3"]
	if got := str(stock, "readPoint", "id"); got != "urn:udi-edge:loc:hosp-1:OR-03%2Fcabinet-1" {
		t.Errorf("readPoint %q", got)
	}
	if got := str(stock, "bizLocation", "id"); got != "urn:udi-edge:loc:hosp-1:OR-03%2Fcabinet-1" {
		t.Errorf("bizLocation %q", got)
	}
	tr := evs["10"]
	if got := str(tr, "sourceList"); got != `[{"source":"urn:udi-edge:loc:hosp-1:WH-01","type":"location"}]` {
		t.Errorf("transfer sourceList %s", got)
	}
	if got := str(tr, "destinationList"); got != `[{"destination":"urn:udi-edge:loc:hosp-1:CATH-1","type":"location"}]` {
		t.Errorf("transfer destinationList %s", got)
	}
	for _, seq := range []string{"4", "9", "15"} { // issue, waste, dispose: not at the location afterwards
		if _, has := evs[seq]["bizLocation"]; has {
			t.Errorf("seq %s has a bizLocation", seq)
		}
	}
	// A location that already is a URI is kept; a custom LocationURI is used.
	m := sequence()[0]
	m.Location = "urn:epc:id:sgln:0614141.00001.0"
	ev := decode(t, write(t, []agent.Movement{m}, epcis.Options{Site: "hosp-1"})).Body.Events[0]
	if got := str(ev, "readPoint", "id"); got != m.Location {
		t.Errorf("URI location rewritten: %q", got)
	}
	opt := epcis.Options{LocationURI: func(l string) string { return "https://hospital.example.org/loc/" + l }}
	ev = decode(t, write(t, []agent.Movement{sequence()[0]}, opt)).Body.Events[0]
	if got := str(ev, "bizLocation", "id"); got != "https://hospital.example.org/loc/WH-01" {
		t.Errorf("custom LocationURI: %q", got)
	}
	opt.LocationURI = func(l string) string { return "not a uri" }
	if err := epcis.Write(&bytes.Buffer{}, []agent.Movement{sequence()[0]}, opt); !errors.Is(err, epcis.ErrLocation) {
		t.Errorf("bad LocationURI: %v, want ErrLocation", err)
	}
}

func TestILMDOnlyOnCommission(t *testing.T) {
	evs := events(t, epcis.Options{})
	if got := str(evs["2"], "ilmd"); got != `{"cbvmda:itemExpirationDate":"2030-01-31","cbvmda:lotNumber":"LOT-42"}` {
		t.Errorf("commission ilmd %s", got)
	}
	for seq, ev := range evs {
		if _, has := ev["ilmd"]; has && seq != "2" {
			t.Errorf("seq %s (%s) has ilmd", seq, str(ev, "udi:kind"))
		}
	}
	if got := str(evs["1"], "udi:lot") + " " + str(evs["1"], "udi:expiry"); got != "LOT-42 2030-01-31" {
		t.Errorf("receive lot/expiry extension %q", got)
	}
}

func TestEventID(t *testing.T) {
	m := sequence()[0]
	h := sha256.Sum256([]byte{1})
	ev := decode(t, write(t, []agent.Movement{m}, epcis.Options{IncludePatient: true})).Body.Events[0]
	if got, want := str(ev, "eventID"), "ni:///sha-256;"+strings.TrimRight(b64url(h[:]), "="); got != want {
		t.Errorf("eventID %q, want %q", got, want)
	}
	// Without patients, no chain hash: it would let a reader test guesses.
	data := write(t, []agent.Movement{m}, epcis.Options{})
	if strings.Contains(string(data), "sha-256") || strings.Contains(string(data), "prevHash") {
		t.Errorf("chain hash exported without IncludePatient:\n%s", data)
	}
	if got := str(decode(t, data).Body.Events[0], "eventID"); got != "urn:udi-edge:event:gw-or-3:1" {
		t.Errorf("eventID without patients %q", got)
	}
	m.Hash = nil
	ev = decode(t, write(t, []agent.Movement{m}, epcis.Options{})).Body.Events[0]
	if got := str(ev, "eventID"); got != "urn:udi-edge:event:gw-or-3:1" {
		t.Errorf("eventID %q", got)
	}
	m.Gateway, m.Seq = "", 0
	data = write(t, []agent.Movement{m}, epcis.Options{})
	if _, has := decode(t, data).Body.Events[0]["eventID"]; has {
		t.Errorf("eventID without hash, gateway or seq")
	}
	if err := validate(t, data); err != nil {
		t.Error(err)
	}
}

func TestExtension(t *testing.T) {
	evs := events(t, epcis.Options{Site: "hosp-1"})
	use := evs["6"]
	for k, want := range map[string]string{
		"udi:kind":     "use",
		"udi:gateway":  "gw-or-3",
		"udi:station":  "scan-or-3",
		"udi:decision": "accepted",
		"udi:flags":    `["imported-unjustified"]`,
	} {
		if got := str(use, k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if got := str(evs["3"], "udi:antenna"); got != "2" {
		t.Errorf("antenna %q", got)
	}
	if got := str(evs["1"], "udi:raw"); !strings.HasPrefix(got, "5D643230313830363134") { // "]d2018061 4"
		t.Errorf("raw hex %q", got)
	}
	if got := str(use, "bizTransactionList"); got != `[{"bizTransaction":"urn:udi-edge:settlement:hosp-1:YB-2026-000123","type":"urn:udi-edge:epcis:btt:settlement"}]` {
		t.Errorf("settlement %s", got)
	}
	d := decode(t, write(t, nil, epcis.Options{Site: "hosp-1"}))
	if got := str(d.Context, 1, "udi"); got != epcis.Namespace {
		t.Errorf("@context udi = %q", got)
	}
}

// TestNoPatientUnlessAsked: by default neither the patient nor the case
// appears anywhere in the document, nor the staff badge.
func TestNoPatientUnlessAsked(t *testing.T) {
	data := write(t, sequence(), epcis.Options{Site: "hosp-1", Gateway: "gw-or-3"})
	for _, secret := range []string{gsrn, "8018", "8019", "surgicalCase", "sdt:patient", `"123"`, ":123", "N042", "udi:actor"} {
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("document contains %q without IncludePatient/IncludeActor", secret)
		}
	}
	// The wristband scan (context) is not exported even as raw hex.
	if bytes.Contains(data, []byte(hexOf("]C1"+gsrn))) {
		t.Error("wristband scan exported")
	}
}

func TestPatientWhenAsked(t *testing.T) {
	evs := events(t, epcis.Options{Site: "hosp-1", IncludePatient: true, IncludeActor: true})
	use := evs["6"]
	if got := str(use, "bizTransactionList", 1); got != `{"bizTransaction":"https://id.gs1.org/8018/`+gsrn+`/8019/123","type":"urn:udi-edge:epcis:btt:surgicalCase"}` {
		t.Errorf("case transaction %s", got)
	}
	dl := str(use, "destinationList")
	if !strings.Contains(dl, `{"destination":"https://id.gs1.org/8018/`+gsrn+`","type":"urn:udi-edge:epcis:sdt:patient"}`) {
		t.Errorf("patient destination %s", dl)
	}
	if got := str(use, "udi:actor"); got != "urn:udi-edge:staff:hosp-1:N042" {
		t.Errorf("actor %q", got)
	}
	// A patient that is not a GSRN and a case that is not an SRIN get URNs.
	m := sequence()[5]
	m.Patient, m.Case = "MRN 0042", "OR-2026-77"
	data := write(t, []agent.Movement{m}, epcis.Options{Site: "hosp-1", IncludePatient: true})
	if err := validate(t, data); err != nil {
		t.Fatal(err)
	}
	ev := decode(t, data).Body.Events[0]
	if got := str(ev, "bizTransactionList", 1, "bizTransaction"); got != "urn:udi-edge:case:hosp-1:OR-2026-77" {
		t.Errorf("case %q", got)
	}
	if got := str(ev, "destinationList", 1, "destination"); got != "urn:udi-edge:patient:hosp-1:MRN%200042" {
		t.Errorf("patient %q", got)
	}
}

func TestSkipsAndErrors(t *testing.T) {
	var buf bytes.Buffer
	e := epcis.NewEncoder(&buf, epcis.Options{})
	for _, m := range sequence() {
		if err := e.Encode(m); err != nil {
			t.Fatal(err)
		}
	}
	bad := sequence()[0]
	bad.Kind = "teleport"
	if err := e.Encode(bad); !errors.Is(err, epcis.ErrKind) {
		t.Fatalf("unknown kind: %v", err)
	}
	bad = sequence()[0]
	bad.Item = ""
	if err := e.Encode(bad); !errors.Is(err, epcis.ErrItem) {
		t.Fatalf("empty item: %v", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if w, s := e.Events(); w != 14 || s != 2 {
		t.Fatalf("Events() = %d, %d; want 14, 2", w, s)
	}
	// Refused movements wrote nothing: the document is still valid.
	if err := validate(t, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := e.Encode(sequence()[0]); !errors.Is(err, epcis.ErrClosed) {
		t.Fatalf("Encode after Close: %v", err)
	}
}

func TestStringsAreEscaped(t *testing.T) {
	m := sequence()[0]
	m.Reason = "quote \" backslash \\ newline \n nul \x00 bad \xff ls \u2028 中文"
	m.Flags = []string{"<&>"}
	m.Station = "scan\t1"
	data := write(t, []agent.Movement{m}, epcis.Options{Site: `a"b`})
	if !json.Valid(data) {
		t.Fatalf("invalid JSON:\n%s", data)
	}
	if err := validate(t, data); err != nil {
		t.Fatal(err)
	}
	ev := decode(t, data).Body.Events[0]
	if got, want := str(ev, "udi:reason"), strings.ToValidUTF8(m.Reason, "\uFFFD"); got != want {
		t.Errorf("reason %q, want %q", got, want)
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("disk full")
	}
	f.n--
	return len(p), nil
}

func TestWriterError(t *testing.T) {
	ms := make([]agent.Movement, 0, 2000)
	for range 200 {
		ms = append(ms, sequence()...)
	}
	if err := epcis.Write(&failWriter{n: 1}, ms, epcis.Options{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v, want disk full", err)
	}
}

// TestBlockedAttemptNotExported: a use the checks blocked is the record of
// an attempt; no item moved, so no event says it was dispensed. The
// accepted use of the same item after it is exported.
func TestBlockedAttemptNotExported(t *testing.T) {
	seq := sequence()
	var use agent.Movement
	for _, m := range seq {
		if m.Kind == agent.KindUse {
			use = m
		}
	}
	if use.Kind != agent.KindUse {
		t.Fatal("the test sequence has no use")
	}
	blocked := use
	blocked.Seq, blocked.Decision, blocked.Reason = 99, agent.DecisionBlocked, "expired 2025-05-31"
	accepted := use
	accepted.Seq, accepted.Decision = 100, agent.DecisionAccepted
	var buf bytes.Buffer
	e := epcis.NewEncoder(&buf, epcis.Options{Site: "h1", Gateway: "gw-or-3"})
	for _, m := range []agent.Movement{blocked, accepted} {
		if err := e.Encode(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if w, s := e.Events(); w != 1 || s != 1 {
		t.Fatalf("Events() = %d, %d; want 1 written (the accepted use), 1 skipped (the blocked attempt)", w, s)
	}
	if err := validate(t, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte(`"blocked"`)) || !bytes.Contains(buf.Bytes(), []byte(`"accepted"`)) {
		t.Fatalf("the document must hold the accepted use only:\n%s", buf.Bytes())
	}
}

// TestClockBack: a movement recorded while the gateway's clock was an
// hour behind keeps its recorded time as eventTime and carries
// udi:clockBack (an xsd:duration) and its flag; the document still
// validates, and a movement not flagged carries no udi:clockBack.
func TestClockBack(t *testing.T) {
	seq := sequence()
	receive := seq[0]
	behind := receive
	behind.Seq, behind.Item, behind.Serial = 17, "(01)"+gtin+"(21)6800", "6800"
	behind.Time = receive.Time.Add(-time.Hour)
	behind.Flags = []string{agent.ClockBackFlag(time.Hour + 10*time.Minute)}
	data := write(t, []agent.Movement{receive, behind}, epcis.Options{Site: "hosp-1"})
	if err := validate(t, data); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	evs := decode(t, data).Body.Events
	if len(evs) != 2 {
		t.Fatalf("%d events", len(evs))
	}
	if _, has := evs[0]["udi:clockBack"]; has {
		t.Errorf("a movement not flagged carries udi:clockBack: %v", evs[0])
	}
	ev := evs[1]
	for k, want := range map[string]string{
		"eventTime":     "2026-03-14T07:00:00.000+08:00",
		"udi:seq":       "17",
		"udi:clockBack": "PT4200S",
		"udi:flags":     `["clock-back:4200s"]`,
	} {
		if got := str(ev, k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}
