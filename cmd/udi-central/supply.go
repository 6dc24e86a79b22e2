package main

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// What `supply --only` selects.
const (
	onlyConsumption = "consumption"
	onlyRequests    = "requests"
)

func supplyCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "supply", "[--supplier S] [--since DAY] [--until DAY] [--format json|csv] [--out DIR] [flags]",
		"Export what each supplier is owed for and asked for: the uses of its consigned and\n"+
			"loan-set items (item, lot, serial, expiry, case, location, catalogue price; never the\n"+
			"patient; uses cancelled at their station left out) and the gateways' replenishment\n"+
			"requests (product, location, quantity, urgency, and whether what was received since\n"+
			"fills it). Days are YYYY-MM-DD in local time, both included; the window defaults to\n"+
			"the 31 days up to today. Requests whose product has no known supplier are listed under\n"+
			"\"unassigned\". With --out, one file per supplier is written into DIR: SUPPLIER.json\n"+
			"with both lists, or SUPPLIER.consumption.csv and SUPPLIER.requests.csv (a header,\n"+
			"UTF-8 with a byte order mark, prices in yuan with two decimals). Without it, JSON or\n"+
			"one CSV table (--only) goes to standard output. Asks a running service (--http-url),\n"+
			"which prices from its --supply-catalogue, or reads the store (--store), priced from\n"+
			"--master catalogue=FILE.")
	var sf sourceFlags
	sf.register(fs)
	supplier := fs.String("supplier", "", "only this supplier's records (\"unassigned\": requests without a supplier)")
	since := fs.String("since", "", "first day, YYYY-MM-DD (default: 30 days before --until)")
	until := fs.String("until", "", "last day, YYYY-MM-DD (default: today)")
	format := fs.String("format", "json", "json or csv")
	out := fs.String("out", "", "write one file per supplier into this directory (created 0700; files 0600)")
	only := fs.String("only", "", "only consumption or only requests (default: both)")
	files := masterFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *format != "json" && *format != "csv" {
		return usagef("--format: %q: want json or csv", *format)
	}
	if *only != "" && *only != onlyConsumption && *only != onlyRequests {
		return usagef("--only: %q: want %s or %s", *only, onlyConsumption, onlyRequests)
	}
	if *out == "" && *format == "csv" && *only == "" {
		return usagef("--format csv to standard output is one table: give --only %s or --only %s, or --out DIR", onlyConsumption, onlyRequests)
	}
	for name, v := range map[string]string{"--since": *since, "--until": *until} {
		if _, err := time.ParseInLocation(central.DayLayout, v, time.Local); v != "" && err != nil {
			return usagef("%s: %q is not a day YYYY-MM-DD", name, v)
		}
	}
	first, end, err := central.SupplyWindow(*since, *until, time.Local, time.Now())
	if err != nil {
		return usagef("--since %s is after --until %s", *since, cmp.Or(*until, "(today)"))
	}
	if end.Sub(first) > central.MaxSupplyWindow {
		return usagef("--since %s --until %s: at most %d days at once", first.Format(central.DayLayout),
			end.AddDate(0, 0, -1).Format(central.DayLayout), int(central.MaxSupplyWindow/(24*time.Hour)))
	}
	x := supplyExport{Version: central.SupplySchema, Supplier: *supplier, Since: first.Format(central.DayLayout),
		Until: end.AddDate(0, 0, -1).Format(central.DayLayout)}
	var src supplySource
	if sf.httpURL != "" {
		if len(*files) > 0 {
			return usagef("--master reads the store (--store): the service prices from its own --supply-catalogue")
		}
		src = &supplyAPI{sf: &sf}
	} else {
		if otherSet(*files, wire.SetCatalogue) {
			return usagef("supply takes the catalogue only: --master catalogue=FILE")
		}
		st, data, err := sf.openWith(*files)
		if err != nil {
			return err
		}
		defer st.Close()
		src = &supplyStore{st: st, data: data, since: first, until: end}
	}
	if *only != onlyRequests {
		if x.Consumption, err = allPages(ctx, x, src.consumption); err != nil {
			return err
		}
	}
	if *only != onlyConsumption {
		if x.Requests, err = allPages(ctx, x, src.requests); err != nil {
			return err
		}
	}
	if *out == "" {
		if *format == "json" {
			return writeSupplyJSON(env.Stdout, x)
		}
		if *only == onlyConsumption {
			return writeConsumptionCSV(env.Stdout, x.Consumption)
		}
		return writeRequestsCSV(env.Stdout, x.Requests)
	}
	return writeSupplyFiles(env.Stdout, *out, x, *format, *only)
}

// otherSet reports whether files names a set other than keep.
func otherSet(files map[string]string, keep string) bool {
	for set := range files {
		if set != keep {
			return true
		}
	}
	return false
}

// supplyExport is what `supply` exports: the JSON document, whole or of
// one supplier.
type supplyExport struct {
	Version     int                         `json:"version"`
	Supplier    string                      `json:"supplier,omitempty"`
	Since       string                      `json:"since"`
	Until       string                      `json:"until"`
	Consumption []central.ConsumptionRecord `json:"consumption,omitempty"`
	Requests    []central.RequestRecord     `json:"requests,omitempty"`
}

// supplySource reads pages of supply records: a running service or a
// store.
type supplySource interface {
	consumption(ctx context.Context, x supplyExport, offset int) ([]central.ConsumptionRecord, bool, error)
	requests(ctx context.Context, x supplyExport, offset int) ([]central.RequestRecord, bool, error)
}

// allPages reads every page of one kind of record.
func allPages[R any](ctx context.Context, x supplyExport, page func(context.Context, supplyExport, int) ([]R, bool, error)) ([]R, error) {
	var all []R
	for {
		rs, more, err := page(ctx, x, len(all))
		if err != nil {
			return nil, err
		}
		all = append(all, rs...)
		if !more || len(rs) == 0 {
			return all, nil
		}
	}
}

// supplyAPI reads the pages of a running service's API.
type supplyAPI struct{ sf *sourceFlags }

func (a *supplyAPI) consumption(ctx context.Context, x supplyExport, offset int) ([]central.ConsumptionRecord, bool, error) {
	var p central.ConsumptionPage
	err := a.sf.getJSON(ctx, "/v1/supply/consumption?"+central.SupplyParams(x.Supplier, x.Since, x.Until, offset, central.MaxSupplyLimit).Encode(), &p)
	return p.Records, p.More, err
}

func (a *supplyAPI) requests(ctx context.Context, x supplyExport, offset int) ([]central.RequestRecord, bool, error) {
	var p central.RequestPage
	err := a.sf.getJSON(ctx, "/v1/supply/requests?"+central.SupplyParams(x.Supplier, x.Since, x.Until, offset, central.MaxSupplyLimit).Encode(), &p)
	return p.Records, p.More, err
}

// supplyStore reads the pages of a store.
type supplyStore struct {
	st           central.Store
	data         *master.Data
	since, until time.Time
}

func (s *supplyStore) query(x supplyExport, offset int) central.SupplyQuery {
	return central.SupplyQuery{Supplier: x.Supplier, Since: s.since, Until: s.until, Offset: offset, Limit: central.MaxSupplyLimit}
}

func (s *supplyStore) consumption(ctx context.Context, x supplyExport, offset int) ([]central.ConsumptionRecord, bool, error) {
	return central.Consumption(ctx, s.st, s.data, s.query(x, offset))
}

func (s *supplyStore) requests(ctx context.Context, x supplyExport, offset int) ([]central.RequestRecord, bool, error) {
	return central.Requests(ctx, s.st, s.data, s.query(x, offset))
}

func writeSupplyJSON(w io.Writer, x supplyExport) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(x)
}

// Columns of the CSV exports, in their order.
var (
	consumptionColumns = []string{"supplier", "site", "gateway", "ledger", "branch", "seq", "time", "product", "name",
		"item", "lot", "serial", "expiry", "case", "location", "loan", "price"}
	requestColumns = []string{"supplier", "site", "gateway", "ledger", "branch", "seq", "time", "location", "product", "name",
		"quantity", "urgency", "on_hand", "reorder_point", "max", "received", "open", "withdrawn"}
)

// movementColumns are the columns naming a record's movement.
func movementColumns(r central.SupplyMovement) []string {
	return []string{r.Supplier, r.Site, r.Gateway, strconv.FormatInt(r.Ledger, 10), strconv.Itoa(r.Branch),
		strconv.FormatUint(r.Seq, 10), r.Time.Format(time.RFC3339)}
}

func writeConsumptionCSV(w io.Writer, rs []central.ConsumptionRecord) error {
	return writeCSV(w, consumptionColumns, rs, func(r central.ConsumptionRecord) []string {
		return append(movementColumns(r.SupplyMovement),
			r.Product, r.Name, r.Item, r.Lot, r.Serial, r.Expiry, r.Case, r.Location, strconv.FormatBool(r.Loan), r.Price)
	})
}

func writeRequestsCSV(w io.Writer, rs []central.RequestRecord) error {
	return writeCSV(w, requestColumns, rs, func(r central.RequestRecord) []string {
		return append(movementColumns(r.SupplyMovement),
			r.Location, r.Product, r.Name, strconv.Itoa(r.Quantity), r.Urgency, strconv.Itoa(r.OnHand),
			strconv.Itoa(r.ReorderPoint), strconv.Itoa(r.Max), strconv.Itoa(r.Received), strconv.FormatBool(r.Open), r.Withdrawn)
	})
}

// writeCSV writes a byte order mark (so that spreadsheets read UTF-8),
// the header and one row per record.
func writeCSV[R any](w io.Writer, header []string, rs []R, row func(R) []string) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	for _, r := range rs {
		if err := cw.Write(row(r)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeSupplyFiles writes one file per supplier (per kind, for CSV) into
// dir, and says what it wrote.
func writeSupplyFiles(stdout io.Writer, dir string, x supplyExport, format, only string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	per := map[string]*supplyExport{}
	of := func(supplier string) *supplyExport {
		supplier = cmp.Or(supplier, central.Unassigned)
		if per[supplier] == nil {
			per[supplier] = &supplyExport{Version: x.Version, Supplier: supplier, Since: x.Since, Until: x.Until}
		}
		return per[supplier]
	}
	for _, r := range x.Consumption {
		e := of(r.Supplier)
		e.Consumption = append(e.Consumption, r)
	}
	for _, r := range x.Requests {
		e := of(r.Supplier)
		e.Requests = append(e.Requests, r)
	}
	used := map[string]string{}
	for _, supplier := range slices.Sorted(maps.Keys(per)) {
		e := per[supplier]
		base := fileName(supplier)
		if other, dup := used[strings.ToLower(base)]; dup {
			return fmt.Errorf("--out: suppliers %q and %q would be written to the same file %s", other, supplier, base)
		}
		used[strings.ToLower(base)] = supplier
		var err error
		switch {
		case format == "json":
			err = writeWhole(filepath.Join(dir, base+".json"), func(w io.Writer) error { return writeSupplyJSON(w, *e) })
		default:
			if only != onlyRequests {
				err = writeWhole(filepath.Join(dir, base+".consumption.csv"), func(w io.Writer) error { return writeConsumptionCSV(w, e.Consumption) })
			}
			if err == nil && only != onlyConsumption {
				err = writeWhole(filepath.Join(dir, base+".requests.csv"), func(w io.Writer) error { return writeRequestsCSV(w, e.Requests) })
			}
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %d consumption record(s), %d request(s)\n", supplier, len(e.Consumption), len(e.Requests))
	}
	if len(per) == 0 {
		fmt.Fprintln(stdout, "no supply records in the window")
	}
	return nil
}

// writeWhole writes path (0600) through fn, whole or not at all: into a
// temporary file renamed over it.
func writeWhole(path string, fn func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".supply-*")
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := errors.Join(tmp.Chmod(0o600), fn(tmp), tmp.Sync(), tmp.Close()); err != nil {
		return fmt.Errorf("--out %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	return nil
}

// fileName is a supplier's name as a file name: every character that a
// file system or a shell would misread replaced by "_", the rest (Chinese
// included) kept.
func fileName(supplier string) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || strings.ContainsRune(`/\:*?"<>|`, r) {
			return '_'
		}
		return r
	}, strings.TrimSpace(supplier))
	if s == "" || strings.Trim(s, ".") == "" || strings.HasPrefix(s, "-") {
		s = "_" + s
	}
	return s
}
