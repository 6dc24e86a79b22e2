package barcode_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/testkit"
	"github.com/udi-edge/udi-edge/reader"
	"github.com/udi-edge/udi-edge/reader/barcode"
	"github.com/udi-edge/udi-edge/reader/internal/logtest"
)

// wait is how long any one expected event may take. Events normally come
// within milliseconds; the bound only matters when something is broken.
const wait = 10 * time.Second

// checkFor calls f until it returns nil or total passes, then fails the
// test with f's last error.
func checkFor(t testing.TB, total, _ time.Duration, f func() error) {
	t.Helper()
	testkit.CheckFor(t, total, f)
}

// lockedBuffer collects log output from the driver's goroutines.
type lockedBuffer = testkit.LogBuffer

type state struct {
	connected bool
	err       error
}

// rig is a Scanner running against a pseudo-terminal that plays the
// scanner, opened through go.bug.st/serial by a by-id style link.
type rig struct {
	t      *testing.T
	link   string
	dev    *testkit.Device
	sc     *barcode.Scanner
	opens  atomic.Int64
	sent   atomic.Int64 // bytes sent by the device
	taken  atomic.Int64 // bytes returned by the driver's reads
	reads  chan agent.Read
	states chan state
	logs   *lockedBuffer
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// newRig starts a scanner with cfg (ID and device filled in) on a fresh
// pty. With plugged false the link does not exist yet.
func newRig(t *testing.T, cfg barcode.Config, plugged bool) *rig {
	t.Helper()
	return newRigWrapped(t, cfg, plugged, nil)
}

// newRigWrapped is newRig with each port the scanner opens passed through
// wrap, when set. The scanner logs JSON, to a logger that carries what a
// caller adds ("component"); every line is checked for duplicate keys
// when the test ends.
func newRigWrapped(t *testing.T, cfg barcode.Config, plugged bool, wrap func(reader.Port) reader.Port) *rig {
	t.Helper()
	r := &rig{
		t:      t,
		link:   filepath.Join(t.TempDir(), "usb-Acme_2D_Scanner_0042-if00"),
		reads:  make(chan agent.Read, 1000),
		states: make(chan state, 1000),
		logs:   &lockedBuffer{},
		done:   make(chan error, 1),
	}
	if plugged {
		r.dev = testkit.New(t, r.link)
	}
	if cfg.ID == "" {
		cfg.ID = "or-3-scanner"
	}
	cfg.Serial.Device = r.link
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff, cfg.MaxBackoff = 5*time.Millisecond, 20*time.Millisecond
	}
	log := slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("component", "scanner")
	r.sc = barcode.New(cfg, log)
	r.sc.Opener = func(s reader.Settings) (reader.Port, error) {
		r.opens.Add(1)
		p, err := reader.Open(s)
		if err != nil {
			return nil, err
		}
		p = countingPort{p, &r.taken}
		if wrap != nil {
			p = wrap(p)
		}
		return p, nil
	}
	r.sc.OnState = func(connected bool, err error) { r.states <- state{connected, err} }
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- r.sc.Run(ctx, func(rd agent.Read) { r.reads <- rd }) }()
	t.Cleanup(func() {
		r.stop()
		logtest.CheckLines(t, r.logs.String())
		if t.Failed() {
			t.Logf("scanner log:\n%s", r.logs)
		}
	})
	if plugged {
		r.wantState(true)
	}
	return r
}

// stop cancels Run and waits for it to return nil.
func (r *rig) stop() {
	r.t.Helper()
	r.once.Do(func() {
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil {
				r.t.Errorf("Run returned %v, want nil", err)
			}
		case <-time.After(wait):
			r.t.Fatal("Run did not return after its context was cancelled")
		}
	})
}

// countingPort is the real port, counting the bytes its reads return so
// that a test knows when the driver has taken what the device sent.
type countingPort struct {
	reader.Port
	n *atomic.Int64
}

func (p countingPort) Read(b []byte) (int, error) {
	n, err := p.Port.Read(b)
	p.n.Add(int64(n))
	return n, err
}

func (r *rig) send(s string) { r.sendBytes([]byte(s)) }

func (r *rig) sendBytes(b []byte) {
	r.t.Helper()
	if err := r.dev.Send(b); err != nil {
		r.t.Fatalf("send: %v", err)
	}
	r.sent.Add(int64(len(b)))
}

// drained waits until the driver has read every byte sent so far. (The
// tty's input queue is no guide: a pty passes bytes from master to slave
// through a work queue, so an empty queue can still mean bytes in flight.)
func (r *rig) drained() {
	r.t.Helper()
	checkFor(r.t, wait, time.Millisecond, func() error {
		if sent, taken := r.sent.Load(), r.taken.Load(); sent != taken {
			return fmt.Errorf("%d of %d bytes sent read by the driver", taken, sent)
		}
		return nil
	})
}

func (r *rig) next() agent.Read {
	r.t.Helper()
	select {
	case rd := <-r.reads:
		return rd
	case <-time.After(wait):
		r.t.Fatal("no read arrived")
		return agent.Read{}
	}
}

func (r *rig) noRead() {
	r.t.Helper()
	select {
	case rd := <-r.reads:
		r.t.Fatalf("unexpected read %q (err %v)", rd.Raw, rd.Err)
	default:
	}
}

func (r *rig) wantState(connected bool) state {
	r.t.Helper()
	select {
	case s := <-r.states:
		if s.connected != connected {
			r.t.Fatalf("state connected=%v (%v), want connected=%v", s.connected, s.err, connected)
		}
		return s
	case <-time.After(wait):
		r.t.Fatalf("no state change to connected=%v", connected)
		return state{}
	}
}

// wantRead checks a whole read's fields.
func (r *rig) wantRead(rd agent.Read, sym, data string, after time.Time) {
	r.t.Helper()
	if rd.Err != nil {
		r.t.Fatalf("read %q: unexpected error %v", rd.Raw, rd.Err)
	}
	if rd.Source != r.sc.Config().ID || rd.Symbology != sym || string(rd.Data) != data || string(rd.Raw) != sym+data {
		r.t.Fatalf("read {Source %q, Symbology %q, Data %q, Raw %q}, want {%q, %q, %q, %q}",
			rd.Source, rd.Symbology, rd.Data, rd.Raw, r.sc.Config().ID, sym, data, sym+data)
	}
	if rd.Time.Before(after) || rd.Time.After(time.Now()) {
		r.t.Fatalf("read time %v not between the last byte sent (%v) and now", rd.Time, after)
	}
}

const gs1 = "0109520123456788172605311021A-77\x1d2100042"

func TestSuffixes(t *testing.T) {
	for _, suffix := range []barcode.Suffix{barcode.SuffixCR, barcode.SuffixLF, barcode.SuffixCRLF} {
		t.Run(string(suffix), func(t *testing.T) {
			r := newRig(t, barcode.Config{Suffix: suffix}, true)
			end := string(suffix.Bytes())
			sent := time.Now()
			r.send("]d2" + gs1 + end + "]E02112345678900" + end)
			r.wantRead(r.next(), "]d2", gs1, sent)
			r.wantRead(r.next(), "]E0", "2112345678900", sent)

			// Bare terminators yield nothing; the next scan still does.
			r.send(end + end)
			sent = time.Now()
			r.send("+A123BJC5D6E71G" + end)
			r.wantRead(r.next(), "", "+A123BJC5D6E71G", sent)
			r.noRead()
		})
	}
}

func TestCRSuffixToleratesCRLF(t *testing.T) {
	r := newRig(t, barcode.Config{Suffix: barcode.SuffixCR}, true)
	sent := time.Now()
	r.send("]C1" + gs1 + "\r")
	r.drained()
	r.send("\n]Q1TESTING\r\n")
	r.wantRead(r.next(), "]C1", gs1, sent)
	r.wantRead(r.next(), "]Q1", "TESTING", sent)
	r.send("y\r\n\nx\r")
	r.wantRead(r.next(), "", "y", sent)
	if rd := r.next(); string(rd.Raw) != "\nx" {
		t.Fatalf("only one LF after a CR is part of the suffix: got %q", rd.Raw)
	}
}

// TestGapFraming uses no suffix: frames end when the line is idle for Gap.
// The bytes of one frame come one at a time with pauses well under the gap.
func TestGapFraming(t *testing.T) {
	const gap = 150 * time.Millisecond
	r := newRig(t, barcode.Config{Suffix: barcode.SuffixNone, Gap: gap}, true)
	frame := "]d2" + gs1
	var last time.Time
	for i := range len(frame) {
		last = time.Now()
		r.send(frame[i : i+1])
		time.Sleep(gap / 30) // the scanner's pace, not synchronisation
	}
	rd := r.next()
	r.wantRead(rd, "]d2", gs1, last)
	if d := time.Since(rd.Time); d < gap {
		t.Errorf("frame emitted %v after its last byte, before the gap of %v", d, gap)
	}

	// Two frames separated by the gap stay two frames.
	sent := time.Now()
	r.send("]E02112345678900")
	r.wantRead(r.next(), "]E0", "2112345678900", sent)
	sent = time.Now()
	r.send("]A0CODE39")
	r.wantRead(r.next(), "]A0", "CODE39", sent)
	r.noRead()
}

func TestOneByteChunks(t *testing.T) {
	for _, suffix := range []barcode.Suffix{barcode.SuffixCR, barcode.SuffixCRLF} {
		t.Run(string(suffix), func(t *testing.T) {
			r := newRig(t, barcode.Config{Suffix: suffix}, true)
			wire := "]C1" + gs1 + string(suffix.Bytes())
			var last time.Time
			for i := range len(wire) {
				last = time.Now()
				r.send(wire[i : i+1])
				if i%7 == 0 {
					r.drained() // make sure the driver sees this piece alone
				}
				time.Sleep(time.Millisecond)
			}
			r.wantRead(r.next(), "]C1", gs1, last)
			r.noRead()
		})
	}
}

func TestGSKept(t *testing.T) {
	r := newRig(t, barcode.Config{}, true)
	data := "011231231231233310ABC123\x1d99TESTING\x1d"
	sent := time.Now()
	r.send("]C1" + data + "\r")
	rd := r.next()
	r.wantRead(rd, "]C1", data, sent)
	if bytes.Count(rd.Data, []byte{0x1d}) != 2 {
		t.Fatalf("GS bytes lost: %q", rd.Data)
	}
}

// TestOverlongLine sends a line far over the bound without a terminator:
// it is rejected with the bound and its length, its first MaxLen bytes
// kept, nothing past them held, and the next scan is read as usual.
func TestOverlongLine(t *testing.T) {
	const bound = 64
	const lineLen = 1 << 20
	r := newRig(t, barcode.Config{MaxLen: bound}, true)

	line := bytes.Repeat([]byte("]C10123456789"), lineLen/13+1)[:lineLen]
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for p := line; len(p) > 0; p = p[min(len(p), 4096):] {
		r.sendBytes(p[:min(len(p), 4096)])
	}
	r.drained()
	runtime.ReadMemStats(&after)
	// The driver reads 1 MiB in small reads; had it buffered the line the
	// heap would have grown by at least that much.
	t.Logf("allocated %d bytes while the line streamed in", after.TotalAlloc-before.TotalAlloc)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > lineLen/16 {
		t.Errorf("%d bytes allocated while a %d-byte line streamed in: the line is being buffered", grew, lineLen)
	}
	r.noRead()

	sent := time.Now()
	r.send("\r\n]C1OK\r")
	rd := r.next()
	var tooLong *barcode.FrameTooLongError
	if !errors.Is(rd.Err, barcode.ErrFrameTooLong) || !errors.As(rd.Err, &tooLong) {
		t.Fatalf("read of an over-long line: err %v, want ErrFrameTooLong", rd.Err)
	}
	if tooLong.Max != bound || tooLong.Seen != lineLen {
		t.Errorf("FrameTooLongError{Max %d, Seen %d}, want {%d, %d}", tooLong.Max, tooLong.Seen, bound, lineLen)
	}
	if !bytes.Equal(rd.Raw, line[:bound]) || rd.Symbology != "]C1" || len(rd.Data) != bound-3 {
		t.Errorf("Raw %q (symbology %q), want the first %d bytes of the line", rd.Raw, rd.Symbology, bound)
	}
	if !rd.Time.After(sent) {
		t.Errorf("Time %v is not the arrival of the line's end (after %v)", rd.Time, sent)
	}
	r.wantRead(r.next(), "]C1", "OK", sent)
	if logs := r.logs.String(); !strings.Contains(logs, "frame rejected") || strings.Contains(logs, "0123456789") {
		t.Errorf("log must record the rejection without the data:\n%s", logs)
	}
}

// TestWireExamples drives every example of barcode-wire.json through the
// pty, byte for byte as a scanner sends it, with the CR suffix (scanners
// that send CRLF work too) and, for those sent with CRLF, the CRLF suffix.
func TestWireExamples(t *testing.T) {
	exs := barcode.LoadWireExamples(t)
	for _, suffix := range []barcode.Suffix{barcode.SuffixCR, barcode.SuffixCRLF} {
		t.Run(string(suffix), func(t *testing.T) {
			r := newRig(t, barcode.Config{Suffix: suffix}, true)
			for _, ex := range exs {
				if suffix == barcode.SuffixCRLF && ex.Suffix != "\r\n" {
					continue
				}
				sent := time.Now()
				r.sendBytes(ex.Wire)
				rd := r.next()
				if rd.Symbology != ex.AIM || string(rd.Data) != ex.Data {
					t.Fatalf("%s: read Symbology %q, Data %q; want %q, %q", ex.Note, rd.Symbology, rd.Data, ex.AIM, ex.Data)
				}
				r.wantRead(rd, ex.AIM, ex.Data, sent)
			}
			r.noRead()
			// Log lines carry lengths and symbologies, never barcode data.
			logs := r.logs.String()
			for _, ex := range exs {
				if strings.Contains(logs, ex.Data[:6]) {
					t.Fatalf("log carries barcode data %q:\n%s", ex.Data[:6], logs)
				}
			}
		})
	}
}

// TestUnplugAndReconnect unplugs the scanner in the middle of a frame, as a
// USB scanner pulled from the gateway, then plugs a new device in at the
// same by-id link: the driver reports both changes, emits the cut-off frame
// as incomplete, and reads the next scan without being restarted.
func TestUnplugAndReconnect(t *testing.T) {
	r := newRig(t, barcode.Config{}, true)
	sent := time.Now()
	r.send("]E02112345678900\r")
	r.wantRead(r.next(), "]E0", "2112345678900", sent)

	r.send("]C1PART")
	r.drained()
	opensBefore := r.opens.Load()
	r.dev.Unplug()

	lost := r.wantState(false)
	if lost.err == nil || !errors.Is(lost.err, reader.ErrHangup) {
		t.Errorf("disconnect reported with %v, want a hangup", lost.err)
	}
	rd := r.next()
	var inc *barcode.IncompleteFrameError
	if !errors.Is(rd.Err, barcode.ErrIncompleteFrame) || !errors.As(rd.Err, &inc) || inc.Len != 7 {
		t.Fatalf("cut-off frame: err %v, want ErrIncompleteFrame of 7 bytes", rd.Err)
	}
	if string(rd.Raw) != "]C1PART" || rd.Symbology != "]C1" || string(rd.Data) != "PART" {
		t.Fatalf("cut-off frame Raw %q, want the bytes that arrived", rd.Raw)
	}
	if r.sc.Connected() {
		t.Fatal("Connected() true after unplug")
	}
	if _, err := r.sc.Write([]byte{0x07}); !errors.Is(err, barcode.ErrDisconnected) {
		t.Fatalf("Write while unplugged: %v, want ErrDisconnected", err)
	}

	// The device stays away for a while: the driver keeps trying, and
	// reports the missing device once, not on every attempt.
	checkFor(t, wait, time.Millisecond, func() error {
		if n := r.opens.Load() - opensBefore; n < 5 {
			return fmt.Errorf("%d attempts to reopen so far", n)
		}
		return nil
	})
	if missing := r.wantState(false); !errors.Is(missing.err, fs.ErrNotExist) {
		t.Errorf("open failure reported as %v, want a missing device", missing.err)
	}
	select {
	case s := <-r.states:
		t.Fatalf("state reported again while the device stayed missing: %+v", s)
	default:
	}

	r.dev = testkit.New(t, r.link)
	r.sent.Store(r.taken.Load())
	r.wantState(true)
	if !r.sc.Connected() {
		t.Fatal("Connected() false after reconnecting")
	}
	sent = time.Now()
	r.send("]d1TESTING\r")
	r.wantRead(r.next(), "]d1", "TESTING", sent)
	if logs := r.logs.String(); strings.Count(logs, "barcode scanner connected") != 2 ||
		strings.Count(logs, "barcode scanner disconnected") != 1 ||
		strings.Count(logs, "barcode scanner unavailable") != 1 {
		t.Errorf("want one log line per state change:\n%s", logs)
	}
}

// TestStartsWithoutDevice starts the scanner before the device exists.
func TestStartsWithoutDevice(t *testing.T) {
	r := newRig(t, barcode.Config{}, false)
	if s := r.wantState(false); !errors.Is(s.err, fs.ErrNotExist) {
		t.Fatalf("first state %+v, want a missing device", s)
	}
	r.dev = testkit.New(t, r.link)
	r.wantState(true)
	sent := time.Now()
	r.send("]Q3" + gs1 + "\r")
	r.wantRead(r.next(), "]Q3", gs1, sent)
}

func TestWrite(t *testing.T) {
	r := newRig(t, barcode.Config{}, true)
	cmd := []byte{0x1b, 0x07, '\r', '\n', 0x00, 0xff}
	n, err := r.sc.Write(cmd)
	if err != nil || n != len(cmd) {
		t.Fatalf("Write = %d, %v", n, err)
	}
	got, err := r.dev.Receive(len(cmd), wait)
	if err != nil || !bytes.Equal(got, cmd) {
		t.Fatalf("device received %q, %v; want %q unchanged", got, err, cmd)
	}
}

func TestWriteDisconnected(t *testing.T) {
	sc := barcode.New(barcode.Config{ID: "x", Serial: reader.Settings{Device: "/nonexistent"}}, nil)
	if _, err := sc.Write([]byte{7}); !errors.Is(err, barcode.ErrDisconnected) {
		t.Fatalf("Write before Run: %v, want ErrDisconnected", err)
	}

	r := newRig(t, barcode.Config{}, true)
	r.stop()
	if s := r.wantState(false); s.err != nil {
		t.Errorf("closing on shutdown reported %v, want nil", s.err)
	}
	if _, err := r.sc.Write([]byte{7}); !errors.Is(err, barcode.ErrDisconnected) {
		t.Fatalf("Write after Run returned: %v, want ErrDisconnected", err)
	}
	if r.sc.Connected() {
		t.Fatal("Connected() after Run returned")
	}
}

// TestShutdownKeepsPartialFrame stops the scanner in the middle of a frame:
// the bytes already read come out as an incomplete frame.
func TestShutdownKeepsPartialFrame(t *testing.T) {
	r := newRig(t, barcode.Config{}, true)
	r.send("]C1" + gs1[:10])
	r.drained()
	r.stop()
	rd := r.next()
	if !errors.Is(rd.Err, barcode.ErrIncompleteFrame) || !errors.Is(rd.Err, context.Canceled) || string(rd.Raw) != "]C1"+gs1[:10] {
		t.Fatalf("read %q err %v, want the partial frame with ErrIncompleteFrame", rd.Raw, rd.Err)
	}
}

// TestSerialSettings runs the scanner with each line setting on the pty.
func TestSerialSettings(t *testing.T) {
	for _, s := range []reader.Settings{
		{Baud: 115200, DataBits: 8, Parity: "none", StopBits: "1"},
		{Baud: 9600, DataBits: 7, Parity: "even", StopBits: "1"},
		{Baud: 19200, DataBits: 7, Parity: "odd", StopBits: "2"},
		{Baud: 38400, DataBits: 8, Parity: "mark", StopBits: "1"},
		{Baud: 57600, DataBits: 8, Parity: "space", StopBits: "2"},
		{Baud: 1200, DataBits: 5, Parity: "none", StopBits: "1"},
	} {
		t.Run(fmt.Sprintf("%d-%d-%s-%s", s.Baud, s.DataBits, s.Parity, s.StopBits), func(t *testing.T) {
			r := newRig(t, barcode.Config{Serial: s}, true)
			tio, err := r.dev.Termios()
			if err != nil {
				t.Fatal(err)
			}
			if tio.Ispeed != uint32(s.Baud) {
				t.Errorf("speed %d, want %d", tio.Ispeed, s.Baud)
			}
			sent := time.Now()
			r.send("]E4" + "12345670\r")
			r.wantRead(r.next(), "]E4", "12345670", sent)
		})
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	for _, tt := range []struct {
		cfg   barcode.Config
		field string
	}{
		{barcode.Config{ID: "a", Serial: reader.Settings{Device: "/dev/x", Parity: "x"}}, `serial: parity "x"`},
		{barcode.Config{ID: "a", Serial: reader.Settings{Device: "/dev/x", StopBits: "3"}}, `serial: stop_bits "3"`},
		{barcode.Config{ID: "a", Serial: reader.Settings{Device: "/dev/x", DataBits: 4}}, `serial: data_bits 4`},
		{barcode.Config{ID: "a", Serial: reader.Settings{Device: "/dev/x", Baud: -1}}, `serial: baud -1`},
		{barcode.Config{ID: "a", Serial: reader.Settings{Device: "/dev/x"}, Suffix: "TAB"}, `suffix "TAB"`},
		{barcode.Config{Serial: reader.Settings{Device: "/dev/x"}}, `id ""`},
	} {
		err := barcode.New(tt.cfg, nil).Run(context.Background(), func(agent.Read) {})
		if err == nil || !strings.HasPrefix(err.Error(), tt.field+":") {
			t.Errorf("Run with %s: %v, want an error naming it", tt.field, err)
		}
	}
}

func TestRunTwice(t *testing.T) {
	r := newRig(t, barcode.Config{}, true)
	if err := r.sc.Run(context.Background(), func(agent.Read) {}); !errors.Is(err, barcode.ErrRunning) {
		t.Fatalf("second Run: %v, want ErrRunning", err)
	}
}
