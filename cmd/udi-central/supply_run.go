package main

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/pflag"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/sign"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// supplyFlags are run's flags of the supplier topics and the supply API.
type supplyFlags struct {
	ids       supplierIDs
	catalogue string
	cursor    string
}

func (f *supplyFlags) register(fs *pflag.FlagSet) {
	f.ids = supplierIDs{}
	fs.Var(&f.ids, "supplier-id", "publish a supplier's consumption records and replenishment requests to udi/supply/ID/...:\n"+
		"ID=NAME, ID its broker user name, NAME the supplier as consigned flags and the catalogue name it\n"+
		"(repeatable; config key suppliers: {\"ID\": \"NAME\"})")
	fs.StringVar(&f.catalogue, "supply-catalogue", "", "the catalogue (a file of the catalogue set, .csv or .json) that prices consumption\nrecords and names the suppliers of requests, published and answered by /v1/supply/...;\nit also resolves packages to their units in /v1/stock")
	fs.StringVar(&f.cursor, "supply-cursor", "", "the file (bbolt, 0600) holding how far each ledger's supply records are published\n(default: beside a file --store, its name with .supply; required with a database --store)")
}

// config returns the catalogue and checks the flags against the
// enrolment: a supplier id that is an enrolled gateway's would let that
// gateway read the supplier's topics (both are broker user names).
func (f *supplyFlags) config(store string, sites []string, enrolled *sign.Enrolment) (*master.Data, string, error) {
	var data *master.Data
	if f.catalogue != "" {
		var err error
		if data, err = readMasterFiles(map[string]string{wire.SetCatalogue: f.catalogue}); err != nil {
			return nil, "", fmt.Errorf("--supply-catalogue: %w", err)
		}
	}
	if len(f.ids) == 0 {
		return data, "", nil
	}
	for _, site := range sites {
		for _, id := range slices.Sorted(maps.Keys(f.ids)) {
			if enrolled != nil && enrolled.Enrolled(site, id) {
				return nil, "", usagef("--supplier-id %s: gateway %s of site %s has that id: supplier ids and gateway ids are broker user names, and must differ", id, id, site)
			}
		}
	}
	cursor := f.cursor
	switch {
	case cursor != "":
	case isDatabaseURL(store):
		return nil, "", usagef("--supply-cursor is required with --supplier-id and a database --store")
	default:
		cursor = store + ".supply"
	}
	return data, cursor, nil
}

// publisher returns the supply publisher of the flags, nil without
// --supplier-id.
func (f *supplyFlags) publisher(st central.Store, conn central.Publisher, data *master.Data, cursor string, log *slog.Logger) (*central.SupplyPublisher, error) {
	if len(f.ids) == 0 {
		return nil, nil
	}
	p, err := central.NewSupplyPublisher(central.SupplyPublisherConfig{Store: st, Conn: conn, Suppliers: f.ids,
		Catalogue: data, Cursor: cursor, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("--supplier-id: %w", err)
	}
	return p, nil
}

// supplierIDs is the value of --supplier-id: supplier id → name.
type supplierIDs map[string]string

func (s supplierIDs) String() string {
	var out []string
	for _, id := range slices.Sorted(maps.Keys(s)) {
		out = append(out, id+"="+s[id])
	}
	return strings.Join(out, ",")
}

// Set takes ID=NAME; NAME is everything after the first "=" (a
// supplier's name may hold commas).
func (s supplierIDs) Set(v string) error {
	id, name, ok := strings.Cut(v, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return fmt.Errorf("%q: want ID=NAME", v)
	}
	if err := wire.ValidID(id); err != nil {
		return fmt.Errorf("supplier id %q: %w", id, err)
	}
	if old, dup := s[id]; dup && old != name {
		return fmt.Errorf("supplier id %q given twice", id)
	}
	s[id] = name
	return nil
}

func (s supplierIDs) Type() string { return "ID=NAME" }
