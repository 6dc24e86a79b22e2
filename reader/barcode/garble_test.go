package barcode

import (
	"bytes"
	"testing"
)

// Misclocked returns what a UART receiving at read baud (8N1) makes of
// data sent at sent baud (8N1): the line is drawn sample by sample, and
// the receiver waits for a start bit, samples each bit in its middle and
// takes a low stop bit as a framing error, which Linux passes on as a NUL
// byte (termios without IGNPAR or PARMRK).
func Misclocked(data []byte, sent, read int) []byte {
	const rate = 48 // samples per bit at the faster of the two rates
	per := func(baud int) int { return rate * max(sent, read) / baud }
	var line []bool // true: mark (idle, 1)
	mark := func(v bool, n int) {
		for range n {
			line = append(line, v)
		}
	}
	tx := per(sent)
	mark(true, 2*tx)
	for _, c := range data {
		mark(false, tx)
		for i := range 8 {
			mark(c>>i&1 == 1, tx)
		}
		mark(true, tx)
	}
	mark(true, 12*per(read))
	rx := per(read)
	var out []byte
	for i := 0; i+10*rx < len(line); {
		if line[i] || line[i+rx/2] { // no start bit, or a glitch
			i++
			continue
		}
		var c byte
		for b := range 8 {
			if line[i+rx/2+(b+1)*rx] {
				c |= 1 << b
			}
		}
		if !line[i+rx/2+9*rx] {
			c = 0 // framing error
		}
		out = append(out, c)
		i += rx/2 + 9*rx
	}
	return out
}

func TestGarbled(t *testing.T) {
	scan := []byte("]d20109520123456788172605311021A-77\x1d2100042")
	if got := Misclocked(scan, 9600, 9600); !bytes.Equal(got, scan) {
		t.Fatalf("the line model is wrong: %q at the same rate", got)
	}
	parity7E1 := make([]byte, len(scan)) // 7 data bits and even parity, read as 8N1
	for i, c := range scan {
		ones := 0
		for b := range 7 {
			ones += int(c >> b & 1)
		}
		parity7E1[i] = c&0x7f | byte(ones%2)<<7
	}
	for _, tt := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"GS1 DataMatrix", scan, false},
		{"ISO/IEC 15434 with RS and EOT", []byte("[)>\x1e06\x1d1PABC\x1e\x04"), false},
		{"Chinese text in a QR code", []byte("]Q1医疗器械唯一标识 UDI"), false},
		{"a misread with one stray byte", []byte("]E0211234567890\x9f"), false},
		{"an STX prefix and ETX suffix", []byte("\x02]E412345670\x03"), false},
		{"19200 baud read at 9600", Misclocked(scan, 19200, 9600), true},
		{"9600 baud read at 19200", Misclocked(scan, 9600, 19200), true},
		{"115200 baud read at 9600", Misclocked(scan, 115200, 9600), true},
		{"7E1 read as 8N1", parity7E1, true},
		{"control characters", []byte{1, 2, 3, 5, 6, 'a'}, true},
	} {
		if got := garbled(tt.b); got != tt.want {
			t.Errorf("%s: garbled(% x) = %v, want %v", tt.name, tt.b, got, tt.want)
		}
	}
}
