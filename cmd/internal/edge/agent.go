package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/cabinet"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/web"
	serialport "github.com/udi-edge/udi-edge/reader"
	"github.com/udi-edge/udi-edge/reader/barcode"
	"github.com/udi-edge/udi-edge/reader/bb7e"
	"github.com/udi-edge/udi-edge/reader/mercury"
	"github.com/udi-edge/udi-edge/sync/sign"
	"github.com/udi-edge/udi-edge/sync/uplink"
)

// tagReader is an RFID reader's driver (mercury, bb7e) as the agent runs it.
type tagReader interface {
	Run(ctx context.Context, emit func(agent.TagRead)) error
	Connected() bool
}

// readerHooks returns hooks that tell the core each change of reader
// id's state: its shelves count no inventory round while it is down.
func (a *Agent) readerHooks(id string) serialport.Hooks {
	return serialport.Hooks{OnState: func(up bool, _ error) { a.core.ReaderState(id, up) }}
}

// Agent is the running daemon wired together: the serial drivers feed the
// core (agent/core), the core records in the bbolt ledger and answers the
// scanners, the local API serves the core on the control socket, and the
// uplink syncs the ledger to the central service.
type Agent struct {
	Config Config
	Log    *slog.Logger
	// OnAnswer, if set before Open, is called with every read's outcome,
	// on the ledger's writer goroutine; it must not block.
	OnAnswer func(station string, o agent.Outcome)

	ledger    *bolt.Ledger
	core      *core.Gateway
	api       *api.Server
	listeners []net.Listener
	scanners  map[string]*barcode.Scanner
	feedback  map[string]FeedbackConfig
	mercury   map[string]*mercury.Reader // the readers that can write an encoding station's tags
	readers   map[string]tagReader
	uplink    *uplink.Uplink
	page      *web.Server    // the station page; nil when page.listen is not set
	pageLn    net.Listener   // the page's listener
	obs       *observability // metrics, health, alerts (health.go)
	wg        sync.WaitGroup
}

// NewAgent returns an agent for a validated configuration.
func NewAgent(cfg Config, log *slog.Logger) *Agent {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Agent{Config: cfg, Log: log}
}

// Open opens the ledger, builds the core over it, and listens on the
// control socket.
func (a *Agent) Open() (err error) {
	now, err := labClock(os.Getenv, a.Log)
	if err != nil {
		return err
	}
	a.ledger, err = bolt.Open(bolt.Options{
		Path:     a.Config.Store,
		Gateway:  a.Config.Gateway,
		MaxBatch: a.Config.Ledger.MaxBatch,
		MaxDelay: time.Duration(a.Config.Ledger.MaxDelay),
		Logger:   a.Log.With("component", "ledger"),
		// Retention, compaction and the disk budget (config_retention.go).
		Retention: a.Config.Ledger.retention(),
		// A damaged ledger is served read-only, every scan answered
		// failed: the agent never dies at start on its own damage.
		ReadOnlyWhenDamaged: true,
	})
	if err != nil {
		return fmt.Errorf("open ledger: %w", err)
	}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	a.obs = newObservability(a)
	a.ledger.Observe(a.obs.metrics.committed)
	a.mercury, a.readers = map[string]*mercury.Reader{}, map[string]tagReader{}
	for _, rc := range a.Config.Readers {
		// The driver adds the reader's id to its log lines itself.
		switch rc.Type {
		case "mercury":
			r := mercury.New(rc.mercuryConfig(), a.Log.With("component", "rfid"))
			r.Hooks = a.readerHooks(rc.ID)
			a.mercury[rc.ID], a.readers[rc.ID] = r, r
		case "bb7e":
			r := bb7e.New(rc.bb7eConfig(), a.Log.With("component", "rfid"))
			r.Hooks = a.readerHooks(rc.ID)
			a.readers[rc.ID] = r
		}
	}
	cc, err := a.Config.cabinetConfig(func(zone string) cabinet.TagWriter {
		id, _ := a.Config.encoderWriter(zone)
		return a.mercury[id]
	})
	if err != nil {
		return err
	}
	rules, err := a.Config.Checks.rules()
	if err != nil {
		return err
	}
	patterns, err := a.Config.Patterns.compile()
	if err != nil {
		return err
	}
	a.core, err = core.New(core.Config{
		Site: a.Config.Site, Stations: a.Config.stations(), Patterns: patterns,
		Rules: rules, ExpiringDays: a.Config.Checks.ExpiringDays, Cabinet: cc, Live: true,
		Supply: a.Config.Stock.Supply(), Now: now,
	}, core.Deps{Store: a.ledger, Master: a.ledger, Log: a.Log, Devices: a.devices, Sync: a.syncState, Observer: a.obs.metrics,
		Retained: RetainedOf(a.ledger)})
	if err != nil {
		return err
	}
	a.core.OnAnswer = a.answer
	for _, rc := range a.Config.Readers {
		// Not connected yet: the shelves it reads wait for it.
		a.core.ReaderState(rc.ID, false)
	}
	if err := a.openPage(); err != nil {
		return err
	}
	if v, c, _ := a.core.MasterVersion(); v != "" {
		a.Log.Info("master data loaded", "version", v, "catalogue", c.Catalogue, "recalls", c.Recalls)
	}
	a.feedback = map[string]FeedbackConfig{}
	a.scanners = map[string]*barcode.Scanner{}
	for _, sc := range a.Config.Scanners {
		a.feedback[sc.ID] = sc.Feedback
		// The driver adds the scanner's id to its log lines itself.
		a.scanners[sc.ID] = barcode.New(sc.barcodeConfig(), a.Log.With("component", "scanner"))
		a.scanners[sc.ID].Now = now // the core's clock stamps the reads (nil: the wall clock)
	}
	a.api = api.NewServer(a.core, api.Limits{}, a.Log.With("component", "api"))
	ln, err := api.ListenUnix(a.Config.SocketPath(), a.Config.Control.Group)
	if errors.Is(err, api.ErrSocketPathTooLong) {
		return &ConfigError{Where: "socket", Err: fmt.Errorf("%w: set socket to a shorter path (its default is the store's path with .sock)", err)}
	}
	if err != nil {
		return err
	}
	a.listeners = append(a.listeners, ln)
	if a.Config.Control.Listen != "" {
		ln, err := api.ListenLoopback(a.Config.Control.Listen)
		if err != nil {
			return err
		}
		a.listeners = append(a.listeners, ln)
	}
	key, made, err := sign.LoadOrCreate(a.Config.KeyPath())
	if err != nil {
		return fmt.Errorf("the gateway's signing key: %w", err)
	}
	if made {
		a.Log.Info("made the gateway's signing key; enrol it at the centre (udi-edge key prints the line)",
			"path", a.Config.KeyPath(), "public_key", sign.FormatPublic(sign.Public(key)))
	}
	if a.Config.Sync.enabled() {
		if a.uplink, err = newUplink(a.Config, a.ledger, a.core, key, a.Log.With("component", "sync")); err != nil {
			return err
		}
	}
	a.obs.ln, err = a.listenMetrics()
	return err
}

// openPage builds the station page over the core and listens on its
// address, when page.listen is set.
func (a *Agent) openPage() error {
	pc := a.Config.Page
	addr, explicit := pc.addr()
	if addr == "" {
		return nil
	}
	wc, err := pc.webConfig(a.Log.With("component", "page"))
	if err != nil {
		return err
	}
	if a.page, err = web.New(a.core, wc); err != nil {
		return &ConfigError{Where: "page", Err: err}
	}
	if err := a.page.Check(addr); err != nil {
		return &ConfigError{Where: "page.listen", Err: err}
	}
	if a.pageLn, err = net.Listen("tcp", addr); err != nil {
		if !explicit {
			// The default address taken (another agent on this machine):
			// the agent runs, its page is not served.
			a.Log.Warn("station page not served: its default address is in use; set page.listen", "address", addr, "err", err)
			a.page = nil
			return nil
		}
		return fmt.Errorf("station page: %w", err)
	}
	a.Log.Info("station page", "address", a.pageLn.Addr().String(), "tls", wc.TLS != nil)
	return nil
}

// Ledger returns the open ledger.
func (a *Agent) Ledger() *bolt.Ledger { return a.ledger }

// Core returns the agent's core.
func (a *Agent) Core() *core.Gateway { return a.core }

// answer hands a scanner the feedback bytes of its scan's verdict; it
// runs on the ledger's writer goroutine, and the driver only queues them
// (an answer that cannot be written is counted, never carried over to a
// later scan: barcode.Scanner.Answer).
func (a *Agent) answer(station string, o agent.Outcome) {
	a.obs.metrics.answered(station, o)
	if a.OnAnswer != nil {
		a.OnAnswer(station, o)
	}
	if a.page != nil {
		a.page.Publish(station, o)
	}
	s := a.scanners[station]
	if s == nil {
		return
	}
	if b := a.feedback[station].For(o.Verdict); len(b) > 0 {
		s.Answer(o.Movement.Time, b)
	}
}

// devices reports the scanners and readers and whether their port is open.
func (a *Agent) devices() []core.Device {
	var out []core.Device
	for _, sc := range a.Config.Scanners {
		s := a.scanners[sc.ID]
		st := s.Stats()
		out = append(out, core.Device{ID: sc.ID, Kind: "scanner", Path: sc.Device, Connected: s.Connected(),
			Answered: st.Answers, Missed: st.Missed, Garbled: st.Garbled})
	}
	for _, rc := range a.Config.Readers {
		out = append(out, core.Device{ID: rc.ID, Kind: "reader", Path: rc.Device, Connected: a.readers[rc.ID].Connected()})
	}
	return out
}

// syncState reports the uplink, nil when the gateway does not sync.
func (a *Agent) syncState() *core.SyncState {
	if a.uplink == nil {
		return nil
	}
	s := a.uplink.Stats()
	return &core.SyncState{Connected: s.Connected, Acked: s.Acked, Waiting: s.LastSeq - s.Acked,
		Batches: s.Batches, Resends: s.Resends, Connects: s.Connects}
}

// Run reads every scanner and reader and serves the control socket until
// ctx is done, then returns once every read has been answered.
func (a *Agent) Run(ctx context.Context) error {
	a.Log.Info("agent running", "gateway", a.Config.Gateway, "site", a.Config.Site,
		"scanners", len(a.Config.Scanners), "readers", len(a.Config.Readers), "ledger", a.Config.Store, "last_seq", a.ledger.LastSeq())
	var serve sync.WaitGroup
	serve.Add(2)
	go func() {
		defer serve.Done()
		if err := a.api.Serve(ctx, a.listeners...); err != nil {
			a.Log.Error("control socket stopped", "err", err)
		}
	}()
	if a.page != nil {
		serve.Add(1)
		go func() {
			defer serve.Done()
			if err := a.page.Serve(ctx, a.pageLn); err != nil {
				a.Log.Error("station page stopped", "err", err)
			}
		}()
	}
	go func() {
		defer serve.Done()
		a.obs.serve(ctx)
	}()
	for _, sc := range a.Config.Scanners {
		s := a.scanners[sc.ID]
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			if err := s.Run(ctx, a.core.Scan); err != nil && !errors.Is(err, context.Canceled) {
				a.Log.Error("scanner stopped", "scanner", sc.ID, "err", err)
			}
		}()
	}
	for id, r := range a.readers {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			if err := r.Run(ctx, a.core.TagRead); err != nil && !errors.Is(err, context.Canceled) {
				a.Log.Error("reader stopped", "reader", id, "err", err)
			}
		}()
	}
	if a.uplink != nil {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			if err := a.uplink.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				a.Log.Error("sync stopped", "err", err)
			}
		}()
	}
	scannersDone := make(chan struct{})
	coreDone := make(chan struct{})
	go func() {
		defer close(coreDone)
		a.core.Run(ctx, scannersDone)
	}()
	a.obs.supervise(ctx) // until ctx ends
	a.wg.Wait()
	close(scannersDone)
	<-coreDone
	serve.Wait()
	a.Log.Info("agent stopping")
	return nil
}

// Close closes the control socket and the ledger, once every read has
// been answered.
func (a *Agent) Close() error {
	var errs []error
	if a.core != nil {
		a.core.Wait()
	}
	for _, ln := range a.listeners {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	a.listeners = nil
	if a.pageLn != nil {
		if err := a.pageLn.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
		a.pageLn = nil
	}
	a.obs.close()
	if a.ledger != nil {
		errs = append(errs, a.ledger.Close())
		a.ledger = nil
	}
	return errors.Join(errs...)
}

// Start opens a and runs it in a goroutine of its own until ctx ends or
// stop is called; stop waits for it to finish and closes it, and returns
// the first error of either (for the demo and tests that run an agent in
// process).
func (a *Agent) Start(ctx context.Context) (stop func() error, err error) {
	if err := a.Open(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	var stopErr error
	return func() error {
		once.Do(func() {
			cancel()
			stopErr = errors.Join(<-done, a.Close())
		})
		return stopErr
	}, nil
}
