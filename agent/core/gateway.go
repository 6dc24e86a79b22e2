package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/cabinet"
	"github.com/udi-edge/udi-edge/agent/code"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/agent/station"
	"github.com/udi-edge/udi-edge/agent/stock"
)

// ErrNotRunning is returned for what only a running gateway can do (a
// cabinet's door, what a cabinet holds) when the core serves a ledger
// file with no readers attached.
var ErrNotRunning = errors.New("not a running agent: stop nothing, start the agent, and ask again")

// ErrNoRFID is returned by Door and Inventory when no RFID zone is
// configured.
var ErrNoRFID = errors.New("no RFID zones are configured")

// Store is what the core needs of the gateway's ledger. agent/bolt's
// Ledger implements it.
type Store interface {
	agent.Ledger
	// TracePrefix returns up to limit movements of every item whose key
	// starts with prefix, oldest first.
	TracePrefix(ctx context.Context, prefix string, limit int) ([]agent.Movement, error)
	// Range calls fn with every movement from sequence number from on,
	// in order, until fn returns an error.
	Range(from uint64, fn func(agent.Movement) error) error
	// Append records m at once, in a transaction of its own, and returns
	// it as recorded. A read-only store refuses.
	Append(ctx context.Context, m agent.Movement) (agent.Movement, error)
	// Gateway is the id of the gateway the ledger belongs to.
	Gateway() string
	// LastSeq is the sequence number of the last movement recorded.
	LastSeq() uint64
	// Health says what the ledger knows of its own state.
	Health() agent.LedgerHealth
	// VerifyReport checks the hash chain and the file's structure; its
	// error says only that the check could not run.
	VerifyReport(ctx context.Context) (agent.VerifyReport, error)
}

// MasterStore keeps the master data durable beside the ledger.
type MasterStore interface {
	// LoadMaster returns the stored master data, empty when none was
	// stored, and the names of the sets found damaged (left out).
	LoadMaster() (*master.Data, []string, error)
	// SaveMaster durably stores the sets of d named (every set when none
	// is named), each on its own, replacing what was stored.
	SaveMaster(d *master.Data, sets ...string) error
}

// Device is a serial device of the gateway as its status reports it.
type Device struct {
	// ID is the scanner's or reader's configured id.
	ID string `json:"id"`
	// Kind is "scanner" or "reader".
	Kind string `json:"kind"`
	// Path is the configured device path.
	Path string `json:"device"`
	// Connected says whether the port is open.
	Connected bool `json:"connected"`
	// Answered and Missed count the answers sent to a scanner and those
	// it could not be sent (it was disconnected first).
	Answered uint64 `json:"answered,omitempty"`
	Missed   uint64 `json:"missed_answers,omitempty"`
	// Garbled counts the frames that looked like a scanner at another
	// baud rate, data bits or parity.
	Garbled uint64 `json:"garbled_frames,omitempty"`
}

// SyncState is the gateway's link to the central service.
type SyncState struct {
	Connected bool   `json:"connected"`
	Acked     uint64 `json:"acked"`
	Waiting   uint64 `json:"waiting"`
	Batches   uint64 `json:"batches"`
	Resends   uint64 `json:"resends"`
	Connects  uint64 `json:"connects"`
}

// Config is the gateway's application configuration: what its stations
// mean, which checks run, what its RFID zones are. The zero Config serves
// a ledger file with no station (the commands of a stopped agent).
type Config struct {
	// Site is the hospital or campus id.
	Site string
	// Stations binds scanner ids to locations and movement kinds.
	Stations map[string]agent.Station
	// Patterns claim the plain codes that set a station's context.
	Patterns *station.Patterns
	// Rules and ExpiringDays configure the point-of-use checks.
	Rules        lifecycle.Rules
	ExpiringDays int
	// Cabinet configures the RFID zones; nil when there are none.
	Cabinet *cabinet.Config
	// Now is the gateway's clock; time.Now when nil. The core stamps
	// what it records with it, and a read or tag read that comes with no
	// time; give the drivers the same clock (reader.Hooks.Now). Whatever
	// stamped a movement, its time is checked against the latest time the
	// ledger holds (ClockTolerance).
	Now func() time.Time
	// Live says the core serves a running gateway, its readers attached;
	// without it, what only a running gateway can answer (a cabinet's
	// door, what it holds) is ErrNotRunning.
	Live bool
	// Supply configures replenishment and expiry alerts.
	Supply SupplyConfig
}

// Deps are the adapters the core runs on.
type Deps struct {
	Store  Store
	Master MasterStore
	Log    *slog.Logger
	// Devices, if set, reports the gateway's serial devices.
	Devices func() []Device
	// Sync, if set, reports the link to the central service.
	Sync func() *SyncState
	// Retained, if set, tells what the ledger keeps of an item whose
	// movements retention took away (agent/bolt's Ledger.Retained).
	Retained RetainedFunc
	// Observer, if set, is told what the core does, for metrics.
	Observer Observer
}

// Gateway is a gateway's application core: it turns reads into movements
// at its stations and cabinets, decides at the point of use, keeps the
// master data, and answers every question the command line, the local
// API and the station page ask of it. One Gateway serves one ledger.
type Gateway struct {
	// OnAnswer, if set before the first read, is called with the outcome
	// of every scan and tag movement, on the ledger's writer goroutine;
	// it must not block.
	OnAnswer func(station string, o agent.Outcome)

	cfg      Config
	store    Store
	masters  MasterStore
	log      *slog.Logger
	devices  func() []Device
	sync     func() *SyncState
	master   master.Store
	damaged  []string // master data sets found damaged when loaded (damageMu)
	ingest   *station.Ingest
	cabinet  *cabinet.Service
	importMu sync.Mutex // one master data change at a time, its file read included
	damageMu sync.Mutex // damaged alone: the status never waits for an import
	stock    *stock.Keeper
	supply   *supplier
	retained RetainedFunc
	counts   counts // cycle count sessions (count.go)
	observer Observer
}

// New returns the core over deps.Store. It loads the stored master data
// (a damaged set is left out and reported, never fatal) and builds the
// stations and cabinets of cfg.
func New(cfg Config, deps Deps) (*Gateway, error) {
	g := &Gateway{cfg: cfg, store: deps.Store, masters: deps.Master, log: deps.Log, devices: deps.Devices, sync: deps.Sync, observer: deps.Observer,
		retained: deps.Retained}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if g.cfg.Now == nil {
		g.cfg.Now = time.Now
	}
	// Every movement the core writes passes through the store: the stock
	// is kept there. A running gateway rebuilds it at once, a stopped
	// agent's file when first asked.
	g.stock = stock.NewKeeper(deps.Store.Range, g.master.Load)
	// The items gone for good are read back from the ledger when they
	// move again, not kept in memory: the stock's memory follows what is
	// on hand, not every item ever seen.
	g.stock.SetHistory(func(key string) ([]agent.Movement, error) { return deps.Store.Trace(context.Background(), key) })
	g.supply = newSupplier(g)
	ss := stockStore{Store: newClockStore(deps.Store, g.log.With("component", "clock")), stock: g.stock}
	if cfg.Live {
		ss.after = g.supply.touch
	}
	g.store = ss
	if g.masters != nil {
		d, damaged, err := g.masters.LoadMaster()
		if err != nil {
			return nil, err
		}
		g.master.Replace(d)
		g.damaged = damaged
		if len(damaged) > 0 {
			g.log.Warn("master data damaged: the checks that need these sets run as with none; import them again",
				"sets", damaged)
		}
	}
	if cfg.Live {
		// After the master data: the fold resolves what arrives with the
		// catalogue (a request met by boxes).
		g.stock.Start()
	}
	dec, err := NewDecider(g.store.Gateway(), g.cfg, &g.master, retainedLedger{g.store, g.retained}, g.log.With("component", "checks"), g.stock)
	if err != nil {
		return nil, err
	}
	decide := g.timed(dec.Decide)
	g.ingest = &station.Ingest{
		Ledger:   g.store,
		Gateway:  g.store.Gateway(),
		Parser:   code.Parser{},
		Stations: cfg.Stations,
		Patterns: cfg.Patterns,
		Now:      g.cfg.Now,
		Decide:   decide,
		Schedule: func(room string, t time.Time) (string, string, bool) {
			s, ok := g.master.Load().ScheduledCase(room, t)
			return s.Case, s.Patient, ok
		},
		Log:    g.log.With("component", "ingest"),
		Answer: g.answer,
	}
	if cfg.Live {
		open, err := g.restoreStations()
		if err != nil {
			return nil, fmt.Errorf("core: the stations' contexts: %w", err)
		}
		if open > 0 {
			g.log.Info("cases still open at stations restored from the ledger", "stations", open)
		}
	}
	if cfg.Cabinet != nil {
		c, err := cabinet.New(*cfg.Cabinet, g.store, g.ingest.Movement, decide, g.log.With("component", "rfid"))
		if err != nil {
			return nil, err
		}
		c.OnTag = func(o agent.Outcome) { g.answer(o.Movement.Station, o) }
		c.OnScan = g.answer
		g.cabinet = c
	}
	return g, nil
}

// Gateway returns the id of the gateway.
func (g *Gateway) Gateway() string { return g.store.Gateway() }

// Site returns the site id configured, "" when none.
func (g *Gateway) Site() string { return g.cfg.Site }

// Master returns the master data held now.
func (g *Gateway) Master() *master.Data { return g.master.Load() }

func (g *Gateway) answer(station string, o agent.Outcome) {
	if g.OnAnswer != nil {
		g.OnAnswer(station, o)
	}
}

// Scan records one barcode read: an encoding station's scan binds a tag,
// any other becomes a movement at its station. It returns at once; the
// outcome arrives through OnAnswer. No read is ever dropped.
func (g *Gateway) Scan(r agent.Read) {
	if r.Time.IsZero() {
		r.Time = g.cfg.Now()
	}
	if g.cabinet != nil && g.cabinet.IsEncoder(r.Source) {
		g.cabinet.OfferCommission(r)
		return
	}
	if g.countCommand(r) || g.countScan(r) {
		return
	}
	g.ingest.Handle(r)
}

// TagRead hands one tag read to the cabinets; it never blocks.
func (g *Gateway) TagRead(t agent.TagRead) {
	if t.Time.IsZero() {
		t.Time = g.cfg.Now()
	}
	if g.cabinet != nil {
		g.cabinet.Offer(t)
	}
}

// ReaderState tells the cabinets that an RFID reader is up (set up and
// reading) or down (lost, or not connected yet): the shelves it reads
// count no inventory round while it is down (cabinet.Service.ReaderState).
// It never blocks.
func (g *Gateway) ReaderState(reader string, up bool) {
	if g.cabinet != nil {
		g.cabinet.ReaderState(reader, up)
	}
}

// Run runs the cabinets until ctx ends and scannersDone is closed (the
// scans of encoding stations still arrive until then), and returns once
// every read handled has been answered.
func (g *Gateway) Run(ctx context.Context, scannersDone <-chan struct{}) {
	supplyDone := make(chan struct{})
	go func() {
		defer close(supplyDone)
		if g.cfg.Live {
			g.supply.run(ctx)
		}
	}()
	defer func() { <-supplyDone }()
	if g.cabinet != nil {
		g.cabinet.Run(ctx, scannersDone)
	} else {
		<-scannersDone
	}
	g.Wait()
}

// Wait blocks until every scan handled so far has been answered.
func (g *Gateway) Wait() {
	g.ingest.Wait()
	g.counts.wg.Wait()
}

// Door tells the cabinet zone's tracker that its door opened or closed.
func (g *Gateway) Door(ctx context.Context, zone string, open bool) error {
	if err := g.needCabinet(); err != nil {
		return err
	}
	return g.cabinet.Door(ctx, zone, open)
}

// Inventory returns the item keys present in a cabinet zone now.
func (g *Gateway) Inventory(ctx context.Context, zone string) ([]string, error) {
	if err := g.needCabinet(); err != nil {
		return nil, err
	}
	return g.cabinet.Inventory(ctx, zone)
}

func (g *Gateway) needCabinet() error {
	switch {
	case !g.cfg.Live:
		return ErrNotRunning
	case g.cabinet == nil:
		return ErrNoRFID
	}
	return nil
}
