package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"
)

func importCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "import", "[flags] catalogue|recalls|lots|settlements|schedules|par|codes|udid|nhsa FILE",
		"Replace one set of master data (the catalogue, recalls, lot statuses, settlement\n"+
			"records, surgical case schedules, par levels or national code releases) with the\n"+
			"rows of FILE (CSV with a header row, or a JSON array; see\n"+
			"firmware-notes/master-data.md), in UTF-8, GBK/GB18030\n"+
			"or UTF-16 (detected, or --encoding). A file with any bad row is refused whole, every\n"+
			"bad row listed by line, unless --partial keeps the good ones; an empty file is refused\n"+
			"unless --allow-empty. The new set is stored in the ledger file and used offline.\n"+
			"Works on a running agent (through its local API) and on a stopped agent's file (the\n"+
			"gateway id is the one the file records).\n\n"+
			"udid and nhsa bring the catalogue up to date from China's national sources: udid the\n"+
			"NMPA UDI database (its download: ZIP, nested ZIPs, XML parts; or the data-sharing\n"+
			"API's JSON pages), nhsa the NHSA consumables catalogue (interface 1306). The file is\n"+
			"read here, streamed; the products of the catalogue are joined with it (the hospital's\n"+
			"name, charge code and price stay; packages, label, withdrawal, implant and national\n"+
			"code are the file's), and with --all every product it describes is added. A bad\n"+
			"record of a product the catalogue holds refuses the file unless --partial.")
	var cf configFlags
	cf.register(fs, false)
	format := fs.String("format", "", "csv or json (default: from the file's extension)")
	partial := fs.Bool("partial", false, "import the good rows of a file that has bad ones")
	allowEmpty := fs.Bool("allow-empty", false, "import a file with no rows (it empties the set)")
	encoding := fs.String("encoding", "", "the file's character encoding: utf-8, gb18030 (gbk), utf-16 (default: detected)")
	all := fs.Bool("all", false, "udid, nhsa: add every product the file describes, not only the catalogue's")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("want: import %s|udid|nhsa FILE", strings.Join(master.SetNames, "|"))
	}
	set, file := fs.Arg(0), fs.Arg(1)
	if set == core.SourceUDID || set == core.SourceNHSA {
		cfg, err := cf.load()
		if err != nil {
			return err
		}
		return importNational(ctx, env, cfg, set, file, core.NationalOptions{All: *all, Partial: *partial})
	}
	if !slices.Contains(master.SetNames, set) {
		return usagef("%q: want one of %s, udid, nhsa", set, strings.Join(master.SetNames, ", "))
	}
	f := *format
	if f == "" {
		f = strings.TrimPrefix(strings.ToLower(filepath.Ext(file)), ".")
	}
	if f != "csv" && f != "json" {
		return usagef("--format: %q: want csv or json", f)
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	// A FIFO or a device would make the open, or the read, wait for ever:
	// only a regular file is read.
	if st, err := os.Stat(file); err != nil {
		return err
	} else if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", file)
	}
	in, err := os.Open(file)
	if err != nil {
		return err
	}
	defer in.Close()
	g, _, closeG, err := openGateway(ctx, cfg, readWrite)
	if err != nil {
		return err
	}
	defer closeG()
	res, err := g.Import(ctx, set, in, core.ImportOptions{Format: f, Name: filepath.Base(file), Partial: *partial,
		AllowEmpty: *allowEmpty, Encoding: *encoding})
	rows := res.RowErrors
	var bad *master.BadRowsError
	var ae *api.Error
	n := 0 // bad rows: those listed, or every one when the error counts them
	switch {
	case errors.As(err, &bad):
		rows = nil
		for i := range bad.Rows {
			rows = append(rows, bad.Rows[i].Error())
		}
		n = bad.Bad
	case errors.As(err, &ae) && len(ae.RowErrors) > 0:
		rows, n = ae.RowErrors, ae.BadRows
	}
	for _, e := range rows {
		fmt.Fprintf(env.Stderr, "%s: %s\n", file, e)
	}
	if err != nil && len(rows) > 0 {
		// The rows are listed above (at most master.MaxRejected problems);
		// the error says what became of them.
		if n == 0 {
			n = len(rows) // an agent that does not count them: its problems
		}
		return fmt.Errorf("%s: %d bad row(s) in %s: nothing imported (fix them, or import the good rows with --partial)", set, n, file)
	}
	if errors.Is(err, master.ErrEmpty) {
		return fmt.Errorf("%w (import it with --allow-empty to empty the %s)", err, set)
	}
	if err != nil {
		return err
	}
	if res.Converted {
		fmt.Fprintf(env.Stdout, "%s: converted from %s\n", file, res.Encoding)
	}
	for _, x := range res.Duplicates {
		fmt.Fprintf(env.Stderr, "%s: warning: %s, the later row kept\n", file, x)
	}
	fmt.Fprintf(env.Stdout, "%s: %d row(s) imported, %d rejected; master data version %s\n", set, res.Rows, len(res.RowErrors), res.Version)
	return nil
}

// importNational joins a national file with the gateway's catalogue.
func importNational(ctx context.Context, env *Env, cfg edge.Config, source, file string, opt core.NationalOptions) error {
	g, _, closeG, err := openGateway(ctx, cfg, readWrite)
	if err != nil {
		return err
	}
	defer closeG()
	start := time.Now()
	res, err := core.ImportNational(ctx, g, source, file, opt)
	j := res.Join
	for _, p := range j.Problems {
		fmt.Fprintf(env.Stderr, "%s: %s\n", file, p)
	}
	var bad *master.BadRowsError
	if errors.As(err, &bad) {
		for i := range bad.Rows {
			fmt.Fprintf(env.Stderr, "%s: catalogue after the join: %s\n", file, bad.Rows[i].Error())
		}
	}
	if err != nil {
		return fmt.Errorf("%s %s: nothing imported: %w", source, file, err)
	}
	took := time.Since(start)
	if source == core.SourceUDID {
		fmt.Fprintf(env.Stdout, "%s: %d device(s) read in %v (%.0f/s), %d kept, %d bad record(s) passed over, %d repair(s) of the XML\n",
			file, j.Devices, took.Round(time.Millisecond), float64(j.Devices)/max(took.Seconds(), 1e-9), j.Kept, j.Bad, res.Repairs)
	} else {
		fmt.Fprintf(env.Stdout, "%s: %d row(s) read, %d matched a product\n", file, j.NHSARows, j.Matched)
	}
	fmt.Fprintf(env.Stdout, "catalogue: %d product(s), %d added, %d updated; master data version %s\n", res.Rows, j.Added, j.Updated, res.Version)
	return nil
}
