package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// A fault campaign drives the real programs from outside (processes
// killed with SIGKILL, files damaged, devices unplugged, brokers
// killed, disks filled, clocks jumped) and checks the product's promises
// after each fault. Each has a short form, run by go test in CI, and a
// long form for a lab: `udi-lab campaign NAME --long`.
//
// Each campaign lives in its own file (campaign_NAME.go) and registers
// itself in an init function with registerCampaign.

// campaign is one fault campaign.
type campaign struct {
	// Name is the command line's name; Summary one line for the list;
	// Help what it does and checks, for `udi-lab campaign --help NAME`.
	Name, Summary, Help string
	// Short and Long are the rounds of the short form (CI) and of the
	// long form (--long).
	Short, Long int
	// Run runs the campaign: it reports figures and checks through r and
	// returns an error when it could not run (a failed check is not one).
	Run func(ctx context.Context, r *campaignRun) error
}

var campaigns []campaign

// registerCampaign adds c to the campaigns, kept sorted by name.
func registerCampaign(c campaign) {
	if c.Name == "" || c.Run == nil || c.Short <= 0 || c.Long < c.Short {
		panic("udi-lab: bad campaign " + c.Name)
	}
	campaigns = append(campaigns, c)
	slices.SortFunc(campaigns, func(a, b campaign) int { return strings.Compare(a.Name, b.Name) })
}

// findCampaign returns the campaign named name.
func findCampaign(name string) (campaign, bool) {
	i := slices.IndexFunc(campaigns, func(c campaign) bool { return c.Name == name })
	if i < 0 {
		return campaign{}, false
	}
	return campaigns[i], true
}

// campaignRun is what a campaign gets and reports through.
type campaignRun struct {
	// Name is the campaign's name.
	Name string
	// Rounds is how many faults it injects: its Short or Long, or --rounds.
	Rounds int
	// Long says the long form was asked for.
	Long bool
	// Seed seeds Rand; the report prints it, so a run can be repeated.
	Seed uint64
	Rand *rand.Rand
	// Dir is a scratch directory of the campaign's own, removed after a
	// passing run unless --keep.
	Dir string
	// Log receives progress lines; nil for none.
	Log io.Writer

	bins     *binaries
	mu       sync.Mutex
	figures  []campaignFigure
	failures []string
}

// campaignFigure is one figure a campaign measured, with the goal it is
// held to ("" for none) and whether it met it.
type campaignFigure struct {
	Campaign string  `json:"campaign"`
	Name     string  `json:"name"`
	Value    float64 `json:"value"`
	Unit     string  `json:"unit,omitempty"`
	Goal     string  `json:"goal,omitempty"`
	Met      bool    `json:"met"`
}

// Logf prints a progress line; goroutines of a campaign may call it at
// once.
func (r *campaignRun) Logf(format string, args ...any) {
	if r.Log != nil {
		line := fmt.Sprintf("%s: %s\n", r.Name, fmt.Sprintf(format, args...))
		r.mu.Lock()
		defer r.mu.Unlock()
		_, _ = io.WriteString(r.Log, line)
	}
}

// Figure records a measured figure. goal is "" when none applies; met
// is ignored then.
func (r *campaignRun) Figure(name string, value float64, unit, goal string, met bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if goal == "" {
		met = true
	}
	r.figures = append(r.figures, campaignFigure{Campaign: r.Name, Name: name, Value: value, Unit: unit, Goal: goal, Met: met})
	if !met {
		r.failures = append(r.failures, fmt.Sprintf("%s = %g %s, goal %s", name, value, unit, goal))
	}
}

// Failf records a broken promise: the campaign goes on, and fails.
func (r *campaignRun) Failf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	msg := fmt.Sprintf(format, args...)
	r.failures = append(r.failures, msg)
	if r.Log != nil {
		fmt.Fprintf(r.Log, "%s: FAIL: %s\n", r.Name, msg)
	}
}

// Failures returns the broken promises recorded so far.
func (r *campaignRun) Failures() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.failures)
}

// Figures returns the figures recorded so far.
func (r *campaignRun) Figures() []campaignFigure {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.figures)
}

// Binary returns the path of a program of the module (udi-edge or
// udi-central): from --bin when given, else built once per run with
// the go command into the run's directory.
func (r *campaignRun) Binary(ctx context.Context, name string) (string, error) {
	return r.bins.get(ctx, name)
}

// binaries builds the module's programs once for every campaign of a
// command.
type binaries struct {
	dir  string // --bin: prebuilt; else where they are built
	pre  bool
	mu   sync.Mutex
	done map[string]string
}

func (b *binaries) get(ctx context.Context, name string) (string, error) {
	if name != "udi-edge" && name != "udi-central" {
		return "", fmt.Errorf("campaign: no program %q in the module", name)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if p, ok := b.done[name]; ok {
		return p, nil
	}
	p := filepath.Join(b.dir, name)
	if b.pre {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("campaign: --bin: %w", err)
		}
	} else {
		goCmd, err := exec.LookPath("go")
		if err != nil {
			return "", fmt.Errorf("campaign: building %s needs the go command (or --bin DIR with the programs): %w", name, err)
		}
		cmd := exec.CommandContext(ctx, goCmd, "build", "-o", p, "github.com/udi-edge/udi-edge/cmd/"+name)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("campaign: go build %s (run udi-lab from the module's checkout, or give --bin): %w\n%s", name, err, out)
		}
	}
	if b.done == nil {
		b.done = map[string]string{}
	}
	b.done[name] = p
	return p, nil
}

// campaignOptions are the command line's.
type campaignOptions struct {
	Long   bool
	Rounds int
	Seed   uint64
	Dir    string
	Keep   bool
	Bin    string
	Log    io.Writer
}

// runCampaign runs c and returns its run (figures and failures); err is
// set when it could not run.
func runCampaign(ctx context.Context, c campaign, o campaignOptions, bins *binaries) (*campaignRun, error) {
	rounds := c.Short
	if o.Long {
		rounds = c.Long
	}
	if o.Rounds > 0 {
		rounds = o.Rounds
	}
	seed := o.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	// Short: the agents' control sockets live in it, and a unix
	// socket's path holds at most 107 bytes.
	dir, err := os.MkdirTemp(o.Dir, c.Name+"-")
	if err != nil {
		return nil, err
	}
	r := &campaignRun{Name: c.Name, Rounds: rounds, Long: o.Long, Seed: seed,
		Rand: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), Dir: dir, Log: o.Log, bins: bins}
	r.Logf("%d rounds, seed %d, files in %s", rounds, seed, dir)
	start := time.Now()
	err = c.Run(ctx, r)
	r.Figure("time", time.Since(start).Seconds(), "s", "", true)
	passed := err == nil && len(r.Failures()) == 0
	if (passed || errors.Is(err, errCampaignSkipped)) && !o.Keep {
		_ = os.RemoveAll(dir)
	} else {
		r.Logf("files kept in %s", dir)
	}
	return r, err
}

// campaignCmd is `udi-lab campaign`.
func campaignCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "campaign", "[flags] NAME... | all",
		"Run fault campaigns against the real programs (built from this checkout with the go\n"+
			"command, or taken from --bin) and check the product's promises after each fault. Each\n"+
			"campaign prints its figures beside their goals and fails when a promise is broken.\n"+
			"Without --long, the short form CI runs; --long the lab's.")
	long := fs.Bool("long", false, "the long form: each campaign's full count of faults")
	rounds := fs.Int("rounds", 0, "faults per campaign (default: its short or long form's)")
	seed := fs.Uint64("seed", 0, "seed of the random choices (default: the time; printed, to repeat a run)")
	dir := fs.String("dir", "", "directory for the campaigns' files (default: the system's temporary directory)")
	keep := fs.Bool("keep", false, "keep each campaign's files (failed campaigns keep them always)")
	bin := fs.String("bin", "", "directory holding udi-edge and udi-central (default: build them from this checkout)")
	list := fs.Bool("list", false, "list the campaigns and exit; with names, print what each does and checks")
	asJSON := fs.Bool("json", false, "print figures as JSON lines")
	quiet := fs.BoolP("quiet", "q", false, "no progress lines")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *list && fs.NArg() > 0 {
		for _, n := range fs.Args() {
			c, ok := findCampaign(n)
			if !ok {
				return usagef("campaign: no campaign %q (udi-lab campaign --list)", n)
			}
			fmt.Fprintf(env.Stdout, "%s (short %d, long %d): %s\n\n%s\n\n", c.Name, c.Short, c.Long, c.Summary, strings.TrimSpace(c.Help))
		}
		return nil
	}
	if *list {
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSHORT\tLONG\tWHAT")
		for _, c := range campaigns {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", c.Name, c.Short, c.Long, c.Summary)
		}
		return tw.Flush()
	}
	names := fs.Args()
	if len(names) == 0 {
		return usagef("campaign: name a campaign, or all (udi-lab campaign --list)")
	}
	var run []campaign
	for _, n := range names {
		if n == "all" {
			run = campaigns
			break
		}
		c, ok := findCampaign(n)
		if !ok {
			return usagef("campaign: no campaign %q (udi-lab campaign --list)", n)
		}
		run = append(run, c)
	}
	if *rounds < 0 {
		return usagef("campaign: --rounds %d: must be positive", *rounds)
	}
	bins := &binaries{dir: *bin, pre: *bin != ""}
	if !bins.pre {
		d, err := os.MkdirTemp(*dir, "udi-campaign-bin-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		bins.dir = d
	}
	o := campaignOptions{Long: *long, Rounds: *rounds, Seed: *seed, Dir: *dir, Keep: *keep, Log: env.Stderr}
	if *quiet {
		o.Log = nil
	}
	var failed []string
	for _, c := range run {
		r, err := runCampaign(ctx, c, o, bins)
		if errors.Is(err, errCampaignSkipped) {
			fmt.Fprintf(env.Stdout, "campaign %s: skipped: %v\n", c.Name, err)
			continue
		}
		if err != nil {
			if r != nil {
				r.Logf("could not run: %v", err)
			}
			failed = append(failed, c.Name)
			fmt.Fprintf(env.Stdout, "%s: could not run: %v\n", c.Name, err)
			continue
		}
		if err := printCampaign(env.Stdout, r, *asJSON); err != nil {
			return err
		}
		if len(r.Failures()) > 0 {
			failed = append(failed, c.Name)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("campaign: failed: %s", strings.Join(failed, ", "))
	}
	return nil
}

// printCampaign prints a run's figures and failures.
func printCampaign(w io.Writer, r *campaignRun, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, f := range r.Figures() {
			if err := enc.Encode(f); err != nil {
				return err
			}
		}
		for _, f := range r.Failures() {
			if err := enc.Encode(map[string]string{"campaign": r.Name, "failure": f}); err != nil {
				return err
			}
		}
		return nil
	}
	verdict := "passed"
	if len(r.Failures()) > 0 {
		verdict = "FAILED"
	}
	fmt.Fprintf(w, "campaign %s: %d rounds, seed %d: %s\n", r.Name, r.Rounds, r.Seed, verdict)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, f := range r.Figures() {
		mark := ""
		if f.Goal != "" {
			mark = "goal " + f.Goal
			if !f.Met {
				mark += "  NOT MET"
			}
		}
		fmt.Fprintf(tw, "  %s\t%s %s\t%s\n", f.Name, formatFigure(f.Value), f.Unit, mark)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, f := range r.Failures() {
		fmt.Fprintf(w, "  FAIL %s\n", f)
	}
	return nil
}

// formatFigure prints whole numbers without decimals.
func formatFigure(v float64) string {
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%.3g", v)
}

// errCampaignSkipped says a campaign cannot run on this machine (a tool
// or a permission missing); the test skips it, the command reports it.
var errCampaignSkipped = errors.New("campaign: cannot run here")
