package barcode

import (
	"bytes"
	"testing"
	"time"
)

var fuzzSuffixes = [...]Suffix{SuffixCR, SuffixLF, SuffixCRLF, SuffixNone}

// refFrames is the framing rule stated plainly, on the whole input at once:
// split at the terminator; with CR, one LF right after each CR belongs to
// the suffix; the last piece has no terminator and is still pending. It
// also counts the bytes that produce no frame: terminators of empty frames
// and LFs taken as part of a CR suffix.
func refFrames(in []byte, suffix Suffix, maxLen int) (frames []got, pending []byte, empty, skipped int) {
	var sep []byte
	switch suffix {
	case SuffixCR:
		sep = []byte("\r")
	case SuffixLF:
		sep = []byte("\n")
	case SuffixCRLF:
		sep = []byte("\r\n")
	}
	pieces := bytes.Split(in, sep)
	for i, p := range pieces {
		if suffix == SuffixCR && i > 0 && len(p) > 0 && p[0] == '\n' {
			p = p[1:]
			skipped++
		}
		if i == len(pieces)-1 {
			pending = p
			break
		}
		switch {
		case len(p) == 0:
			empty++
		case len(p) > maxLen:
			frames = append(frames, long(string(p[:maxLen]), int64(len(p))))
		default:
			frames = append(frames, got{raw: string(p)})
		}
	}
	return frames, pending, empty, skipped
}

// chunks cuts in into pieces whose sizes come from cuts (1 to 16 bytes,
// cycling); no cuts means one piece.
func chunks(in, cuts []byte) [][]byte {
	if len(cuts) == 0 {
		return [][]byte{in}
	}
	var out [][]byte
	for i := 0; len(in) > 0; i++ {
		n := min(1+int(cuts[i%len(cuts)]%16), len(in))
		out = append(out, in[:n])
		in = in[n:]
	}
	return out
}

// FuzzFramer feeds arbitrary bytes, cut at arbitrary points, to a Framer
// with each suffix and a small bound. It checks that the framer never
// panics, never holds or emits more than the bound, gives the frames that
// the plain statement of the rule gives whatever the cuts, and loses no
// byte: frames, suffixes, pending bytes and the bytes that make no frame
// add up to the input, and without empty frames, tolerated LFs or long
// lines the frames and suffixes reproduce the input exactly.
func FuzzFramer(f *testing.F) {
	for _, ex := range LoadWireExamples(f) {
		for mode := range fuzzSuffixes {
			f.Add(ex.Wire, uint8(mode), uint16(DefaultMaxLen), []byte{})
			f.Add(ex.Wire, uint8(mode), uint16(16), []byte{1})
			f.Add(append(append([]byte{}, ex.Wire...), ex.Wire...), uint8(mode), uint16(len(ex.Wire)), []byte{3, 7, 0})
		}
	}
	f.Add([]byte("\r\n\r\r\n\n\r"), uint8(0), uint16(4), []byte{0})
	f.Add([]byte("abc\r\rdef\r\n"), uint8(2), uint16(3), []byte{1, 2})

	f.Fuzz(func(t *testing.T, in []byte, mode uint8, bound uint16, cuts []byte) {
		suffix := fuzzSuffixes[int(mode)%len(fuzzSuffixes)]
		maxLen := 1 + int(bound)%512
		fr := NewFramer(suffix, maxLen)

		var out []got
		overflow := false
		emit := func(x Frame) {
			if len(x.Raw) > maxLen || len(x.Raw) == 0 {
				t.Fatalf("frame of %d bytes, bound %d", len(x.Raw), maxLen)
			}
			record(&out)(x)
			if x.Err != nil {
				overflow = true
			}
		}
		pieces := chunks(in, cuts)
		for _, c := range pieces {
			fr.Feed(c, time.Time{}, emit)
			if suffix == SuffixNone {
				fr.Flush(emit) // each piece stands for a burst followed by a gap
			}
			if fr.Buffered() > maxLen || cap(fr.buf) != maxLen {
				t.Fatalf("holding %d bytes in a buffer of %d, bound %d", fr.Buffered(), cap(fr.buf), maxLen)
			}
		}

		suf := suffix.Bytes()
		var rebuilt []byte
		for _, g := range out {
			rebuilt = append(append(rebuilt, g.raw...), suf...)
		}

		if suffix == SuffixNone {
			var want []got
			for _, c := range pieces {
				switch {
				case len(c) > maxLen:
					want = append(want, long(string(c[:maxLen]), int64(len(c))))
				case len(c) > 0:
					want = append(want, got{raw: string(c)})
				}
			}
			if !same(out, want) {
				t.Fatalf("gap frames %v, want %v", out, want)
			}
			if !overflow && !bytes.Equal(rebuilt, in) {
				t.Fatalf("frames rebuild %q, input %q", rebuilt, in)
			}
			return
		}

		want, pending, empty, skipped := refFrames(in, suffix, maxLen)
		if !same(out, want) {
			t.Fatalf("frames %v, want %v", out, want)
		}
		var rest []got
		fr.Abort(nil, record(&rest))
		var wantRest []got
		switch {
		case len(pending) > maxLen:
			wantRest = []got{long(string(pending[:maxLen]), int64(len(pending)))}
		case len(pending) > 0:
			wantRest = []got{{raw: string(pending), err: "incomplete", seen: int64(len(pending))}}
		}
		if !same(rest, wantRest) {
			t.Fatalf("pending %v, want %v", rest, wantRest)
		}
		if overflow || len(pending) > maxLen {
			return
		}
		if n := len(rebuilt) + len(pending) + empty*len(suf) + skipped; n != len(in) {
			t.Fatalf("%d bytes accounted for, %d fed", n, len(in))
		}
		if empty == 0 && skipped == 0 && !bytes.Equal(append(rebuilt, pending...), in) {
			t.Fatalf("frames and suffixes rebuild %q, input %q", append(rebuilt, pending...), in)
		}
	})
}
