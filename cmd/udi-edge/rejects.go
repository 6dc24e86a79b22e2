package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/core"
)

func rejectsCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "rejects", "[flags]",
		"List the reads that could not be understood (damaged labels, a scanner at the wrong\n"+
			"baud rate or parity, codes no pattern claims), oldest first: station, time, reason and\n"+
			"the bytes exactly as received, in hex. Works on a running agent and on a stopped\n"+
			"agent's file.")
	var cf configFlags
	cf.register(fs, false)
	asJSON := fs.Bool("json", false, "one JSON object per rejected read")
	station := fs.String("station", "", "only the reads of this scanner or reader")
	since := fs.String("since", "", "only the reads from this time on (RFC 3339, e.g. 2026-12-06T08:00:00+08:00, or a duration back from now, e.g. 2h)")
	limit := fs.Int("limit", 100, fmt.Sprintf("at most this many, the most recent (up to %d)", core.MaxTraceLimit))
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *limit < 1 || *limit > core.MaxTraceLimit {
		return usagef("--limit %d: want 1 to %d", *limit, core.MaxTraceLimit)
	}
	q := core.RejectQuery{Station: *station, Limit: *limit}
	if *since != "" {
		if d, err := time.ParseDuration(*since); err == nil && d > 0 {
			q.Since = time.Now().Add(-d)
		} else if t, err := time.Parse(time.RFC3339, *since); err == nil {
			q.Since = t
		} else {
			return usagef("--since %q: want an RFC 3339 time or a duration such as 2h", *since)
		}
	}
	g, closeG, err := cf.open(ctx, readOnly)
	if err != nil {
		return err
	}
	defer closeG()
	ms, err := g.Rejects(ctx, q)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		for _, m := range ms {
			if err := enc.Encode(api.FromMovement(m)); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprintf(env.Stdout, "%d rejected read(s)\n", len(ms))
	if len(ms) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tSTATION\tREASON\tBYTES (HEX)")
	for _, m := range ms {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", m.Seq, m.Time.Format("2006-01-02 15:04:05 MST"), m.Station, m.Reason, hex.EncodeToString(m.Raw))
	}
	return tw.Flush()
}
