package uhfsim

// mercuryNibbles is the 16-entry table of the Mercury frame CRC: entry i is
// the carry-less product of i and the polynomial 0x1021.
var mercuryNibbles = [16]uint16{
	0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50a5, 0x60c6, 0x70e7,
	0x8108, 0x9129, 0xa14a, 0xb16b, 0xc18c, 0xd1ad, 0xe1ce, 0xf1ef,
}

// mercuryCRC is the CRC of a Mercury serial frame (computed over LEN
// through the last data byte): preset 0xFFFF, each nibble of the message,
// high nibble first, is shifted into the low end of the register and the
// nibble shifted out of the top selects the table entry to xor in. No
// reflection, no final xor.
func mercuryCRC(p []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, b := range p {
		crc = (crc<<4 | uint16(b>>4)) ^ mercuryNibbles[crc>>12]
		crc = (crc<<4 | uint16(b&0x0F)) ^ mercuryNibbles[crc>>12]
	}
	return crc
}

// gen2CRC is the Gen2 tag CRC-16 (StoredCRC / PacketCRC, the catalogue's
// CRC-16/GENIBUS): polynomial 0x1021, preset 0xFFFF, most significant bit
// first, result complemented. It covers PC, XPC words and EPC.
func gen2CRC(p []byte) uint16 {
	crc := uint16(0xFFFF)
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

// bb7eSum is the checksum of a 0xBB frame: the low byte of the sum of TYPE
// through the last parameter.
func bb7eSum(p []byte) byte {
	var s byte
	for _, b := range p {
		s += b
	}
	return s
}
