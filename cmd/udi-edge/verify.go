package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/udi-edge/udi-edge/agent/bolt"
)

func verifyCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "verify", "[flags]",
		"Check that no movement in a ledger file was changed, removed, inserted or reordered\n"+
			"since it was written: recompute the hash chain from the first movement to the last,\n"+
			"then check the file's structure (batches, records, index). Prints \"intact\" with the\n"+
			"number of movements and the last hash, or the first broken movement and why.\n"+
			"The file is opened read-only; a running agent holds it, so stop the agent first.\n"+
			"Exit code 1 when the ledger is not intact.")
	var cf configFlags
	fs.StringVarP(&cf.file, "config", "c", "", "configuration file (JSON), for its store")
	fs.StringVar(&cf.store, "store", "", "ledger file (default "+DefaultStore+")")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	wait := fs.Duration("wait", 2*time.Second, "how long to wait for another process to release the file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("verify takes no arguments, got %d", fs.NArg())
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	l, err := bolt.OpenReadOnly(cfg.Store, *wait)
	if err != nil {
		if errors.Is(err, bolt.ErrLocked) {
			return fmt.Errorf("ledger %s is held by a running agent (or another process); stop it and run verify again: %w", cfg.Store, err)
		}
		return err
	}
	defer l.Close()
	res, err := verifyLedger(ctx, l)
	if err != nil {
		return err
	}
	res.Store = cfg.Store
	if *asJSON {
		if err := json.NewEncoder(env.Stdout).Encode(res); err != nil {
			return err
		}
	} else {
		printVerify(env.Stdout, res)
	}
	if !res.Intact {
		if res.Broken != nil {
			return fmt.Errorf("ledger %s is not intact: movement %d %s", cfg.Store, res.Broken.Seq, res.Broken.Kind)
		}
		return fmt.Errorf("ledger %s is not intact: %d structural problem(s)", cfg.Store, len(res.Problems))
	}
	return nil
}

// verifyResult is what verify found; --json prints it as it is.
type verifyResult struct {
	Store     string `json:"store"`
	Gateway   string `json:"gateway"`
	Intact    bool   `json:"intact"`
	Movements uint64 `json:"movements"`
	LastSeq   uint64 `json:"last_seq"`
	LastHash  string `json:"last_hash,omitempty"`
	Genesis   string `json:"genesis,omitempty"`
	// Broken is the first movement at which the hash chain breaks.
	Broken *brokenMovement `json:"broken,omitempty"`
	// Problems are what the structural check found besides.
	Problems []string `json:"problems,omitempty"`
}

// brokenMovement is a bolt.ChainError as verify prints it.
type brokenMovement struct {
	Seq    uint64 `json:"seq"`
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}

// verifyLedger runs the structural check and the chain check on l, in
// one walk of the file. It returns an error only when the checks could
// not run.
func verifyLedger(ctx context.Context, l *bolt.Ledger) (verifyResult, error) {
	res := verifyResult{Gateway: l.Gateway(), LastSeq: l.LastSeq()}
	sum, verr := l.VerifyAll(ctx)
	if verr != nil && ctx.Err() != nil {
		return res, ctx.Err()
	}
	for _, e := range splitErrors(verr) {
		var ce *bolt.ChainError
		switch {
		case errors.As(e, &ce) && res.Broken == nil:
			res.Broken = &brokenMovement{Seq: ce.Seq, Kind: ce.Kind, Reason: ce.Reason}
		case errors.Is(e, bolt.ErrCorrupt):
			res.Problems = append(res.Problems, e.Error())
		default:
			return res, e
		}
	}
	if res.Broken == nil && sum.LastHash != nil {
		res.Movements = sum.Movements
		res.LastHash = hex.EncodeToString(sum.LastHash)
		res.Genesis = hex.EncodeToString(sum.Genesis)
	}
	res.Intact = res.Broken == nil && len(res.Problems) == 0
	return res, nil
}

// splitErrors returns the errors joined in err, or err alone.
func splitErrors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func printVerify(w io.Writer, r verifyResult) {
	switch {
	case r.Intact:
		fmt.Fprintf(w, "intact: %d movements, last hash %s\n", r.Movements, r.LastHash)
		fmt.Fprintf(w, "ledger %s of gateway %s, movements 1 to %d, genesis %s\n", r.Store, r.Gateway, r.LastSeq, r.Genesis)
		return
	case r.Broken != nil && r.Broken.Seq == 0:
		fmt.Fprintf(w, "NOT INTACT: the ledger's meta bucket %s: %s\n", r.Broken.Kind, r.Broken.Reason)
	case r.Broken != nil:
		fmt.Fprintf(w, "NOT INTACT: movement %d %s: %s\n", r.Broken.Seq, r.Broken.Kind, r.Broken.Reason)
	case r.Movements > 0 || r.LastSeq == 0:
		fmt.Fprintf(w, "hash chain intact: %d movements, last hash %s; but the file is damaged:\n", r.Movements, r.LastHash)
	default:
		fmt.Fprintln(w, "NOT INTACT: the file is damaged:")
	}
	if r.Broken != nil && len(r.Problems) > 0 {
		fmt.Fprintln(w, "the structural check also found:")
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  %s\n", p)
	}
	fmt.Fprintf(w, "ledger %s of gateway %s\n", r.Store, r.Gateway)
}
