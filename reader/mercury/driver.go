package mercury

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/udi-edge/udi-edge/agent"

	serialport "github.com/udi-edge/udi-edge/reader"
)

// TagEvent is one tag read as the driver hands it on: the codec's TagRead,
// its Gen2 CRC checked, with the reader's id and the host time it arrived.
type TagEvent struct {
	// Reader is the configured id of the reader (Config.ID).
	Reader string
	// Time is when the bytes that completed the record were read from
	// the line. The module's own Tag.Timestamp counts from the start of
	// its search cycle and is not a wall time.
	Time time.Time
	// Tag is the read. CRCValid is always true: records whose Gen2 CRC
	// does not match are dropped and counted, never emitted. Its EPC and
	// Data do not alias the driver's buffers and may be kept; they are
	// carved from blocks shared with neighbouring reads, so a long-lived
	// index should copy them (into a string or an array) rather than hold
	// many of them.
	Tag TagRead
}

// Counters are what a Reader has counted since New. Every field only
// grows, except Temperature.
type Counters struct {
	// Reads is the number of tag reads emitted.
	Reads uint64
	// TagCRCErrors counts tag records dropped because their Gen2 CRC did
	// not match their PC and EPC.
	TagCRCErrors uint64
	// Malformed counts frames with a good frame CRC whose contents could
	// not be parsed (and tag records of protocols other than Gen2, whose
	// CRC cannot be checked); they are dropped.
	Malformed uint64
	// BadFrameCRC counts frame candidates whose frame CRC failed; each
	// cost a resynchronisation.
	BadFrameCRC uint64
	// SkippedBytes counts bytes dropped while resynchronising.
	SkippedBytes uint64
	// Truncated counts frames abandoned because the line went quiet
	// before their last byte.
	Truncated uint64
	// KeepAlives counts the end-of-cycle keep-alives received.
	KeepAlives uint64
	// StatusErrors counts module status reports during reading other than
	// keep-alives (over temperature, buffer full, high return loss, ...).
	StatusErrors uint64
	// CoolDowns counts pauses for an over-temperature module.
	CoolDowns uint64
	// Restarts counts restarts of continuous reading (module silent,
	// buffer full, reading stopped by the module).
	Restarts uint64
	// Connects counts completed set-ups (the first one included).
	Connects uint64
	// Retries counts commands sent a second time after a timeout.
	Retries uint64
	// Temperature is the module temperature in °C last reported by a
	// statistics record (Config.TemperatureStats), 0 before the first.
	Temperature int
}

type counters struct {
	reads, tagCRC, malformed, badCRC, skipped, truncated             atomic.Uint64
	keepAlives, statusErrors, coolDowns, restarts, connects, retries atomic.Uint64
	temperature                                                      atomic.Int64
}

// Reader drives one Mercury module on a serial line. Create it with New,
// set the optional fields, then call Run. Counters, Connected, Version and
// WriteEPC may be called from any goroutine.
type Reader struct {
	// Hooks holds the optional fields: Opener (reader.Open when nil), Now
	// (stamps reads and times the command timeouts and the keep-alive
	// watch; time.Now when nil), Sleep (Run's wait between attempts to
	// connect; a timer when nil) and OnState. OnState is called with
	// (true, nil) when the module is set up and reading, and with
	// (false, err) when it was lost or an attempt to connect failed.
	serialport.Hooks

	cfg Config
	log *slog.Logger

	sup       serialport.Supervisor // its Done is closed when the current Run returns
	connected atomic.Bool
	version   atomic.Pointer[Version]
	n         counters
	reqs      chan *writeReq
}

// writeReq is a WriteEPC call handed to Run's goroutine.
type writeReq struct {
	epc  []byte
	done chan error // buffered: Run never waits for the caller
}

// New returns a Reader for cfg, with defaults filled in (see
// Config.WithDefaults). The configuration is checked by Run. log receives
// the reader's state changes and its module's version (info), faults
// (warn) and, rate-limited, line noise and dropped reads; never a tag's
// EPC or data. A nil log discards them.
//
// The Reader adds its id to every record, once, under the key "reader":
// the caller must not add that key to log itself (a JSON log line with a
// key twice is rejected by many pipelines); "component" and the like are
// the caller's.
func New(cfg Config, log *slog.Logger) *Reader {
	cfg = cfg.WithDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("reader", cfg.ID)
	return &Reader{cfg: cfg, log: log, reqs: make(chan *writeReq), sup: serialport.Supervisor{
		Name: "mercury reader", Device: cfg.Serial.Device, Log: log,
		Min: cfg.MinBackoff, Max: cfg.MaxBackoff, Busy: ErrRunning,
	}}
}

// Config returns the reader's configuration, defaults filled in.
func (r *Reader) Config() Config { return r.cfg }

// Connected reports whether the module is set up and reading.
func (r *Reader) Connected() bool { return r.connected.Load() }

// Version returns the module's answer to VERSION on the last connection,
// and false before the first.
func (r *Reader) Version() (Version, bool) {
	if v := r.version.Load(); v != nil {
		return *v, true
	}
	return Version{}, false
}

// Counters returns the counts so far.
func (r *Reader) Counters() Counters {
	n := &r.n
	return Counters{
		Reads:        n.reads.Load(),
		TagCRCErrors: n.tagCRC.Load(),
		Malformed:    n.malformed.Load(),
		BadFrameCRC:  n.badCRC.Load(),
		SkippedBytes: n.skipped.Load(),
		Truncated:    n.truncated.Load(),
		KeepAlives:   n.keepAlives.Load(),
		StatusErrors: n.statusErrors.Load(),
		CoolDowns:    n.coolDowns.Load(),
		Restarts:     n.restarts.Load(),
		Connects:     n.connects.Load(),
		Retries:      n.retries.Load(),
		Temperature:  int(n.temperature.Load()),
	}
}

// Run connects to the module, sets it up, starts continuous reading and
// calls emit once per tag read whose Gen2 CRC is good, in order, from
// Run's goroutine.
//
// emit must return at once: hand the event on (a buffered channel, a
// non-blocking send) and do the work elsewhere. While emit runs nothing
// else happens on the line: the module's output waits in the kernel's
// buffer, WriteEPC waits, and the keep-alive watch may take the pause for
// a hung module. The TagEvent is emit's to keep.
//
// The start-up sequence on each connection: open the line (probing the
// line speed when configured), VERSION (leaving the bootloader if the
// module is in it), SET_REGION, SET_READ_TX_POWER, SET_ANTENNA_PORT,
// SET_TAG_PROTOCOL Gen2, then the start of continuous reading. Each
// command waits Config.CommandTimeout for its response and is sent once
// more on silence; a second silence, a module error or a failed read of
// the line closes it, and Run connects again after a jittered exponential
// backoff, for as long as ctx lives, running the whole set-up again.
//
// While reading Run watches the line: a keep-alive ends every search
// cycle, so a line without frames for Config.KeepAliveTimeout restarts
// reading, and a second such silence restarts the connection. An
// over-temperature report (0x0504, or a temperature record at
// Config.TemperatureLimit) stops reading for Config.CoolDown; a full tag
// buffer (0x0601), or reading stopped by the module, restarts it. Other
// module errors are logged in words, rate-limited, and counted.
//
// When ctx is done Run stops reading (sending the stop command and
// emitting the reads the module still sends before acknowledging it),
// closes the line and returns nil. It returns an error at once only when
// the configuration is invalid or the Reader is already running.
//
// RunEvents hands emit the driver's own TagEvent, with the module's
// metadata (frequency, phase, timestamps); Run hands the core the domain's
// agent.TagRead.
func (r *Reader) RunEvents(ctx context.Context, emit func(TagEvent)) error {
	if err := r.cfg.Validate(); err != nil {
		return err
	}
	s := newSession(r, emit)
	baud := r.cfg.Serial.Baud
	return r.sup.Run(ctx, r.Hooks, func(ctx context.Context, open serialport.Opener, up func()) error {
		if err := s.connect(ctx, open, &baud); err != nil {
			return err
		}
		defer s.close()
		return s.serve(ctx, up)
	})
}

// WriteEPC writes epc (an even number of bytes, at most MaxEPCLen) to the
// one tag in the reader's field, for commissioning a tag to an item. It
// hands the job to Run's goroutine, which stops continuous reading, takes
// an inventory to make sure exactly one tag is present, issues
// WRITE_TAG_ID, reads the tag back to verify the EPC, and resumes
// reading. Reads do not stream meanwhile (about two inventories and a
// write: one to two seconds with the defaults).
//
// The error is ErrDisconnected when Run is not running or the module is
// not set up; ErrNoTag; a *MultipleTagsError; a *WriteError carrying the
// module's status; a *VerifyError when the EPC read back differs; a
// *TimeoutError or a line error when the module stopped answering (Run
// then reconnects); ctx's error when ctx ends first (a job already begun
// is finished by Run all the same, its outcome logged); or
// ErrInvalidArgument (wrapped) for an EPC that cannot be written.
func (r *Reader) WriteEPC(ctx context.Context, epc []byte) error {
	if len(epc) == 0 || len(epc)%2 != 0 || len(epc) > MaxEPCLen {
		return fmt.Errorf("%w: EPC of %d bytes, want an even number from 2 to %d", ErrInvalidArgument, len(epc), MaxEPCLen)
	}
	done := r.sup.Done()
	if done == nil || !r.connected.Load() {
		return ErrDisconnected
	}
	req := &writeReq{epc: bytes.Clone(epc), done: make(chan error, 1)}
	select {
	case r.reqs <- req:
	case <-done:
		return ErrDisconnected
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
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
	return agent.TagRead{Reader: ev.Reader, Antenna: ev.Tag.Antenna, RSSI: ev.Tag.RSSI, PC: ev.Tag.PC, EPC: ev.Tag.EPC, Time: ev.Time}
}
