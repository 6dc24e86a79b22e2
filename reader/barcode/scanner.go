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
// set the optional fields, then call Run. Answer, Stats, Write and
// Connected may be called from any goroutine.
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
	answers   *answerQueue
	garbled   atomic.Uint64
	connected atomic.Bool
	mu        sync.Mutex  // guards port against Write racing Close
	port      reader.Port // nil while disconnected
}

// New returns a Scanner for cfg, with defaults filled in (see
// Config.WithDefaults). The configuration is checked by Run. log receives
// the scanner's state changes (info, warn), rejected frames, garbled
// frames and missed answers (warn) and, at debug, each frame's length and
// symbology, never its contents. A nil log discards them.
//
// The Scanner adds its id to every record, once, under the key "scanner":
// the caller must not add that key to log itself (a JSON log line with a
// key twice is rejected by many pipelines); "component" and the like are
// the caller's.
func New(cfg Config, log *slog.Logger) *Scanner {
	cfg = cfg.WithDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("scanner", cfg.ID)
	return &Scanner{cfg: cfg, log: log, answers: newAnswerQueue(cfg.AnswerBuffer, log), sup: reader.Supervisor{
		Name: "barcode scanner", Device: cfg.Serial.Device, Log: log,
		Min: cfg.MinBackoff, Max: cfg.MaxBackoff, Busy: ErrRunning,
	}}
}

// Config returns the scanner's configuration, defaults filled in.
func (s *Scanner) Config() Config { return s.cfg }

// Connected reports whether the device is open.
func (s *Scanner) Connected() bool { return s.connected.Load() }

// Stats counts what became of the answers given to Scanner.Answer, and
// the garbled frames read, since New.
type Stats struct {
	// Answers and AnswerBytes count the answers written whole to the
	// scanner.
	Answers, AnswerBytes uint64
	// Missed and MissedBytes count the answers never written, or written
	// in part: given while the scanner was not connected or for a scan
	// read over an earlier connection, beyond Config.AnswerBuffer, or
	// still queued when the connection ended.
	Missed, MissedBytes uint64
	// Queued is the number of answers waiting to be written now.
	Queued int
	// Garbled counts the frames that looked like the bytes of a scanner
	// whose baud rate, data bits or parity differ from the configured
	// ones (see Run).
	Garbled uint64
}

// Stats returns the counts so far.
func (s *Scanner) Stats() Stats {
	st := s.answers.snapshot()
	st.Garbled = s.garbled.Load()
	return st
}

// Answer queues b, the feedback for one scan (a beep or an LED command,
// vendor-specific bytes; see Write), to be written to the scanner by Run,
// after the answers queued before it; answers queued together are written
// together, in few writes. scanned is the Time of the agent.Read being
// answered, or the zero time for an answer to no scan in particular.
//
// Answer never blocks and never fails: an answer that cannot be written
// is counted missed (Stats) and logged, one line per burst with a count.
// It is missed when the scanner is not connected, when its scan was read
// over an earlier connection than the current one (an answer must never
// beep for a later scan), when the answers waiting would pass
// Config.AnswerBuffer, or when it is still waiting as the connection ends.
// The bytes are copied: b may be reused.
func (s *Scanner) Answer(scanned time.Time, b []byte) { s.answers.add(scanned, b) }

// Write sends p to the scanner at once, outside the queue of answers: it
// returns ErrDisconnected when the device is not open, or the write error.
// A write blocks while the line's output buffer is full. For the answers
// to scans use Answer, which never blocks.
func (s *Scanner) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.port == nil {
		return 0, ErrDisconnected
	}
	return s.port.Write(p)
}

// Run opens the device, cuts what it sends into frames and calls emit with
// one agent.Read per frame, in order, from Run's goroutine. While the
// device is connected it writes the answers given to Answer. emit must
// return quickly (hand the read on); while it runs, bytes wait in the
// kernel's buffer. The agent.Read it receives is its own to keep.
//
// When the device cannot be opened, or a read fails because it went away,
// Run logs the change, closes the port, waits with jittered exponential
// backoff and opens it again, for as long as ctx lives. Bytes of a frame
// cut off by the loss are emitted as a Read with an ErrIncompleteFrame
// error, never dropped.
//
// A device held by another opener (reader.ErrDeviceBusy: another agent, a
// udi-edge tool, a second scanner configured on the same device) is taken
// like one that cannot be opened: Run reports it once and tries again.
//
// Three garbled frames in a row (mostly bytes that no scanner sends, the
// mark of a scanner whose baud rate, data bits or parity differ from the
// configured ones) make Run log a warning that names the configured
// settings ("9600 8N1"), once until a good frame comes. The frames are
// emitted all the same.
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
	var watch garbleWatch
	toRead := func(fr Frame) { emit(s.read(fr, &watch)) }
	dev := s.cfg.Serial.Device
	defer s.answers.logMisses()
	return s.sup.Run(ctx, s.Hooks, func(ctx context.Context, open reader.Opener, up func()) error {
		p, err := open(s.cfg.Serial)
		if err != nil {
			return err
		}
		s.setPort(p)
		endAnswers := s.answers.connect(p, s.now()())
		err = s.serve(ctx, p, f, buf, toRead, func() {
			path, _ := filepath.EvalSymlinks(dev)
			s.log.Info("barcode scanner connected", "device", dev, "path", path)
			up()
		})
		// Stopped by ctx, the device is still there: the answers queued
		// get a moment to reach it.
		endAnswers(ctx.Err() != nil)
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

// read turns a frame into the agent's Read, copying its bytes, and notes
// in w whether it looks garbled.
func (s *Scanner) read(fr Frame, w *garbleWatch) agent.Read {
	raw := bytes.Clone(fr.Raw)
	sym, data := SplitAIM(raw)
	if fr.Err != nil {
		s.log.Warn("barcode frame rejected", "bytes", len(raw), "symbology", sym, "err", fr.Err)
	} else {
		s.log.Debug("barcode frame", "bytes", len(raw), "symbology", sym)
	}
	isGarbled, hint := w.note(raw)
	if isGarbled {
		s.garbled.Add(1)
	}
	if hint {
		s.log.Warn("barcode frames garbled: check that the scanner's baud rate, data bits and parity match the configured ones",
			"device", s.cfg.Serial.Device, "serial", s.cfg.Serial.Notation(), "frames", garbledRun)
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
