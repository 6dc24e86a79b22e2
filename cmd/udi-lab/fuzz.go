package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// fuzzTarget is one fuzz target of the module: its package's import
// path and directory, and its name.
type fuzzTarget struct {
	Pkg, Dir, Name string
}

// fuzzResult is what one run of a target did, read from go test's
// output.
type fuzzResult struct {
	Target  fuzzTarget
	Elapsed time.Duration
	// Execs are the inputs run; New the new interesting inputs found
	// (added to the cache's corpus).
	Execs, New int64
	// Failed is set when the run failed: Input is then the failing
	// input's file (relative to the module) when go test wrote one, and
	// Message what it said of the failure.
	Failed  bool
	Input   string
	Message string
}

// fuzzCampaign runs the module's fuzz targets one after the other.
type fuzzCampaign struct {
	Root    string // the module's directory
	Go      string // the go command
	Time    time.Duration
	Run     *regexp.Regexp // targets run; nil for all
	Workers int            // go test -parallel; 0 for go's default
	Log     io.Writer      // go test's output as it comes; nil for none
}

var fuzzFuncRE = regexp.MustCompile(`(?m)^func (Fuzz\w*)\(\w+ \*testing\.F\)`)

// fuzzCmd is `udi-lab fuzz`.
func fuzzCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "fuzz", "[flags]",
		"Find every fuzz target of the module (go test -list) and run each in turn for the set\n"+
			"time (go test -fuzz), printing per target the inputs run, the new interesting inputs\n"+
			"and any crash. Exits 1 when a target fails, naming the failing input's file\n"+
			"(testdata/fuzz/FuzzName/..., kept as a regression seed once the fault is fixed).")
	each := fs.Duration("time", 10*time.Minute, "how long each target is fuzzed")
	short := fs.Bool("short", false, "the short form: 30s each (overrides --time)")
	run := fs.String("run", "", "only the targets whose name (or package/name) matches this regular expression")
	list := fs.Bool("list", false, "list the targets and stop")
	workers := fs.Int("workers", 0, "fuzzing processes per target (default: one per CPU)")
	source := fs.String("source", "", "the module's directory (default: the module the working directory is in)")
	verbose := fs.Bool("verbose", false, "show go test's output as it runs")
	if err := parse(fs, args); err != nil {
		return err
	}
	c := &fuzzCampaign{Time: *each, Workers: *workers}
	if *short {
		c.Time = 30 * time.Second
	}
	if c.Time <= 0 {
		return usagef("--time %s: want a positive duration", c.Time)
	}
	if *run != "" {
		re, err := regexp.Compile(*run)
		if err != nil {
			return usagef("--run %q: %v", *run, err)
		}
		c.Run = re
	}
	var err error
	if c.Go, err = exec.LookPath("go"); err != nil {
		c.Go = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	if c.Root, err = moduleRoot(*source); err != nil {
		return err
	}
	if *verbose {
		c.Log = env.Stderr
	}
	targets, err := c.Targets(ctx)
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		return fmt.Errorf("no fuzz target matches %q", *run)
	}
	if *list {
		for _, t := range targets {
			fmt.Fprintf(env.Stdout, "%s\t%s\n", strings.TrimPrefix(t.Pkg, modulePrefix(c.Root)), t.Name)
		}
		return nil
	}
	fmt.Fprintf(env.Stdout, "%d targets, %s each (about %s in all)\n", len(targets), c.Time, time.Duration(len(targets))*(c.Time+5*time.Second))
	fmt.Fprintf(env.Stdout, "%-34s %-28s %12s %9s %6s  %s\n", "package", "target", "execs", "execs/s", "new", "result")
	var results []fuzzResult
	for _, t := range targets {
		r, err := c.Fuzz(ctx, t)
		if err != nil {
			return err
		}
		results = append(results, r)
		fmt.Fprintln(env.Stdout, r.line(c.Root))
	}
	return fuzzSummary(env.Stdout, results)
}

// line is r as a row of the table.
func (r fuzzResult) line(root string) string {
	rate := int64(0)
	if s := r.Elapsed.Seconds(); s > 0 {
		rate = int64(float64(r.Execs) / s)
	}
	res := "ok"
	if r.Failed {
		res = "FAIL " + r.Message
		if r.Input != "" {
			res = "CRASH " + r.Input + ": " + r.Message
		}
	}
	return fmt.Sprintf("%-34s %-28s %12d %9d %6d  %s", strings.TrimPrefix(r.Target.Pkg, modulePrefix(root)), r.Target.Name, r.Execs, rate, r.New, res)
}

// fuzzSummary prints the totals and returns an error naming each failed
// target and its input.
func fuzzSummary(w io.Writer, results []fuzzResult) error {
	var execs, fresh int64
	var failed []string
	for _, r := range results {
		execs += r.Execs
		fresh += r.New
		if r.Failed {
			s := r.Target.Name
			if r.Input != "" {
				s += " (" + r.Input + ")"
			}
			failed = append(failed, s)
		}
	}
	fmt.Fprintf(w, "%d targets: %d executions, %d new interesting inputs, %d failed\n", len(results), execs, fresh, len(failed))
	if len(failed) > 0 {
		return fmt.Errorf("%d targets failed: %s", len(failed), strings.Join(failed, ", "))
	}
	return nil
}

// modulePrefix is the module path of root and a slash.
func modulePrefix(root string) string {
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return ""
	}
	if m := regexp.MustCompile(`(?m)^module\s+(\S+)`).FindSubmatch(b); m != nil {
		return string(m[1]) + "/"
	}
	return ""
}

// Targets returns the fuzz targets of the module matching c.Run, by
// package then name: the packages whose test files declare one, asked
// with go test -list which they have.
func (c *fuzzCampaign) Targets(ctx context.Context) ([]fuzzTarget, error) {
	var dirs []string
	err := filepath.WalkDir(c.Root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != c.Root && (n == "testdata" || n == "vendor" || strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_")) {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil && path != c.Root {
				return filepath.SkipDir // another module
			}
			return nil
		}
		if strings.HasSuffix(path, "_test.go") {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if fuzzFuncRE.Match(b) && (len(dirs) == 0 || dirs[len(dirs)-1] != filepath.Dir(path)) {
				dirs = append(dirs, filepath.Dir(path))
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var targets []fuzzTarget
	for _, dir := range dirs {
		rel, _ := filepath.Rel(c.Root, dir)
		pkg := "./" + filepath.ToSlash(rel)
		cmd := exec.CommandContext(ctx, c.Go, "test", "-list", "^Fuzz", pkg)
		cmd.Dir = c.Root
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("fuzz: go test -list %s: %v: %s", pkg, err, strings.TrimSpace(stderr.String()))
		}
		imp := modulePrefix(c.Root) + filepath.ToSlash(rel)
		if rel == "." {
			imp = strings.TrimSuffix(modulePrefix(c.Root), "/")
		}
		for _, line := range strings.Split(string(out), "\n") {
			name := strings.TrimSpace(line)
			if !strings.HasPrefix(name, "Fuzz") {
				continue
			}
			t := fuzzTarget{Pkg: imp, Dir: dir, Name: name}
			if c.Run == nil || c.Run.MatchString(name) || c.Run.MatchString(strings.TrimPrefix(imp, modulePrefix(c.Root))+"/"+name) {
				targets = append(targets, t)
			}
		}
	}
	sort.Slice(targets, func(i, j int) bool {
		if targets[i].Pkg != targets[j].Pkg {
			return targets[i].Pkg < targets[j].Pkg
		}
		return targets[i].Name < targets[j].Name
	})
	return targets, nil
}

// Fuzz runs t for c.Time and reads what it did from go test's output.
// It returns an error only when go test could not be started or ctx
// ended; a failing target is a result.
func (c *fuzzCampaign) Fuzz(ctx context.Context, t fuzzTarget) (fuzzResult, error) {
	args := []string{"test", "-run", "^$", "-fuzz", "^" + t.Name + "$", "-fuzztime", c.Time.String()}
	if c.Workers > 0 {
		args = append(args, "-parallel", strconv.Itoa(c.Workers))
	}
	cmd := exec.CommandContext(ctx, c.Go, append(args, ".")...)
	cmd.Dir = t.Dir
	var out bytes.Buffer
	var w io.Writer = &out
	if c.Log != nil {
		w = io.MultiWriter(&out, c.Log)
	}
	cmd.Stdout, cmd.Stderr = w, w
	start := time.Now()
	err := cmd.Run()
	if ctx.Err() != nil {
		return fuzzResult{}, ctx.Err()
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return fuzzResult{}, fmt.Errorf("fuzz: %s: %w", t.Name, err)
	}
	r := parseFuzzOutput(&out)
	r.Target = t
	if r.Elapsed == 0 {
		r.Elapsed = time.Since(start)
	}
	if err != nil && !r.Failed {
		r.Failed, r.Message = true, lastLine(out.String())
	}
	if r.Input != "" {
		if rel, err := filepath.Rel(c.Root, filepath.Join(t.Dir, r.Input)); err == nil {
			r.Input = rel
		}
	}
	return r, nil
}

var (
	fuzzProgressRE = regexp.MustCompile(`^fuzz: elapsed: (\d+)s, execs: (\d+) \(\d+/sec\), new interesting: (\d+)`)
	fuzzInputRE    = regexp.MustCompile(`Failing input written to (\S+)`)
)

// parseFuzzOutput reads go test -fuzz's output: the last progress line
// gives the time, executions and new inputs; "--- FAIL" a failure, with
// the first line of its message, and the failing input's file when one
// was written (relative to the package).
func parseFuzzOutput(r io.Reader) fuzzResult {
	var res fuzzResult
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	inFail := false
	for sc.Scan() {
		line := sc.Text()
		if m := fuzzProgressRE.FindStringSubmatch(line); m != nil {
			s, _ := strconv.ParseInt(m[1], 10, 64)
			res.Elapsed = time.Duration(s) * time.Second
			res.Execs, _ = strconv.ParseInt(m[2], 10, 64)
			res.New, _ = strconv.ParseInt(m[3], 10, 64)
			continue
		}
		if strings.HasPrefix(line, "--- FAIL") {
			res.Failed, inFail = true, true
			continue
		}
		if m := fuzzInputRE.FindStringSubmatch(line); m != nil {
			res.Input = m[1]
			inFail = false
			continue
		}
		if t := strings.TrimSpace(line); inFail && res.Message == "" && t != "" && !strings.HasPrefix(t, "--- FAIL") {
			res.Message = cutMessage(t)
		}
	}
	return res
}

// cutMessage shortens a failure message to one table cell.
func cutMessage(s string) string {
	if len(s) > 160 {
		return s[:160] + "…"
	}
	return s
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return cutMessage(strings.TrimSpace(lines[len(lines)-1]))
}
