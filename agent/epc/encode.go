package epc

import "strconv"

// EncodeSGTIN96 encodes an SGTIN-96 for writing to a tag: 12 bytes, whose
// PC word is PCFor(96).
//
// gtin is a GTIN-14 with a correct check digit; serial must be decimal
// digits without a leading zero ("0" itself is allowed) and at most
// 274877906943 (2^38-1), otherwise the error wraps ErrSerial and the item
// needs SGTIN-198. filter is 0..7 and cpLen the number of digits of the GS1
// company prefix inside the GTIN, 6..12: it cannot be derived from the GTIN
// and comes from the catalogue or the GS1 member organisation.
func EncodeSGTIN96(gtin, serial string, filter, cpLen int) ([]byte, error) {
	b, err := encodeHead(header96, bits96, gtin, filter, cpLen)
	if err != nil {
		return nil, err
	}
	if err := serial96(serial); err != nil {
		return nil, err
	}
	v, _ := strconv.ParseUint(serial, 10, 64)
	putBits(b, offSerial, 38, v)
	return b, nil
}

// EncodeSGTIN198 encodes an SGTIN-198 for writing to a tag: 26 bytes (13
// words, the 198 bits followed by ten zero bits), whose PC word is
// PCFor(198).
//
// gtin, filter and cpLen are as for EncodeSGTIN96; serial is 1 to 20
// characters of the GS1 AI character set (digits, letters and
// !"%&'()*+,-./:;<=>?_), unescaped.
func EncodeSGTIN198(gtin, serial string, filter, cpLen int) ([]byte, error) {
	b, err := encodeHead(header198, bits198, gtin, filter, cpLen)
	if err != nil {
		return nil, err
	}
	if err := serial198(serial); err != nil {
		return nil, err
	}
	for i := 0; i < len(serial); i++ {
		putBits(b, offSerial+7*i, 7, uint64(serial[i]))
	}
	return b, nil
}

// encodeHead checks gtin, filter and cpLen and returns a zeroed buffer for
// an encoding of nbits bits, padded to whole 16-bit words, with the header,
// filter, partition, company prefix and item reference filled in.
func encodeHead(header byte, nbits int, gtin string, filter, cpLen int) ([]byte, error) {
	if err := checkGTIN(gtin); err != nil {
		return nil, err
	}
	if filter < 0 || filter > 7 {
		return nil, fail(ErrFilter, "filter "+strconv.Itoa(filter)+" is outside 0..7")
	}
	if cpLen < 6 || cpLen > 12 {
		return nil, fail(ErrPartition, "company prefix length "+strconv.Itoa(cpLen)+" is outside 6..12")
	}
	part := 12 - cpLen
	p := partitions[part]
	cp, _ := strconv.ParseUint(gtin[1:1+cpLen], 10, 64)
	ir, _ := strconv.ParseUint(gtin[:1]+gtin[1+cpLen:13], 10, 64)

	b := make([]byte, (nbits+15)/16*2)
	b[0] = header
	putBits(b, offFilter, 3, uint64(filter))
	putBits(b, offPartition, 3, uint64(part))
	putBits(b, offCP, p.cpBits, cp)
	putBits(b, offCP+p.cpBits, p.irBits, ir)
	return b, nil
}

// checkGTIN checks that gtin is 14 digits with a correct check digit.
func checkGTIN(gtin string) error {
	if len(gtin) != 14 || !allDigits(gtin) {
		return fail(ErrGTIN, "GTIN must be 14 digits, got "+quoteShort(gtin))
	}
	if want := checkDigit([]byte(gtin[:13])); gtin[13] != want {
		return fail(ErrGTIN, "GTIN "+gtin+" has check digit "+gtin[13:]+", expected "+string(want))
	}
	return nil
}

// serial96 checks that serial can be an SGTIN-96 serial.
func serial96(serial string) error {
	switch {
	case serial == "":
		return fail(ErrSerial, "serial is empty")
	case !allDigits(serial):
		return fail(ErrSerial, "SGTIN-96 serial "+quoteShort(serial)+" is not all digits: use SGTIN-198")
	case len(serial) > 1 && serial[0] == '0':
		return fail(ErrSerial, "SGTIN-96 serial "+quoteShort(serial)+" has a leading zero: use SGTIN-198")
	}
	if v, err := strconv.ParseUint(serial, 10, 64); err != nil || v > maxSerial96 {
		return fail(ErrSerial, "SGTIN-96 serial "+quoteShort(serial)+" exceeds 2^38-1 (274877906943): use SGTIN-198")
	}
	return nil
}

// serial198 checks that serial can be an SGTIN-198 serial.
func serial198(serial string) error {
	if serial == "" {
		return fail(ErrSerial, "serial is empty")
	}
	if len(serial) > maxSerial198 {
		return fail(ErrSerial, "serial of "+strconv.Itoa(len(serial))+" characters is longer than 20")
	}
	for i := 0; i < len(serial); i++ {
		if !serialChar(serial[i]) {
			return fail(ErrSerial, "serial character "+charName(serial[i])+" at position "+strconv.Itoa(i+1)+" is not in the GS1 AI character set")
		}
	}
	return nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
