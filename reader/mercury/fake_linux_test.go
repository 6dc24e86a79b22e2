package mercury

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/testkit"
	serialport "github.com/udi-edge/udi-edge/reader"
	"github.com/udi-edge/udi-edge/reader/internal/logtest"
)

// wait is how long any one expected event may take. Events normally come
// within milliseconds; the bound only matters when something is broken.
const wait = 10 * time.Second

// checkFor calls f until it returns nil or total passes, then fails the
// test with f's last error.
var checkFor = testkit.CheckFor

// vec returns the bytes of the vector with id.
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

// fake plays a Mercury module on the master side of a pty. It answers the
// driver's requests with the captured module frames where they exist,
// streams keep-alives while continuous reading runs, and sends what the
// test queues. Like a real module it answers nothing but the stop command
// while it streams.
type fake struct {
	t    *testing.T
	dev  *testkit.Device
	reqs chan []byte // every request received, in order
	out  chan []byte // frames the test wants sent
	quit chan struct{}
	done chan struct{}

	t2, t6a, t8, t9a, t10r, t12a []byte

	mu           sync.Mutex
	keepAlive    time.Duration    // interval of keep-alives while streaming; 0 for none
	streaming    bool             // continuous reading runs
	mute         bool             // send no keep-alives
	skipVersion  int              // VERSION requests to ignore
	drop         map[Opcode]int   // requests of an opcode to ignore
	field        [][]byte         // EPCs of the tags in the field
	writeStatus  Status           // status to answer WRITE_TAG_ID with
	writeIgnored bool             // acknowledge writes without changing the tag
	onStart      func(starts int) // called on each start of continuous reading
	starts       int
}

func newFake(t *testing.T, dev *testkit.Device) *fake {
	f := &fake{
		t: t, dev: dev,
		reqs: make(chan []byte, 1000), out: make(chan []byte, 1000),
		quit: make(chan struct{}), done: make(chan struct{}),
		t2: vec(t, "T2"), t6a: vec(t, "T6a"), t8: vec(t, "T8"), t9a: vec(t, "T9a"),
		t10r: vec(t, "T10r"), t12a: vec(t, "T12a"),
		keepAlive: 50 * time.Millisecond,
		drop:      map[Opcode]int{},
		field:     [][]byte{mustHex(t, "E2001026760E017915907125")},
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

// send queues frames for the fake to send, in order.
func (f *fake) send(frames ...[]byte) {
	for _, b := range frames {
		f.out <- b
	}
}

// next returns the next request the driver sent.
func (f *fake) next() []byte {
	f.t.Helper()
	select {
	case b := <-f.reqs:
		return b
	case <-time.After(wait):
		f.t.Fatal("no request arrived")
		return nil
	}
}

// expect checks the next requests against want, byte for byte.
func (f *fake) expect(want ...[]byte) {
	f.t.Helper()
	for i, w := range want {
		if got := f.next(); !bytes.Equal(got, w) {
			f.t.Fatalf("request %d: % X, want % X", i, got, w)
		}
	}
}

// noRequest checks that no request is pending.
func (f *fake) noRequest() {
	f.t.Helper()
	select {
	case b := <-f.reqs:
		f.t.Fatalf("unexpected request % X", b)
	default:
	}
}

func (f *fake) loop() {
	defer close(f.done)
	dec := NewRequestDecoder()
	buf := make([]byte, 512)
	lastKA := time.Now()
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
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			if errors.Is(err, os.ErrClosed) {
				return // unplugged
			}
		}
		f.mu.Lock()
		ka := f.streaming && !f.mute && f.keepAlive > 0 && time.Since(lastKA) >= f.keepAlive
		f.mu.Unlock()
		if ka {
			f.write(f.t8)
			lastKA = time.Now()
		}
	}
}

func (f *fake) write(b []byte) {
	if _, err := f.dev.Master.Write(b); err != nil && !errors.Is(err, os.ErrClosed) {
		f.t.Logf("fake: write: %v", err)
	}
}

// request answers one request of the driver.
func (f *fake) request(req Frame) {
	f.reqs <- bytes.Clone(req.Raw)
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := f.drop[req.Opcode]; n > 0 {
		f.drop[req.Opcode] = n - 1
		return
	}
	stop := req.Opcode == OpMultiProtocolTagOp && len(req.Data) == 3 && req.Data[2] == 0x02
	if f.streaming && !stop {
		return
	}
	switch req.Opcode {
	case OpVersion:
		if f.skipVersion > 0 {
			f.skipVersion--
			return
		}
		f.write(f.t2)
	case OpMultiProtocolTagOp:
		if stop {
			f.streaming = false
			f.write(f.t8)
			f.write(f.t9a)
			return
		}
		f.streaming = true
		f.starts++
		f.write(f.t6a)
		if f.onStart != nil {
			f.onStart(f.starts)
		}
	case OpReadTagIDMultiple:
		switch len(f.field) {
		case 0:
			f.write(response(OpReadTagIDMultiple, StatusNoTagsFound, nil))
		case 1:
			f.write(f.t10r)
		default:
			f.write(response(OpReadTagIDMultiple, StatusOK, []byte{0, 0, 0x13, 0, 0, 0, byte(len(f.field))}))
		}
	case OpWriteTagID:
		switch {
		case f.writeStatus != StatusOK:
			f.write(response(OpWriteTagID, f.writeStatus, nil))
		default:
			if !f.writeIgnored && len(f.field) == 1 {
				f.field[0] = bytes.Clone(req.Data[4:])
			}
			f.write(f.t12a)
		}
	case OpGetTagIDBuffer:
		meta := MetadataFlags(binary.BigEndian.Uint16(req.Data))
		data := binary.BigEndian.AppendUint16(nil, uint16(meta))
		data = append(data, 0, byte(len(f.field)))
		for _, epc := range f.field {
			data = append(data, bufferRecord(meta, epc)...)
		}
		f.write(response(OpGetTagIDBuffer, StatusOK, data))
	default: // the settings and CLEAR_TAG_ID_BUFFER: acknowledged
		f.write(response(req.Opcode, StatusOK, nil))
	}
}

// lockedBuffer collects log output from the driver's goroutines.
type lockedBuffer = testkit.LogBuffer

type state struct {
	connected bool
	err       error
}

// rig is a Reader running against a pty that a fake module plays, opened
// through go.bug.st/serial by a by-id style link.
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

// testConfig is the configuration the rigs start from: the captured
// commands (region NA2, 27 dBm, antenna 1, the captured start command),
// short backoffs, and timeouts that a loaded machine does not hit by
// accident (tests of timeouts shorten them).
func testConfig() Config {
	return Config{
		ID:               "cabinet-7",
		Serial:           serialport.Settings{Baud: 115200},
		Region:           "NA2",
		ReadPowerCdBm:    2700,
		KeepAliveTimeout: 2 * time.Second,
		CommandTimeout:   time.Second,
		ProbeTimeout:     300 * time.Millisecond,
		CoolDown:         150 * time.Millisecond,
		MinBackoff:       5 * time.Millisecond,
		MaxBackoff:       20 * time.Millisecond,
	}
}

// newRig starts a Reader with cfg (device filled in) on a fresh pty and
// fake module; prepare, when set, adjusts the fake before Run starts.
func newRig(t *testing.T, cfg Config, prepare func(f *fake)) *rig {
	t.Helper()
	r := &rig{
		t:      t,
		link:   filepath.Join(t.TempDir(), "usb-ThingMagic_M6e_Nano_0042-if00"),
		events: make(chan TagEvent, 1000),
		states: make(chan state, 1000),
		logs:   &lockedBuffer{},
		done:   make(chan error, 1),
	}
	r.dev = testkit.New(t, r.link)
	r.fake = newFake(t, r.dev)
	if prepare != nil {
		r.fake.set(prepare)
	}
	cfg.Serial.Device = r.link
	// JSON, with what a caller adds ("component"); every line is checked
	// for duplicate keys when the test ends.
	log := slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("component", "rfid")
	r.rd = New(cfg, log)
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

// replug unplugs the current device and plugs a new one in at the same
// link, with a new fake.
func (r *rig) replug(prepare func(f *fake)) {
	r.dev.Unplug()
	r.fake.close()
	r.dev = testkit.New(r.t, r.link)
	r.fake = newFake(r.t, r.dev)
	if prepare != nil {
		r.fake.set(prepare)
	}
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

func (r *rig) next() TagEvent {
	r.t.Helper()
	select {
	case ev := <-r.events:
		return ev
	case <-time.After(wait):
		r.t.Fatal("no tag event arrived")
		return TagEvent{}
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

// wantTag checks an event against the reader id, EPC, RSSI and antenna.
func (r *rig) wantTag(ev TagEvent, epc string, rssi int, after time.Time) {
	r.t.Helper()
	if ev.Reader != r.rd.Config().ID || hexOf(ev.Tag.EPC) != epc || ev.Tag.RSSI != rssi ||
		ev.Tag.Antenna != 1 || !ev.Tag.CRCValid || ev.Tag.Protocol != ProtocolGen2 {
		r.t.Fatalf("event {Reader %q, EPC %X, RSSI %d, Antenna %d, CRCValid %v}, want {%q, %s, %d, 1, true}",
			ev.Reader, ev.Tag.EPC, ev.Tag.RSSI, ev.Tag.Antenna, ev.Tag.CRCValid, r.rd.Config().ID, epc, rssi)
	}
	if ev.Time.Before(after) || ev.Time.After(time.Now()) {
		r.t.Fatalf("event time %v not between the send (%v) and now", ev.Time, after)
	}
}

// setupFrames returns the requests of the start-up sequence for the
// testConfig: VERSION, SET_REGION NA2, SET_READ_TX_POWER 27 dBm (the
// captured T1, T3, T4), SET_ANTENNA_PORT 1/1, SET_TAG_PROTOCOL Gen2 and
// the captured start of continuous reading (T6).
func setupFrames(t *testing.T) [][]byte {
	return [][]byte{vec(t, "T1"), vec(t, "T3"), vec(t, "T4"), CmdSetAntenna(1, 1), CmdSetProtocol(ProtocolGen2), vec(t, "T6")}
}
