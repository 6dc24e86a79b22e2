// Package cli is the command-line frame of udi-edge and udi-central:
// subcommands with their own pflag flags, usage errors, and the exit
// codes 0 ok, 1 failure, 2 bad usage.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

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
// the arguments after the subcommand's name. Run defines its flags and
// parses them with Parse before it does anything else, returning Parse's
// error as it is: that is how `help COMMAND` and the completion scripts
// learn a command's flags (Program.Flags).
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
// usage to stderr (exit 2); -h, --help or help print it to stdout; help
// COMMAND prints that command's help; --version runs the command named
// version; completion SHELL prints the completion script for bash or zsh.
// An unknown command is bad usage (exit 2).
func (p *Program[E]) Main(ctx context.Context, env E, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		p.Usage(stderr)
		return ExitUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		if len(args) == 1 || args[0] != "help" {
			p.Usage(stdout)
			return ExitOK
		}
		if len(args) > 2 {
			fmt.Fprintf(stderr, "%s help: want one command, got %q\n", p.Name, args[1:])
			return ExitUsage
		}
		if _, ok := p.command(args[1]); !ok {
			fmt.Fprintf(stderr, "%s help: unknown command %q (commands: %s)\n", p.Name, args[1], p.names())
			return ExitUsage
		}
		args = []string{args[1], "--help"}
	case "--version":
		if _, ok := p.command("version"); ok && len(args) == 1 {
			args = []string{"version"}
		}
	case "completion":
		if len(args) != 2 {
			fmt.Fprintf(stderr, "%s completion: want one shell: %s\n", p.Name, strings.Join(Shells, " or "))
			return ExitUsage
		}
		if err := p.WriteCompletion(ctx, env, args[1], stdout); err != nil {
			fmt.Fprintf(stderr, "%s %v\n", p.Name, err)
			return ExitUsage
		}
		return ExitOK
	}
	c, ok := p.command(args[0])
	if !ok {
		fmt.Fprintf(stderr, "%s: unknown command %q\n\n", p.Name, args[0])
		p.Usage(stderr)
		return ExitUsage
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

// names lists the program's command names.
func (p *Program[E]) names() string {
	ns := make([]string, len(p.Commands))
	for i, c := range p.Commands {
		ns[i] = c.Name
	}
	return strings.Join(ns, ", ")
}

// Usage prints the program's usage: what it is, its subcommands, its exit
// codes.
func (p *Program[E]) Usage(w io.Writer) {
	builtin := []Command[E]{{Name: "help COMMAND", Summary: helpSummary}, {Name: "completion SHELL", Summary: completionSummary}}
	width := 0
	for _, c := range append(p.Commands, builtin...) {
		width = max(width, len(c.Name))
	}
	fmt.Fprintf(w, "%s: %s\n", p.Name, p.About)
	fmt.Fprintf(w, "\nUsage: %s COMMAND [flags]   (%s help COMMAND for its flags)\n", p.Name, p.Name)
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range append(p.Commands, builtin...) {
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
	if len(args) == 1 && args[0] == flagsProbe {
		return &flagsProbeError{fs}
	}
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return UsageError{err}
	}
	return nil
}
