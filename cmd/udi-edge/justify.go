package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
)

func justifyCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "justify", "[flags] CODE REASON",
		"Record the necessity justification REASON (a reason code or short text) for the last\n"+
			"use of the imported item CODE that is pending one (domestic-first policy), as a\n"+
			"scanned justification barcode would. The use then counts as justified in reconcile.")
	var cf configFlags
	cf.register(fs, false)
	actor := fs.String("actor", "", "who justifies the use (staff id)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 || fs.Arg(1) == "" {
		return usagef("want CODE REASON")
	}
	key, _, err := traceKey(fs.Arg(0), false)
	if err != nil {
		return err
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	req := controlRequest{Op: "justify", Key: key, Reason: fs.Arg(1), Actor: *actor}
	resp, err := askAgent(cfg.SocketPath(), req)
	if errors.Is(err, errNoAgent) {
		if cfg.Gateway == "" {
			return cfgErr("--gateway", "required to open the ledger when no agent runs")
		}
		var l *bolt.Ledger
		if l, err = bolt.Open(bolt.Options{Path: cfg.Store, Gateway: cfg.Gateway}); err != nil {
			return err
		}
		resp, err = justify(ctx, l, req)
		if cerr := l.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "recorded as movement %d: %s\n", resp.LastSeq, resp.Version)
	return nil
}

// justify records a justification for the item's last pending use.
func justify(ctx context.Context, l *bolt.Ledger, req controlRequest) (controlResponse, error) {
	var resp controlResponse
	ms, err := l.Trace(ctx, req.Key)
	if err != nil {
		return resp, err
	}
	var pending *agent.Movement
	for i := range ms {
		m := &ms[i]
		switch {
		case m.Kind == agent.KindUse && m.Decision == agent.DecisionPending:
			pending = m
		case m.Kind == agent.KindContext && len(m.Flags) > 0 && m.Flags[0] == agent.FlagJustification:
			pending = nil
		}
	}
	if pending == nil {
		return resp, fmt.Errorf("no use of %s is pending a justification", req.Key)
	}
	m := agent.Justify(agent.Movement{Time: time.Now(), Station: "api", Location: pending.Location, Actor: req.Actor}, *pending, req.Reason)
	got, err := l.Append(ctx, m)
	if err != nil {
		return resp, err
	}
	resp.LastSeq, resp.Version = got.Seq, got.Reason
	return resp, nil
}
