package mercury

import (
	"math/rand/v2"
	"testing"
)

// crcNibble is the Mercury CRC as the description gives it: two table
// steps per byte, high nibble first.
func crcNibble(p []byte) uint16 {
	crc := uint16(0xffff)
	for _, b := range p {
		crc = (crc<<4 | uint16(b>>4)) ^ nibbleTable[crc>>12]
		crc = (crc<<4 | uint16(b&0x0f)) ^ nibbleTable[crc>>12]
	}
	return crc
}

// crcBitwise is the Mercury CRC one message bit at a time: shift the bit
// into the low end, reduce by 0x1021 when a bit falls off the top.
func crcBitwise(p []byte) uint16 {
	crc := uint32(0xffff)
	for _, b := range p {
		for i := 7; i >= 0; i-- {
			crc = crc<<1 | uint32(b>>i&1)
			if crc&0x10000 != 0 {
				crc ^= 0x11021
			}
		}
	}
	return uint16(crc)
}

// gen2Bitwise is CRC-16/GENIBUS one bit at a time.
func gen2Bitwise(p []byte) uint16 {
	crc := uint16(0xffff)
	for _, b := range p {
		crc ^= uint16(b) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return ^crc
}

func TestCRCCheckValues(t *testing.T) {
	for _, c := range []struct {
		name string
		f    func([]byte) uint16
		in   []byte
		want uint16
	}{
		{"CRC 123456789", CRC, []byte("123456789"), 0xA69D},
		{"CRC 00 03", CRC, []byte{0x00, 0x03}, 0x1D0C},
		{"crcNibble 123456789", crcNibble, []byte("123456789"), 0xA69D},
		{"crcBitwise 123456789", crcBitwise, []byte("123456789"), 0xA69D},
		{"CRC empty", CRC, nil, 0xFFFF},
		{"Gen2CRC 123456789", Gen2CRC, []byte("123456789"), 0xD64E},
		{"gen2Bitwise 123456789", gen2Bitwise, []byte("123456789"), 0xD64E},
	} {
		if got := c.f(c.in); got != c.want {
			t.Errorf("%s = 0x%04X, want 0x%04X", c.name, got, c.want)
		}
	}
	// Not CRC-16/CCITT-FALSE, whose check value is 0x29B1.
	if CRC([]byte("123456789")) == 0x29B1 {
		t.Error("CRC computes CCITT-FALSE")
	}
}

func TestCRCImplementationsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 300 {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		if a, b, c := CRC(p), crcNibble(p), crcBitwise(p); a != b || a != c {
			t.Fatalf("len %d: CRC 0x%04X, nibble 0x%04X, bitwise 0x%04X", n, a, b, c)
		}
		if a, b := Gen2CRC(p), gen2Bitwise(p); a != b {
			t.Fatalf("len %d: Gen2CRC 0x%04X, bitwise 0x%04X", n, a, b)
		}
	}
}

// TestVectorCRCs checks every captured frame's CRC, host and module.
func TestVectorCRCs(t *testing.T) {
	for _, v := range loadVectors(t) {
		b := v.Bytes
		if got, want := CRC(b[1:len(b)-2]), uint16(b[len(b)-2])<<8|uint16(b[len(b)-1]); got != want {
			t.Errorf("%s: CRC 0x%04X, frame carries 0x%04X", v.ID, got, want)
		}
	}
}
