package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"
	"github.com/udi-edge/udi-edge/cmd/internal/show"
)

const countUsage = "Cycle counts: what was found at a location against what the ledger places there.\n\n" +
	"  count --location L | --zone Z   the RFID snapshot of the cabinets at L (or at zone Z's location),\n" +
	"                                  recorded as a count session, and its report (a running agent)\n" +
	"  count start --station S [--station S2] [--location L]\n" +
	"                                  start counting at L by barcode: until `count end`, each item\n" +
	"                                  scanned at the stations is recorded as a count of the session\n" +
	"  count end SESSION               end the session; report its differences\n" +
	"  count show SESSION              report what the session found (so far)\n" +
	"  count list                      list the sessions\n" +
	"  count adjust SESSION [--item KEY]... [--apply]\n" +
	"                                  the movements that adjust the ledger to what the session found,\n" +
	"                                  written with --apply: a missing item is written off as lost\n" +
	"                                  (dispose), an item found issued is back on hand (adjust), a lot\n" +
	"                                  short or over is written off or taken on hand unit by unit; an\n" +
	"                                  item the ledger has used only when named with --item\n\n" +
	"A difference is an item missing (on hand here, not found: an alert), an item found that the\n" +
	"ledger has used, issued or on hand elsewhere (alerts), a key never received nor commissioned\n" +
	"(to commission), an item an RFID cabinet cannot see (never read by RFID), or a lot counted\n" +
	"other than the ledger's count. A barcode session is judged against the stock when it started:\n" +
	"what came or went while it ran is no difference. Sessions and adjustments are movements in\n" +
	"the ledger. Works on a running agent and, but for the RFID snapshot, on a stopped agent's file."

// countFlags are the flags of the count commands: one set for all, each
// flag allowed only with the commands it belongs to.
type countFlags struct {
	cf       configFlags
	location string
	zone     string
	actor    string
	stations []string
	items    []string
	apply    bool
	asJSON   bool
}

func countCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "count", "[flags] [start | end SESSION | show SESSION | list | adjust SESSION]", countUsage)
	var f countFlags
	f.cf.register(fs, false)
	fs.StringVar(&f.location, "location", "", "the location counted (RFID: whose cabinets; start: default the stations' location)")
	fs.StringVar(&f.zone, "zone", "", "a cabinet zone: count the cabinets at its location (RFID)")
	fs.StringArrayVar(&f.stations, "station", nil, "start: a scanner whose scans count (repeat for more)")
	fs.StringArrayVar(&f.items, "item", nil, "adjust: only the difference of this item (or lot) key (repeat for more)")
	fs.BoolVar(&f.apply, "apply", false, "adjust: write the movements (without it they are only shown)")
	fs.StringVar(&f.actor, "actor", "", "the staff member (badge) who counts, ends or confirms")
	fs.BoolVar(&f.asJSON, "json", false, "the answer as one JSON object")
	if err := parse(fs, args); err != nil {
		return err
	}
	cmd := fs.Arg(0)
	allowed := map[string][]string{
		"":       {"location", "zone", "actor", "json"},
		"start":  {"location", "station", "actor", "json"},
		"end":    {"actor", "json"},
		"show":   {"json"},
		"list":   {"json"},
		"adjust": {"item", "apply", "actor", "json"},
	}
	ok, known := allowed[cmd]
	if !known {
		return usagef("unknown count command %q: want start, end, show, list or adjust (or --location/--zone)", cmd)
	}
	for _, name := range []string{"location", "zone", "station", "item", "apply", "actor", "json"} {
		if fs.Changed(name) && !slices.Contains(ok, name) {
			return usagef("--%s does not go with count %s", name, cmd)
		}
	}
	want := 0
	if cmd == "end" || cmd == "show" || cmd == "adjust" {
		want = 1
	}
	if cmd != "" && fs.NArg()-1 != want || cmd == "" && fs.NArg() > 0 {
		if want == 1 {
			return usagef("want count %s SESSION, the number of a cycle count session (count list)", cmd)
		}
		return usagef("unexpected argument %q", fs.Arg(fs.NArg()-1))
	}
	var id uint64
	if want == 1 {
		var err error
		if id, err = strconv.ParseUint(fs.Arg(1), 10, 64); err != nil || id == 0 {
			return usagef("session %q: want the number of a cycle count session (count list)", fs.Arg(1))
		}
	}
	switch cmd {
	case "start":
		return f.start(ctx, env)
	case "end":
		return f.end(ctx, env, id)
	case "show":
		return f.show(ctx, env, id)
	case "list":
		return f.list(ctx, env)
	case "adjust":
		return f.adjust(ctx, env, id)
	}
	if f.location == "" && f.zone == "" {
		return usagef("name the location (--location) or the cabinet zone (--zone) to count, or start a barcode count (count start)")
	}
	g, closeG, err := f.cf.open(ctx, readOnly)
	if err != nil {
		return err
	}
	defer closeG()
	r, err := g.CountCabinet(ctx, core.CountRequest{Location: f.location, Zone: f.zone, Actor: f.actor})
	if err != nil {
		return err
	}
	return show.CountReport(env.Stdout, r, f.asJSON)
}

// start starts a barcode count at the stations; on a stopped agent's
// file their location is the configuration's.
func (f *countFlags) start(ctx context.Context, env *Env) error {
	if len(f.stations) == 0 {
		return usagef("name the station(s) whose scans count: --station ID")
	}
	cfg, err := f.cf.load()
	if err != nil {
		return err
	}
	g, remote, closeG, err := openGateway(ctx, cfg, readWrite)
	if err != nil {
		return err
	}
	defer closeG()
	req := core.CountRequest{Location: f.location, Stations: f.stations, Actor: f.actor}
	if !remote {
		// The core over a file knows no station: the configuration does.
		for _, id := range req.Stations {
			i := slices.IndexFunc(cfg.Scanners, func(s edge.ScannerConfig) bool { return s.ID == id })
			if i < 0 {
				return fmt.Errorf("station %s is not configured", id)
			}
			switch loc := cfg.Scanners[i].Location; {
			case f.location != "":
			case req.Location != "" && req.Location != loc:
				return fmt.Errorf("stations %s and %s stand at %s and %s: name the location counted (--location)", req.Stations[0], id, req.Location, loc)
			default:
				req.Location = loc
			}
		}
	}
	s, err := g.StartCount(ctx, req)
	if err != nil {
		return err
	}
	if f.asJSON {
		return json.NewEncoder(env.Stdout).Encode(s)
	}
	fmt.Fprintf(env.Stdout, "cycle count %d started at %s: scans at %s count until `udi-edge count end %d`\n",
		s.ID, s.Location, strings.Join(s.Stations, ", "), s.ID)
	return nil
}

// end ends session id and prints its report.
func (f *countFlags) end(ctx context.Context, env *Env, id uint64) error {
	g, closeG, err := f.cf.open(ctx, readWrite)
	if err != nil {
		return err
	}
	defer closeG()
	r, err := g.EndCount(ctx, id, f.actor)
	if err != nil {
		return err
	}
	return show.CountReport(env.Stdout, r, f.asJSON)
}

// show prints the report of session id.
func (f *countFlags) show(ctx context.Context, env *Env, id uint64) error {
	g, closeG, err := f.cf.open(ctx, readOnly)
	if err != nil {
		return err
	}
	defer closeG()
	r, err := g.CountReport(ctx, id)
	if err != nil {
		return err
	}
	return show.CountReport(env.Stdout, r, f.asJSON)
}

// list prints the sessions.
func (f *countFlags) list(ctx context.Context, env *Env) error {
	g, closeG, err := f.cf.open(ctx, readOnly)
	if err != nil {
		return err
	}
	defer closeG()
	ss, err := g.Counts(ctx)
	if err != nil {
		return err
	}
	return show.CountSessions(env.Stdout, ss, f.asJSON)
}

// adjust prints, or with --apply writes, the adjustments of session id.
func (f *countFlags) adjust(ctx context.Context, env *Env, id uint64) error {
	mode := readOnly
	if f.apply {
		mode = readWrite
	}
	g, closeG, err := f.cf.open(ctx, mode)
	if err != nil {
		return err
	}
	defer closeG()
	res, err := g.AdjustCount(ctx, id, core.CountAdjustment{Items: f.items, Apply: f.apply, Actor: f.actor})
	if err != nil {
		return err
	}
	return show.CountAdjustment(env.Stdout, id, res, f.asJSON)
}
