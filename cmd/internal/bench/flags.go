package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"
	"github.com/udi-edge/udi-edge/agent/bolt"
)

// Flags are the sizes of a run as the bench commands take them.
type Flags struct {
	fs                  *pflag.FlagSet
	scans, naive, trace *int
	rate                *float64
	dur                 *time.Duration
	all                 *bool
}

// RegisterFlags adds the sizes of a run to fs.
func RegisterFlags(fs *pflag.FlagSet) *Flags {
	return &Flags{
		fs:    fs,
		all:   fs.Bool("all", false, "every workload at its full size (the sizes' defaults; refused beside a size flag): the run the README reports"),
		scans: fs.Int("scans", 1_000_000, "scans in each round of the throughput runs (ingest and its raw ceiling); short\nrounds measure the start of a run (fresh file, heap and caches warming) more than sustained ingest"),
		naive: fs.Int("naive-scans", 2000, "scans in the one-transaction-per-scan run"),
		rate:  fs.Float64("rate", 1000, "scans per second in the latency run"),
		dur:   fs.Duration("latency-for", 5*time.Second, "length of the latency run"),
		trace: fs.Int("trace-movements", bolt.GoalTraceMovements, "movements in the ledger of the trace and decision runs (0 skips them)"),
	}
}

// Params returns the parameters the flags set, or an error naming the
// flag that is out of range.
func (f *Flags) Params() (Params, error) {
	if *f.all {
		for _, name := range []string{"scans", "naive-scans", "rate", "latency-for", "trace-movements"} {
			if f.fs.Changed(name) {
				return Params{}, fmt.Errorf("--all runs every workload at its full size: drop --%s", name)
			}
		}
	}
	if *f.scans < 1000 || *f.naive < 10 || *f.rate <= 0 || *f.dur <= 0 || (*f.trace != 0 && *f.trace < 4000) {
		return Params{}, errors.New("--scans must be at least 1000, --naive-scans at least 10, --rate and --latency-for positive, --trace-movements 0 or at least 4000")
	}
	return Params{Scans: *f.scans, NaiveScans: *f.naive, Rate: *f.rate, LatencyFor: *f.dur, TraceMovements: *f.trace}, nil
}

// All says --all was given.
func (f *Flags) All() bool { return *f.all }

// Command is what udi-edge bench and udi-lab bench do: run p in dir (a
// temporary directory when ""), print the figures to w, and fail naming
// the first goal not met.
func Command(ctx context.Context, w io.Writer, dir string, p Params, asJSON bool) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "udi-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	figs, err := Run(ctx, dir, p)
	if err != nil {
		return err
	}
	Print(w, figs, asJSON)
	for _, f := range figs {
		if f.Goal != "" && !f.Met {
			return fmt.Errorf("%s: goal %s not met", f.Name, f.Goal)
		}
	}
	return nil
}
