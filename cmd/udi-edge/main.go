// Command udi-edge is the hospital edge agent: it reads barcode scanners on
// serial lines, records every movement of every individually coded item in
// a local, fsynced ledger, and answers auditors' traces.
//
// Subcommands: run, trace, decode, door, inventory, verify, anomalies,
// reconcile, export, import, bench, demo, version. Exit codes: 0 ok, 1 failure, 2 bad usage or
// configuration.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
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

// command is one subcommand.
type command struct {
	name, summary string
	run           func(ctx context.Context, env *Env, args []string) error
}

var commands []command

func init() {
	commands = []command{
		{"run", "run the agent: read the scanners, record movements", runCmd},
		{"trace", "print an item's movements, from any form of its code", traceCmd},
		{"decode", "show how codes as a scanner sends them are understood", decodeCmd},
		{"door", "tell a running agent that a cabinet's door opened or closed", doorCmd},
		{"inventory", "list what a running agent sees in a cabinet zone", inventoryCmd},
		{"status", "show a running agent's scanners and its link to the central service", statusCmd},
		{"verify", "check that no movement in the ledger was changed, removed, inserted or reordered", verifyCmd},
		{"justify", "record the necessity justification for an imported item's pending use", justifyCmd},
		{"anomalies", "list items used twice, after expiry, from recalled lots, never received, billed but never scanned", anomaliesCmd},
		{"reconcile", "reconcile the uses with the settlement records", reconcileCmd},
		{"export", "export the movements as an EPCIS 2.0 document", exportCmd},
		{"import", "replace one set of master data (catalogue, recalls, lots, settlements, schedules, par) from a file", importCmd},
		{"bench", "measure ingest, latency, RFID reads, verify, trace, decisions and the sync drain on this machine", benchCmd},
		{"demo", "run a self-contained demonstration on a simulated scanner", demoCmd},
		{"version", "print the version", versionCmd},
	}
}

// usageError is a bad command line: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// Main runs the command line args and returns the exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		topUsage(stdout)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return exitCode(env, c.name, c.run(ctx, env, args[1:]))
		}
	}
	fmt.Fprintf(stderr, "udi-edge: unknown command %q\n\n", args[0])
	topUsage(stderr)
	return ExitUsage
}

func exitCode(env *Env, name string, err error) int {
	if err == nil || errors.Is(err, pflag.ErrHelp) {
		return ExitOK
	}
	fmt.Fprintf(env.Stderr, "udi-edge %s: %v\n", name, err)
	var ue usageError
	var ce *ConfigError
	if errors.As(err, &ue) || errors.As(err, &ce) {
		return ExitUsage
	}
	return ExitFailure
}

func topUsage(w io.Writer) {
	fmt.Fprintln(w, "udi-edge: the edge agent that records every movement of every coded medical item.")
	fmt.Fprintln(w, "\nUsage: udi-edge COMMAND [flags]   (udi-edge COMMAND --help for its flags)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nExit codes: 0 ok, 1 failure, 2 bad usage or configuration.")
}

// newFlags returns a flag set whose errors become usage errors.
func newFlags(env *Env, name, args, summary string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stdout, "Usage: udi-edge %s %s\n\n%s\n\nFlags:\n%s", name, args, summary, fs.FlagUsages())
	}
	fs.SortFlags = false
	return fs
}

// parse parses args; a bad flag is a usage error, --help is pflag.ErrHelp.
func parse(fs *pflag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err // pflag has printed the usage
		}
		return usageError{err}
	}
	return nil
}

// configFlags are the flags shared by run and trace.
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
	fs.StringVar(&f.store, "store", "", "ledger file (default "+DefaultStore+")")
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
func (f *configFlags) load() (Config, error) {
	c := DefaultConfig()
	if f.file != "" {
		if err := LoadConfigFile(f.file, &c); err != nil {
			return c, err
		}
	}
	if f.store != "" {
		c.Store = f.store
	}
	if f.site != "" {
		c.Site = f.site
	}
	if f.gateway != "" {
		c.Gateway = f.gateway
	}
	if f.socket != "" {
		c.Socket = f.socket
	}
	if len(f.brokers) > 0 {
		c.Sync.Brokers = f.brokers
	}
	for _, s := range f.scanners {
		if err := c.applyScannerFlag(s); err != nil {
			return c, err
		}
	}
	c.absStore()
	return c, nil
}
