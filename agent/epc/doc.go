// Package epc reads and writes the EPC identity of UHF RFID tags as the GS1
// EPC Tag Data Standard (TDS) and the EPC Gen2 air interface define it.
//
// It decodes SGTIN-96 (header 0x30) and SGTIN-198 (header 0x36) from the
// bytes of a tag's EPC, encodes them again for commissioning a tag from a
// barcode, converts between the binary form, the pure-identity URI
// (urn:epc:id:sgtin:…), the tag URI (urn:epc:tag:sgtin-96:…), the GS1
// element string and the GS1 Digital Link, and handles the Gen2 framing
// around an EPC: the PC word (EPC length, toggle, AFI) and the StoredCRC.
//
// Key gives the item key of any tag: "(01)GTIN(21)SERIAL" for an SGTIN,
// which is the key the barcode parser gives for the same item's label, and
// the TDS raw URI (urn:epc:raw:96.x…) for every other EPC.
//
// The package is pure computation on values it is given. It must never do
// I/O, log, keep global mutable state or panic on any input: every function
// is safe for concurrent use, and every rejected input comes back as an
// *Error that says what is wrong.
package epc
