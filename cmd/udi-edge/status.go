package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
)

func statusCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "status", "[flags]",
		"Print what a running agent is doing: its gateway and last movement, which scanners\n"+
			"and readers have their port open, and its link to the central service (connected,\n"+
			"acknowledged up to, movements waiting to be delivered).")
	var cf configFlags
	cf.register(fs, false)
	asJSON := fs.Bool("json", false, "print the status as one JSON object")
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
	resp, err := askAgent(cfg.SocketPath(), controlRequest{Op: "status"})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(env.Stdout).Encode(resp)
	}
	fmt.Fprintf(env.Stdout, "gateway %s: %d movement(s) in the ledger\n", resp.Gateway, resp.LastSeq)
	if resp.IndexDamaged {
		fmt.Fprintln(env.Stdout, "ITEM INDEX DAMAGED: movements are still recorded; traces over the damage fail; stop the agent and run udi-edge reindex")
	}
	ids := make([]string, 0, len(resp.Scanners))
	for id := range resp.Scanners {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		state := "port open"
		if !resp.Scanners[id] {
			state = "NOT CONNECTED"
		}
		fmt.Fprintf(env.Stdout, "  %-16s %s\n", id, state)
	}
	switch s := resp.Sync; {
	case s == nil:
		fmt.Fprintln(env.Stdout, "sync: not configured (offline gateway)")
	default:
		link := "connected"
		if !s.Connected {
			link = "NOT CONNECTED (everything waits in the ledger)"
		}
		fmt.Fprintf(env.Stdout, "sync: %s; acknowledged by the centre up to %d, %d movement(s) waiting; %d batch(es) sent, %d resend(s), %d connection(s)\n",
			link, s.Acked, s.LastSeq-s.Acked, s.Batches, s.Resends, s.Connects)
	}
	return nil
}
