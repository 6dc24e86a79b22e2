package bb7e

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

// FuzzBB7EDecoder feeds arbitrary bytes, cut at arbitrary points, to a
// decoder with a small bound and checks that it never panics, never holds
// a longest frame's worth of bytes, emits only frames with the right
// head, tail, length and checksum, emits the same frames however the
// input is cut, and accounts for every byte. Each frame also goes through
// ParseEvent, which must not panic.
func FuzzBB7EDecoder(f *testing.F) {
	stream, frames := allFrames(f)
	f.Add(stream, []byte{})
	f.Add(stream, []byte{0})
	f.Add(stream, []byte{4, 1, 17})
	for _, fr := range frames {
		f.Add(fr, []byte{})
		for i := 1; i < len(fr); i += 3 {
			f.Add(fr, []byte{byte(i - 1)})
		}
		f.Add(append([]byte{0xBB, 0x7E, 0xBB, 0x02}, fr...), []byte{2})
		bad := bytes.Clone(fr)
		bad[len(bad)-2] ^= 0x01
		f.Add(append(bad, fr...), []byte{5, 9})
	}
	f.Add(notification(CommandMultiPoll, -60, 0x3000, bytes.Repeat([]byte{0x7E, 0xBB}, 6)), []byte{7})
	f.Fuzz(func(t *testing.T, in, cuts []byte) {
		whole := run(t, in, nil)
		cut := run(t, in, cuts)
		if !equalFrames(whole, cut) {
			t.Fatalf("%d frames whole, %d when cut", len(whole), len(cut))
		}
	})
}

const fuzzMaxParams = 80

func run(t *testing.T, in, cuts []byte) [][]byte {
	d := NewDecoder(Config{MaxParams: fuzzMaxParams})
	var out [][]byte
	var ev Event
	emit := func(f Frame) {
		r := f.Raw
		if len(r) < Overhead || r[0] != Standard.Head || r[len(r)-1] != Standard.Tail {
			t.Fatalf("frame % X: bad head or tail", r)
		}
		if pl := int(binary.BigEndian.Uint16(r[3:5])); pl > fuzzMaxParams || len(r) != pl+Overhead || len(f.Params) != pl {
			t.Fatalf("frame % X: bad length", r)
		}
		if Checksum(r[1:len(r)-2]) != r[len(r)-2] {
			t.Fatalf("frame % X: bad checksum", r)
		}
		_ = ParseEvent(f, &ev)
		out = append(out, bytes.Clone(r))
	}
	for _, c := range chunks(in, cuts) {
		d.Feed(c, emit)
		if d.Buffered() >= d.MaxFrameLen() {
			t.Fatalf("holds %d bytes", d.Buffered())
		}
	}
	d.Flush(emit)
	if s := d.Stats(); d.Buffered() != 0 || int(s.Skipped)+totalLen(out) != len(in) || int(s.Frames) != len(out) {
		t.Fatalf("stats %+v, buffered %d, %d frames of %d bytes, input %d", s, d.Buffered(), len(out), totalLen(out), len(in))
	}
	return out
}
