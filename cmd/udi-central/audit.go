package main

import (
	"context"
	"fmt"
	"time"

	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/cmd/internal/show"
	"github.com/udi-edge/udi-edge/sync/central"
)

func anomaliesCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "anomalies", "[flags]",
		"List what an auditor should look at across every gateway of a site, each item's\n"+
			"movements on all of them read as one life: the same unique code used on two gateways\n"+
			"(used twice), an item used at an OR's gateway and received at none, used after its\n"+
			"expiry, taken from a cabinet and never accounted for. (An item received at the\n"+
			"warehouse's gateway and used at an OR's is received: a gateway's own `udi-edge\n"+
			"anomalies` sees only its own movements.) Reads a stopped service's store. Exits 1 when\n"+
			"there are findings.")
	var sf sourceFlags
	sf.register(fs)
	site := fs.String("site", "", "the site (required)")
	asJSON := fs.Bool("json", false, "one JSON object per finding")
	link := fs.Duration("link-within", core.DefaultLinkWithin, "an item taken from a cabinet must be used, returned, wasted or put back within this")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *site == "" {
		return usagef("--site is required")
	}
	if sf.httpURL != "" {
		return usagef("anomalies reads the store (--store) of a stopped service or a copy of it")
	}
	st, err := sf.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	found, err := central.SiteAnomalies(ctx, st, *site, nil, time.Now(), *link)
	if err != nil {
		return err
	}
	show.Findings(env.Stdout, found, *asJSON)
	if len(found) > 0 {
		return fmt.Errorf("%d finding(s)", len(found))
	}
	if !*asJSON {
		fmt.Fprintln(env.Stdout, "no findings")
	}
	return nil
}
