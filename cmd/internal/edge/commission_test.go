package edge

import (
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/cabinet"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/epc"
	"github.com/udi-edge/udi-edge/agent/testkit"
	"github.com/udi-edge/udi-edge/reader/uhfsim"
)

// TestCommissioningStation runs an encoding station end to end: a barcode
// scanner on a pseudo-terminal and a simulated Mercury reader whose one
// antenna is the encoder pad. A tag whose EPC is not an SGTIN is bound to
// the scanned item and later leads trace to it; with write_epc the item's
// SGTIN-96 is written to a blank tag and read back.
func TestCommissioningStation(t *testing.T) {
	dir := t.TempDir()
	pt := testkit.New(t, filepath.Join(t.TempDir(), "scanner"))
	master := pt.Master
	world := uhfsim.NewWorld()
	sim, err := uhfsim.NewMercury(uhfsim.MercuryConfig{Link: filepath.Join(dir, "encoder"), World: world, Antennas: []int{1, 2}, Round: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()

	cfg := DefaultConfig()
	cfg.Gateway, cfg.Store = "gw-enc", filepath.Join(dir, "ledger.db")
	cfg.Scanners = []ScannerConfig{{ID: "enc-scan", Device: pt.Link, Location: "warehouse", Kind: "commission", EncoderZone: "pad"}}
	cfg.Readers = []ReaderConfig{{ID: "enc-rfid", Type: "mercury", Device: sim.Path(), Baud: 115200,
		Antennas: []AntennaConfig{{Port: 1, Zone: "pad"}, {Port: 2, Zone: "shelf"}}}}
	cfg.Zones = []ZoneConfig{{Name: "pad", Location: "warehouse", Role: "encoder"},
		{Name: "shelf", Location: "cabinet-9", Role: "cabinet", Round: Duration(120 * time.Millisecond)}}
	cfg.Presence.MissRounds = 3
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a := NewAgent(cfg, nil)
	scans := make(chan agent.Outcome, 16)
	tags := make(chan agent.Outcome, 64)
	a.OnAnswer = func(station string, o agent.Outcome) {
		if station == "enc-scan" {
			scans <- o
		} else {
			select {
			case tags <- o:
			default:
			}
		}
	}
	ctx := runAgent(t, a)
	checkFor(t, 10*time.Second, func() error {
		st := a.connected()
		if !st["enc-scan"] || !st["enc-rfid"] {
			return errorf("not connected: %v", st)
		}
		return nil
	})
	scan := func(label string) agent.Outcome {
		t.Helper()
		if _, err := master.Write([]byte(label + "\r")); err != nil {
			t.Fatal(err)
		}
		select {
		case o := <-scans:
			return o
		case <-time.After(10 * time.Second):
			t.Fatal("no answer")
		}
		return agent.Outcome{}
	}
	label := "]d20106901234100013172806301011A\x1d21555"
	item := "(01)06901234100013(21)555"

	// Nothing on the pad: rejected with the reason, recorded.
	o := scan(label)
	if o.Verdict != agent.VerdictRejected || !strings.Contains(o.Movement.Reason, "no tag on the encoder pad") {
		t.Fatalf("empty pad: %+v", o)
	}

	// A tag with a non-SGTIN EPC (a TID-like E2… EPC) on the pad.
	rawEPC, _ := hex.DecodeString("E2801160600002054CC2096F")
	world.Place(1, uhfsim.Tag{EPC: rawEPC})
	checkFor(t, 5*time.Second, func() error {
		o = scan(label)
		if o.Verdict != agent.VerdictAccepted {
			return errorf("%s: %s", o.Verdict, o.Movement.Reason)
		}
		return nil
	})
	rawKey := epc.Key(rawEPC)
	if o.Movement.Kind != agent.KindCommission || o.Movement.Item != item || o.Movement.Tag != rawKey {
		t.Fatalf("commission: %+v", o.Movement)
	}
	// trace by the tag's EPC finds the item's movements.
	res, err := a.Core().Trace(ctx, core.TraceQuery{Code: "E2801160600002054CC2096F"})
	if err != nil || res.Key != rawKey {
		t.Fatalf("trace key %q %v", res.Key, err)
	}
	if ms := res.Movements; len(ms) == 0 || ms[len(ms)-1].Item != item {
		t.Fatalf("trace by raw EPC: %+v", ms)
	}
}

// TestCommissionWritesEPC writes the scanned item's SGTIN-96 to a blank tag
// on the encoder pad through the Mercury driver, which reads it back; the
// tag then carries the item's own key.
func TestCommissionWritesEPC(t *testing.T) {
	dir := t.TempDir()
	pt := testkit.New(t, filepath.Join(t.TempDir(), "scanner"))
	master := pt.Master
	world := uhfsim.NewWorld()
	blank, _ := hex.DecodeString("E2801160600002054CC20970")
	world.Place(1, uhfsim.Tag{EPC: blank})
	sim, err := uhfsim.NewMercury(uhfsim.MercuryConfig{Link: filepath.Join(dir, "encoder"), World: world, Antennas: []int{1}, Round: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	cfg := DefaultConfig()
	cfg.Gateway, cfg.Store = "gw-enc", filepath.Join(dir, "ledger.db")
	cfg.Scanners = []ScannerConfig{{ID: "enc-scan", Device: pt.Link, Location: "warehouse", Kind: "commission",
		EncoderZone: "pad", WriteEPC: true, CompanyPrefixLength: 7}}
	cfg.Readers = []ReaderConfig{{ID: "enc-rfid", Type: "mercury", Device: sim.Path(), Baud: 115200, Antennas: []AntennaConfig{{Port: 1, Zone: "pad"}}}}
	cfg.Zones = []ZoneConfig{{Name: "pad", Location: "warehouse", Role: "encoder"}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a := NewAgent(cfg, nil)
	scans := make(chan agent.Outcome, 16)
	a.OnAnswer = func(station string, o agent.Outcome) {
		if station == "enc-scan" {
			scans <- o
		}
	}
	runAgent(t, a)
	checkFor(t, 10*time.Second, func() error {
		if st := a.connected(); !st["enc-scan"] || !st["enc-rfid"] {
			return errorf("not connected: %v", st)
		}
		return nil
	})
	item := "(01)06901234100013(21)777"
	var o agent.Outcome
	checkFor(t, 10*time.Second, func() error {
		if _, err := master.Write([]byte("]d20106901234100013172806301011A\x1d21777\r")); err != nil {
			return err
		}
		select {
		case o = <-scans:
		case <-time.After(10 * time.Second):
			return errorf("no answer")
		}
		if o.Verdict != agent.VerdictAccepted {
			return errorf("%s: %s", o.Verdict, o.Movement.Reason)
		}
		return nil
	})
	if o.Movement.Kind != agent.KindCommission || o.Movement.Tag != item || !strings.Contains(o.Movement.Reason, "wrote") {
		t.Fatalf("commission: %+v", o.Movement)
	}
	want, _ := epc.EncodeSGTIN96("06901234100013", "777", 0, 7)
	tags := world.Tags(1)
	if len(tags) != 1 || hex.EncodeToString(tags[0].EPC) != hex.EncodeToString(want) {
		t.Fatalf("tag on the pad now %x, want %x", tags, want)
	}
	// Another item's label with that tag still on the pad: refused, the tag
	// is never overwritten.
	checkFor(t, 10*time.Second, func() error {
		if _, err := master.Write([]byte("]d20106901234100013172806301011A\x1d21778\r")); err != nil {
			return err
		}
		if o = <-scans; o.Verdict != agent.VerdictRejected || !strings.Contains(o.Movement.Reason, "another item") {
			return errorf("tag of another item: %s", o.Movement.Reason)
		}
		return nil
	})
	if tags := world.Tags(1); hex.EncodeToString(tags[0].EPC) != hex.EncodeToString(want) {
		t.Fatalf("the commissioned tag was overwritten: %x", tags[0].EPC)
	}
	// A serial with letters has no SGTIN-96: rejected with the reason, the
	// blank tag left alone.
	world.Clear(1)
	world.Place(1, uhfsim.Tag{EPC: blank})
	checkFor(t, 10*time.Second, func() error {
		if _, err := master.Write([]byte("]d20106901234100013172806301011A\x1d21SN7\r")); err != nil {
			return err
		}
		if o = <-scans; o.Verdict != agent.VerdictRejected || !strings.Contains(o.Movement.Reason, "SGTIN-96") {
			return errorf("letters in serial: %+v", o.Movement)
		}
		return nil
	})
}

// TestBB7EReaderAtORTable runs the 0xBB/0x7E driver against the simulated
// R200 module (in its AA/DD framing variant) at an OR table: a tag laid on
// the table is counted there once, with its reader and antenna.
func TestBB7EReaderAtORTable(t *testing.T) {
	dir := t.TempDir()
	world := uhfsim.NewWorld()
	sim, err := uhfsim.NewBB7E(uhfsim.BB7EConfig{Link: filepath.Join(dir, "r200"), World: world, Antenna: 1,
		Round: 50 * time.Millisecond, Framing: uhfsim.FramingAADD})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	cfg := DefaultConfig()
	cfg.Gateway, cfg.Store = "gw-or", filepath.Join(dir, "ledger.db")
	cfg.Readers = []ReaderConfig{{ID: "or3-table", Type: "bb7e", Device: sim.Path(), Baud: 115200, Framing: "AADD",
		Antennas: []AntennaConfig{{Port: 1, Zone: "or3"}}}}
	cfg.Zones = []ZoneConfig{{Name: "or3", Location: "OR-3", Role: "or-table"}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a := NewAgent(cfg, nil)
	tags := make(chan agent.Outcome, 16)
	a.OnAnswer = func(_ string, o agent.Outcome) { tags <- o }
	runAgent(t, a)
	e, _ := epc.EncodeSGTIN96("06901234200027", "100105", 1, 7)
	world.Place(1, uhfsim.Tag{EPC: e})
	select {
	case o := <-tags:
		m := o.Movement
		if m.Kind != agent.KindCount || m.Item != "(01)06901234200027(21)100105" || m.Location != "OR-3" ||
			m.Station != "or3-table" || m.Antenna != 1 || m.Reason != cabinet.UnknownTag {
			t.Fatalf("tag at the OR table: %+v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the tag at the OR table was never recorded")
	}
	// Still lying there: one sighting, one movement.
	r0 := sim.Rounds()
	checkFor(t, 10*time.Second, func() error {
		if sim.Rounds() < r0+10 {
			return errorf("waiting for rounds")
		}
		return nil
	})
	select {
	case o := <-tags:
		t.Fatalf("a tag lying still was recorded again: %+v", o.Movement)
	default:
	}
}
