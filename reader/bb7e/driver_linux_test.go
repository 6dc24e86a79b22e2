package bb7e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/testkit"
	serialport "github.com/udi-edge/udi-edge/reader"
	"github.com/udi-edge/udi-edge/reader/internal/logtest"
)

const (
	wait   = 10 * time.Second
	epcB5  = "30751FEB705C5904E3D50D70"
	epcB12 = "3074257BF7194E4000001A85"
)

// checkFor calls f until it returns nil or total passes, then fails the
// test with f's last error.
var checkFor = testkit.CheckFor

func vec(t testing.TB, id string) []byte {
	t.Helper()
	for _, v := range loadVectors(t) {
		if v.ID == id {
			return v.Bytes
		}
	}
	t.Fatalf("no vector %s", id)
	return nil
}

func hexOf(b []byte) string { return strings.ToUpper(fmt.Sprintf("%x", b)) }

// fake plays an M100 module on the master side of a pty: it answers the
// driver's commands with the captured module frames where they exist,
// sends a round frame (error 0x15, no tag) every few milliseconds while a
// multi-poll runs, and sends what the test queues, all in its framing.
type fake struct {
	t    *testing.T
	dev  *testkit.Device
	fr   Framing
	reqs chan []byte
	out  chan []byte
	quit chan struct{}
	done chan struct{}

	b7, b8, b11 []byte

	mu     sync.Mutex
	rounds int  // rounds left in the current multi-poll
	mute   bool // answer nothing and send nothing
	drop   map[Command]int
}

func newFake(t *testing.T, dev *testkit.Device, fr Framing) *fake {
	f := &fake{
		t: t, dev: dev, fr: fr,
		reqs: make(chan []byte, 1000), out: make(chan []byte, 1000),
		quit: make(chan struct{}), done: make(chan struct{}),
		b7: vec(t, "B7"), b8: vec(t, "B8"), b11: vec(t, "B11"),
		drop: map[Command]int{},
	}
	go f.loop()
	t.Cleanup(f.close)
	return f
}

func (f *fake) close() {
	select {
	case <-f.quit:
	default:
		close(f.quit)
	}
	<-f.done
}

func (f *fake) set(fn func(f *fake)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// send queues frames (built in the standard framing) for the fake to send.
func (f *fake) send(frames ...[]byte) {
	for _, b := range frames {
		f.out <- b
	}
}

func (f *fake) expect(want ...[]byte) {
	f.t.Helper()
	for i, w := range want {
		select {
		case got := <-f.reqs:
			if w = f.fr.Convert(w); !bytes.Equal(got, w) {
				f.t.Fatalf("request %d: % X, want % X", i, got, w)
			}
		case <-time.After(wait):
			f.t.Fatalf("request %d (% X) did not arrive", i, w)
		}
	}
}

func (f *fake) loop() {
	defer close(f.done)
	dec := NewDecoder(Config{Framing: f.fr})
	buf := make([]byte, 512)
	lastRound := time.Now()
	for {
		select {
		case <-f.quit:
			return
		default:
		}
		for queued := true; queued; {
			select {
			case b := <-f.out:
				f.write(b)
			default:
				queued = false
			}
		}
		f.dev.Master.SetReadDeadline(time.Now().Add(2 * time.Millisecond))
		n, err := f.dev.Master.Read(buf)
		if n > 0 {
			dec.Feed(buf[:n], f.request)
		}
		if errors.Is(err, os.ErrClosed) {
			return
		}
		f.mu.Lock()
		round := f.rounds > 0 && !f.mute && time.Since(lastRound) >= 20*time.Millisecond
		if round {
			f.rounds--
		}
		f.mu.Unlock()
		if round {
			f.write(f.b7)
			lastRound = time.Now()
		}
	}
}

func (f *fake) write(b []byte) {
	if _, err := f.dev.Master.Write(f.fr.Convert(b)); err != nil && !errors.Is(err, os.ErrClosed) {
		f.t.Logf("fake: write: %v", err)
	}
}

func (f *fake) request(req Frame) {
	f.reqs <- bytes.Clone(req.Raw)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.mute {
		return
	}
	if n := f.drop[req.Command]; n > 0 {
		f.drop[req.Command] = n - 1
		return
	}
	switch req.Command {
	case CommandInfo:
		if InfoKind(req.Params[0]) == InfoHardware {
			f.write(f.b11)
		} else {
			f.write(AppendFrame(nil, TypeResponse, CommandInfo, append([]byte{byte(InfoSoftware)}, "V2.3.5"...)))
		}
	case CommandMultiPoll:
		f.rounds = int(req.Params[1])<<8 | int(req.Params[2])
	case CommandStopMultiPoll:
		f.rounds = 0
		f.write(f.b8)
	default:
		f.write(AppendFrame(nil, TypeResponse, req.Command, []byte{0x00}))
	}
}

// lockedBuffer collects log output from the driver's goroutines.
type lockedBuffer = testkit.LogBuffer

type state struct {
	connected bool
	err       error
}

type rig struct {
	t      *testing.T
	link   string
	dev    *testkit.Device
	fake   *fake
	rd     *Reader
	events chan TagEvent
	states chan state
	logs   *lockedBuffer
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// testConfig uses the captured commands (region EU, 20 dBm, 10000
// rounds) and timeouts a loaded machine does not hit by accident.
func testConfig() ReaderConfig {
	return ReaderConfig{
		ID:               "or-2-uhf",
		Region:           "eu",
		KeepAliveTimeout: time.Second,
		CommandTimeout:   time.Second,
		MinBackoff:       5 * time.Millisecond,
		MaxBackoff:       20 * time.Millisecond,
	}
}

func newRig(t *testing.T, cfg ReaderConfig, prepare func(f *fake)) *rig {
	t.Helper()
	r := &rig{
		t:      t,
		link:   filepath.Join(t.TempDir(), "usb-1a86_USB_Serial-if00-port0"),
		events: make(chan TagEvent, 1000),
		states: make(chan state, 1000),
		logs:   &lockedBuffer{},
		done:   make(chan error, 1),
	}
	cfg.Serial.Device = r.link
	// JSON, with what a caller adds ("component"); every line is checked
	// for duplicate keys when the test ends.
	r.rd = New(cfg, slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("component", "rfid"))
	r.dev = testkit.New(t, r.link)
	r.fake = newFake(t, r.dev, r.rd.framing)
	if prepare != nil {
		r.fake.set(prepare)
	}
	r.rd.OnState = func(connected bool, err error) { r.states <- state{connected, err} }
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- r.rd.RunEvents(ctx, func(ev TagEvent) { r.events <- ev }) }()
	t.Cleanup(func() {
		r.stop()
		logtest.CheckLines(t, r.logs.String())
		if t.Failed() {
			t.Logf("reader log:\n%s", r.logs)
		}
	})
	return r
}

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

func (r *rig) wantTag(epc string, rssi int, after time.Time) {
	r.t.Helper()
	select {
	case ev := <-r.events:
		if ev.Reader != r.rd.Config().ID || hexOf(ev.Tag.EPC) != epc || ev.Tag.RSSI != rssi || !ev.Tag.CRCValid {
			r.t.Fatalf("event {Reader %q, EPC %X, RSSI %d, CRCValid %v}, want {%q, %s, %d, true}",
				ev.Reader, ev.Tag.EPC, ev.Tag.RSSI, ev.Tag.CRCValid, r.rd.Config().ID, epc, rssi)
		}
		if ev.Time.Before(after) || ev.Time.After(time.Now()) {
			r.t.Fatalf("event time %v not between the send (%v) and now", ev.Time, after)
		}
	case <-time.After(wait):
		r.t.Fatal("no tag event arrived")
	}
}

func (r *rig) noEvent() {
	r.t.Helper()
	select {
	case ev := <-r.events:
		r.t.Fatalf("unexpected tag event %X", ev.Tag.EPC)
	default:
	}
}

// setupFrames: hardware information (B1), software information, region
// EU (B10), 20 dBm (B9), multi-poll of 10000 rounds (B3).
func setupFrames(t *testing.T) [][]byte {
	return [][]byte{vec(t, "B1"), CmdInfo(InfoSoftware), vec(t, "B10"), vec(t, "B9"), vec(t, "B3")}
}

func TestStartupStreamAndStop(t *testing.T) {
	for _, framing := range []string{"BB7E", "AADD"} {
		t.Run(framing, func(t *testing.T) {
			cfg := testConfig()
			cfg.Framing = framing
			r := newRig(t, cfg, nil)
			r.fake.expect(setupFrames(t)...)
			r.wantState(true)
			if hw, sw, ok := r.rd.Info(); !ok || hw != "M100 26dBm V1.0" || sw != "V2.3.5" {
				t.Errorf("Info() = %q, %q, %v", hw, sw, ok)
			}
			sent := time.Now()
			r.fake.send(vec(t, "B5"), vec(t, "B7"), vec(t, "B12"))
			r.wantTag(epcB5, -55, sent)
			r.wantTag(epcB12, -60, sent)
			checkFor(t, wait, func() error {
				if c := r.rd.Counters(); c.Reads != 2 || c.EmptyRounds < 2 || c.Polls != 1 {
					return fmt.Errorf("counters %+v", c)
				}
				return nil
			})
			r.stop()
			r.fake.expect(vec(t, "B4"))
			if s := r.wantState(false); s.err != nil {
				t.Errorf("closing reported %v", s.err)
			}
			logs := r.logs.String()
			if !strings.Contains(logs, "M100 26dBm V1.0") || strings.Contains(logs, "inventory failed") ||
				strings.Contains(logs, epcB5) || strings.Contains(logs, strings.ToLower(epcB5)) {
				t.Errorf("log must carry the version, no per-round errors and no EPC:\n%s", logs)
			}
		})
	}
}

func TestNoiseAndBadTags(t *testing.T) {
	r := newRig(t, testConfig(), nil)
	r.fake.expect(setupFrames(t)...)
	r.wantState(true)
	b5 := vec(t, "B5")
	badSum := bytes.Clone(b5)
	badSum[len(badSum)-2] ^= 0x01
	badTag := bytes.Clone(b5)
	badTag[10] ^= 0x01 // an EPC byte; the frame checksum made right again
	badTag[len(badTag)-2] = Checksum(badTag[1 : len(badTag)-2])
	sent := time.Now()
	r.fake.send([]byte{0x00, 0x7E, 0xBB, 0x09}, badSum, badTag, []byte("noise"), vec(t, "B12"), b5)
	r.wantTag(epcB12, -60, sent)
	r.wantTag(epcB5, -55, sent)
	r.noEvent()
	checkFor(t, wait, func() error {
		c := r.rd.Counters()
		if c.Reads != 2 || c.TagCRCErrors != 1 || c.BadChecksum+c.BadTail+c.BadHeader == 0 || c.SkippedBytes < 5 {
			return fmt.Errorf("counters %+v", c)
		}
		return nil
	})
	checkFor(t, wait, func() error {
		if !strings.Contains(r.logs.String(), "line noise") {
			return errors.New("no line noise logged")
		}
		return nil
	})
}

func TestModuleErrorsLoggedOnce(t *testing.T) {
	r := newRig(t, testConfig(), nil)
	r.fake.expect(setupFrames(t)...)
	r.wantState(true)
	fhss := AppendFrame(nil, TypeResponse, CommandError, []byte{byte(ErrFHSSFail)})
	r.fake.send(fhss, fhss, fhss)
	sent := time.Now()
	r.fake.send(vec(t, "B5"))
	r.wantTag(epcB5, -55, sent)
	if c := r.rd.Counters(); c.ModuleErrors != 3 {
		t.Errorf("counters %+v", c)
	}
	if n := strings.Count(r.logs.String(), "frequency hopping failed"); n != 1 {
		t.Errorf("%d log lines name the error, want 1:\n%s", n, r.logs)
	}
}

// TestBurstsAndHang: when the rounds of a multi-poll are done the driver
// polls again after the rest; a module that then stays silent is
// reconnected and set up again.
func TestBurstsAndHang(t *testing.T) {
	cfg := testConfig()
	cfg.PollCount, cfg.KeepAliveTimeout, cfg.Rest = 3, 300*time.Millisecond, 50*time.Millisecond
	cfg.CommandTimeout = 300 * time.Millisecond // the stop on closing a silent module
	r := newRig(t, cfg, nil)
	setup := setupFrames(t)
	setup[4] = CmdMultiPoll(3)
	r.fake.expect(setup...)
	r.wantState(true)
	r.fake.expect(CmdMultiPoll(3)) // the three rounds are done
	checkFor(t, wait, func() error {
		if c := r.rd.Counters(); c.EmptyRounds < 6 {
			return fmt.Errorf("counters %+v", c)
		}
		return nil
	})
	r.fake.set(func(f *fake) { f.mute = true })
	s := r.wantState(false)
	if !errors.Is(s.err, ErrHung) {
		t.Fatalf("lost with %v, want ErrHung", s.err)
	}
	r.fake.set(func(f *fake) { f.mute = false })
	// Polls issued until the silence was noticed, then the stop on
	// closing, then the set-up again.
	for done := false; !done; {
		select {
		case got := <-r.fake.reqs:
			done = bytes.Equal(got, setup[0])
		case <-time.After(wait):
			t.Fatal("no set-up after the reconnection")
		}
	}
	r.fake.expect(setup[1:]...)
	r.wantState(true)
}

func TestCommandTimeoutReconnects(t *testing.T) {
	cfg := testConfig()
	cfg.CommandTimeout = 250 * time.Millisecond
	r := newRig(t, cfg, func(f *fake) { f.drop[CommandSetRegion] = 2 })
	setup := setupFrames(t)
	r.fake.expect(setup[0], setup[1], setup[2], setup[2])
	s := r.wantState(false)
	var te *TimeoutError
	if !errors.As(s.err, &te) || te.Command != CommandSetRegion || !errors.Is(s.err, ErrTimeout) {
		t.Fatalf("failure %v, want a TimeoutError for set region", s.err)
	}
	r.fake.expect(setup...)
	r.wantState(true)
	if c := r.rd.Counters(); c.Retries != 1 {
		t.Errorf("counters %+v", c)
	}
}

func TestUnplugAndReplug(t *testing.T) {
	r := newRig(t, testConfig(), nil)
	r.fake.expect(setupFrames(t)...)
	r.wantState(true)
	r.dev.Unplug()
	if lost := r.wantState(false); !errors.Is(lost.err, serialport.ErrHangup) {
		t.Errorf("disconnect reported with %v, want a hangup", lost.err)
	}
	if missing := r.wantState(false); !errors.Is(missing.err, fs.ErrNotExist) {
		t.Errorf("open failure reported as %v, want a missing device", missing.err)
	}
	r.fake.close()
	r.dev = testkit.New(t, r.link)
	r.fake = newFake(t, r.dev, Standard)
	r.fake.expect(setupFrames(t)...)
	r.wantState(true)
	sent := time.Now()
	r.fake.send(vec(t, "B12"))
	r.wantTag(epcB12, -60, sent)
	if c := r.rd.Counters(); c.Connects != 2 {
		t.Errorf("counters %+v", c)
	}
}

func TestReaderConfig(t *testing.T) {
	for _, tt := range []struct {
		cfg   ReaderConfig
		field string
	}{
		{ReaderConfig{Serial: serialport.Settings{Device: "/dev/x"}}, `id ""`},
		{ReaderConfig{ID: "a", Serial: serialport.Settings{Device: "/dev/x"}, Framing: "XY"}, `framing "XY"`},
		{ReaderConfig{ID: "a", Serial: serialport.Settings{Device: "/dev/x"}, Region: "mars"}, `region "mars"`},
		{ReaderConfig{ID: "a", Serial: serialport.Settings{Device: "/dev/x"}, PowerCdBm: 5000}, `power_cdbm 5000`},
		{ReaderConfig{ID: "a", Serial: serialport.Settings{Device: "/dev/x"}, PollCount: 70000}, `poll_count 70000`},
		{ReaderConfig{ID: "a", Serial: serialport.Settings{Device: "/dev/x", Parity: "x"}}, `serial: parity "x"`},
	} {
		err := New(tt.cfg, nil).RunEvents(context.Background(), func(TagEvent) {})
		if err == nil || !strings.HasPrefix(err.Error(), tt.field+":") {
			t.Errorf("Run with %s: %v, want an error naming it", tt.field, err)
		}
	}
	c := ReaderConfig{ID: "a", Serial: serialport.Settings{Device: "/dev/x"}}.WithDefaults()
	if c.Serial.Baud != 115200 || c.Region != "china900" || c.PowerCdBm != 2000 || c.PollCount != 10000 || c.Validate() != nil {
		t.Errorf("defaults %+v: %v", c, c.Validate())
	}
}
