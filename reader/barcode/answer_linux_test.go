package barcode_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/testkit"
	"github.com/udi-edge/udi-edge/reader"
	"github.com/udi-edge/udi-edge/reader/barcode"
	"github.com/udi-edge/udi-edge/reader/internal/logtest"
)

// gatedPort counts the writes to the real port and holds each until gate
// is closed (when gate is set).
type gatedPort struct {
	reader.Port
	gate   chan struct{}
	writes *atomic.Int64
}

func (p gatedPort) Write(b []byte) (int, error) {
	if p.gate != nil {
		<-p.gate
	}
	p.writes.Add(1)
	return p.Port.Write(b)
}

// answer returns the i-th test answer: six bytes, its number and a CR.
func answer(i int) []byte { return fmt.Appendf(nil, "%05d\r", i) }

// received reads n bytes from the device's end and fails the test when
// they are not what want says.
func (r *rig) received(want []byte) {
	r.t.Helper()
	got, err := r.dev.Receive(len(want), wait)
	if err != nil || !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		r.t.Fatalf("device received %d of %d bytes (%v), first difference at byte %d", len(got), len(want), err, i)
	}
}

// nothingMore checks that the device receives nothing more for a while.
func (r *rig) nothingMore() {
	r.t.Helper()
	if got, _ := r.dev.Receive(1, 100*time.Millisecond); len(got) > 0 {
		r.t.Fatalf("device received %q, want nothing", got)
	}
}

func (r *rig) wantStats(want barcode.Stats) {
	r.t.Helper()
	checkFor(r.t, wait, 0, func() error {
		if got := r.sc.Stats(); got != want {
			return fmt.Errorf("stats %+v, want %+v", got, want)
		}
		return nil
	})
}

// TestAnswersAllArrive: 5,000 answers given in bursts of 500, as a
// ledger answers a group commit, all reach the scanner, whole and in
// order; none is missed.
func TestAnswersAllArrive(t *testing.T) {
	const bursts, per = 10, 500
	r := newRig(t, barcode.Config{}, true)
	var want []byte
	for i := range bursts * per {
		want = append(want, answer(i)...)
	}
	got := make(chan error, 1)
	go func() {
		b, err := r.dev.Receive(len(want), 4*wait)
		if err == nil && !bytes.Equal(b, want) {
			err = errors.New("answers arrived changed or out of order")
		}
		got <- err
	}()
	scanned := time.Now()
	for b := range bursts {
		for i := range per {
			r.sc.Answer(scanned, answer(b*per+i))
		}
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	r.wantStats(barcode.Stats{Answers: bursts * per, AnswerBytes: uint64(len(want))})
}

// TestAnswersCoalescedAndBounded holds the scanner's first write while
// answers are given: the answers that fit Config.AnswerBuffer (counting
// those being written) wait and then go out in one more write, in order;
// those beyond it are counted missed and never written; and the misses
// make one log line with their count.
func TestAnswersCoalescedAndBounded(t *testing.T) {
	const bound, fit, over = 600, 100, 40 // 100 answers of 6 bytes fit
	gate := make(chan struct{})
	var writes atomic.Int64
	r := newRigWrapped(t, barcode.Config{AnswerBuffer: bound}, true, func(p reader.Port) reader.Port {
		return gatedPort{Port: p, gate: gate, writes: &writes}
	})
	var want []byte
	for i := range fit + over {
		r.sc.Answer(time.Time{}, answer(i))
		if i < fit {
			want = append(want, answer(i)...)
		}
	}
	if st := r.sc.Stats(); st.Queued != fit || st.Missed != over || st.MissedBytes != over*6 {
		t.Fatalf("with the line held: %+v, want %d queued and %d missed", st, fit, over)
	}
	close(gate)
	r.received(want)
	r.nothingMore()
	r.wantStats(barcode.Stats{Answers: fit, AnswerBytes: fit * 6, Missed: over, MissedBytes: over * 6})
	if n := writes.Load(); n > 2 {
		t.Errorf("%d writes for %d answers queued while the line was held, want at most 2", n, fit)
	}
	testkit.Eventually(t, wait, "the misses logged", func() bool { return strings.Contains(r.logs.String(), "answers missed") })
	if logs := r.logs.String(); strings.Count(logs, "answers missed") != 1 ||
		!strings.Contains(logs, fmt.Sprintf(`"answers":%d,"reason":"answer buffer full"`, over)) {
		t.Errorf("want one line counting the %d misses:\n%s", over, logs)
	}
}

// TestAnswersNeverCarriedOver: answers given while the scanner is away,
// answers still waiting when it is pulled out, and answers to scans read
// before it came back are counted missed and never written to the new
// connection, where they would beep for a later scan.
func TestAnswersNeverCarriedOver(t *testing.T) {
	gate := make(chan struct{})
	var writes atomic.Int64
	var held atomic.Bool // the first connection's writes wait for gate
	held.Store(true)
	r := newRigWrapped(t, barcode.Config{}, true, func(p reader.Port) reader.Port {
		if held.Load() {
			return gatedPort{Port: p, gate: gate, writes: &writes}
		}
		return gatedPort{Port: p, writes: &writes}
	})
	held.Store(false)
	sent := time.Now()
	r.send("]E02112345678900\r")
	old := r.next()
	r.wantRead(old, "]E0", "2112345678900", sent)

	r.sc.Answer(old.Time, answer(1)) // held in the write
	r.sc.Answer(old.Time, answer(2)) // waiting behind it
	r.dev.Unplug()
	close(gate)
	r.wantState(false)
	r.sc.Answer(old.Time, answer(3)) // the scanner is away

	r.dev = testkit.New(t, r.link)
	r.sent.Store(r.taken.Load())
	r.wantState(true)
	r.sc.Answer(old.Time, answer(4)) // for a scan read before the replug
	sent = time.Now()
	r.send("]E04006381333931\r")
	fresh := r.next()
	r.wantRead(fresh, "]E0", "4006381333931", sent)
	r.sc.Answer(fresh.Time, answer(5))
	r.received(answer(5))
	r.nothingMore()
	r.wantStats(barcode.Stats{Answers: 1, AnswerBytes: 6, Missed: 4, MissedBytes: 24})
}

// TestAnswerWhileStopped: an answer given before Run or after it returned
// is counted missed.
func TestAnswerWhileStopped(t *testing.T) {
	sc := barcode.New(barcode.Config{ID: "x", Serial: reader.Settings{Device: "/nonexistent"}}, nil)
	sc.Answer(time.Now(), []byte{7})
	sc.Answer(time.Now(), nil) // nothing to answer: not counted
	if st := sc.Stats(); st.Missed != 1 || st.MissedBytes != 1 || st.Answers != 0 {
		t.Fatalf("stats %+v, want the one answer missed", st)
	}
}

// TestGarbledFramesHint sends what a port at 9600 baud makes of a scan
// sent at 19200 (see Misclocked), ended by a CR: after three such frames
// the driver logs once that the line settings may be wrong, naming them;
// a good frame ends the run, and three more garbled frames log again.
// Chinese text in a QR code is not garbled.
func TestGarbledFramesHint(t *testing.T) {
	r := newRig(t, barcode.Config{Serial: reader.Settings{Baud: 9600}}, true)
	noise := append(barcode.Misclocked([]byte("]d2"+gs1), 19200, 9600), '\r')
	hints := func() int { return strings.Count(r.logs.String(), "barcode frames garbled") }
	scan := func(n int, frame []byte) {
		for range n {
			r.sendBytes(frame)
			r.next()
		}
	}
	good := []byte("]Q1医疗器械唯一标识\r")
	for _, step := range []struct {
		garbled, hints int
	}{
		{2, 0}, // not yet three in a row
		{2, 0}, // after a good frame: two again
		{5, 1}, // a run: one hint, however long
		{3, 2}, // after a good frame, a new run
	} {
		scan(step.garbled, noise)
		if n := hints(); n != step.hints {
			t.Fatalf("%d hints, want %d:\n%s", n, step.hints, r.logs)
		}
		scan(1, good)
	}
	if !strings.Contains(r.logs.String(), `"serial":"9600 8N1"`) {
		t.Errorf("the hint does not name the configured settings:\n%s", r.logs)
	}
	if st := r.sc.Stats(); st.Garbled != 12 {
		t.Errorf("Stats().Garbled = %d, want 12", st.Garbled)
	}
}

// TestSecondScannerRefused runs a second Scanner on the device of one
// already running, as udi-edge decode on a live gateway's scanner would:
// the second is refused with reader.ErrDeviceBusy, reported once, while
// the first reads every scan; once the first stops, the second connects.
// The tests run as root, which exclusive mode (TIOCEXCL) does not stop.
func TestSecondScannerRefused(t *testing.T) {
	r := newRig(t, barcode.Config{}, true)
	var logs lockedBuffer
	second := barcode.New(barcode.Config{ID: "decode", Serial: reader.Settings{Device: r.link}, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond},
		slog.New(slog.NewJSONHandler(&logs, nil)))
	var attempts atomic.Int64
	second.Opener = func(s reader.Settings) (reader.Port, error) {
		attempts.Add(1)
		return reader.Open(s)
	}
	states := make(chan state, 100)
	second.OnState = func(connected bool, err error) { states <- state{connected, err} }
	reads := make(chan agent.Read, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- second.Run(ctx, func(rd agent.Read) { reads <- rd }) }()
	defer func() {
		cancel()
		<-done
		logtest.CheckLines(t, logs.String())
	}()

	next := func() state {
		t.Helper()
		select {
		case s := <-states:
			return s
		case <-time.After(wait):
			t.Fatal("the second scanner reported nothing")
			return state{}
		}
	}
	if s := next(); s.connected || !errors.Is(s.err, reader.ErrDeviceBusy) {
		t.Fatalf("second scanner: state %+v, want refused with ErrDeviceBusy", s)
	}
	testkit.Eventually(t, wait, "the second scanner to try again", func() bool { return attempts.Load() >= 5 })
	const scans = 20
	for i := range scans {
		r.send(fmt.Sprintf("]E0%013d\r", i))
		if rd := r.next(); string(rd.Data) != fmt.Sprintf("%013d", i) {
			t.Fatalf("scan %d read as %q", i, rd.Data)
		}
	}
	select {
	case rd := <-reads:
		t.Fatalf("the second scanner read %q", rd.Raw)
	case s := <-states:
		t.Fatalf("the second scanner reported %+v again", s)
	default:
	}

	r.stop()
	r.wantState(false)
	// An attempt may still meet the port as the first scanner lets it
	// go, and say so; the second scanner then connects.
	for i, s := 0, next(); !s.connected; i, s = i+1, next() {
		if i == 10 {
			t.Fatalf("second scanner after the first stopped: %+v, want connected", s)
		}
		t.Logf("second scanner while the first stops: %+v", s)
	}
	r.send("]E02112345678900\r")
	select {
	case rd := <-reads:
		if string(rd.Data) != "2112345678900" {
			t.Fatalf("second scanner read %q", rd.Raw)
		}
	case <-time.After(wait):
		t.Fatal("the second scanner read nothing once it had the device")
	}
}
