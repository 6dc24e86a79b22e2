package main

import (
	"context"
	"fmt"
	"time"

	"github.com/udi-edge/udi-edge/sync/central"
)

// verifier is a store that checks itself whole (boltstore and pgstore).
type verifier interface {
	Verify(ctx context.Context) error
}

func verifyCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "verify", "[--store STORE] [flags]",
		"Check the whole store, as after a crash of its disk or the restore of a backup: every\n"+
			"movement of every branch of every ledger present once, in order, well formed and linked\n"+
			"to the one before, up to its head's hash; the trace index holding exactly the keys of the\n"+
			"movements. It reads everything: it takes as long as a full backup's read. A bbolt file\n"+
			"must not be held by a running service (stop it, or verify a copy). Exit 1 when damaged.")
	store := fs.String("store", DefaultStore, storeHelp)
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait for the store's lock or connection")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	start := time.Now()
	st, err := openStoreReadOnly(ctx, *store, *timeout)
	if err != nil {
		return err
	}
	defer st.Close()
	v, ok := st.(verifier)
	if !ok {
		return fmt.Errorf("verify: the store %s cannot be verified", storeName(*store))
	}
	if err := v.Verify(ctx); err != nil {
		return fmt.Errorf("verify %s: %w", storeName(*store), err)
	}
	heads, err := st.Ledgers(ctx)
	if err != nil {
		return err
	}
	var movements uint64
	for _, h := range heads {
		movements += h.Own()
	}
	fmt.Fprintf(env.Stdout, "store %s intact: %d ledgers, %d branches, %d movements, in %s\n",
		storeName(*store), len(central.LedgerHeads(heads)), len(heads), movements, time.Since(start).Round(time.Millisecond))
	return nil
}
