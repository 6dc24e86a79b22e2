package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/audit"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/master"
)

func anomaliesCmd(ctx context.Context, env *Env, args []string) error {
	return auditCmd(env, args, "anomalies",
		"List what an auditor should look at: items used twice, used after expiry or from a\n"+
			"recalled lot, used but never received, billed but never scanned, taken from a cabinet\n"+
			"and not used, returned or wasted within --link-within. Reads a stopped agent's ledger\n"+
			"file (stop the agent or copy the file). Exits 1 when there are findings.",
		(*audit.Auditor).Anomalies)
}

func reconcileCmd(ctx context.Context, env *Env, args []string) error {
	return auditCmd(env, args, "reconcile",
		"Reconcile the uses in the ledger with the imported settlement records: used but not\n"+
			"billed, billed but never scanned, billed under another insurance code than the\n"+
			"catalogue's, quantities that differ from the uses, uses pending a justification.\n"+
			"Reads a stopped agent's ledger file. Exits 1 when there are findings.",
		(*audit.Auditor).Reconcile)
}

func auditCmd(env *Env, args []string, name, summary string, report func(*audit.Auditor) []audit.Finding) error {
	fs := newFlags(env, name, "[flags]", summary)
	var cf configFlags
	cf.register(fs, false)
	asJSON := fs.Bool("json", false, "one JSON object per finding")
	link := fs.Duration("link-within", 4*time.Hour, "an item taken from a cabinet must be used, returned or wasted within this")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	l, err := bolt.OpenReadOnly(cfg.Store, 2*time.Second)
	if err != nil {
		if errors.Is(err, bolt.ErrLocked) {
			return fmt.Errorf("ledger %s is held by a running agent: stop it, or run on a copy of the file: %w", cfg.Store, err)
		}
		return err
	}
	defer l.Close()
	var st master.Store
	if err := loadMaster(l, &st); err != nil {
		return err
	}
	a := &audit.Auditor{Data: st.Load(), Now: time.Now(), LinkWithin: *link}
	if err := l.Range(1, func(m agent.Movement) error { a.Add(m); return nil }); err != nil {
		return err
	}
	fs2 := report(a)
	printFindings(env.Stdout, fs2, *asJSON)
	if len(fs2) > 0 {
		return fmt.Errorf("%d finding(s)", len(fs2))
	}
	if !*asJSON {
		fmt.Fprintln(env.Stdout, "no findings")
	}
	return nil
}

func printFindings(w io.Writer, fs []audit.Finding, asJSON bool) {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, f := range fs {
			_ = enc.Encode(f)
		}
		return
	}
	if len(fs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FINDING\tSEQ\tITEM\tCASE\tSETTLEMENT\tDETAIL")
	for _, f := range fs {
		seq := "-"
		if f.Seq > 0 {
			seq = strconv.FormatUint(f.Seq, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", f.Kind, seq, dash(f.Item), dash(f.Case), dash(f.Settlement), f.Text)
	}
	tw.Flush()
}
