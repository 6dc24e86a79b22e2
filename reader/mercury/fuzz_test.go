package mercury

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// chunks cuts in into pieces whose sizes come from cuts (1 to 64 bytes,
// cycling); no cuts means one piece.
func chunks(in, cuts []byte) [][]byte {
	if len(cuts) == 0 {
		return [][]byte{in}
	}
	var out [][]byte
	for i := 0; len(in) > 0; i++ {
		n := min(1+int(cuts[i%len(cuts)]%64), len(in))
		out = append(out, in[:n])
		in = in[n:]
	}
	return out
}

// FuzzMercuryDecoder feeds arbitrary bytes, cut at arbitrary points, to a
// response decoder and checks that it never panics, never holds a whole
// frame's worth of bytes, emits only frames whose LEN and CRC are right,
// emits the same frames however the input is cut, and accounts for every
// byte: frames, skipped bytes and held bytes add up to the input, and
// after Flush nothing is held. Each frame is also given to ParseEvent,
// which must not panic.
func FuzzMercuryDecoder(f *testing.F) {
	stream, frames := moduleStream(f)
	f.Add(stream, []byte{})
	f.Add(stream, []byte{0})
	f.Add(stream, []byte{6, 1, 40})
	for _, fr := range frames {
		f.Add(fr, []byte{})
		for i := 1; i < len(fr); i += 5 {
			f.Add(fr, []byte{byte(i - 1)})
		}
		f.Add(append([]byte{SOF, 0x00, SOF}, fr...), []byte{2})
		bad := bytes.Clone(fr)
		bad[len(bad)-1] ^= 0xFF
		f.Add(append(bad, fr...), []byte{3, 9})
	}
	f.Fuzz(func(t *testing.T, in, cuts []byte) {
		whole := run(t, in, nil)
		cut := run(t, in, cuts)
		if !equalFrames(whole, cut) {
			t.Fatalf("%d frames whole, %d when cut", len(whole), len(cut))
		}
	})
}

// run decodes in, cut by cuts, then flushes, checking the invariants, and
// returns the frames.
func run(t *testing.T, in, cuts []byte) [][]byte {
	d := NewDecoder()
	var out [][]byte
	var ev Event
	emit := func(f Frame) {
		r := f.Raw
		if len(r) < ResponseOverhead || r[0] != SOF || len(r) != int(r[1])+ResponseOverhead {
			t.Fatalf("frame % X: bad length", r)
		}
		if CRC(r[1:len(r)-2]) != binary.BigEndian.Uint16(r[len(r)-2:]) {
			t.Fatalf("frame % X: bad CRC", r)
		}
		_ = ParseEvent(f, &ev)
		out = append(out, bytes.Clone(r))
	}
	for _, c := range chunks(in, cuts) {
		d.Feed(c, emit)
		if d.Buffered() >= MaxResponseLen {
			t.Fatalf("holds %d bytes", d.Buffered())
		}
	}
	d.Flush(emit)
	if d.Buffered() != 0 {
		t.Fatalf("holds %d bytes after Flush", d.Buffered())
	}
	if s := d.Stats(); int(s.Skipped)+totalLen(out) != len(in) || int(s.Frames) != len(out) {
		t.Fatalf("stats %+v, %d frames of %d bytes, input %d", s, len(out), totalLen(out), len(in))
	}
	return out
}
