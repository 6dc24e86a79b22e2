package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

var errConfig = errors.New("bad configuration")

// testProgram's commands return what their first argument names.
func testProgram() *Program[*[]string] {
	run := func(_ context.Context, seen *[]string, args []string) error {
		*seen = append(*seen, strings.Join(args, " "))
		switch {
		case len(args) == 0:
			return nil
		case args[0] == "usage":
			return Usagef("want %d arguments", 2)
		case args[0] == "config":
			return errConfig
		case args[0] == "help":
			return pflag.ErrHelp
		}
		return errors.New("it failed")
	}
	return &Program[*[]string]{
		Name: "prog", About: "a test program.", ExitCodes: "0 ok, 1 failure, 2 bad usage.",
		Commands: []Command[*[]string]{{"go", "do it", run}, {"longer-name", "do more", run}},
		IsUsage:  func(err error) bool { return errors.Is(err, errConfig) },
	}
}

// TestMainExitCodesAndMessages checks the exit code, the stream and the
// message of every way a command line can end.
func TestMainExitCodesAndMessages(t *testing.T) {
	for _, tc := range []struct {
		args           []string
		code           int
		stdout, stderr string // substrings; "" wants the stream empty
		ran            string // the arguments the command saw, "-" when it did not run
	}{
		{nil, ExitUsage, "", "Usage: prog COMMAND", "-"},
		{[]string{"--help"}, ExitOK, "Commands:", "", "-"},
		{[]string{"help"}, ExitOK, "Exit codes: 0 ok, 1 failure, 2 bad usage.", "", "-"},
		{[]string{"fly"}, ExitUsage, "", `prog: unknown command "fly"`, "-"},
		{[]string{"go"}, ExitOK, "", "", ""},
		{[]string{"go", "usage", "x"}, ExitUsage, "", "prog go: want 2 arguments", "usage x"},
		{[]string{"longer-name", "config"}, ExitUsage, "", "prog longer-name: bad configuration", "config"},
		{[]string{"go", "boom"}, ExitFailure, "", "prog go: it failed", "boom"},
		{[]string{"go", "help"}, ExitOK, "", "", "help"},
	} {
		var out, errOut bytes.Buffer
		var seen []string
		p := testProgram()
		code := p.Main(context.Background(), &seen, tc.args, &out, &errOut)
		check := func(name, got, want string) {
			if want == "" && got != "" || !strings.Contains(got, want) {
				t.Errorf("%q: %s %q, want %q", tc.args, name, got, want)
			}
		}
		if code != tc.code {
			t.Errorf("%q: exit %d, want %d", tc.args, code, tc.code)
		}
		check("stdout", out.String(), tc.stdout)
		check("stderr", errOut.String(), tc.stderr)
		if ran := strings.Join(seen, "|"); tc.ran == "-" && len(seen) != 0 || tc.ran != "-" && ran != tc.ran {
			t.Errorf("%q: the command ran with %q, want %q", tc.args, seen, tc.ran)
		}
	}
}

// TestUsageAlignsSummaries checks that every summary starts in the same
// column, whatever the length of the command names.
func TestUsageAlignsSummaries(t *testing.T) {
	var b bytes.Buffer
	testProgram().Usage(&b)
	cols := map[int]bool{}
	for _, line := range strings.Split(b.String(), "\n") {
		for _, s := range []string{"do it", "do more"} {
			if strings.HasSuffix(line, s) {
				cols[len(line)-len(s)] = true
			}
		}
	}
	if len(cols) != 1 {
		t.Errorf("summaries start in columns %v:\n%s", cols, b.String())
	}
}

// TestParseFlags checks that a bad flag is a UsageError naming it and that
// --help prints the subcommand's usage once, to stdout.
func TestParseFlags(t *testing.T) {
	var out bytes.Buffer
	fs := NewFlags("prog", &out, "go", "[flags] FILE", "Do it to FILE.")
	n := fs.Int("count", 1, "how many")
	if err := Parse(fs, []string{"--count", "3", "f"}); err != nil || *n != 3 || fs.Arg(0) != "f" {
		t.Fatalf("good flags: %v, count %d, args %q", err, *n, fs.Args())
	}
	err := Parse(NewFlags("prog", &out, "go", "", ""), []string{"--nope"})
	var ue UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "nope") {
		t.Errorf("bad flag: %v", err)
	}
	out.Reset()
	fs = NewFlags("prog", &out, "go", "[flags] FILE", "Do it to FILE.")
	fs.Int("count", 1, "how many")
	if err := Parse(fs, []string{"--help"}); !errors.Is(err, pflag.ErrHelp) {
		t.Errorf("--help: %v", err)
	}
	if got := out.String(); strings.Count(got, "Usage: prog go [flags] FILE") != 1 || !strings.Contains(got, "--count") || !strings.Contains(got, "Do it to FILE.") {
		t.Errorf("--help printed %q", got)
	}
}
