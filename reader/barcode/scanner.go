package barcode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	// Hooks holds the optional fields: Opener (reader.Open when nil), Now
	// (the arrival time of the bytes a read returned; time.Now when nil),
	// Sleep (Run's wait between attempts to open the device; a timer when
	// nil) and OnState. OnState is called with (true, nil) when the device
	// has been opened and a first read of it succeeded, and with
	// (false, err) when a read failed because it went away (err is the
	// read error) or an attempt to open and read it failed. Each time it
	// is connected the wait between attempts starts again from
	// Config.MinBackoff (see reader.Supervisor).
	reader.Hooks

	cfg Config
	log *slog.Logger

	sup       reader.Supervisor
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
	log = log.With("scanner", cfg.ID)
	return &Scanner{cfg: cfg, log: log, sup: reader.Supervisor{
		Name: "barcode scanner", Device: cfg.Serial.Device, Log: log,
		Min: cfg.MinBackoff, Max: cfg.MaxBackoff, Busy: ErrRunning,
	}}
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
	f := NewFramer(s.cfg.Suffix, s.cfg.MaxLen)
	buf := make([]byte, readSize)
	toRead := func(fr Frame) { emit(s.read(fr)) }
	dev := s.cfg.Serial.Device
	return s.sup.Run(ctx, s.Hooks, func(ctx context.Context, open reader.Opener, up func()) error {
		p, err := open(s.cfg.Serial)
		if err != nil {
			return err
		}
		s.setPort(p)
		err = s.serve(ctx, p, f, buf, toRead, func() {
			path, _ := filepath.EvalSymlinks(dev)
			s.log.Info("barcode scanner connected", "device", dev, "path", path)
			up()
		})
		if closeErr := s.dropPort(); closeErr != nil && ctx.Err() == nil {
			s.log.Debug("barcode scanner close", "device", dev, "err", closeErr)
		}
		return err
	})
}

// serve reads from p until ctx is done or a read fails, feeding f. It
// calls up once, when the first read succeeds (with bytes or a timeout):
// a device that opens but cannot be read does not count as connected. It
// returns the read error, or ctx's error.
func (s *Scanner) serve(ctx context.Context, p reader.Port, f *Framer, buf []byte, emit func(Frame), up func()) error {
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
		if err == nil && up != nil {
			up()
			up = nil
		}
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

func (s *Scanner) now() func() time.Time {
	if s.Now != nil {
		return s.Now
	}
	return time.Now
}
