package bb7e

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

// session is the state of Run's goroutine for one reader.
type session struct {
	r    *Reader
	cfg  *ReaderConfig
	emit func(TagEvent)
	now  func() time.Time

	port  serialport.Port
	quiet time.Duration
	dec   *Decoder
	in    serialport.Pump[Frame] // reads port into dec; its Arrival stamps reads
	ev    Event
	arena serialport.Arena

	lastFrame time.Time
	frames    uint64

	// A command in flight: its response (or an error response other than
	// 0x15) is copied to resp.
	waiting   bool
	want      Command
	got       bool
	resp      []byte
	respFrame Frame

	polling    bool
	stopped    bool   // the stop was acknowledged
	repolled   bool   // multi-poll was last issued for silence
	pollFrames uint64 // frames when multi-poll was last issued
	logged     Counters
	noiseLogAt time.Time
	errLog     serialport.LogLimit[ErrorCode]
}

func newSession(r *Reader, emit func(TagEvent)) *session {
	dec := NewDecoder(Config{Framing: r.framing})
	s := &session{
		r: r, cfg: &r.cfg, emit: emit, now: r.now(),
		dec:    dec,
		resp:   make([]byte, 0, dec.MaxFrameLen()),
		errLog: serialport.LogLimit[ErrorCode]{Interval: r.cfg.NoiseLogInterval},
	}
	s.in = serialport.Pump[Frame]{Dec: dec, Handle: s.handle, Now: s.now, Buf: make([]byte, readSize)}
	return s
}

// frame builds a command in the configured framing.
func (s *session) frame(cmd []byte) []byte {
	if s.r.framing == Standard {
		return cmd
	}
	return s.r.framing.Convert(cmd)
}

// serve sets the module up on p and streams its reads until ctx is done
// or the line or the module fails; it calls up once the module polls.
func (s *session) serve(ctx context.Context, p serialport.Port, up func()) error {
	s.port = p
	s.polling, s.stopped, s.repolled, s.waiting = false, false, false, false
	s.dec.Reset()
	s.quiet = serialport.QuietTime(s.dec.MaxFrameLen(), s.cfg.Serial.Baud)
	if err := p.SetReadTimeout(s.quiet); err != nil {
		return fmt.Errorf("set read timeout: %w", err)
	}
	s.lastFrame = s.now()
	if err := s.setup(ctx); err != nil {
		return err
	}
	s.r.n.connects.Add(1)
	path, _ := filepath.EvalSymlinks(s.cfg.Serial.Device)
	s.r.log.Info("bb7e reader polling", "device", s.cfg.Serial.Device, "path", path, "baud", s.cfg.Serial.Baud,
		"framing", s.cfg.Framing, "region", s.cfg.Region, "power_cdbm", s.cfg.PowerCdBm, "poll_count", s.cfg.PollCount)
	s.r.connected.Store(true)
	up()
	return s.stream(ctx)
}

// setup asks for the module's versions, sets region and power and starts
// polling.
func (s *session) setup(ctx context.Context) error {
	var texts [2]string
	for i, kind := range []InfoKind{InfoHardware, InfoSoftware} {
		f, err := s.command(ctx, CmdInfo(kind))
		if err != nil {
			return fmt.Errorf("module information: %w", err)
		}
		_, text, err := ParseInfo(f)
		if err != nil {
			return fmt.Errorf("module information: %w", err)
		}
		texts[i] = text
	}
	s.r.info.Store(&texts)
	s.r.log.Info("bb7e reader version", "hardware", texts[0], "software", texts[1])
	region, _ := RegionByName(s.cfg.Region) // Validate checked it
	for _, c := range []struct {
		cmd Command
		req []byte
	}{
		{CommandSetRegion, CmdSetRegion(region)},
		{CommandSetPower, CmdSetPower(uint16(s.cfg.PowerCdBm))},
	} {
		f, err := s.command(ctx, c.req)
		if err == nil {
			err = ParseAck(f, c.cmd)
		}
		if err != nil {
			return fmt.Errorf("set-up: %w", err)
		}
	}
	return s.poll()
}

// poll issues multi-poll. The module does not acknowledge it: its rounds
// do.
func (s *session) poll() error {
	s.r.n.polls.Add(1)
	if _, err := s.port.Write(s.frame(CmdMultiPoll(uint16(s.cfg.PollCount)))); err != nil {
		return err
	}
	s.polling = true
	s.pollFrames = s.frames
	s.lastFrame = s.now()
	return nil
}

// command sends req and waits for the response to its command, sending
// it once more on silence. The Frame is valid until the next command.
func (s *session) command(ctx context.Context, req []byte) (Frame, error) {
	cmd := Command(req[2])
	for attempt := 1; attempt <= 2; attempt++ {
		if attempt > 1 {
			s.r.n.retries.Add(1)
			s.r.log.Debug("bb7e reader command retried", "command", cmd.String())
		}
		s.want, s.waiting, s.got = cmd, true, false
		if _, err := s.port.Write(s.frame(req)); err != nil {
			s.waiting = false
			return Frame{}, err
		}
		ok, err := s.await(ctx, s.cfg.CommandTimeout, func() bool { return s.got })
		s.waiting = false
		if err != nil {
			return Frame{}, err
		}
		if ok {
			return s.respFrame, nil
		}
	}
	return Frame{}, &TimeoutError{Command: cmd, After: s.cfg.CommandTimeout, Attempts: 2}
}

// await reads the line until cond holds, timeout passes (false) or ctx is
// done or the line fails.
func (s *session) await(ctx context.Context, timeout time.Duration, cond func() bool) (bool, error) {
	return serialport.Await(ctx, s.now, timeout, cond, s.pump)
}

// stream reads the line while polling runs, issuing multi-poll again
// when a burst is over, until ctx is done or the line or module fails.
func (s *session) stream(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.pump(); err != nil {
			return err
		}
		silent := s.now().Sub(s.lastFrame)
		if silent <= s.cfg.KeepAliveTimeout {
			continue
		}
		if s.repolled && s.frames == s.pollFrames {
			return &HungError{Silent: silent}
		}
		s.r.log.Debug("bb7e reader burst over: polling again", "silent", silent.Round(time.Millisecond), "rest", s.cfg.Rest)
		if s.cfg.Rest > 0 {
			if _, err := s.await(ctx, s.cfg.Rest, func() bool { return false }); err != nil {
				return err
			}
		}
		if err := s.poll(); err != nil {
			return err
		}
		s.repolled = true
	}
}

// close stops polling if it runs, emitting the reads that arrive until
// the module acknowledges, and closes the line.
func (s *session) close() {
	if s.port == nil {
		return
	}
	if s.polling {
		s.polling = false
		s.stopped = false
		if _, err := s.port.Write(s.frame(CmdStopMultiPoll())); err == nil {
			if ok, _ := s.await(context.Background(), s.cfg.CommandTimeout, func() bool { return s.stopped }); !ok {
				s.r.log.Debug("bb7e reader stop not acknowledged")
			}
		}
	}
	s.r.connected.Store(false)
	if err := s.port.Close(); err != nil {
		s.r.log.Debug("bb7e reader close", "device", s.cfg.Serial.Device, "err", err)
	}
	s.port = nil
}

// pump reads the line once, waiting at most s.quiet, and decodes what
// came; a read that times out flushes a frame cut off by a quiet line.
func (s *session) pump() error {
	err := s.in.Read(s.port)
	s.noteNoise()
	return err
}

// handle takes one frame: the response a command waits for, or a frame
// of the stream. Error 0x15 always belongs to the stream (a round without
// tags); another error response answers the command in flight.
func (s *session) handle(f Frame) {
	s.frames++
	s.lastFrame = s.in.Arrival
	if s.waiting && f.Type == TypeResponse {
		isErr := f.Command == CommandError && len(f.Params) > 0
		if f.Command == s.want || (isErr && ErrorCode(f.Params[0]) != ErrInventoryFail) {
			s.resp = append(s.resp[:0], f.Raw...)
			n := len(s.resp)
			s.respFrame = Frame{Type: f.Type, Command: f.Command, Raw: s.resp, Params: s.resp[5 : n-2 : n-2]}
			s.waiting, s.got = false, true
			return
		}
	}
	err := ParseEvent(f, &s.ev)
	switch s.ev.Kind {
	case KindTag:
		switch {
		case err == nil:
			s.emitTag()
		case errors.Is(err, ErrTagCRC):
			s.r.n.tagCRC.Add(1)
		default:
			s.r.n.malformed.Add(1)
		}
	case KindError:
		if s.ev.Code == ErrInventoryFail {
			s.r.n.empty.Add(1)
			return
		}
		s.r.n.moduleErrors.Add(1)
		s.errorReport(s.ev.Code)
	case KindResponse:
		if f.Command == CommandStopMultiPoll {
			s.stopped = true
		}
		if err != nil {
			s.r.n.malformed.Add(1)
		}
	default:
		if err != nil {
			s.r.n.malformed.Add(1)
		}
	}
}

func (s *session) emitTag() {
	t := s.ev.Tag
	t.EPC = s.arena.Keep(t.EPC)
	s.r.n.reads.Add(1)
	s.emit(TagEvent{Reader: s.cfg.ID, Time: s.in.Arrival, Tag: t})
}

// errorReport logs a module error in words, at most once per
// NoiseLogInterval for each code, with the count since the last line.
func (s *session) errorReport(c ErrorCode) {
	if times, due := s.errLog.Note(c, s.now()); due {
		s.r.log.Warn("bb7e reader reported an error", "code", fmt.Sprintf("0x%02X", byte(c)), "error", c.Text(), "times", times)
	}
}

// noteNoise copies the decoder's counts to the counters and logs line
// noise and dropped reads, at most once per NoiseLogInterval.
func (s *session) noteNoise() {
	st := s.dec.Stats()
	n := &s.r.n
	n.badChecksum.Store(st.BadChecksum)
	n.badTail.Store(st.BadTail)
	n.badHeader.Store(st.BadHeader)
	n.skipped.Store(st.Skipped)
	n.truncated.Store(st.Truncated)
	l := &s.logged
	tagCRC, malformed := n.tagCRC.Load(), n.malformed.Load()
	bad := st.BadChecksum + st.BadTail + st.BadHeader
	if bad == l.BadChecksum && st.Skipped == l.SkippedBytes && st.Truncated == l.Truncated &&
		tagCRC == l.TagCRCErrors && malformed == l.Malformed {
		return
	}
	now := s.now()
	if !s.noiseLogAt.IsZero() && now.Sub(s.noiseLogAt) < s.cfg.NoiseLogInterval {
		return
	}
	s.r.log.Warn("bb7e reader line noise and dropped reads",
		"bad_frames", bad-l.BadChecksum, "skipped_bytes", st.Skipped-l.SkippedBytes,
		"truncated", st.Truncated-l.Truncated, "tag_crc_errors", tagCRC-l.TagCRCErrors,
		"malformed", malformed-l.Malformed)
	s.noiseLogAt = now
	// l.BadChecksum holds the sum of the three bad-frame counts.
	l.BadChecksum, l.SkippedBytes, l.Truncated, l.TagCRCErrors, l.Malformed = bad, st.Skipped, st.Truncated, tagCRC, malformed
}
