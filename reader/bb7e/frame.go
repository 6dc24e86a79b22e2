package bb7e

import (
	"bytes"
	"encoding/binary"
)

// Framing is the pair of head and tail bytes of a frame.
type Framing struct {
	Head, Tail byte
}

// Framings in use.
var (
	// Standard is BB … 7E, what the M100/QM100 manuals and most boards use.
	Standard = Framing{Head: 0xBB, Tail: 0x7E}
	// AADD is the AA … DD variant of some boards; layout and checksum are
	// the same.
	AADD = Framing{Head: 0xAA, Tail: 0xDD}
)

// Convert returns a copy of frame (built for any framing) with fr's head
// and tail. The checksum does not cover them, so nothing else changes.
func (fr Framing) Convert(frame []byte) []byte {
	out := bytes.Clone(frame)
	if len(out) >= Overhead {
		out[0], out[len(out)-1] = fr.Head, fr.Tail
	}
	return out
}

// Type is a frame's TYPE byte.
type Type byte

// Frame types.
const (
	TypeCommand      Type = 0x00 // host to module
	TypeResponse     Type = 0x01 // module's answer to a command
	TypeNotification Type = 0x02 // module's unsolicited frame: a tag read during polling
)

// Overhead is a frame's length minus its parameters: head, type, command,
// two length bytes, checksum and tail.
const Overhead = 7

// DefaultMaxParams is the longest parameter field a Decoder accepts
// unless configured otherwise. A tag notification with a 496-bit EPC
// needs 67 bytes; reading 255 words of tag memory needs 510 plus the
// tag's PC and EPC.
const DefaultMaxParams = 600

// Checksum returns the low byte of the sum of p: a frame's checksum over
// its TYPE, CMD, PL and PARAMS bytes.
func Checksum(p []byte) byte {
	var s byte
	for _, b := range p {
		s += b
	}
	return s
}

// AppendFrame appends a Standard frame of type t, command cmd and params
// to dst and returns the extended slice. It panics if params is longer
// than 65535 bytes, which no command needs.
func AppendFrame(dst []byte, t Type, cmd Command, params []byte) []byte {
	if len(params) > 0xFFFF {
		panic("bb7e: parameters longer than 65535 bytes")
	}
	start := len(dst)
	dst = append(dst, Standard.Head, byte(t), byte(cmd), byte(len(params)>>8), byte(len(params)))
	dst = append(dst, params...)
	return append(dst, Checksum(dst[start+1:]), Standard.Tail)
}

// EncodeCommand returns the Standard command frame for cmd and params.
func EncodeCommand(cmd Command, params []byte) []byte {
	return AppendFrame(make([]byte, 0, Overhead+len(params)), TypeCommand, cmd, params)
}

// Frame is one whole frame with a valid tail and checksum, cut from the
// byte stream by a Decoder. Its slices alias the Decoder's buffer and are
// valid only until the callback that received the Frame returns.
type Frame struct {
	Type    Type
	Command Command
	// Params are the PL parameter bytes.
	Params []byte
	// Raw is the whole frame, head to tail.
	Raw []byte
}

// Stats counts what a Decoder has seen.
type Stats struct {
	// Frames is the number of frames emitted.
	Frames uint64
	// BadChecksum counts candidates whose tail was right and checksum
	// wrong; BadTail those whose byte at the announced end was not the
	// tail; BadHeader those with a TYPE above 2 or a length above the
	// bound. Each cost one dropped byte and a rescan.
	BadChecksum, BadTail, BadHeader uint64
	// Truncated counts candidates abandoned by Flush.
	Truncated uint64
	// Skipped is the number of bytes dropped while looking for a frame.
	Skipped uint64
}

// Config sets up a Decoder. The zero value means Standard framing and
// DefaultMaxParams.
type Config struct {
	// Framing is the head and tail; zero means Standard.
	Framing Framing
	// MaxParams is the longest parameter field accepted; a candidate
	// announcing more is taken for noise. Zero means DefaultMaxParams.
	MaxParams int
}

// Decoder cuts a byte stream into frames by their length field. Feed it
// chunks of any size; it calls back once per whole frame whose tail and
// checksum are right, in order. Bytes that cannot start a frame are
// skipped; a candidate with a wrong tail, a wrong checksum, a TYPE other
// than 0, 1 or 2, or a length over the bound is counted, its head dropped
// and the stream rescanned from the next byte, so a good frame after noise
// or a damaged frame is still found.
//
// A stray head byte makes the Decoder wait for the length it announces
// before it can be disproved; a driver waiting for a response calls Flush
// when the line has gone quiet. A Decoder never holds more than one
// longest frame plus one read's worth of bytes, and never allocates after
// NewDecoder. It is not safe for concurrent use.
type Decoder struct {
	fr        Framing
	maxParams int
	buf       []byte // fixed length, never grown
	r, w      int    // buffered bytes are buf[r:w]
	stats     Stats
}

// NewDecoder returns a Decoder for c. A zero Decoder takes the zero
// Config on first use.
func NewDecoder(c Config) *Decoder {
	if c.Framing == (Framing{}) {
		c.Framing = Standard
	}
	if c.MaxParams <= 0 {
		c.MaxParams = DefaultMaxParams
	}
	c.MaxParams = min(c.MaxParams, 0xFFFF)
	return &Decoder{fr: c.Framing, maxParams: c.MaxParams, buf: make([]byte, 2*(Overhead+c.MaxParams))}
}

// MaxFrameLen returns the length of the longest frame the Decoder accepts.
func (d *Decoder) MaxFrameLen() int {
	if d.buf == nil {
		return Overhead + DefaultMaxParams
	}
	return Overhead + d.maxParams
}

// Stats returns the counts so far.
func (d *Decoder) Stats() Stats { return d.stats }

// Buffered returns the number of bytes held for an incomplete frame.
func (d *Decoder) Buffered() int { return d.w - d.r }

// Reset drops any buffered bytes, as after the port was reopened. The
// counts are kept.
func (d *Decoder) Reset() { d.r, d.w = 0, 0 }

// Feed takes the bytes p and calls emit for each frame they complete, in
// order. emit must not keep the Frame's slices or call Feed.
func (d *Decoder) Feed(p []byte, emit func(Frame)) {
	if d.buf == nil {
		*d = *NewDecoder(Config{})
	}
	for len(p) > 0 {
		if d.r > 0 {
			d.w = copy(d.buf, d.buf[d.r:d.w])
			d.r = 0
		}
		n := copy(d.buf[d.w:], p)
		d.w += n
		p = p[n:]
		d.scan(emit)
	}
}

// Flush declares the line idle: each incomplete candidate held is
// abandoned (counted in Truncated, its head dropped) and the bytes after
// it scanned again, so whole frames behind a stray head byte are emitted.
// Nothing is held afterwards.
func (d *Decoder) Flush(emit func(Frame)) {
	for d.r < d.w {
		d.stats.Truncated++
		d.stats.Skipped++
		d.r++
		d.scan(emit)
	}
	d.r, d.w = 0, 0
}

func (d *Decoder) scan(emit func(Frame)) {
	for d.r < d.w {
		b := d.buf[d.r:d.w]
		if b[0] != d.fr.Head {
			i := bytes.IndexByte(b, d.fr.Head)
			if i < 0 {
				i = len(b)
			}
			d.stats.Skipped += uint64(i)
			d.r += i
			continue
		}
		if len(b) >= 2 && b[1] > byte(TypeNotification) {
			d.drop(&d.stats.BadHeader)
			continue
		}
		if len(b) < 5 {
			break
		}
		pl := int(binary.BigEndian.Uint16(b[3:5]))
		if pl > d.maxParams {
			d.drop(&d.stats.BadHeader)
			continue
		}
		n := pl + Overhead
		if len(b) < n {
			break
		}
		if b[n-1] != d.fr.Tail {
			d.drop(&d.stats.BadTail)
			continue
		}
		if Checksum(b[1:n-2]) != b[n-2] {
			d.drop(&d.stats.BadChecksum)
			continue
		}
		f := Frame{Type: Type(b[1]), Command: Command(b[2]), Params: b[5 : 5+pl : 5+pl], Raw: b[:n:n]}
		d.r += n
		d.stats.Frames++
		emit(f)
	}
	if d.r == d.w {
		d.r, d.w = 0, 0
	}
}

// drop counts a failed candidate in c and skips its head byte.
func (d *Decoder) drop(c *uint64) {
	*c++
	d.stats.Skipped++
	d.r++
}
