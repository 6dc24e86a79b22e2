package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/udi-edge/udi-edge/agent/core"
)

func loanCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "loan", "[flags] --supplier NAME CODE...",
		"Declare a supplier's loan set brought for one operation (\"bill only\"): the items it\n"+
			"holds, never received at this site. A use of one of them is then recorded as a loan:\n"+
			"the supplier's item, its use standing for its receipt and reported to the supplier as\n"+
			"a consumption, not as an item never received. Each CODE names one item or one lot\n"+
			"(a label's code in any form); --file reads them one per line. One bad code refuses\n"+
			"the whole set, naming it. Works on a running agent and on a stopped agent's file.")
	var cf configFlags
	cf.register(fs, false)
	supplier := fs.String("supplier", "", "the supplier who owns the set (required)")
	caseID := fs.String("case", "", "the operation's case")
	location := fs.String("location", "", "where the set is (the operating room)")
	file := fs.String("file", "", "read the codes from this file, one per line ('-': standard input)")
	actor := fs.String("actor", "", "who declares the set (staff id)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(*supplier) == "" {
		return usagef("--supplier is required: who owns the set")
	}
	codes := fs.Args()
	if *file != "" {
		read, err := readCodes(*file, env)
		if err != nil {
			return err
		}
		codes = append(codes, read...)
	}
	if len(codes) == 0 {
		return usagef("no item codes: give them as arguments or with --file")
	}
	g, closeG, err := cf.open(ctx, readWrite)
	if err != nil {
		return err
	}
	defer closeG()
	ms, err := g.DeclareLoan(ctx, core.LoanSet{Supplier: *supplier, Case: *caseID, Location: *location, Codes: codes, Actor: *actor})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "loan set of %s: %d item(s) declared", strings.TrimSpace(*supplier), len(ms))
	if len(ms) > 0 {
		fmt.Fprintf(env.Stdout, " as movements %d to %d", ms[0].Seq, ms[len(ms)-1].Seq)
	}
	fmt.Fprintln(env.Stdout)
	return nil
}

// readCodes reads one code per line from path ("-": standard input),
// skipping blank lines.
func readCodes(path string, env *Env) ([]string, error) {
	f := env.Stdin
	if path != "-" {
		o, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer o.Close()
		f = o
	}
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" {
			out = append(out, t)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}
