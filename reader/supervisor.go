package reader

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Hooks are the parts of a driver's Run that a program or a test may
// replace. The drivers (barcode.Scanner, mercury.Reader, bb7e.Reader)
// embed it, so its fields are theirs. Set them before Run and leave them
// alone while it runs.
type Hooks struct {
	// Opener opens the serial line; Open when nil.
	Opener Opener
	// Now returns the time; time.Now when nil. Drivers stamp what they
	// read with it and time their timeouts by it.
	Now func() time.Time
	// Sleep waits d or until ctx is done, returning ctx.Err() in the
	// latter case; Run waits with it between attempts to connect. A
	// timer when nil.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnState, when set, is called from Run's goroutine when the state of
	// the device changes: (true, nil) when it is ready (the driver's Run
	// says when that is); (false, err) when it was lost (err says why) or
	// when an attempt to connect failed with an error other than the last
	// one reported, so a device that stays away is reported once;
	// (false, nil) when Run closes the line on its way out. It must not
	// block and must not call Run.
	OnState func(connected bool, err error)
}

// Attempt is one try at a device, run by Supervisor.Run: it opens the
// line with open, calls up once the device is ready, serves it until ctx
// is done or the line or the device fails, closes the line and returns
// why it ended. The error must not be nil.
type Attempt func(ctx context.Context, open Opener, up func()) error

// ErrRunning is returned by Supervisor.Run, when its Busy is nil, while
// another Run is in.
var ErrRunning = errors.New("reader: already running")

// Supervisor is the run loop of a driver: it keeps a device connected
// for as long as a context lives, running an Attempt, reporting the
// outcome through Hooks.OnState and the log, waiting a jittered
// exponential Backoff and trying again; and it lets one Run in at a time.
// A driver keeps one, its exported fields set when the driver is made
// and left alone afterwards; then Run and Done may be called from any
// goroutine. A Supervisor must not be copied after first use.
//
// The backoff starts again from Min each time the device comes up (the
// attempt calls up), so the first wait after a loss is Min however often
// the device was lost before: a scanner replugged again and again is read
// again within Min of each replug. It grows only while attempts fail
// without coming up (the device missing, busy, or failing at once), so a
// device that opens and fails at once is tried no faster than the
// backoff, and its failure is reported once. An attempt that failed
// without coming up but lasted Max or longer (a slow set-up that timed
// out) starts it again too: its own length was wait enough. So does an
// attempt that found no device at its path (fs.ErrNotExist: unplugged):
// looking for a device costs nothing, and one plugged back in after a
// long absence must be read within Min, not after a backoff grown while
// it was away.
type Supervisor struct {
	// Name begins the log messages, as in "barcode scanner unavailable".
	Name string
	// Device is the path logged with each message, under "device".
	Device string
	// Log receives the state changes: unavailable and disconnected
	// (warn, with the error), closed (info). Nil discards them. The
	// driver's id is for the driver to add to it, once (see the drivers'
	// New).
	Log *slog.Logger
	// Min and Max bound the waits between attempts (see Backoff).
	Min, Max time.Duration
	// Rand returns a number in [0, 1) for the jitter; rand.Float64 when
	// nil.
	Rand func() float64
	// Busy is the error Run returns while another Run is in; ErrRunning
	// when nil.
	Busy error

	busy atomic.Bool
	mu   sync.Mutex
	done chan struct{} // closed when the Run that entered last returns
}

// Run runs attempt again and again until ctx is done, then returns nil,
// with h's Opener, Now, Sleep and OnState (defaults for nil ones). It
// returns Busy at once while another Run is in.
//
// After each attempt: when ctx is done it logs "closed" and reports
// (false, nil) if the device had come up, and returns. When the device
// had come up it logs "disconnected" and reports (false, err). Otherwise
// the attempt failed to connect: it logs "unavailable" and reports
// (false, err) when err's text differs from that of the last failure or
// loss reported. Then it waits the next backoff with Sleep, and returns
// when Sleep fails. up reports (true, nil).
func (s *Supervisor) Run(ctx context.Context, h Hooks, attempt Attempt) error {
	if !s.busy.CompareAndSwap(false, true) {
		if s.Busy == nil {
			return ErrRunning
		}
		return s.Busy
	}
	done := make(chan struct{})
	s.mu.Lock()
	s.done = done
	s.mu.Unlock()
	defer func() {
		close(done)
		s.busy.Store(false)
	}()
	s.loop(ctx, h, attempt)
	return nil
}

// Done returns a channel that is closed when the Run that began last
// returns, and nil before the first Run.
func (s *Supervisor) Done() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

// loop is Run once in.
func (s *Supervisor) loop(ctx context.Context, h Hooks, attempt Attempt) {
	open := h.Opener
	if open == nil {
		open = Open
	}
	sleep := h.Sleep
	if sleep == nil {
		sleep = SleepContext
	}
	now := h.Now
	if now == nil {
		now = time.Now
	}
	rnd := s.Rand
	if rnd == nil {
		rnd = rand.Float64
	}
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	state := func(connected bool, err error) {
		if h.OnState != nil {
			h.OnState(connected, err)
		}
	}

	b := Backoff{Min: s.Min, Max: s.Max, Rand: rnd}
	var reported string // the text of the last failure or loss reported
	for ctx.Err() == nil {
		start := now()
		isUp := false
		err := attempt(ctx, open, func() {
			isUp = true
			b.Reset()
			state(true, nil)
		})
		if ctx.Err() != nil {
			if isUp {
				log.Info(s.Name+" closed", "device", s.Device)
				state(false, nil)
			}
			return
		}
		if isUp {
			log.Warn(s.Name+" disconnected", "device", s.Device, "err", err)
			reported = err.Error()
			state(false, err)
		} else {
			if msg := err.Error(); msg != reported {
				reported = msg
				log.Warn(s.Name+" unavailable", "device", s.Device, "err", err)
				state(false, err)
			}
			if now().Sub(start) >= s.Max || errors.Is(err, fs.ErrNotExist) {
				b.Reset()
			}
		}
		if sleep(ctx, b.Next()) != nil {
			return
		}
	}
}

// SleepContext waits d or until ctx is done, returning ctx.Err() then:
// the default Hooks.Sleep.
func SleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
