package mercury

import (
	"bytes"
	"encoding/binary"
)

// Framing constants.
const (
	// SOF is the first byte of every frame.
	SOF = 0xFF
	// MaxDataLen is the most data bytes one frame carries (LEN is a byte).
	MaxDataLen = 255
	// RequestOverhead is the length of a request frame minus its data:
	// SOF, LEN, OP and the CRC.
	RequestOverhead = 5
	// ResponseOverhead is the length of a response frame minus its data:
	// SOF, LEN, OP, the status word and the CRC.
	ResponseOverhead = 7
	// MaxResponseLen is the length of the longest response frame.
	MaxResponseLen = ResponseOverhead + MaxDataLen
	// MaxRequestLen is the length of the longest request frame.
	MaxRequestLen = RequestOverhead + MaxDataLen
)

// Frame is one whole frame with a valid CRC, cut from the byte stream by a
// Decoder. Its slices alias the Decoder's buffer and are valid only until
// the callback that received the Frame returns.
type Frame struct {
	// Opcode is the frame's command byte.
	Opcode Opcode
	// Status is the status word of a response; always StatusOK for a
	// request frame.
	Status Status
	// Data is the frame's data: LEN bytes after the status word (response)
	// or after the opcode (request).
	Data []byte
	// Raw is the whole frame, SOF to CRC.
	Raw []byte
}

// Err returns an *Error when the frame's status is not StatusOK, else nil.
func (f Frame) Err() error {
	if f.Status == StatusOK {
		return nil
	}
	return &Error{Opcode: f.Opcode, Status: f.Status}
}

// AppendRequest appends the request frame for op and data to dst and
// returns the extended slice. It panics if data is longer than MaxDataLen,
// which no command of the protocol needs.
func AppendRequest(dst []byte, op Opcode, data []byte) []byte {
	if len(data) > MaxDataLen {
		panic("mercury: request data longer than 255 bytes")
	}
	start := len(dst)
	dst = append(dst, SOF, byte(len(data)), byte(op))
	dst = append(dst, data...)
	return binary.BigEndian.AppendUint16(dst, CRC(dst[start+1:]))
}

// EncodeRequest returns the request frame for op and data (see
// AppendRequest).
func EncodeRequest(op Opcode, data []byte) []byte {
	return AppendRequest(make([]byte, 0, RequestOverhead+len(data)), op, data)
}

// Stats counts what a Decoder has seen.
type Stats struct {
	// Frames is the number of frames emitted.
	Frames uint64
	// BadCRC is the number of candidate frames (a SOF and a length) whose
	// CRC did not match; each cost one dropped byte and a rescan.
	BadCRC uint64
	// Truncated is the number of candidate frames abandoned by Flush
	// because the line went quiet before their last byte.
	Truncated uint64
	// Skipped is the number of bytes dropped while looking for a frame:
	// bytes before a SOF, and the SOF of each candidate with a bad CRC or
	// abandoned by Flush.
	Skipped uint64
}

// bufLen is the Decoder's buffer: room for a longest frame waiting for its
// last byte plus a longest frame's worth of new input.
const bufLen = 2 * MaxResponseLen

// Decoder cuts a byte stream into frames. Feed it chunks of any size as
// they arrive; it calls back once per whole frame with a valid CRC, in
// order. Bytes that cannot start a frame are skipped; a candidate frame
// whose CRC does not match is counted, its first byte dropped and the
// stream rescanned from the next byte, so a good frame hidden behind
// garbage or a damaged frame is still found.
//
// A stray SOF makes the Decoder wait for as many bytes as the length byte
// after it announces (up to MaxResponseLen) before the CRC can prove it
// false, holding back the frames behind it. During continuous reading the
// stream keeps coming and this resolves itself; a driver that waits for a
// command response calls Flush when the line has been quiet for longer
// than a frame takes to arrive.
//
// A Decoder holds one fixed-size buffer and never allocates after
// New*Decoder. It is not safe for concurrent use.
//
// The zero value is a Decoder for responses, like NewDecoder's.
type Decoder struct {
	requests bool // host requests, without a status word
	r, w     int  // buffered bytes are buf[r:w]
	stats    Stats
	buf      [bufLen]byte
}

// NewDecoder returns a Decoder for module responses (with a status word).
func NewDecoder() *Decoder { return &Decoder{} }

// NewRequestDecoder returns a Decoder for host requests (no status word),
// for tools and module simulators that listen to the host's side.
func NewRequestDecoder() *Decoder { return &Decoder{requests: true} }

// Stats returns the counts so far.
func (d *Decoder) Stats() Stats { return d.stats }

// Buffered returns the number of bytes held for an incomplete frame, at
// most MaxResponseLen-1.
func (d *Decoder) Buffered() int { return d.w - d.r }

// Flush declares the line idle: no byte of a frame in progress is still
// coming. Each incomplete candidate frame held is abandoned (counted in
// Truncated, its SOF dropped) and the bytes after it are scanned again, so
// whole frames that followed a stray SOF are emitted, in order. Nothing is
// held afterwards.
func (d *Decoder) Flush(emit func(Frame)) {
	for d.r < d.w {
		d.stats.Truncated++
		d.stats.Skipped++
		d.r++
		d.scan(emit)
	}
	d.r, d.w = 0, 0
}

// Reset drops any buffered bytes, as after the port was reopened. The
// counts are kept.
func (d *Decoder) Reset() { d.r, d.w = 0, 0 }

// Feed takes the bytes p and calls emit for each frame they complete, in
// order. emit must not keep the Frame's slices or call Feed.
func (d *Decoder) Feed(p []byte, emit func(Frame)) {
	for len(p) > 0 {
		if d.r > 0 {
			d.w = copy(d.buf[:], d.buf[d.r:d.w])
			d.r = 0
		}
		n := copy(d.buf[d.w:], p)
		d.w += n
		p = p[n:]
		d.scan(emit)
	}
}

// scan emits every whole frame in the buffer and drops what cannot start
// one, leaving an incomplete frame (if any) at buf[r:w].
func (d *Decoder) scan(emit func(Frame)) {
	overhead := ResponseOverhead
	if d.requests {
		overhead = RequestOverhead
	}
	for d.r < d.w {
		b := d.buf[d.r:d.w]
		if b[0] != SOF {
			i := bytes.IndexByte(b, SOF)
			if i < 0 {
				i = len(b)
			}
			d.stats.Skipped += uint64(i)
			d.r += i
			continue
		}
		if len(b) < 2 {
			break
		}
		n := int(b[1]) + overhead
		if len(b) < n {
			break
		}
		if CRC(b[1:n-2]) != binary.BigEndian.Uint16(b[n-2:n]) {
			d.stats.BadCRC++
			d.stats.Skipped++
			d.r++
			continue
		}
		f := Frame{Opcode: Opcode(b[2]), Raw: b[:n:n]}
		if d.requests {
			f.Data = b[3 : n-2 : n-2]
		} else {
			f.Status = Status(binary.BigEndian.Uint16(b[3:5]))
			f.Data = b[5 : n-2 : n-2]
		}
		d.r += n
		d.stats.Frames++
		emit(f)
	}
	if d.r == d.w {
		d.r, d.w = 0, 0
	}
}
