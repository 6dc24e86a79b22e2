package e2e_test

// The actors: the centre and its HTTP API; gateways with their
// configuration file and control socket; scanners on pseudo-terminals.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/testkit"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/internal/mosquitto"
)

// centre is a udi-central process serving one site, with its own store.
type centre struct {
	*proc
	site, broker, store, clientID string
	api                           string // the current run's HTTP API
	http                          *http.Client
	args                          []string // more flags for udi-central run (credentials, TLS)
}

var httpAddrRE = regexp.MustCompile(`msg="http listening" addr=(\S+)`)

// startCentre starts udi-central for site on broker, with a new store in
// the test's directory. It does not wait for the broker: it may be down.
func startCentre(t testing.TB, site, broker string, args ...string) *centre {
	t.Helper()
	dir := t.TempDir() // before newProc: removed after the process is killed
	c := &centre{
		proc: newProc(t, "udi-central"), site: site, broker: broker,
		store:    filepath.Join(dir, "central.db"),
		clientID: "udi-central-e2e-" + site,
		http:     &http.Client{Timeout: 5 * time.Second},
		args:     args,
	}
	c.start()
	return c
}

// start runs the service (again) on the same store and client id, and
// waits until its HTTP API listens.
func (c *centre) start() {
	c.t.Helper()
	c.run(bins.central, append([]string{"run", "--site", c.site, "--store", c.store, "--http", "127.0.0.1:0",
		"--broker", c.broker, "--client-id", c.clientID}, c.args...)...)
	waitFor(c.t, startWait, "udi-central to listen", func() error {
		m := httpAddrRE.FindStringSubmatch(c.output())
		if m == nil {
			if !c.running() {
				return errors.New("udi-central exited")
			}
			return errors.New("no \"http listening\" line yet")
		}
		c.api = "http://" + m[1]
		return nil
	})
}

// waitConnected waits until the service is connected to the broker and
// has made its subscriptions (the "mqtt connected" line is logged before
// them; /healthz answers 200 once connected).
func (c *centre) waitConnected() {
	c.t.Helper()
	waitFor(c.t, startWait, "udi-central to connect to the broker", func() error {
		if !strings.Contains(c.output(), `msg="mqtt connected"`) {
			return errors.New("not connected yet")
		}
		resp, err := c.http.Get(c.api + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/healthz: %s", resp.Status)
		}
		return nil
	})
}

func (c *centre) get(path string, v any) error {
	resp, err := c.http.Get(c.api + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	return json.Unmarshal(body, v)
}

// gateways returns what GET /v1/gateways says of each gateway.
func (c *centre) gateways() (map[string]central.GatewayInfo, error) {
	var r central.GatewaysResponse
	if err := c.get("/v1/gateways", &r); err != nil {
		return nil, err
	}
	out := make(map[string]central.GatewayInfo, len(r.Gateways))
	for _, g := range r.Gateways {
		out[g.Gateway] = g
	}
	return out, nil
}

// head returns the centre's head of gateway: the highest sequence number
// up to which it holds every movement of the gateway's current ledger.
func (c *centre) head(gateway string) (uint64, error) {
	gs, err := c.gateways()
	if err != nil {
		return 0, err
	}
	return gs[gateway].Seq, nil
}

// trace returns GET /v1/trace of key.
func (c *centre) trace(key string, patient bool) ([]central.MovementJSON, error) {
	q := url.Values{"code": {key}}
	if patient {
		q.Set("include_patient", "1")
	}
	var r central.TraceResponse
	if err := c.get("/v1/trace?"+q.Encode(), &r); err != nil {
		return nil, err
	}
	return r.Movements, nil
}

// gatewayConfig tunes a gateway's sync and scanner.
type gatewayConfig struct {
	BatchBytes int           // sync.batch_bytes; 0: the default
	Window     int           // sync.window; 0: the default
	AckTimeout time.Duration // sync.ack_timeout; 0: 2s
	// ScanKind and ScanLocation bind the scanner, if any (default
	// receive at DOCK).
	ScanKind, ScanLocation string
	// Sync holds more keys of the sync section (credentials, TLS).
	Sync map[string]any
}

// slowDrain makes a gateway drain in batches of 128 KiB (about 500
// movements) with a window of 2: a backlog of tens of thousands of
// movements takes a few seconds, long enough to cut something off in the
// middle of it.
var slowDrain = gatewayConfig{BatchBytes: 128 << 10, Window: 2}

// gateway is a udi-edge process with its ledger file, configuration file
// and, optionally, a scanner on a pseudo-terminal.
type gateway struct {
	*proc
	id, site, store, config string
	sc                      *scanner
}

// newGateway writes the configuration of gateway id of site syncing to
// broker; it does not start it, so that its ledger can be filled first.
func newGateway(t testing.TB, site, id, broker string, sc *scanner, gc gatewayConfig) *gateway {
	t.Helper()
	dir := t.TempDir()
	g := &gateway{proc: newProc(t, "udi-edge "+id), id: id, site: site, store: filepath.Join(dir, id+".db"), config: filepath.Join(dir, id+".json"), sc: sc}
	if gc.AckTimeout == 0 {
		gc.AckTimeout = 2 * time.Second
	}
	syncCfg := map[string]any{"brokers": []string{broker}, "ack_timeout": gc.AckTimeout.String()}
	if gc.BatchBytes != 0 {
		syncCfg["batch_bytes"] = gc.BatchBytes
	}
	if gc.Window != 0 {
		syncCfg["window"] = gc.Window
	}
	for k, v := range gc.Sync {
		syncCfg[k] = v
	}
	cfg := map[string]any{
		"site": site, "gateway": id, "store": g.store,
		"log":  map[string]any{"level": "info"},
		"sync": syncCfg,
	}
	if sc != nil {
		kind, loc := gc.ScanKind, gc.ScanLocation
		if kind == "" {
			kind = string(agent.KindReceive)
		}
		if loc == "" {
			loc = "DOCK"
		}
		cfg["scanners"] = []any{map[string]any{
			"id": sc.id, "device": sc.device, "location": loc, "kind": kind, "suffix": "CR",
			"feedback": map[string]any{"accept": "06", "reject": "15", "failed": "18"},
		}}
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(g.config, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return g
}

// start runs `udi-edge run --config` and waits until its control socket
// answers and its scanner, if any, is open.
func (g *gateway) start() {
	g.t.Helper()
	if g.sc != nil {
		g.sc.release()
	}
	g.run(bins.edge, "run", "--config", g.config)
	waitFor(g.t, startWait, g.name+" to answer on its control socket", func() error {
		if !g.running() {
			return errors.New("exited")
		}
		st, err := g.status()
		if err != nil {
			return err
		}
		if st.Sync == nil {
			return errors.New("no uplink in the status")
		}
		if g.sc != nil && !deviceOpen(st, g.sc.id) {
			return fmt.Errorf("scanner %s not open yet", g.sc.id)
		}
		return nil
	})
}

// status asks the running gateway through its local API.
func (g *gateway) status() (core.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return api.NewClient(g.store + ".sock").Status(ctx)
}

// acked returns the running gateway's sync cursor and last movement.
func (g *gateway) acked() (acked, last uint64, err error) {
	st, err := g.status()
	if err != nil {
		return 0, 0, err
	}
	if st.Sync == nil {
		return 0, 0, errors.New("no uplink")
	}
	return st.Sync.Acked, st.LastSeq, nil
}

// waitMidDrain waits until the running gateway's cursor is at least min
// (and at least 1) and strictly below its last movement, and returns
// both: the moment to cut something off in the middle of the stream.
func (g *gateway) waitMidDrain(min uint64) (acked, last uint64) {
	g.t.Helper()
	min = max(min, 1)
	waitFor(g.t, drainWait, g.name+" to be in the middle of its drain", func() error {
		var err error
		acked, last, err = g.acked()
		switch {
		case err != nil:
			return err
		case acked >= last:
			return failNowf("drained already (acked %d, last %d) before it could be cut off: the backlog is too small", acked, last)
		case acked < min:
			return fmt.Errorf("acked %d, last %d", acked, last)
		}
		return nil
	})
	return acked, last
}

// waitDrained waits until the gateway holds at least want movements, its
// cursor reached its last movement, and the centre's head is there too.
func waitDrained(t testing.TB, c *centre, g *gateway, want uint64) uint64 {
	t.Helper()
	var last uint64
	waitFor(t, drainWait, g.name+" to drain", func() error {
		acked, l, err := g.acked()
		if err != nil {
			return err
		}
		last = l
		if l < want || acked != l {
			return fmt.Errorf("gateway acked %d of %d (want at least %d)", acked, l, want)
		}
		h, err := c.head(g.id)
		if err != nil {
			return err
		}
		if h != l {
			return fmt.Errorf("centre head %d, gateway last %d", h, l)
		}
		return nil
	})
	return last
}

// scanGTIN is the GTIN of every scanned item (a valid check digit).
const scanGTIN = "09520123456788"

// scanner is a barcode scanner on a pseudo-terminal: the gateway opens
// the slave by name, the test writes labels to the master and reads the
// feedback bytes the gateway sends back (06 accepted, 15 rejected, 18
// failed).
type scanner struct {
	t       testing.TB
	id      string
	device  string
	master  *os.File
	slave   *os.File
	answers chan byte
	next    atomic.Int64 // serial number of the next label
}

func newScanner(t testing.TB, id string) *scanner {
	t.Helper()
	d := testkit.New(t, filepath.Join(t.TempDir(), id))
	master, slave := d.Master, d.Slave
	s := &scanner{t: t, id: id, device: d.Link, master: master, slave: slave, answers: make(chan byte, 4096)}
	// The test keeps the slave open, so that the master does not read EIO
	// while no gateway has the port open (between a kill and a restart).
	go func() {
		buf := make([]byte, 256)
		for {
			n, err := master.Read(buf)
			for _, b := range buf[:n] {
				if b == 0x06 || b == 0x15 || b == 0x18 {
					s.answers <- b
				}
			}
			if err != nil {
				close(s.answers)
				return
			}
		}
	}()
	return s
}

// release clears the exclusive mode (TIOCEXCL) a killed gateway left on
// the port, so that a restarted one can open it without CAP_SYS_ADMIN.
func (s *scanner) release() {
	_ = unix.IoctlSetInt(int(s.slave.Fd()), unix.TIOCNXCL, 0)
}

// label returns the label of the next item with serial prefix+number and
// the item's key.
func (s *scanner) label(prefix string) (label, key string) {
	return itemLabel(fmt.Sprintf("%s%05d", prefix, s.next.Add(1)))
}

// itemLabel returns the GS1 DataMatrix label, as a scanner sends it, of
// the item of GTIN scanGTIN with serial, and the item's key.
func itemLabel(serial string) (label, key string) {
	return "]d201" + scanGTIN + "21" + serial + "\r", "(01)" + scanGTIN + "(21)" + serial
}

// scan writes one label and waits for the gateway's answer: it returns
// nil once the scan is durably recorded and accepted.
func (s *scanner) scan(label string) error {
	for len(s.answers) > 0 { // nothing stale may answer this scan
		<-s.answers
	}
	if _, err := io.WriteString(s.master, label); err != nil {
		return err
	}
	select {
	case b, ok := <-s.answers:
		if !ok {
			return errors.New("scanner closed")
		}
		if b != 0x06 {
			return fmt.Errorf("scan %q answered %#x, want 0x06", strings.TrimSpace(label), b)
		}
		return nil
	case <-time.After(scanWait):
		return fmt.Errorf("scan %q: no answer within %v", strings.TrimSpace(label), scanWait)
	}
}

// mustScan scans the item prefix+next and returns its key.
func (s *scanner) mustScan(prefix string) string {
	s.t.Helper()
	label, key := s.label(prefix)
	if err := s.scan(label); err != nil {
		s.t.Fatal(err)
	}
	return key
}

// scanning scans labels one after another, every interval, until stopped.
type scanning struct {
	stop chan struct{}
	done chan struct{}
	n    int
	err  error
}

// keepScanning starts scanning items prefix+number in the background.
func (s *scanner) keepScanning(prefix string, interval time.Duration) *scanning {
	l := &scanning{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-tick.C:
			}
			label, _ := s.label(prefix)
			if l.err = s.scan(label); l.err != nil {
				return
			}
			l.n++
		}
	}()
	return l
}

// halt stops scanning and returns how many scans were answered; it fails
// the test if one was not.
func (l *scanning) halt(t testing.TB) int {
	t.Helper()
	close(l.stop)
	<-l.done
	if l.err != nil {
		t.Fatalf("scanning: %v (after %d scans)", l.err, l.n)
	}
	return l.n
}

// scenario is the set-up most tests start from: a broker, a centre
// connected to it, and a gateway (with a scanner, when asked for) whose
// ledger holds backlog movements, its drain slowed so that it can be cut
// off in the middle.
type scenario struct {
	start  time.Time
	broker *mosquitto.Broker
	c      *centre
	sc     *scanner // nil without a scanner
	g      *gateway
}

func newScenario(t testing.TB, start time.Time, site, gw string, backlog int, withScanner bool) *scenario {
	t.Helper()
	s := &scenario{start: start, broker: mosquitto.Start(t, mosquitto.Config{})}
	s.c = startCentre(t, site, s.broker.Addr())
	s.c.waitConnected()
	if withScanner {
		s.sc = newScanner(t, "dock")
	}
	s.g = newGateway(t, site, gw, s.broker.Addr(), s.sc, slowDrain)
	fillLedger(t, s.g, backlog, nil)
	logf(t, start, "ledger filled with %d movements", backlog)
	return s
}

// finish waits until the gateway drained its want movements, checks that
// the centre counts stored movements (since it last started) of them,
// stops both and checks that every movement reached the centre exactly
// once, byte for byte.
func (s *scenario) finish(t testing.TB, want, stored uint64) {
	t.Helper()
	last := waitDrained(t, s.c, s.g, want)
	logf(t, s.start, "drained: %d movements", last)
	if last != want {
		t.Fatalf("the ledger holds %d movements, want %d", last, want)
	}
	gs, err := s.c.gateways()
	if err != nil {
		t.Fatal(err)
	}
	cnt := gs[s.g.id].Counters
	t.Logf("centre counters: %+v", cnt)
	if cnt.Stored != stored {
		t.Errorf("the centre counts %d movements stored, want %d", cnt.Stored, stored)
	}
	s.g.stop()
	s.c.stop()
	verifyDelivered(t, s.c, s.g)
	logf(t, s.start, "verified")
}

// deviceOpen reports whether the status shows device id with its port open.
func deviceOpen(st core.Status, id string) bool {
	for _, d := range st.Devices {
		if d.ID == id {
			return d.Connected
		}
	}
	return false
}
