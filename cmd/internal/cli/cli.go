// Package cli is the command-line frame of udi-edge and udi-central:
// subcommands with their own pflag flags, usage errors, and the exit
// codes 0 ok, 1 failure, 2 bad usage.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// UsageError is a bad command line: exit code 2.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the error the usage error wraps.
func (e UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError with a formatted message.
func Usagef(format string, args ...any) error { return UsageError{fmt.Errorf(format, args...)} }

// Command is one subcommand. Run gets the program's environment E and
// the arguments after the subcommand's name.
type Command[E any] struct {
	Name, Summary string
	Run           func(ctx context.Context, env E, args []string) error
}

// Program is a command with subcommands.
type Program[E any] struct {
	// Name is the program's name, which starts its messages.
	Name string
	// About is the first line of the usage.
	About string
	// ExitCodes ends the usage ("0 ok, 1 failure, 2 bad usage.").
	ExitCodes string
	// Commands are the subcommands, in the usage's order.
	Commands []Command[E]
	// IsUsage, when set, reports errors other than a UsageError that are
	// bad usage too (exit code 2), such as a bad configuration.
	IsUsage func(error) bool
}

// Main runs the subcommand args[0] with env and the rest of args, prints
// its error to stderr, and returns the exit code. No arguments print the
// usage to stderr (exit 2); -h, --help or help print it to stdout.
func (p *Program[E]) Main(ctx context.Context, env E, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) == 0 {
			p.Usage(stderr)
			return ExitUsage
		}
		p.Usage(stdout)
		return ExitOK
	}
	for _, c := range p.Commands {
		if c.Name != args[0] {
			continue
		}
		err := c.Run(ctx, env, args[1:])
		if err == nil || errors.Is(err, pflag.ErrHelp) {
			return ExitOK
		}
		fmt.Fprintf(stderr, "%s %s: %v\n", p.Name, c.Name, err)
		if errors.As(err, new(UsageError)) || p.IsUsage != nil && p.IsUsage(err) {
			return ExitUsage
		}
		return ExitFailure
	}
	fmt.Fprintf(stderr, "%s: unknown command %q\n\n", p.Name, args[0])
	p.Usage(stderr)
	return ExitUsage
}

// Usage prints the program's usage: what it is, its subcommands, its exit
// codes.
func (p *Program[E]) Usage(w io.Writer) {
	width := 0
	for _, c := range p.Commands {
		width = max(width, len(c.Name))
	}
	fmt.Fprintf(w, "%s: %s\n", p.Name, p.About)
	fmt.Fprintf(w, "\nUsage: %s COMMAND [flags]   (%s COMMAND --help for its flags)\n", p.Name, p.Name)
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range p.Commands {
		fmt.Fprintf(w, "  %-*s %s\n", width, c.Name, c.Summary)
	}
	fmt.Fprintf(w, "\nExit codes: %s\n", p.ExitCodes)
}

// NewFlags returns the flag set of subcommand name of program prog, whose
// --help prints its usage (args, summary, flags) to stdout.
func NewFlags(prog string, stdout io.Writer, name, args, summary string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(stdout, "Usage: %s %s %s\n\n%s\n\nFlags:\n%s", prog, name, args, summary, fs.FlagUsages())
	}
	fs.SortFlags = false
	return fs
}

// Parse parses args into fs: a bad flag is a UsageError; --help prints
// the usage and returns pflag.ErrHelp, which Main takes for success.
func Parse(fs *pflag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return UsageError{err}
	}
	return nil
}
