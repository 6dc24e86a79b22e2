package barcode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// got is a frame as a test records it: Raw copied, Err reduced to what a
// test compares.
type got struct {
	raw  string
	err  string // "", "long", "incomplete"
	seen int64  // FrameTooLongError.Seen
	time time.Time
}

func (g got) String() string {
	if g.err == "" {
		return fmt.Sprintf("%q", g.raw)
	}
	return fmt.Sprintf("%q(%s %d)", g.raw, g.err, g.seen)
}

func record(out *[]got) func(Frame) {
	return func(fr Frame) {
		g := got{raw: string(fr.Raw), time: fr.Time}
		var long *FrameTooLongError
		var inc *IncompleteFrameError
		switch {
		case errors.As(fr.Err, &long):
			g.err, g.seen = "long", long.Seen
		case errors.As(fr.Err, &inc):
			g.err, g.seen = "incomplete", int64(inc.Len)
		case fr.Err != nil:
			g.err = fr.Err.Error()
		}
		*out = append(*out, g)
	}
}

func ok(raw ...string) []got {
	var out []got
	for _, r := range raw {
		out = append(out, got{raw: r})
	}
	return out
}

func long(raw string, seen int64) got { return got{raw: raw, err: "long", seen: seen} }

func same(a, b []got) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].raw != b[i].raw || a[i].err != b[i].err || a[i].seen != b[i].seen {
			return false
		}
	}
	return true
}

var framerTests = []struct {
	name    string
	suffix  Suffix
	max     int
	in      []string // chunks fed one by one
	want    []got
	pending int // Buffered() at the end
}{
	{"CR one", SuffixCR, 64, []string{"]C1abc\r"}, ok("]C1abc"), 0},
	{"CR two in one read", SuffixCR, 64, []string{"a\rb\r"}, ok("a", "b"), 0},
	{"CR pending", SuffixCR, 64, []string{"a\rbc"}, ok("a"), 2},
	{"CR tolerates CRLF", SuffixCR, 64, []string{"a\r\nb\r\n"}, ok("a", "b"), 0},
	{"CR tolerates CRLF split", SuffixCR, 64, []string{"a\r", "\nb\r", "\n"}, ok("a", "b"), 0},
	{"CR drops one LF only", SuffixCR, 64, []string{"a\r\n\nb\r"}, ok("a", "\nb"), 0},
	{"CR keeps other LF", SuffixCR, 64, []string{"a\nb\r\n"}, ok("a\nb"), 0},
	{"CR empty frames", SuffixCR, 64, []string{"\r\r\n\r", "\r"}, nil, 0},
	{"CR GS kept", SuffixCR, 64, []string{"]C10101234\x1d21X\r"}, ok("]C10101234\x1d21X"), 0},
	{"CR split everywhere", SuffixCR, 64, []string{"]", "C", "1", "a", "\r"}, ok("]C1a"), 0},
	{"LF one", SuffixLF, 64, []string{"abc\n"}, ok("abc"), 0},
	{"LF CR is data", SuffixLF, 64, []string{"abc\r\n"}, ok("abc\r"), 0},
	{"LF empty", SuffixLF, 64, []string{"\n\n", "\n"}, nil, 0},
	{"LF ignores CR", SuffixLF, 64, []string{"a\rb"}, nil, 3},
	{"CRLF one", SuffixCRLF, 64, []string{"abc\r\n"}, ok("abc"), 0},
	{"CRLF split between CR and LF", SuffixCRLF, 64, []string{"abc\r", "\n"}, ok("abc"), 0},
	{"CRLF lone CR is data", SuffixCRLF, 64, []string{"a\rb\r\n"}, ok("a\rb"), 0},
	{"CRLF CR CR LF", SuffixCRLF, 64, []string{"a\r", "\r", "\n"}, ok("a\r"), 0},
	{"CRLF lone LF is data", SuffixCRLF, 64, []string{"a\nb\r\n"}, ok("a\nb"), 0},
	{"CRLF empty", SuffixCRLF, 64, []string{"\r\n\r\n"}, nil, 0},
	{"CRLF pending CR", SuffixCRLF, 64, []string{"ab\r"}, nil, 2},
	{"over by one", SuffixCR, 4, []string{"abcde\rok\r"}, []got{long("abcd", 5), {raw: "ok"}}, 0},
	{"exactly the bound", SuffixCR, 4, []string{"abcd\r"}, ok("abcd"), 0},
	{"long line in pieces", SuffixCR, 4, []string{"abc", "defgh", "ijkl", "\r\n", "ok\r"}, []got{long("abcd", 12), {raw: "ok"}}, 0},
	{"long then LF tolerance", SuffixCR, 2, []string{"abc\r", "\nd\r"}, []got{long("ab", 3), {raw: "d"}}, 0},
	{"CRLF bound excludes suffix", SuffixCRLF, 4, []string{"abcd\r\n"}, ok("abcd"), 0},
	{"CRLF CR past the bound is data", SuffixCRLF, 4, []string{"abcd\rx\r\n"}, []got{long("abcd", 6)}, 0},
	{"LF long", SuffixLF, 3, []string{"abcdef\nxyz\n"}, []got{long("abc", 6), {raw: "xyz"}}, 0},
	{"long pending keeps bound", SuffixCR, 3, []string{strings.Repeat("z", 1000)}, nil, 3},
	{"none never ends by itself", SuffixNone, 64, []string{"a\r\nb"}, nil, 4},
}

func TestFramer(t *testing.T) {
	for _, tt := range framerTests {
		t.Run(tt.name, func(t *testing.T) {
			var out []got
			f := NewFramer(tt.suffix, tt.max)
			for _, c := range tt.in {
				f.Feed([]byte(c), time.Time{}, record(&out))
			}
			if !same(out, tt.want) {
				t.Errorf("frames %v, want %v", out, tt.want)
			}
			if f.Buffered() != tt.pending {
				t.Errorf("Buffered() = %d, want %d", f.Buffered(), tt.pending)
			}
			if cap(f.buf) != tt.max {
				t.Errorf("buffer grew to %d, bound %d", cap(f.buf), tt.max)
			}

			// The same bytes one at a time must give the same frames.
			out = nil
			f = NewFramer(tt.suffix, tt.max)
			for _, b := range []byte(strings.Join(tt.in, "")) {
				f.Feed([]byte{b}, time.Time{}, record(&out))
			}
			if !same(out, tt.want) {
				t.Errorf("byte by byte: frames %v, want %v", out, tt.want)
			}
		})
	}
}

func TestFramerTime(t *testing.T) {
	at := func(i int) time.Time { return time.Unix(1000, int64(i)) }
	var out []got
	f := NewFramer(SuffixCRLF, 64)
	for i, c := range []string{"]C", "1abc", "\r", "\n", "xy\r\n"} {
		f.Feed([]byte(c), at(i), record(&out))
	}
	if len(out) != 2 || !out[0].time.Equal(at(3)) || !out[1].time.Equal(at(4)) {
		t.Fatalf("frames %v at %v, %v; want the times of the reads that carried their LF (%v, %v)",
			out, out[0].time, out[1].time, at(3), at(4))
	}

	out = nil
	g := NewFramer(SuffixNone, 64)
	g.Feed([]byte("ab"), at(1), record(&out))
	g.Feed([]byte("cd"), at(2), record(&out))
	g.Flush(record(&out))
	if len(out) != 1 || out[0].raw != "abcd" || !out[0].time.Equal(at(2)) {
		t.Fatalf("gap frame %v at %v, want \"abcd\" at the last byte's arrival %v", out, out[0].time, at(2))
	}
}

func TestFramerFlush(t *testing.T) {
	var out []got
	f := NewFramer(SuffixNone, 4)
	f.Flush(record(&out))
	f.Feed([]byte("ab"), time.Time{}, record(&out))
	f.Feed([]byte("\r\n"), time.Time{}, record(&out))
	f.Flush(record(&out))
	f.Flush(record(&out))
	f.Feed([]byte("abcdefg"), time.Time{}, record(&out))
	f.Flush(record(&out))
	f.Feed([]byte("x"), time.Time{}, record(&out))
	f.Flush(record(&out))
	if want := []got{{raw: "ab\r\n"}, long("abcd", 7), {raw: "x"}}; !same(out, want) {
		t.Fatalf("frames %v, want %v", out, want)
	}
}

func TestFramerAbort(t *testing.T) {
	tests := []struct {
		suffix Suffix
		in     string
		want   []got
	}{
		{SuffixCR, "]C1ab", []got{{raw: "]C1ab", err: "incomplete", seen: 5}}},
		{SuffixCR, "a\r", nil},
		{SuffixCRLF, "ab\r", []got{{raw: "ab\r", err: "incomplete", seen: 3}}},
		{SuffixNone, "abc", []got{{raw: "abc", err: "incomplete", seen: 3}}},
		{SuffixLF, "abcdefghij", []got{long("abcdefgh", 10)}},
		{SuffixCRLF, "abcdefgh\r", []got{long("abcdefgh", 9)}},
	}
	for _, tt := range tests {
		var out []got
		f := NewFramer(tt.suffix, 8)
		f.Feed([]byte(tt.in), time.Time{}, func(Frame) {})
		var cause error = io.ErrUnexpectedEOF
		var frames []Frame
		f.Abort(cause, func(fr Frame) { frames = append(frames, fr); record(&out)(fr) })
		if !same(out, tt.want) {
			t.Errorf("%s %q: Abort gave %v, want %v", tt.suffix, tt.in, out, tt.want)
		}
		for _, fr := range frames {
			if errors.Is(fr.Err, ErrIncompleteFrame) && !errors.Is(fr.Err, cause) {
				t.Errorf("%s %q: %v does not wrap the cause", tt.suffix, tt.in, fr.Err)
			}
		}
		// The framer starts afresh: a pending CR or LF state is gone.
		out = nil
		f.Feed([]byte("\nz\r\n"), time.Time{}, record(&out))
		f.Flush(record(&out))
		if len(out) != 1 || !strings.Contains(out[0].raw, "z") {
			t.Errorf("%s: after Abort, frames %v", tt.suffix, out)
		}
	}
}

// TestFramerWireExamples cuts each example of barcode-wire.json with the
// suffix it was sent with, whole and split at every point.
func TestFramerWireExamples(t *testing.T) {
	for _, ex := range LoadWireExamples(t) {
		for _, suffix := range []Suffix{SuffixOf(t, ex.Suffix), SuffixCR} {
			for cut := 0; cut <= len(ex.Wire); cut++ {
				var out []got
				f := NewFramer(suffix, DefaultMaxLen)
				f.Feed(ex.Wire[:cut], time.Time{}, record(&out))
				f.Feed(ex.Wire[cut:], time.Time{}, record(&out))
				if want := ok(ex.AIM + ex.Data); !same(out, want) {
					t.Fatalf("%s, suffix %s, cut at %d: frames %v, want %v", ex.Note, suffix, cut, out, want)
				}
				sym, data := SplitAIM([]byte(out[0].raw))
				if sym != ex.AIM || string(data) != ex.Data {
					t.Fatalf("%s: SplitAIM = %q, %q; want %q, %q", ex.Note, sym, data, ex.AIM, ex.Data)
				}
			}
		}
	}
}

// TestFramerMemory streams a long line without a terminator and checks that
// the framer neither allocates nor holds more than its bound.
func TestFramerMemory(t *testing.T) {
	const bound = 4096
	f := NewFramer(SuffixCR, bound)
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 32)
	var frames int
	emit := func(Frame) { frames++ }
	allocs := testing.AllocsPerRun(2000, func() { f.Feed(chunk, time.Time{}, emit) })
	if allocs != 0 {
		t.Errorf("Feed allocates %.1f times per call on a long line", allocs)
	}
	if cap(f.buf) != bound || f.Buffered() != bound {
		t.Errorf("holding %d bytes in a buffer of %d, bound %d", f.Buffered(), cap(f.buf), bound)
	}
	var out []got
	f.Feed([]byte("\r"), time.Time{}, record(&out))
	if frames != 0 || len(out) != 1 || out[0].err != "long" || out[0].seen != int64(len(chunk))*2001 || len(out[0].raw) != bound {
		t.Fatalf("after %d bytes: %d early frames, then %d frames (err %q, seen %d)",
			len(chunk)*2001, frames, len(out), out[0].err, out[0].seen)
	}

	// Whole frames do not allocate either.
	frame := []byte("]d2011231231231233310ABC123\x1d99TESTING\r\n")
	if allocs := testing.AllocsPerRun(1000, func() { f.Feed(frame, time.Time{}, emit) }); allocs != 0 {
		t.Errorf("Feed allocates %.1f times per frame", allocs)
	}
}

func TestNewFramerBounds(t *testing.T) {
	f := NewFramer("TAB", 0)
	if f.suffix != SuffixNone || f.max != 1 {
		t.Fatalf("NewFramer(\"TAB\", 0) = suffix %q, bound %d; want none, 1", f.suffix, f.max)
	}
	var out []got
	f.Feed([]byte("ab"), time.Time{}, record(&out))
	f.Abort(context.Canceled, record(&out))
	if want := []got{long("a", 2)}; !same(out, want) {
		t.Fatalf("frames %v, want %v", out, want)
	}
}
