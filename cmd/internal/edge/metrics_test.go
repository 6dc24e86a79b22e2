package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/cabinet"
	"github.com/udi-edge/udi-edge/agent/code"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/epc"
	"github.com/udi-edge/udi-edge/agent/station"
	"github.com/udi-edge/udi-edge/agent/testkit"
	"github.com/udi-edge/udi-edge/cmd/internal/metrics/metricstest"
	"github.com/udi-edge/udi-edge/reader/barcode"
	"github.com/udi-edge/udi-edge/reader/uhfsim"
)

// TestRejectReasonsOfTheirProducers: every rejection the ingest and the
// cabinets make is counted under its reason, taken from the movement the
// real producer builds; anything the code parser refuses is "code".
func TestRejectReasonsOfTheirProducers(t *testing.T) {
	in := &station.Ingest{Gateway: "gw", Parser: code.Parser{}, Stations: map[string]agent.Station{
		"desk": {ID: "desk", Location: "store", Kind: agent.KindReceive},
		"or":   {ID: "or", Location: "OR-3", Kind: agent.KindUse, RequireSerial: true},
	}}
	read := func(src, raw string, err error) agent.Movement {
		return in.Movement(agent.Read{Source: src, Raw: []byte(raw), Symbology: raw[:3], Data: []byte(raw[3:]), Err: err})
	}
	item := read("desk", "]d20109506000134352\x1d21S1", nil)
	if item.Kind != agent.KindReceive {
		t.Fatalf("a good code rejected: %q", item.Reason)
	}
	for _, c := range []struct {
		m    agent.Movement
		want string
	}{
		{read("nowhere", "]d20109506000134352\x1d21S1", nil), RejectStation},
		{read("desk", "]d20109506", &barcode.FrameTooLongError{Max: 8, Seen: 40}), RejectFrame},
		{read("desk", "]d20109506", &barcode.IncompleteFrameError{Len: 10, Cause: errors.New("port closed")}), RejectFrame},
		{read("desk", "]d20109506000134353\x1d21S1", nil), RejectCode},     // check digit
		{read("desk", "]d20109506000134352\x1d17261399", nil), RejectCode}, // month 13
		{read("desk", "]A0HELLO", nil), RejectNotItem},                     // a plain code
		{read("or", "]d20109506000134352\x1d10L1", nil), RejectNoSerial},   // GS1 without (21)
		{read("or", "]A0+A123BJC5D6E71G", nil), RejectNoSerial},            // HIBC, no serial
		{cabinet.Commission(item, cabinet.TagOnPad{Key: "(01)09506000134352(21)OTHER"}), RejectTag},
	} {
		if c.m.Kind != agent.KindReject {
			t.Errorf("%q: not rejected (%s)", c.m.Raw, c.m.Kind)
			continue
		}
		if got := RejectReason(c.m); got != c.want {
			t.Errorf("%q rejected for %q: counted as %q, want %q", c.m.Raw, c.m.Reason, got, c.want)
		}
	}
	for _, err := range []error{errPick(nil), errPick([]cabinet.TagOnPad{{Key: "a", RSSI: -40}, {Key: "b", RSSI: -40}})} {
		m := item
		m.Kind, m.Reason = agent.KindReject, err.Error() // as the cabinet records it
		if got := RejectReason(m); got != RejectTag {
			t.Errorf("%q: counted as %q, want tag", m.Reason, got)
		}
	}
}

func errPick(pad []cabinet.TagOnPad) error {
	_, err := cabinet.PickTag(pad)
	return err
}

// metricsURL returns the address of a running agent's metrics endpoint.
func metricsURL(t *testing.T, a *Agent) string {
	t.Helper()
	if a.obs.ln == nil {
		t.Fatal("no metrics endpoint")
	}
	return "http://" + a.obs.ln.Addr().String()
}

// TestMetricsOfAnAgentInProcess scans through a pseudo-terminal and
// scrapes the agent's endpoint: reads by verdict and reason (a station
// command during a cycle count among them), movements by kind, the
// decision and fsync histograms, the ledger's size and last movement,
// the scanner connected.
func TestMetricsOfAnAgentInProcess(t *testing.T) {
	dir := t.TempDir()
	pt := testkit.New(t, filepath.Join(dir, "desk"))
	cfg := DefaultConfig()
	listen := "127.0.0.1:0"
	cfg.Gateway, cfg.Store, cfg.Metrics.Listen = "gw-metrics", filepath.Join(dir, "ledger.db"), &listen
	cfg.Scanners = []ScannerConfig{{ID: "desk", Device: pt.Link, Location: "store", Kind: "receive", Feedback: FeedbackConfig{Accept: HexBytes{6}, Reject: HexBytes{0x15}}}}
	cfg.Patterns.Commands = map[string]string{"CMD-RETURN": "return"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a := NewAgent(cfg, slog.New(slog.DiscardHandler))
	runAgent(t, a)
	url := metricsURL(t, a) + "/metrics"
	checkFor(t, 10*time.Second, func() error {
		if !a.connected()["desk"] {
			return fmt.Errorf("scanner not open")
		}
		return nil
	})
	scan := func(label string, want byte) {
		t.Helper()
		if err := pt.Send([]byte(label + "\r")); err != nil {
			t.Fatal(err)
		}
		if b, err := pt.Receive(1, 10*time.Second); err != nil || b[0] != want {
			t.Fatalf("scan %q: answer %x %v, want %x", label, b, err, want)
		}
	}
	before := metricstest.Scrape(t, url)
	if v, ok := before.Value("udi_edge_reads_total", "station", "desk", "verdict", "accepted"); !ok || v != 0 {
		t.Fatalf("before any scan: accepted reads %v %v, want a 0 sample", v, ok)
	}
	scan("]d20109506000134352\x1d21S1", 6)
	scan("]d20109506000134353\x1d21S1", 0x15) // check digit
	scan("HELLO", 0x15)                       // claimed by no pattern
	if _, err := a.Core().StartCount(context.Background(), core.CountRequest{Stations: []string{"desk"}}); err != nil {
		t.Fatal(err)
	}
	scan("CMD-RETURN", 0x15) // a command during the count
	s := metricstest.Scrape(t, url)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"udi_edge_reads_total", []string{"station", "desk", "verdict", "accepted"}, 1},
		{"udi_edge_reads_total", []string{"station", "desk", "verdict", "rejected"}, 3},
		{"udi_edge_rejected_reads_total", []string{"station", "desk", "reason", RejectCode}, 1},
		{"udi_edge_rejected_reads_total", []string{"station", "desk", "reason", RejectNotItem}, 1},
		{"udi_edge_rejected_reads_total", []string{"station", "desk", "reason", RejectCount}, 1},
		{"udi_edge_movements_total", []string{"kind", "receive"}, 1},
		{"udi_edge_movements_total", []string{"kind", "reject"}, 3},
		{"udi_edge_movements_total", []string{"kind", "context"}, 1}, // the count's start
		{"udi_edge_decision_seconds", nil, 1},
		{"udi_edge_ledger_last_seq", nil, 5},
		{"udi_edge_ledger_writable", nil, 1},
		{"udi_edge_device_connected", []string{"device", "desk", "kind", "scanner"}, 1},
	} {
		if v, ok := s.Value(c.name, c.labels...); !ok || v != c.want {
			t.Errorf("%s%v = %v (%v), want %v", c.name, c.labels, v, ok, c.want)
		}
	}
	if n := s.Must("udi_edge_ledger_fsync_seconds"); n < 1 || n > 5 {
		t.Errorf("%v commits timed for 5 movements", n)
	}
	if b := s.Must("udi_edge_ledger_bytes"); b < 4096 || s.Must("udi_edge_disk_free_bytes") <= 0 {
		t.Errorf("ledger %v bytes, disk free %v", b, s.Must("udi_edge_disk_free_bytes"))
	}
	if f, b, o := s.Must("udi_edge_ledger_first_seq"), s.Must("udi_edge_ledger_budget_bytes"), s.Must("udi_edge_ledger_over_budget"); f != 1 || b < 1<<20 || o != 0 {
		t.Errorf("ledger first seq %v, budget %v bytes, over budget %v", f, b, o)
	}
	if _, ok := s.Value("udi_edge_outbox_movements"); ok {
		t.Error("an outbox on a gateway that does not sync")
	}
}

// TestRemovedNotLinkedCounted: an item taken from a simulated cabinet and
// not used, returned or put back in time is counted, and the reader's
// port is seen connected.
func TestRemovedNotLinkedCounted(t *testing.T) {
	dir := t.TempDir()
	world := uhfsim.NewWorld()
	sim, err := uhfsim.NewMercury(uhfsim.MercuryConfig{Link: filepath.Join(dir, "cab"), World: world, Antennas: []int{1}, Round: 40 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	cfg := DefaultConfig()
	listen := "127.0.0.1:0"
	cfg.Gateway, cfg.Store, cfg.Metrics.Listen = "gw-cab", filepath.Join(dir, "ledger.db"), &listen
	cfg.Readers = []ReaderConfig{{ID: "cab", Type: "mercury", Device: sim.Path(), Baud: 115200, Antennas: []AntennaConfig{{Port: 1, Zone: "shelf"}}}}
	cfg.Zones = []ZoneConfig{{Name: "shelf", Location: "cabinet-9", Role: "cabinet", Round: Duration(100 * time.Millisecond)}}
	cfg.Presence.MissRounds = 2
	cfg.Presence.LinkWithin = Duration(200 * time.Millisecond)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a := NewAgent(cfg, nil)
	runAgent(t, a)
	url := metricsURL(t, a) + "/metrics"
	e, _ := epc.EncodeSGTIN96("06901234100013", "42", 1, 7)
	world.Place(1, uhfsim.Tag{EPC: e})
	checkFor(t, 10*time.Second, func() error {
		if n := metricstest.Scrape(t, url).Must("udi_edge_movements_total", "kind", "count"); n != 1 {
			return fmt.Errorf("%v count movements", n)
		}
		return nil
	})
	world.Remove(1, e)
	checkFor(t, 10*time.Second, func() error {
		s := metricstest.Scrape(t, url)
		if n := s.Must("udi_edge_removed_not_linked_total"); n != 1 {
			return fmt.Errorf("removed not linked: %v", n)
		}
		if s.Must("udi_edge_device_connected", "device", "cab", "kind", "reader") != 1 || s.Must("udi_edge_device_last_seen_timestamp_seconds", "device", "cab") == 0 {
			return fmt.Errorf("the reader not seen connected")
		}
		return nil
	})
}

// TestMetricsListen: an address beyond loopback needs metrics.remote; a
// configured address in use fails the start naming metrics.listen; the
// default address in use is logged and the agent runs without metrics.
func TestMetricsListen(t *testing.T) {
	str := func(s string) *string { return &s }
	pct := func(f float64) *float64 { return &f }
	for _, c := range []struct {
		m     MetricsConfig
		where string
	}{
		{MetricsConfig{Listen: str("0.0.0.0:8711")}, "metrics.listen"},
		{MetricsConfig{Listen: str("8711")}, "metrics.listen"},
		{MetricsConfig{Listen: str("0.0.0.0:8711"), Remote: true}, ""},
		{MetricsConfig{Listen: str("")}, ""},
		{MetricsConfig{DiskLowPercent: pct(100)}, "metrics.disk_low_percent"},
	} {
		cfg := DefaultConfig()
		cfg.Gateway, cfg.Metrics = "gw", c.m
		err := cfg.Validate()
		var ce *ConfigError
		if c.where == "" && err != nil || c.where != "" && (!errors.As(err, &ce) || ce.Where != c.where) {
			t.Errorf("%+v: %v, want an error at %q", c.m, err, c.where)
		}
	}

	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := DefaultConfig()
	cfg.Gateway, cfg.Store, cfg.Metrics.Listen = "gw", filepath.Join(t.TempDir(), "ledger.db"), str(taken.Addr().String())
	a := NewAgent(cfg, nil)
	var ce *ConfigError
	if err := a.Open(); !errors.As(err, &ce) || ce.Where != "metrics.listen" {
		t.Fatalf("open with metrics.listen in use: %v", err)
	}

	if def, err := net.Listen("tcp", DefaultMetricsListen); err == nil {
		defer def.Close() // else something else holds it: taken all the same
	}
	var logs testkit.LogBuffer
	cfg.Metrics.Listen = nil
	a = NewAgent(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	runAgent(t, a)
	if a.obs.ln != nil || !strings.Contains(logs.String(), `level=WARN msg="metrics, /healthz and /readyz not served: the default address is taken; set metrics.listen"`) {
		t.Fatalf("default address in use: listener %v, log:\n%s", a.obs.ln, logs.String())
	}
}

// TestHealthWatchdogWithheldWhileTheWriterIsStuck: the watchdog's beat is
// withheld while the ledger's writer has been on one transaction for
// longer than the beat's interval, and sent again once it is done.
func TestHealthWatchdogWithheldWhileTheWriterIsStuck(t *testing.T) {
	cfg := DefaultConfig()
	off := ""
	cfg.Gateway, cfg.Store, cfg.Metrics.Listen = "gw", filepath.Join(t.TempDir(), "ledger.db"), &off
	a := NewAgent(cfg, nil)
	if err := a.Open(); err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.obs.alive(time.Millisecond); err != nil {
		t.Fatalf("an idle writer: %v", err)
	}
	release, done := make(chan struct{}), make(chan struct{})
	a.Ledger().Submit(agent.Movement{Kind: agent.KindReject, Station: "desk", Reason: "test"}, func(agent.Movement, error) {
		<-release
		close(done)
	})
	checkFor(t, 10*time.Second, func() error {
		if err := a.obs.alive(time.Millisecond); err == nil || !strings.Contains(err.Error(), "ledger's writer") {
			return fmt.Errorf("alive: %v", err)
		}
		return nil
	})
	if err := a.obs.alive(time.Hour); err != nil {
		t.Errorf("within the bound: %v", err)
	}
	close(release)
	<-done
	checkFor(t, 10*time.Second, func() error { return a.obs.alive(time.Millisecond) })
}
