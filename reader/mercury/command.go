package mercury

import (
	"encoding/binary"
	"errors"
)

// Default settings of ContinuousConfig, those of the captured
// continuous-reading command (SparkFun's startReading, taken from the
// Universal Reader Assistant's transport log).
const (
	// DefaultSearchFlags: the configured antenna list, tag streaming and
	// 4-byte tag counts (0x001B).
	DefaultSearchFlags = SearchConfiguredList | SearchTagStreaming | SearchLargeTagPopulation
	// DefaultMetadata asks for read count through GPIO status (0x01FF).
	DefaultMetadata = MetaDefault
	// DefaultCycle is the length of one search cycle in milliseconds; a
	// keep-alive ends each cycle.
	DefaultCycle = 1000
)

// MaxEPCLen is the longest EPC WRITE_TAG_ID accepts here: 31 words, the
// most a Gen2 PC length field can describe.
const MaxEPCLen = 62

// ErrInvalidArgument is returned by builders given a value that cannot be
// encoded (an EPC of odd or excessive length, data too long for a frame).
var ErrInvalidArgument = errors.New("mercury: invalid command argument")

// CmdVersion returns the VERSION request (FF 00 03 1D 0C). The module
// answers it in the bootloader as well as in the application.
func CmdVersion() []byte { return EncodeRequest(OpVersion, nil) }

// CmdBootFirmware returns the request that starts the application
// firmware when the module is in its bootloader (it answers VERSION with a
// zero firmware version then).
func CmdBootFirmware() []byte { return EncodeRequest(OpBootFirmware, nil) }

// CmdSetRegion returns the SET_REGION request for r.
func CmdSetRegion(r Region) []byte { return EncodeRequest(OpSetRegion, []byte{byte(r)}) }

// CmdSetReadPower returns the SET_READ_TX_POWER request: the transmit
// power for reading, in hundredths of a dBm (2700 is 27.00 dBm), as a
// signed big-endian word. The module rejects values outside its range
// with StatusPowerTooHigh or StatusPowerTooLow.
func CmdSetReadPower(centiDBm int16) []byte {
	return EncodeRequest(OpSetReadTxPower, binary.BigEndian.AppendUint16(nil, uint16(centiDBm)))
}

// CmdGetReadPower returns the GET_READ_TX_POWER request (option 0: the
// current power only).
func CmdGetReadPower() []byte { return EncodeRequest(OpGetReadTxPower, []byte{0}) }

// CmdSetAntenna returns the SET_ANTENNA_PORT request that selects the
// transmit and receive ports (1 and 1 on a single-port M6e Nano).
func CmdSetAntenna(tx, rx uint8) []byte {
	return EncodeRequest(OpSetAntennaPort, []byte{tx, rx})
}

// CmdSetProtocol returns the SET_TAG_PROTOCOL request; the protocol is a
// big-endian word (00 05 for Gen2).
func CmdSetProtocol(p Protocol) []byte {
	return EncodeRequest(OpSetTagProtocol, []byte{0, byte(p)})
}

// CmdGetTemperature returns the GET_TEMPERATURE request; the response's
// first data byte is the module temperature in °C.
func CmdGetTemperature() []byte { return EncodeRequest(OpGetTemperature, nil) }

// ContinuousConfig describes a continuous (streaming) read: the module
// runs inventory rounds until stopped and sends each tag read as its own
// response frame. Zero fields take the Default* values.
type ContinuousConfig struct {
	// Protocol is the air protocol; zero means ProtocolGen2.
	Protocol Protocol
	// SearchFlags of the embedded READ_TAG_ID_MULTIPLE; zero means
	// DefaultSearchFlags. SearchStatsReportStreaming is added when Stats
	// is set.
	SearchFlags SearchFlags
	// Metadata selects the fields of each tag record; zero means
	// DefaultMetadata.
	Metadata MetadataFlags
	// Cycle is the search cycle in milliseconds (the embedded command's
	// timeout); zero means DefaultCycle.
	Cycle uint16
	// Stats, when non-zero, asks for statistics records between tag
	// records (StatsTemperature: the module temperature once per cycle).
	Stats StatsFlags
}

// CmdStartContinuous returns the MULTI_PROTOCOL_TAG_OP request that starts
// continuous reading with c:
//
//	2F  timeout 00 00, option 01 (continuous), sub-opcode 22,
//	    search flags 00 00, protocol, length of the embedded command,
//	    embedded: 22, option 10 (metadata), search flags, cycle, metadata
//	    flags [, statistics flags]
//
// With the defaults it is the captured command
// FF 10 2F 00 00 01 22 00 00 05 07 22 10 00 1B 03 E8 01 FF DD 2B. Stop with
// CmdStopContinuous; until then the module answers no other command.
func CmdStartContinuous(c ContinuousConfig) []byte {
	if c.Protocol == 0 {
		c.Protocol = ProtocolGen2
	}
	if c.SearchFlags == 0 {
		c.SearchFlags = DefaultSearchFlags
	}
	if c.Metadata == 0 {
		c.Metadata = DefaultMetadata
	}
	if c.Cycle == 0 {
		c.Cycle = DefaultCycle
	}
	if c.Stats != 0 {
		c.SearchFlags |= SearchStatsReportStreaming
	}
	embedded := []byte{byte(OpReadTagIDMultiple), 0x10}
	embedded = binary.BigEndian.AppendUint16(embedded, uint16(c.SearchFlags))
	embedded = binary.BigEndian.AppendUint16(embedded, c.Cycle)
	embedded = binary.BigEndian.AppendUint16(embedded, uint16(c.Metadata))
	if c.Stats != 0 {
		embedded = binary.BigEndian.AppendUint16(embedded, uint16(c.Stats))
	}
	data := []byte{0x00, 0x00, 0x01, byte(OpReadTagIDMultiple), 0x00, 0x00, byte(c.Protocol), byte(len(embedded) - 1)}
	return EncodeRequest(OpMultiProtocolTagOp, append(data, embedded...))
}

// CmdStopContinuous returns the request that stops continuous reading
// (FF 03 2F 00 00 02 5E 86). The module first sends the reads it still
// holds and a keep-alive, then the stop acknowledgement (KindStopped).
func CmdStopContinuous() []byte {
	return EncodeRequest(OpMultiProtocolTagOp, []byte{0x00, 0x00, 0x02})
}

// CmdReadTagMultiple returns a synchronous READ_TAG_ID_MULTIPLE request:
// search for timeout milliseconds and keep the reads in the module's tag
// buffer. The response's count is read with ParseReadCount; the reads are
// then fetched with GET_TAG_ID_BUFFER.
func CmdReadTagMultiple(flags SearchFlags, timeout uint16) []byte {
	data := []byte{0x00}
	data = binary.BigEndian.AppendUint16(data, uint16(flags))
	data = binary.BigEndian.AppendUint16(data, timeout)
	return EncodeRequest(OpReadTagIDMultiple, data)
}

// CmdWriteTagID returns the WRITE_TAG_ID request that writes epc (an even
// number of bytes, at most MaxEPCLen) to the one tag in the field, trying
// for timeout milliseconds; the module updates the PC length bits itself.
// With several tags in the field any one of them may be written: use it
// for commissioning at a single-tag station only.
func CmdWriteTagID(timeout uint16, epc []byte) ([]byte, error) {
	if len(epc) == 0 || len(epc)%2 != 0 || len(epc) > MaxEPCLen {
		return nil, ErrInvalidArgument
	}
	data := binary.BigEndian.AppendUint16(nil, timeout)
	data = append(data, 0x00, 0x00) // option and RFU: no select filter
	return EncodeRequest(OpWriteTagID, append(data, epc...)), nil
}

// CmdWriteTagData returns the WRITE_TAG_DATA request that writes data (an
// even number of bytes) to bank at word address addr of the first tag to
// answer, without a select filter.
func CmdWriteTagData(timeout uint16, bank Bank, addr uint32, data []byte) ([]byte, error) {
	const head = 2 + 1 + 4 + 1
	if len(data) == 0 || len(data)%2 != 0 || head+len(data) > MaxDataLen {
		return nil, ErrInvalidArgument
	}
	b := binary.BigEndian.AppendUint16(make([]byte, 0, head+len(data)), timeout)
	b = append(b, 0x00) // option: no select filter
	b = binary.BigEndian.AppendUint32(b, addr)
	b = append(b, byte(bank))
	return EncodeRequest(OpWriteTagData, append(b, data...)), nil
}
