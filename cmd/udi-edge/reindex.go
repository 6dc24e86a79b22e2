package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"
)

func reindexCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "reindex", "[flags]",
		"Rebuild the ledger's item index from its movements and put it in place of the old one:\n"+
			"the remedy when verify finds the index damaged (traces then fail rather than answer\n"+
			"short; the agent goes on recording). The movements are only read. A ledger of an\n"+
			"earlier format is upgraded. A running agent holds the file: stop it first. Exit code 1\n"+
			"when movements could not be read (they are listed; verify says why).")
	var cf configFlags
	fs.StringVarP(&cf.file, "config", "c", "", "configuration file (JSON), for its store")
	fs.StringVar(&cf.store, "store", "", "ledger file (default "+edge.DefaultStore+")")
	wait := fs.Duration("wait", 2*time.Second, "how long to wait for another process to release the file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("reindex takes no arguments, got %d", fs.NArg())
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	start := time.Now()
	sum, err := bolt.RebuildIndex(ctx, cfg.Store, *wait, slog.New(slog.DiscardHandler))
	if err != nil {
		if errors.Is(err, bolt.ErrLocked) {
			return fmt.Errorf("ledger %s is held by a running agent (or another process); stop it and run reindex again: %w", cfg.Store, err)
		}
		return err
	}
	fmt.Fprintf(env.Stdout, "item index rebuilt: %d movements, %d index entries, in %v\n",
		sum.Movements, sum.Entries, time.Since(start).Round(time.Millisecond))
	if sum.Upgraded {
		fmt.Fprintf(env.Stdout, "ledger upgraded to format %d\n", bolt.FormatVersion)
	}
	if n := len(sum.Unreadable); n > 0 {
		seqs := make([]string, 0, min(n, 20))
		for _, s := range sum.Unreadable[:min(n, 20)] {
			seqs = append(seqs, fmt.Sprint(s))
		}
		more := ""
		if n > 20 {
			more = fmt.Sprintf(" and %d more", n-20)
		}
		fmt.Fprintf(env.Stdout, "not indexed, unreadable: movement(s) %s%s\n", strings.Join(seqs, ", "), more)
		return fmt.Errorf("ledger %s: %d movement(s) could not be read; run udi-edge verify", cfg.Store, n)
	}
	return nil
}
