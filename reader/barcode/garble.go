package barcode

import "unicode/utf8"

// garbledRun is how many garbled frames in a row make the driver suggest
// checking the line settings: one may be a misread, three in a row are a
// scanner that speaks at another baud rate or parity.
const garbledRun = 3

// garbled reports whether more than a quarter of a frame's bytes are none
// of what a scanner sends: printable ASCII, GS, RS and EOT (the
// separators and the end of an ISO/IEC 15434 message) or a valid UTF-8
// character (text in a QR code). A good scan has none or one or two such
// bytes (a misread, an STX prefix). Bytes read at the wrong baud rate or
// parity have many: the receiver samples the bits at the wrong times,
// which makes control characters, NULs from framing errors and bytes with
// the high bit set; and a parity bit taken as data sets the high bit of
// about half the characters, which seldom makes valid UTF-8. A scanner
// twice as fast as the port still yields about half printable bytes,
// hence a quarter and not a half.
func garbled(b []byte) bool {
	good := 0
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c >= 0x20 && c < 0x7f, c == 0x1d, c == 0x1e, c == 0x04:
			good++
			i++
		case c >= 0x80:
			_, size := utf8.DecodeRune(b[i:])
			if size > 1 {
				good += size
			}
			i += size
		default:
			i++
		}
	}
	return 4*(len(b)-good) > len(b)
}

// garbleWatch counts garbled frames in a row and says when to suggest
// checking the line settings: once per run, a good frame ending the run.
// Its zero value is ready; it is not safe for concurrent use.
type garbleWatch struct {
	run    int
	hinted bool
}

// note takes one frame's bytes and reports whether the frame is garbled
// and whether the hint is due now.
func (w *garbleWatch) note(b []byte) (isGarbled, hint bool) {
	if !garbled(b) {
		w.run, w.hinted = 0, false
		return false, false
	}
	w.run++
	if w.run >= garbledRun && !w.hinted {
		w.hinted = true
		return true, true
	}
	return true, false
}
