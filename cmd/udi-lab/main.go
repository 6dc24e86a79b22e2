// Command udi-lab holds what a lab, a demonstration or a benchmark needs
// and a hospital's gateway must not ship: the self-contained demo (with
// simulated scanners and an RFID cabinet on pseudo-terminals, an embedded
// MQTT broker and udi-central in process) and the full benchmark (the
// gateway's figures and the sync drain to a real Mosquitto and
// udi-central). The udi-edge binary links none of it.
//
// Subcommands: demo, bench, release. Exit codes: 0 ok, 1 failure, 2 bad usage.
package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
	"github.com/udi-edge/udi-edge/cmd/internal/bench"
	"github.com/udi-edge/udi-edge/cmd/internal/cli"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Env is what a subcommand may use of the world.
type Env struct {
	Stdout, Stderr io.Writer
}

var program = cli.Program[*Env]{
	Name:      "udi-lab",
	About:     "the demonstration and the full benchmark of udi-edge (not for a hospital's gateway).",
	ExitCodes: "0 ok, 1 failure, 2 bad usage.",
	IsUsage:   func(err error) bool { return errors.As(err, new(*edge.ConfigError)) },
}

func init() {
	program.Commands = []cli.Command[*Env]{
		{Name: "demo", Summary: "run a self-contained demonstration on simulated scanners and an RFID cabinet", Run: demoCmd},
		{Name: "bench", Summary: "the gateway's benchmarks and the sync drain to a real Mosquitto and udi-central", Run: benchCmd},
		{Name: "campaign", Summary: "run fault campaigns (kills, damaged files, unplugs, full disks, clock jumps) against the real programs", Run: campaignCmd},
		{Name: "fuzz", Summary: "run every fuzz target of the module in turn and report executions, new inputs and crashes", Run: fuzzCmd},
		{Name: "release", Summary: "build the release binaries for amd64, arm64 and armv7, their checksums and Debian packages", Run: releaseCmd},
	}
}

var usagef = cli.Usagef

// Main runs the command line args and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return program.Main(ctx, &Env{Stdout: stdout, Stderr: stderr}, args, stdout, stderr)
}

func newFlags(env *Env, name, args, summary string) *pflag.FlagSet {
	return cli.NewFlags("udi-lab", env.Stdout, name, args, summary)
}

func parse(fs *pflag.FlagSet, args []string) error { return cli.Parse(fs, args) }

func benchCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "bench", "[flags]",
		"Run udi-edge bench's measurements of this machine (ingest, latency, RFID reads, verify,\n"+
			"trace and decisions), then drain a backlog of queued movements to a real Mosquitto\n"+
			"(the mosquitto binary must be installed) and udi-central, beside raw paho publishing to\n"+
			"the same broker, and the agent's memory while it drains.")
	dir := fs.String("dir", "", "directory for the benchmark files (default: a temporary directory)")
	bf := bench.RegisterFlags(fs)
	drain := fs.Int("drain", 1_000_000, "queued movements drained to a real Mosquitto and udi-central (0 skips the sync runs)")
	asJSON := fs.Bool("json", false, "print figures as JSON lines")
	if err := parse(fs, args); err != nil {
		return err
	}
	p, err := bf.Params()
	if err != nil {
		return usagef("%v", err)
	}
	if bf.All() && fs.Changed("drain") {
		return usagef("--all runs every workload at its full size: drop --drain")
	}
	if *drain != 0 && *drain < 4000 {
		return usagef("--drain must be 0 or at least 4000")
	}
	if n := *drain; n > 0 {
		p.Extra = append(p.Extra, func(ctx context.Context, dir string) ([]bench.Figure, error) { return benchSync(ctx, dir, n) })
	}
	return bench.Command(ctx, env.Stdout, *dir, p, *asJSON)
}
