package mercury

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecodeEveryVector drives every captured frame, host and module,
// through a decoder of its direction: exactly one frame comes out, equal
// to the input, with the opcode, status and data length its LEN gives.
func TestDecodeEveryVector(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.ID, func(t *testing.T) {
			d := decoderFor(v)
			var frames []Frame
			d.Feed(v.Bytes, func(f Frame) {
				f.Raw = bytes.Clone(f.Raw)
				f.Data = bytes.Clone(f.Data)
				frames = append(frames, f)
			})
			if len(frames) != 1 {
				t.Fatalf("%d frames, want 1; stats %+v", len(frames), d.Stats())
			}
			f := frames[0]
			if !bytes.Equal(f.Raw, v.Bytes) {
				t.Errorf("raw % X, want % X", f.Raw, v.Bytes)
			}
			if f.Opcode != Opcode(v.Bytes[2]) || len(f.Data) != int(v.Bytes[1]) {
				t.Errorf("opcode %v data %d bytes; frame says %02X and LEN %d", f.Opcode, len(f.Data), v.Bytes[2], v.Bytes[1])
			}
			if v.Direction == "module" && f.Status != Status(uint16(v.Bytes[3])<<8|uint16(v.Bytes[4])) {
				t.Errorf("status %v", f.Status)
			}
			if s := d.Stats(); s != (Stats{Frames: 1}) || d.Buffered() != 0 {
				t.Errorf("stats %+v, buffered %d", s, d.Buffered())
			}
		})
	}
}

// TestSplitEveryVector feeds each frame in every two-piece split and
// byte by byte.
func TestSplitEveryVector(t *testing.T) {
	for _, v := range loadVectors(t) {
		b := v.Bytes
		for i := 0; i <= len(b); i++ {
			d := decoderFor(v)
			got := decodeAll(d, b[:i], b[i:])
			if len(got) != 1 || !bytes.Equal(got[0], b) {
				t.Fatalf("%s split at %d: got %X", v.ID, i, got)
			}
		}
		d := decoderFor(v)
		var pieces [][]byte
		for i := range b {
			pieces = append(pieces, b[i:i+1])
		}
		if got := decodeAll(d, pieces...); len(got) != 1 || !bytes.Equal(got[0], b) {
			t.Fatalf("%s byte by byte: got %X", v.ID, got)
		}
	}
}

// TestStreamAnyChunking feeds all module frames back to back in chunks of
// every size from 1 to the whole stream.
func TestStreamAnyChunking(t *testing.T) {
	stream, want := moduleStream(t)
	for size := 1; size <= len(stream); size++ {
		d := NewDecoder()
		var chunks [][]byte
		for i := 0; i < len(stream); i += size {
			chunks = append(chunks, stream[i:min(i+size, len(stream))])
		}
		got := decodeAll(d, chunks...)
		if !equalFrames(got, want) {
			t.Fatalf("chunk %d: %d frames, want %d", size, len(got), len(want))
		}
		if s := d.Stats(); s.BadCRC != 0 || s.Skipped != 0 {
			t.Fatalf("chunk %d: stats %+v", size, s)
		}
	}
}

func equalFrames(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// TestGarbage puts noise before, between and after frames, including
// stray SOF bytes and a frame cut short.
func TestGarbage(t *testing.T) {
	_, frames := moduleStream(t)
	noise := [][]byte{
		{0x00, 0x01, 0x7E, 0x55},
		{SOF},
		{SOF, SOF, SOF},
		{SOF, 0x28, 0x22, 0x00, 0x00, 0x10}, // a tag record cut off after 6 bytes
		{0x12, SOF, 0x00, 0x22, 0x04, 0x00, 0x00}, // a keep-alive with a wrong CRC
		bytes.Repeat([]byte{0xAA}, 300),
	}
	for ni, n := range noise {
		var in []byte
		in = append(in, n...)
		for _, f := range frames {
			in = append(in, f...)
			in = append(in, n...)
		}
		for _, size := range []int{1, 3, 7, 64, len(in)} {
			d := NewDecoder()
			var chunks [][]byte
			for i := 0; i < len(in); i += size {
				chunks = append(chunks, in[i:min(i+size, len(in))])
			}
			got := decodeAll(d, chunks...)
			d.Flush(func(f Frame) { got = append(got, bytes.Clone(f.Raw)) })
			if !equalFrames(got, frames) {
				t.Fatalf("noise %d chunk %d: %d frames, want %d", ni, size, len(got), len(frames))
			}
			s := d.Stats()
			if int(s.Skipped)+d.Buffered()+totalLen(frames) != len(in) {
				t.Fatalf("noise %d chunk %d: skipped %d + buffered %d + frames %d != input %d",
					ni, size, s.Skipped, d.Buffered(), totalLen(frames), len(in))
			}
		}
	}
}

func totalLen(frames [][]byte) int {
	n := 0
	for _, f := range frames {
		n += len(f)
	}
	return n
}

// TestBadCRCThenGood corrupts one byte of a frame: that frame is counted
// and dropped, the good frame after it is still found.
func TestBadCRCThenGood(t *testing.T) {
	_, frames := moduleStream(t)
	for i, bad := range frames {
		for pos := 1; pos < len(bad); pos++ {
			corrupt := bytes.Clone(bad)
			corrupt[pos] ^= 0x20
			good := frames[(i+1)%len(frames)]
			d := NewDecoder()
			got := decodeAll(d, corrupt, good)
			d.Flush(func(f Frame) { got = append(got, bytes.Clone(f.Raw)) })
			if len(got) == 0 || !bytes.Equal(got[len(got)-1], good) {
				t.Fatalf("frame %d corrupted at %d: good frame lost; got %X", i, pos, got)
			}
			for _, g := range got[:len(got)-1] {
				// A corrupted length byte can uncover an inner valid
				// frame only by a 1-in-65536 CRC accident; none of the
				// vectors does.
				t.Fatalf("frame %d corrupted at %d: extra frame %X", i, pos, g)
			}
			if s := d.Stats(); s.BadCRC+s.Truncated == 0 {
				t.Fatalf("frame %d corrupted at %d: bad frame not counted", i, pos)
			}
		}
	}
}

// TestBoundedMemory feeds a megabyte of random bytes and SOFs: nothing
// beyond one incomplete frame is ever held.
func TestBoundedMemory(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	in := make([]byte, 1<<20)
	for i := range in {
		in[i] = byte(rng.Uint32())
		if rng.IntN(8) == 0 {
			in[i] = SOF
		}
	}
	d := NewDecoder()
	for len(in) > 0 {
		n := min(1+rng.IntN(700), len(in))
		d.Feed(in[:n], func(f Frame) {
			if CRC(f.Raw[1:len(f.Raw)-2]) != uint16(f.Raw[len(f.Raw)-2])<<8|uint16(f.Raw[len(f.Raw)-1]) {
				t.Fatal("emitted a frame with a bad CRC")
			}
		})
		if d.Buffered() >= MaxResponseLen {
			t.Fatalf("buffered %d", d.Buffered())
		}
		in = in[n:]
	}
}

// TestFlushAfterStraySOF: a stray SOF before a command response holds the
// response back until the line is declared idle.
func TestFlushAfterStraySOF(t *testing.T) {
	ack := mustHex(t, "FF00970000779E")
	d := NewDecoder()
	got := decodeAll(d, []byte{SOF}, ack)
	if len(got) != 0 {
		t.Fatalf("frame emitted before the candidate could be disproved: %X", got)
	}
	d.Flush(func(f Frame) { got = append(got, bytes.Clone(f.Raw)) })
	if len(got) != 1 || !bytes.Equal(got[0], ack) {
		t.Fatalf("after Flush: %X", got)
	}
	if s := d.Stats(); s.Truncated != 1 || s.Skipped != 1 || d.Buffered() != 0 {
		t.Fatalf("stats %+v buffered %d", s, d.Buffered())
	}
}

func TestReset(t *testing.T) {
	_, frames := moduleStream(t)
	d := NewDecoder()
	d.Feed(frames[0][:5], func(Frame) { t.Fatal("frame from a partial input") })
	if d.Buffered() != 5 {
		t.Fatalf("buffered %d", d.Buffered())
	}
	d.Reset()
	if got := decodeAll(d, frames[1]); len(got) != 1 {
		t.Fatalf("after reset: %d frames", len(got))
	}
}

func TestEncodeRequest(t *testing.T) {
	if got := EncodeRequest(OpVersion, nil); !bytes.Equal(got, mustHex(t, "FF00031D0C")) {
		t.Errorf("EncodeRequest(VERSION) = % X", got)
	}
	dst := []byte{0x55}
	got := AppendRequest(dst, OpSetRegion, []byte{0x0D})
	if !bytes.Equal(got, mustHex(t, "55FF01970D4BB0")) {
		t.Errorf("AppendRequest = % X", got)
	}
	long := EncodeRequest(OpWriteTagData, make([]byte, MaxDataLen))
	if len(long) != MaxRequestLen {
		t.Errorf("longest request %d bytes", len(long))
	}
	defer func() {
		if recover() == nil {
			t.Error("no panic for 256 data bytes")
		}
	}()
	EncodeRequest(OpWriteTagData, make([]byte, MaxDataLen+1))
}

// TestLongestResponse decodes a response with 255 data bytes.
func TestLongestResponse(t *testing.T) {
	body := append([]byte{MaxDataLen, byte(OpReadTagData), 0, 0}, bytes.Repeat([]byte{SOF}, MaxDataLen)...)
	frame := append([]byte{SOF}, body...)
	frame = append(frame, byte(CRC(body)>>8), byte(CRC(body)))
	got := decodeAll(NewDecoder(), frame)
	if len(got) != 1 || len(got[0]) != MaxResponseLen {
		t.Fatalf("got %d frames", len(got))
	}
}

func TestZeroDecoder(t *testing.T) {
	var d Decoder
	if got := decodeAll(&d, mustHex(t, "FF00970000779E")); len(got) != 1 {
		t.Fatalf("zero Decoder: %d frames", len(got))
	}
}
