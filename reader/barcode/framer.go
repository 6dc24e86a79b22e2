package barcode

import (
	"bytes"
	"time"
)

// Frame is one frame cut from the byte stream by a Framer.
type Frame struct {
	// Raw is the frame without its suffix, at most the Framer's bound in
	// length. It aliases the Framer's buffer and is valid only until the
	// emit callback returns: copy it to keep it.
	Raw []byte
	// Time is when the frame's last byte (its suffix, if it has one)
	// arrived: the time passed to the Feed that carried it.
	Time time.Time
	// Err is nil for a whole frame, a *FrameTooLongError when the line
	// ran past the bound, or a *IncompleteFrameError from Abort.
	Err error
}

// Framer cuts a serial byte stream into frames by a suffix (see the package
// documentation for the rules). It owns one buffer of the bound's size,
// allocated once, and never grows it: bytes of a line past the bound are
// counted and dropped. A Framer is not safe for concurrent use.
type Framer struct {
	suffix Suffix
	max    int
	buf    []byte    // the frame so far, at most max bytes
	seen   int64     // length of the current line, including dropped bytes
	last   time.Time // arrival of the last byte fed
	cr     bool      // CRLF: a CR was seen that may start the suffix
	skipLF bool      // CR: the previous byte was a terminating CR
}

// NewFramer returns a Framer for the given suffix and bound (longest frame
// in bytes, at least 1). An unknown suffix is taken as SuffixNone.
func NewFramer(suffix Suffix, maxLen int) *Framer {
	if !suffix.valid() {
		suffix = SuffixNone
	}
	maxLen = max(maxLen, 1)
	return &Framer{suffix: suffix, max: maxLen, buf: make([]byte, 0, maxLen)}
}

// Buffered returns the number of bytes of the frame in progress that are
// held (at most the bound).
func (f *Framer) Buffered() int { return len(f.buf) }

// Feed takes the bytes p, which arrived at time t, and calls emit for each
// frame they complete, in order. emit must not keep Frame.Raw.
func (f *Framer) Feed(p []byte, t time.Time, emit func(Frame)) {
	if len(p) == 0 {
		return
	}
	f.last = t
	switch f.suffix {
	case SuffixNone:
		f.add(p)
	case SuffixCR:
		for len(p) > 0 {
			if f.skipLF {
				f.skipLF = false
				if p[0] == '\n' {
					p = p[1:]
					continue
				}
			}
			i := bytes.IndexByte(p, '\r')
			if i < 0 {
				f.add(p)
				return
			}
			f.add(p[:i])
			f.end(t, emit)
			f.skipLF = true
			p = p[i+1:]
		}
	case SuffixLF:
		for len(p) > 0 {
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				f.add(p)
				return
			}
			f.add(p[:i])
			f.end(t, emit)
			p = p[i+1:]
		}
	case SuffixCRLF:
		for len(p) > 0 {
			if f.cr {
				f.cr = false
				if p[0] == '\n' {
					f.end(t, emit)
					p = p[1:]
					continue
				}
				f.addByte('\r') // a CR not followed by LF is data
			}
			i := bytes.IndexByte(p, '\r')
			if i < 0 {
				f.add(p)
				return
			}
			f.add(p[:i])
			f.cr = true
			p = p[i+1:]
		}
	}
}

// Flush ends the frame in progress as a whole frame, as when the line has
// been idle for the gap with SuffixNone. A pending CR (SuffixCRLF) is taken
// as data. Nothing is emitted when no byte is pending.
func (f *Framer) Flush(emit func(Frame)) {
	if f.cr {
		f.cr = false
		f.addByte('\r')
	}
	f.skipLF = false
	f.end(f.last, emit)
}

// Abort ends the frame in progress as cut off, because of cause (a read
// error, the device gone, the scanner stopped): its bytes are emitted with
// a *IncompleteFrameError, or a *FrameTooLongError if the line had already
// passed the bound. Nothing is emitted when no byte is pending. The Framer
// is then ready for a new stream.
func (f *Framer) Abort(cause error, emit func(Frame)) {
	if f.cr {
		f.cr = false
		f.addByte('\r')
	}
	f.skipLF = false
	if f.seen == 0 {
		return
	}
	if f.seen > int64(f.max) {
		f.end(f.last, emit)
		return
	}
	emit(Frame{Raw: f.buf, Time: f.last, Err: &IncompleteFrameError{Len: len(f.buf), Cause: cause}})
	f.reset()
}

// add appends p to the frame, keeping at most max bytes.
func (f *Framer) add(p []byte) {
	f.seen += int64(len(p))
	if room := f.max - len(f.buf); room > 0 {
		f.buf = append(f.buf, p[:min(room, len(p))]...)
	}
}

func (f *Framer) addByte(b byte) {
	f.seen++
	if len(f.buf) < f.max {
		f.buf = append(f.buf, b)
	}
}

// end emits the frame in progress, if any, and starts a new one.
func (f *Framer) end(t time.Time, emit func(Frame)) {
	switch {
	case f.seen == 0:
		return
	case f.seen > int64(f.max):
		emit(Frame{Raw: f.buf, Time: t, Err: &FrameTooLongError{Max: f.max, Seen: f.seen}})
	default:
		emit(Frame{Raw: f.buf, Time: t})
	}
	f.reset()
}

func (f *Framer) reset() {
	f.buf = f.buf[:0]
	f.seen = 0
}
