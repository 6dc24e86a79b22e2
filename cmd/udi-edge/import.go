package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/master"
)

func importCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "import", "[flags] catalogue|recalls|lots|settlements|schedules|par FILE",
		"Replace one set of master data (the catalogue, recalls, lot statuses, settlement\n"+
			"records, surgical case schedules or par levels) with the rows of FILE (CSV with a\n"+
			"header row, or a JSON array; see firmware-notes/master-data.md), in UTF-8, GBK/GB18030\n"+
			"or UTF-16 (detected, or --encoding). A file with any bad row is refused whole, every\n"+
			"bad row listed by line, unless --partial keeps the good ones; an empty file is refused\n"+
			"unless --allow-empty. The new set is stored in the ledger file and used offline.\n"+
			"Works on a running agent (through its local API) and on a stopped agent's file (the\n"+
			"gateway id is the one the file records).")
	var cf configFlags
	cf.register(fs, false)
	format := fs.String("format", "", "csv or json (default: from the file's extension)")
	partial := fs.Bool("partial", false, "import the good rows of a file that has bad ones")
	allowEmpty := fs.Bool("allow-empty", false, "import a file with no rows (it empties the set)")
	encoding := fs.String("encoding", "", "the file's character encoding: utf-8, gb18030 (gbk), utf-16 (default: detected)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("want: import %s FILE", strings.Join(master.SetNames, "|"))
	}
	set, file := fs.Arg(0), fs.Arg(1)
	if !slices.Contains(master.SetNames, set) {
		return usagef("%q: want one of %s", set, strings.Join(master.SetNames, ", "))
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
	switch {
	case errors.As(err, &bad):
		rows = nil
		for i := range bad.Rows {
			rows = append(rows, bad.Rows[i].Error())
		}
	case errors.As(err, &ae) && len(ae.RowErrors) > 0:
		rows = ae.RowErrors
	}
	for _, e := range rows {
		fmt.Fprintf(env.Stderr, "%s: %s\n", file, e)
	}
	if err != nil && len(rows) > 0 {
		// The rows are listed above; the error says what became of them.
		return fmt.Errorf("%s: %d bad row(s) in %s: nothing imported (fix them, or import the good rows with --partial)", set, len(rows), file)
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
	fmt.Fprintf(env.Stdout, "%s: %d row(s) imported, %d rejected; master data version %s\n", set, res.Rows, len(res.RowErrors), res.Version)
	return nil
}
