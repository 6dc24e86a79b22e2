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
			"header row, or a JSON array; see firmware-notes/master-data.md). A file with any bad\n"+
			"row is refused whole, every bad row listed by line, unless --partial keeps the good\n"+
			"ones. The new set is stored in the ledger file and used offline from then on.\n"+
			"Works on a running agent (through its local API) and on a stopped agent's file (the\n"+
			"gateway id is the one the file records).")
	var cf configFlags
	cf.register(fs, false)
	format := fs.String("format", "", "csv or json (default: from the file's extension)")
	partial := fs.Bool("partial", false, "import the good rows of a file that has bad ones")
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
	in, err := os.Open(file)
	if err != nil {
		return err
	}
	defer in.Close()
	if st, err := in.Stat(); err == nil && !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", file)
	}
	g, _, closeG, err := openGateway(ctx, cfg, readWrite)
	if err != nil {
		return err
	}
	defer closeG()
	res, err := g.Import(ctx, set, in, core.ImportOptions{Format: f, Name: filepath.Base(file), Partial: *partial})
	rows := res.RowErrors
	var bad *core.BadRowsError
	var ae *api.Error
	switch {
	case errors.As(err, &bad):
		rows = bad.Rows
	case errors.As(err, &ae) && len(ae.RowErrors) > 0:
		rows = ae.RowErrors
	}
	for _, e := range rows {
		fmt.Fprintf(env.Stderr, "%s: %s\n", file, e)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s: %d row(s) imported, %d rejected; master data version %s\n", set, res.Rows, len(res.RowErrors), res.Version)
	return nil
}
