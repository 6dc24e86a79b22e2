package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/cmd/internal/show"
)

func compactCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "compact", "[flags]",
		"Write a stopped agent's ledger anew, live data only, and put it in place of the old file:\n"+
			"bbolt never gives the pages it frees back to the disk. With retention (ledger.retention,\n"+
			"default 400d) the movements the centre has acknowledged and that are older than the\n"+
			"horizon leave (sooner when the file is past ledger.max_bytes); those of items still in\n"+
			"use are carried, and verify checks the chain from where it now starts. Nothing the\n"+
			"centre has not acknowledged ever leaves. A running agent compacts its own ledger (when\n"+
			"ledger.compact_free of it is free, or retention is due): stop it to run this. A crash\n"+
			"leaves the old file or the new one whole.")
	var cf configFlags
	cf.register(fs, false)
	retain := fs.Bool("retain", true, "cut what ledger.retention (and ledger.max_bytes) let go; --retain=false only compacts")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	wait := fs.Duration("wait", 2*time.Second, "how long to wait for another process to release the file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("compact takes no arguments, got %d", fs.NArg())
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	var opt bolt.CompactOptions
	if *retain {
		r := cfg.LedgerRetention()
		opt.Retain = &r
	}
	sum, err := bolt.CompactFile(ctx, cfg.Store, *wait, opt, nil)
	if errors.Is(err, bolt.ErrLocked) {
		return fmt.Errorf("ledger %s is held by a running agent, which compacts it itself (ledger.compact_free, ledger.retention); stop it to compact now: %w", cfg.Store, err)
	}
	if err != nil {
		return err
	}
	return show.Compaction(env.Stdout, cfg.Store, sum, *asJSON)
}
