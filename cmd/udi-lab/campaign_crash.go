//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/epc"
	"github.com/udi-edge/udi-edge/agent/testkit"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"
	"github.com/udi-edge/udi-edge/reader/uhfsim"
	"github.com/udi-edge/udi-edge/sync/central"
)

// The crash campaigns kill a real udi-edge process with SIGKILL, as a
// power cut or the kernel's OOM killer would, and check from outside
// what the gateway promises: every scan answered "accepted" is in the
// ledger, the ledger verifies, the agent starts again, and sync goes on
// from where it stopped until the centre holds every movement once.

func init() {
	registerCampaign(campaign{
		Name:    "crash",
		Summary: "SIGKILL a syncing agent while it records scans: nothing accepted lost, the ledger verifies, sync resumes",
		Help: "A udi-edge agent records scans from a barcode scanner on a pseudo-terminal and syncs\n" +
			"them through a real Mosquitto to a real udi-central; it is killed with SIGKILL at a\n" +
			"random moment after its first accepted scan, and started again, once per round, its\n" +
			"simulated RFID cabinet reader power-cycled with it while tagged items are put on the\n" +
			"shelf. After each kill: every scan answered accepted (06) is in the ledger (opened\n" +
			"read-only), udi-edge verify passes, the centre holds at least what the gateway's sync\n" +
			"cursor says it acknowledged, and the restarted uplink resumes from that cursor. At the\n" +
			"end every tag is in the ledger, and the centre holds the ledger's chain whole: its\n" +
			"head (GET /v1/gateways) is the ledger's last movement and hash (udi-edge verify), and\n" +
			"udi-central verify finds every movement once, in order, linked to the one before.",
		Short: 20, Long: 100,
		Run: runCrashCampaign,
	})
	registerCampaign(campaign{
		Name:    "startup-crash",
		Summary: "SIGKILL the agent while it starts, on brand-new and used ledgers: it always starts again, the ledger verifies",
		Help: "udi-edge run is killed with SIGKILL at a random moment of its start-up (drawn up to\n" +
			"one and a half times the time it takes to report ready, so before and after), on a\n" +
			"brand-new ledger path every third round (killed while it creates the file) and on a\n" +
			"used one otherwise. After each kill the agent must start again and answer ready\n" +
			"(/readyz 200), accept scans, stop on SIGTERM, and udi-edge verify must pass; every\n" +
			"scan accepted on the path so far must still be in the ledger.",
		Short: 10, Long: 50,
		Run: runStartupCrashCampaign,
	})
}

// Timeouts of the campaigns' waits: long enough for a loaded 2-core
// machine, short enough that a hang is reported rather than waited out.
const (
	crashStartWait = 15 * time.Second // a process to start or answer
	crashScanWait  = 10 * time.Second // a scan's answer
	crashDrainWait = 60 * time.Second // the ledger to reach the centre
)

// Answer bytes of the campaigns' scanner (feedback in the configuration).
const (
	ansAccepted = 0x06
	ansWarned   = 0x07
	ansRejected = 0x15
	ansFailed   = 0x18
)

// crashGTIN is the GTIN of every item the campaigns scan.
const crashGTIN = "09520123456788"

// crashZone is the cabinet shelf the crash campaign's RFID reader sees,
// and crashTags how many tagged items the campaign puts on it at most (a
// cabinet shelf's worth: the reader reads each every round).
const (
	crashZone = "cab1-shelf1"
	crashTags = 40
)

// labCabinet is a simulated Mercury RFID reader looking at one cabinet
// shelf, where the campaign puts tagged items of one product.
type labCabinet struct {
	*uhfsim.Mercury
	gtin   string
	serial int
	placed []string // item keys of every tag put on the shelf
}

// newLabCabinet plugs in the reader, its link in dir.
func newLabCabinet(dir string, seed uint64) (*labCabinet, error) {
	items, _ := uhfsim.Demo(uhfsim.DemoLayout{})
	m, err := uhfsim.NewMercury(uhfsim.MercuryConfig{Link: filepath.Join(dir, "cabinet-reader"), Seed: seed, Round: 100 * time.Millisecond})
	if err != nil {
		return nil, fmt.Errorf("simulated cabinet reader: %w", err)
	}
	return &labCabinet{Mercury: m, gtin: items[0].GTIN}, nil
}

// place puts the next tagged item on the shelf.
func (c *labCabinet) place() error {
	c.serial++
	serial := strconv.Itoa(900000 + c.serial)
	// The demo's company prefix has 7 digits.
	e, err := epc.EncodeSGTIN96(c.gtin, serial, 1, 7)
	if err != nil {
		return err
	}
	c.World().Place(1, uhfsim.Tag{EPC: e})
	c.placed = append(c.placed, "(01)"+c.gtin+"(21)"+serial)
	return nil
}

// crashLabel returns the GS1 DataMatrix label of the item with serial, as
// the scanner sends it (CR suffix), and the item's key in the ledger.
func crashLabel(serial string) (label, key string) {
	return "]d201" + crashGTIN + "21" + serial + "\r", "(01)" + crashGTIN + "(21)" + serial
}

// labProc is a program a campaign starts, kills and starts again; its
// output over every run is kept, each run's from where it began.
type labProc struct {
	name string
	logs testkit.LogBuffer
	// env is added to the environment of the next runs.
	env []string

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	since   int
	started time.Time
}

// start runs bin with args as the program's next run.
func (p *labProc) start(bin string, args ...string) error {
	if p.running() {
		return fmt.Errorf("%s is already running", p.name)
	}
	fmt.Fprintf(&p.logs, "=== udi-lab %s: %s %s\n", time.Now().Format("15:04:05.000"), filepath.Base(bin), strings.Join(args, " "))
	since := len(p.logs.String())
	cmd := exec.Command(bin, args...)
	if p.env != nil {
		cmd.Env = append(os.Environ(), p.env...)
	}
	cmd.Stdout, cmd.Stderr = &p.logs, &p.logs
	// The program dies with udi-lab, should it die first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		fmt.Fprintf(&p.logs, "=== udi-lab %s: exited: %v\n", time.Now().Format("15:04:05.000"), cmd.ProcessState)
		close(done)
	}()
	p.mu.Lock()
	p.cmd, p.done, p.since, p.started = cmd, done, since, time.Now()
	p.mu.Unlock()
	return nil
}

// running reports whether the current run is alive.
func (p *labProc) running() bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// exited returns a channel closed when the current run has ended.
func (p *labProc) exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// signal sends sig to the current run and waits up to crashStartWait for
// it to end; it returns the run's exit state.
func (p *labProc) signal(sig syscall.Signal) (*os.ProcessState, error) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return nil, nil
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return nil, fmt.Errorf("%s: %v: %w", p.name, sig, err)
	}
	select {
	case <-done:
		return cmd.ProcessState, nil
	case <-time.After(crashStartWait):
		return nil, fmt.Errorf("%s did not end within %v of %v", p.name, crashStartWait, sig)
	}
}

// process returns the current (or last) run's process.
func (p *labProc) process() *os.Process {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.Process
}

// output returns what the current (or last) run has written.
func (p *labProc) output() string {
	p.mu.Lock()
	since := p.since
	p.mu.Unlock()
	return p.logs.String()[since:]
}

// tail returns the last n bytes of everything the program wrote.
func (p *labProc) tail(n int) string {
	s := p.logs.String()
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

// waitLog waits until the current run's output matches re and returns
// the match, or fails when the run ends first or within crashStartWait.
func (p *labProc) waitLog(ctx context.Context, re *regexp.Regexp) ([]string, error) {
	var m []string
	err := pollFor(ctx, crashStartWait, func() (bool, error) {
		if m = re.FindStringSubmatch(p.output()); m != nil {
			return true, nil
		}
		if !p.running() {
			return false, fmt.Errorf("%s exited before logging %q", p.name, re)
		}
		return false, nil
	})
	return m, err
}

// pollFor calls f every millisecond or so until it reports done or an
// error, ctx ends, or d passes.
func pollFor(ctx context.Context, d time.Duration, f func() (bool, error)) error {
	deadline := time.Now().Add(d)
	for pause := time.Millisecond; ; pause = min(2*pause, 20*time.Millisecond) {
		ok, err := f()
		if ok || err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v", d)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
}

// Log lines the campaigns read.
var (
	metricsAddrRE   = regexp.MustCompile(`msg="metrics listening" addr=(\S+)`)
	uplinkResumeRE  = regexp.MustCompile(`msg="uplink: connected".* acked=(\d+)`)
	centralAddrRE   = regexp.MustCompile(`msg="http listening" addr=(\S+)`)
	agentRunningLog = `msg="agent running"`
)

// labScanner is a barcode scanner on a pseudo-terminal (the demo's): the
// agent opens its slave by name, the campaign writes labels to the
// master and reads the feedback bytes the agent answers with.
type labScanner struct {
	*demoScanner
	answers chan byte
}

// newLabScanner makes the scanner and starts reading its answers. The
// campaign keeps the slave open, so that the master does not read EIO
// while no agent has the port open.
func newLabScanner(dir string) (*labScanner, error) {
	d, err := newDemoScanner(dir, "scanner")
	if err != nil {
		return nil, err
	}
	s := &labScanner{demoScanner: d, answers: make(chan byte, 4096)}
	go func() {
		buf := make([]byte, 256)
		for {
			n, err := d.master.Read(buf)
			for _, b := range buf[:n] {
				switch b {
				case ansAccepted, ansWarned, ansRejected, ansFailed:
					select {
					case s.answers <- b:
					default:
					}
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return s, nil
}

// reset readies the port for the next agent after one was killed: it
// clears the exclusive mode the dead agent left (a non-root agent could
// not open the port again), drops what the dead agent never read (the
// scan cut off by the kill is lost on the line, as it is on a real
// cable) and the answers not yet taken.
func (s *labScanner) reset() error {
	if err := releaseExclusive(s.slave); err != nil {
		return fmt.Errorf("scanner: clear exclusive mode: %w", err)
	}
	if err := unix.IoctlSetInt(int(s.slave.Fd()), unix.TCFLSH, unix.TCIFLUSH); err != nil {
		return fmt.Errorf("scanner: flush: %w", err)
	}
	for len(s.answers) > 0 {
		<-s.answers
	}
	return nil
}

// releaseExclusive clears the exclusive mode (TIOCEXCL) a killed agent
// left on a pseudo-terminal's slave f. go.bug.st/serial sets it on every
// port it opens; a USB-serial tty loses it at its last close, a pty whose
// master stays open keeps it, and only root may open the port then.
func releaseExclusive(f *os.File) error {
	return unix.IoctlSetInt(int(f.Fd()), unix.TIOCNXCL, 0)
}

// errNoAnswer is a scan's fate when the agent died before answering it.
var errNoAnswer = errors.New("no answer")

// scan writes label and waits for its answer. When dead closes first it
// waits a moment more for an answer the agent wrote just before dying,
// then returns errNoAnswer.
func (s *labScanner) scan(label string, dead <-chan struct{}) (byte, error) {
	for len(s.answers) > 0 { // nothing stale may answer this scan
		<-s.answers
	}
	if _, err := io.WriteString(s.master, label); err != nil {
		return 0, fmt.Errorf("scanner: %w", err)
	}
	select {
	case b := <-s.answers:
		return b, nil
	case <-dead:
		select {
		case b := <-s.answers:
			return b, nil
		case <-time.After(100 * time.Millisecond):
			return 0, errNoAnswer
		}
	case <-time.After(crashScanWait):
		return 0, fmt.Errorf("scan %q: no answer within %v from a running agent", strings.TrimSpace(label), crashScanWait)
	}
}

// labAgent is a udi-edge run process with its configuration file.
type labAgent struct {
	labProc
	bin, config string
	cfg         edge.Config
	api         *api.Client
}

// labPrograms returns the paths of udi-edge and udi-central, or
// errCampaignSkipped when Mosquitto is not installed.
func labPrograms(ctx context.Context, r *campaignRun) (edgeBin, centralBin string, err error) {
	if _, err := mosquittoPath(); err != nil {
		return "", "", err
	}
	if edgeBin, err = r.Binary(ctx, "udi-edge"); err != nil {
		return "", "", err
	}
	centralBin, err = r.Binary(ctx, "udi-central")
	return edgeBin, centralBin, err
}

// newLabAgent writes the configuration of gateway gw recording at store,
// with the scanner sc (receive at DOCK), syncing to broker and reading
// the Mercury RFID reader at reader (a cabinet's one shelf) when they are
// not "", its metrics on a free loopback port.
func newLabAgent(bin, dir, gw, store string, sc *labScanner, broker, reader string) (*labAgent, error) {
	cfg := edge.DefaultConfig()
	cfg.Site, cfg.Gateway, cfg.Store = "lab", gw, store
	listen, none := "127.0.0.1:0", ""
	cfg.Metrics.Listen, cfg.Page.Listen = &listen, &none
	cfg.Scanners = []edge.ScannerConfig{{ID: "dock", Device: sc.link, Suffix: "CR", Location: "DOCK", Kind: string(agent.KindReceive),
		Feedback: edge.FeedbackConfig{Accept: edge.HexBytes{ansAccepted}, Warn: edge.HexBytes{ansWarned},
			Reject: edge.HexBytes{ansRejected}, Failed: edge.HexBytes{ansFailed}}}}
	if reader != "" {
		cfg.Readers = []edge.ReaderConfig{{ID: "cab-1", Type: "mercury", Device: reader, Baud: 115200, Region: "PRC",
			Antennas: []edge.AntennaConfig{{Port: 1, Zone: crashZone}}}}
		cfg.Zones = []edge.ZoneConfig{{Name: crashZone, Location: "cabinet-1", Role: "cabinet", Round: edge.Duration(250 * time.Millisecond)}}
	}
	if broker != "" {
		cfg.Sync = edge.SyncConfig{Brokers: []string{"tcp://" + broker}, AckTimeout: edge.Duration(2 * time.Second),
			BackoffMax: edge.Duration(500 * time.Millisecond)}
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, err
	}
	a := &labAgent{labProc: labProc{name: "udi-edge"}, bin: bin, config: filepath.Join(dir, gw+".json"), cfg: cfg,
		api: api.NewClient(cfg.SocketPath())}
	return a, os.WriteFile(a.config, b, 0o600)
}

// start runs the agent.
func (a *labAgent) start() error { return a.labProc.start(a.bin, "run", "--config", a.config) }

// command runs a udi-edge command on the agent's configuration (through
// the running agent, or on its stopped ledger file) and returns what it
// wrote.
func (a *labAgent) command(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	cmd := exec.CommandContext(ctx, a.bin, append([]string{args[0], "--config", a.config}, args[1:]...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// waitScanner waits until the running agent's scanner ports (every
// scanner of its configuration) are open.
func (a *labAgent) waitScanner(ctx context.Context) error {
	return pollFor(ctx, crashStartWait, func() (bool, error) {
		if !a.running() {
			return false, errors.New("the agent exited while starting")
		}
		actx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		st, err := a.api.Status(actx)
		if err != nil {
			return false, nil
		}
		open := 0
		for _, d := range st.Devices {
			if d.Kind == "scanner" && d.Connected {
				open++
			}
		}
		return open == len(a.cfg.Scanners), nil
	})
}

// waitReady waits until the running agent's /readyz answers 200.
func (a *labAgent) waitReady(ctx context.Context) error {
	m, err := a.waitLog(ctx, metricsAddrRE)
	if err != nil {
		return err
	}
	hc := &http.Client{Timeout: time.Second}
	return pollFor(ctx, crashStartWait, func() (bool, error) {
		if !a.running() {
			return false, errors.New("the agent exited while starting")
		}
		resp, err := hc.Get("http://" + m[1] + "/readyz")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

// verified is what udi-edge verify --json says of a ledger.
type verified struct {
	Intact   bool   `json:"intact"`
	LastSeq  uint64 `json:"last_seq"`
	LastHash string `json:"last_hash"`
}

// verifyLedger runs udi-edge verify on a stopped agent's ledger.
func verifyLedger(ctx context.Context, bin, store string) (verified, error) {
	var v verified
	out, err := exec.CommandContext(ctx, bin, "verify", "--json", "--store", store).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s%s", err, out, ee.Stderr)
		}
		return v, fmt.Errorf("udi-edge verify --store %s: %w", store, err)
	}
	if err := json.Unmarshal(out, &v); err != nil || !v.Intact {
		return v, fmt.Errorf("udi-edge verify --store %s: exit 0 but not intact (%v): %s", store, err, out)
	}
	return v, nil
}

// ledgerState is what a stopped agent's ledger holds, read from outside.
type ledgerState struct {
	last, cursor uint64
	items        map[string]bool // item keys of every movement
}

// readLedgerState opens the stopped agent's ledger read-only and reads
// its last movement, sync cursor and the item of every movement.
func readLedgerState(store string) (ledgerState, error) {
	st := ledgerState{items: map[string]bool{}}
	l, err := bolt.OpenReadOnly(store, 5*time.Second)
	if err != nil {
		return st, err
	}
	defer l.Close()
	st.last = l.LastSeq()
	if st.cursor, err = l.SyncCursor(); err != nil {
		return st, err
	}
	err = l.Range(1, func(m agent.Movement) error {
		st.items[m.Item] = true
		return nil
	})
	return st, err
}

// missing returns the keys not among the ledger's items.
func (st ledgerState) missing(keys []string) []string {
	var out []string
	for _, k := range keys {
		if !st.items[k] {
			out = append(out, k)
		}
	}
	return out
}

// labCentre is a udi-central process with its store and HTTP API.
type labCentre struct {
	labProc
	store, url string
	hc         *http.Client
}

// startLabCentre starts udi-central for site lab on broker, with the
// flags extra (an enrolment, say) after the campaigns' own, and waits
// until it is connected to the broker.
func startLabCentre(ctx context.Context, bin, dir, broker string, extra ...string) (*labCentre, error) {
	c := &labCentre{labProc: labProc{name: "udi-central"}, store: filepath.Join(dir, "central.db"), hc: &http.Client{Timeout: 5 * time.Second}}
	args := append([]string{"run", "--site", "lab", "--store", c.store, "--http", "127.0.0.1:0",
		"--broker", "tcp://" + broker, "--client-id", "udi-central-lab", "--max-reconnect", "500ms"}, extra...)
	if err := c.start(bin, args...); err != nil {
		return nil, err
	}
	m, err := c.waitLog(ctx, centralAddrRE)
	if err == nil {
		c.url = "http://" + m[1]
		_, err = c.waitLog(ctx, regexp.MustCompile(`msg="mqtt connected"`))
	}
	if err != nil {
		_, _ = c.signal(syscall.SIGKILL)
		return nil, fmt.Errorf("udi-central: %w\n%s", err, c.tail(4096))
	}
	return c, nil
}

// gateway returns what the centre says of gateway gw (GET /v1/gateways):
// its current ledger and branch, and up to which movement it holds every
// one of them.
func (c *labCentre) gateway(gw string) (central.GatewayInfo, error) {
	resp, err := c.hc.Get(c.url + "/v1/gateways")
	if err != nil {
		return central.GatewayInfo{}, err
	}
	defer resp.Body.Close()
	var r central.GatewaysResponse
	if resp.StatusCode != http.StatusOK {
		return central.GatewayInfo{}, fmt.Errorf("GET /v1/gateways: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return central.GatewayInfo{}, err
	}
	for _, g := range r.Gateways {
		if g.Gateway == gw {
			return g, nil
		}
	}
	return central.GatewayInfo{Gateway: gw}, nil
}

// centreIntactRE is udi-central verify's line for an intact store.
var centreIntactRE = regexp.MustCompile(`intact: (\d+) ledgers, (\d+) branches, (\d+) movements`)

// verifyCentre runs udi-central verify on the stopped centre's store and
// returns how many ledgers, branches and movements it holds, each
// movement present once, in order, linked to the one before.
func verifyCentre(ctx context.Context, bin, store string) (ledgers, branches, movements uint64, err error) {
	out, err := exec.CommandContext(ctx, bin, "verify", "--store", store).CombinedOutput()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("udi-central verify --store %s: %w\n%s", store, err, out)
	}
	m := centreIntactRE.FindSubmatch(out)
	if m == nil {
		return 0, 0, 0, fmt.Errorf("udi-central verify --store %s: exit 0 but no \"intact\": %s", store, out)
	}
	ledgers, _ = strconv.ParseUint(string(m[1]), 10, 64)
	branches, _ = strconv.ParseUint(string(m[2]), 10, 64)
	movements, _ = strconv.ParseUint(string(m[3]), 10, 64)
	return ledgers, branches, movements, nil
}

// median returns the median of ds, 0 for none.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// crashTally is what the crash campaign counts.
type crashTally struct {
	kills, accepted, other, lost, verifyFailed int
	resumed, resumeWrong, unheld               int
	accepts                                    []string // keys of every scan answered accepted
	inDoubt                                    []string // keys of the scans a kill cut off
	firstAccept                                []time.Duration
}

// runCrashCampaign is the crash campaign.
func runCrashCampaign(ctx context.Context, r *campaignRun) error {
	edgeBin, centralBin, err := labPrograms(ctx, r)
	if err != nil {
		return err
	}
	mq, err := startBenchMosquitto(r.Dir)
	if err != nil {
		return err
	}
	defer mq.stop()
	c, err := startLabCentre(ctx, centralBin, r.Dir, mq.addr)
	if err != nil {
		return err
	}
	defer func() { _, _ = c.signal(syscall.SIGKILL) }()
	sc, err := newLabScanner(r.Dir)
	if err != nil {
		return err
	}
	defer sc.Close()
	cab, err := newLabCabinet(r.Dir, r.Seed)
	if err != nil {
		return err
	}
	defer cab.Close()
	store := filepath.Join(r.Dir, "gw-crash.db")
	a, err := newLabAgent(edgeBin, r.Dir, "gw-crash", store, sc, mq.addr, cab.Path())
	if err != nil {
		return err
	}
	defer func() { _, _ = a.signal(syscall.SIGKILL) }()
	defer func() {
		if len(r.Failures()) > 0 {
			_ = os.WriteFile(filepath.Join(r.Dir, "udi-edge.log"), []byte(a.logs.String()), 0o600)
			_ = os.WriteFile(filepath.Join(r.Dir, "udi-central.log"), []byte(c.logs.String()), 0o600)
		}
	}()

	// start starts the agent after a power cut: the scanner's line
	// dropped what the dead agent did not read, the USB reader powered
	// off and on.
	start := func() error {
		if err := sc.reset(); err != nil {
			return err
		}
		if err := cab.Replug(); err != nil {
			return err
		}
		return a.start()
	}
	var t crashTally
	serial := 0
	cursor := uint64(0) // the file's sync cursor after the last kill
	broken := false     // a failure after which more rounds prove nothing
	for round := 1; round <= r.Rounds && !broken && ctx.Err() == nil; round++ {
		if err := start(); err != nil {
			return err
		}
		if err := a.waitScanner(ctx); err != nil {
			r.Failf("round %d: the agent did not start again after a kill: %v\n%s", round, err, a.tail(4096))
			break
		}
		// The kill comes at a random moment after the first accepted
		// scan: in the middle of a scan, a commit, a batch sent or
		// acknowledged.
		killAfter := time.Duration(r.Rand.Int64N(int64(800 * time.Millisecond)))
		var kill *time.Timer
		proc, dead := a.process(), a.exited()
		accepted, tags := 0, 0
		var lastTag time.Time
		for {
			// Tagged items are put on the shelf now and then while the
			// scans go on: the agent records them as it records scans.
			if kill != nil && tags < 2 && len(cab.placed) < crashTags && time.Since(lastTag) > 100*time.Millisecond {
				if err := cab.place(); err != nil {
					return err
				}
				tags++
				lastTag = time.Now()
			}
			serial++
			label, key := crashLabel(fmt.Sprintf("K%06d", serial))
			b, err := sc.scan(label, dead)
			if errors.Is(err, errNoAnswer) {
				t.inDoubt = append(t.inDoubt, key)
				break
			}
			if err != nil {
				r.Failf("round %d: %v", round, err)
				broken = true
				break
			}
			if b != ansAccepted {
				t.other++
				r.Failf("round %d: a new item's receipt answered %#x, want %#x (accepted)", round, b, ansAccepted)
				continue
			}
			t.accepted++
			accepted++
			t.accepts = append(t.accepts, key)
			if kill == nil {
				t.firstAccept = append(t.firstAccept, time.Since(a.started))
				kill = time.AfterFunc(killAfter, func() { _ = proc.Kill() })
			}
		}
		if kill == nil || kill.Stop() {
			r.Failf("round %d: the agent died before it was killed\n%s", round, a.tail(4096))
			broken = true
		}
		if _, err := a.signal(syscall.SIGKILL); err != nil {
			return err
		}
		t.kills++
		if m := uplinkResumeRE.FindStringSubmatch(a.output()); m != nil {
			t.resumed++
			if got, _ := strconv.ParseUint(m[1], 10, 64); got != cursor {
				t.resumeWrong++
				r.Failf("round %d: the restarted uplink resumed from %d, the ledger's cursor was %d", round, got, cursor)
			}
		}
		st, err := readLedgerState(store)
		if err != nil {
			t.verifyFailed++
			r.Failf("round %d: the killed agent's ledger does not open read-only: %v", round, err)
			break
		}
		if lost := st.missing(t.accepts); len(lost) > 0 {
			t.lost += len(lost)
			r.Failf("round %d: %d scan(s) answered accepted are not in the ledger after the kill, first %s", round, len(lost), lost[0])
		}
		if _, err := verifyLedger(ctx, edgeBin, store); err != nil {
			t.verifyFailed++
			r.Failf("round %d: %v", round, err)
		}
		if g, err := c.gateway("gw-crash"); err != nil {
			return fmt.Errorf("udi-central: %w", err)
		} else if h := g.Seq; h < st.cursor {
			t.unheld++
			r.Failf("round %d: the gateway's cursor says %d acknowledged, the centre holds %d", round, st.cursor, h)
		}
		cursor = st.cursor
		r.Logf("round %d: killed %v after the first accepted scan; %d accepted, ledger at %d, cursor %d",
			round, killAfter.Round(time.Millisecond), accepted, st.last, st.cursor)
	}

	// The last run: it must record every tag on the shelf and drain the
	// whole ledger to the centre.
	if err := start(); err != nil {
		return err
	}
	if err := a.waitScanner(ctx); err != nil {
		r.Failf("the agent did not start after the last kill: %v\n%s", err, a.tail(4096))
	}
	unseen := slices.Clone(cab.placed)
	err = pollFor(ctx, crashDrainWait, func() (bool, error) {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		for len(unseen) > 0 {
			tr, err := a.api.Trace(actx, core.TraceQuery{Key: unseen[0], Limit: 1})
			if err != nil || len(tr.Movements) == 0 {
				return false, nil
			}
			unseen = unseen[1:]
		}
		return true, nil
	})
	if err != nil {
		r.Failf("the restarted agent did not record every tag on the shelf: %v", err)
	}
	err = pollFor(ctx, crashDrainWait, func() (bool, error) {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		st, err := a.api.Status(actx)
		if err != nil || st.Sync == nil {
			return false, nil
		}
		g, err := c.gateway("gw-crash")
		return err == nil && st.Sync.Acked == st.LastSeq && g.Seq == st.LastSeq, nil
	})
	if err != nil {
		r.Failf("the ledger did not drain to the centre: %v", err)
	}
	if st, err := a.signal(syscall.SIGTERM); err != nil || !st.Success() {
		r.Failf("the agent did not stop cleanly on SIGTERM: %v %v", st, err)
	}
	final, err := readLedgerState(store)
	if err != nil {
		return err
	}
	if lost := final.missing(t.accepts); len(lost) > t.lost {
		r.Failf("%d scan(s) answered accepted are not in the final ledger", len(lost))
	}
	tagsMissing := final.missing(cab.placed)
	if len(tagsMissing) > 0 {
		r.Failf("%d tag(s) put on the shelf are not in the final ledger, first %s", len(tagsMissing), tagsMissing[0])
	}
	// The centre's head is the ledger's last movement, with its hash; its
	// store verifies (every movement once, in order, linked to the one
	// before up to that hash): it holds the ledger's chain, whole.
	v, err := verifyLedger(ctx, edgeBin, store)
	if err != nil {
		t.verifyFailed++
		r.Failf("the final ledger: %v", err)
	}
	g, err := c.gateway("gw-crash")
	if err != nil {
		return fmt.Errorf("udi-central: %w", err)
	}
	sameChain := g.Seq == v.LastSeq && g.Hash == v.LastHash && g.Ledgers == 1 && g.Branch == 0
	if !sameChain {
		r.Failf("the centre's head is movement %d hash %s (%d ledgers, branch %d); the ledger's last is %d hash %s",
			g.Seq, g.Hash, g.Ledgers, g.Branch, v.LastSeq, v.LastHash)
	}
	if st, err := c.signal(syscall.SIGTERM); err != nil || !st.Success() {
		r.Failf("udi-central did not stop cleanly on SIGTERM: %v %v", st, err)
	}
	ledgers, branches, held, err := verifyCentre(ctx, centralBin, c.store)
	centreWhole := err == nil && ledgers == 1 && branches == 1 && sameChain && held == final.last
	if err != nil {
		r.Failf("the centre's store: %v", err)
	} else if ledgers != 1 || branches != 1 {
		r.Failf("the centre holds %d ledgers, %d branches; want the gateway's one", ledgers, branches)
	}

	r.Figure("kills", float64(t.kills), "", "", true)
	r.Figure("scans accepted", float64(t.accepted), "", "", true)
	r.Figure("scans cut off by a kill", float64(len(t.inDoubt)), "", "", true)
	r.Figure("cut off, recorded all the same", float64(len(t.inDoubt)-len(final.missing(t.inDoubt))), "", "", true)
	r.Figure("tags put on the shelf", float64(len(cab.placed)), "", "", true)
	r.Figure("tags not in the ledger", float64(len(tagsMissing)), "", "0", len(tagsMissing) == 0)
	r.Figure("scans lost", float64(t.lost), "", "0", t.lost == 0)
	r.Figure("other answers", float64(t.other), "", "0", t.other == 0)
	r.Figure("verify failures", float64(t.verifyFailed), "", "0", t.verifyFailed == 0)
	r.Figure("uplink resumes checked", float64(t.resumed), "", "", true)
	r.Figure("resumes off the cursor", float64(t.resumeWrong), "", "0", t.resumeWrong == 0)
	r.Figure("acknowledged, not held", float64(t.unheld), "", "0", t.unheld == 0)
	r.Figure("movements in the ledger", float64(final.last), "", "", true)
	r.Figure("movements at the centre", float64(held), "", fmt.Sprintf("= %d, once, in order, same chain", final.last), centreWhole)
	r.Figure("restart to first accepted, median", ms(median(t.firstAccept)), "ms", "", true)
	return nil
}

// runStartupCrashCampaign is the startup-crash campaign.
func runStartupCrashCampaign(ctx context.Context, r *campaignRun) error {
	edgeBin, err := r.Binary(ctx, "udi-edge")
	if err != nil {
		return err
	}
	sc, err := newLabScanner(r.Dir)
	if err != nil {
		return err
	}
	defer sc.Close()
	var agents []*labAgent
	defer func() {
		for _, a := range agents {
			_, _ = a.signal(syscall.SIGKILL)
			if len(r.Failures()) > 0 {
				_ = os.WriteFile(a.cfg.Store+".log", []byte(a.logs.String()), 0o600)
			}
		}
	}()
	newAgent := func(name string) (*labAgent, error) {
		a, err := newLabAgent(edgeBin, r.Dir, name, filepath.Join(r.Dir, name+".db"), sc, "", "")
		if err == nil {
			agents = append(agents, a)
		}
		return a, err
	}

	// How long a start takes on this machine, on a brand-new ledger:
	// the kills are drawn up to half as long again.
	cal, err := newAgent("gw-calibrate")
	if err != nil {
		return err
	}
	if err := cal.start(); err != nil {
		return err
	}
	if err := cal.waitReady(ctx); err != nil {
		return fmt.Errorf("the agent does not start: %w\n%s", err, cal.tail(4096))
	}
	ready := time.Since(cal.started)
	if _, err := cal.signal(syscall.SIGTERM); err != nil {
		return err
	}

	var (
		kills, beforeReady, fresh, refused, verifyFailed, lost, scans, strays int
		a                                                                     *labAgent
		accepts                                                               []string
		serial                                                                int
	)
	for round := 1; round <= r.Rounds && ctx.Err() == nil; round++ {
		if round%3 == 1 {
			if a, err = newAgent(fmt.Sprintf("gw-start-%d", round)); err != nil {
				return err
			}
			accepts = nil
			fresh++
		}
		if err := sc.reset(); err != nil {
			return err
		}
		delay := time.Duration(r.Rand.Int64N(int64(ready * 3 / 2)))
		if err := a.start(); err != nil {
			return err
		}
		time.Sleep(time.Until(a.started.Add(delay)))
		wasReady := strings.Contains(a.output(), agentRunningLog)
		if _, err := a.signal(syscall.SIGKILL); err != nil {
			return err
		}
		kills++
		if !wasReady {
			beforeReady++
		}
		// It must start again, ready, and record.
		if err := sc.reset(); err != nil {
			return err
		}
		if err := a.start(); err != nil {
			return err
		}
		if err := a.waitReady(ctx); err != nil {
			refused++
			r.Failf("round %d: killed %v into its start (ready after %v), the agent does not start again: %v\n%s",
				round, delay.Round(time.Microsecond), ready.Round(time.Microsecond), err, a.tail(4096))
			_, _ = a.signal(syscall.SIGKILL)
			continue
		}
		if err := a.waitScanner(ctx); err != nil {
			refused++
			r.Failf("round %d: the restarted agent did not open its scanner: %v", round, err)
		}
		for range 2 {
			serial++
			label, key := crashLabel(fmt.Sprintf("S%06d", serial))
			b, err := sc.scan(label, a.exited())
			if err != nil || b != ansAccepted {
				r.Failf("round %d: a scan after the restart: answer %#x, %v", round, b, err)
				continue
			}
			scans++
			accepts = append(accepts, key)
		}
		if st, err := a.signal(syscall.SIGTERM); err != nil || !st.Success() {
			r.Failf("round %d: the agent did not stop cleanly on SIGTERM: %v %v", round, st, err)
		}
		if _, err := verifyLedger(ctx, edgeBin, a.cfg.Store); err != nil {
			verifyFailed++
			r.Failf("round %d: killed %v into its start: %v", round, delay.Round(time.Microsecond), err)
		}
		if st, err := readLedgerState(a.cfg.Store); err != nil {
			verifyFailed++
			r.Failf("round %d: the ledger does not open read-only: %v", round, err)
		} else if m := st.missing(accepts); len(m) > 0 {
			lost += len(m)
			r.Failf("round %d: %d accepted scan(s) not in the ledger, first %s", round, len(m), m[0])
		}
		if f := strayFiles(r.Dir, a.cfg.Gateway); len(f) > 0 {
			strays += len(f)
			r.Failf("round %d: files left beside the ledger after a restart: %q", round, f)
			for _, n := range f {
				_ = os.Remove(filepath.Join(r.Dir, n))
			}
		}
		r.Logf("round %d: killed %v into its start (%s), %s", round, delay.Round(time.Microsecond),
			map[bool]string{true: "after ready", false: "before ready"}[wasReady], filepath.Base(a.cfg.Store))
	}
	r.Figure("kills", float64(kills), "", "", true)
	r.Figure("kills before ready", float64(beforeReady), "", "", true)
	r.Figure("brand-new ledgers", float64(fresh), "", "", true)
	r.Figure("ready after (new ledger)", ms(ready), "ms", "", true)
	r.Figure("scans accepted", float64(scans), "", "", true)
	r.Figure("starts refused", float64(refused), "", "0", refused == 0)
	r.Figure("verify failures", float64(verifyFailed), "", "0", verifyFailed == 0)
	r.Figure("scans lost", float64(lost), "", "0", lost == 0)
	r.Figure("files left behind", float64(strays), "", "0", strays == 0)
	return nil
}

// strayFiles lists the files of gateway gw's agent in dir other than
// those a stopped agent keeps: its configuration, ledger, tip file and
// signing key. Temporaries of a creation cut off by a kill must be gone
// once the agent has started again.
func strayFiles(dir, gw string) []string {
	es, _ := os.ReadDir(dir)
	var out []string
	for _, e := range es {
		n := strings.TrimPrefix(e.Name(), ".")
		rest, ok := strings.CutPrefix(n, gw+".")
		if ok && !slices.Contains([]string{"json", "db", "db.tip", "key"}, rest) {
			out = append(out, e.Name())
		}
	}
	return out
}
