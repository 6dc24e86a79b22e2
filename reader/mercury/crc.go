package mercury

// nibbleTable is the 16-entry table of the Mercury frame CRC: entry n is
// n·x^16 modulo the CCITT polynomial x^16 + x^12 + x^5 + 1 (0x1021).
var nibbleTable = [16]uint16{
	0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50a5, 0x60c6, 0x70e7,
	0x8108, 0x9129, 0xa14a, 0xb16b, 0xc18c, 0xd1ad, 0xe1ce, 0xf1ef,
}

// crcTables[k][v] is v·x^(16+8k) modulo 0x1021 for a byte v. Entry 0 is
// built from two nibble steps; each further table is the one before it
// times x^8. With them a CRC takes four message bytes per step whose four
// lookups do not depend on each other.
var crcTables = func() (t [4][256]uint16) {
	for v := range 256 {
		hi := nibbleTable[v>>4]
		t[0][v] = hi<<4 ^ nibbleTable[hi>>12] ^ nibbleTable[v&0x0f]
	}
	for k := 1; k < 4; k++ {
		for v := range 256 {
			p := t[k-1][v]
			t[k][v] = p<<8 ^ t[0][p>>8]
		}
	}
	return t
}()

// CRC returns the Mercury frame CRC of p: preset 0xFFFF, polynomial 0x1021,
// each nibble of p shifted into the low end of the register most
// significant first, no reflection and no final xor. Unlike
// CRC-16/CCITT-FALSE the message is not xored into the top of the
// register, so the two disagree: CRC([]byte("123456789")) is 0xA69D and
// CRC([]byte{0x00, 0x03}) is 0x1D0C.
//
// A frame carries the CRC of its bytes from LEN through DATA, big-endian,
// as its last two bytes.
func CRC(p []byte) uint16 {
	t := &crcTables
	crc := uint16(0xffff)
	// Four bytes b0..b3 at once: crc·x^32 + b0·x^24 + b1·x^16 + b2·x^8 + b3.
	for ; len(p) >= 4; p = p[4:] {
		crc = t[3][crc>>8] ^ t[2][crc&0xff] ^ t[1][p[0]] ^ t[0][p[1]] ^ (uint16(p[2])<<8 | uint16(p[3]))
	}
	for _, b := range p {
		crc = (crc<<8 | uint16(b)) ^ t[0][crc>>8]
	}
	return crc
}

// Gen2CRC returns the CRC-16 that an EPC Gen2 tag sends after its PC word
// and EPC (GS1 EPC UHF Gen2 Air Interface, CRC-16 per ISO/IEC 13239):
// preset 0xFFFF, polynomial 0x1021 MSB first, result complemented; the
// catalogue name is CRC-16/GENIBUS and its check value, the CRC of
// "123456789", is 0xD64E.
func Gen2CRC(p []byte) uint16 {
	t := &crcTables
	crc := uint16(0xffff)
	// Four bytes at once: (crc·x^16 + b0..b3)·x^16.
	for ; len(p) >= 4; p = p[4:] {
		hi := crc ^ (uint16(p[0])<<8 | uint16(p[1]))
		crc = t[3][hi>>8] ^ t[2][hi&0xff] ^ t[1][p[2]] ^ t[0][p[3]]
	}
	for _, b := range p {
		crc = crc<<8 ^ t[0][byte(crc>>8)^b]
	}
	return ^crc
}
