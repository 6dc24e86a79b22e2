// Command udi-central is the reference central inventory service of
// udi-edge: it receives every gateway's movements over MQTT, checks their
// hash chains, stores them durably, acknowledges them, publishes master
// data, and answers cross-gateway traces (sync/central).
//
// Subcommands: run, trace, gateways, anomalies, reconcile, cost, implants, supply,
// publish, import, catalogue, key, version, bench. Exit codes: 0 ok, 1
// failure, 2 bad usage. It logs with log/slog to stderr and never logs a patient
// identifier.
package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
	"github.com/udi-edge/udi-edge/cmd/internal/cli"
)

// Exit codes.
const (
	ExitOK      = cli.ExitOK
	ExitFailure = cli.ExitFailure
	ExitUsage   = cli.ExitUsage
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
	Name:      "udi-central",
	About:     "the central inventory service of udi-edge gateways.",
	ExitCodes: "0 ok, 1 failure, 2 bad usage or configuration.",
	IsUsage:   func(err error) bool { return errors.As(err, new(*cli.ConfigError)) },
}

func init() {
	program.Commands = []cli.Command[*Env]{
		{Name: "run", Summary: "run the service: receive, check, store and acknowledge the gateways' movements", Run: runCmd},
		{Name: "trace", Summary: "print an item's movements across every gateway", Run: traceCmd},
		{Name: "gateways", Summary: "list the gateways, their ledgers and state", Run: gatewaysCmd},
		{Name: "verify", Summary: "check that every movement the store holds is present, in order and linked, and its index exact", Run: verifyCmd},
		{Name: "anomalies", Summary: "list what an auditor should look at across every gateway of a site", Run: anomaliesCmd},
		{Name: "reconcile", Summary: "reconcile every gateway's uses of a site with its settlement records", Run: reconcileCmd},
		{Name: "stock", Summary: "show the stock on hand and open replenishment requests of a site's gateways, folded from the movements held", Run: stockCmd},
		{Name: "cost", Summary: "list a case's consumables across a site's gateways, priced, against its DRG/DIP payment standard", Run: costCmd},
		{Name: "supply", Summary: "export each supplier's consumption (consigned and loan-set uses) and the replenishment requests", Run: supplyCmd},
		{Name: "implants", Summary: "export a site's implant record (patient, case, surgeon, item, registration, lot, serial, expiry)", Run: implantsCmd},
		{Name: "publish", Summary: "publish a master data file to a site's gateways", Run: publishCmd},
		{Name: "import", Summary: "import the national files (NMPA UDI database, NHSA catalogue) into the centre's national index", Run: importCmd},
		{Name: "catalogue", Summary: "publish to a site the catalogue of what it stocks, from the national index", Run: catalogueCmd},
		{Name: "key", Summary: "print the centre's public key, which gateways pin", Run: keyCmd},
		{Name: "version", Summary: "print the version", Run: versionCmd},
		{Name: "bench", Summary: "measure the centre under a fleet of simulated gateways, beside the raw ceiling of its store", Run: benchCmd},
	}
}

var usagef = cli.Usagef

// Main runs the command line args and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return program.Main(ctx, &Env{Stdout: stdout, Stderr: stderr}, args, stdout, stderr)
}

// newFlags returns a flag set whose errors become usage errors.
func newFlags(env *Env, name, args, summary string) *pflag.FlagSet {
	return cli.NewFlags("udi-central", env.Stdout, name, args, summary)
}

// parse parses args; a bad flag is a usage error, --help prints the usage
// (pflag calls fs.Usage) and is pflag.ErrHelp.
func parse(fs *pflag.FlagSet, args []string) error { return cli.Parse(fs, args) }

// newLogger returns the process's logger: text to w at level, repeated
// warnings rate-limited (cli.NewLogger, as udi-edge's).
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	log, err := cli.NewLogger(w, level, "text")
	if err != nil {
		return nil, usagef("--log-level: %v", err)
	}
	return log, nil
}
