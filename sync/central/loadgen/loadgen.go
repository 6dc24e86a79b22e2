// Package loadgen measures the central service under a fleet's load. It
// simulates gateways, each with its own ledger and Ed25519 key, enrolled
// at the centre, each publishing through the real gateway uplink
// (sync/uplink, its defaults: batches of up to 1 MiB, a window of 8) to
// a real Mosquitto, against udi-central run as a process of its own (so
// that its peak resident memory is its own), on PostgreSQL and on bbolt;
// and beside each it measures the ceiling: the same rows written raw
// into the same store. udi-central bench runs it.
//
// The ledgers are made in memory, not read from bbolt files: every
// record is a gateway ledger's own (the agent/record encoding, hash
// chained from the genesis, signed in batches by the uplink), but made
// when the uplink first reads it and dropped when acknowledged. A fleet
// has a disk per gateway; this machine has one, and the gateways' fsyncs
// would measure it, not the centre.
//
// It must never be pointed at a production broker or database: it
// publishes as made-up gateways and stores made-up movements.
package loadgen

import (
	"bufio"
	"cmp"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/sign"
	"github.com/udi-edge/udi-edge/sync/uplink"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// Defaults of Config.
const (
	DefaultGateways  = 200
	DefaultMovements = 10_000
	DefaultLiveRate  = 1.0
	DefaultLiveFor   = 20 * time.Second
)

// Stores that Config.Stores may name.
const (
	StorePostgres = "postgres"
	StoreBolt     = "bbolt"
)

// Site is the site of every simulated gateway.
const Site = "bench"

// Config configures a run.
type Config struct {
	// Gateways is how many gateways are simulated; each drains a backlog
	// of Movements movements, all at once, then commits movements one at
	// a time, LiveRate a second on average (at random times), for
	// LiveFor. Zero values take the Default* constants; a negative
	// LiveFor skips the live phase.
	Gateways, Movements int
	LiveRate            float64
	LiveFor             time.Duration
	// Broker is the URL of the broker to use; "" starts Mosquitto (from
	// PATH or /usr/sbin) on a free loopback port, configured as
	// deploy/mosquitto is for load (window, packet size) but with a
	// queue per client that holds every gateway's window of batches, and
	// TCP_NODELAY.
	Broker string
	// Postgres is the URL of the PostgreSQL database of the centre and of
	// its ceiling; "" starts a throwaway server (initdb) for the run.
	Postgres string
	// Stores are the stores to run the centre on, in order: StorePostgres,
	// StoreBolt. Empty means both.
	Stores []string
	// Centre returns the command of the centre: udi-central with args
	// (run and its flags) appended. Required.
	Centre func(args ...string) *exec.Cmd
	// Dir holds the run's files (keys, enrolment, the bbolt stores, the
	// logs of the broker and the centre); required.
	Dir string
	// Logger receives the run's progress; nil discards it.
	Logger *slog.Logger
}

// Result is what one run of the centre on one store measured.
type Result struct {
	// Store is StorePostgres or StoreBolt.
	Store string `json:"store"`
	// Gateways and Movements are the fleet and the backlog it drained
	// (every gateway's, in all).
	Gateways  int `json:"gateways"`
	Movements int `json:"movements"`
	// Rate is movements per second stored and acknowledged while the
	// backlog drained: from the uplinks' start to the last ack.
	Rate float64 `json:"rate"`
	// Ceiling is the same rows written raw into the same store, in
	// movements per second: the higher of CeilingBefore and
	// CeilingAfter, measured before the centre starts and after it
	// stops (this machine's disk and neighbours swing from minute to
	// minute). CeilingMovements is how many each wrote.
	Ceiling          float64 `json:"ceiling"`
	CeilingBefore    float64 `json:"ceiling_before"`
	CeilingAfter     float64 `json:"ceiling_after"`
	CeilingMovements int     `json:"ceiling_movements"`
	// LagP50 and LagP99 are the lags from a live movement's commit in its
	// gateway's ledger to the centre's ack of it reaching the gateway,
	// over LiveMovements movements.
	LagP50        time.Duration `json:"lag_p50"`
	LagP99        time.Duration `json:"lag_p99"`
	LiveMovements int           `json:"live_movements"`
	// PeakRSS is the centre's peak resident memory (VmHWM); PeakAnon its
	// peak anonymous resident memory (RssAnon, sampled every 100 ms):
	// what it allocates itself, without the pages of a bbolt file it maps
	// from the page cache.
	PeakRSS  int64 `json:"peak_rss"`
	PeakAnon int64 `json:"peak_anon"`
	// LongestPause is the longest time between two stores of the centre
	// (its log's "movements stored" lines, at debug level, each written
	// as an Append returns, with the centre's clock to the millisecond)
	// while the backlog drained: every gateway had movements to send
	// until its last ack, so the centre had work throughout.
	LongestPause time.Duration `json:"longest_pause"`
	// LongestAckGap is the longest time in which no ack reached any
	// gateway while at least one had movements sent and not
	// acknowledged: the pause as the gateways see it, the broker's
	// delivery and the generator's own scheduling in it.
	LongestAckGap time.Duration `json:"longest_ack_gap"`
	// Resends is how many times a gateway started again from its cursor:
	// an ack timeout (a batch or an ack lost) or a resend request.
	Resends uint64 `json:"resends"`
	// Stored is how many movements the centre says it stored, and
	// Complete whether it holds every movement of every gateway's ledger
	// (its /v1/gateways), with no batch refused for a bad record, chain
	// or signature (a gap, after a batch lost, is asked again and is no
	// refusal).
	Stored   uint64 `json:"stored"`
	Complete bool   `json:"complete"`
	// Committed is how many movements the gateways committed: the
	// backlog and the live ones.
	Committed uint64 `json:"committed"`
}

// Run runs the centre under cfg's fleet on each store in turn and
// returns what each run measured.
func Run(ctx context.Context, cfg Config) ([]Result, error) {
	cfg.Gateways = cmp.Or(cfg.Gateways, DefaultGateways)
	cfg.Movements = cmp.Or(cfg.Movements, DefaultMovements)
	cfg.LiveRate = cmp.Or(cfg.LiveRate, DefaultLiveRate)
	cfg.LiveFor = cmp.Or(cfg.LiveFor, DefaultLiveFor)
	if len(cfg.Stores) == 0 {
		cfg.Stores = []string{StorePostgres, StoreBolt}
	}
	switch {
	case cfg.Centre == nil || cfg.Dir == "":
		return nil, errors.New("loadgen: no centre command or no directory")
	case cfg.Gateways < 1 || cfg.Gateways > 9999 || cfg.Movements < 1 || cfg.LiveRate < 0:
		return nil, fmt.Errorf("loadgen: %d gateways (1 to 9999), %d movements each (1 or more), %g a second live (0 or more)",
			cfg.Gateways, cfg.Movements, cfg.LiveRate)
	}
	for _, s := range cfg.Stores {
		if s != StorePostgres && s != StoreBolt {
			return nil, fmt.Errorf("loadgen: store %q: want %s or %s", s, StorePostgres, StoreBolt)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	broker := cfg.Broker
	if broker == "" {
		m, err := startMosquitto(filepath.Join(cfg.Dir, "mosquitto"), cfg.Gateways)
		if err != nil {
			return nil, err
		}
		defer m.stop()
		broker = m.url
	}
	var out []Result
	var db *database
	defer func() { db.close() }()
	for _, store := range cfg.Stores {
		r := &run{cfg: cfg, broker: broker, store: store, dir: filepath.Join(cfg.Dir, store)}
		if store == StorePostgres {
			if db == nil {
				var err error
				if db, err = openDatabase(ctx, cfg.Postgres); err != nil {
					return out, err
				}
			}
			r.spec = db.url
		} else {
			r.spec = filepath.Join(r.dir, "central.db")
		}
		res, err := r.measure(ctx)
		if err != nil {
			return out, fmt.Errorf("%s: %w", store, err)
		}
		out = append(out, res)
	}
	return out, nil
}

// run is one run of the centre on one store.
type run struct {
	cfg    Config
	broker string
	store  string // StorePostgres or StoreBolt
	spec   string // the centre's --store
	dir    string

	ledgers []*ledger
	keys    []ed25519.PrivateKey
	tl      timeline
}

// measure makes the fleet, measures the ceiling, starts the centre and
// runs the fleet against it.
func (r *run) measure(ctx context.Context) (Result, error) {
	res := Result{Store: r.store, Gateways: r.cfg.Gateways, Movements: r.cfg.Gateways * r.cfg.Movements}
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		return res, err
	}
	log := r.cfg.Logger.With("store", r.store)
	enrolment, err := r.makeFleet()
	if err != nil {
		return res, err
	}
	rows, n, err := ceilingRows(r.ledgers, r.cfg.Movements)
	if err != nil {
		return res, err
	}
	res.CeilingMovements = n
	ceiling := func() (float64, error) {
		log.Info("measuring the ceiling", "movements", n)
		if r.store == StorePostgres {
			return copyCeiling(ctx, r.spec, rows, n, central.DefaultWorkers)
		}
		defer os.Remove(filepath.Join(r.dir, "ceiling.db"))
		return boltCeiling(ctx, filepath.Join(r.dir, "ceiling.db"), rows, n)
	}
	if res.CeilingBefore, err = ceiling(); err != nil {
		return res, err
	}

	keyPath := filepath.Join(r.dir, "centre.key")
	_ = os.Remove(keyPath)
	centreKey, err := sign.Create(keyPath)
	if err != nil {
		return res, err
	}
	c, err := startCentre(ctx, r.cfg.Centre, r.dir, "run", "--site", Site, "--broker", r.broker,
		"--client-id", "udi-central-bench-"+r.store, "--store", r.spec, "--enrolment", enrolment,
		"--signing-key", keyPath, "--log-level", "debug")
	if err != nil {
		return res, err
	}
	defer c.stop()
	log.Info("centre started", "pid", c.pid())

	fleetCtx, stopFleet := context.WithCancel(ctx)
	var fleet sync.WaitGroup
	defer func() { stopFleet(); fleet.Wait() }()
	ups := make([]*uplink.Uplink, len(r.ledgers))
	start := time.Now()
	for i, l := range r.ledgers {
		l.commitBacklog(r.cfg.Movements)
		conn, err := uplink.NewMQTT(uplink.MQTTConfig{Brokers: []string{r.broker}, ClientID: wire.ClientID(Site, l.gateway)})
		if err != nil {
			return res, err
		}
		if ups[i], err = uplink.New(uplink.Config{Site: Site, Gateway: l.gateway, Key: r.keys[i], CentreKey: sign.Public(centreKey)}, l, conn); err != nil {
			return res, err
		}
		fleet.Go(func() {
			if err := ups[i].Run(fleetCtx); err != nil {
				log.Error("uplink stopped", "gateway", l.gateway, "err", err)
			}
		})
	}
	log.Info("draining", "gateways", len(r.ledgers), "movements", res.Movements)
	if err := r.waitAcked(ctx, c, drainTimeout(res.Movements)); err != nil {
		return res, fmt.Errorf("drain: %w", err)
	}
	drained := time.Now()
	res.Rate = float64(res.Movements) / drained.Sub(start).Seconds()
	longest, _, _, _ := r.tl.figures()
	log.Info("drained", "rate", int(res.Rate), "longest_without_ack", r.tl.worstSince(start))

	if r.cfg.LiveFor > 0 && r.cfg.LiveRate > 0 {
		log.Info("live", "rate_per_gateway", r.cfg.LiveRate, "for", r.cfg.LiveFor)
		r.tl.reset()
		r.live(ctx)
		if err := r.waitAcked(ctx, c, time.Minute); err != nil {
			return res, fmt.Errorf("live: %w", err)
		}
	}
	liveLongest, p50, p99, live := r.tl.figures()
	log.Info("live done", "lag_p50", p50, "lag_p99", p99, "longest_without_ack", r.tl.worstSince(start))
	res.LongestAckGap = max(longest, liveLongest)
	res.LagP50, res.LagP99, res.LiveMovements = p50, p99, live
	for _, u := range ups {
		res.Resends += u.Stats().Resends
	}
	if res.PeakRSS, err = ProcStatus(c.pid(), "VmHWM"); err != nil {
		return res, err
	}
	res.PeakAnon = c.peakAnon()
	for _, l := range r.ledgers {
		_, last := l.acked()
		res.Committed += last
	}
	if res.Stored, res.Complete, err = r.check(ctx, c); err != nil {
		return res, err
	}
	res.Complete = res.Complete && res.Stored == res.Committed
	stopFleet()
	fleet.Wait()
	c.stop()
	if res.CeilingAfter, err = ceiling(); err != nil {
		return res, err
	}
	res.Ceiling = max(res.CeilingBefore, res.CeilingAfter)
	var stores int
	if res.LongestPause, stores, err = storingPause(c.logPath, start, drained); err != nil {
		return res, err
	}
	log.Info("stores while draining", "appends", stores, "longest_pause", res.LongestPause)
	return res, nil
}

// storingPause reads the centre's log at path and returns the longest
// time between two of its stores from one in [from, to] to the next, and
// how many stores it logged then. It returns an error when it logged
// none: the centre logs no more at debug level, or its message changed.
func storingPause(path string, from, to time.Time) (time.Duration, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	var longest time.Duration
	var last time.Time
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, `msg="movements stored"`) {
			continue
		}
		v, _, _ := strings.Cut(strings.TrimPrefix(line, "time="), " ")
		at, err := time.Parse(time.RFC3339Nano, v)
		if err != nil || at.Before(from) {
			continue
		}
		if !last.IsZero() && !last.After(to) {
			longest = max(longest, at.Sub(last))
		}
		if at.After(to) {
			break
		}
		last = at
		n++
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if n == 0 {
		return 0, 0, fmt.Errorf("no store logged in %s while draining (the centre runs at debug level and logs \"movements stored\")", path)
	}
	return longest, n, nil
}

// drainTimeout bounds a drain of n movements: at 1,000 a second, and
// never less than two minutes.
func drainTimeout(n int) time.Duration {
	return max(2*time.Minute, time.Duration(n)*time.Millisecond)
}

// makeFleet makes the gateways' ledgers and keys and writes the
// enrolment file, returning its path.
func (r *run) makeFleet() (string, error) {
	created := time.Now()
	var lines strings.Builder
	for i := range r.cfg.Gateways {
		gw := fmt.Sprintf("%s-gw-%04d", r.store, i+1)
		pub, priv, err := ed25519.GenerateKey(nil)
		if err != nil {
			return "", err
		}
		r.keys = append(r.keys, priv)
		r.ledgers = append(r.ledgers, newLedger(gw, i+1, created.Add(time.Duration(i)), &r.tl))
		lines.WriteString(sign.Line(Site, gw, pub) + "\n")
	}
	path := filepath.Join(r.dir, "enrolment")
	return path, os.WriteFile(path, []byte(lines.String()), 0o600)
}

// waitAcked waits until every gateway's every movement is acknowledged,
// the centre exits, ctx ends or timeout passes.
func (r *run) waitAcked(ctx context.Context, c *centre, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for i := 1; ; i++ {
		if i%40 == 0 { // every 2 s: a batch refused is never acknowledged
			if err := refused(ctx, c); err != nil {
				return err
			}
		}
		var acked, total uint64
		for _, l := range r.ledgers {
			cur, last := l.acked()
			acked, total = acked+cur, total+last
		}
		if acked == total {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.exited:
			return fmt.Errorf("the centre exited (%v) with %d of %d movements acknowledged; its log: %s", c.err, acked, total, c.logPath)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d movements acknowledged after %v", acked, total, timeout)
		}
	}
}

// refused returns an error naming the first gateway of which the centre
// refused a batch for a bad record, chain or signature.
func refused(ctx context.Context, c *centre) error {
	gs, err := c.gateways(ctx)
	if err != nil {
		return nil // asked again later
	}
	for _, g := range gs {
		if n := g.Counters; n.ChainErrors+n.Malformed+n.BadSignatures > 0 {
			return fmt.Errorf("the centre refused batches of %s: %d bad chains or records, %d malformed, %d bad signatures",
				g.Gateway, n.ChainErrors, n.Malformed, n.BadSignatures)
		}
	}
	return nil
}

// live commits movements in every gateway's ledger, one at a time, at
// exponentially distributed intervals of mean 1/LiveRate, for LiveFor.
func (r *run) live(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.LiveFor)
	defer cancel()
	var wg sync.WaitGroup
	for i, l := range r.ledgers {
		rng := rand.New(rand.NewPCG(uint64(i), 7))
		wg.Go(func() {
			for {
				d := time.Duration(rng.ExpFloat64() / r.cfg.LiveRate * float64(time.Second))
				select {
				case <-ctx.Done():
					return
				case <-time.After(d):
					l.commitLive(time.Now())
				}
			}
		})
	}
	wg.Wait()
}

// check asks the centre (its /v1/gateways) what it holds of each
// gateway: it returns the movements stored, and whether it holds every
// gateway's whole ledger with no batch refused.
func (r *run) check(ctx context.Context, c *centre) (uint64, bool, error) {
	gs, err := c.gateways(ctx)
	if err != nil {
		return 0, false, err
	}
	byID := map[string]central.GatewayInfo{}
	var stored uint64
	for _, g := range gs {
		byID[g.Gateway] = g
		stored += g.Counters.Stored
	}
	complete := true
	for _, l := range r.ledgers {
		g, ok := byID[l.gateway]
		_, last := l.acked()
		c := g.Counters
		if !ok || g.Seq != last || g.Created != l.created.UnixNano() || c.ChainErrors+c.Malformed+c.BadSignatures > 0 {
			complete = false
			r.cfg.Logger.Warn("gateway not held whole", "store", r.store, "gateway", l.gateway, "held", g.Seq, "last", last,
				"chain_errors", c.ChainErrors, "malformed", c.Malformed, "bad_signatures", c.BadSignatures, "gaps", c.Gaps)
		}
	}
	return stored, complete, nil
}
