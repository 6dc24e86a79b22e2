package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/udi-edge/udi-edge/cmd/internal/bench"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/loadgen"
)

// Goals of the centre under a fleet's load (issue: the centre holds 200
// gateways with bounded memory and no stalls).
const (
	// goalVsCeiling is the least ratio of the drain's rate to the raw
	// ceiling of the same store.
	goalVsCeiling = 0.5
	// goalRSS is the most resident memory the centre may use.
	goalRSS = 256 << 20
	// goalPause is the longest the centre may go without storing while it
	// has work.
	goalPause = time.Second
)

// centreCommand returns the command that runs this program with args:
// the centre of the benchmark, a process of its own.
var centreCommand = func(args ...string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	return exec.Command(exe, args...)
}

func benchCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "bench", "[flags]",
		"Measure the centre under a fleet's load: --gateways simulated gateways, each with its own\n"+
			"ledger and Ed25519 key, enrolled, drain a backlog of --movements movements each at once\n"+
			"through the real gateway uplink and a real Mosquitto (started on a free loopback port, or\n"+
			"--broker) into udi-central run, a process of its own, then commit movements live for\n"+
			"--live-for. Run on PostgreSQL (--store, or a throwaway server made with initdb) and on a\n"+
			"bbolt file. Prints movements/s stored and acknowledged beside the raw ceiling of the same\n"+
			"rows in the same store, the lag from a live movement's commit to its ack (p50, p99), the\n"+
			"centre's peak memory and its longest pause in storing, each with its goal; fails when a\n"+
			"goal is not met. Never point it at a production broker or database.")
	gateways := fs.Int("gateways", loadgen.DefaultGateways, "simulated gateways")
	movements := fs.Int("movements", loadgen.DefaultMovements, "backlog of each gateway, in movements")
	liveRate := fs.Float64("live-rate", loadgen.DefaultLiveRate, "movements a second each gateway commits in the live phase (on average, at random times)")
	liveFor := fs.Duration("live-for", loadgen.DefaultLiveFor, "length of the live phase (0 skips it)")
	broker := fs.String("broker", "", "broker URL tcp://HOST:PORT (default: a Mosquitto started for the run)")
	store := fs.String("store", "", "PostgreSQL database URL postgres://... (default: a throwaway server started with initdb)")
	stores := fs.StringSlice("stores", []string{loadgen.StorePostgres, loadgen.StoreBolt}, "stores to run the centre on: postgres, bbolt")
	dir := fs.String("dir", "", "directory of the run's files: keys, enrolment, bbolt stores, logs (default: a temporary one, removed)")
	centreBin := fs.String("centre", "", "the udi-central binary to measure, for comparing versions (default: this one)")
	asJSON := fs.Bool("json", false, "print the figures as JSON lines")
	level := fs.String("log-level", "info", "log level of the progress on stderr: debug, info, warn, error")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	if *gateways < 1 || *movements < 1 || *liveRate < 0 || *liveFor < 0 {
		return usagef("--gateways and --movements must be at least 1, --live-rate and --live-for not negative")
	}
	if *store != "" && !isDatabaseURL(*store) {
		return usagef("--store %s: want a PostgreSQL URL postgres://...", storeName(*store))
	}
	log, err := newLogger(env.Stderr, *level)
	if err != nil {
		return err
	}
	if *dir == "" {
		tmp, err := os.MkdirTemp("", "udi-central-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		*dir = tmp
	}
	cfg := loadgen.Config{Gateways: *gateways, Movements: *movements, LiveRate: *liveRate, LiveFor: *liveFor,
		Broker: *broker, Postgres: *store, Stores: *stores, Centre: centreCommand, Dir: *dir, Logger: log}
	if *centreBin != "" {
		cfg.Centre = func(args ...string) *exec.Cmd { return exec.Command(*centreBin, args...) }
	}
	if *liveFor == 0 {
		cfg.LiveFor = -1
	}
	results, err := loadgen.Run(ctx, cfg)
	figs := benchFigures(results, *liveRate)
	bench.Print(env.Stdout, figs, *asJSON)
	if err != nil {
		return err
	}
	for _, f := range figs {
		if f.Goal != "" && !f.Met {
			return fmt.Errorf("%s: goal %s not met", f.Name, f.Goal)
		}
	}
	return nil
}

// benchFigures turns what each run measured into figures, each beside
// its ceiling and goal.
func benchFigures(results []loadgen.Result, liveRate float64) []bench.Figure {
	var figs []bench.Figure
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	for _, r := range results {
		p := map[string]string{loadgen.StorePostgres: "pg", loadgen.StoreBolt: "bolt"}[r.Store]
		raw := "raw batched COPY of the same rows into the same PostgreSQL (pgx CopyFrom into tables like pgstore's, one transaction per 1 MiB batch, 4 connections)"
		if r.Store == loadgen.StoreBolt {
			raw = "the bbolt store alone, in-process (boltstore.Append of the same rows in the same 1 MiB batches, one writer, no MQTT, no gateways)"
		}
		rss, rssGoal := r.PeakRSS, "<= 256 MiB (VmHWM)"
		bounds := fmt.Sprintf("batches held are bounded to %d MiB pending and %d MiB in the MQTT inbox", central.DefaultMaxPending>>20, central.DefaultMaxInbox>>20)
		rssNote := fmt.Sprintf("the centre's peak resident memory (VmHWM); peak anonymous memory (RssAnon, sampled) %.1f MiB; %s",
			mib(r.PeakAnon), bounds)
		if r.Store == loadgen.StoreBolt {
			// bbolt maps its file: VmHWM counts the pages of it read, page
			// cache that the kernel shares and reclaims.
			rss, rssGoal = r.PeakAnon, "<= 256 MiB (RssAnon)"
			rssNote = fmt.Sprintf("the centre's peak anonymous resident memory (RssAnon, sampled every 100 ms): what it allocates; VmHWM %.1f MiB also counts the pages of the bbolt file it maps; %s",
				mib(r.PeakRSS), bounds)
		}
		figs = append(figs,
			bench.Figure{Name: p + "_drain", Value: r.Rate, Unit: "movements/s",
				Ceiling: fmt.Sprintf("%d gateways draining %d movements at once, stored and acknowledged, signed and checked; %s: %.0f movements/s over %d movements, the higher of before the run (%.0f) and after it (%.0f) (%.2fx); %d gateway resends",
					r.Gateways, r.Movements, raw, r.Ceiling, r.CeilingMovements, r.CeilingBefore, r.CeilingAfter, r.Rate/r.Ceiling, r.Resends),
				Goal: fmt.Sprintf(">= %.1fx the raw ceiling", goalVsCeiling), Met: r.Rate >= goalVsCeiling*r.Ceiling},
			bench.Figure{Name: p + "_lag_p50", Value: bench.MS(r.LagP50), Unit: "ms",
				Ceiling: fmt.Sprintf("from a live movement's commit in its gateway's ledger to the centre's ack reaching the gateway; %d movements, %g a second per gateway", r.LiveMovements, liveRate)},
			bench.Figure{Name: p + "_lag_p99", Value: bench.MS(r.LagP99), Unit: "ms",
				Ceiling: fmt.Sprintf("as %s_lag_p50", p)},
			bench.Figure{Name: p + "_centre_rss", Value: mib(rss), Unit: "MiB", Ceiling: rssNote,
				Goal: rssGoal, Met: rss > 0 && rss <= goalRSS},
			bench.Figure{Name: p + "_longest_pause", Value: bench.MS(r.LongestPause), Unit: "ms",
				Ceiling: fmt.Sprintf("the longest time between two stores of the centre while the backlog drained (its own log, to the millisecond); as the gateways saw it, drain and live, the longest time no ack reached any while some waited: %.0f ms",
					bench.MS(r.LongestAckGap)),
				Goal: "<= 1000 ms", Met: r.LongestPause <= goalPause},
			bench.Figure{Name: p + "_held", Value: float64(r.Stored), Unit: "movements",
				Ceiling: fmt.Sprintf("movements the centre stored of the %d committed; every gateway's ledger held whole, nothing refused: %v", r.Committed, r.Complete),
				Goal:    "every movement held once", Met: r.Complete},
		)
	}
	return figs
}
