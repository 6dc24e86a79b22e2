package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/udi-edge/udi-edge/agent/audit"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/cmd/internal/fees"
	"github.com/udi-edge/udi-edge/cmd/internal/show"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/wire"
)

func anomaliesCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "anomalies", "--site SITE [flags]",
		"List what an auditor should look at across every gateway of a site, each item's\n"+
			"movements on all of them read as one life: the same unique code used on two gateways\n"+
			"(used twice), an item used at an OR's gateway and received at none, used after its\n"+
			"expiry, taken from a cabinet and never accounted for. (An item received at the\n"+
			"warehouse's gateway and used at an OR's is received: a gateway's own `udi-edge\n"+
			"anomalies` sees only its own movements.) With --master, also against those master\n"+
			"data (recalled lots, billed but never scanned). Asks a running service (--http-url) or\n"+
			"reads the store (--store). Exits 1 when there are findings.")
	var sf sourceFlags
	sf.register(fs)
	site := fs.String("site", "", "the site (required)")
	asJSON := fs.Bool("json", false, "one JSON object per finding")
	link := fs.Duration("link-within", audit.DefaultLinkWithin, "an item taken from a cabinet must be used, returned, wasted or put back within this")
	files := masterFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if err := siteFlag(*site); err != nil {
		return err
	}
	var found []audit.Finding
	if sf.httpURL != "" {
		if len(*files) > 0 {
			return usagef("--master reads the store (--store): the service's API audits without master data")
		}
		var r central.FindingsResponse
		q := url.Values{"site": {*site}, "link_within": {link.String()}}
		if err := sf.getJSON(ctx, "/v1/anomalies?"+q.Encode(), &r); err != nil {
			return err
		}
		found = r.Findings
	} else {
		st, data, err := sf.openWith(*files)
		if err != nil {
			return err
		}
		defer st.Close()
		if found, err = central.SiteAnomalies(ctx, st, *site, data, time.Now(), *link); err != nil {
			return err
		}
	}
	return printFindings(env, found, *asJSON)
}

func reconcileCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "reconcile", "--site SITE --settlements FILE | --fees FILE --master catalogue=FILE [flags]",
		"Reconcile the uses recorded on every gateway of a site with its insurance settlement\n"+
			"records (a file of the settlements set, as published to the gateways): a use no\n"+
			"settlement line bills, a line billing what no gateway saw used, a line billing another\n"+
			"product or insurance code than the catalogue's (with --master catalogue=FILE). Uses\n"+
			"are read across gateways: an item issued at the store's gateway and used at an OR's is\n"+
			"one use. With --fees instead of --settlements, reconcile the fee detail the hospital\n"+
			"uploads to the insurance platform (interface 2301), visit (mdtrt_id) by case, with the\n"+
			"uses of every gateway, against the catalogue (--master catalogue=FILE, required) and\n"+
			"the release tables of --withdrawn and --transcode. Asks a running service (--http-url)\n"+
			"or reads the store (--store). Exits 1 when there are findings.")
	var sf sourceFlags
	sf.register(fs)
	site := fs.String("site", "", "the site (required)")
	settlements := fs.String("settlements", "", "the settlement records: a file of the settlements set (csv or json; required without --fees)")
	asJSON := fs.Bool("json", false, "one JSON object per finding")
	files := masterFlag(fs)
	var ff fees.Flags
	ff.Register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if err := siteFlag(*site); err != nil {
		return err
	}
	if used, err := ff.Used(); err != nil {
		return err
	} else if used {
		if *settlements != "" {
			return usagef("--settlements and --fees are two reconciliations: give one")
		}
		return reconcileFees(ctx, env, &sf, *site, *files, &ff, *asJSON)
	}
	if *settlements == "" {
		return usagef("--settlements is required")
	}
	if _, dup := (*files)[wire.SetSettlements]; dup {
		return usagef("the settlements are given by --settlements, not --master")
	}
	format, err := formatOf(*settlements)
	if err != nil {
		return err
	}
	body, err := os.ReadFile(*settlements)
	if err != nil {
		return err
	}
	var found []audit.Finding
	if sf.httpURL != "" {
		if len(*files) > 0 {
			return usagef("--master reads the store (--store): the service's API reconciles with the settlements only")
		}
		var r central.FindingsResponse
		q := url.Values{"site": {*site}, "format": {format}}
		if err := sf.call(ctx, http.MethodPost, "/v1/reconcile?"+q.Encode(), bytes.NewReader(body), &r); err != nil {
			return err
		}
		found = r.Findings
	} else {
		(*files)[wire.SetSettlements] = *settlements
		st, data, err := sf.openWith(*files)
		if err != nil {
			return err
		}
		defer st.Close()
		if found, err = central.SiteReconcile(ctx, st, *site, data, time.Now()); err != nil {
			return err
		}
	}
	return printFindings(env, found, *asJSON)
}

// siteFlag checks --site.
func siteFlag(site string) error {
	if site == "" {
		return usagef("--site is required")
	}
	if err := wire.ValidID(site); err != nil {
		return usagef("--site: %v", err)
	}
	return nil
}

// printFindings prints the findings; an error says how many there are.
func printFindings(env *Env, found []audit.Finding, asJSON bool) error {
	show.Findings(env.Stdout, found, asJSON)
	if len(found) > 0 {
		return fmt.Errorf("%d finding(s)", len(found))
	}
	if !asJSON {
		fmt.Fprintln(env.Stdout, "no findings")
	}
	return nil
}

// masterFlag registers --master SET=FILE, repeatable.
func masterFlag(fs *pflag.FlagSet) *map[string]string {
	m := map[string]string{}
	fs.Var(&masterFiles{m}, "master", "master data to audit against: SET=FILE, a file of a set as published\n(catalogue, recalls, lots, settlements, schedules, par, codes; csv or json by its extension; repeatable)")
	return &m
}

// masterFiles is the value of --master.
type masterFiles struct{ m map[string]string }

func (f *masterFiles) String() string {
	var out []string
	for k, v := range f.m {
		out = append(out, k+"="+v)
	}
	return strings.Join(out, ",")
}

func (f *masterFiles) Set(s string) error {
	set, file, ok := strings.Cut(s, "=")
	if !ok || file == "" {
		return fmt.Errorf("%q: want SET=FILE", s)
	}
	if err := wire.ValidSet(set); err != nil {
		return err
	}
	if _, dup := f.m[set]; dup {
		return fmt.Errorf("%s given twice", set)
	}
	f.m[set] = file
	return nil
}

func (f *masterFiles) Type() string { return "SET=FILE" }

// formatOf returns the format of a master data file by its extension.
func formatOf(file string) (string, error) {
	switch ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(file), ".")); ext {
	case wire.FormatCSV, wire.FormatJSON:
		return ext, nil
	case "txt", "tsv":
		return wire.FormatCSV, nil
	default:
		return "", usagef("%s: a master data file is .csv or .json", file)
	}
}

// readMasterFiles reads the files of --master, every row required good;
// nil for none.
func readMasterFiles(files map[string]string) (*master.Data, error) {
	if len(files) == 0 {
		return nil, nil
	}
	data, formats := map[string][]byte{}, map[string]string{}
	for set, file := range files {
		f, err := formatOf(file)
		if err != nil {
			return nil, err
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		data[set], formats[set] = b, f
	}
	return central.ReadMaster(data, formats)
}

// openWith reads the master data files (readMasterFiles), then opens the
// store: what a command that audits a site's store with master data does
// first.
func (f *sourceFlags) openWith(files map[string]string) (central.Store, *master.Data, error) {
	data, err := readMasterFiles(files)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.openStore()
	if err != nil {
		return nil, nil, err
	}
	return st, data, nil
}
