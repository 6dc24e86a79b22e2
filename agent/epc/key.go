package epc

import "strconv"

// Key returns the item key of a tag from its EPC bytes (without the PC
// word):
//
//	SGTIN-96 or SGTIN-198:  (01)GTIN(21)SERIAL, the key of the same item's barcode
//	any other EPC:          urn:epc:raw:BITS.xHEX (TDS EPC raw URI)
//
// BITS is 8*len(epc) in decimal and HEX the bytes in uppercase hex, so an
// EPC that is not an SGTIN (or is an SGTIN that breaks the TDS rules) still
// has a stable key to which an item is bound when the tag is commissioned.
// Key assumes a GS1 EPC (PC toggle 0); use KeyWithPC when the PC word is
// known. It returns "" for an empty EPC.
func Key(epc []byte) string {
	if len(epc) == 0 {
		return ""
	}
	if s, err := Decode(epc); err == nil {
		return s.ElementString()
	}
	return rawURI(epc, "")
}

// KeyWithPC is Key for a tag whose PC word is known. When the PC toggle bit
// is set the EPC bank holds an ISO/IEC 15961 code, not a GS1 EPC, so the key
// is always the raw URI with the AFI, urn:epc:raw:BITS.xAFI.xHEX, even when
// the bytes happen to start like an SGTIN. Other PC bits (UMI, XI,
// attribute bits) are not part of the key.
func KeyWithPC(pc uint16, epc []byte) string {
	if pc&PCToggle == 0 {
		return Key(epc)
	}
	if len(epc) == 0 {
		return ""
	}
	return rawURI(epc, "x"+hex2(byte(pc))+".")
}

func rawURI(epc []byte, afi string) string {
	b := make([]byte, 0, len("urn:epc:raw:")+4+len(afi)+2+2*len(epc))
	b = append(b, "urn:epc:raw:"...)
	b = strconv.AppendInt(b, int64(len(epc))*8, 10)
	b = append(b, '.')
	b = append(b, afi...)
	b = append(b, 'x')
	for _, c := range epc {
		b = append(b, hexDigits[c>>4], hexDigits[c&15])
	}
	return string(b)
}
