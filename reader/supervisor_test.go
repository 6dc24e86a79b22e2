package reader

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	supMin = 100 * time.Millisecond
	supMax = 800 * time.Millisecond
)

// step is what one scripted attempt does: come up or not, let the clock
// run for took, then end with err (or with ctx cancelled when stop).
type step struct {
	up   bool
	took time.Duration
	err  error
	stop bool
}

type change struct {
	connected bool
	err       error
}

func (c change) String() string { return fmt.Sprintf("(%v, %v)", c.connected, c.err) }

// runScript runs a Supervisor over steps with a fake clock, a Rand of 0.5
// (each wait is three quarters of the current step, never below Min) and
// a Sleep that records the waits. It returns the state changes, the
// waits and the log.
func runScript(t *testing.T, steps []step) ([]change, []time.Duration, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var changes []change
	var waits []time.Duration
	var log bytes.Buffer
	hooks := Hooks{
		Opener: func(Settings) (Port, error) { return nil, errors.New("not to be called") },
		Now:    func() time.Time { return clock },
		Sleep: func(ctx context.Context, d time.Duration) error {
			waits = append(waits, d)
			return ctx.Err()
		},
		OnState: func(connected bool, err error) { changes = append(changes, change{connected, err}) },
	}
	sup := Supervisor{
		Name: "test device", Device: "/dev/x",
		Log: slog.New(slog.NewTextHandler(&log, nil)),
		Min: supMin, Max: supMax,
		Rand: func() float64 { return 0.5 },
	}
	n := 0
	err := sup.Run(ctx, hooks, func(ctx context.Context, open Opener, up func()) error {
		if open == nil {
			t.Fatal("attempt got no opener")
		}
		if n == len(steps) {
			t.Fatalf("attempt %d after the script ended", n+1)
		}
		st := steps[n]
		n++
		if st.up {
			up()
		}
		clock = clock.Add(st.took)
		if st.stop {
			cancel()
			return ctx.Err()
		}
		return st.err
	})
	if err != nil || n != len(steps) {
		t.Errorf("Run returned %v after %d attempts, want nil after %d", err, n, len(steps))
	}
	return changes, waits, log.String()
}

func TestSupervisorReportsAndBacksOff(t *testing.T) {
	e1, e2 := errors.New("no such device"), errors.New("permission denied")
	lost := errors.New("device hung up")
	changes, waits, log := runScript(t, []step{
		{err: e1},
		{err: e1}, // the same failure again: not reported
		{err: e2},
		{up: true, took: time.Second, err: lost}, // up: backoff reset
		{up: true, took: 10 * time.Millisecond, err: lost}, // up, however briefly: reset
		{err: lost}, // a failure to connect alike the loss: not reported
		{err: e1},   // differs from the loss reported last
		{up: true, stop: true},
	})
	want := []change{
		{false, e1}, {false, e2},
		{true, nil}, {false, lost},
		{true, nil}, {false, lost},
		{false, e1},
		{true, nil}, {false, nil},
	}
	if !reflect.DeepEqual(changes, want) {
		t.Errorf("state changes\n%v, want\n%v", changes, want)
	}
	// Steps of 100, 200, 400, 800ms, each wait three quarters of its step
	// but at least Min; back to 100ms after each connection.
	wantWaits := []time.Duration{100, 150, 300, 100, 100, 150, 300}
	for i := range wantWaits {
		wantWaits[i] *= time.Millisecond
	}
	if !reflect.DeepEqual(waits, wantWaits) {
		t.Errorf("waits %v, want %v", waits, wantWaits)
	}
	for msg, n := range map[string]int{
		`msg="test device unavailable" device=/dev/x err="no such device"`:    2,
		`msg="test device unavailable" device=/dev/x err="permission denied"`: 1,
		`msg="test device disconnected" device=/dev/x err="device hung up"`:   2,
		`msg="test device closed" device=/dev/x`:                              1,
	} {
		if got := strings.Count(log, msg); got != n {
			t.Errorf("%d lines with %s, want %d; log:\n%s", got, msg, n, log)
		}
	}
}

// TestSupervisorResetsWhenUp: the backoff grows while attempts fail
// without coming up, starts again from Min each time the device comes up,
// however briefly (a scanner replugged again and again), and after a
// failed attempt that lasted Max.
func TestSupervisorResetsWhenUp(t *testing.T) {
	fail, lost := errors.New("no such device"), errors.New("device hung up")
	blip := step{up: true, took: 10 * time.Millisecond, err: lost}
	_, waits, _ := runScript(t, []step{
		{err: fail}, {err: fail}, {err: fail},
		blip, blip, blip, blip, blip, blip,
		{err: fail},                    // after a loss, growth resumes from Min
		{took: time.Second, err: fail}, // a slow failure to connect
		{stop: true},
	})
	want := []time.Duration{100, 150, 300, 100, 100, 100, 100, 100, 100, 150, 100}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if !reflect.DeepEqual(waits, want) {
		t.Errorf("waits %v, want %v", waits, want)
	}
}

// TestSupervisorLooksForMissingDevice: while the device is missing
// (unplugged: its path names nothing) it is looked for every Min, however
// long it stays away, so that it is read within Min of being plugged back
// in; it is reported missing once. Other failures still back off.
func TestSupervisorLooksForMissingDevice(t *testing.T) {
	missing := &fs.PathError{Op: "open", Path: "/dev/x", Err: syscall.ENOENT}
	busy := errors.New("device busy")
	changes, waits, log := runScript(t, []step{
		{err: missing}, {err: missing}, {err: missing}, {err: missing}, {err: missing},
		{err: busy}, {err: busy},
		{stop: true},
	})
	want := []time.Duration{100, 100, 100, 100, 100, 150, 300}
	for i := range want {
		want[i] *= time.Millisecond
	}
	if !reflect.DeepEqual(waits, want) {
		t.Errorf("waits %v, want %v", waits, want)
	}
	if want := []change{{false, missing}, {false, busy}}; !reflect.DeepEqual(changes, want) {
		t.Errorf("state changes %v, want %v", changes, want)
	}
	if n := strings.Count(log, `msg="test device unavailable" device=/dev/x err="open /dev/x: no such file or directory"`); n != 1 {
		t.Errorf("missing device logged %d times, want once:\n%s", n, log)
	}
}

// TestSupervisorStops: a context cancelled during an attempt that never
// came up ends Run without a report (its error is the context's), and a
// Sleep cut short ends it without another attempt.
func TestSupervisorStops(t *testing.T) {
	changes, waits, log := runScript(t, []step{{stop: true}})
	if len(changes) != 0 || len(waits) != 0 || log != "" {
		t.Errorf("cancelled before up: changes %v, waits %v, log %q; want none", changes, waits, log)
	}

	ctx, cancel := context.WithCancel(context.Background())
	attempts := 0
	sup := Supervisor{Min: supMin, Max: supMax}
	hooks := Hooks{Sleep: func(ctx context.Context, d time.Duration) error {
		cancel()
		return ctx.Err()
	}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sup.Run(ctx, hooks, func(context.Context, Opener, func()) error {
			attempts++
			return errors.New("absent")
		})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its Sleep failed")
	}
	if attempts != 1 {
		t.Errorf("%d attempts, want 1", attempts)
	}
}

// TestSupervisorOneRun: a second Run while one is in returns Busy and
// runs nothing; Done closes when the first returns; then Run may run
// again.
func TestSupervisorOneRun(t *testing.T) {
	busy := errors.New("busy")
	sup := Supervisor{Min: supMin, Max: supMax, Busy: busy}
	if sup.Done() != nil {
		t.Fatal("Done before the first Run is not nil")
	}
	ctx, cancel := context.WithCancel(context.Background())
	entered := make(chan struct{})
	ret := make(chan error)
	go func() {
		ret <- sup.Run(ctx, Hooks{}, func(ctx context.Context, _ Opener, _ func()) error {
			close(entered)
			<-ctx.Done()
			return ctx.Err()
		})
	}()
	<-entered
	done := sup.Done()
	err := sup.Run(context.Background(), Hooks{}, func(context.Context, Opener, func()) error {
		t.Error("second Run ran an attempt")
		return errors.New("no")
	})
	if err != busy {
		t.Fatalf("second Run = %v, want %v", err, busy)
	}
	select {
	case <-done:
		t.Fatal("Done closed while the first Run runs")
	default:
	}
	cancel()
	if err := <-ret; err != nil {
		t.Errorf("first Run = %v, want nil", err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Done not closed after Run returned")
	}

	ctx2, cancel2 := context.WithCancel(context.Background())
	err = sup.Run(ctx2, Hooks{}, func(context.Context, Opener, func()) error {
		if sup.Done() == done {
			t.Error("the new Run has the old Done")
		}
		cancel2()
		return ctx2.Err()
	})
	if err != nil {
		t.Errorf("Run after the first returned: %v", err)
	}
	var held Supervisor
	held.busy.Store(true)
	if err := held.Run(ctx2, Hooks{}, nil); err != ErrRunning {
		t.Errorf("Run while busy without Busy = %v, want ErrRunning", err)
	}
}

func TestLogLimit(t *testing.T) {
	l := LogLimit[int]{Interval: time.Minute}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	type note struct {
		key   int
		at    time.Duration
		times uint64
		due   bool
	}
	for i, n := range []note{
		{1, 0, 1, true},
		{1, time.Second, 1, false},
		{2, time.Second, 1, true}, // keys are limited apart
		{1, 30 * time.Second, 2, false},
		{1, time.Minute, 3, true}, // counts since the last line, this one included
		{1, time.Minute + time.Second, 1, false},
	} {
		times, due := l.Note(n.key, t0.Add(n.at))
		if times != n.times || due != n.due {
			t.Errorf("note %d: %d, %v; want %d, %v", i, times, due, n.times, n.due)
		}
	}
}

func TestArena(t *testing.T) {
	var a Arena
	if a.Keep(nil) != nil {
		t.Error("Keep(nil) is not nil")
	}
	src := []byte{1, 2, 3}
	x := a.Keep(src)
	y := a.Keep([]byte{4, 5})
	src[0] = 9
	if !bytes.Equal(x, []byte{1, 2, 3}) || !bytes.Equal(y, []byte{4, 5}) {
		t.Fatalf("copies %v %v altered", x, y)
	}
	if cap(x) != len(x) {
		t.Errorf("cap %d beyond the copy's length %d: appending would overwrite its neighbour", cap(x), len(x))
	}
	big := a.Keep(make([]byte, 3*arenaBlock))
	if len(big) != 3*arenaBlock {
		t.Errorf("copy of a slice longer than a block: %d bytes", len(big))
	}
}

// fakePort returns its reads in turn; a nil entry is a read that timed
// out.
type fakePort struct{ reads [][]byte }

func (p *fakePort) Read(b []byte) (int, error) {
	if len(p.reads) == 0 {
		return 0, ErrHangup
	}
	r := p.reads[0]
	p.reads = p.reads[1:]
	return copy(b, r), nil
}
func (p *fakePort) Write(b []byte) (int, error)        { return len(b), nil }
func (p *fakePort) Close() error                       { return nil }
func (p *fakePort) SetReadTimeout(time.Duration) error { return nil }
func (p *fakePort) SetWriteDeadline(time.Time) error   { return nil }

// lineDecoder cuts frames at '\n' and emits what is held as is on Flush.
type lineDecoder struct{ held []byte }

func (d *lineDecoder) Feed(p []byte, emit func(string)) {
	for _, c := range p {
		if c == '\n' {
			emit(string(d.held))
			d.held = d.held[:0]
			continue
		}
		d.held = append(d.held, c)
	}
}

func (d *lineDecoder) Flush(emit func(string)) {
	emit("cut:" + string(d.held))
	d.held = d.held[:0]
}

func (d *lineDecoder) Buffered() int { return len(d.held) }

// TestPumpAndAwait: frames are stamped with the time of the read that
// completed them, a quiet read flushes a partial frame, and Await stops
// on its condition, its timeout and the line's error.
func TestPumpAndAwait(t *testing.T) {
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(time.Millisecond); return clock }
	port := &fakePort{reads: [][]byte{[]byte("ab\ncd"), []byte("e\nf"), nil, nil}}
	type got struct {
		frame string
		at    time.Time
	}
	var frames []got
	pm := Pump[string]{Dec: &lineDecoder{}, Now: now, Buf: make([]byte, 16)}
	pm.Handle = func(f string) { frames = append(frames, got{f, pm.Arrival}) }

	ok, err := Await(context.Background(), now, time.Hour, func() bool { return len(frames) == 2 }, func() error { return pm.Read(port) })
	if !ok || err != nil {
		t.Fatalf("Await = %v, %v; want true", ok, err)
	}
	if frames[0].frame != "ab" || frames[1].frame != "cde" || !frames[1].at.After(frames[0].at) {
		t.Fatalf("frames %+v", frames)
	}
	if _, err := Await(context.Background(), now, time.Hour, func() bool { return len(frames) == 3 }, func() error { return pm.Read(port) }); err != nil {
		t.Fatal(err)
	}
	if frames[2].frame != "cut:f" {
		t.Errorf("quiet read: frame %q, want the partial one flushed", frames[2].frame)
	}
	// One quiet read left, then the line hangs up; the clock moves 1ms a
	// call, so a timeout of 2ms passes after that read.
	ok, err = Await(context.Background(), now, 2*time.Millisecond, func() bool { return false }, func() error { return pm.Read(port) })
	if ok || err != nil {
		t.Errorf("Await past its timeout = %v, %v; want false, nil", ok, err)
	}
	if _, err := Await(context.Background(), now, time.Hour, func() bool { return false }, func() error { return pm.Read(port) }); !errors.Is(err, ErrHangup) {
		t.Errorf("Await on a hung-up line: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Await(ctx, now, time.Hour, func() bool { return false }, func() error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Await with ctx done: %v", err)
	}
}

func TestQuietTime(t *testing.T) {
	// 255 bytes at 115200 baud: 22.135416ms on the line, a quarter more.
	if got, want := QuietTime(255, 115200), 27669270*time.Nanosecond; got != want {
		t.Errorf("QuietTime(255, 115200) = %v, want %v", got, want)
	}
	if got := QuietTime(8, 4000000); got != 5*time.Millisecond {
		t.Errorf("QuietTime of a short frame at a high rate = %v, want the 5ms floor", got)
	}
}
