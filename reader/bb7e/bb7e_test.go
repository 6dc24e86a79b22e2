package bb7e

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestEveryVector decodes every captured frame alone and checks what its
// "what" states; the table must cover every vector.
func TestEveryVector(t *testing.T) {
	type want struct {
		kind Kind
		tag  *TagRead
		code ErrorCode
	}
	wants := map[string]want{
		"B1": {kind: KindCommand}, "B2": {kind: KindCommand}, "B3": {kind: KindCommand},
		"B4": {kind: KindCommand}, "B9": {kind: KindCommand}, "B10": {kind: KindCommand},
		"B5":  {kind: KindTag, tag: &TagRead{RSSI: -55, PC: 0x3400, EPC: mustHex(t, "30751FEB705C5904E3D50D70"), TagCRC: 0x3A76, CRCValid: true}},
		"B12": {kind: KindTag, tag: &TagRead{RSSI: -60, PC: 0x3000, EPC: mustHex(t, "3074257BF7194E4000001A85"), TagCRC: 0xAAF9, CRCValid: true}},
		"B7":  {kind: KindError, code: ErrInventoryFail},
		"B8":  {kind: KindResponse},
		"B11": {kind: KindResponse},
	}
	for _, v := range loadVectors(t) {
		t.Run(v.ID, func(t *testing.T) {
			d := NewDecoder(Config{})
			var frames []Frame
			d.Feed(v.Bytes, func(f Frame) {
				f.Raw, f.Params = bytes.Clone(f.Raw), bytes.Clone(f.Params)
				frames = append(frames, f)
			})
			if len(frames) != 1 || !bytes.Equal(frames[0].Raw, v.Bytes) {
				t.Fatalf("frames %v, stats %+v", frames, d.Stats())
			}
			if s := d.Stats(); s != (Stats{Frames: 1}) || d.Buffered() != 0 {
				t.Fatalf("stats %+v buffered %d", s, d.Buffered())
			}
			f := frames[0]
			w, ok := wants[v.ID]
			if !ok {
				t.Fatalf("no expectation for %s (%s)", v.ID, v.What)
			}
			var ev Event
			if err := ParseEvent(f, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Kind != w.kind || ev.Code != w.code {
				t.Fatalf("event %+v, want %+v", ev, w)
			}
			if w.tag != nil {
				got := ev.Tag
				if got.RSSI != w.tag.RSSI || got.PC != w.tag.PC || !bytes.Equal(got.EPC, w.tag.EPC) ||
					got.TagCRC != w.tag.TagCRC || !got.CRCValid || len(got.EPC) != len(f.Params)-5 {
					t.Fatalf("tag %+v, want %+v", got, *w.tag)
				}
			}
			switch v.ID {
			case "B7":
				err := ev.Err()
				var me *Error
				if !errors.Is(err, ErrModule) || !errors.As(err, &me) || me.Code != 0x15 ||
					err.Error() != "bb7e: module error 0x15: inventory failed: no tag" {
					t.Fatalf("err %v", err)
				}
			case "B8":
				if err := ParseAck(f, CommandStopMultiPoll); err != nil {
					t.Fatal(err)
				}
			case "B11":
				kind, text, err := ParseInfo(f)
				if err != nil || kind != InfoHardware || text != "M100 26dBm V1.0" {
					t.Fatalf("info %v %q %v", kind, text, err)
				}
			}
		})
	}
}

// TestBuildersReproduceHostVectors: every host frame is produced byte for
// byte by a builder.
func TestBuildersReproduceHostVectors(t *testing.T) {
	builders := map[string][]byte{
		"B1":  CmdInfo(InfoHardware),
		"B2":  CmdSinglePoll(),
		"B3":  CmdMultiPoll(DefaultMultiPollCount),
		"B4":  CmdStopMultiPoll(),
		"B9":  CmdSetPower(2000),
		"B10": CmdSetRegion(RegionEU),
	}
	seen := 0
	for _, v := range loadVectors(t) {
		if v.Direction != "host" {
			continue
		}
		seen++
		got, ok := builders[v.ID]
		if !ok {
			t.Errorf("%s (%s): no builder", v.ID, v.What)
		} else if !bytes.Equal(got, v.Bytes) {
			t.Errorf("%s (%s):\n got % X\nwant % X", v.ID, v.What, got, v.Bytes)
		}
	}
	if seen != len(builders) {
		t.Errorf("%d host vectors, %d builders", seen, len(builders))
	}
	for _, c := range []struct {
		name      string
		got, want []byte
	}{
		{"software version", CmdInfo(InfoSoftware), mustHex(t, "BB0003000101057E")},
		{"get power", CmdGetPower(), mustHex(t, "BB00B70000B77E")},
		{"get region", CmdGetRegion(), mustHex(t, "BB00080000087E")},
		{"set region China 900", CmdSetRegion(RegionChina900), mustHex(t, "BB0007000101097E")},
	} {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("%s: got % X, want % X", c.name, c.got, c.want)
		}
	}
}

func TestSplitEveryVector(t *testing.T) {
	for _, v := range loadVectors(t) {
		b := v.Bytes
		for i := 0; i <= len(b); i++ {
			got := decodeAll(NewDecoder(Config{}), b[:i], b[i:])
			if len(got) != 1 || !bytes.Equal(got[0], b) {
				t.Fatalf("%s split at %d: %X", v.ID, i, got)
			}
		}
		var pieces [][]byte
		for i := range b {
			pieces = append(pieces, b[i:i+1])
		}
		if got := decodeAll(NewDecoder(Config{}), pieces...); len(got) != 1 || !bytes.Equal(got[0], b) {
			t.Fatalf("%s byte by byte: %X", v.ID, got)
		}
	}
}

func TestStreamAnyChunking(t *testing.T) {
	stream, frames := allFrames(t)
	for size := 1; size <= len(stream); size++ {
		var chunks [][]byte
		for i := 0; i < len(stream); i += size {
			chunks = append(chunks, stream[i:min(i+size, len(stream))])
		}
		d := NewDecoder(Config{})
		if got := decodeAll(d, chunks...); !equalFrames(got, frames) || d.Stats().Skipped != 0 {
			t.Fatalf("chunk %d: %d frames, stats %+v", size, len(got), d.Stats())
		}
	}
}

// TestTailInsideEPC: 0x7E and 0xBB inside an EPC, and an EPC ending in
// 0x7E, are data: the frame is cut by its length.
func TestTailInsideEPC(t *testing.T) {
	epcs := [][]byte{
		mustHex(t, "7E7E7E7E7E7E7E7E7E7E7E7E"),
		mustHex(t, "BB02220011BB7E00BB7E7EBB"),
		mustHex(t, "30751FEB705C5904E3D50D7E"),
		mustHex(t, "7E"+"BB0222"+"00057E"),
	}
	for _, epc := range epcs {
		for _, cmd := range []Command{CommandSinglePoll, CommandMultiPoll} {
			fr := notification(cmd, -40, uint16(len(epc)/2)<<11, epc)
			in := append(append([]byte{}, fr...), fr...)
			for i := 0; i <= len(in); i++ {
				d := NewDecoder(Config{})
				got := decodeAll(d, in[:i], in[i:])
				if len(got) != 2 || !bytes.Equal(got[0], fr) || !bytes.Equal(got[1], fr) || d.Stats().Skipped != 0 {
					t.Fatalf("EPC %X split %d: %X, stats %+v", epc, i, got, d.Stats())
				}
			}
			var ev Event
			var got []Frame
			NewDecoder(Config{}).Feed(fr, func(f Frame) { got = append(got, f) })
			if err := ParseEvent(got[0], &ev); err != nil || !bytes.Equal(ev.Tag.EPC, epc) || !ev.Tag.CRCValid {
				t.Fatalf("EPC %X: %v %+v", epc, err, ev.Tag)
			}
		}
	}
}

func TestGarbageAndResync(t *testing.T) {
	_, frames := allFrames(t)
	noise := [][]byte{
		{0x00, 0x7E, 0x7E, 0x55},
		{0xBB},
		{0xBB, 0xBB, 0x01},
		{0xBB, 0x02, 0x22, 0x00, 0x11, 0xC9}, // a notification cut off
		{0xBB, 0x01, 0xFF, 0x00, 0x01, 0x15, 0x17, 0x7E}, // wrong checksum
		{0xBB, 0x01, 0xFF, 0x00, 0x01, 0x15, 0x16, 0x7F}, // wrong tail
		{0xBB, 0x01, 0xFF, 0xFF, 0xFF},                   // length over the bound
		bytes.Repeat([]byte{0x7E}, 50),
	}
	for ni, n := range noise {
		var in []byte
		in = append(in, n...)
		for _, f := range frames {
			in = append(in, f...)
			in = append(in, n...)
		}
		for _, size := range []int{1, 2, 5, 33, len(in)} {
			d := NewDecoder(Config{})
			var chunks [][]byte
			for i := 0; i < len(in); i += size {
				chunks = append(chunks, in[i:min(i+size, len(in))])
			}
			got := flushAll(d, decodeAll(d, chunks...))
			if !equalFrames(got, frames) {
				t.Fatalf("noise %d chunk %d: %d frames, want %d", ni, size, len(got), len(frames))
			}
			if s := d.Stats(); int(s.Skipped)+totalLen(frames) != len(in) {
				t.Fatalf("noise %d: stats %+v, input %d", ni, s, len(in))
			}
		}
	}
}

// TestBadChecksumThenGood: a damaged frame is counted and dropped, the good
// frame after it found.
func TestBadChecksumThenGood(t *testing.T) {
	_, frames := allFrames(t)
	for i, bad := range frames {
		for pos := 1; pos < len(bad); pos++ {
			corrupt := bytes.Clone(bad)
			corrupt[pos] ^= 0x01
			good := frames[(i+1)%len(frames)]
			d := NewDecoder(Config{})
			got := flushAll(d, decodeAll(d, corrupt, good))
			if len(got) != 1 || !bytes.Equal(got[0], good) {
				t.Fatalf("frame %d corrupted at %d: %X", i, pos, got)
			}
			s := d.Stats()
			if s.BadChecksum+s.BadTail+s.BadHeader+s.Truncated == 0 {
				t.Fatalf("frame %d corrupted at %d: not counted: %+v", i, pos, s)
			}
		}
	}
}

func TestAADDFraming(t *testing.T) {
	_, frames := allFrames(t)
	var in [][]byte
	for _, f := range frames {
		in = append(in, AADD.Convert(f))
	}
	d := NewDecoder(Config{Framing: AADD})
	var stream []byte
	for _, f := range in {
		stream = append(stream, f...)
	}
	if got := decodeAll(d, stream); !equalFrames(got, in) {
		t.Fatalf("AA/DD: %d frames", len(got))
	}
	// A standard decoder sees none of them.
	if got := flushAll(NewDecoder(Config{}), decodeAll(NewDecoder(Config{}), stream)); len(got) != 0 {
		t.Fatalf("BB/7E decoder found %d AA/DD frames", len(got))
	}
	if got := Standard.Convert(AADD.Convert(frames[0])); !bytes.Equal(got, frames[0]) {
		t.Fatal("Convert round trip")
	}
}

func TestBoundedMemory(t *testing.T) {
	d := NewDecoder(Config{MaxParams: 64})
	if d.MaxFrameLen() != 71 {
		t.Fatalf("MaxFrameLen %d", d.MaxFrameLen())
	}
	in := bytes.Repeat([]byte{0xBB, 0x02, 0x22, 0x00, 0x40, 0x7E, 0x00}, 2000)
	for i := 0; i < len(in); i += 13 {
		d.Feed(in[i:min(i+13, len(in))], func(Frame) {})
		if d.Buffered() >= d.MaxFrameLen() {
			t.Fatalf("holds %d", d.Buffered())
		}
	}
	// A frame longer than the bound is noise.
	long := AppendFrame(nil, TypeResponse, 0x39, make([]byte, 65))
	if got := flushAll(d, decodeAll(d, long)); len(got) != 0 || d.Stats().BadHeader == 0 {
		t.Fatalf("frame over the bound accepted: %d, %+v", len(got), d.Stats())
	}
}

func TestParseErrors(t *testing.T) {
	var ev Event
	// Tag CRC mismatch: the notification is valid, the tag's CRC is not.
	fr := notification(CommandMultiPoll, -50, 0x3000, mustHex(t, "E2801105200074C4B5470A3F"))
	fr[len(fr)-4] ^= 0xFF
	fr[len(fr)-2] = Checksum(fr[1 : len(fr)-2])
	var f Frame
	NewDecoder(Config{}).Feed(fr, func(x Frame) { f = x })
	if err := ParseEvent(f, &ev); !errors.Is(err, ErrTagCRC) || ev.Kind != KindTag || ev.Tag.CRCValid {
		t.Fatalf("CRC mismatch: %v %+v", err, ev)
	}
	short := Frame{Type: TypeNotification, Command: CommandSinglePoll, Params: []byte{1, 2, 3, 4}}
	if err := ParseEvent(short, &ev); !errors.Is(err, ErrMalformed) {
		t.Fatalf("short notification: %v", err)
	}
	if err := ParseEvent(Frame{Type: TypeResponse, Command: CommandError}, &ev); !errors.Is(err, ErrMalformed) {
		t.Fatalf("error without code: %v", err)
	}
	errFrame := Frame{Type: TypeResponse, Command: CommandError, Params: []byte{0xB4}}
	if _, err := ParsePower(errFrame); !errors.Is(err, ErrModule) || !strings.Contains(err.Error(), "tag write error: memory locked") {
		t.Fatalf("ParsePower on error: %v", err)
	}
	p, err := ParsePower(Frame{Type: TypeResponse, Command: CommandGetPower, Params: []byte{0x07, 0xD0}})
	if err != nil || p != 2000 {
		t.Fatalf("ParsePower %d %v", p, err)
	}
	r, err := ParseRegion(Frame{Type: TypeResponse, Command: CommandGetRegion, Params: []byte{0x03}})
	if err != nil || r != RegionEU {
		t.Fatalf("ParseRegion %d %v", r, err)
	}
	if err := ParseAck(Frame{Type: TypeResponse, Command: CommandSetPower, Params: []byte{0x01}}, CommandSetPower); !errors.Is(err, ErrMalformed) {
		t.Fatalf("nack: %v", err)
	}
	for code, want := range map[ErrorCode]string{0x17: "command error", 0x20: "frequency hopping failed",
		0xA3: "tag read error: memory overrun", 0xEB: "tag block permalock error: insufficient power", 0x42: "unknown error"} {
		if got := code.Text(); got != want {
			t.Errorf("0x%02X: %q, want %q", byte(code), got, want)
		}
	}
}

func TestGen2CRC(t *testing.T) {
	if got := gen2CRC([]byte("123456789")); got != 0xD64E {
		t.Fatalf("check value 0x%04X", got)
	}
}

func TestHotPathAllocations(t *testing.T) {
	fr := notification(CommandSinglePoll, -40, 0x3000, mustHex(t, "3074257BF7194E4000001A85"))
	stream := bytes.Repeat(fr, 20)
	d := NewDecoder(Config{})
	var ev Event
	emit := func(f Frame) {
		if err := ParseEvent(f, &ev); err != nil {
			t.Fatal(err)
		}
	}
	if n := testing.AllocsPerRun(100, func() { d.Feed(stream, emit) }); n != 0 {
		t.Fatalf("%v allocations per run", n)
	}
}

func TestZeroDecoder(t *testing.T) {
	var d Decoder
	if got := decodeAll(&d, CmdSinglePoll()); len(got) != 1 || d.MaxFrameLen() != Overhead+DefaultMaxParams {
		t.Fatalf("zero Decoder: %d frames", len(got))
	}
}
