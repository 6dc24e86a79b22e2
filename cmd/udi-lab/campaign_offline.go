//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
)

// The offline campaign: a gateway cut off from its broker for a day of
// activity, then reconnected. The real agent records movements as fast
// as its scanners bring them, with nothing listening where its broker
// should be; then a Mosquitto comes up on that address, and a centre
// behind it, and the whole backlog drains. Its memory is read from /proc
// all along.

func init() {
	registerCampaign(campaign{
		Name:    "offline",
		Summary: "a day of scans with the broker unreachable, then reconnect: nothing lost, order kept, agent memory bounded",
		Help: "A udi-edge agent whose broker address (a free loopback port) has nothing listening records\n" +
			"new items received at four barcode scanners on pseudo-terminals, fed as fast as it takes\n" +
			"them (each scanner keeps up to 32 labels in flight), 20,000 movements per round. Then a\n" +
			"Mosquitto starts on that port and a udi-central behind it, and the campaign waits until\n" +
			"the centre holds everything. Then the same day again with the broker and centre up from\n" +
			"the start: the control. The agent's anonymous resident memory (RssAnon in\n" +
			"/proc/PID/status) is sampled all along. Checks: every scan answered accepted; each\n" +
			"scanner's items in the ledger once each, in the order scanned, as many as were accepted;\n" +
			"the centre's head is the ledger's last movement and hash (udi-edge verify --json), and\n" +
			"udi-central verify of its stopped store finds one ledger, one branch, every movement once;\n" +
			"the backlog costs no memory: RssAnon offline at 20 % and 80 % of the scans and its peak\n" +
			"are each at most 1.25 times the control's (same point, or its peak) plus 8 MiB; while\n" +
			"draining, the Go collector's heap goal (go_memstats_next_gc_bytes, twice the live heap)\n" +
			"stays within 1.25 times its value before plus 8 MiB, and RssAnon within 1.5 times the\n" +
			"control's peak. Reports the ingest and drain rates and the memory per item scanned.",
		Short: 1, Long: 50,
		Run: runOfflineCampaign,
	})
}

const (
	// offlineRound is how many movements one round records offline.
	offlineRound = 20_000
	// offlineScanners is how many scanners feed the agent at once, and
	// offlineDepth how many labels each keeps in flight: a pty is not
	// slowed to a baud rate, so the agent's own pace sets the rate.
	offlineScanners = 4
	offlineDepth    = 32
	// offlineSlack is what the agent's memory offline may exceed the
	// online control's by, on top of a quarter of the control's.
	offlineSlack = 8 << 20
)

// memSample is the agent's memory at a moment of the campaign.
type memSample struct {
	recorded   int64 // scans answered so far
	draining   bool
	anon, file int64
	// heapGoal is the Go collector's heap goal (go_memstats_next_gc_bytes
	// of its metrics: twice the heap live after the last collection), 0
	// when not read at this moment.
	heapGoal int64
}

// memSampler reads a process's RssAnon and RssFile every 50 ms and,
// given its metrics' address, its heap goal every 500 ms.
type memSampler struct {
	pid      int
	metrics  string
	recorded *atomic.Int64
	draining atomic.Bool

	mu      sync.Mutex
	samples []memSample
	stop    chan struct{}
	done    chan struct{}
}

func startMemSampler(pid int, metrics string, recorded *atomic.Int64) *memSampler {
	m := &memSampler{pid: pid, metrics: metrics, recorded: recorded, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		seen := false // the drain begun at the last sample
		for i := 0; ; i++ {
			// The heap goal every tenth sample, and at once when the
			// drain begins: a short drain may take fewer than ten.
			draining := m.draining.Load()
			m.sample(i%10 == 0 || draining != seen)
			seen = draining
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

// sample reads the memory once, and the heap goal when asked.
func (m *memSampler) sample(heap bool) {
	anon, err := procRSS(m.pid, "RssAnon")
	if err != nil {
		return // the process is gone: nothing to read
	}
	s := memSample{recorded: m.recorded.Load(), draining: m.draining.Load(), anon: anon}
	s.file, _ = procRSS(m.pid, "RssFile")
	if heap && m.metrics != "" {
		s.heapGoal = heapGoal(m.metrics)
	}
	m.mu.Lock()
	m.samples = append(m.samples, s)
	m.mu.Unlock()
}

var heapGoalRE = regexp.MustCompile(`(?m)^go_memstats_next_gc_bytes ([0-9.e+]+)$`)

// heapGoal reads go_memstats_next_gc_bytes from the metrics at addr; 0
// when it cannot.
func heapGoal(addr string) int64 {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := heapGoalRE.FindSubmatch(b)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return int64(v)
}

// end stops sampling, takes a last sample with the heap goal (the end
// of the phase it is in), and returns the samples.
func (m *memSampler) end() []memSample {
	close(m.stop)
	<-m.done
	m.sample(true)
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.samples
}

// offlineMemory is what the samples say.
type offlineMemory struct {
	peakOffline, peakDrain, peakFile int64
	early, late                      int64 // RssAnon at 20 % and 80 % of the offline phase
	// goalOffline is the last heap goal read before the drain, goalDrain
	// the largest read while draining.
	goalOffline, goalDrain int64
	samples                int
}

func summariseMemory(ss []memSample, total int64) offlineMemory {
	var m offlineMemory
	m.samples = len(ss)
	for _, s := range ss {
		m.peakFile = max(m.peakFile, s.file)
		if s.draining {
			m.peakDrain = max(m.peakDrain, s.anon)
			m.goalDrain = max(m.goalDrain, s.heapGoal)
			continue
		}
		if s.heapGoal > 0 {
			m.goalOffline = s.heapGoal
		}
		m.peakOffline = max(m.peakOffline, s.anon)
		if m.early == 0 && s.recorded >= total/5 {
			m.early = s.anon
		}
		if m.late == 0 && s.recorded >= total*4/5 {
			m.late = s.anon
		}
	}
	return m
}

// offlineLabel returns the label of item n (from 1) of scanner i, and
// its serial.
func offlineLabel(i, n int) (label, serial string) {
	serial = fmt.Sprintf("F%d%08d", i, n)
	label, _ = crashLabel(serial)
	return label, serial
}

// parseOfflineSerial is offlineLabel's inverse, from an item key.
func parseOfflineSerial(key string) (i, n int, ok bool) {
	_, serial, found := strings.Cut(key, "(21)")
	if !found || len(serial) != 10 || serial[0] != 'F' {
		return 0, 0, false
	}
	i, err1 := strconv.Atoi(serial[1:2])
	n, err2 := strconv.Atoi(serial[2:])
	return i, n, err1 == nil && err2 == nil
}

// feedTally is what one scanner's feed counted.
type feedTally struct {
	sent     int
	accepted []bool // by item number - 1
	other    int
	err      error
}

// feedScanner scans n new items at sc as fast as the agent answers,
// with up to depth labels in flight; each answer goes to the oldest scan
// not yet answered, as a scanner's beeps do. recorded counts every
// answer.
func feedScanner(ctx context.Context, sc *labScanner, i, n, depth int, dead <-chan struct{}, recorded *atomic.Int64) feedTally {
	t := feedTally{accepted: make([]bool, 0, n)}
	var buf []byte
	for len(t.accepted) < n && ctx.Err() == nil {
		buf = buf[:0]
		for t.sent < n && t.sent-len(t.accepted) < depth {
			t.sent++
			label, _ := offlineLabel(i, t.sent)
			buf = append(buf, label...)
		}
		if len(buf) > 0 {
			if _, err := sc.master.Write(buf); err != nil {
				t.err = fmt.Errorf("scanner %d: %w", i, err)
				return t
			}
		}
		select {
		case b := <-sc.answers:
			t.accepted = append(t.accepted, b == ansAccepted)
			if b != ansAccepted {
				t.other++
			}
			recorded.Add(1)
		case <-dead:
			t.err = fmt.Errorf("scanner %d: the agent died with %d scans unanswered", i, t.sent-len(t.accepted))
			return t
		case <-time.After(crashScanWait):
			t.err = fmt.Errorf("scanner %d: no answer within %v, %d scans unanswered", i, crashScanWait, t.sent-len(t.accepted))
			return t
		}
	}
	if t.err == nil {
		t.err = ctx.Err()
	}
	return t
}

// saveConfig writes the agent's configuration (a.cfg) to its file, for
// the next start.
func (a *labAgent) saveConfig() error {
	b, err := json.MarshalIndent(a.cfg, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(a.config, b, 0o600)
}

// newLabScanners makes n scanners, each in a directory of its own
// under dir, and adds them to a's configuration as receiving stations
// at DOCK named dock, dock2, ...: the first is the one newLabAgent was
// given.
func newLabScanners(dir string, n int) ([]*labScanner, error) {
	var scs []*labScanner
	for i := range n {
		d := filepath.Join(dir, fmt.Sprintf("scanner-%d", i+1))
		if err := os.Mkdir(d, 0o700); err != nil {
			return scs, err
		}
		sc, err := newLabScanner(d)
		if err != nil {
			return scs, err
		}
		scs = append(scs, sc)
	}
	return scs, nil
}

// addScanners adds scs[1:] to a's configuration as more receiving
// scanners like its first, and saves it.
func (a *labAgent) addScanners(scs []*labScanner) error {
	first := a.cfg.Scanners[0]
	for i, sc := range scs[1:] {
		c := first
		c.ID, c.Device = fmt.Sprintf("dock%d", i+2), sc.link
		a.cfg.Scanners = append(a.cfg.Scanners, c)
	}
	return a.saveConfig()
}

// ledgerOrder is what a pass over the stopped ledger found of the
// scanners' items.
type ledgerOrder struct {
	movements          uint64
	lost, dup, reorder int
	strangers          int // movements of no scanner's item
}

// checkLedgerOrder reads every movement of the stopped ledger at store:
// each scanner's items must be there once each, in the order scanned,
// every one answered accepted among them.
func checkLedgerOrder(store string, feeds []feedTally) (ledgerOrder, error) {
	var o ledgerOrder
	l, err := bolt.OpenReadOnly(store, 5*time.Second)
	if err != nil {
		return o, err
	}
	defer l.Close()
	seen := make([][]bool, len(feeds))
	last := make([]int, len(feeds))
	for i, f := range feeds {
		seen[i] = make([]bool, f.sent+1)
	}
	err = l.Range(1, func(m agent.Movement) error {
		o.movements++
		i, n, ok := parseOfflineSerial(m.Item)
		if !ok || i < 1 || i > len(feeds) || n < 1 || n > feeds[i-1].sent {
			o.strangers++
			return nil
		}
		i--
		switch {
		case seen[i][n]:
			o.dup++
		case n < last[i]:
			o.reorder++
		}
		seen[i][n] = true
		last[i] = max(last[i], n)
		return nil
	})
	for i, f := range feeds {
		for n, acc := range f.accepted {
			if acc && !seen[i][n+1] {
				o.lost++
			}
		}
	}
	return o, err
}

// offlineRun is one agent's day: its scans, and how its backlog reached
// the centre.
type offlineRun struct {
	what           string // "offline", or "online" for the control
	gw, store, dir string
	feeds          []feedTally
	sent, accepted int
	other          int
	scanning       time.Duration // first scan to last answer
	drain          time.Duration // broker up to the centre holding all (offline)
	mem            offlineMemory
	order          ledgerOrder
	held           uint64 // movements at the centre (udi-central verify)
	centreWhole    bool   // the centre holds the ledger's chain, whole
}

// runOfflineDay runs a new agent of gateway gw in dir through total
// scans from offlineScanners scanners, its broker at a free loopback port.
// Offline, nothing listens there until every scan is answered; then
// Mosquitto starts on that port and a centre behind it. Online (the
// control), both are there from the start. It waits until the centre
// holds every movement, stops both programs and checks the ledger and
// the centre's store from outside.
func runOfflineDay(ctx context.Context, r *campaignRun, dir, gw string, total int, online bool) (*offlineRun, error) {
	run := &offlineRun{what: "offline", gw: gw, dir: dir, store: filepath.Join(dir, gw+".db")}
	if online {
		run.what = "online"
	}
	edgeBin, centralBin, err := labPrograms(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	port, err := freeLoopbackPort()
	if err != nil {
		return nil, err
	}
	broker := fmt.Sprintf("127.0.0.1:%d", port)
	scs, err := newLabScanners(dir, offlineScanners)
	for _, sc := range scs {
		defer sc.Close()
	}
	if err != nil {
		return nil, err
	}
	a, err := newLabAgent(edgeBin, dir, gw, run.store, scs[0], broker, "")
	if err != nil {
		return nil, err
	}
	if err := a.addScanners(scs); err != nil {
		return nil, err
	}
	var (
		mq *benchMosquitto
		c  *labCentre
	)
	defer func() {
		_, _ = a.signal(syscall.SIGKILL)
		if c != nil {
			_, _ = c.signal(syscall.SIGKILL)
		}
		if mq != nil {
			mq.stop()
		}
		if len(r.Failures()) > 0 {
			_ = os.WriteFile(filepath.Join(dir, "udi-edge.log"), []byte(a.logs.String()), 0o600)
			if c != nil {
				_ = os.WriteFile(filepath.Join(dir, "udi-central.log"), []byte(c.logs.String()), 0o600)
			}
		}
	}()
	// connect brings up the broker where the agent has been trying to
	// reach one, and the centre behind it.
	connect := func() error {
		if mq, err = startBenchMosquittoOn(dir, port); err != nil {
			return err
		}
		c, err = startLabCentre(ctx, centralBin, dir, broker)
		return err
	}
	if online {
		if err := connect(); err != nil {
			return nil, err
		}
	}
	if err := a.start(); err != nil {
		return nil, err
	}
	if err := a.waitScanner(ctx); err != nil {
		return nil, fmt.Errorf("%s: the agent did not open its scanners: %w\n%s", run.what, err, a.tail(4096))
	}

	// Every scanner scans its share of new items at once.
	metrics, err := a.waitLog(ctx, metricsAddrRE)
	if err != nil {
		return nil, err
	}
	var recorded atomic.Int64
	mem := startMemSampler(a.process().Pid, metrics[1], &recorded)
	run.feeds = make([]feedTally, len(scs))
	var wg sync.WaitGroup
	start := time.Now()
	dead := a.exited()
	for i, sc := range scs {
		n := total / len(scs)
		if i < total%len(scs) {
			n++
		}
		wg.Go(func() { run.feeds[i] = feedScanner(ctx, sc, i+1, n, offlineDepth, dead, &recorded) })
	}
	progress := time.NewTicker(10 * time.Second)
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	for done := false; !done; {
		select {
		case <-waited:
			done = true
		case <-progress.C:
			r.Logf("%s: %d of %d scans answered", run.what, recorded.Load(), total)
		}
	}
	progress.Stop()
	run.scanning = time.Since(start)
	for _, f := range run.feeds {
		if f.err != nil {
			r.Failf("%s: %v\n%s", run.what, f.err, a.tail(4096))
		}
		run.accepted += len(f.accepted) - f.other
		run.other += f.other
		run.sent += f.sent
	}
	r.Logf("%s: %d scans accepted in %v", run.what, run.accepted, run.scanning.Round(time.Millisecond))
	if !online {
		st, err := a.api.Status(ctx)
		if err != nil {
			return nil, fmt.Errorf("the agent's status after the offline phase: %w", err)
		}
		if st.Sync == nil || st.Sync.Connected || st.Sync.Acked != 0 {
			r.Failf("the agent was not offline: sync %+v", st.Sync)
		}
		mem.draining.Store(true)
		if err := connect(); err != nil {
			return nil, err
		}
	}
	drainStart := time.Now()
	err = waitDrained(ctx, a, c, gw, max(crashDrainWait, time.Duration(total/2000)*time.Second))
	if !online {
		run.drain = time.Since(drainStart)
	}
	if err != nil {
		r.Failf("%s: the ledger did not drain to the centre: %v", run.what, err)
	}
	run.mem = summariseMemory(mem.end(), int64(run.sent))
	g, err := c.gateway(gw)
	if err != nil {
		return nil, fmt.Errorf("udi-central: %w", err)
	}
	if st, err := a.signal(syscall.SIGTERM); err != nil || !st.Success() {
		r.Failf("%s: the agent did not stop cleanly on SIGTERM: %v %v", run.what, st, err)
	}
	if st, err := c.signal(syscall.SIGTERM); err != nil || !st.Success() {
		r.Failf("%s: udi-central did not stop cleanly on SIGTERM: %v %v", run.what, st, err)
	}
	v, err := verifyLedger(ctx, edgeBin, run.store)
	if err != nil {
		r.Failf("%s: the ledger: %v", run.what, err)
	}
	if run.order, err = checkLedgerOrder(run.store, run.feeds); err != nil {
		return nil, fmt.Errorf("read the ledger: %w", err)
	}
	o := run.order
	if o.dup != 0 || o.reorder != 0 || o.strangers != 0 || o.movements != uint64(run.accepted) {
		r.Failf("%s: the ledger holds %d movements for %d accepted scans: %d duplicated, %d out of scanning order, %d of no scan",
			run.what, o.movements, run.accepted, o.dup, o.reorder, o.strangers)
	}
	ledgers, branches, held, err := verifyCentre(ctx, centralBin, c.store)
	if err != nil {
		r.Failf("%s: the centre's store: %v", run.what, err)
	}
	run.held = held
	sameChain := g.Seq == v.LastSeq && g.Hash == v.LastHash && g.Ledgers == 1 && g.Branch == 0
	if !sameChain {
		r.Failf("%s: the centre's head is movement %d hash %s (%d ledgers, branch %d); the ledger's last is %d hash %s",
			run.what, g.Seq, g.Hash, g.Ledgers, g.Branch, v.LastSeq, v.LastHash)
	}
	run.centreWhole = err == nil && sameChain && ledgers == 1 && branches == 1 && held == o.movements
	return run, nil
}

// runOfflineCampaign is the offline campaign: the day offline, then the
// same day online, the control of the agent's memory.
func runOfflineCampaign(ctx context.Context, r *campaignRun) error {
	total := r.Rounds * offlineRound
	off, err := runOfflineDay(ctx, r, filepath.Join(r.Dir, "offline"), "gw-offline", total, false)
	if err != nil {
		return err
	}
	on, err := runOfflineDay(ctx, r, filepath.Join(r.Dir, "online"), "gw-online", total, true)
	if err != nil {
		return err
	}
	m, c := off.mem, on.mem
	mib := func(b int64) float64 { return float64(b*10/(1<<20)) / 10 }
	rate := func(n int, d time.Duration) float64 { return float64(int(float64(n) / d.Seconds())) }
	inOrder := off.order.dup == 0 && off.order.reorder == 0 && off.order.strangers == 0 && off.order.movements == uint64(off.accepted)
	r.Figure("scans sent", float64(off.sent), "", "", true)
	r.Figure("scans accepted", float64(off.accepted), "", fmt.Sprintf("= %d sent", off.sent), off.accepted == off.sent)
	r.Figure("other answers", float64(off.other), "", "0", off.other == 0)
	r.Figure("scans lost", float64(off.order.lost), "", "0", off.order.lost == 0)
	r.Figure("movements in the ledger", float64(off.order.movements), "", "= accepted, once each, in scanning order", inOrder)
	r.Figure("movements at the centre", float64(off.held), "", fmt.Sprintf("= %d, once, in order, same chain", off.order.movements), off.centreWhole)
	r.Figure("offline ingest", rate(off.accepted, off.scanning), "movements/s", "", true)
	r.Figure("drain", rate(int(off.held), off.drain), "movements/s", "", true)
	r.Figure("drain time", off.drain.Seconds(), "s", "", true)
	// The backlog's memory: the agent offline against the same day
	// online, at the same points and at their peaks.
	within := func(x, control int64) (string, bool) {
		bound := control + control/4 + offlineSlack
		return fmt.Sprintf("<= 1.25 x online + 8 MiB = %.1f MiB", mib(bound)), x > 0 && control > 0 && x <= bound
	}
	goal, met := within(m.early, c.early)
	r.Figure("agent RssAnon at 20% offline", mib(m.early), "MiB", goal, met)
	goal, met = within(m.late, c.late)
	r.Figure("agent RssAnon at 80% offline", mib(m.late), "MiB", goal, met)
	goal, met = within(m.peakOffline, c.peakOffline)
	r.Figure("agent RssAnon peak offline", mib(m.peakOffline), "MiB", goal, met)
	// Draining, the heap live (the collector's goal is twice it) must not
	// grow: the backlog is read batch by batch, never held. RssAnon also
	// counts heap freed and not yet given back to the kernel, which a
	// burst of 100,000 movements a second leaves behind: its peak is held
	// to 1.5 times the control's.
	goal, met = within(m.goalDrain, m.goalOffline)
	r.Figure("agent heap goal draining (2 x live)", mib(m.goalDrain), "MiB", strings.Replace(goal, "online", "offline's last", 1), met)
	drainBound := c.peakOffline + c.peakOffline/2
	r.Figure("agent RssAnon peak draining", mib(m.peakDrain), "MiB", fmt.Sprintf("<= 1.5 x online peak = %.1f MiB", mib(drainBound)),
		m.peakDrain > 0 && m.peakDrain <= drainBound)
	r.Figure("agent RssAnon per item, 20% to 80%", float64(int(float64(m.late-m.early)/(0.6*float64(off.sent)))), "bytes", "", true)
	r.Figure("agent RssFile peak (ledger pages mapped)", mib(m.peakFile), "MiB", "", true)
	r.Figure("online control: ingest", rate(on.accepted, on.scanning), "movements/s", "", true)
	r.Figure("online control: RssAnon at 20%", mib(c.early), "MiB", "", true)
	r.Figure("online control: RssAnon at 80%", mib(c.late), "MiB", "", true)
	r.Figure("online control: RssAnon peak", mib(c.peakOffline), "MiB", "", true)
	r.Figure("online control: heap goal at the end", mib(c.goalOffline), "MiB", "", true)
	if !on.centreWhole || on.order.lost != 0 || on.accepted != on.sent {
		r.Failf("online control: %d of %d scans accepted, %d lost, centre whole %v", on.accepted, on.sent, on.order.lost, on.centreWhole)
	}
	return nil
}

// waitDrained waits up to d until the running agent a has its whole
// ledger acknowledged and the centre c holds all of it: its head for
// gateway gw is the agent's last movement.
func waitDrained(ctx context.Context, a *labAgent, c *labCentre, gw string, d time.Duration) error {
	return pollFor(ctx, d, func() (bool, error) {
		if !a.running() {
			return false, errors.New("the agent exited")
		}
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		st, err := a.api.Status(actx)
		if err != nil || st.Sync == nil {
			return false, nil
		}
		g, err := c.gateway(gw)
		return err == nil && st.Sync.Acked == st.LastSeq && g.Seq == st.LastSeq, nil
	})
}
