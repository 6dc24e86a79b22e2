package mercury

import (
	"encoding/binary"
	"fmt"
)

// MaxAntennaPort is the highest antenna port number a module has.
const MaxAntennaPort = 16

// CmdSetAntennaList returns the SET_ANTENNA_PORT request that sets the
// logical antenna list searched in turn when SearchConfiguredList is given
// (option 02, then a transmit and a receive port per antenna, each antenna
// monostatic): FF 05 91 02 01 01 02 02 … for ports 1 and 2 (Mercury API
// TMR_SR_cmdSetAntennaSearchList). For a single port CmdSetAntenna(p, p)
// is what modules with one port understand.
func CmdSetAntennaList(ports []uint8) ([]byte, error) {
	if len(ports) == 0 || len(ports) > MaxAntennaPort {
		return nil, ErrInvalidArgument
	}
	data := make([]byte, 0, 1+2*len(ports))
	data = append(data, 0x02)
	for _, p := range ports {
		if p < 1 || p > MaxAntennaPort {
			return nil, ErrInvalidArgument
		}
		data = append(data, p, p)
	}
	return EncodeRequest(OpSetAntennaPort, data), nil
}

// CmdClearTagBuffer returns the CLEAR_TAG_ID_BUFFER request (FF 00 2A 1D 25),
// which empties the buffer a synchronous READ_TAG_ID_MULTIPLE fills.
func CmdClearTagBuffer() []byte { return EncodeRequest(OpClearTagIDBuffer, nil) }

// CmdGetTagBuffer returns the GET_TAG_ID_BUFFER request that fetches the
// reads a synchronous READ_TAG_ID_MULTIPLE left in the module's buffer,
// each with the metadata meta selects (read option 00):
//
//	29 | metadata flags(2) | 00
//
// Parse the response with ParseTagBuffer.
func CmdGetTagBuffer(meta MetadataFlags) []byte {
	data := binary.BigEndian.AppendUint16(nil, uint16(meta))
	return EncodeRequest(OpGetTagIDBuffer, append(data, 0x00))
}

// ParseTagBuffer parses a GET_TAG_ID_BUFFER response,
//
//	metadata flags(2) | read option(1) | count(1) | count tag records
//
// each laid out as ParseTagRecord reads it, and calls fn with each read in
// turn; the TagRead aliases f (Clone it to keep it). A record whose Gen2
// CRC does not match is passed to fn all the same, with CRCValid false.
// The error is the module's *Error, ErrMalformed (wrapped) for a response
// shorter than its count says, or ErrUnsupportedMetadata.
func ParseTagBuffer(f Frame, fn func(TagRead)) error {
	if err := f.Err(); err != nil {
		return err
	}
	if f.Opcode != OpGetTagIDBuffer || len(f.Data) < 4 {
		return fmt.Errorf("%w: GET_TAG_ID_BUFFER response of %d data bytes", ErrMalformed, len(f.Data))
	}
	flags := MetadataFlags(binary.BigEndian.Uint16(f.Data))
	count := int(f.Data[3])
	rest := f.Data[4:]
	var t TagRead
	for i := range count {
		n, err := ParseTagRecord(flags, rest, &t)
		if err != nil && n == 0 {
			return fmt.Errorf("tag %d of %d in the buffer: %w", i+1, count, err)
		}
		fn(t)
		rest = rest[n:]
	}
	return nil
}
