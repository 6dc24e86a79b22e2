package mercury

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

// vector is one frame of testdata/vectors/mercury-frames.json (at the module root).
type vector struct {
	ID        string `json:"id"`
	Direction string `json:"direction"` // "host" or "module"
	Hex       string `json:"hex"`
	What      string `json:"what"`
	Source    string `json:"source"`
	// Bytes is Hex decoded.
	Bytes []byte `json:"-"`
}

// loadVectors reads testdata/vectors/mercury-frames.json (at the module root).
func loadVectors(t testing.TB) []vector {
	t.Helper()
	b, err := os.ReadFile("../../testdata/vectors/mercury-frames.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Frames []vector `json:"frames"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatalf("mercury-frames.json: %v", err)
	}
	if len(file.Frames) == 0 {
		t.Fatal("mercury-frames.json: no frames")
	}
	for i := range file.Frames {
		v := &file.Frames[i]
		if v.Bytes, err = hex.DecodeString(v.Hex); err != nil {
			t.Fatalf("%s: %v", v.ID, err)
		}
		if v.Direction != "host" && v.Direction != "module" {
			t.Fatalf("%s: direction %q", v.ID, v.Direction)
		}
	}
	return file.Frames
}

// moduleStream returns every module frame of the vectors, concatenated,
// and the frames one by one.
func moduleStream(t testing.TB) (stream []byte, frames [][]byte) {
	for _, v := range loadVectors(t) {
		if v.Direction == "module" {
			stream = append(stream, v.Bytes...)
			frames = append(frames, v.Bytes)
		}
	}
	return stream, frames
}

// decodeAll feeds chunks to d and returns copies of the emitted frames'
// raw bytes.
func decodeAll(d *Decoder, chunks ...[]byte) [][]byte {
	var out [][]byte
	for _, c := range chunks {
		d.Feed(c, func(f Frame) { out = append(out, append([]byte(nil), f.Raw...)) })
	}
	return out
}

func decoderFor(v vector) *Decoder {
	if v.Direction == "host" {
		return NewRequestDecoder()
	}
	return NewDecoder()
}
