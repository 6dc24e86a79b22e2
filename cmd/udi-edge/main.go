// Command udi-edge is the hospital edge agent: it reads barcode scanners and
// RFID readers on serial lines, records every movement of every
// individually coded item in a local, fsynced ledger, and answers
// auditors' questions. This package is its command line only: the
// configuration and wiring are cmd/internal/edge's, every rule is in
// agent/.
//
// Subcommands: run, trace, decode, door, inventory, status, verify,
// reindex, justify, anomalies, reconcile, rejects, export, import, bench,
// key, version, count. Exit codes: 0 ok, 1 failure, 2 bad usage or configuration.
package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
	"github.com/udi-edge/udi-edge/cmd/internal/cli"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"
)

// Exit codes.
const (
	ExitOK      = cli.ExitOK
	ExitFailure = cli.ExitFailure
	ExitUsage   = cli.ExitUsage
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Env is what a subcommand may use of the world.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

var program = cli.Program[*Env]{
	Name:      "udi-edge",
	About:     "the edge agent that records every movement of every coded medical item.",
	ExitCodes: "0 ok, 1 failure, 2 bad usage or configuration.",
	IsUsage:   func(err error) bool { return errors.As(err, new(*edge.ConfigError)) },
}

func init() {
	program.Commands = []cli.Command[*Env]{
		{Name: "run", Summary: "run the agent: read the scanners, record movements", Run: runCmd},
		{Name: "trace", Summary: "print an item's movements, from any form of its code", Run: traceCmd},
		{Name: "decode", Summary: "show how codes as a scanner sends them are understood", Run: decodeCmd},
		{Name: "door", Summary: "tell a running agent that a cabinet's door opened or closed", Run: doorCmd},
		{Name: "inventory", Summary: "list what a running agent sees in a cabinet zone", Run: inventoryCmd},
		{Name: "status", Summary: "show a running agent's ledger, devices, master data and link to the centre", Run: statusCmd},
		{Name: "verify", Summary: "check that no movement in the ledger was changed, removed, inserted or reordered", Run: verifyCmd},
		{Name: "reindex", Summary: "rebuild the ledger's item index from its movements (the agent stopped)", Run: reindexCmd},
		{Name: "compact", Summary: "write the ledger anew, live data only, cutting what retention lets go (the agent stopped)", Run: compactCmd},
		{Name: "justify", Summary: "record the necessity justification for an imported item's pending use", Run: justifyCmd},
		{Name: "loan", Summary: "declare a supplier's loan set brought for an operation (bill only)", Run: loanCmd},
		{Name: "anomalies", Summary: "list items used twice, after expiry, from recalled lots, never received, billed but never scanned", Run: anomaliesCmd},
		{Name: "reconcile", Summary: "reconcile the uses with the settlement records, or with the insurance fee detail (--fees)", Run: reconcileCmd},
		{Name: "cost", Summary: "list a surgical case's consumables with prices, against its DRG/DIP payment standard", Run: costCmd},
		{Name: "implants", Summary: "export the implant record (patient, case, surgeon, item, registration, lot, serial, expiry)", Run: implantsCmd},
		{Name: "procurement", Summary: "report volume-based procurement: agreed against used volumes, non-selected products used", Run: procurementCmd},
		{Name: "stock", Summary: "show the stock on hand per location, product, lot and expiry; what expires within N days", Run: stockCmd},
		{Name: "count", Summary: "cycle counts: a cabinet's RFID snapshot or a barcode session against the ledger; adjust the differences", Run: countCmd},
		{Name: "rejects", Summary: "list the reads that could not be understood, with their bytes", Run: rejectsCmd},
		{Name: "export", Summary: "export the movements as an EPCIS 2.0 document, or as the insurance platform's 3501–3506 records", Run: exportCmd},
		{Name: "import", Summary: "replace one set of master data (catalogue, recalls, lots, settlements, schedules, par, codes) from a file, or join the national udid/nhsa files", Run: importCmd},
		{Name: "bench", Summary: "measure ingest, latency, RFID reads, verify, trace and decisions on this machine's disk", Run: benchCmd},
		{Name: "key", Summary: "print the line that enrols this gateway's signing key at the centre", Run: keyCmd},
		{Name: "version", Summary: "print the version", Run: versionCmd},
	}
}

var usagef = cli.Usagef

// Main runs the command line args and returns the exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return program.Main(ctx, &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr}, args, stdout, stderr)
}

// newFlags returns a flag set whose errors become usage errors.
func newFlags(env *Env, name, args, summary string) *pflag.FlagSet {
	return cli.NewFlags("udi-edge", env.Stdout, name, args, summary)
}

// parse parses args; a bad flag is a usage error, --help is pflag.ErrHelp.
func parse(fs *pflag.FlagSet, args []string) error { return cli.Parse(fs, args) }

// configFlags are the flags that say which agent and which ledger a
// command is about.
type configFlags struct {
	file     string
	store    string
	site     string
	gateway  string
	socket   string
	scanners []string
	brokers  []string
}

func (f *configFlags) register(fs *pflag.FlagSet, withScanners bool) {
	fs.StringVarP(&f.file, "config", "c", "", "configuration file (JSON)")
	fs.StringVar(&f.store, "store", "", "ledger file (default "+edge.DefaultStore+")")
	fs.StringVar(&f.site, "site", "", "site id")
	fs.StringVar(&f.gateway, "gateway", "", "gateway id")
	fs.StringVar(&f.socket, "socket", "", "control socket (default: the ledger path + .sock)")
	if withScanners {
		fs.StringArrayVar(&f.brokers, "broker", nil, "MQTT broker URL of the central service (repeatable; replaces sync.brokers)")
		fs.StringArrayVar(&f.scanners, "scanner", nil,
			"a scanner: id=ID,device=PATH,baud=9600,data_bits=8,parity=none,stop_bits=1,suffix=CR,location=LOC,kind=use\n(repeat for more; merges into the file's scanner with that id)")
	}
}

// load builds the configuration: defaults, then the file, then the flags.
func (f *configFlags) load() (edge.Config, error) {
	return edge.Load(edge.Overrides{File: f.file, Store: f.store, Site: f.site, Gateway: f.gateway,
		Socket: f.socket, Brokers: f.brokers, Scanners: f.scanners})
}
