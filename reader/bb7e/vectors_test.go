package bb7e

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

// vector is one frame of testdata/vectors/bb7e-frames.json (at the module root).
type vector struct {
	ID        string `json:"id"`
	Direction string `json:"direction"` // "host" or "module"
	Hex       string `json:"hex"`
	What      string `json:"what"`
	// Bytes is Hex decoded.
	Bytes []byte `json:"-"`
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	b, err := os.ReadFile("../../testdata/vectors/bb7e-frames.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Frames []vector `json:"frames"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatalf("bb7e-frames.json: %v", err)
	}
	if len(file.Frames) == 0 {
		t.Fatal("bb7e-frames.json: no frames")
	}
	for i := range file.Frames {
		v := &file.Frames[i]
		if v.Bytes, err = hex.DecodeString(v.Hex); err != nil {
			t.Fatalf("%s: %v", v.ID, err)
		}
	}
	return file.Frames
}

// allFrames returns every vector frame, host and module, concatenated, and
// one by one.
func allFrames(t testing.TB) (stream []byte, frames [][]byte) {
	for _, v := range loadVectors(t) {
		stream = append(stream, v.Bytes...)
		frames = append(frames, v.Bytes)
	}
	return stream, frames
}

func decodeAll(d *Decoder, chunks ...[]byte) [][]byte {
	var out [][]byte
	for _, c := range chunks {
		d.Feed(c, func(f Frame) { out = append(out, bytes.Clone(f.Raw)) })
	}
	return out
}

func flushAll(d *Decoder, out [][]byte) [][]byte {
	d.Flush(func(f Frame) { out = append(out, bytes.Clone(f.Raw)) })
	return out
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

func totalLen(frames [][]byte) int {
	n := 0
	for _, f := range frames {
		n += len(f)
	}
	return n
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// notification builds a tag notification frame with a correct tag CRC.
func notification(cmd Command, rssi int8, pc uint16, epc []byte) []byte {
	p := []byte{byte(rssi), byte(pc >> 8), byte(pc)}
	p = append(p, epc...)
	c := gen2CRC(p[1:])
	p = append(p, byte(c>>8), byte(c))
	return AppendFrame(nil, TypeNotification, cmd, p)
}
