package mercury

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	serialport "github.com/udi-edge/udi-edge/reader"
)

// readSize is the size of the buffer handed to each read of the line.
const readSize = 4096

// session is the state of Run's goroutine: the line, the decoder, the
// command in flight and what the stream has reported. Only Run's
// goroutine touches it.
type session struct {
	r    *Reader
	cfg  *Config
	emit func(TagEvent)
	now  func() time.Time

	port  serialport.Port
	baud  int
	quiet time.Duration // a longest frame's time on the line, with a margin
	dec   Decoder
	in    serialport.Pump[Frame] // reads port into dec; its Arrival stamps reads
	ev    Event
	arena serialport.Arena

	lastFrame time.Time // when the last whole frame arrived
	frames    uint64    // frames since the line was opened

	// A command in flight: the response with opcode want is copied to
	// resp when it arrives.
	waiting    bool
	want       Opcode
	got        bool
	resp       [MaxResponseLen]byte
	respFrame  Frame
	streamSeen bool // streamed records arrived while waiting

	// What continuous reading reported.
	reading        bool   // start acknowledged, stop not yet sent
	stopped        bool   // the module acknowledged a stop
	hot            bool   // over temperature
	full           bool   // tag buffer full
	silenceRestart bool   // reading was last restarted for silence
	startFrames    uint64 // frames at the acknowledgement of the last start
	respFrames     uint64 // frames at the last command response
	temperature    int    // last logged temperature

	// Rate-limited logging of noise and module errors.
	logged     Counters // counts at the last noise log line
	noiseLogAt time.Time
	statusLog  serialport.LogLimit[Status]
}

func newSession(r *Reader, emit func(TagEvent)) *session {
	s := &session{
		r:         r,
		cfg:       &r.cfg,
		emit:      emit,
		now:       r.now(),
		statusLog: serialport.LogLimit[Status]{Interval: r.cfg.NoiseLogInterval},
	}
	s.in = serialport.Pump[Frame]{Dec: &s.dec, Handle: s.handle, Now: s.now, Buf: make([]byte, readSize)}
	return s
}

// connect opens the line at *baud or, when probing, at the first rate the
// module answers, which it stores in *baud.
func (s *session) connect(ctx context.Context, open serialport.Opener, baud *int) error {
	rates := []int{*baud}
	if s.cfg.ProbeBaud {
		for _, r := range ProbeRates {
			if r != *baud {
				rates = append(rates, r)
			}
		}
	}
	for _, rate := range rates {
		settings := s.cfg.Serial
		settings.Baud = rate
		p, err := open(settings)
		if err != nil {
			return err
		}
		if err := s.attach(p, rate); err != nil {
			s.close()
			return err
		}
		if !s.cfg.ProbeBaud {
			return nil
		}
		ok, err := s.probe(ctx)
		if err != nil {
			s.close()
			return err
		}
		if ok {
			if rate != *baud {
				s.r.log.Info("mercury reader line speed found", "device", s.cfg.Serial.Device, "baud", rate)
			}
			*baud = rate
			return nil
		}
		s.close()
	}
	return &ProbeError{Rates: rates}
}

// attach makes p the session's line.
func (s *session) attach(p serialport.Port, baud int) error {
	// A read that waits longer than a longest response takes on the line
	// finds a frame in progress cut off.
	s.port, s.baud, s.quiet = p, baud, serialport.QuietTime(MaxResponseLen, baud)
	s.dec.Reset()
	s.frames = 0
	s.lastFrame = s.now()
	s.waiting, s.got, s.streamSeen = false, false, false
	s.reading, s.stopped, s.hot, s.full, s.silenceRestart = false, false, false, false, false
	if err := p.SetReadTimeout(s.quiet); err != nil {
		return fmt.Errorf("set read timeout: %w", err)
	}
	return nil
}

// probe sends VERSION and reports whether any valid frame came back
// within Config.ProbeTimeout: a module streaming from an earlier session
// proves the line speed as well as an answer does.
func (s *session) probe(ctx context.Context) (bool, error) {
	if _, err := s.port.Write(CmdVersion()); err != nil {
		return false, err
	}
	s.want, s.waiting, s.got = OpVersion, true, false
	defer func() { s.waiting = false }()
	return s.await(ctx, s.cfg.ProbeTimeout, func() bool { return s.frames > 0 })
}

// close stops continuous reading if it runs (emitting the reads that
// arrive until the module acknowledges) and closes the line.
func (s *session) close() {
	if s.port == nil {
		return
	}
	if s.reading {
		if err := s.stopReading(context.Background()); err != nil {
			s.r.log.Debug("mercury reader stop", "err", err)
		}
	}
	s.r.connected.Store(false)
	if err := s.port.Close(); err != nil {
		s.r.log.Debug("mercury reader close", "device", s.cfg.Serial.Device, "err", err)
	}
	s.port = nil
	s.reading = false
}

// serve sets the module up and streams its reads until ctx is done or
// the line fails; it calls up once the module reads.
func (s *session) serve(ctx context.Context, up func()) error {
	if err := s.setup(ctx); err != nil {
		return err
	}
	s.r.n.connects.Add(1)
	path, _ := filepath.EvalSymlinks(s.cfg.Serial.Device)
	s.r.log.Info("mercury reader reading", "device", s.cfg.Serial.Device, "path", path, "baud", s.baud,
		"region", s.cfg.Region, "read_power_cdbm", s.cfg.ReadPowerCdBm, "antennas", s.cfg.Antennas)
	s.r.connected.Store(true)
	up()
	return s.stream(ctx)
}

// setup runs the start-up sequence up to and including the start of
// continuous reading.
func (s *session) setup(ctx context.Context) error {
	v, err := s.version(ctx)
	if err != nil {
		return err
	}
	if v.InBootloader() {
		s.r.log.Info("mercury reader in its bootloader: starting the application firmware")
		if _, err := s.command(ctx, CmdBootFirmware(), s.cfg.CommandTimeout+2*time.Second); err != nil {
			return fmt.Errorf("boot firmware: %w", err)
		}
		if v, err = s.version(ctx); err != nil {
			return err
		}
	}
	s.r.version.Store(&v)
	s.r.log.Info("mercury reader version", "model", v.Model().String(), "hardware", v.HardwareString(),
		"firmware", v.FirmwareString(), "firmware_date", v.FirmwareDateString(), "bootloader", v.BootloaderString())
	if !v.Supports(ProtocolGen2) {
		s.r.log.Warn("mercury reader does not list Gen2 among its protocols", "protocols", fmt.Sprintf("0x%08X", v.Protocols))
	}
	region, _ := ParseRegion(s.cfg.Region) // Validate checked it
	for _, req := range [][]byte{
		CmdSetRegion(region),
		CmdSetReadPower(int16(s.cfg.ReadPowerCdBm)),
		s.cfg.antennaCommand(),
		CmdSetProtocol(ProtocolGen2),
	} {
		if _, err := s.command(ctx, req, s.cfg.CommandTimeout); err != nil {
			return fmt.Errorf("set-up: %w", err)
		}
	}
	return s.startReading(ctx)
}

func (s *session) version(ctx context.Context) (Version, error) {
	f, err := s.command(ctx, CmdVersion(), s.cfg.CommandTimeout)
	if err != nil {
		return Version{}, fmt.Errorf("version: %w", err)
	}
	return ParseVersion(f)
}

// command sends req and waits up to timeout for the response with the
// same opcode; on silence it sends req once more. When the module turns
// out to be still streaming from an earlier session, it stops it and asks
// again. The Frame is valid until the next command; the error is a
// *TimeoutError, the module's *Error for a status other than OK, ctx's
// error or the line's.
func (s *session) command(ctx context.Context, req []byte, timeout time.Duration) (Frame, error) {
	op := Opcode(req[2])
	stopped := false
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			s.r.n.retries.Add(1)
			s.r.log.Debug("mercury reader command retried", "op", op.String())
		}
		s.want, s.waiting, s.got, s.streamSeen = op, true, false, false
		if _, err := s.port.Write(req); err != nil {
			s.waiting = false
			return Frame{}, err
		}
		ok, err := s.await(ctx, timeout, func() bool { return s.got || (s.streamSeen && !stopped) })
		s.waiting = false
		if err != nil {
			return Frame{}, err
		}
		if s.got {
			return s.respFrame, s.respFrame.Err()
		}
		if ok { // streamed records instead of an answer
			stopped = true
			s.r.log.Info("mercury reader still reading from before: stopping it")
			if err := s.stopReading(ctx); err != nil {
				return Frame{}, err
			}
			attempt = 0
			continue
		}
		if attempt == 2 {
			return Frame{}, &TimeoutError{Op: op, After: timeout, Attempts: attempt}
		}
	}
}

// await reads the line until cond holds (true), timeout passes (false) or
// ctx is done or the line fails (the error).
func (s *session) await(ctx context.Context, timeout time.Duration, cond func() bool) (bool, error) {
	return serialport.Await(ctx, s.now, timeout, cond, s.pump)
}

// startReading starts continuous reading and waits for the module to
// acknowledge it.
func (s *session) startReading(ctx context.Context) error {
	f, err := s.command(ctx, s.cfg.startCommand(), s.cfg.CommandTimeout)
	if err != nil {
		return fmt.Errorf("start reading: %w", err)
	}
	var ev Event
	if err := ParseEvent(f, &ev); err != nil || ev.Kind != KindStarted {
		return fmt.Errorf("start reading: %w: answered with a %v record", ErrMalformed, ev.Kind)
	}
	s.reading, s.stopped = true, false
	s.startFrames = s.respFrames
	s.lastFrame = s.now()
	return nil
}

// stopReading sends the stop command and waits for its acknowledgement,
// emitting the reads that come first; on silence it sends it once more.
func (s *session) stopReading(ctx context.Context) error {
	s.reading = false
	for attempt := 1; attempt <= 2; attempt++ {
		s.stopped = false
		if _, err := s.port.Write(CmdStopContinuous()); err != nil {
			return err
		}
		ok, err := s.await(ctx, s.cfg.CommandTimeout, func() bool { return s.stopped })
		if err != nil || ok {
			return err
		}
		if attempt == 1 {
			s.r.n.retries.Add(1)
		}
	}
	return &TimeoutError{Op: OpMultiProtocolTagOp, After: s.cfg.CommandTimeout, Attempts: 2}
}

// restartReading stops and starts continuous reading again. A module that
// does not acknowledge the stop is started all the same.
func (s *session) restartReading(ctx context.Context) error {
	s.r.n.restarts.Add(1)
	s.silenceRestart = false
	if err := s.stopReading(ctx); err != nil && !errors.Is(err, ErrTimeout) {
		return err
	}
	s.full = false
	return s.startReading(ctx)
}

// stream reads the line while continuous reading runs, acting on what
// the module reports and on WriteEPC jobs, until ctx is done or the line
// or the module fails.
func (s *session) stream(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		select {
		case req := <-s.r.reqs:
			if err := s.serveWrite(ctx, req); err != nil {
				return err
			}
			continue
		default:
		}
		if err := s.pump(); err != nil {
			return err
		}
		switch {
		case s.hot:
			if err := s.coolDown(ctx); err != nil {
				return err
			}
		case s.full:
			s.r.log.Warn("mercury reader tag buffer full: restarting reading", "status", StatusTagBufferFull.String())
			if err := s.restartReading(ctx); err != nil {
				return err
			}
		case s.stopped:
			s.r.log.Warn("mercury reader stopped reading by itself: restarting reading")
			s.r.n.restarts.Add(1)
			if err := s.startReading(ctx); err != nil {
				return err
			}
		default:
			silent := s.now().Sub(s.lastFrame)
			if silent <= s.cfg.KeepAliveTimeout {
				continue
			}
			if s.silenceRestart && s.frames == s.startFrames {
				return &HungError{Silent: silent}
			}
			s.r.log.Warn("mercury reader silent: restarting reading", "silent", silent.Round(time.Millisecond))
			if err := s.restartReading(ctx); err != nil {
				return err
			}
			s.silenceRestart = true
		}
	}
}

// coolDown stops reading for Config.CoolDown, still watching the line,
// then starts it again.
func (s *session) coolDown(ctx context.Context) error {
	s.r.n.coolDowns.Add(1)
	s.r.log.Warn("mercury reader too hot: pausing reading", "status", StatusTemperatureExceeded.String(),
		"temperature", s.r.n.temperature.Load(), "pause", s.cfg.CoolDown)
	if err := s.stopReading(ctx); err != nil && !errors.Is(err, ErrTimeout) {
		return err
	}
	if _, err := s.await(ctx, s.cfg.CoolDown, func() bool { return false }); err != nil {
		return err
	}
	s.hot, s.full = false, false
	s.r.log.Info("mercury reader resuming reading after cooling down")
	return s.startReading(ctx)
}

// pump reads the line once, waiting at most s.quiet, and decodes what
// came. A read that times out means the line was quiet for longer than a
// longest frame: a frame still held is cut off and the decoder flushed.
func (s *session) pump() error {
	err := s.in.Read(s.port)
	s.noteNoise()
	return err
}

// handle takes one frame from the decoder: the response a command waits
// for, or a record of the stream.
func (s *session) handle(f Frame) {
	s.frames++
	s.lastFrame = s.in.Arrival
	if s.waiting {
		if f.Opcode == s.want {
			s.respFrames = s.frames
			n := copy(s.resp[:], f.Raw)
			s.respFrame = Frame{Opcode: f.Opcode, Status: f.Status, Raw: s.resp[:n:n], Data: s.resp[5 : n-2 : n-2]}
			s.waiting, s.got = false, true
			return
		}
		if f.Opcode == OpReadTagIDMultiple {
			s.streamSeen = true
		}
	}
	s.event(f)
}

// event acts on a frame of the stream. Tag reads are the hot path.
func (s *session) event(f Frame) {
	err := ParseEvent(f, &s.ev)
	switch s.ev.Kind {
	case KindTag:
		switch {
		case err == nil && s.ev.Tag.CRCValid:
			s.emitTag()
		case errors.Is(err, ErrTagCRC):
			s.r.n.tagCRC.Add(1)
		default:
			s.r.n.malformed.Add(1)
		}
		return
	case KindKeepAlive:
		s.r.n.keepAlives.Add(1)
	case KindStats:
		if err == nil && s.ev.Stats.Valid&StatsTemperature != 0 {
			s.temperatureReport(s.ev.Stats.Temperature)
		}
	case KindStatus:
		s.r.n.statusErrors.Add(1)
		switch s.ev.Status {
		case StatusTemperatureExceeded:
			s.hot = true
		case StatusTagBufferFull:
			s.full = true
		default:
			s.statusReport(s.ev.Opcode, s.ev.Status)
		}
	case KindStopped:
		s.stopped = true
	}
	if err != nil {
		s.r.n.malformed.Add(1)
	}
}

// emitTag hands the current tag read on, its slices copied out of the
// decoder's buffer into the arena.
func (s *session) emitTag() {
	t := s.ev.Tag
	t.EPC = s.arena.Keep(t.EPC)
	t.Data = s.arena.Keep(t.Data)
	s.r.n.reads.Add(1)
	s.emit(TagEvent{Reader: s.cfg.ID, Time: s.in.Arrival, Tag: t})
}

// temperatureReport logs a temperature when it has moved by 5 °C since
// the last line, and marks the module hot at the limit.
func (s *session) temperatureReport(t int) {
	s.r.n.temperature.Store(int64(t))
	if t >= s.cfg.TemperatureLimit {
		s.hot = true
		return
	}
	if d := t - s.temperature; d >= 5 || d <= -5 || s.temperature == 0 {
		s.temperature = t
		s.r.log.Info("mercury reader temperature", "celsius", t)
	}
}

// statusReport logs a module error, at most once per NoiseLogInterval
// for each status, with the number of reports since the last line.
func (s *session) statusReport(op Opcode, st Status) {
	if times, due := s.statusLog.Note(st, s.now()); due {
		s.r.log.Warn("mercury reader reported an error", "op", op.String(), "status", st.String(), "times", times)
	}
}

// noteNoise copies the decoder's counts to the Reader's counters and logs
// line noise and dropped reads, at most once per NoiseLogInterval.
func (s *session) noteNoise() {
	st := s.dec.Stats()
	n := &s.r.n
	if st.BadCRC != n.badCRC.Load() || st.Skipped != n.skipped.Load() || st.Truncated != n.truncated.Load() {
		n.badCRC.Store(st.BadCRC)
		n.skipped.Store(st.Skipped)
		n.truncated.Store(st.Truncated)
	}
	l := &s.logged
	tagCRC, malformed := n.tagCRC.Load(), n.malformed.Load()
	if st.BadCRC == l.BadFrameCRC && st.Skipped == l.SkippedBytes && st.Truncated == l.Truncated &&
		tagCRC == l.TagCRCErrors && malformed == l.Malformed {
		return
	}
	now := s.now()
	if !s.noiseLogAt.IsZero() && now.Sub(s.noiseLogAt) < s.cfg.NoiseLogInterval {
		return
	}
	s.r.log.Warn("mercury reader line noise and dropped reads",
		"bad_frame_crc", st.BadCRC-l.BadFrameCRC, "skipped_bytes", st.Skipped-l.SkippedBytes,
		"truncated", st.Truncated-l.Truncated, "tag_crc_errors", tagCRC-l.TagCRCErrors,
		"malformed", malformed-l.Malformed)
	s.noiseLogAt = now
	l.BadFrameCRC, l.SkippedBytes, l.Truncated, l.TagCRCErrors, l.Malformed = st.BadCRC, st.Skipped, st.Truncated, tagCRC, malformed
}
