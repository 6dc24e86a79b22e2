package barcode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/reader"
)

// ErrRunning is returned by Run when the Scanner is already running.
var ErrRunning = errors.New("barcode: scanner already running")

// pollInterval is how long a read waits when a suffix ends frames: it
// bounds how long Run takes to notice that its context is done.
const pollInterval = 100 * time.Millisecond

// readSize is the size of the buffer handed to each read.
const readSize = 512

// Scanner drives one barcode scanner on a serial line. Create it with New,
// set the optional fields, then call Run. Write and Connected may be called
// from any goroutine.
type Scanner struct {
	// Opener opens the serial line; reader.Open when nil.
	Opener reader.Opener
	// Now returns the time a read returned, used as the arrival time of
	// its bytes; time.Now when nil.
	Now func() time.Time
	// Sleep waits d or until ctx is done, returning ctx.Err() in the
	// latter case; it is how Run waits between attempts to open the
	// device. A timer when nil.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnState, when set, is called from Run's goroutine when the state of
	// the line changes: (true, nil) when the device has been opened;
	// (false, err) when it was lost (err is the read error) or when an
	// attempt to open it failed with an error other than the last one
	// reported, so a device that stays missing is reported once;
	// (false, nil) when Run closes the device on its way out. It must not
	// block and must not call Run.
	OnState func(connected bool, err error)

	cfg  Config
	log  *slog.Logger
	rand func() float64

	running   atomic.Bool
	connected atomic.Bool
	mu        sync.Mutex  // guards port against Write racing Close
	port      reader.Port // nil while disconnected
}

// New returns a Scanner for cfg, with defaults filled in (see
// Config.WithDefaults). The configuration is checked by Run. log receives
// the scanner's state changes (info, warn), rejected frames (warn) and, at
// debug, each frame's length and symbology, never its contents; records are
// tagged with the scanner's id. A nil log discards them.
func New(cfg Config, log *slog.Logger) *Scanner {
	cfg = cfg.WithDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Scanner{
		cfg:  cfg,
		log:  log.With("scanner", cfg.ID),
		rand: rand.Float64,
	}
}

// Config returns the scanner's configuration, defaults filled in.
func (s *Scanner) Config() Config { return s.cfg }

// Connected reports whether the device is open.
func (s *Scanner) Connected() bool { return s.connected.Load() }

// Write sends p to the scanner: feedback commands such as a beep or an LED,
// whose bytes are vendor-specific. It returns ErrDisconnected when the
// device is not open, or the write error. A write blocks while the line's
// output buffer is full; feedback commands are a few bytes.
func (s *Scanner) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.port == nil {
		return 0, ErrDisconnected
	}
	return s.port.Write(p)
}

// Run opens the device, cuts what it sends into frames and calls emit with
// one agent.Read per frame, in order, from Run's goroutine. emit must
// return quickly (hand the read on); while it runs, bytes wait in the
// kernel's buffer. The agent.Read it receives is its own to keep.
//
// When the device cannot be opened, or a read fails because it went away,
// Run logs the change, closes the port, waits with jittered exponential
// backoff and opens it again, for as long as ctx lives. Bytes of a frame
// cut off by the loss are emitted as a Read with an ErrIncompleteFrame
// error, never dropped.
//
// Run returns nil when ctx is done, after emitting any partial frame and
// closing the device. It returns an error at once only when the
// configuration is invalid or the Scanner is already running.
func (s *Scanner) Run(ctx context.Context, emit func(agent.Read)) error {
	if err := s.cfg.Validate(); err != nil {
		return err
	}
	if !s.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer s.running.Store(false)

	open := s.Opener
	if open == nil {
		open = reader.Open
	}
	sleep := s.Sleep
	if sleep == nil {
		sleep = sleepContext
	}
	now := s.now()
	b := reader.Backoff{Min: s.cfg.MinBackoff, Max: s.cfg.MaxBackoff, Rand: s.rand}
	f := NewFramer(s.cfg.Suffix, s.cfg.MaxLen)
	buf := make([]byte, readSize)
	toRead := func(fr Frame) { emit(s.read(fr)) }
	dev := s.cfg.Serial.Device

	var reported string // last failure reported; "" when connected
	for ctx.Err() == nil {
		p, err := open(s.cfg.Serial)
		if err != nil {
			if msg := err.Error(); msg != reported {
				reported = msg
				s.log.Warn("barcode scanner unavailable", "device", dev, "err", err)
				s.state(false, err)
			}
			if sleep(ctx, b.Next()) != nil {
				break
			}
			continue
		}

		s.setPort(p)
		reported = ""
		path, _ := filepath.EvalSymlinks(dev)
		s.log.Info("barcode scanner connected", "device", dev, "path", path)
		s.state(true, nil)
		since := now()

		err = s.serve(ctx, p, f, buf, toRead)
		closeErr := s.dropPort()
		if ctx.Err() != nil {
			s.log.Info("barcode scanner closed", "device", dev)
			s.state(false, nil)
			break
		}
		if closeErr != nil {
			s.log.Debug("barcode scanner close", "device", dev, "err", closeErr)
		}
		reported = err.Error()
		s.log.Warn("barcode scanner disconnected", "device", dev, "err", err)
		s.state(false, err)
		if now().Sub(since) >= s.cfg.MaxBackoff {
			b.Reset()
		}
		if sleep(ctx, b.Next()) != nil {
			break
		}
	}
	return nil
}

// serve reads from p until ctx is done or a read fails, feeding f. It
// returns the read error, or ctx's error.
func (s *Scanner) serve(ctx context.Context, p reader.Port, f *Framer, buf []byte, emit func(Frame)) error {
	now := s.now()
	gap := s.cfg.Suffix == SuffixNone
	timeout := pollInterval
	if gap {
		timeout = s.cfg.Gap
	}
	if err := p.SetReadTimeout(timeout); err != nil {
		return fmt.Errorf("set read timeout: %w", err)
	}
	for {
		if err := ctx.Err(); err != nil {
			f.Abort(err, emit)
			return err
		}
		n, err := p.Read(buf)
		if n > 0 {
			f.Feed(buf[:n], now(), emit)
		}
		if err != nil {
			f.Abort(err, emit)
			return err
		}
		if n == 0 && gap {
			// The read timed out: nothing arrived for the gap.
			f.Flush(emit)
		}
	}
}

// read turns a frame into the agent's Read, copying its bytes.
func (s *Scanner) read(fr Frame) agent.Read {
	raw := bytes.Clone(fr.Raw)
	sym, data := SplitAIM(raw)
	if fr.Err != nil {
		s.log.Warn("barcode frame rejected", "bytes", len(raw), "symbology", sym, "err", fr.Err)
	} else {
		s.log.Debug("barcode frame", "bytes", len(raw), "symbology", sym)
	}
	return agent.Read{
		Source:    s.cfg.ID,
		Time:      fr.Time,
		Raw:       raw,
		Symbology: sym,
		Data:      data,
		Err:       fr.Err,
	}
}

func (s *Scanner) setPort(p reader.Port) {
	s.mu.Lock()
	s.port = p
	s.mu.Unlock()
	s.connected.Store(true)
}

// dropPort detaches the port from Write, then closes it.
func (s *Scanner) dropPort() error {
	s.connected.Store(false)
	s.mu.Lock()
	p := s.port
	s.port = nil
	s.mu.Unlock()
	return p.Close()
}

func (s *Scanner) state(connected bool, err error) {
	if s.OnState != nil {
		s.OnState(connected, err)
	}
}

func (s *Scanner) now() func() time.Time {
	if s.Now != nil {
		return s.Now
	}
	return time.Now
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
