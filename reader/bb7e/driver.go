package bb7e

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/udi-edge/udi-edge/agent"

	serialport "github.com/udi-edge/udi-edge/reader"
)

// Errors of the driver (Reader). The protocol's own errors (ErrModule,
// ErrMalformed, ErrTagCRC) are in tag.go.
var (
	// ErrRunning is returned by Run when the Reader is already running.
	ErrRunning = errors.New("bb7e: reader already running")
	// ErrTimeout matches every *TimeoutError with errors.Is.
	ErrTimeout = errors.New("bb7e: no response")
	// ErrHung matches every *HungError with errors.Is.
	ErrHung = errors.New("bb7e: reader silent")
)

// TimeoutError is a command whose response did not arrive, after the one
// retry. The driver restarts the connection on it.
type TimeoutError struct {
	// Command is the command sent.
	Command Command
	// After is how long each attempt waited.
	After time.Duration
	// Attempts is the number of times the command was sent.
	Attempts int
}

// Error implements error.
func (e *TimeoutError) Error() string {
	return fmt.Sprintf("bb7e: no response to %v: %d attempts of %v", e.Command, e.Attempts, e.After)
}

// Is reports whether target is ErrTimeout.
func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }

// HungError reports a module that sent nothing while polling for longer
// than ReaderConfig.KeepAliveTimeout, also right after multi-poll was
// issued again.
type HungError struct {
	// Silent is how long the line stayed without a frame.
	Silent time.Duration
}

// Error implements error.
func (e *HungError) Error() string {
	return fmt.Sprintf("bb7e: reader silent for %v while polling, also after polling was issued again", e.Silent.Round(time.Millisecond))
}

// Is reports whether target is ErrHung.
func (e *HungError) Is(target error) bool { return target == ErrHung }

// TagEvent is one tag read as the driver hands it on: the codec's TagRead,
// its Gen2 CRC checked, with the reader's id and the host time it arrived.
type TagEvent struct {
	// Reader is the configured id of the reader (ReaderConfig.ID).
	Reader string
	// Time is when the bytes that completed the notification were read.
	Time time.Time
	// Tag is the read; CRCValid is always true (reads whose CRC does not
	// match are dropped and counted). Its EPC does not alias the
	// driver's buffers and may be kept; it is carved from a block shared
	// with neighbouring reads, so a long-lived index should copy it.
	Tag TagRead
}

// Counters are what a Reader has counted since New; every field only
// grows.
type Counters struct {
	// Reads is the number of tag reads emitted.
	Reads uint64
	// TagCRCErrors counts notifications dropped because the tag's Gen2
	// CRC did not match its PC and EPC.
	TagCRCErrors uint64
	// Malformed counts frames with a good checksum that could not be
	// parsed; they are dropped.
	Malformed uint64
	// BadChecksum, BadTail and BadHeader count frame candidates rejected
	// by the decoder; each cost a resynchronisation.
	BadChecksum, BadTail, BadHeader uint64
	// SkippedBytes counts bytes dropped while resynchronising.
	SkippedBytes uint64
	// Truncated counts frames abandoned because the line went quiet
	// before their last byte.
	Truncated uint64
	// EmptyRounds counts error 0x15 frames: inventory rounds that found
	// no tag. They are normal and not logged.
	EmptyRounds uint64
	// ModuleErrors counts other error frames; they are logged,
	// rate-limited.
	ModuleErrors uint64
	// Polls counts multi-poll commands issued.
	Polls uint64
	// Connects counts completed set-ups.
	Connects uint64
	// Retries counts commands sent a second time after a timeout.
	Retries uint64
}

type counters struct {
	reads, tagCRC, malformed, badChecksum, badTail, badHeader atomic.Uint64
	skipped, truncated, empty, moduleErrors, polls, connects  atomic.Uint64
	retries                                                   atomic.Uint64
}

// Reader drives one M100/QM100/R200 module on a serial line. Create it
// with New, set the optional fields, then call Run. Counters, Connected
// and Info may be called from any goroutine.
type Reader struct {
	// Hooks holds the optional fields: Opener (reader.Open when nil), Now
	// (time.Now when nil), Sleep (Run's wait between attempts to connect;
	// a timer when nil) and OnState. OnState is called with (true, nil)
	// when the module is set up and polling, and with (false, err) when
	// it was lost or an attempt to connect failed.
	serialport.Hooks

	cfg     ReaderConfig
	framing Framing
	log     *slog.Logger

	sup       serialport.Supervisor
	connected atomic.Bool
	info      atomic.Pointer[[2]string]
	n         counters
}

// New returns a Reader for cfg, with defaults filled in (see
// ReaderConfig.WithDefaults). The configuration is checked by Run. log
// receives state changes and the module's versions (info), faults (warn)
// and, rate-limited, line noise, dropped reads and module errors; never a
// tag's EPC. A nil log discards them.
//
// The Reader adds its id to every record, once, under the key "reader":
// the caller must not add that key to log itself (a JSON log line with a
// key twice is rejected by many pipelines); "component" and the like are
// the caller's.
func New(cfg ReaderConfig, log *slog.Logger) *Reader {
	cfg = cfg.WithDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	fr, _ := cfg.framing()
	log = log.With("reader", cfg.ID)
	return &Reader{cfg: cfg, framing: fr, log: log, sup: serialport.Supervisor{
		Name: "bb7e reader", Device: cfg.Serial.Device, Log: log,
		Min: cfg.MinBackoff, Max: cfg.MaxBackoff, Busy: ErrRunning,
	}}
}

// Config returns the reader's configuration, defaults filled in.
func (r *Reader) Config() ReaderConfig { return r.cfg }

// Connected reports whether the module is set up and polling.
func (r *Reader) Connected() bool { return r.connected.Load() }

// Info returns the module's hardware and software version texts from the
// last connection ("M100 26dBm V1.0"), and false before the first.
func (r *Reader) Info() (hardware, software string, ok bool) {
	if p := r.info.Load(); p != nil {
		return p[0], p[1], true
	}
	return "", "", false
}

// Counters returns the counts so far.
func (r *Reader) Counters() Counters {
	n := &r.n
	return Counters{
		Reads: n.reads.Load(), TagCRCErrors: n.tagCRC.Load(), Malformed: n.malformed.Load(),
		BadChecksum: n.badChecksum.Load(), BadTail: n.badTail.Load(), BadHeader: n.badHeader.Load(),
		SkippedBytes: n.skipped.Load(), Truncated: n.truncated.Load(), EmptyRounds: n.empty.Load(),
		ModuleErrors: n.moduleErrors.Load(), Polls: n.polls.Load(), Connects: n.connects.Load(),
		Retries: n.retries.Load(),
	}
}

// Run connects to the module, sets it up, polls it and calls emit once
// per tag notification whose Gen2 CRC is good, in order, from Run's
// goroutine.
//
// emit must return at once: hand the event on and do the work elsewhere;
// while it runs the module's output waits in the kernel's buffer. The
// TagEvent is emit's to keep.
//
// The start-up sequence on each connection: open the line; module
// information (hardware, then software version); set region; set
// transmit power; multi-poll for ReaderConfig.PollCount rounds. Each
// command waits ReaderConfig.CommandTimeout for its response and is sent
// once more on silence; a second silence, a module error or a failed read
// closes the line, and Run connects again after a jittered exponential
// backoff, for as long as ctx lives, running the whole set-up again.
//
// Every polling round sends a frame (tag notifications, or error 0x15
// when it found none, counted and not logged). A line without frames for
// ReaderConfig.KeepAliveTimeout means the burst is over (or the module
// lost it): after ReaderConfig.Rest, multi-poll is issued again; a second
// silence right after restarts the connection.
//
// When ctx is done Run stops the multi-poll (emitting the reads that
// arrive before the module acknowledges), closes the line and returns
// nil. It returns an error at once only when the configuration is
// invalid or the Reader is already running.
//
// RunEvents hands emit the driver's own TagEvent, with the module's
// metadata (frequency, phase, timestamps); Run hands the core the domain's
// agent.TagRead.
func (r *Reader) RunEvents(ctx context.Context, emit func(TagEvent)) error {
	if err := r.cfg.Validate(); err != nil {
		return err
	}
	s := newSession(r, emit)
	return r.sup.Run(ctx, r.Hooks, func(ctx context.Context, open serialport.Opener, up func()) error {
		p, err := open(r.cfg.Serial)
		if err != nil {
			return err
		}
		defer s.close()
		return s.serve(ctx, p, up)
	})
}

func (r *Reader) now() func() time.Time {
	if r.Now != nil {
		return r.Now
	}
	return time.Now
}

// Run is RunEvents handing on each read as the domain's agent.TagRead, as
// the barcode driver hands its reads on as agent.Read.
func (r *Reader) Run(ctx context.Context, emit func(agent.TagRead)) error {
	return r.RunEvents(ctx, func(ev TagEvent) { emit(ev.TagRead()) })
}

// TagRead returns ev as the domain's tag read.
func (ev TagEvent) TagRead() agent.TagRead {
	return agent.TagRead{Reader: ev.Reader, Antenna: 1, RSSI: ev.Tag.RSSI, PC: ev.Tag.PC, EPC: ev.Tag.EPC, Time: ev.Time}
}
