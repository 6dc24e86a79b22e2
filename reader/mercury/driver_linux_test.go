package mercury

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	serialport "github.com/udi-edge/udi-edge/reader"
)

// TestStartupStreamAndStop: the driver's requests are the captured host
// frames byte for byte, the captured module answers set it reading, the
// captured tag records come out with their EPC, RSSI and antenna, and
// cancelling stops reading with the captured stop command.
func TestStartupStreamAndStop(t *testing.T) {
	r := newRig(t, testConfig(), nil)
	r.fake.expect(setupFrames(t)...)
	r.wantState(true)
	if v, ok := r.rd.Version(); !ok || v.Model() != ModelM6eNano || v.FirmwareString() != "01.03.01.47" {
		t.Fatalf("Version() = %+v, %v", v, ok)
	}

	sent := time.Now()
	r.fake.send(vec(t, "T7"), vec(t, "T7c"), vec(t, "T8b"), vec(t, "T7e"))
	r.wantTag(r.next(), epcT7, -55, sent)
	r.wantTag(r.next(), epcT7c, -60, sent)
	ev := r.next()
	r.wantTag(ev, epcT7e, -60, sent)
	if ev.Tag.Frequency != 915250 || ev.Tag.Timestamp != 100*time.Millisecond || ev.Tag.ReadCount != 1 {
		t.Errorf("T7e metadata %+v", ev.Tag)
	}
	checkFor(t, wait, func() error {
		if c := r.rd.Counters(); c.Reads != 3 || c.KeepAlives == 0 || c.Temperature != 26 {
			return fmt.Errorf("counters %+v", c)
		}
		return nil
	})

	r.stop()
	r.fake.expect(vec(t, "T9"))
	if s := r.wantState(false); s.err != nil {
		t.Errorf("closing reported %v", s.err)
	}
	r.noEvent()
	logs := r.logs.String()
	for _, want := range []string{"M6e Nano", "01.03.01.47", `"celsius":26`, "mercury reader reading", "mercury reader closed"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	for _, epc := range []string{epcT7, epcT7c, epcT7e, strings.ToLower(epcT7)} {
		if strings.Contains(logs, epc) {
			t.Errorf("log carries EPC %s", epc)
		}
	}
}

// TestNoiseAndBadTags: garbage, a frame with a bad CRC, a tag whose Gen2
// CRC is wrong and a stray SOF before a quiet line are skipped and
// counted; the good records around them come out.
func TestNoiseAndBadTags(t *testing.T) {
	r := newRig(t, testConfig(), func(f *fake) { f.keepAlive = 0 })
	r.fake.expect(setupFrames(t)...)
	r.wantState(true)

	t7 := vec(t, "T7")
	badFrame := bytes.Clone(t7)
	badFrame[len(badFrame)-1] ^= 0x55
	badTag := retag(t7, len(t7)-7-5, 0x01) // last EPC byte: frame CRC good, tag CRC not
	sent := time.Now()
	r.fake.send([]byte{0x00, 0x13, 0x37, 0xFE}, badFrame, vec(t, "T7c"), badTag, []byte("noise"), vec(t, "T7e"))
	r.wantTag(r.next(), epcT7c, -60, sent)
	r.wantTag(r.next(), epcT7e, -60, sent)

	// A stray SOF announcing a long frame holds the record behind it
	// until the line goes quiet.
	r.fake.send(append([]byte{0xFF, 0x60}, t7...))
	r.wantTag(r.next(), epcT7, -55, sent)
	r.noEvent()
	// The decoder's counts reach the counters after the read that
	// completed the last event.
	checkFor(t, wait, func() error {
		if c := r.rd.Counters(); c.Reads != 3 || c.TagCRCErrors != 1 || c.BadFrameCRC == 0 || c.SkippedBytes < 10 || c.Truncated != 1 {
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

// TestModuleStatus: over temperature stops reading for the cool-down and
// starts it again; a full tag buffer restarts reading at once; other
// errors are logged in words and counted.
func TestModuleStatus(t *testing.T) {
	t.Run("over temperature", func(t *testing.T) {
		r := newRig(t, testConfig(), nil)
		r.fake.expect(setupFrames(t)...)
		r.wantState(true)
		r.fake.send(response(OpReadTagIDMultiple, StatusTemperatureExceeded, nil))
		r.fake.expect(vec(t, "T9"))
		stopped := time.Now()
		r.fake.expect(vec(t, "T6"))
		if d := time.Since(stopped); d < 100*time.Millisecond {
			t.Errorf("reading resumed %v after the stop, before the cool-down of 150ms", d)
		}
		sent := time.Now()
		r.fake.send(vec(t, "T7"))
		r.wantTag(r.next(), epcT7, -55, sent)
		if c := r.rd.Counters(); c.CoolDowns != 1 || c.StatusErrors != 1 {
			t.Errorf("counters %+v", c)
		}
		if !strings.Contains(r.logs.String(), "too hot") {
			t.Errorf("no over-temperature warning:\n%s", r.logs)
		}
	})
	t.Run("temperature limit", func(t *testing.T) {
		cfg := testConfig()
		cfg.TemperatureStats, cfg.TemperatureLimit = true, 25
		r := newRig(t, cfg, nil)
		setup := setupFrames(t)
		setup[5] = CmdStartContinuous(ContinuousConfig{Metadata: MetaDefault, Stats: StatsTemperature})
		r.fake.expect(setup...)
		r.wantState(true)
		r.fake.send(vec(t, "T8b")) // 26 °C
		r.fake.expect(vec(t, "T9"), setup[5])
		if c := r.rd.Counters(); c.CoolDowns != 1 || c.Temperature != 26 {
			t.Errorf("counters %+v", c)
		}
	})
	t.Run("buffer full", func(t *testing.T) {
		r := newRig(t, testConfig(), nil)
		r.fake.expect(setupFrames(t)...)
		r.wantState(true)
		r.fake.send(response(OpReadTagIDMultiple, StatusTagBufferFull, nil))
		r.fake.expect(vec(t, "T9"), vec(t, "T6"))
		if c := r.rd.Counters(); c.Restarts != 1 || c.CoolDowns != 0 {
			t.Errorf("counters %+v", c)
		}
	})
	t.Run("antenna", func(t *testing.T) {
		r := newRig(t, testConfig(), nil)
		r.fake.expect(setupFrames(t)...)
		r.wantState(true)
		for range 3 {
			r.fake.send(response(OpReadTagIDMultiple, StatusAntennaNotConnected, nil))
		}
		sent := time.Now()
		r.fake.send(vec(t, "T7"))
		r.wantTag(r.next(), epcT7, -55, sent)
		r.fake.noRequest()
		if c := r.rd.Counters(); c.StatusErrors != 3 || c.Restarts != 0 {
			t.Errorf("counters %+v", c)
		}
		if logs := r.logs.String(); strings.Count(logs, "antenna not connected") != 1 {
			t.Errorf("want one rate-limited line naming the error:\n%s", logs)
		}
	})
}

// TestKeepAliveTimeout: a module that goes silent while reading gets its
// reading restarted; silent again, the connection is restarted, the
// set-up run again, and reads resume.
func TestKeepAliveTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.Cycle, cfg.KeepAliveTimeout = 100*time.Millisecond, 400*time.Millisecond
	start := CmdStartContinuous(ContinuousConfig{Metadata: MetaDefault, Cycle: 100})
	setup := setupFrames(t)
	setup[5] = start
	r := newRig(t, cfg, nil)
	r.fake.expect(setup...)
	r.wantState(true)

	// Silent once: reading restarts and the module answers.
	r.fake.set(func(f *fake) {
		f.mute = true
		f.onStart = func(int) { f.mute = false; f.onStart = nil }
	})
	r.fake.expect(vec(t, "T9"), start)
	sent := time.Now()
	r.fake.send(vec(t, "T7"))
	r.wantTag(r.next(), epcT7, -55, sent)

	// Silent for good: after the restart the connection goes.
	r.fake.set(func(f *fake) { f.mute = true })
	r.fake.expect(vec(t, "T9"), start)
	s := r.wantState(false)
	var hung *HungError
	if !errors.Is(s.err, ErrHung) || !errors.As(s.err, &hung) || hung.Silent < cfg.KeepAliveTimeout {
		t.Fatalf("lost with %v, want a HungError", s.err)
	}
	r.fake.set(func(f *fake) { f.mute = false })
	r.fake.expect(vec(t, "T9")) // the stop on closing
	r.fake.expect(setup...)
	r.wantState(true)
	sent = time.Now()
	r.fake.send(vec(t, "T7c"))
	r.wantTag(r.next(), epcT7c, -60, sent)
	if c := r.rd.Counters(); c.Restarts != 2 || c.Connects != 2 {
		t.Errorf("counters %+v", c)
	}
}

// TestCommandTimeout: a command not answered is sent once more; answered
// then, the set-up goes on; silent twice, the connection is restarted.
func TestCommandTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.CommandTimeout = 250 * time.Millisecond
	t.Run("retry answered", func(t *testing.T) {
		r := newRig(t, cfg, func(f *fake) { f.drop[OpSetRegion] = 1 })
		setup := setupFrames(t)
		r.fake.expect(setup[0], setup[1], setup[1])
		r.fake.expect(setup[2:]...)
		r.wantState(true)
		if c := r.rd.Counters(); c.Retries != 1 || c.Connects != 1 {
			t.Errorf("counters %+v", c)
		}
	})
	t.Run("reconnect", func(t *testing.T) {
		r := newRig(t, cfg, func(f *fake) { f.drop[OpSetRegion] = 2 })
		setup := setupFrames(t)
		r.fake.expect(setup[0], setup[1], setup[1])
		s := r.wantState(false)
		var te *TimeoutError
		if !errors.As(s.err, &te) || te.Op != OpSetRegion || te.Attempts != 2 || !errors.Is(s.err, ErrTimeout) {
			t.Fatalf("failure %v, want a TimeoutError for SET_REGION", s.err)
		}
		r.fake.expect(setup...)
		r.wantState(true)
	})
}

// TestStillStreaming: a module left reading by an earlier run answers
// nothing but the stop; the driver stops it and sets it up.
func TestStillStreaming(t *testing.T) {
	r := newRig(t, testConfig(), func(f *fake) { f.streaming = true })
	setup := setupFrames(t)
	r.fake.expect(setup[0], vec(t, "T9"))
	r.fake.expect(setup...)
	r.wantState(true)
}

// TestUnplugAndReplug unplugs the module while it reads, then plugs a new
// one in at the same by-id link: the driver reports both changes, runs
// the set-up on the new device and reads on without being restarted.
func TestUnplugAndReplug(t *testing.T) {
	r := newRig(t, testConfig(), nil)
	r.fake.expect(setupFrames(t)...)
	r.wantState(true)
	sent := time.Now()
	r.fake.send(vec(t, "T7"))
	r.wantTag(r.next(), epcT7, -55, sent)

	r.dev.Unplug()
	lost := r.wantState(false)
	if !errors.Is(lost.err, serialport.ErrHangup) {
		t.Errorf("disconnect reported with %v, want a hangup", lost.err)
	}
	if r.rd.Connected() {
		t.Error("Connected() after unplug")
	}
	if err := r.rd.WriteEPC(context.Background(), []byte{1, 2}); !errors.Is(err, ErrDisconnected) {
		t.Errorf("WriteEPC while unplugged: %v", err)
	}
	if missing := r.wantState(false); !errors.Is(missing.err, fs.ErrNotExist) {
		t.Errorf("open failure reported as %v, want a missing device", missing.err)
	}

	r.replug(nil)
	r.fake.expect(setupFrames(t)...)
	r.wantState(true)
	sent = time.Now()
	r.fake.send(vec(t, "T7e"))
	r.wantTag(r.next(), epcT7e, -60, sent)
	if c := r.rd.Counters(); c.Connects != 2 {
		t.Errorf("counters %+v", c)
	}
	logs := r.logs.String()
	if strings.Count(logs, "mercury reader reading") != 2 || strings.Count(logs, "mercury reader disconnected") != 1 ||
		strings.Count(logs, "mercury reader unavailable") != 1 {
		t.Errorf("want one log line per state change:\n%s", logs)
	}
}

// TestProbeBaud: with no line speed configured the driver probes; the
// module answers only the second VERSION, which it receives at 9600 baud.
func TestProbeBaud(t *testing.T) {
	cfg := testConfig()
	cfg.Serial.Baud = 0
	r := newRig(t, cfg, func(f *fake) { f.skipVersion = 1 })
	t1 := vec(t, "T1")
	r.fake.expect(t1, t1) // at 115200, ignored; at 9600, answered
	r.fake.expect(setupFrames(t)...)
	r.wantState(true)
	tio, err := r.dev.Termios()
	if err != nil {
		t.Fatal(err)
	}
	if tio.Ispeed != 9600 {
		t.Errorf("line at %d baud, want 9600", tio.Ispeed)
	}
	if !strings.Contains(r.logs.String(), `"baud":9600`) {
		t.Errorf("rate found not logged:\n%s", r.logs)
	}
	sent := time.Now()
	r.fake.send(vec(t, "T7"))
	r.wantTag(r.next(), epcT7, -55, sent)
}

// TestProbeNoAnswer: a device that never answers is reported once with
// every rate tried.
func TestProbeNoAnswer(t *testing.T) {
	cfg := testConfig()
	cfg.Serial.Baud, cfg.ProbeTimeout = 0, 10*time.Millisecond
	r := newRig(t, cfg, func(f *fake) { f.skipVersion = 1 << 30 })
	s := r.wantState(false)
	var pe *ProbeError
	if !errors.As(s.err, &pe) || len(pe.Rates) != len(ProbeRates) || pe.Rates[0] != 115200 || !errors.Is(s.err, ErrNoAnswer) {
		t.Fatalf("failure %v, want a ProbeError over every rate", s.err)
	}
}

// TestWriteEPC commissions a tag: stop, count, write, read back, resume;
// and the failures each come back typed, with reading resumed.
func TestWriteEPC(t *testing.T) {
	epc := mustHex(t, "596F596F")
	clear, getBuf := CmdClearTagBuffer(), CmdGetTagBuffer(verifyMetadata)
	t10, t12 := vec(t, "T10"), vec(t, "T12")
	t9, t6 := vec(t, "T9"), vec(t, "T6")

	start := func(t *testing.T, prepare func(f *fake)) *rig {
		r := newRig(t, testConfig(), prepare)
		r.fake.expect(setupFrames(t)...)
		r.wantState(true)
		return r
	}
	resumed := func(r *rig) {
		t.Helper()
		sent := time.Now()
		r.fake.send(vec(t, "T7"))
		r.wantTag(r.next(), epcT7, -55, sent)
	}

	t.Run("ok", func(t *testing.T) {
		r := start(t, nil)
		if err := r.rd.WriteEPC(context.Background(), epc); err != nil {
			t.Fatalf("WriteEPC: %v", err)
		}
		r.fake.expect(t9, clear, t10, t12, clear, t10, getBuf, t6)
		resumed(r)
		if !strings.Contains(r.logs.String(), "tag written and verified") {
			t.Errorf("write not logged:\n%s", r.logs)
		}
	})
	t.Run("no tag", func(t *testing.T) {
		r := start(t, func(f *fake) { f.field = nil })
		if err := r.rd.WriteEPC(context.Background(), epc); !errors.Is(err, ErrNoTag) {
			t.Fatalf("WriteEPC: %v, want ErrNoTag", err)
		}
		r.fake.expect(t9, clear, t10, t6)
		resumed(r)
	})
	t.Run("two tags", func(t *testing.T) {
		r := start(t, func(f *fake) { f.field = append(f.field, epc) })
		err := r.rd.WriteEPC(context.Background(), epc)
		var mt *MultipleTagsError
		if !errors.As(err, &mt) || mt.Count != 2 || !errors.Is(err, ErrMultipleTags) {
			t.Fatalf("WriteEPC: %v, want a MultipleTagsError of 2", err)
		}
		r.fake.expect(t9, clear, t10, t6)
		resumed(r)
	})
	t.Run("write fails", func(t *testing.T) {
		r := start(t, func(f *fake) { f.writeStatus = StatusGen2InsufficientPower })
		err := r.rd.WriteEPC(context.Background(), epc)
		var we *WriteError
		if !errors.As(err, &we) || we.Status != StatusGen2InsufficientPower || !errors.Is(err, ErrWriteFailed) || !errors.Is(err, ErrStatus) {
			t.Fatalf("WriteEPC: %v, want a WriteError with 0x042B", err)
		}
		if !strings.Contains(err.Error(), "insufficient power") {
			t.Errorf("message %q does not name the status", err)
		}
		r.fake.expect(t9, clear, t10, t12, t6)
		resumed(r)
	})
	t.Run("verify mismatch", func(t *testing.T) {
		r := start(t, func(f *fake) { f.writeIgnored = true })
		err := r.rd.WriteEPC(context.Background(), epc)
		var ve *VerifyError
		if !errors.As(err, &ve) || !bytes.Equal(ve.Want, epc) || hexOf(ve.Got) != epcT7 || !errors.Is(err, ErrVerify) {
			t.Fatalf("WriteEPC: %v, want a VerifyError", err)
		}
		if strings.Contains(err.Error(), epcT7) || strings.Contains(err.Error(), "596F") {
			t.Errorf("message %q carries an EPC", err)
		}
		r.fake.expect(t9, clear, t10, t12, clear, t10, getBuf, t6)
		resumed(r)
	})
	t.Run("bad arguments", func(t *testing.T) {
		rd := New(Config{ID: "x", Serial: serialport.Settings{Device: "/nonexistent"}}, nil)
		if err := rd.WriteEPC(context.Background(), epc); !errors.Is(err, ErrDisconnected) {
			t.Errorf("WriteEPC before Run: %v, want ErrDisconnected", err)
		}
		for _, bad := range [][]byte{nil, {1, 2, 3}, make([]byte, MaxEPCLen+2)} {
			if err := rd.WriteEPC(context.Background(), bad); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("WriteEPC(%d bytes): %v, want ErrInvalidArgument", len(bad), err)
			}
		}
	})
	t.Run("context", func(t *testing.T) {
		r := start(t, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := r.rd.WriteEPC(ctx, epc); !errors.Is(err, context.Canceled) {
			t.Fatalf("WriteEPC with a cancelled context: %v", err)
		}
	})
}

func TestRunRejectsBadConfig(t *testing.T) {
	err := New(Config{ID: "a", Serial: serialport.Settings{Device: "/dev/x"}, Region: "Mars"}, nil).RunEvents(context.Background(), func(TagEvent) {})
	if !errors.Is(err, ErrInvalidConfig) || !strings.HasPrefix(err.Error(), `region "Mars"`) {
		t.Fatalf("Run with a bad region: %v", err)
	}
}

func TestRunTwice(t *testing.T) {
	r := newRig(t, testConfig(), nil)
	r.wantState(true)
	if err := r.rd.RunEvents(context.Background(), func(TagEvent) {}); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Run: %v, want ErrRunning", err)
	}
}
