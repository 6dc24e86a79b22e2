package mercury

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

// recordFields are the values the test encoder writes.
type recordFields struct {
	protocol Protocol
	data     []byte
	pc       uint16
	xpc      []uint16
	epc      []byte
	brand    uint16
}

// encodeRecord lays out a tag record field by field, in the order of the
// metadata bits, with fixed recognisable values: a plain statement of the
// layout, independent of ParseTagRecord.
func encodeRecord(flags MetadataFlags, f recordFields) []byte {
	var b []byte
	if flags&MetaReadCount != 0 {
		b = append(b, 7)
	}
	if flags&MetaRSSI != 0 {
		b = append(b, 0xBE) // -66 dBm
	}
	if flags&MetaAntenna != 0 {
		b = append(b, 0x22)
	}
	if flags&MetaFrequency != 0 {
		b = append(b, 0x0E, 0x0A, 0xD2) // 920274 kHz
	}
	if flags&MetaTimestamp != 0 {
		b = binary.BigEndian.AppendUint32(b, 123456)
	}
	if flags&MetaPhase != 0 {
		b = binary.BigEndian.AppendUint16(b, 179)
	}
	if flags&MetaProtocol != 0 {
		b = append(b, byte(f.protocol))
	}
	if flags&MetaData != 0 {
		b = binary.BigEndian.AppendUint16(b, uint16(8*len(f.data)))
		b = append(b, f.data...)
	}
	if flags&MetaGPIO != 0 {
		b = append(b, 0x5A)
	}
	gen2 := flags&MetaProtocol == 0 || f.protocol == ProtocolGen2
	if gen2 && flags&MetaGen2Q != 0 {
		b = append(b, 4)
	}
	if gen2 && flags&MetaGen2LF != 0 {
		b = append(b, 2)
	}
	if gen2 && flags&MetaGen2Target != 0 {
		b = append(b, 1)
	}
	if flags&MetaBrandID != 0 {
		b = binary.BigEndian.AppendUint16(b, f.brand)
	}
	tag := binary.BigEndian.AppendUint16(nil, f.pc)
	for _, x := range f.xpc {
		tag = binary.BigEndian.AppendUint16(tag, x)
	}
	tag = append(tag, f.epc...)
	if flags&MetaBrandID != 0 {
		tag = binary.BigEndian.AppendUint16(tag, f.brand)
	}
	tag = binary.BigEndian.AppendUint16(tag, Gen2CRC(tag))
	b = binary.BigEndian.AppendUint16(b, uint16(8*len(tag)))
	return append(b, tag...)
}

// TestRecordEveryFlagCombination encodes a record for every combination
// of the metadata flags the parser knows and parses it back: each field
// is found at the offset the flags before it give.
func TestRecordEveryFlagCombination(t *testing.T) {
	variants := []recordFields{
		{protocol: ProtocolGen2, pc: 0x3000, epc: bytes.Repeat([]byte{0x7E, 0xFF}, 6), data: []byte{0xE2, 0x80, 0x11, 0x05}},
		{protocol: ProtocolGen2, pc: 0x3200, xpc: []uint16{0x0001}, epc: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
		{protocol: ProtocolGen2, pc: 0x4200, xpc: []uint16{0x8000, 0x1234}, epc: make([]byte, 16), brand: 0xB0B0},
		{protocol: ProtocolGen2, pc: 0x0000},
	}
	tested := 0
	for flags := MetadataFlags(0); flags <= metaKnown; flags++ {
		if flags&^metaKnown != 0 {
			continue
		}
		for vi, f := range variants {
			rec := encodeRecord(flags, f)
			rec = append(rec, 0xEE) // a trailing byte that is not the record's
			var tr TagRead
			n, err := ParseTagRecord(flags, rec, &tr)
			if err != nil || n != len(rec)-1 {
				t.Fatalf("flags 0x%04X variant %d: n %d of %d, err %v", flags, vi, n, len(rec)-1, err)
			}
			checkRecord(t, flags, f, tr)
			tested++
		}
	}
	if tested != 4*(1<<13) {
		t.Fatalf("%d records tested", tested)
	}
}

func checkRecord(t *testing.T, flags MetadataFlags, f recordFields, tr TagRead) {
	t.Helper()
	bad := func(what string, got, want any) {
		t.Helper()
		t.Fatalf("flags 0x%04X: %s = %v, want %v", flags, what, got, want)
	}
	on := func(m MetadataFlags) bool { return flags&m != 0 }
	pick := func(m MetadataFlags, v int) int {
		if on(m) {
			return v
		}
		return 0
	}
	if tr.ReadCount != pick(MetaReadCount, 7) {
		bad("ReadCount", tr.ReadCount, 7)
	}
	if tr.RSSI != pick(MetaRSSI, -66) {
		bad("RSSI", tr.RSSI, -66)
	}
	if tr.Antenna != pick(MetaAntenna, 2) || tr.TxPort != pick(MetaAntenna, 2) {
		bad("Antenna", tr.Antenna, 2)
	}
	if int(tr.Frequency) != pick(MetaFrequency, 920274) {
		bad("Frequency", tr.Frequency, 920274)
	}
	if tr.Timestamp != time.Duration(pick(MetaTimestamp, 123456))*time.Millisecond {
		bad("Timestamp", tr.Timestamp, 123456)
	}
	if int(tr.Phase) != pick(MetaPhase, 179) {
		bad("Phase", tr.Phase, 179)
	}
	if int(tr.Protocol) != pick(MetaProtocol, int(f.protocol)) {
		bad("Protocol", tr.Protocol, f.protocol)
	}
	if on(MetaData) && (!bytes.Equal(tr.Data, f.data) || tr.DataBits != 8*len(f.data)) || !on(MetaData) && tr.Data != nil {
		bad("Data", tr.Data, f.data)
	}
	if int(tr.GPIO) != pick(MetaGPIO, 0x5A) {
		bad("GPIO", tr.GPIO, 0x5A)
	}
	if int(tr.Q) != pick(MetaGen2Q, 4) || int(tr.LinkFrequency) != pick(MetaGen2LF, 2) || int(tr.Target) != pick(MetaGen2Target, 1) {
		bad("Q/LF/Target", []uint8{tr.Q, tr.LinkFrequency, tr.Target}, "4 2 1")
	}
	if int(tr.BrandID) != pick(MetaBrandID, int(f.brand)) {
		bad("BrandID", tr.BrandID, f.brand)
	}
	var xpc1, xpc2 uint16
	if len(f.xpc) > 0 {
		xpc1 = f.xpc[0]
	}
	if len(f.xpc) > 1 {
		xpc2 = f.xpc[1]
	}
	if tr.PC != f.pc || tr.XPC1 != xpc1 || tr.XPC2 != xpc2 || !bytes.Equal(tr.EPC, f.epc) || !tr.CRCValid {
		bad("tag", tr, f)
	}
}

func TestRecordOtherProtocols(t *testing.T) {
	flags := MetaProtocol | MetaGen2Q | MetaRSSI
	// Not Gen2: no Q byte, EPC is everything but the CRC, CRC not checked.
	rec := []byte{0xC0, byte(ProtocolISO18000_6B), 0x00, 0x50, 1, 2, 3, 4, 5, 6, 7, 8, 0xAB, 0xCD}
	var tr TagRead
	n, err := ParseTagRecord(flags, rec, &tr)
	if err != nil || n != len(rec) || !bytes.Equal(tr.EPC, []byte{1, 2, 3, 4, 5, 6, 7, 8}) || tr.TagCRC != 0xABCD || tr.CRCValid {
		t.Fatalf("ISO 18000-6B: n %d err %v tag %+v", n, err, tr)
	}
	// ATA sends no CRC.
	rec = []byte{0xC0, byte(ProtocolATA), 0x00, 0x20, 1, 2, 3, 4}
	if n, err := ParseTagRecord(flags, rec, &tr); err != nil || n != len(rec) || len(tr.EPC) != 4 {
		t.Fatalf("ATA: n %d err %v tag %+v", n, err, tr)
	}
}

func TestRecordMalformed(t *testing.T) {
	good := encodeRecord(MetaDefault, recordFields{protocol: ProtocolGen2, pc: 0x3000, epc: make([]byte, 12)})
	var tr TagRead
	for i := range len(good) {
		if _, err := ParseTagRecord(MetaDefault, good[:i], &tr); !errors.Is(err, ErrMalformed) {
			t.Fatalf("record cut to %d bytes: %v", i, err)
		}
	}
	if _, err := ParseTagRecord(MetaDefault|MetaTagType, good, &tr); !errors.Is(err, ErrUnsupportedMetadata) {
		t.Fatalf("tag type flag: %v", err)
	}
	if _, err := ParseTagRecord(0x8000, good, &tr); !errors.Is(err, ErrUnsupportedMetadata) {
		t.Fatalf("unassigned flag: %v", err)
	}
	// A PC announcing an XPC word that is not there.
	if _, err := ParseTagRecord(0, []byte{0x00, 0x20, 0x02, 0x00, 0x12, 0x34}, &tr); !errors.Is(err, ErrMalformed) {
		t.Fatalf("missing XPC: %v", err)
	}
	// A Gen2 tag field shorter than PC and CRC.
	if _, err := ParseTagRecord(0, []byte{0x00, 0x10, 0x30, 0x00}, &tr); !errors.Is(err, ErrMalformed) {
		t.Fatalf("short Gen2 field: %v", err)
	}
	// An embedded operation that failed: bit length 0x8000 and a status.
	rec := append([]byte{0x80, 0x00, 0x04, 0x06}, good[len(good)-18:]...)
	if _, err := ParseTagRecord(MetaData, rec, &tr); err != nil || tr.DataStatus != StatusWriteFailed || tr.Data != nil {
		t.Fatalf("failed embedded op: %v %+v", err, tr)
	}
}

func TestClone(t *testing.T) {
	buf := []byte{1, 2, 3, 4}
	tr := TagRead{EPC: buf[:2], Data: buf[2:]}
	c := tr.Clone()
	buf[0], buf[2] = 9, 9
	if c.EPC[0] != 1 || c.Data[0] != 3 {
		t.Fatal("clone aliases")
	}
}
