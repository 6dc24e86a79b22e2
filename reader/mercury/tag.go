package mercury

import (
	"encoding/binary"
	"fmt"
	"time"
)

// TagRead is one tag record: the tag's identity (PC, EPC, CRC) and the
// metadata the module attached. Fields whose metadata flag is not in
// Flags are zero. EPC and Data alias the frame they were parsed from; use
// Clone to keep them.
type TagRead struct {
	// Flags are the metadata flags the record was laid out by.
	Flags MetadataFlags
	// ReadCount is how often the tag was read in the cycle (MetaReadCount).
	ReadCount int
	// RSSI is the received signal strength in dBm (MetaRSSI).
	RSSI int
	// Antenna is the logical antenna: the port number when the transmit
	// and receive ports are the same (monostatic), else 0 (MetaAntenna).
	Antenna int
	// TxPort and RxPort are the transmit and receive ports, 1 to 16
	// (MetaAntenna).
	TxPort, RxPort int
	// Frequency is the carrier frequency in kHz (MetaFrequency).
	Frequency uint32
	// Timestamp is the time of the read since the current search cycle
	// began, in milliseconds on the module's clock (MetaTimestamp). It
	// starts again after each keep-alive.
	Timestamp time.Duration
	// Phase is the tag response phase in degrees (MetaPhase).
	Phase uint16
	// Protocol is the air protocol (MetaProtocol).
	Protocol Protocol
	// DataBits is the length in bits of the embedded operation's data
	// (MetaData).
	DataBits int
	// Data is the embedded operation's data, for example a memory bank
	// read with the inventory (MetaData).
	Data []byte
	// DataStatus is the module's status for an embedded operation that
	// failed (bit length 0x8000); Data is then empty.
	DataStatus Status
	// GPIO holds the GPO levels in the low nibble and the GPI levels in
	// the high nibble at the moment of the read (MetaGPIO).
	GPIO uint8
	// Q is the Gen2 Q value of the round (MetaGen2Q).
	Q uint8
	// LinkFrequency is the Gen2 backscatter link frequency code:
	// 0 250 kHz, 2 320 kHz, 4 640 kHz (MetaGen2LF).
	LinkFrequency uint8
	// Target is the Gen2 inventory target, 0 for A, 1 for B
	// (MetaGen2Target).
	Target uint8
	// BrandID is the tag's brand identifier (MetaBrandID).
	BrandID uint16
	// PC is the Gen2 protocol control word.
	PC uint16
	// XPC1 and XPC2 are the extended PC words, present when the PC's XI
	// bit (0x0200) is set, and XPC1's XEB bit (0x8000) for XPC2.
	XPC1, XPC2 uint16
	// EPC is the tag's EPC, without PC, XPC or CRC.
	EPC []byte
	// TagCRC is the CRC the tag sent after its EPC.
	TagCRC uint16
	// CRCValid reports whether TagCRC equals Gen2CRC over the PC, XPC and
	// EPC bytes. It is false for protocols other than Gen2.
	CRCValid bool
}

// Clone returns a copy of t whose slices do not alias the frame.
func (t TagRead) Clone() TagRead {
	t.EPC = append([]byte(nil), t.EPC...)
	if t.Data != nil {
		t.Data = append([]byte(nil), t.Data...)
	}
	return t
}

// ParseTagRecord parses one tag record from rec: the metadata fields that
// flags select, in the order of their bits, each at the offset that the
// fields before it give; then the tag's bit length, PC word, XPC words,
// EPC and CRC. It fills *t and returns the number of bytes the record
// took. The Gen2 Q, link frequency and target fields are present only in
// records of Gen2 reads (or when the protocol is not reported), as in the
// Mercury API's parser.
//
// The error is ErrUnsupportedMetadata for flags it cannot lay out,
// ErrMalformed (wrapped) when rec is too short for what the flags and
// length fields announce, and a *TagCRCError when a Gen2 tag's CRC does
// not match; in that last case *t and the length are filled in all the
// same, with CRCValid false.
func ParseTagRecord(flags MetadataFlags, rec []byte, t *TagRead) (int, error) {
	*t = TagRead{Flags: flags}
	if flags&^metaKnown != 0 {
		return 0, ErrUnsupportedMetadata
	}
	r := reader{b: rec}
	if flags&MetaReadCount != 0 {
		t.ReadCount = int(r.u8())
	}
	if flags&MetaRSSI != 0 {
		t.RSSI = int(int8(r.u8()))
	}
	if flags&MetaAntenna != 0 {
		a := r.u8()
		t.TxPort, t.RxPort = port(a>>4), port(a&0x0f)
		if t.TxPort == t.RxPort {
			t.Antenna = t.TxPort
		}
	}
	if flags&MetaFrequency != 0 {
		t.Frequency = r.u24()
	}
	if flags&MetaTimestamp != 0 {
		t.Timestamp = time.Duration(r.u32()) * time.Millisecond
	}
	if flags&MetaPhase != 0 {
		t.Phase = r.u16()
	}
	if flags&MetaProtocol != 0 {
		t.Protocol = Protocol(r.u8())
	}
	if flags&MetaData != 0 {
		bits := r.u16()
		if bits&0x8000 != 0 {
			t.DataStatus = Status(r.u16())
		} else {
			t.DataBits = int(bits)
			t.Data = r.bytes((int(bits) + 7) / 8)
		}
	}
	if flags&MetaGPIO != 0 {
		t.GPIO = r.u8()
	}
	gen2 := flags&MetaProtocol == 0 || t.Protocol == ProtocolGen2
	if gen2 {
		if flags&MetaGen2Q != 0 {
			t.Q = r.u8()
		}
		if flags&MetaGen2LF != 0 {
			t.LinkFrequency = r.u8()
		}
		if flags&MetaGen2Target != 0 {
			t.Target = r.u8()
		}
	}
	if flags&MetaBrandID != 0 {
		t.BrandID = r.u16()
	}
	tag := r.bytes((int(r.u16()) + 7) / 8)
	if r.short {
		return 0, fmt.Errorf("%w: tag record of %d bytes too short for metadata flags 0x%04X and its length fields", ErrMalformed, len(rec), uint16(flags))
	}
	if err := t.parseTag(tag, gen2); err != nil {
		return 0, err
	}
	if t.CRCValid || !gen2 {
		return r.off, nil
	}
	return r.off, &TagCRCError{Stored: t.TagCRC, Computed: Gen2CRC(tag[:len(tag)-2])}
}

// parseTag splits the tag field (PC, XPC, EPC, CRC for Gen2) into t.
func (t *TagRead) parseTag(tag []byte, gen2 bool) error {
	switch {
	case gen2:
		if len(tag) < 4 {
			return fmt.Errorf("%w: Gen2 tag field of %d bytes, want PC and CRC at least", ErrMalformed, len(tag))
		}
		end := len(tag) - 2
		t.TagCRC = binary.BigEndian.Uint16(tag[end:])
		t.PC = binary.BigEndian.Uint16(tag)
		off := 2
		if t.PC&0x0200 != 0 {
			if off+2 > end {
				return fmt.Errorf("%w: PC announces an XPC word the record lacks", ErrMalformed)
			}
			t.XPC1 = binary.BigEndian.Uint16(tag[off:])
			off += 2
			if t.XPC1&0x8000 != 0 {
				if off+2 > end {
					return fmt.Errorf("%w: XPC_W1 announces an XPC_W2 word the record lacks", ErrMalformed)
				}
				t.XPC2 = binary.BigEndian.Uint16(tag[off:])
				off += 2
			}
		}
		epcEnd := end
		if t.Flags&MetaBrandID != 0 {
			epcEnd -= 2 // the EPC field ends with the two brand bytes
			if epcEnd < off {
				return fmt.Errorf("%w: EPC field too short for its brand identifier", ErrMalformed)
			}
		}
		t.EPC = tag[off:epcEnd:epcEnd]
		t.CRCValid = Gen2CRC(tag[:end]) == t.TagCRC
	case t.Protocol == ProtocolATA:
		t.EPC = tag
	default:
		if len(tag) < 2 {
			return fmt.Errorf("%w: tag field of %d bytes, want a CRC", ErrMalformed, len(tag))
		}
		end := len(tag) - 2
		t.EPC = tag[:end:end]
		t.TagCRC = binary.BigEndian.Uint16(tag[end:])
	}
	return nil
}

// port maps an antenna nibble to its port number; 0 stands for 16.
func port(n byte) int {
	if n == 0 {
		return 16
	}
	return int(n)
}

// reader reads big-endian fields from b. Reading past the end sets short
// and yields zeros, so a parser checks once at the end.
type reader struct {
	b     []byte
	off   int
	short bool
}

func (r *reader) bytes(n int) []byte {
	if r.short || n > len(r.b)-r.off {
		r.short = true
		return nil
	}
	p := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return p
}

func (r *reader) u8() byte {
	if p := r.bytes(1); p != nil {
		return p[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if p := r.bytes(2); p != nil {
		return binary.BigEndian.Uint16(p)
	}
	return 0
}

func (r *reader) u24() uint32 {
	if p := r.bytes(3); p != nil {
		return uint32(p[0])<<16 | uint32(p[1])<<8 | uint32(p[2])
	}
	return 0
}

func (r *reader) u32() uint32 {
	if p := r.bytes(4); p != nil {
		return binary.BigEndian.Uint32(p)
	}
	return 0
}

// ebv reads an extensible bit vector: 7 bits per byte, most significant
// first, the top bit set on every byte but the last.
func (r *reader) ebv() uint32 {
	var v uint32
	for i := 0; i < 5; i++ {
		b := r.u8()
		if r.short {
			return 0
		}
		v = v<<7 | uint32(b&0x7f)
		if b&0x80 == 0 {
			return v
		}
	}
	r.short = true
	return 0
}
