package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/nationaldb"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// DefaultNational is the national index's file name beside a bbolt
// store.
const DefaultNational = "national.db"

// nationalFlag registers --national: the national index file.
func nationalFlag(fs *pflag.FlagSet) *string {
	return fs.String("national", "", "the national index (a bbolt file, mode 0600) that import writes and catalogue reads\n"+
		"(default: "+DefaultNational+" in the directory of a file --store; required with a database --store)")
}

// nationalPath returns the national index file: flag, or beside the
// store file.
func nationalPath(flag, store string) (string, error) {
	switch {
	case flag != "":
		return flag, nil
	case isDatabaseURL(store):
		return "", usagef("--national is required with a database --store: give the national index file's path (config key national)")
	}
	return filepath.Join(filepath.Dir(store), DefaultNational), nil
}

// configFlag registers --config for a command that reads some keys of
// run's configuration file.
func configFlag(fs *pflag.FlagSet, keys string) *string {
	return fs.String("config", "", "configuration file (JSON, as run's): its "+keys+" keys; flags given win over it")
}

func importCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "import", "udid FILE... | nhsa FILE... [flags]",
		"Import China's national files into the centre's national index, from which catalogue\n"+
			"publishes each site the catalogue of what it stocks, so that no gateway holds the\n"+
			"national database. udid reads exports of the NMPA UDI database (the bulk download ZIP,\n"+
			"its XML parts, JSON pages of the data-sharing API); nhsa reads the NHSA consumables\n"+
			"catalogue (interface 1306, tab- or comma-separated, UTF-8, GBK/GB18030 or UTF-16).\n"+
			"Files are streamed: memory stays bounded whatever their size. A udid import sorts the\n"+
			"devices in runs on disk beside the index (about 340 bytes a device of temporary space on a\n"+
			"first import, 430 on a later one) and writes the index in key order; a later import writes\n"+
			"only what changed, in transactions of about 8 MiB. A device replaces the device of the same DI unless the index holds\n"+
			"a later version of it; an NHSA row replaces the row of the same national code; importing\n"+
			"a file again changes nothing. A bad record is counted, the first ones named, and passed\n"+
			"over (one bad record of three million does not hold back the rest). A document that cannot\n"+
			"be read to its end fails the command (exit 1), what was read before it kept. The service\n"+
			"may run meanwhile; catalogue cannot read the index while an import runs (it waits --timeout).")
	national := nationalFlag(fs)
	store := fs.String("store", DefaultStore, "the service's store, beside which the index is by default; "+storeHelp)
	config := configFlag(fs, "national and store")
	encoding := fs.String("encoding", "", "an NHSA file's encoding: utf-8, gbk or gb18030, utf-16 (default: detected)")
	batch := fs.Int("batch", nationaldb.DefaultBatch, "records written in one transaction of an nhsa import")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		return usagef("want udid or nhsa and at least one FILE, got %d arguments", fs.NArg())
	}
	source, files := fs.Arg(0), fs.Args()[1:]
	if source != "udid" && source != "nhsa" {
		return usagef("%q: want udid (NMPA UDI database exports) or nhsa (the NHSA 1306 consumables catalogue)", source)
	}
	if *config != "" {
		if err := applyConfigFile(fs, *config); err != nil {
			return err
		}
	}
	if *batch < 1 {
		return usagef("--batch %d: at least 1", *batch)
	}
	path, err := nationalPath(*national, *store)
	if err != nil {
		return err
	}
	db, err := nationaldb.Open(path)
	if errors.Is(err, nationaldb.ErrLocked) {
		return fmt.Errorf("--national: %w: another import or a catalogue holds it", err)
	}
	if err != nil {
		return fmt.Errorf("--national: %w", err)
	}
	defer db.Close()
	opt := nationaldb.Options{Batch: *batch, Encoding: *encoding}
	damaged := 0
	for _, file := range files {
		var st nationaldb.Stats
		if source == "udid" {
			st, err = db.ImportUDID(ctx, file, opt)
		} else {
			st, err = db.ImportNHSA(ctx, file, opt)
		}
		printImport(env, source, &st)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		damaged += st.Damaged
	}
	in, err := db.Info()
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s: %d devices, %d product keys, %d NHSA rows, %.1f MiB\n", path, in.Devices, in.Keys, in.NHSARows, float64(in.Bytes)/(1<<20))
	if damaged > 0 {
		return fmt.Errorf("%d document(s) could not be read to their end (named above): the records after each fault are missing from the index; what was read is imported", damaged)
	}
	return nil
}

// printImport prints what an import did: a line of counts to stdout, the
// problems it names to stderr.
func printImport(env *Env, source string, st *nationaldb.Stats) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d records read, %d kept, %d bad", source, st.File, st.Read, st.Kept, st.Bad)
	for _, c := range []struct {
		n    int64
		what string
	}{{st.Stale, "stale (the index holds a later version)"}, {st.Unkeyed, "without a DI that can be a product key"},
		{st.Conflicts, "DI(s) another device gives too"}, {int64(st.Damaged), "damaged document(s)"}} {
		if c.n > 0 {
			fmt.Fprintf(&b, ", %d %s", c.n, c.what)
		}
	}
	if source == "nhsa" {
		fmt.Fprintf(&b, ", %d matching a device of the index", st.Matched)
	}
	fmt.Fprintf(&b, "; %.1fs, %.0f records/s", st.Elapsed.Seconds(), st.PerSecond())
	fmt.Fprintln(env.Stdout, b.String())
	for _, p := range st.Problems {
		fmt.Fprintln(env.Stderr, p)
	}
	if shown := int64(len(st.Problems)); st.Bad+st.Conflicts+int64(st.Damaged) > shown && shown == nationaldb.MaxProblems {
		fmt.Fprintf(env.Stderr, "%s: the first %d problems are shown\n", st.File, shown)
	}
}

func catalogueCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "catalogue", "--site SITE [--own FILE] [--received] [flags]",
		"Publish to each site the catalogue of what it stocks, from the national index (import):\n"+
			"the products of its own catalogue --own (its procurement list: DIs with names, charge\n"+
			"codes and prices, a catalogue file as publish reads one) and, with --received, every\n"+
			"product its gateways have received. Each comes with its packages and unit of use and\n"+
			"the national fields the index holds (label, withdrawal, implant, national code, ...),\n"+
			"the hospital's own fields (name, charge code, price) kept; a product of --own the index\n"+
			"lacks is published as --own gives it. Nothing else of the index is published. The\n"+
			"catalogue is checked and published as publish catalogue does, with the same flags\n"+
			"(--http-url publishes through a running service, which also answers --received); with\n"+
			"--out it is written to a file instead (one site), to check or to publish later.")
	var pf publishFlags
	pf.register(fs, "catalogue")
	own := fs.String("own", "", "the site's own catalogue: CSV (or tab-separated) or JSON, as publish catalogue reads it")
	format := fs.String("format", "", "--own's format: csv or json (default: from its extension)")
	encoding := fs.String("encoding", "", "--own's encoding: utf-8, gbk or gb18030, utf-16 (default: detected)")
	received := fs.Bool("received", false, "add every product the site's gateways have received (read from the store, or the service with --http-url)")
	national := nationalFlag(fs)
	out := fs.String("out", "", "write the catalogue (JSON) to this file instead of publishing it")
	config := configFlag(fs, "sites, store, national, signing_key, max_packet and broker (not client_id: this command is a client of its own)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	if *config != "" {
		if err := applyConfigFile(fs, *config, "client-id"); err != nil {
			return err
		}
	}
	if err := pf.check(fs); err != nil {
		return err
	}
	if *own == "" && !*received {
		return usagef("give --own, --received or both: a site's catalogue holds what it stocks")
	}
	if *out != "" && len(pf.sites) != 1 {
		return usagef("--out writes one site's catalogue; give one --site")
	}
	path, err := nationalPath(*national, pf.store)
	if err != nil {
		return err
	}
	var entries []master.CatalogueEntry
	if *own != "" {
		if entries, err = readOwn(env, *own, *format, *encoding, pf.partial); err != nil {
			return err
		}
	}
	db, err := nationaldb.OpenReadOnly(path, pf.timeout)
	if err != nil {
		return fmt.Errorf("--national: %w", err)
	}
	defer db.Close()

	var pub *publisher
	if *out == "" {
		if pub, err = pf.open(ctx, env); err != nil {
			return err
		}
		defer pub.Close()
	}
	stocked, closeStore, err := receivedFrom(ctx, &pf, pub, *received)
	if err != nil {
		return err
	}
	defer closeStore()
	for _, site := range pf.sites {
		var keys []string
		if stocked != nil {
			if keys, err = stocked(site); err != nil {
				return fmt.Errorf("site %s: received products: %w", site, err)
			}
		}
		cat, cs, err := db.Catalogue(entries, keys)
		if err != nil {
			return fmt.Errorf("site %s: %w", site, err)
		}
		fmt.Fprintf(env.Stderr, "site %s: %d products: %d of the %d of --own found in the national index, %d received, %d entries added from the index\n",
			site, len(cat), cs.Found, cs.Own, cs.Stocked, cs.Added)
		if cs.Unknown > 0 {
			fmt.Fprintf(env.Stderr, "site %s: %d received product(s) neither in --own nor in the national index, left out: %s\n",
				site, cs.Unknown, strings.Join(cs.UnknownKeys, " "))
		}
		var b bytes.Buffer
		if err := master.WriteCatalogueJSON(&b, cat); err != nil {
			return err
		}
		name := "catalogue of site " + site
		opt := pf.options(wire.FormatJSON, "")
		c, err := checkMaster(env, name, wire.SetCatalogue, b.Bytes(), opt)
		if err != nil {
			return err
		}
		if *out != "" {
			if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "wrote the catalogue of site %s to %s (%d rows, %d bytes)\n", site, *out, c.rep.Kept, b.Len())
			continue
		}
		if err := pub.publish(ctx, env, site, name, wire.SetCatalogue, b.Bytes(), c, opt); err != nil {
			return err
		}
	}
	return nil
}

// readOwn reads a site's own catalogue as every gateway reads one: a
// file with a bad row is refused, each named, unless partial.
func readOwn(env *Env, file, format, encoding string, partial bool) ([]master.CatalogueEntry, error) {
	if format == "" {
		format = strings.TrimPrefix(strings.ToLower(filepath.Ext(file)), ".")
	}
	if format != wire.FormatCSV && format != wire.FormatJSON {
		return nil, usagef("--format %q of --own: want csv or json", format)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	entries, rep, err := master.ParseCatalogue(bytes.NewReader(data), master.ImportOptions{Format: format, Encoding: encoding, Partial: partial})
	if err != nil {
		return nil, refused(env, file, err)
	}
	for _, e := range rep.Rejected {
		fmt.Fprintf(env.Stderr, "%s: %s (left out)\n", file, e.Error())
	}
	return entries, nil
}

// receivedFrom returns the function that lists what a site's gateways
// have received, nil without --received: from the service's API with
// --http-url, else from the store (the publisher's, or opened for
// reading with --out). close releases what it opened.
func receivedFrom(ctx context.Context, pf *publishFlags, pub *publisher, received bool) (list func(site string) ([]string, error), close func(), err error) {
	sf := sourceFlags{store: pf.store, httpURL: pf.httpURL, timeout: pf.timeout, api: pf.api}
	switch {
	case !received:
		return nil, func() {}, nil
	case pf.httpURL != "":
		return func(site string) ([]string, error) {
			var rr central.ReceivedResponse
			err := sf.getJSON(ctx, "/v1/received?site="+url.QueryEscape(site), &rr)
			return rr.Products, err
		}, func() {}, nil
	case pub != nil:
		return func(site string) ([]string, error) { return central.ReceivedProducts(ctx, pub.store, site) }, func() {}, nil
	}
	st, err := sf.openStore()
	if err != nil {
		return nil, nil, fmt.Errorf("--store %s: %w", storeName(pf.store), err)
	}
	return func(site string) ([]string, error) { return central.ReceivedProducts(ctx, st, site) }, func() { st.Close() }, nil
}
