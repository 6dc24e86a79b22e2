package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/audit"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/insurance"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"
)

// gateway is what a command asks of a gateway: a running agent through
// its local API (api.Client), or the core over a stopped agent's ledger
// file (core.Gateway). Both answer from the same code in agent/core.
type gateway interface {
	Status(ctx context.Context) (core.Status, error)
	Trace(ctx context.Context, q core.TraceQuery) (core.TraceResult, error)
	Rejects(ctx context.Context, q core.RejectQuery) ([]agent.Movement, error)
	Anomalies(ctx context.Context, linkWithin time.Duration) ([]audit.Finding, error)
	Reconcile(ctx context.Context) ([]audit.Finding, error)
	Verify(ctx context.Context) (agent.VerifyReport, error)
	ExportEPCIS(ctx context.Context, w io.Writer, opt core.ExportOptions) (written, skipped int, err error)
	ReconcileFees(ctx context.Context, fees io.Reader, name, format string, opt core.FeeOptions) ([]insurance.Finding, error)
	ExportInsurance(ctx context.Context, w io.Writer, opt core.InsuranceOptions) (core.InsuranceCounts, error)
	Inventory(ctx context.Context, zone string) ([]string, error)
	Door(ctx context.Context, zone string, open bool) error
	Justify(ctx context.Context, code, reason, actor string) (agent.Movement, error)
	DeclareLoan(ctx context.Context, set core.LoanSet) ([]agent.Movement, error)
	Import(ctx context.Context, set string, r io.Reader, opt core.ImportOptions) (core.ImportResult, error)
	Catalogue(ctx context.Context) ([]master.CatalogueEntry, error)
	CaseCost(ctx context.Context, caseID string) (audit.CaseCost, error)
	Implants(ctx context.Context, patient string) ([]audit.ImplantRecord, error)
	Procurement(ctx context.Context, from, to time.Time) ([]audit.VolumeLine, error)
	Stock(ctx context.Context, q core.StockQuery) (core.StockReport, error)
	Forecast(ctx context.Context, q core.ForecastQuery) ([]core.ForecastLine, error)
	StartCount(ctx context.Context, req core.CountRequest) (core.CountSession, error)
	EndCount(ctx context.Context, id uint64, actor string) (core.CountReport, error)
	CountCabinet(ctx context.Context, req core.CountRequest) (core.CountReport, error)
	CountReport(ctx context.Context, id uint64) (core.CountReport, error)
	Counts(ctx context.Context) ([]core.CountSession, error)
	AdjustCount(ctx context.Context, id uint64, opt core.CountAdjustment) (core.CountAdjustResult, error)
}

var (
	_ gateway = (*api.Client)(nil)
	_ gateway = (*core.Gateway)(nil)
)

// access says what a command does to a stopped agent's ledger file, and
// how long it waits for another process (reindex) to release the file.
type access struct {
	write bool
	wait  time.Duration
}

var (
	readOnly  = access{wait: 2 * time.Second}
	readWrite = access{write: true, wait: 2 * time.Second}
)

// openGateway returns the running agent of cfg when one answers on its
// control socket; otherwise the core over its ledger file, opened
// read-only or for writing; close releases it. remote says which.
func openGateway(ctx context.Context, cfg edge.Config, mode access) (g gateway, remote bool, close func() error, err error) {
	c := api.NewClient(cfg.SocketPath())
	_, err = c.Status(ctx)
	switch {
	case err == nil:
		return c, true, func() error { return nil }, nil
	case !errors.Is(err, api.ErrNoAgent):
		return nil, false, nil, err
	}
	var l *bolt.Ledger
	if mode.write {
		l, err = openWritable(cfg, mode.wait)
	} else {
		l, err = bolt.OpenReadOnly(cfg.Store, mode.wait)
	}
	if err != nil {
		if errors.Is(err, bolt.ErrLocked) {
			return nil, false, nil, fmt.Errorf("ledger %s is held by a running agent whose control socket %s does not answer: %w", cfg.Store, cfg.SocketPath(), err)
		}
		return nil, false, nil, err
	}
	core, err := core.New(core.Config{Site: cfg.Site, Supply: cfg.Stock.Supply()}, core.Deps{Store: l, Master: l, Retained: edge.RetainedOf(l)})
	if err != nil {
		l.Close()
		return nil, false, nil, err
	}
	return core, false, l.Close, nil
}

// openWritable opens a stopped agent's ledger for writing, as the gateway
// the file records (and, when the configuration names one, checks it is
// that gateway's).
func openWritable(cfg edge.Config, wait time.Duration) (*bolt.Ledger, error) {
	gw := cfg.Gateway
	if gw == "" {
		ro, err := bolt.OpenReadOnly(cfg.Store, wait)
		if err != nil {
			return nil, err
		}
		gw = ro.Gateway()
		if err := ro.Close(); err != nil {
			return nil, err
		}
	}
	return bolt.Open(bolt.Options{Path: cfg.Store, Gateway: gw, LockTimeout: wait})
}

// open loads the configuration of f and opens its gateway (openGateway):
// what a command that asks a gateway does first.
func (f *configFlags) open(ctx context.Context, mode access) (gateway, func() error, error) {
	cfg, err := f.load()
	if err != nil {
		return nil, nil, err
	}
	g, _, closeG, err := openGateway(ctx, cfg, mode)
	return g, closeG, err
}
