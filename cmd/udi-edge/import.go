package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/master"
)

// masterSets names the master data sets a file can replace.
var masterSets = master.SetNames

// setSize returns the number of entries of one set of d.
func setSize(d *master.Data, set string) int {
	c := d.Counts()
	return map[string]int{"catalogue": c.Catalogue, "recalls": c.Recalls, "lots": c.LotStatuses,
		"settlements": c.Settlements, "schedules": c.Schedules, "par": c.ParLevels}[set]
}

func importCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "import", "[flags] catalogue|recalls|lots|settlements|schedules|par FILE",
		"Replace one set of master data (the catalogue, recalls, lot statuses, settlement\n"+
			"records, surgical case schedules or par levels) with the rows of FILE (CSV with a\n"+
			"header row, or a JSON array; see\n"+
			"firmware-notes/master-data.md). Bad rows are reported by line and left out; good rows\n"+
			"are kept. The new set is stored in the ledger file and used offline from then on.\n"+
			"Works on a running agent (through its control socket) and on a stopped agent's file.")
	var cf configFlags
	cf.register(fs, false)
	format := fs.String("format", "", "csv or json (default: from the file's extension)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("want: import %s FILE", strings.Join(masterSets, "|"))
	}
	set, file := fs.Arg(0), fs.Arg(1)
	if !knownSet(set) {
		return usagef("%q: want one of %s", set, strings.Join(masterSets, ", "))
	}
	f := *format
	if f == "" {
		f = strings.TrimPrefix(strings.ToLower(filepath.Ext(file)), ".")
	}
	if f != "csv" && f != "json" {
		return usagef("--format: %q: want csv or json", f)
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	req := controlRequest{Op: "import", Set: set, Path: abs, Format: f}
	resp, err := askAgent(cfg.SocketPath(), req)
	if errors.Is(err, errNoAgent) {
		if cfg.Gateway == "" {
			return cfgErr("--gateway", "required to open the ledger when no agent runs")
		}
		var l *bolt.Ledger
		l, err = bolt.Open(bolt.Options{Path: cfg.Store, Gateway: cfg.Gateway})
		if err != nil {
			return err
		}
		var st master.Store
		if err = loadMaster(l, &st); err == nil {
			resp, err = importSet(l, &st, req)
		}
		if cerr := l.Close(); err == nil {
			err = cerr
		}
	}
	for _, e := range resp.RowErrors {
		fmt.Fprintf(env.Stderr, "%s: %s\n", file, e)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s: %d row(s) imported, %d rejected; master data version %s\n", set, resp.Rows, len(resp.RowErrors), resp.Version)
	return nil
}

func knownSet(s string) bool {
	for _, k := range masterSets {
		if k == s {
			return true
		}
	}
	return false
}

var importMu sync.Mutex

// loadMaster loads the master data stored in the ledger into st.
func loadMaster(l *bolt.Ledger, st *master.Store) error {
	b, err := l.Master()
	if errors.Is(err, bolt.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	d := new(master.Data)
	if err := d.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("stored master data: %w", err)
	}
	st.Replace(d)
	return nil
}

// importSet parses req.Path and replaces one set of st's master data with
// its good rows, storing the whole new set in the ledger first: a failed
// import leaves both as they were.
func importSet(l *bolt.Ledger, st *master.Store, req controlRequest) (controlResponse, error) {
	importMu.Lock() // one import at a time: each builds on the set before it
	defer importMu.Unlock()
	var resp controlResponse
	f, err := os.Open(req.Path)
	if err != nil {
		return resp, err
	}
	defer f.Close()
	version := time.Now().UTC().Format("20060102T150405Z") + "-" + req.Set + "-" + filepath.Base(req.Path)
	d, rowErrs, err := st.Load().WithSet(version, req.Set, req.Format, f, 0)
	for i := range rowErrs {
		resp.RowErrors = append(resp.RowErrors, rowErrs[i].Error())
	}
	if err != nil {
		return resp, err
	}
	resp.Rows = setSize(d, req.Set)
	b, err := d.MarshalBinary()
	if err != nil {
		return resp, err
	}
	if err := l.PutMaster(b); err != nil {
		return resp, err
	}
	st.Replace(d)
	resp.Version = version
	return resp, nil
}
