package lifecycle

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
)

const (
	gtin      = "09506000134352"
	importGTN = "04012345000018"
)

// fixture is a gateway's cached data: a catalogue, recalls, lot statuses
// and item states.
type fixture struct {
	now     time.Time
	items   map[string]Item
	recalls map[string]string // gtin/lot or gtin//serial → reason
	lots    map[string]string // gtin/lot → status
	states  map[string]State
}

func newFixture() *fixture {
	return &fixture{
		now: time.Date(2026, 11, 24, 10, 5, 0, 0, shanghai),
		items: map[string]Item{
			gtin:      {GTIN: gtin, Name: "Hip stem 12", HighValue: true, Tracking: TrackSerial},
			importGTN: {GTIN: importGTN, Name: "Drug-eluting stent", HighValue: true, Imported: true, Tracking: TrackSerial},
		},
		recalls: map[string]string{},
		lots:    map[string]string{},
		states:  map[string]State{},
	}
}

func (f *fixture) checker(rules Rules) *Checker {
	return &Checker{
		Now:       func() time.Time { return f.now },
		Rules:     rules,
		Catalogue: func(g string) (Item, bool) { it, ok := f.items[g]; return it, ok },
		Recalled: func(g, lot, serial string) (string, bool) {
			r, ok := f.recalls[g+"/"+lot+"/"+serial]
			return r, ok
		},
		LotStatus: func(g, lot string) string { return f.lots[g+"/"+lot] },
		State:     func(key string) (State, bool) { s, ok := f.states[key]; return s, ok },
	}
}

// stocked records that the item was received and stocked.
func (f *fixture) stocked(key string) {
	s, _ := Apply(State{}, agent.Movement{Kind: agent.KindReceive, Item: key, Location: "WH"})
	s, _ = Apply(s, agent.Movement{Kind: agent.KindStock, Item: key, Location: "CAB-1"})
	f.states[key] = s
}

// use returns a use of the serialised item in OR-3, lot L2405A, expiring
// 2027-06-30.
func use(g, serial string) agent.Movement {
	return agent.Movement{
		Gateway: "gw-or3", Kind: agent.KindUse, Item: "(01)" + g + "(21)" + serial, GTIN: g, Serial: serial,
		Lot: "L2405A", Expiry: "2027-06-30", Location: "OR-3", Case: "C-20", Patient: "PATIENT-4711",
	}
}

func codes(d Decision) []CheckCode {
	var out []CheckCode
	for _, r := range d.Reasons {
		out = append(out, r.Code)
	}
	return out
}

func TestCheckAccept(t *testing.T) {
	f := newFixture()
	m := use(gtin, "S1")
	f.stocked(m.Item)
	d := f.checker(nil).Check(m, true)
	if d.Outcome != Accept || d.Reasons != nil || d.Flags != nil {
		t.Errorf("decision %+v", d)
	}
}

// Each check with its default severity and its text.
func TestCheckDefaults(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(f *fixture, m *agent.Movement)
		open    bool
		outcome Outcome
		code    CheckCode
		text    string
	}{
		{"expired", func(f *fixture, m *agent.Movement) { m.Expiry = "2026-10-31" }, true, Block, CheckExpired, "expired 2026-10-31"},
		{"lot expired", func(f *fixture, m *agent.Movement) { f.lots[gtin+"/L2405A"] = LotExpired }, true, Block, CheckExpired, "expired: lot L2405A is marked expired"},
		{"recalled lot", func(f *fixture, m *agent.Movement) { f.recalls[gtin+"/L2405A/"] = "supplier notice 2026-11-02" }, true, Block, CheckRecalled, "recalled lot L2405A: supplier notice 2026-11-02"},
		{"recalled serial", func(f *fixture, m *agent.Movement) { f.recalls[gtin+"//S1"] = "NMPA notice 2026-11-10" }, true, Block, CheckRecalled, "recalled serial S1: NMPA notice 2026-11-10"},
		{"lot status recalled", func(f *fixture, m *agent.Movement) { f.lots[gtin+"/L2405A"] = LotRecalled }, true, Block, CheckRecalled, "recalled lot L2405A"},
		{"used before", func(f *fixture, m *agent.Movement) {
			s := f.states[m.Item]
			prev := *m
			prev.Case, prev.Time = "C-17", time.Date(2026, 11, 20, 9, 0, 0, 0, shanghai)
			f.states[m.Item], _ = Apply(s, prev)
		}, true, Block, CheckUsedTwice, "already used in case C-17 on 2026-11-20"},
		{"quarantined item", func(f *fixture, m *agent.Movement) {
			f.states[m.Item], _ = Apply(f.states[m.Item], agent.Movement{Kind: agent.KindQuarantine, Item: m.Item, Location: "Q", Time: time.Date(2026, 11, 2, 8, 0, 0, 0, shanghai)})
		}, true, Block, CheckQuarantined, "quarantined since 2026-11-02"},
		{"lot quarantined", func(f *fixture, m *agent.Movement) { f.lots[gtin+"/L2405A"] = LotQuarantined }, true, Block, CheckQuarantined, "lot L2405A quarantined"},
		{"lot on hold", func(f *fixture, m *agent.Movement) { f.lots[gtin+"/L2405A"] = LotOnHold }, true, Block, CheckQuarantined, "lot L2405A on hold"},
		{"lot status unknown", func(f *fixture, m *agent.Movement) { f.lots[gtin+"/L2405A"] = "under review" }, true, Warn, CheckLotStatus, `lot L2405A status "under review"`},
		{"unknown item", func(f *fixture, m *agent.Movement) { delete(f.items, gtin) }, true, Warn, CheckUnknownItem, "unknown item: not in the catalogue, recorded"},
		{"no open case", func(f *fixture, m *agent.Movement) {}, false, Warn, CheckNoCase, "no open case: scan the wristband or the case"},
		{"expiring soon", func(f *fixture, m *agent.Movement) { m.Expiry = "2026-11-30" }, true, Warn, CheckExpiringSoon, "expires 2026-11-30, in 6 days"},
		{"imported", func(f *fixture, m *agent.Movement) { f.items[gtin] = Item{GTIN: gtin, Imported: true} }, true, Pending, CheckImported, "imported item: a necessity justification is needed"},
		{"never received", func(f *fixture, m *agent.Movement) { delete(f.states, m.Item) }, true, Accept, CheckNeverReceived, "never received: no receipt recorded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture()
			m := use(gtin, "S1")
			f.stocked(m.Item)
			tt.setup(f, &m)
			d := f.checker(nil).Check(m, tt.open)
			if d.Outcome != tt.outcome {
				t.Errorf("outcome %v, want %v (%+v)", d.Outcome, tt.outcome, d.Reasons)
			}
			if len(d.Reasons) == 0 || d.Reasons[0].Code != tt.code || d.Reasons[0].Text != tt.text {
				t.Fatalf("reasons %+v, want %s %q first", d.Reasons, tt.code, tt.text)
			}
			if d.Reasons[0].Severity != DefaultRules()[tt.code] {
				t.Errorf("severity %v, want the default %v", d.Reasons[0].Severity, DefaultRules()[tt.code])
			}
			if !slices.Contains(d.Flags, string(tt.code)) {
				t.Errorf("flags %q lack %s", d.Flags, tt.code)
			}
			for _, r := range d.Reasons {
				if strings.Contains(r.Text, "PATIENT-4711") {
					t.Errorf("reason %q names the patient", r.Text)
				}
			}
		})
	}
}

// Rules change what each check does, down to not running it.
func TestCheckRules(t *testing.T) {
	f := newFixture()
	m := use(gtin, "S1")
	f.stocked(m.Item)
	m.Expiry = "2026-10-31"
	r, err := ParseRules(map[string]string{"expired": "warn", "no-case": "block", "unknown-item": "off", "never-received": "warn"})
	if err != nil {
		t.Fatal(err)
	}
	d := f.checker(r).Check(m, false)
	if d.Outcome != Block || !slices.Equal(codes(d), []CheckCode{CheckNoCase, CheckExpired}) {
		t.Errorf("decision %v %v", d.Outcome, codes(d))
	}

	// An unknown item with unknown-item off: nothing to say.
	delete(f.items, gtin)
	m.Expiry = "2027-06-30"
	if d := f.checker(r).Check(m, true); d.Outcome != Accept || d.Reasons != nil || d.Flags != nil {
		t.Errorf("unknown item, check off: %+v", d)
	}
	// Recorded only: the flag and the reason stay, the nurse goes on.
	r[CheckUnknownItem] = SeverityRecord
	if d := f.checker(r).Check(m, true); d.Outcome != Accept || !slices.Equal(d.Flags, []string{"unknown-item"}) {
		t.Errorf("unknown item, recorded: %+v", d)
	}
	// Never received, raised to a warning.
	delete(f.states, m.Item)
	if d := f.checker(r).Check(m, true); d.Outcome != Warn || !slices.Equal(codes(d), []CheckCode{CheckNeverReceived, CheckUnknownItem}) {
		t.Errorf("never received, warn: %v %v", d.Outcome, codes(d))
	}
	// Imported items: pending by default, blocked or off by rule.
	for sev, want := range map[string]Outcome{"pending": Pending, "block": Block, "warn": Warn, "record": Accept, "off": Accept} {
		f := newFixture()
		m := use(importGTN, "X9")
		f.stocked(m.Item)
		r, err := ParseRulesText("imported-unjustified=" + sev)
		if err != nil {
			t.Fatal(err)
		}
		if d := f.checker(r).Check(m, true); d.Outcome != want {
			t.Errorf("imported=%s: %v, want %v", sev, d.Outcome, want)
		}
	}
}

// Used twice: the reason names the previous case and day, in the zone of
// the clock; the flags carry both the check and the lifecycle flag once.
func TestCheckUsedTwice(t *testing.T) {
	f := newFixture()
	m := use(gtin, "S1")
	f.stocked(m.Item)
	first := m
	first.Case = "C-17"
	first.Time = time.Date(2026, 11, 20, 17, 30, 0, 0, time.UTC) // 21 Nov in Shanghai
	f.states[m.Item], _ = Apply(f.states[m.Item], first)
	d := f.checker(nil).Check(m, true)
	if d.Outcome != Block || d.Reasons[0].Text != "already used in case C-17 on 2026-11-21" {
		t.Errorf("decision %+v", d)
	}
	if !slices.Equal(d.Flags, []string{"used-twice"}) {
		t.Errorf("flags %q", d.Flags)
	}
	// A third scan says how many uses there were.
	f.states[m.Item], _ = Apply(f.states[m.Item], m)
	if d := f.checker(nil).Check(m, true); d.Reasons[0].Text != "already used in case C-17 on 2026-11-21 (used 2 times)" {
		t.Errorf("third: %q", d.Reasons[0].Text)
	}
	// A lot key names many items: no such check.
	lot := m
	lot.Item, lot.Serial = "(01)"+gtin+"(10)L2405A", ""
	f.states[lot.Item] = f.states[m.Item]
	if d := f.checker(nil).Check(lot, true); d.Outcome != Accept {
		t.Errorf("lot key: %+v", d)
	}
}

// An item expiring on a day is usable through that day, local time, and
// blocked from the next day's first second.
func TestCheckExpiryBoundary(t *testing.T) {
	tests := []struct {
		expiry string
		now    time.Time
		want   Outcome
		text   string
	}{
		{"2026-11-24", time.Date(2026, 11, 24, 0, 0, 0, 0, shanghai), Warn, "expires today 2026-11-24"},
		{"2026-11-24", time.Date(2026, 11, 24, 23, 59, 59, 999999999, shanghai), Warn, "expires today 2026-11-24"},
		{"2026-11-24", time.Date(2026, 11, 25, 0, 0, 0, 0, shanghai), Block, "expired 2026-11-24"},
		// 2026-11-24T17:00Z: already the 25th in Shanghai, still the 24th
		// in New York.
		{"2026-11-24", time.Date(2026, 11, 24, 17, 0, 0, 0, time.UTC).In(shanghai), Block, "expired 2026-11-24"},
		{"2026-11-24", time.Date(2026, 11, 24, 17, 0, 0, 0, time.UTC).In(newYork), Warn, "expires today 2026-11-24"},
		{"2026-11-24", time.Date(2026, 11, 23, 12, 0, 0, 0, shanghai), Warn, "expires tomorrow 2026-11-24"},
		// A label with an hour expires at the end of that hour.
		{"2026-11-24T16", time.Date(2026, 11, 24, 16, 59, 59, 0, shanghai), Warn, "expires today 2026-11-24T16"},
		{"2026-11-24T16", time.Date(2026, 11, 24, 17, 0, 0, 0, shanghai), Block, "expired 2026-11-24T16"},
		// New York leaves summer time on 1 November 2026: the day is 25 h.
		{"2026-11-01", time.Date(2026, 11, 1, 23, 59, 0, 0, newYork), Warn, "expires today 2026-11-01"},
		{"2026-11-01", time.Date(2026, 11, 2, 0, 0, 0, 0, newYork), Block, "expired 2026-11-01"},
		// A leap day.
		{"2028-02-29", time.Date(2028, 2, 29, 23, 0, 0, 0, shanghai), Warn, "expires today 2028-02-29"},
		{"2028-02-29", time.Date(2028, 3, 1, 0, 0, 0, 0, shanghai), Block, "expired 2028-02-29"},
		// Unreadable expiry: no expiry check.
		{"2026-02-30", time.Date(2026, 11, 24, 0, 0, 0, 0, shanghai), Accept, ""},
	}
	for _, tt := range tests {
		f := newFixture()
		f.now = tt.now
		m := use(gtin, "S1")
		f.stocked(m.Item)
		m.Expiry = tt.expiry
		d := f.checker(nil).Check(m, true)
		text := ""
		if len(d.Reasons) > 0 {
			text = d.Reasons[0].Text
		}
		if d.Outcome != tt.want || text != tt.text {
			t.Errorf("expiry %s at %v: %v %q, want %v %q", tt.expiry, tt.now, d.Outcome, text, tt.want, tt.text)
		}
	}
}

func TestCheckExpiringWithin(t *testing.T) {
	f := newFixture() // today 2026-11-24
	m := use(gtin, "S1")
	f.stocked(m.Item)
	for _, tt := range []struct {
		days   int
		expiry string
		warn   bool
	}{
		{0, "2026-12-24", true}, // default 30: 30 days left
		{0, "2026-12-25", false},
		{7, "2026-12-01", true},
		{7, "2026-12-02", false},
		{1, "2026-11-25", true},
	} {
		c := f.checker(nil)
		c.ExpiringDays = tt.days
		m.Expiry = tt.expiry
		d := c.Check(m, true)
		if got := d.Outcome == Warn && codes(d)[0] == CheckExpiringSoon; got != tt.warn {
			t.Errorf("within %d days, expiry %s: %+v", tt.days, tt.expiry, d)
		}
	}
}

// A use scanned from an RFID tag carries no lot or expiry: they come from
// the item's state.
func TestCheckFromState(t *testing.T) {
	f := newFixture()
	key := "(01)" + gtin + "(21)S1"
	s, _ := Apply(State{}, agent.Movement{Kind: agent.KindReceive, Item: key, Lot: "L2405A", Expiry: "2026-10-31"})
	f.states[key] = s
	f.recalls[gtin+"/L2405A/"] = "supplier notice 2026-11-02"
	m := agent.Movement{Kind: agent.KindUse, Item: key, Tag: "E280116060000209", Location: "OR-3"}
	d := f.checker(nil).Check(m, true)
	if want := []CheckCode{CheckExpired, CheckRecalled}; d.Outcome != Block || !slices.Equal(codes(d), want) {
		t.Errorf("decision %v %v", d.Outcome, codes(d))
	}
}

// Issues go through the item checks only; other kinds are accepted, with
// their lifecycle flags.
func TestCheckKinds(t *testing.T) {
	f := newFixture()
	f.items[gtin] = Item{GTIN: gtin, Imported: true}
	m := use(gtin, "S1")
	f.stocked(m.Item)
	m.Expiry = "2026-10-31"
	m.Kind = agent.KindIssue
	if d := f.checker(nil).Check(m, false); d.Outcome != Block || !slices.Equal(codes(d), []CheckCode{CheckExpired}) {
		t.Errorf("issue: %v %v", d.Outcome, codes(d))
	}
	for _, k := range []agent.Kind{agent.KindDispose, agent.KindQuarantine, agent.KindReturn, agent.KindReceive, agent.KindWaste} {
		m.Kind = k
		d := f.checker(nil).Check(m, false)
		if d.Outcome != Accept || d.Reasons != nil {
			t.Errorf("%v: %+v", k, d)
		}
	}
	m.Kind = agent.KindReceive
	if d := f.checker(nil).Check(m, false); !slices.Equal(d.Flags, []string{FlagReceivedTwice}) {
		t.Errorf("receive again: flags %q", d.Flags)
	}
}

// The most severe reason comes first.
func TestCheckReasonOrder(t *testing.T) {
	f := newFixture()
	delete(f.items, gtin)
	m := use(gtin, "S1")
	m.Expiry = "2026-11-30"
	f.lots[gtin+"/L2405A"] = LotOnHold
	d := f.checker(nil).Check(m, false)
	want := []CheckCode{CheckQuarantined, CheckNoCase, CheckUnknownItem, CheckExpiringSoon, CheckNeverReceived}
	if d.Outcome != Block || !slices.Equal(codes(d), want) {
		t.Errorf("reasons %v, want %v", codes(d), want)
	}
	if want := []string{"quarantined", "no-case", "unknown-item", "expiring-soon", "never-received"}; !slices.Equal(d.Flags, want) {
		t.Errorf("flags %q", d.Flags)
	}
}

// A Checker without data decides what it can.
func TestCheckNoData(t *testing.T) {
	var c Checker
	m := use(gtin, "S1")
	if d := c.Check(m, true); d.Outcome != Accept || d.Reasons != nil {
		t.Errorf("%+v", d)
	}
	if d := c.Check(m, false); d.Outcome != Warn {
		t.Errorf("no case: %+v", d)
	}
}

func TestHIBCProductKey(t *testing.T) {
	f := newFixture()
	f.items["+A123BJC5D61"] = Item{GTIN: "+A123BJC5D61", Imported: true}
	m := agent.Movement{Kind: agent.KindUse, Item: "+A123BJC5D61/S77", Serial: "77", Lot: "L1"}
	f.recalls["+A123BJC5D61//77"] = "field safety notice"
	d := f.checker(nil).Check(m, true)
	if want := []CheckCode{CheckRecalled, CheckImported, CheckNeverReceived}; !slices.Equal(codes(d), want) {
		t.Errorf("%v", codes(d))
	}
	for key, want := range map[string]string{"(01)09506000134352(21)1": "09506000134352", "+A123BJC5D61/$L": "+A123BJC5D61", "+A123BJC5D61": "+A123BJC5D61", "E2801160": "E2801160"} {
		if got := Product(agent.Movement{Item: key}); got != want {
			t.Errorf("Product(%q) = %q", key, got)
		}
	}
}

// TestMAProductKey checks that an MA item is looked up by its DI, as a GS1
// item by its GTIN: the catalogue, recalls by serial and the product key.
func TestMAProductKey(t *testing.T) {
	const di = "MA.156.M0.100761.21234561"
	f := newFixture()
	f.items[di] = Item{GTIN: di, Imported: true}
	f.recalls[di+"//x00008"] = "field safety notice"
	m := agent.Movement{Kind: agent.KindUse, Item: di + ".Sx00008", Lot: "20220117"}
	d := f.checker(nil).Check(m, true)
	if want := []CheckCode{CheckRecalled, CheckImported, CheckNeverReceived}; !slices.Equal(codes(d), want) {
		t.Errorf("%v", codes(d))
	}
	for key, want := range map[string]string{di + ".Sx00008": di, di + ".L2201": di, di: di} {
		if got := Product(agent.Movement{Item: key}); got != want {
			t.Errorf("Product(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[Outcome]string{Accept: "accepted", Warn: "warned", Pending: "pending", Block: "blocked", 9: "Outcome(9)"} {
		if o.String() != want {
			t.Errorf("%d: %q", o, o.String())
		}
	}
}
