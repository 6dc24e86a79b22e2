package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// flagProgram has commands that define flags the way udi-edge's do.
func flagProgram(out *bytes.Buffer) *Program[*[]string] {
	p := &Program[*[]string]{Name: "udi-test", About: "a test program.", ExitCodes: "0 ok."}
	p.Commands = []Command[*[]string]{
		{Name: "trace", Summary: "print an item's movements: all of them", Run: func(_ context.Context, ran *[]string, args []string) error {
			fs := NewFlags("udi-test", out, "trace", "[flags] CODE", "Print an item's movements.")
			fs.StringP("config", "c", "", "configuration file (JSON)")
			fs.Bool("json", false, "print JSON [one line]")
			fs.StringArray("broker", nil, "a broker URL\n(repeatable)")
			fs.String("secret", "", "hidden")
			_ = fs.MarkHidden("secret")
			if err := Parse(fs, args); err != nil {
				return err
			}
			*ran = append(*ran, "trace "+strings.Join(fs.Args(), " "))
			return nil
		}},
		{Name: "version", Summary: "print the version", Run: func(_ context.Context, ran *[]string, args []string) error {
			if err := Parse(NewFlags("udi-test", out, "version", "", "Print the version."), args); err != nil {
				return err
			}
			*ran = append(*ran, "version")
			return nil
		}},
	}
	return p
}

// TestHelpVersionCompletionCommands checks help COMMAND, --version and
// completion SHELL: what they print, where, and their exit codes.
func TestHelpVersionCompletionCommands(t *testing.T) {
	for _, tc := range []struct {
		args           []string
		code           int
		stdout, stderr string
		ran            string
	}{
		{[]string{"help", "trace"}, ExitOK, "Usage: udi-test trace [flags] CODE", "", ""},
		{[]string{"help", "fly"}, ExitUsage, "", `udi-test help: unknown command "fly" (commands: trace, version)`, ""},
		{[]string{"help", "trace", "version"}, ExitUsage, "", "udi-test help: want one command", ""},
		{[]string{"--version"}, ExitOK, "", "", "version"},
		{[]string{"--version", "x"}, ExitUsage, "", `unknown command "--version"`, ""},
		{[]string{"completion"}, ExitUsage, "", "udi-test completion: want one shell: bash or zsh", ""},
		{[]string{"completion", "fish"}, ExitUsage, "", `udi-test completion: shell "fish": want bash or zsh`, ""},
		{[]string{"completion", "bash"}, ExitOK, "complete -o default -F _udi_test udi-test", "", ""},
		{[]string{"completion", "zsh"}, ExitOK, "#compdef udi-test", "", ""},
	} {
		var out, errOut bytes.Buffer
		var ran []string
		code := flagProgram(&out).Main(context.Background(), &ran, tc.args, &out, &errOut)
		if code != tc.code {
			t.Errorf("%q: exit %d, want %d (stderr %q)", tc.args, code, tc.code, errOut.String())
		}
		if !strings.Contains(out.String(), tc.stdout) {
			t.Errorf("%q: stdout %q, want %q", tc.args, out.String(), tc.stdout)
		}
		if got := errOut.String(); tc.stderr == "" && got != "" || !strings.Contains(got, tc.stderr) {
			t.Errorf("%q: stderr %q, want %q", tc.args, got, tc.stderr)
		}
		if got := strings.Join(ran, "|"); got != tc.ran {
			t.Errorf("%q: ran %q, want %q", tc.args, got, tc.ran)
		}
	}
}

// TestFlagsProbe checks that Flags returns a command's flag set without
// running it, and reports false for a command that parses no flags.
func TestFlagsProbe(t *testing.T) {
	var out bytes.Buffer
	var ran []string
	p := flagProgram(&out)
	fs, ok := p.Flags(context.Background(), &ran, "trace")
	if !ok || fs.Lookup("config") == nil || fs.Lookup("config").Shorthand != "c" || fs.Lookup("broker") == nil {
		t.Fatalf("trace's flags: %v %v", ok, fs)
	}
	if _, ok := p.Flags(context.Background(), &ran, "nope"); ok {
		t.Error("an unknown command has flags")
	}
	if len(ran) != 0 || out.Len() != 0 {
		t.Errorf("probing ran a command (%q) or printed %q", ran, out.String())
	}
	// A command that breaks Command's rule runs: the probe cannot know.
	p.Commands = append(p.Commands, Command[*[]string]{Name: "raw", Run: func(_ context.Context, ran *[]string, args []string) error {
		*ran = append(*ran, "raw")
		return nil
	}})
	if _, ok := p.Flags(context.Background(), &ran, "raw"); ok || strings.Join(ran, "|") != "raw" {
		t.Errorf("raw parses no flags: Flags reported %v, ran %q", ok, ran)
	}
}

// completionScript writes prog's script for shell into a file.
func completionScript(t *testing.T, shell string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	var ran []string
	if code := flagProgram(&out).Main(context.Background(), &ran, []string{"completion", shell}, &out, &errOut); code != ExitOK {
		t.Fatalf("completion %s: exit %d: %s", shell, code, errOut.String())
	}
	path := filepath.Join(t.TempDir(), "script."+shell)
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBashCompletion sources the bash script in a real bash and asks it
// to complete command lines as bash would at a TAB.
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	script := completionScript(t, "bash")
	complete := func(words ...string) []string {
		t.Helper()
		// COMP_CWORD is the last word, the one being completed.
		var q []string
		for _, w := range words {
			q = append(q, "'"+w+"'")
		}
		prog := "source " + script + "; complete -p udi-test; COMP_WORDS=(" + strings.Join(q, " ") + "); COMP_CWORD=" +
			strconv.Itoa(len(words)-1) + "; _udi_test; printf '%s\\n' \"${COMPREPLY[@]}\""
		b, err := exec.Command(bash, "--norc", "--noprofile", "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, b)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if lines[0] != "complete -o default -F _udi_test udi-test" {
			t.Fatalf("complete -p: %q", lines[0])
		}
		return lines[1:]
	}
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{"udi-test", ""}, "trace version help completion --help --version"},
		{[]string{"udi-test", "tr"}, "trace"},
		{[]string{"udi-test", "trace", "--"}, "--config --json --broker --help"},
		{[]string{"udi-test", "trace", "-"}, "--config -c --json --broker --help -h"},
		{[]string{"udi-test", "trace", "--config", "-"}, ""}, // a value: left to file names
		{[]string{"udi-test", "trace", "--json", "--b"}, "--broker"},
		{[]string{"udi-test", "help", "v"}, "version"},
		{[]string{"udi-test", "completion", ""}, "bash zsh"},
		{[]string{"udi-test", "version", "--"}, "--help"},
	} {
		got := strings.Join(complete(tc.words...), " ")
		if got != tc.want {
			t.Errorf("%q: completes %q, want %q", tc.words, got, tc.want)
		}
	}
}

// TestZshCompletionSyntax checks the zsh script with zsh -n, and that it
// offers each command's flags with their help, escaped.
func TestZshCompletionSyntax(t *testing.T) {
	script := completionScript(t, "zsh")
	b, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`'trace:print an item'\''s movements\: all of them'`,
		`'(-c --config)-c[configuration file (JSON)]:config:_files'`,
		`'(--json)--json[print JSON \[one line\]]'`,
		`'*--broker[a broker URL]:broker:_files'`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("zsh script lacks %s:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), "secret") {
		t.Error("zsh script offers a hidden flag")
	}
	zsh, err := exec.LookPath("zsh")
	if err != nil {
		t.Skip("no zsh: syntax not checked")
	}
	if out, err := exec.Command(zsh, "-n", script).CombinedOutput(); err != nil {
		t.Errorf("zsh -n: %v\n%s", err, out)
	}
}
