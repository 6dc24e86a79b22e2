package epc

import "strconv"

// Gen2 StoredPC bits, numbered here from the most significant bit of the
// 16-bit word (Gen2 memory bits 10h..1Fh are word bits 15..0).
const (
	// PCUMI is the user-memory indicator (bit 15h).
	PCUMI uint16 = 1 << 10
	// PCXI is the XPC indicator (bit 16h): an XPC_W1 word follows.
	PCXI uint16 = 1 << 9
	// PCToggle is the numbering-system toggle (bit 17h): 0 means the EPC
	// bank holds a GS1 EPC and the low byte is attribute bits, 1 means it
	// holds an ISO/IEC 15961 code and the low byte is its AFI.
	PCToggle uint16 = 1 << 8
)

// PCLength returns the EPC length in bytes that a Gen2 PC word announces:
// twice its L field, bits 15..11 ((pc>>11)&0x1F words).
func PCLength(pc uint16) int {
	return int(pc>>11&0x1F) * 2
}

// PCFor returns the PC word for an EPC of bits bits: L set to the number of
// 16-bit words that hold it, every other bit (UMI, XI, toggle, attributes)
// zero, as a reader writes it when commissioning a GS1 EPC. PCFor(96) is
// 0x3000 and PCFor(198) 0x6800. It returns 0 for bits outside 1..496.
func PCFor(bits int) uint16 {
	if bits <= 0 || bits > 31*16 {
		return 0
	}
	return uint16((bits+15)/16) << 11
}

// crcTable is the byte-wise table of the CRC-16 polynomial 0x1021, most
// significant bit first.
var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

// TagCRC returns the Gen2 CRC-16 of pcEPC, the StoredPC word followed by
// the EPC, as a tag stores it in StoredCRC and backscatters it after the
// EPC: polynomial 0x1021, preset 0xFFFF, most significant bit first, result
// complemented (CRC-16/GENIBUS; TagCRC([]byte("123456789")) is 0xD64E).
func TagCRC(pcEPC []byte) uint16 {
	c := uint16(0xFFFF)
	for _, b := range pcEPC {
		c = c<<8 ^ crcTable[byte(c>>8)^b]
	}
	return ^c
}

// VerifyTagCRC reports whether crc is the Gen2 CRC-16 of pcEPC: whether a
// tag record's PC word and EPC arrived as the tag sent them.
func VerifyTagCRC(pcEPC []byte, crc uint16) bool {
	return TagCRC(pcEPC) == crc
}

// ParseHex parses an EPC written in hex as readers and people write it,
// with or without a leading PC word: "3074257BF7194E4000001A85",
// "3000 3074257BF7194E4000001A85", "30-00-30-74-…". Case is ignored, and so
// are spaces, tabs, '-' and ':' between digits.
//
// The text is taken to start with a PC word when the L field of its first
// word announces exactly the number of bytes that follow (a PC word always
// announces whole 16-bit words); then pc is that word, hasPC is true and
// epc is the rest. Otherwise epc is all of the bytes. A bare EPC whose first
// word happens to announce the length of the rest (a 96-bit EPC starting
// 0x28..0x2F) is read as PC plus EPC; callers that know the form should
// decode it themselves.
func ParseHex(s string) (pc uint16, hasPC bool, epc []byte, err error) {
	b := make([]byte, 0, len(s)/2)
	hi := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ', '\t', '-', ':':
			continue
		}
		v := unhex(c)
		if v < 0 {
			return 0, false, nil, fail(ErrSyntax, "character "+charName(c)+" at position "+strconv.Itoa(i+1)+" is not a hex digit")
		}
		if hi < 0 {
			hi = v
		} else {
			b = append(b, byte(hi<<4|v))
			hi = -1
		}
	}
	if hi >= 0 {
		return 0, false, nil, fail(ErrSyntax, "odd number of hex digits")
	}
	if len(b) == 0 {
		return 0, false, nil, fail(ErrSyntax, "no hex digits")
	}
	if len(b) > maxEPCBytes+2 {
		return 0, false, nil, fail(ErrLength, strconv.Itoa(len(b))+" bytes is longer than a Gen2 PC word and EPC")
	}
	if len(b) >= 2 {
		w := uint16(b[0])<<8 | uint16(b[1])
		if PCLength(w) == len(b)-2 {
			return w, true, b[2:], nil
		}
	}
	return 0, false, b, nil
}
