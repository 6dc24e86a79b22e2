package epc

import (
	"strconv"
	"strings"
)

// Binary scheme names, as they appear in tag URIs and in SGTIN.Scheme.
const (
	// Scheme96 is SGTIN-96: header 0x30, a numeric serial up to 2^38-1.
	Scheme96 = "sgtin-96"
	// Scheme198 is SGTIN-198: header 0x36, an alphanumeric serial of up
	// to 20 characters.
	Scheme198 = "sgtin-198"
)

// EPC headers (the first byte of the EPC) and encoding lengths in bits.
const (
	header96  = 0x30
	header198 = 0x36
	bits96    = 96
	bits198   = 198

	// maxEPCBytes is the longest EPC a Gen2 PC word can announce: 31
	// words.
	maxEPCBytes = 62

	// maxSerial96 is the largest SGTIN-96 serial, 2^38-1.
	maxSerial96 = 1<<38 - 1

	// maxSerial198 is the longest SGTIN-198 serial in characters (AI 21
	// is X..20).
	maxSerial198 = 20

	// Bit offsets shared by both schemes: header 8, filter 3, partition
	// 3, then company prefix and item reference together 44 bits.
	offFilter    = 8
	offPartition = 11
	offCP        = 14
	offSerial    = 58
)

// partitions is the SGTIN partition table (TDS, SGTIN partition table):
// for each partition value 0..6 the company prefix and the indicator plus
// item reference in bits and in decimal digits. The bits always total 44
// and the digits 13.
var partitions = [7]struct{ cpBits, cpDigits, irBits, irDigits int }{
	{40, 12, 4, 1},
	{37, 11, 7, 2},
	{34, 10, 10, 3},
	{30, 9, 14, 4},
	{27, 8, 17, 5},
	{24, 7, 20, 6},
	{20, 6, 24, 7},
}

var pow10 = [...]uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13}

// filterNames names the SGTIN filter values (TDS, SGTIN filter values).
var filterNames = [8]string{
	"All others",
	"Point of Sale (POS) trade item",
	"Full case for transport",
	"Reserved",
	"Inner pack trade item grouping for handling",
	"Reserved",
	"Unit load",
	"Unit inside trade item or component inside a product not intended for individual sale",
}

// SGTIN is a serialised GTIN as an RFID tag carries it: the identity of one
// physical trade item plus the tag-only fields (scheme and filter).
type SGTIN struct {
	// Scheme is Scheme96 or Scheme198 for a value decoded from a tag or
	// parsed from a tag URI, and "" for a value parsed from a pure-identity
	// URI, which does not say how the tag is encoded.
	Scheme string
	// Filter is the filter value 0..7 (see FilterName); 0 for a value
	// parsed from a pure-identity URI.
	Filter int
	// Partition is the partition value 0..6: 12 minus the number of
	// company prefix digits.
	Partition int
	// CompanyPrefix is the GS1 company prefix, 6 to 12 digits.
	CompanyPrefix string
	// ItemRef is the indicator digit followed by the item reference,
	// 13 - len(CompanyPrefix) digits, as URIs write it.
	ItemRef string
	// Serial is the serial number (AI 21) as characters, never escaped.
	Serial string
	// GTIN is the GTIN-14: indicator digit, company prefix, item reference
	// and the computed check digit.
	GTIN string
}

// Decode decodes an SGTIN-96 or SGTIN-198 from the EPC bytes of a tag (the
// EPC memory from bit 20h, without the PC word). Bits after the encoding,
// up to the end of epc, must be zero: the padding to a byte or a 16-bit word
// boundary that SGTIN-198 needs, or the zero fill of a longer EPC memory.
//
// A different header gives an error wrapping ErrNotSGTIN; a field that
// breaks the TDS rules gives ErrLength, ErrPartition or ErrSerial.
func Decode(epc []byte) (SGTIN, error) {
	if len(epc) == 0 {
		return SGTIN{}, fail(ErrLength, "EPC is empty")
	}
	var scheme string
	var nbits int
	switch epc[0] {
	case header96:
		scheme, nbits = Scheme96, bits96
	case header198:
		scheme, nbits = Scheme198, bits198
	default:
		return SGTIN{}, fail(ErrNotSGTIN, "header 0x"+hex2(epc[0])+" is not SGTIN-96 (0x30) or SGTIN-198 (0x36)")
	}
	if len(epc)*8 < nbits {
		return SGTIN{}, fail(ErrLength, schemeTitle(scheme)+" needs "+strconv.Itoa(nbits)+" bits, got "+strconv.Itoa(len(epc)*8))
	}
	if len(epc) > maxEPCBytes {
		return SGTIN{}, fail(ErrLength, "EPC of "+strconv.Itoa(len(epc)*8)+" bits is longer than the 496 bits a Gen2 PC word allows")
	}
	if !zeroFrom(epc, nbits) {
		return SGTIN{}, fail(ErrLength, "bits after the "+strconv.Itoa(nbits)+"-bit "+schemeTitle(scheme)+" are not zero")
	}

	filter := int(getBits(epc, offFilter, 3))
	part := int(getBits(epc, offPartition, 3))
	if part > 6 {
		return SGTIN{}, fail(ErrPartition, "partition "+strconv.Itoa(part)+" is not valid (0..6)")
	}
	p := partitions[part]
	cp := getBits(epc, offCP, p.cpBits)
	if cp >= pow10[p.cpDigits] {
		return SGTIN{}, fail(ErrPartition, "company prefix value "+strconv.FormatUint(cp, 10)+" has more than the "+strconv.Itoa(p.cpDigits)+" digits of partition "+strconv.Itoa(part))
	}
	ir := getBits(epc, offCP+p.cpBits, p.irBits)
	if ir >= pow10[p.irDigits] {
		return SGTIN{}, fail(ErrPartition, "indicator and item reference value "+strconv.FormatUint(ir, 10)+" has more than the "+strconv.Itoa(p.irDigits)+" digits of partition "+strconv.Itoa(part))
	}

	// All text fields share one backing string: company prefix, item
	// reference, GTIN, serial.
	var buf [13 + 14 + maxSerial198]byte
	b := buf[:0]
	b = appendPadded(b, cp, p.cpDigits)
	b = appendPadded(b, ir, p.irDigits)
	b = append(b, b[p.cpDigits])         // indicator digit
	b = append(b, b[:p.cpDigits]...)     // company prefix
	b = append(b, b[p.cpDigits+1:13]...) // item reference
	b = append(b, checkDigit(b[13:26]))
	if scheme == Scheme96 {
		b = strconv.AppendUint(b, getBits(epc, offSerial, 38), 10)
	} else {
		var err error
		if b, err = appendSerial198(b, epc); err != nil {
			return SGTIN{}, err
		}
	}
	s := string(b)
	return SGTIN{
		Scheme:        scheme,
		Filter:        filter,
		Partition:     part,
		CompanyPrefix: s[:p.cpDigits],
		ItemRef:       s[p.cpDigits:13],
		GTIN:          s[13:27],
		Serial:        s[27:],
	}, nil
}

// appendSerial198 appends the SGTIN-198 serial: up to 20 7-bit characters
// from bit 58, ended early by a zero character after which every character
// must be zero.
func appendSerial198(b []byte, epc []byte) ([]byte, error) {
	n := 0
	for i := 0; i < maxSerial198; i++ {
		c := byte(getBits(epc, offSerial+7*i, 7))
		if c == 0 {
			if !zeroRange(epc, offSerial+7*i, bits198) {
				return nil, fail(ErrSerial, "SGTIN-198 serial has characters after its terminating zero character")
			}
			break
		}
		if !serialChar(c) {
			return nil, fail(ErrSerial, "SGTIN-198 serial character "+charName(c)+" at position "+strconv.Itoa(i+1)+" is not in the GS1 AI character set")
		}
		b = append(b, c)
		n++
	}
	if n == 0 {
		return nil, fail(ErrSerial, "SGTIN-198 serial is empty")
	}
	return b, nil
}

// PureURI returns the EPC pure-identity URI,
// urn:epc:id:sgtin:CompanyPrefix.ItemRef.Serial, with the serial escaped as
// TDS requires.
func (s SGTIN) PureURI() string {
	return "urn:epc:id:sgtin:" + s.CompanyPrefix + "." + s.ItemRef + "." + escapeSerial(s.Serial)
}

// TagURI returns the EPC tag URI,
// urn:epc:tag:sgtin-96:Filter.CompanyPrefix.ItemRef.Serial (or sgtin-198).
// For a value without a Scheme (parsed from a pure-identity URI) it uses
// sgtin-96 when the serial fits it and sgtin-198 otherwise.
func (s SGTIN) TagURI() string {
	scheme := s.Scheme
	if scheme == "" {
		scheme = Scheme198
		if serial96(s.Serial) == nil {
			scheme = Scheme96
		}
	}
	return "urn:epc:tag:" + scheme + ":" + strconv.Itoa(s.Filter) + "." + s.CompanyPrefix + "." + s.ItemRef + "." + escapeSerial(s.Serial)
}

// ElementString returns the GS1 element string in human-readable form,
// "(01)GTIN(21)SERIAL". It is also the item key: the barcode parser gives
// the same key for the item's GS1 label.
func (s SGTIN) ElementString() string {
	return "(01)" + s.GTIN + "(21)" + s.Serial
}

// DigitalLink returns the GS1 Digital Link URI on GS1's resolver,
// https://id.gs1.org/01/GTIN/21/SERIAL, with every serial character other
// than A-Z a-z 0-9 - . _ ~ percent-encoded.
func (s SGTIN) DigitalLink() string {
	return "https://id.gs1.org/01/" + s.GTIN + "/21/" + escapePath(s.Serial)
}

// FilterName returns the TDS name of the filter value ("Point of Sale (POS)
// trade item", "Unit load", ...), or "" for a value outside 0..7.
func (s SGTIN) FilterName() string {
	if s.Filter < 0 || s.Filter > 7 {
		return ""
	}
	return filterNames[s.Filter]
}

// schemeTitle returns the scheme name as prose writes it: SGTIN-96.
func schemeTitle(scheme string) string {
	return strings.ToUpper(scheme)
}

// checkDigit returns the GS1 mod-10 check digit of the ASCII digits d.
func checkDigit(d []byte) byte {
	sum := 0
	w := 3
	for i := len(d) - 1; i >= 0; i-- {
		sum += int(d[i]-'0') * w
		w = 4 - w
	}
	return byte('0' + (10-sum%10)%10)
}

// appendPadded appends v in decimal, zero-padded to width digits.
func appendPadded(b []byte, v uint64, width int) []byte {
	start := len(b)
	for i := 0; i < width; i++ {
		b = append(b, '0')
	}
	for i := len(b) - 1; i >= start && v > 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return b
}

// getBits returns n bits (n <= 64) of b starting at bit off, most
// significant bit first. The caller guarantees the range is inside b.
func getBits(b []byte, off, n int) uint64 {
	var v uint64
	for n > 0 {
		i, shift := off>>3, off&7
		take := 8 - shift
		if take > n {
			take = n
		}
		c := b[i] >> (8 - shift - take) & byte(1<<take-1)
		v = v<<take | uint64(c)
		off += take
		n -= take
	}
	return v
}

// putBits stores the low n bits of v into b from bit off, most significant
// bit first. The caller guarantees the range is inside b and zero.
func putBits(b []byte, off, n int, v uint64) {
	for n > 0 {
		i, shift := off>>3, off&7
		take := 8 - shift
		if take > n {
			take = n
		}
		c := byte(v>>(n-take)) & byte(1<<take-1)
		b[i] |= c << (8 - shift - take)
		off += take
		n -= take
	}
}

// zeroFrom reports whether every bit of b from bit off on is zero.
func zeroFrom(b []byte, off int) bool {
	return zeroRange(b, off, len(b)*8)
}

// zeroRange reports whether bits [from, to) of b are all zero.
func zeroRange(b []byte, from, to int) bool {
	for from < to {
		if from&7 == 0 && to-from >= 8 {
			if b[from>>3] != 0 {
				return false
			}
			from += 8
			continue
		}
		if getBits(b, from, 1) != 0 {
			return false
		}
		from++
	}
	return true
}

const hexDigits = "0123456789ABCDEF"

// hex2 returns c as two uppercase hex digits.
func hex2(c byte) string {
	return string([]byte{hexDigits[c>>4], hexDigits[c&15]})
}
