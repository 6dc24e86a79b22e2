package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/code"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/reader/barcode"
	"github.com/udi-edge/udi-edge/sync/uplink"
)

func runCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "run", "[flags]",
		"Run the agent: read every configured scanner, record each scan as a movement in the\n"+
			"ledger (answered only once fsynced), and serve traces on the control socket.")
	var cf configFlags
	cf.register(fs, true)
	check := fs.Bool("check", false, "validate the configuration and exit")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if *check {
		fmt.Fprintf(env.Stdout, "configuration ok: gateway %s, %d scanner(s), ledger %s\n", cfg.Gateway, len(cfg.Scanners), cfg.Store)
		return nil
	}
	log := newLogger(env.Stderr, cfg.Log)
	a := NewAgent(cfg, log)
	if err := a.Open(); err != nil {
		return err
	}
	runErr := a.Run(ctx)
	if err := a.Close(); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}

// newLogger is the one place that sets log level and format.
func newLogger(w interface{ Write([]byte) (int, error) }, c LogConfig) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Agent is the running daemon: scanners feed the ingest, the ingest feeds
// the ledger, the control socket serves traces.
type Agent struct {
	Config Config
	Log    *slog.Logger
	// OnAnswer, if set before Open, is called with every read's outcome,
	// on the ledger's writer goroutine; it must not block.
	OnAnswer func(station string, o agent.Outcome)

	ledger   *bolt.Ledger
	ingest   *agent.Ingest
	scanners map[string]*barcode.Scanner
	feedback map[string]*feedbackQueue
	control  *ControlServer
	rfid     *rfid
	master   master.Store
	uplink   *uplink.Uplink
	wg       sync.WaitGroup
}

// feedbackQueue carries a station's feedback bytes to its scanner.
type feedbackQueue struct {
	bytes FeedbackConfig
	ch    chan []byte
}

// NewAgent returns an agent for a validated configuration.
func NewAgent(cfg Config, log *slog.Logger) *Agent {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Agent{Config: cfg, Log: log}
}

// Open opens the ledger and the control socket.
func (a *Agent) Open() error {
	l, err := bolt.Open(bolt.Options{
		Path:     a.Config.Store,
		Gateway:  a.Config.Gateway,
		MaxBatch: a.Config.Ledger.MaxBatch,
		MaxDelay: time.Duration(a.Config.Ledger.MaxDelay),
		Logger:   a.Log.With("component", "ledger"),
	})
	if err != nil {
		return fmt.Errorf("open ledger: %w", err)
	}
	a.ledger = l
	if err := loadMaster(l, &a.master); err != nil {
		l.Close()
		return err
	}
	if d := a.master.Load(); d.Version != "" {
		c := d.Counts()
		a.Log.Info("master data loaded", "version", d.Version, "catalogue", c.Catalogue, "recalls", c.Recalls)
	}
	stations := map[string]agent.Station{}
	a.feedback = map[string]*feedbackQueue{}
	a.scanners = map[string]*barcode.Scanner{}
	for _, sc := range a.Config.Scanners {
		stations[sc.ID] = sc.station()
		a.feedback[sc.ID] = &feedbackQueue{bytes: sc.Feedback, ch: make(chan []byte, 16)}
		a.scanners[sc.ID] = barcode.New(sc.barcodeConfig(), a.Log.With("component", "scanner", "scanner", sc.ID))
	}
	patterns, err := a.Config.Patterns.compile()
	if err != nil {
		l.Close()
		return err
	}
	decide, err := newDecider(a.Config.Checks, &a.master, l, a.Log.With("component", "checks"))
	if err != nil {
		l.Close()
		return err
	}
	a.ingest = &agent.Ingest{
		Ledger:   l,
		Parser:   code.Parser{},
		Stations: stations,
		Patterns: patterns,
		Decide:   decide,
		Schedule: func(room string, t time.Time) (string, string, bool) {
			s, ok := a.master.Load().ScheduledCase(room, t)
			return s.Case, s.Patient, ok
		},
		Log:    a.Log.With("component", "ingest"),
		Answer: a.answer,
	}
	if len(a.Config.Readers) > 0 {
		a.rfid, err = newRFID(&a.Config, l, a.ingest, a.Log.With("component", "rfid"), func(o agent.Outcome) {
			if a.OnAnswer != nil {
				a.OnAnswer(o.Movement.Station, o)
			}
		}, a.answer)
		if err != nil {
			l.Close()
			return err
		}
	}
	a.control, err = ListenControl(a.Config.SocketPath(), l, a.Config, a.scannerStatus, a.rfid, a.Log.With("component", "control"))
	if err != nil {
		l.Close()
		return err
	}
	a.control.master = &a.master
	if a.Config.Sync.enabled() {
		a.uplink, err = newUplink(a.Config, l, &a.master, a.Log.With("component", "sync"))
		if err != nil {
			a.control.Close()
			l.Close()
			return err
		}
		a.control.uplink = a.uplink
	}
	return nil
}

// Ledger returns the open ledger.
func (a *Agent) Ledger() *bolt.Ledger { return a.ledger }

// answer sends a station's feedback bytes; it runs on the ledger's writer
// goroutine, so it only queues them.
func (a *Agent) answer(station string, o agent.Outcome) {
	if a.OnAnswer != nil {
		a.OnAnswer(station, o)
	}
	q := a.feedback[station]
	if q == nil {
		return
	}
	var b []byte
	switch o.Verdict {
	case agent.VerdictAccepted:
		b = q.bytes.Accept
	case agent.VerdictWarned:
		b = q.bytes.Warn
		if len(b) == 0 {
			b = q.bytes.Accept
		}
	case agent.VerdictRejected, agent.VerdictBlocked:
		b = q.bytes.Reject
	default:
		b = q.bytes.Failed
	}
	if len(b) == 0 {
		return
	}
	select {
	case q.ch <- b:
	default:
		a.Log.Debug("feedback queue full; beep skipped", "station", station)
	}
}

// Run reads every scanner until ctx is done.
func (a *Agent) Run(ctx context.Context) error {
	a.Log.Info("agent running", "gateway", a.Config.Gateway, "site", a.Config.Site,
		"scanners", len(a.Config.Scanners), "readers", len(a.Config.Readers), "ledger", a.Config.Store, "last_seq", a.ledger.LastSeq())
	for _, sc := range a.Config.Scanners {
		s := a.scanners[sc.ID]
		ch := a.feedback[sc.ID].ch
		a.wg.Add(2)
		go func() {
			defer a.wg.Done()
			emit := a.ingest.Handle
			if a.rfid != nil && a.rfid.isEncoder(sc.ID) {
				emit = a.rfid.offerCommission
			}
			if err := s.Run(ctx, emit); err != nil && !errors.Is(err, context.Canceled) {
				a.Log.Error("scanner stopped", "scanner", sc.ID, "err", err)
			}
		}()
		go func() {
			defer a.wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case b := <-ch:
					if _, err := s.Write(b); err != nil {
						a.Log.Debug("feedback not sent", "scanner", sc.ID, "err", err)
					}
				}
			}
		}()
	}
	if a.uplink != nil {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.runUplink(ctx)
		}()
	}
	var rfidDone sync.WaitGroup
	scannersDone := make(chan struct{})
	if a.rfid != nil {
		rfidDone.Add(1)
		go func() {
			defer rfidDone.Done()
			a.rfid.run(ctx, scannersDone)
		}()
	}
	<-ctx.Done()
	a.wg.Wait()
	close(scannersDone)
	rfidDone.Wait()
	a.Log.Info("agent stopping")
	return nil
}

// scannerStatus reports which scanners have their port open.
func (a *Agent) scannerStatus() map[string]bool {
	m := make(map[string]bool, len(a.scanners))
	for id, s := range a.scanners {
		m[id] = s.Connected()
	}
	if a.rfid != nil {
		for id, ok := range a.rfid.connected() {
			m[id] = ok
		}
	}
	return m
}

// Close waits for every read to be answered, then closes the control socket
// and the ledger.
func (a *Agent) Close() error {
	var errs []error
	if a.ingest != nil {
		a.ingest.Wait()
	}
	if a.control != nil {
		errs = append(errs, a.control.Close())
	}
	if a.ledger != nil {
		errs = append(errs, a.ledger.Close())
	}
	return errors.Join(errs...)
}
