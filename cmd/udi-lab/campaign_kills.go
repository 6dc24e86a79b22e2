//go:build linux

package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
)

// The kills campaign: while two gateways drain a backlog and record live
// scans, the three processes sync depends on die of SIGKILL at random
// moments and start again: the broker (on the same port, with the
// persistence the shipped configuration has), the central service (on
// the same store), a gateway (on the same ledger). At the end, with
// everything up and drained, the centre must hold every movement of each
// ledger once, in order, on one chain, and every scan answered accepted
// must be in its ledger.

func init() {
	registerCampaign(campaign{
		Name:    "kills",
		Summary: "SIGKILL the broker, the centre and a gateway at random during a drain with live scans: the centre ends with every movement once",
		Help: "Two udi-edge agents, each with a backlog of movements recorded while offline and a barcode\n" +
			"scanner on a pseudo-terminal scanning new items all along, sync through a real Mosquitto\n" +
			"(persistence on, as deploy/mosquitto has it) to a real udi-central on a bbolt store. Faults\n" +
			"of three kinds come in a random order, each at a random moment of the drain (when the\n" +
			"movements acknowledged pass a mark drawn between 5 and 95 % of the backlog, at least\n" +
			"200 ms after sync resumed from the fault before): the broker killed (SIGKILL)\n" +
			"and started again on the same port, the centre killed and started again on its store, a\n" +
			"gateway killed and started again on its ledger; two thirds of them the broker, the rest\n" +
			"shared by the centre and the gateways (20, 5 and 5 in the long form). After each: the\n" +
			"centre holds what every gateway's cursor says it acknowledged, a killed gateway's ledger\n" +
			"holds every scan it answered accepted, verifies, and its uplink resumes from the file's\n" +
			"cursor; the time from the restart to the first acknowledgement after it is measured. At\n" +
			"the end (scans stopped, everything drained): each gateway's cursor is its last movement,\n" +
			"the centre's head of each is the ledger's last movement and hash (udi-edge verify), one\n" +
			"ledger and no branch each, and udi-central verify of the stopped store finds every\n" +
			"movement once, in order, linked to the one before.",
		Short: 6, Long: 30,
		Run: runKillsCampaign,
	})
}

// The campaign's sizes.
const (
	// killsGateways is how many agents sync at once.
	killsGateways = 2
	// killsBacklogPerFault is each gateway's backlog per fault: enough
	// that the drain goes on while the faults come.
	killsBacklogPerFault = 3000
	// killsBatchBytes and killsWindow are the gateways' uplink settings: a
	// slow uplink's, so that a backlog of a few thousand movements per
	// fault lasts through them on a fast machine.
	killsBatchBytes = 4 << 10
	killsWindow     = 2
	// killsResumeGoal is the longest a restart may leave sync stalled:
	// from the restarted program's start to the first acknowledgement
	// after it. Each program takes well under a second to start and
	// connect; the gateways' ack timeout here is 2 s.
	killsResumeGoal = 5 * time.Second
)

// The kinds of fault.
const (
	faultBroker  = "broker"
	faultCentre  = "centre"
	faultGateway = "gateway"
)

// killsFaults returns n faults in a random order: two thirds the broker,
// the rest shared by the centre and the gateways (20, 5, 5 of 30).
func killsFaults(n int, shuffle func(n int, swap func(i, j int))) []string {
	broker := n * 2 / 3
	centre := (n - broker) / 2
	var out []string
	for i := range n {
		switch {
		case i < broker:
			out = append(out, faultBroker)
		case i < broker+centre:
			out = append(out, faultCentre)
		default:
			out = append(out, faultGateway)
		}
	}
	shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// killsBroker is the drain benchmark's Mosquitto, started again on its
// port after every kill, with the shipped configuration's persistence.
type killsBroker struct {
	*benchMosquitto
	conf string
}

// startKillsBroker takes a free port and the mosquitto binary as the
// drain benchmark does, and runs it with deploy/mosquitto's settings but
// TLS, passwords and the ACL: persistence on (retained acks and the
// centre's persistent session restored from the last save after a kill),
// the same queue and in-flight limits. The save comes every 2 seconds
// rather than 300, so that what a restarted broker restores is a moment
// behind, as it is in production after a crash.
func startKillsBroker(dir string) (*killsBroker, error) {
	m, err := startBenchMosquitto(dir)
	if err != nil {
		return nil, err
	}
	m.stop()
	_, port, _ := net.SplitHostPort(m.addr)
	data := filepath.Join(dir, "mosquitto-data") + string(filepath.Separator)
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf("listener %s 127.0.0.1\nallow_anonymous true\n"+
		"persistence true\npersistence_location %s\nautosave_interval 2\n"+
		"max_queued_messages 20000\nmax_queued_bytes 2000000000\nmax_inflight_messages 64\n"+
		"set_tcp_nodelay true\nmax_packet_size 1050000\nlog_dest none\n", port, data)
	if os.Geteuid() == 0 {
		conf += "user root\n"
	}
	b := &killsBroker{benchMosquitto: m, conf: filepath.Join(dir, "mosquitto-kills.conf")}
	if err := os.WriteFile(b.conf, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	return b, b.start(context.Background())
}

// start runs mosquitto on the broker's port and waits until it listens.
func (b *killsBroker) start(ctx context.Context) error {
	cmd := exec.Command(b.cmd.Path, "-c", b.conf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start mosquitto: %w", err)
	}
	b.cmd = cmd
	return pollFor(ctx, crashStartWait, func() (bool, error) {
		c, err := net.DialTimeout("tcp", b.addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return true, nil
		}
		return false, nil
	})
}

// killsGateway is one of the campaign's gateways: its agent, scanner and
// what its scans came to.
type killsGateway struct {
	id, store string
	a         *labAgent
	sc        *labScanner
	backlog   uint64 // movements recorded offline before the first start

	// mu is held across a scan, and across a kill and restart, so that
	// the scanner is reset only between scans.
	mu      sync.Mutex
	serial  int
	accepts []string // keys of every scan answered accepted
	inDoubt []string // keys of the scans a kill cut off
	other   int
}

// newKillsGateway makes gateway id in a directory of its own under dir:
// its scanner, a ledger holding backlog movements recorded offline, and
// the agent's configuration (a slow uplink: killsBatchBytes, killsWindow).
func newKillsGateway(bin, dir, id, broker string, backlog int) (*killsGateway, error) {
	gdir := filepath.Join(dir, id)
	if err := os.MkdirAll(gdir, 0o700); err != nil {
		return nil, err
	}
	sc, err := newLabScanner(gdir)
	if err != nil {
		return nil, err
	}
	g := &killsGateway{id: id, store: filepath.Join(gdir, id+".db"), sc: sc}
	if err := fillOffline(g.store, id, backlog); err != nil {
		sc.Close()
		return nil, err
	}
	g.backlog = uint64(backlog)
	if g.a, err = newLabAgent(bin, gdir, id, g.store, sc, broker, ""); err != nil {
		sc.Close()
		return nil, err
	}
	g.a.cfg.Sync.BatchBytes, g.a.cfg.Sync.Window = killsBatchBytes, killsWindow
	b, err := json.MarshalIndent(g.a.cfg, "", "  ")
	if err == nil {
		err = os.WriteFile(g.a.config, b, 0o600)
	}
	if err != nil {
		sc.Close()
		return nil, err
	}
	return g, nil
}

// fillOffline records n receipts at the dock in the ledger of gateway gw
// at store, as the agent does while it has no uplink: two days' backlog.
func fillOffline(store, gw string, n int) error {
	l, err := bolt.Open(bolt.Options{Path: store, Gateway: gw})
	if err != nil {
		return err
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	since := time.Now().Add(-48 * time.Hour)
	wg.Add(n)
	for i := range n {
		serial := fmt.Sprintf("%s-OFF%07d", gw, i)
		label, key := crashLabel(serial)
		l.Submit(agent.Movement{Time: since.Add(time.Duration(i) * time.Second), Kind: agent.KindReceive, Item: key,
			GTIN: crashGTIN, Serial: serial, Location: "DOCK", Station: "dock", Raw: []byte(label[:len(label)-1]),
			Decision: "accepted"}, func(_ agent.Movement, err error) {
			if err != nil {
				mu.Lock()
				first = cmp.Or(first, err)
				mu.Unlock()
			}
			wg.Done()
		})
	}
	wg.Wait()
	if err := l.Close(); err != nil && first == nil {
		first = err
	}
	if first != nil {
		return fmt.Errorf("filling %s offline: %w", store, first)
	}
	return nil
}

// start starts the agent (after a kill: the scanner's line reset) and
// waits until its scanner port is open.
func (g *killsGateway) start(ctx context.Context) error {
	if err := g.sc.reset(); err != nil {
		return err
	}
	if err := g.a.start(); err != nil {
		return err
	}
	return g.a.waitScanner(ctx)
}

// scanLive scans new items one after another, a pause drawn from pauses
// between two, until stop closes. A scan cut off by a kill is set aside
// as in doubt; while the agent is down nothing is scanned.
func (g *killsGateway) scanLive(r *campaignRun, stop <-chan struct{}, pauses []time.Duration) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-time.After(pauses[i%len(pauses)]):
		}
		g.mu.Lock()
		if g.a.running() {
			g.serial++
			label, key := crashLabel(fmt.Sprintf("%s-L%06d", g.id, g.serial))
			b, err := g.sc.scan(label, g.a.exited())
			switch {
			case errors.Is(err, errNoAnswer):
				g.inDoubt = append(g.inDoubt, key)
			case err != nil:
				g.other++
				r.Failf("%s: %v", g.id, err)
			case b != ansAccepted:
				g.other++
				r.Failf("%s: a new item's receipt answered %#x, want %#x (accepted)", g.id, b, ansAccepted)
			default:
				g.accepts = append(g.accepts, key)
			}
		}
		g.mu.Unlock()
	}
}

// status returns the running agent's status, with its sync state.
func (g *killsGateway) status(ctx context.Context) (core.Status, error) {
	actx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st, err := g.a.api.Status(actx)
	if err == nil && st.Sync == nil {
		err = fmt.Errorf("%s: no sync state", g.id)
	}
	return st, err
}

// killsTally is what the kills campaign counts.
type killsTally struct {
	kills                      map[string]int
	midDrain                   int // faults while a backlog was still being sent
	lost, verifyFailed, unheld int
	resumeWrong, notResumed    int
	resume                     map[string][]time.Duration // restart to the first ack after it, by kind
	lastRestart                time.Time
}

// runKillsCampaign is the kills campaign.
func runKillsCampaign(ctx context.Context, r *campaignRun) error {
	edgeBin, centralBin, err := labPrograms(ctx, r)
	if err != nil {
		return err
	}
	mq, err := startKillsBroker(r.Dir)
	if err != nil {
		return err
	}
	defer mq.stop()
	c, err := startLabCentre(ctx, centralBin, r.Dir, mq.addr)
	if err != nil {
		return err
	}
	centreLogs := []*labCentre{c}
	defer func() { _, _ = c.signal(syscall.SIGKILL) }()

	backlog := killsBacklogPerFault * r.Rounds
	var gws []*killsGateway
	// The programs' output is left in the run's directory, kept after a
	// failure or with --keep.
	defer func() {
		for _, g := range gws {
			_, _ = g.a.signal(syscall.SIGKILL)
			g.sc.Close()
			_ = os.WriteFile(filepath.Join(r.Dir, g.id+".log"), []byte(g.a.logs.String()), 0o600)
		}
		var all string
		for _, c := range centreLogs {
			all += c.logs.String()
		}
		_ = os.WriteFile(filepath.Join(r.Dir, "udi-central.log"), []byte(all), 0o600)
	}()
	for i := range killsGateways {
		g, err := newKillsGateway(edgeBin, r.Dir, fmt.Sprintf("gw-%c", 'a'+i), mq.addr, backlog)
		if err != nil {
			return err
		}
		gws = append(gws, g)
	}
	r.Logf("%d gateways, a backlog of %d movements each", len(gws), backlog)
	for _, g := range gws {
		if err := g.start(ctx); err != nil {
			return fmt.Errorf("%s does not start: %w\n%s", g.id, err, g.a.tail(4096))
		}
	}
	drainStart := time.Now()

	// Live scans all along, each gateway at its own pace (20 to 60 ms).
	stop := make(chan struct{})
	var scanning sync.WaitGroup
	for _, g := range gws {
		pauses := make([]time.Duration, 64)
		for i := range pauses {
			pauses[i] = 20*time.Millisecond + time.Duration(r.Rand.Int64N(int64(40*time.Millisecond)))
		}
		scanning.Add(1)
		go func() {
			defer scanning.Done()
			g.scanLive(r, stop, pauses)
		}()
	}
	stopScanning := func() {
		if stop != nil {
			close(stop)
			scanning.Wait()
			stop = nil
		}
	}
	defer stopScanning()

	t := killsTally{kills: map[string]int{}, resume: map[string][]time.Duration{}}
	acked := func() (map[string]uint64, error) {
		out := map[string]uint64{}
		for _, g := range gws {
			st, err := g.status(ctx)
			if err != nil {
				return nil, err
			}
			out[g.id] = st.Sync.Acked
		}
		return out, nil
	}
	// waitResumed waits until each gateway of who has an acknowledgement
	// beyond since[id]: sync goes on end to end.
	waitResumed := func(who []*killsGateway, since map[string]uint64) error {
		return pollFor(ctx, crashDrainWait, func() (bool, error) {
			for _, g := range who {
				st, err := g.status(ctx)
				if err != nil || st.Sync.Acked <= since[g.id] {
					return false, nil
				}
			}
			return true, nil
		})
	}

	// The faults come at random moments of the drain, whatever its pace
	// on this machine: when the movements acknowledged to the gateways
	// pass marks drawn between 5 and 95 % of the backlog, each a moment
	// (200 to 700 ms) or more after sync resumed from the fault before.
	faults := killsFaults(r.Rounds, r.Rand.Shuffle)
	total := uint64(backlog * len(gws))
	marks := make([]uint64, len(faults))
	for i := range marks {
		marks[i] = total/20 + uint64(r.Rand.Int64N(int64(total*9/10)))
	}
	slices.Sort(marks)
	for i, kind := range faults {
		if ctx.Err() != nil {
			break
		}
		time.Sleep(200*time.Millisecond + time.Duration(r.Rand.Int64N(int64(500*time.Millisecond))))
		var before map[string]uint64
		err := pollFor(ctx, crashDrainWait, func() (bool, error) {
			a, err := acked()
			if err != nil {
				return false, err
			}
			before = a
			var sum uint64
			for _, n := range a {
				sum += n
			}
			return sum >= marks[i], nil
		})
		if err != nil {
			r.Failf("fault %d: the gateways' acknowledged movements did not reach %d: %v", i+1, marks[i], err)
			break
		}
		down := time.Duration(r.Rand.Int64N(int64(800 * time.Millisecond)))
		for _, g := range gws {
			if before[g.id] < g.backlog {
				t.midDrain++
				break
			}
		}
		who := gws
		var since map[string]uint64
		var restarted time.Time
		switch kind {
		case faultBroker:
			mq.stop()
			time.Sleep(down)
			if since, err = acked(); err != nil {
				return err
			}
			restarted = time.Now()
			if err := mq.start(ctx); err != nil {
				return fmt.Errorf("fault %d: the broker does not start again: %w", i+1, err)
			}

		case faultCentre:
			if _, err := c.signal(syscall.SIGKILL); err != nil {
				return err
			}
			held, err := centreHeads(c.store)
			if err != nil {
				return fmt.Errorf("fault %d: the killed centre's store: %w", i+1, err)
			}
			time.Sleep(down)
			if since, err = acked(); err != nil {
				return err
			}
			// Acks the centre sent before it died may arrive after it:
			// none may say more than its store holds.
			for _, g := range gws {
				if since[g.id] > held[g.id] {
					t.unheld++
					r.Failf("fault %d: %s's cursor says %d acknowledged, the killed centre's store holds %d", i+1, g.id, since[g.id], held[g.id])
				}
			}
			restarted = time.Now()
			if c, err = startLabCentre(ctx, centralBin, r.Dir, mq.addr); err != nil {
				return fmt.Errorf("fault %d: the centre does not start again: %w", i+1, err)
			}
			centreLogs = append(centreLogs, c)

		case faultGateway:
			g := gws[r.Rand.IntN(len(gws))]
			who = []*killsGateway{g}
			if _, err := g.a.signal(syscall.SIGKILL); err != nil {
				return err
			}
			g.mu.Lock() // the scan the kill cut off has ended
			st, err := readLedgerState(g.store)
			if err != nil {
				g.mu.Unlock()
				t.verifyFailed++
				r.Failf("fault %d: %s's ledger does not open read-only after the kill: %v", i+1, g.id, err)
				return nil
			}
			if lost := st.missing(g.accepts); len(lost) > 0 {
				t.lost += len(lost)
				r.Failf("fault %d: %d scan(s) %s answered accepted are not in its ledger after the kill, first %s", i+1, len(lost), g.id, lost[0])
			}
			if _, err := verifyLedger(ctx, edgeBin, g.store); err != nil {
				t.verifyFailed++
				r.Failf("fault %d: %v", i+1, err)
			}
			if h, err := c.gateway(g.id); err != nil {
				g.mu.Unlock()
				return fmt.Errorf("udi-central: %w", err)
			} else if h.Seq < st.cursor {
				t.unheld++
				r.Failf("fault %d: %s's cursor says %d acknowledged, the centre holds %d", i+1, g.id, st.cursor, h.Seq)
			}
			time.Sleep(down)
			since = map[string]uint64{g.id: st.cursor}
			restarted = time.Now()
			err = g.start(ctx)
			g.mu.Unlock()
			if err != nil {
				r.Failf("fault %d: %s did not start again after the kill: %v\n%s", i+1, g.id, err, g.a.tail(4096))
				return nil
			}
			if m, err := g.a.waitLog(ctx, uplinkResumeRE); err != nil {
				r.Failf("fault %d: %s's uplink did not connect after the restart: %v", i+1, g.id, err)
			} else if got, _ := strconv.ParseUint(m[1], 10, 64); got != st.cursor {
				t.resumeWrong++
				r.Failf("fault %d: %s's uplink resumed from %d, the ledger's cursor was %d", i+1, g.id, got, st.cursor)
			}
		}
		t.kills[kind]++
		t.lastRestart = restarted
		if err := waitResumed(who, since); err != nil {
			t.notResumed++
			r.Failf("fault %d (%s): sync did not resume after the restart: %v", i+1, kind, err)
			t.resume[kind] = append(t.resume[kind], crashDrainWait)
			continue
		}
		took := time.Since(restarted)
		t.resume[kind] = append(t.resume[kind], took)
		r.Logf("fault %d: %s killed, down %v; acked %v before; sync resumed %v after the restart",
			i+1, kind, down.Round(time.Millisecond), before, took.Round(time.Millisecond))
	}

	// The end: scans stop, everything drains.
	stopScanning()
	// The backlog left may take a while: the wait fails only when the
	// centre's heads stop moving for crashDrainWait.
	var progress uint64
	moved := time.Now()
	drained := func() (bool, error) {
		done, sum := true, uint64(0)
		for _, g := range gws {
			st, err := g.status(ctx)
			if err != nil {
				return false, nil
			}
			h, err := c.gateway(g.id)
			if err != nil {
				return false, nil
			}
			sum += h.Seq
			done = done && st.Sync.Acked == st.LastSeq && h.Seq == st.LastSeq
		}
		if sum != progress {
			progress, moved = sum, time.Now()
		}
		if !done && time.Since(moved) > crashDrainWait {
			return false, fmt.Errorf("the centre's heads did not move for %v", crashDrainWait)
		}
		return done, nil
	}
	if err := pollFor(ctx, time.Hour, drained); err != nil {
		r.Failf("the ledgers did not drain to the centre: %v", err)
	}
	drainTime := time.Since(t.lastRestart)
	wholeDrain := time.Since(drainStart)
	// Each gateway's status (retained, its last will when it died) says
	// online at the centre, whatever a restarted broker restored.
	offline := 0
	for _, g := range gws {
		err := pollFor(ctx, crashStartWait, func() (bool, error) {
			h, err := c.gateway(g.id)
			return err == nil && h.State == "online", nil
		})
		if err != nil {
			offline++
			h, _ := c.gateway(g.id)
			r.Failf("the centre shows %s %q, running and connected: %v", g.id, h.State, err)
		}
	}
	for _, g := range gws {
		if st, err := g.a.signal(syscall.SIGTERM); err != nil || !st.Success() {
			r.Failf("%s did not stop cleanly on SIGTERM: %v %v", g.id, st, err)
		}
	}

	var (
		accepted, inDoubt, other, cursorBehind int
		ledgerTotal, stored, duplicates        uint64
		sameChains, conflicts                  int
	)
	for _, g := range gws {
		accepted += len(g.accepts)
		inDoubt += len(g.inDoubt)
		other += g.other
		final, err := readLedgerState(g.store)
		if err != nil {
			return err
		}
		ledgerTotal += final.last
		if lost := final.missing(g.accepts); len(lost) > 0 {
			t.lost += len(lost)
			r.Failf("%d scan(s) %s answered accepted are not in its final ledger, first %s", len(lost), g.id, lost[0])
		}
		if final.cursor != final.last {
			cursorBehind++
			r.Failf("%s's sync cursor is %d, its last movement %d", g.id, final.cursor, final.last)
		}
		v, err := verifyLedger(ctx, edgeBin, g.store)
		if err != nil {
			t.verifyFailed++
			r.Failf("%s's final ledger: %v", g.id, err)
		}
		h, err := c.gateway(g.id)
		if err != nil {
			return fmt.Errorf("udi-central: %w", err)
		}
		duplicates += h.Counters.Duplicates
		stored += h.Counters.Stored
		conflicts += len(h.Conflicts) + h.Branch
		if h.Seq == v.LastSeq && h.Hash == v.LastHash && h.Ledgers == 1 && h.Branch == 0 && len(h.Conflicts) == 0 {
			sameChains++
		} else {
			r.Failf("the centre's head of %s is movement %d hash %s (%d ledgers, branch %d, %d conflicts); the ledger's last is %d hash %s",
				g.id, h.Seq, h.Hash, h.Ledgers, h.Branch, len(h.Conflicts), v.LastSeq, v.LastHash)
		}
	}
	if st, err := c.signal(syscall.SIGTERM); err != nil || !st.Success() {
		r.Failf("udi-central did not stop cleanly on SIGTERM: %v %v", st, err)
	}
	ledgers, branches, held, err := verifyCentre(ctx, centralBin, c.store)
	if err != nil {
		r.Failf("the centre's store: %v", err)
	} else if ledgers != uint64(len(gws)) || branches != uint64(len(gws)) {
		r.Failf("the centre holds %d ledgers, %d branches; want one each of %d gateways", ledgers, branches, len(gws))
	}
	centreWhole := err == nil && held == ledgerTotal && sameChains == len(gws) && branches == uint64(len(gws))

	var allResumes []time.Duration
	for _, k := range []string{faultBroker, faultCentre, faultGateway} {
		r.Figure(k+" kills", float64(t.kills[k]), "", "", true)
		allResumes = append(allResumes, t.resume[k]...)
	}
	r.Figure("faults while a backlog drained", float64(t.midDrain), "", "", true)
	r.Figure("backlog movements", float64(backlog*len(gws)), "", "", true)
	r.Figure("scans accepted", float64(accepted), "", "", true)
	r.Figure("scans cut off by a kill", float64(inDoubt), "", "", true)
	r.Figure("scans lost", float64(t.lost), "", "0", t.lost == 0)
	r.Figure("other answers", float64(other), "", "0", other == 0)
	r.Figure("verify failures", float64(t.verifyFailed), "", "0", t.verifyFailed == 0)
	r.Figure("acknowledged, not held", float64(t.unheld), "", "0", t.unheld == 0)
	r.Figure("restarts sync did not resume after", float64(t.notResumed), "", "0", t.notResumed == 0)
	r.Figure("resumes off the cursor", float64(t.resumeWrong), "", "0", t.resumeWrong == 0)
	r.Figure("batches received again at the centre", float64(duplicates), "", "", true)
	storedTwice := int64(stored) - int64(ledgerTotal)
	r.Figure("movements stored twice at the centre", float64(max(storedTwice, 0)), "", "0", storedTwice <= 0)
	r.Figure("conflicts at the centre", float64(conflicts), "", "0", conflicts == 0)
	r.Figure("gateways not shown online at the end", float64(offline), "", "0", offline == 0)
	r.Figure("cursors behind the last movement", float64(cursorBehind), "", "0", cursorBehind == 0)
	r.Figure("movements in the ledgers", float64(ledgerTotal), "", "", true)
	r.Figure("movements at the centre", float64(held), "", fmt.Sprintf("= %d, once, in order, same chains", ledgerTotal), centreWhole)
	r.Figure("restart to sync resumed, median", ms(median(allResumes)), "ms", "", true)
	for _, k := range []string{faultBroker, faultCentre, faultGateway} {
		if len(t.resume[k]) > 0 {
			r.Figure("restart to sync resumed, longest ("+k+")", ms(slices.Max(t.resume[k])), "ms", "", true)
		}
	}
	if len(allResumes) > 0 {
		longest := slices.Max(allResumes)
		r.Figure("restart to sync resumed, longest", ms(longest), "ms", fmt.Sprintf("<= %d", killsResumeGoal.Milliseconds()), longest <= killsResumeGoal)
	}
	r.Figure("drained after the last restart", drainTime.Seconds(), "s", "", true)
	r.Figure("whole drain", wholeDrain.Seconds(), "s", "", true)
	return nil
}

// centreHeads reads a stopped centre's store: up to which movement it
// holds every one of each gateway's current ledger.
func centreHeads(store string) (map[string]uint64, error) {
	st, err := boltstore.OpenReadOnly(store, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	heads, err := st.Ledgers(context.Background())
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	for _, h := range heads {
		out[h.Gateway] = max(out[h.Gateway], h.Seq)
	}
	return out, nil
}
