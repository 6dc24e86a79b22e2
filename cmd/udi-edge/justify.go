package main

import (
	"context"
	"fmt"
)

func justifyCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "justify", "[flags] CODE REASON",
		"Record the necessity justification REASON (a reason code or short text) for the last\n"+
			"use of the imported item CODE that is pending one (domestic-first policy), as a\n"+
			"scanned justification barcode would. The use then counts as justified in reconcile.\n"+
			"Works on a running agent and on a stopped agent's file.")
	var cf configFlags
	cf.register(fs, false)
	actor := fs.String("actor", "", "who justifies the use (staff id)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 || fs.Arg(1) == "" {
		return usagef("want CODE REASON")
	}
	g, closeG, err := cf.open(ctx, readWrite)
	if err != nil {
		return err
	}
	defer closeG()
	m, err := g.Justify(ctx, fs.Arg(0), fs.Arg(1), *actor)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "recorded as movement %d: %s\n", m.Seq, m.Reason)
	return nil
}
