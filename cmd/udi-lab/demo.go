package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/creack/pty"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/cabinet"
	"github.com/udi-edge/udi-edge/agent/code"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/epc"
	"github.com/udi-edge/udi-edge/cmd/internal/cli"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"
	"github.com/udi-edge/udi-edge/cmd/internal/show"
	"github.com/udi-edge/udi-edge/reader/uhfsim"
	"github.com/udi-edge/udi-edge/sync/sign"
)

func demoCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "demo", "[flags]",
		"Run a self-contained demonstration: two simulated serial scanners on pseudo-terminals\n"+
			"(a receiving desk in the warehouse and a point of use in OR 3) scan implant boxes\n"+
			"into a temporary ledger; a simulated RFID cabinet counts a dozen tagged implants, one\n"+
			"is taken out and used in OR 3; the items' traces are printed. Then an OR morning: a\n"+
			"case opens by wristband, implants are checked (accepted, expired and blocked, imported\n"+
			"and pending a justification, a stent with a Chinese MA label), settlements arrive with\n"+
			"27-character national codes, reconcile and anomalies print, the MA stent is traced\n"+
			"and the case's cost is shown against its DRG group's payment standard,\n"+
			"verify passes and a tampered copy fails it. The gateway starts offline; an embedded\n"+
			"MQTT broker and the central service (udi-central) run in process, come up, go down\n"+
			"and come back: everything recorded offline reaches the centre, whose trace of the hip\n"+
			"stem matches the gateway's. Then a compressed week of the warehouse: consigned stents\n"+
			"arrive, uses draw them below their reorder point (a FEFO warning on the way), the\n"+
			"refill request reaches udi-central, the delivery meets it, and what expires soon is\n"+
			"shown. No hardware, no external services.")
	keep := fs.String("dir", "", "keep the demo's ledger in this directory instead of a temporary one")
	verbose := fs.Bool("verbose", false, "show the agent's log on stderr")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	var log *slog.Logger
	if *verbose {
		log, _ = cli.NewLogger(env.Stderr, "debug", "text")
	}
	return runDemo(ctx, env.Stdout, *keep, log)
}

// demoScan is one label scanned during the demo.
type demoScan struct {
	station string
	wire    []byte // bytes as the scanner sends them, suffix included
	what    string
}

// demoScanner is a simulated scanner: a pseudo-terminal whose slave the
// agent opens through its serial driver, as it would a USB scanner.
type demoScanner struct {
	master, slave *os.File
	link          string
}

func newDemoScanner(dir, name string) (*demoScanner, error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("create pseudo-terminal: %w", err)
	}
	link := filepath.Join(dir, name)
	if err := os.Symlink(s.Name(), link); err != nil {
		m.Close()
		s.Close()
		return nil, err
	}
	return &demoScanner{master: m, slave: s, link: link}, nil
}

func (d *demoScanner) Close() {
	d.master.Close()
	d.slave.Close()
}

func runDemo(ctx context.Context, out io.Writer, keep string, log *slog.Logger) error {
	dir := keep
	if dir == "" {
		tmp, err := os.MkdirTemp("", "udi-edge-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	desk, err := newDemoScanner(dir, "scanner-receiving")
	if err != nil {
		return err
	}
	defer desk.Close()
	or3, err := newDemoScanner(dir, "scanner-or3")
	if err != nil {
		return err
	}
	defer or3.Close()

	cfg := edge.DefaultConfig()
	cfg.Site, cfg.Gateway = "demo-hospital", "gw-demo"
	cfg.Store = filepath.Join(dir, "ledger.db")
	cfg.Scanners = []edge.ScannerConfig{
		{ID: "desk-1", Device: desk.link, Baud: 9600, Suffix: "CR", Location: "warehouse", Kind: "receive"},
		{ID: "or3-1", Device: or3.link, Baud: 9600, Suffix: "CR", Location: "OR-3", Kind: "use", RequireSerial: true},
	}
	// The RFID cabinet: a simulated Mercury reader on a pseudo-terminal,
	// reading a dozen tagged implants on two shelf antennas.
	world := uhfsim.NewWorld()
	items, _ := uhfsim.Demo(uhfsim.DemoLayout{})
	cab, err := uhfsim.NewMercury(uhfsim.MercuryConfig{Link: filepath.Join(dir, "cabinet-reader"), World: world,
		Antennas: []int{1, 2}, Seed: 2026, Miss: 0.1, Round: 100 * time.Millisecond})
	if err != nil {
		return fmt.Errorf("simulated cabinet reader: %w", err)
	}
	defer cab.Close()
	cfg.Readers = []edge.ReaderConfig{{ID: "cab-1", Type: "mercury", Device: cab.Path(), Baud: 115200, Region: "PRC",
		Antennas: []edge.AntennaConfig{{Port: 1, Zone: "cab1-shelf1"}, {Port: 2, Zone: "cab1-shelf2"}}}}
	cfg.Zones = []edge.ZoneConfig{
		{Name: "cab1-shelf1", Location: "cabinet-1", Role: "cabinet", Round: edge.Duration(250 * time.Millisecond)},
		{Name: "cab1-shelf2", Location: "cabinet-1", Role: "cabinet", Round: edge.Duration(250 * time.Millisecond)},
	}
	// Demo rounds are short; five missed rounds (1.25 s) mean removal.
	cfg.Presence.MissRounds = 5
	cfg.Patterns = edge.PatternsConfig{Wristband: `^PAT(\d{6})$`, Case: `^CASE-(\S+)$`, Justification: `^JUST-(\w+)$`,
		Commands: map[string]string{"CMD-CLOSE-CASE": "close-case"}}
	// The central service, behind an embedded broker that is not up yet:
	// the gateway starts offline.
	brokerAddr, err := freeLoopback()
	if err != nil {
		return err
	}
	broker := &demoBroker{addr: brokerAddr}
	defer broker.stop()
	// A short reconnect delay: a demo has no patience for the production
	// default's minute.
	// Deployed with keys, as a hospital's is: the gateway pins the
	// centre's key, the centre takes only the enrolled gateway's
	// movements, each side signing what it sends.
	centreKey, _, err := sign.LoadOrCreate(filepath.Join(dir, "central.key"))
	if err != nil {
		return err
	}
	// A short ack timeout too: when the network comes up, the gateway
	// may reach the broker before the centre has subscribed, and what it
	// published then is sent again only after its ack timeout (30 s by
	// default, as long as the demo waits for the centre).
	cfg.Sync = edge.SyncConfig{Brokers: []string{"tcp://" + brokerAddr}, BackoffMax: edge.Duration(500 * time.Millisecond),
		AckTimeout: edge.Duration(2 * time.Second), CentreKey: sign.FormatPublic(sign.Public(centreKey))}
	if err := cfg.Validate(); err != nil {
		return err
	}

	a := edge.NewAgent(cfg, log)
	outcomes := make(chan agent.Outcome, 1)
	tagOutcomes := make(chan agent.Outcome, 256)
	a.OnAnswer = func(station string, o agent.Outcome) {
		if station == "cab-1" {
			select {
			case tagOutcomes <- o:
			default:
			}
			return
		}
		outcomes <- o
	}
	stop, err := a.Start(ctx)
	if err != nil {
		return err
	}
	defer stop()
	lab := &demoLab{agent: a, api: api.NewClient(cfg.SocketPath())}

	fmt.Fprintf(out, "udi-edge demo: gateway %s, ledger %s\n", cfg.Gateway, cfg.Store)
	fmt.Fprintf(out, "scanners: desk-1 (warehouse, receive) on %s; or3-1 (OR-3, use) on %s\n", desk.slave.Name(), or3.slave.Name())
	fmt.Fprintf(out, "RFID: cab-1, a simulated Mercury M6e Nano on %s, antennas 1-2 = cabinet-1 shelves\n", cab.Path())
	fmt.Fprintf(out, "sync: the central service (udi-central) behind an MQTT broker at tcp://%s, not reachable yet:\n"+
		"      the gateway records everything in its ledger and delivers it when the link comes up\n\n", brokerAddr)

	implant := "]d2" + "0109520123456788" + "17280531" + "1021A-77" + "\x1d" + "2100042"
	hibcBody := "+H123ORTHO551/$$3281130LOT8812/SSN000193"
	hibcCheck, err := code.HIBCCheck(hibcBody)
	if err != nil {
		return err
	}
	hibc := hibcBody + string(hibcCheck)
	damaged := "]d2" + "0109520123456789" + "17280531" + "1021A-78" + "\x1d" + "2100043"
	scans := []demoScan{
		{"desk-1", []byte(implant + "\r"), "hip stem, GS1 DataMatrix"},
		{"desk-1", []byte(hibc + "\r"), "bone screw, HIBC with serial"},
		{"desk-1", []byte(damaged + "\r"), "a damaged label (one digit misread)"},
		{"or3-1", []byte("]C0PAT004217\r"), "the patient's wristband"},
		{"or3-1", []byte("]C0CASE-K20261125-01\r"), "the case sheet's barcode"},
		{"or3-1", []byte(implant + "\r"), "the hip stem, opened in OR 3"},
	}
	for _, s := range scans {
		m := desk.master
		if s.station == "or3-1" {
			m = or3.master
		}
		if err := waitConnected(ctx, lab, s.station); err != nil {
			return err
		}
		fmt.Fprintf(out, "%-7s scans %-40s %s\n", s.station, s.what, api.Printable(s.wire[:len(s.wire)-1]))
		if _, err := m.Write(s.wire); err != nil {
			return fmt.Errorf("simulated scanner: %w", err)
		}
		select {
		case o := <-outcomes:
			if err := printOutcome(out, o); err != nil {
				return err
			}
		case <-time.After(10 * time.Second):
			return fmt.Errorf("no answer for the scan at %s within 10s", s.station)
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	fmt.Fprintf(out, "\n--- the hospital network comes up: the broker and udi-central start ---\n")
	if err := broker.start(); err != nil {
		return err
	}
	gatewayKey, err := sign.Load(cfg.KeyPath()) // made when the agent opened
	if err != nil {
		return err
	}
	enrolment := sign.NewEnrolment()
	if err := enrolment.Add(cfg.Site, cfg.Gateway, sign.Public(gatewayKey)); err != nil {
		return err
	}
	centre, err := startDemoCentre(ctx, dir, brokerAddr, cfg.Site, enrolment, centreKey, log)
	if err != nil {
		return err
	}
	defer centre.close()
	if err := waitSynced(ctx, lab, centre); err != nil {
		return err
	}
	st, err := lab.status(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "sync    the %d movements recorded offline reach the centre in %d batch(es); the centre checks each batch's\n"+
		"        signature (the key the gateway is enrolled with) and each hash, stores them and acknowledges movement %d\n"+
		"        with its own signature; the gateway, which pins the centre's key, moves its sync cursor to %d\n", st.LastSeq, st.Sync.Batches, st.Sync.Acked, st.Sync.Acked)

	taken, err := demoCabinet(ctx, out, lab, world, items, desk, or3, tagOutcomes, outcomes)
	if err != nil {
		return err
	}

	for _, in := range []string{"https://id.gs1.org/01/09520123456788/21/00042", hibc, taken} {
		res, err := lab.api.Trace(ctx, core.TraceQuery{Code: in})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "\n$ udi-edge trace '%s'\n", in)
		show.Trace(out, res.Key, res.Movements)
	}
	if err := waitSynced(ctx, lab, centre); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n--- the network goes down (the broker stops); OR 3 works on, offline ---\n")
	broker.stop()
	offlineFrom := lab.agent.Ledger().LastSeq()
	if err := demoORMorning(ctx, out, lab, dir, or3, outcomes); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n--- the network is back ---\n")
	if err := broker.start(); err != nil {
		return err
	}
	if err := waitSynced(ctx, lab, centre); err != nil {
		return err
	}
	if st, err = lab.status(ctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "sync    the gateway reconnects and sends movements %d to %d, recorded while offline; acknowledged up to %d\n",
		offlineFrom+1, st.LastSeq, st.Sync.Acked)
	if err := demoCentreTrace(ctx, out, lab, centre, "(01)09520123456788(21)00042"); err != nil {
		return err
	}
	if err := demoWarehouseWeek(ctx, out, lab, desk, or3, outcomes, centre, cfg.Site); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nledger: %d movement(s) on disk in %s\n", lab.agent.Ledger().LastSeq(), cfg.Store)
	rep, err := lab.api.Verify(ctx)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	fmt.Fprintf(out, "$ udi-edge verify\n")
	show.Verify(out, rep)
	if !rep.Intact {
		return errors.New("demo: the gateway's ledger is not intact")
	}
	return demoTamper(ctx, out, cfg.Store, dir)
}

// demoLab is the demo's agent and a client of its local API: what the
// demo shows of the agent it asks as `udi-edge` would.
type demoLab struct {
	agent *edge.Agent
	api   *api.Client
}

// status asks the agent for its status.
func (l *demoLab) status(ctx context.Context) (core.Status, error) {
	st, err := l.api.Status(ctx)
	if err == nil && st.Sync == nil {
		err = errNoSync
	}
	return st, err
}

// printOutcome prints a station's answer as the demo shows it.
func printOutcome(out io.Writer, o agent.Outcome) error {
	mv := o.Movement
	switch {
	case o.Verdict == agent.VerdictFailed:
		return fmt.Errorf("scan not recorded: %v", o.Err)
	case o.Verdict == agent.VerdictRejected:
		fmt.Fprintf(out, "        -> %s and recorded as seq %d: %s\n", o.Verdict, mv.Seq, mv.Reason)
	case mv.Kind == agent.KindContext:
		fmt.Fprintf(out, "        -> %s, seq %d\n", mv.Reason, mv.Seq)
	case o.Verdict == agent.VerdictAccepted:
		fmt.Fprintf(out, "        -> %s: %s %s at %s, seq %d, fsynced\n", o.Verdict, mv.Kind, mv.Item, mv.Location, mv.Seq)
	case o.Verdict.String() == mv.Decision:
		fmt.Fprintf(out, "        -> %s: %s %s, seq %d: %s\n", o.Verdict, mv.Kind, mv.Item, mv.Seq, mv.Reason)
	default:
		fmt.Fprintf(out, "        -> %s (%s): %s %s, seq %d: %s\n", o.Verdict, mv.Decision, mv.Kind, mv.Item, mv.Seq, mv.Reason)
	}
	return nil
}

// demoCabinet plays the RFID part of the demo: the cabinet's inventory is
// counted, one implant is taken out and shows up as a removal, then the OR
// nurse scans it and it is used. It returns the implant's EPC URI.
func demoCabinet(ctx context.Context, out io.Writer, lab *demoLab, world *uhfsim.World, items []uhfsim.DemoItem,
	desk, or3 *demoScanner, tagOutcomes, outcomes <-chan agent.Outcome) (string, error) {
	if err := waitConnected(ctx, lab, "cab-1"); err != nil {
		return "", err
	}
	labels := make([]string, len(items))
	for i, it := range items {
		labels[i] = "]d201" + it.GTIN + "17280630" + "10L2611A" + "\x1d" + "21" + it.Serial
		if _, err := desk.master.Write([]byte(labels[i] + "\r")); err != nil {
			return "", err
		}
		select {
		case o := <-outcomes:
			if o.Verdict != agent.VerdictAccepted {
				return "", fmt.Errorf("receiving %s: %s %s", it.Name, o.Verdict, o.Movement.Reason)
			}
		case <-time.After(10 * time.Second):
			return "", fmt.Errorf("no answer for the scan at desk-1")
		}
	}
	fmt.Fprintf(out, "\ndesk-1  receives %d RFID-tagged implants (SGTIN-96 tags, GS1 DataMatrix labels): all accepted\n", len(items))
	fmt.Fprintf(out, "staff   put them on the two shelves of cabinet-1\n")
	for _, it := range items {
		world.Place(it.Antenna, it.Tag)
	}
	wait := func(what string, ok func(agent.Movement) bool) (agent.Movement, error) {
		deadline := time.After(20 * time.Second)
		for {
			select {
			case o := <-tagOutcomes:
				if o.Verdict != agent.VerdictAccepted {
					return agent.Movement{}, fmt.Errorf("tag movement not recorded: %v", o.Err)
				}
				if ok(o.Movement) {
					return o.Movement, nil
				}
			case <-deadline:
				return agent.Movement{}, fmt.Errorf("no %s within 20s", what)
			case <-ctx.Done():
				return agent.Movement{}, ctx.Err()
			}
		}
	}
	counted := 0
	if _, err := wait("cabinet inventory", func(m agent.Movement) bool {
		if m.Kind == agent.KindCount || m.Kind == agent.KindStock {
			if m.Reason == cabinet.UnknownTag {
				return false
			}
			counted++
		}
		return counted == len(items)
	}); err != nil {
		return "", err
	}
	fmt.Fprintf(out, "cab-1   reads its shelves: %d known implants present in cabinet-1\n", counted)
	it := items[4]
	key := "(01)" + it.GTIN + "(21)" + it.Serial
	fmt.Fprintf(out, "nurse   takes the %s (serial %s) out of cabinet-1\n", it.Name, it.Serial)
	world.Remove(it.Antenna, it.Tag.EPC)
	mv, err := wait("removal", func(m agent.Movement) bool { return m.Kind == agent.KindIssue })
	if err != nil {
		return "", err
	}
	if mv.Item != key {
		return "", fmt.Errorf("the cabinet reported %s removed, not %s", mv.Item, key)
	}
	fmt.Fprintf(out, "        -> %s from %s, seq %d (%s)\n", mv.Kind, mv.Location, mv.Seq, mv.Reason)
	label := labels[4]
	fmt.Fprintf(out, "or3-1   scans %-40s %s\n", "its box label at the table", api.Printable([]byte(label)))
	if _, err := or3.master.Write([]byte(label + "\r")); err != nil {
		return "", err
	}
	select {
	case o := <-outcomes:
		if o.Verdict != agent.VerdictAccepted {
			return "", fmt.Errorf("the OR scan was %s: %s", o.Verdict, o.Movement.Reason)
		}
		fmt.Fprintf(out, "        -> %s: %s %s at %s, seq %d, fsynced\n", o.Verdict, o.Movement.Kind, o.Movement.Item, o.Movement.Location, o.Movement.Seq)
	case <-time.After(10 * time.Second):
		return "", fmt.Errorf("no answer for the OR scan")
	}
	sg, err := epc.Decode(it.Tag.EPC)
	if err != nil {
		return "", err
	}
	return sg.PureURI(), nil
}

// waitConnected waits until the scanner or reader with id has its port
// open, as the agent's status says.
func waitConnected(ctx context.Context, lab *demoLab, id string) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := lab.status(ctx)
		if err != nil {
			return err
		}
		for _, d := range st.Devices {
			if d.ID == id && d.Connected {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("scanner %s did not open its port", id)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
