// Command udi-central is the reference central inventory service of
// udi-edge: it receives every gateway's movements over MQTT, checks their
// hash chains, stores them durably, acknowledges them, publishes master
// data, and answers cross-gateway traces (sync/central).
//
// Subcommands: run, trace, gateways, publish. Exit codes: 0 ok, 1 failure,
// 2 bad usage. It logs with log/slog to stderr and never logs a patient
// identifier.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
	code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Env is what a subcommand may use of the world.
type Env struct {
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
		{"run", "run the service: receive, check, store and acknowledge the gateways' movements", runCmd},
		{"trace", "print an item's movements across every gateway", traceCmd},
		{"gateways", "list the gateways, their ledgers and state", gatewaysCmd},
		{"publish", "publish a master data file to a site's gateways", publishCmd},
	}
}

// usageError is a bad command line: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// Main runs the command line args and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	env := &Env{Stdout: stdout, Stderr: stderr}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := stdout
		if len(args) == 0 {
			w = stderr
		}
		topUsage(w)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(ctx, env, args[1:])
			if err == nil || errors.Is(err, pflag.ErrHelp) {
				return ExitOK
			}
			fmt.Fprintf(stderr, "udi-central %s: %v\n", c.name, err)
			if errors.As(err, new(usageError)) {
				return ExitUsage
			}
			return ExitFailure
		}
	}
	fmt.Fprintf(stderr, "udi-central: unknown command %q\n\n", args[0])
	topUsage(stderr)
	return ExitUsage
}

func topUsage(w io.Writer) {
	fmt.Fprintln(w, "udi-central: the central inventory service of udi-edge gateways.")
	fmt.Fprintln(w, "\nUsage: udi-central COMMAND [flags]   (udi-central COMMAND --help for its flags)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nExit codes: 0 ok, 1 failure, 2 bad usage.")
}

// newFlags returns a flag set whose errors become usage errors.
func newFlags(env *Env, name, args, summary string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(env.Stdout, "Usage: udi-central %s %s\n\n%s\n\nFlags:\n%s", name, args, summary, fs.FlagUsages())
	}
	fs.SortFlags = false
	return fs
}

// parse parses args; a bad flag is a usage error, --help prints the usage
// (pflag calls fs.Usage) and is pflag.ErrHelp.
func parse(fs *pflag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}

// newLogger returns the process's logger: text to w at level.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}
