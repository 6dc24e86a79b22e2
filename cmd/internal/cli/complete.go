package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

// Shells are the shells `completion` writes a script for.
var Shells = []string{"bash", "zsh"}

// flagsProbe is the argument that asks a command for its flag set instead
// of running it: Parse answers it with a *flagsProbeError. No command line
// can carry it (an argument cannot hold a NUL byte).
const flagsProbe = "\x00cli-flags"

// flagsProbeError carries a command's flag set back from Parse to
// Program.Flags, through the command's own error return.
type flagsProbeError struct{ fs *pflag.FlagSet }

func (e *flagsProbeError) Error() string { return "flag set of " + e.fs.Name() }

// Flags returns the flag set of the command named name, as its Run
// defines it, without running it: Run is called with an argument that
// Parse answers at once with the flag set. It reports false for an
// unknown command or one whose Run did not parse its flags with Parse
// first.
func (p *Program[E]) Flags(ctx context.Context, env E, name string) (*pflag.FlagSet, bool) {
	c, ok := p.command(name)
	if !ok {
		return nil, false
	}
	var pe *flagsProbeError
	if err := c.Run(ctx, env, []string{flagsProbe}); errors.As(err, &pe) {
		return pe.fs, true
	}
	return nil, false
}

func (p *Program[E]) command(name string) (Command[E], bool) {
	for _, c := range p.Commands {
		if c.Name == name {
			return c, true
		}
	}
	return Command[E]{}, false
}

// completionFlag is one flag as a completion script offers it.
type completionFlag struct {
	long, short, usage string
	value              bool // takes a value
	repeat             bool // may be given more than once
}

// completionCommand is one command as a completion script offers it.
type completionCommand struct {
	name, summary string
	flags         []completionFlag
}

// completionModel collects what a completion script offers: every
// command with its flags, then the built-in help and completion.
func (p *Program[E]) completionModel(ctx context.Context, env E) []completionCommand {
	var out []completionCommand
	for _, c := range p.Commands {
		cc := completionCommand{name: c.Name, summary: c.Summary}
		if fs, ok := p.Flags(ctx, env, c.Name); ok {
			fs.VisitAll(func(f *pflag.Flag) {
				if f.Hidden || f.Deprecated != "" {
					return
				}
				t := f.Value.Type()
				usage, _, _ := strings.Cut(f.Usage, "\n")
				cc.flags = append(cc.flags, completionFlag{long: f.Name, short: f.Shorthand, usage: usage,
					value: f.NoOptDefVal == "", repeat: strings.HasSuffix(t, "Array") || strings.HasSuffix(t, "Slice")})
			})
		}
		cc.flags = append(cc.flags, completionFlag{long: "help", short: "h", usage: "print the command's help"})
		out = append(out, cc)
	}
	return append(out,
		completionCommand{name: "help", summary: helpSummary},
		completionCommand{name: "completion", summary: completionSummary})
}

const (
	helpSummary       = "print a command's help"
	completionSummary = "print the bash or zsh completion script"
)

var nonWord = regexp.MustCompile(`[^A-Za-z0-9_]`)

// funcName is the shell function that completes the program's command
// line: "_udi_edge" for udi-edge.
func (p *Program[E]) funcName() string { return "_" + nonWord.ReplaceAllString(p.Name, "_") }

// WriteCompletion writes the completion script for shell (bash or zsh)
// of the program's command line: the command names, each command's flags,
// the commands after help and the shells after completion; files for
// flag values and arguments.
func (p *Program[E]) WriteCompletion(ctx context.Context, env E, shell string, w io.Writer) error {
	cmds := p.completionModel(ctx, env)
	switch shell {
	case "bash":
		return writeBash(w, p.Name, p.funcName(), cmds)
	case "zsh":
		return writeZsh(w, p.Name, p.funcName(), cmds)
	}
	return Usagef("completion: shell %q: want %s", shell, strings.Join(Shells, " or "))
}

func commandNames(cmds []completionCommand) string {
	names := make([]string, len(cmds))
	for i, c := range cmds {
		names[i] = c.name
	}
	return strings.Join(names, " ")
}

// writeBash writes a bash script that registers fn for prog: the word
// after the program is a command; after it, "-" completes the command's
// flags, and anything else falls back to bash's default (file names).
func writeBash(w io.Writer, prog, fn string, cmds []completionCommand) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# bash completion for %s; load with: source <(%s completion bash)\n", prog, prog)
	fmt.Fprintf(&b, "%s() {\n", fn)
	b.WriteString("    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd= i flags= valued=\n")
	b.WriteString("    for ((i = 1; i < COMP_CWORD; i++)); do\n")
	b.WriteString("        case ${COMP_WORDS[i]} in -*) ;; *) cmd=${COMP_WORDS[i]}; break ;; esac\n")
	b.WriteString("    done\n")
	fmt.Fprintf(&b, "    if [[ -z $cmd ]]; then\n        COMPREPLY=($(compgen -W '%s --help --version' -- \"$cur\"))\n        return\n    fi\n", commandNames(cmds))
	b.WriteString("    case $cmd in\n")
	for _, c := range cmds {
		switch c.name {
		case "help":
			fmt.Fprintf(&b, "    help) COMPREPLY=($(compgen -W '%s' -- \"$cur\")); return ;;\n", commandNames(cmds[:len(cmds)-2]))
			continue
		case "completion":
			fmt.Fprintf(&b, "    completion) COMPREPLY=($(compgen -W '%s' -- \"$cur\")); return ;;\n", strings.Join(Shells, " "))
			continue
		}
		var all, valued []string
		for _, f := range c.flags {
			names := []string{"--" + f.long}
			if f.short != "" {
				names = append(names, "-"+f.short)
			}
			all = append(all, names...)
			if f.value {
				valued = append(valued, names...)
			}
		}
		fmt.Fprintf(&b, "    %s) flags='%s' valued=' %s ' ;;\n", c.name, strings.Join(all, " "), strings.Join(valued, " "))
	}
	b.WriteString("    *) return ;;\n    esac\n")
	// A flag's value and the arguments are left to the default completion.
	b.WriteString("    [[ $valued == *\" $prev \"* ]] && return\n")
	b.WriteString("    if [[ $cur == -* ]]; then\n        COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n    fi\n")
	b.WriteString("}\n")
	fmt.Fprintf(&b, "complete -o default -F %s %s\n", fn, prog)
	_, err := io.WriteString(w, b.String())
	return err
}

// zshQuote quotes s for a single-quoted zsh word.
func zshQuote(s string) string { return strings.ReplaceAll(s, "'", `'\''`) }

// zshDesc escapes s for the description in brackets of an _arguments
// spec, or after the colon of a _describe entry.
func zshDesc(s string) string {
	return strings.NewReplacer(`\`, `\\`, "[", `\[`, "]", `\]`, ":", `\:`).Replace(s)
}

// writeZsh writes a zsh script usable both from fpath (as _PROG, with its
// #compdef line) and sourced (it then registers itself with compdef).
func writeZsh(w io.Writer, prog, fn string, cmds []completionCommand) error {
	var b strings.Builder
	fmt.Fprintf(&b, "#compdef %s\n# zsh completion for %s; load with: source <(%s completion zsh)\n", prog, prog, prog)
	fmt.Fprintf(&b, "%s() {\n", fn)
	b.WriteString("    local -a commands\n    commands=(\n")
	for _, c := range cmds {
		fmt.Fprintf(&b, "        '%s'\n", zshQuote(zshDesc(c.name)+":"+zshDesc(c.summary)))
	}
	b.WriteString("    )\n")
	fmt.Fprintf(&b, "    if (( CURRENT == 2 )); then\n        _describe -t commands '%s command' commands\n        return\n    fi\n", zshQuote(prog))
	b.WriteString("    local cmd=${words[2]}\n    shift words\n    (( CURRENT-- ))\n    case $cmd in\n")
	for _, c := range cmds {
		switch c.name {
		case "help":
			fmt.Fprintf(&b, "    help)\n        commands=(${commands[1,-3]})\n        _describe -t commands '%s command' commands ;;\n", zshQuote(prog))
			continue
		case "completion":
			fmt.Fprintf(&b, "    completion) _values shell %s ;;\n", strings.Join(Shells, " "))
			continue
		}
		fmt.Fprintf(&b, "    %s)\n        _arguments -s \\\n", c.name)
		specs := make([]string, 0, len(c.flags)+1)
		for _, f := range c.flags {
			desc := "[" + zshDesc(f.usage) + "]"
			val := ""
			if f.value {
				val = ":" + zshDesc(f.long) + ":_files"
			}
			excl := ""
			switch {
			case f.repeat:
				excl = "*"
			case f.short != "":
				excl = "(-" + f.short + " --" + f.long + ")"
			default:
				excl = "(--" + f.long + ")"
			}
			specs = append(specs, "'"+zshQuote(excl+"--"+f.long+desc+val)+"'")
			if f.short != "" {
				specs = append(specs, "'"+zshQuote(excl+"-"+f.short+desc+val)+"'")
			}
		}
		sort.Strings(specs)
		specs = append(specs, "'*:file:_files'")
		fmt.Fprintf(&b, "            %s ;;\n", strings.Join(specs, " \\\n            "))
	}
	b.WriteString("    esac\n}\n")
	// Autoloaded from fpath the file runs as the function _PROG: complete
	// now. Sourced: register the function.
	fmt.Fprintf(&b, "if [[ $funcstack[1] == _%s ]]; then\n    %s \"$@\"\nelse\n    compdef %s %s\nfi\n", prog, fn, fn, prog)
	_, err := io.WriteString(w, b.String())
	return err
}
