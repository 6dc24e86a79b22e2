package mercury

import "fmt"

// Opcode is the command byte of a request, echoed in its response. The
// values are those of the Mercury API's TMR_SR_OpCode (serial_reader_imp.h).
type Opcode byte

// Opcodes of the commands the package builds or recognises.
const (
	OpVersion                Opcode = 0x03 // firmware, hardware and protocol versions
	OpBootFirmware           Opcode = 0x04 // leave the bootloader, start the application
	OpSetBaudRate            Opcode = 0x06
	OpReadTagIDSingle        Opcode = 0x21
	OpReadTagIDMultiple      Opcode = 0x22 // inventory; also the opcode of streamed tag records
	OpWriteTagID             Opcode = 0x23 // write the EPC of the one tag in the field
	OpWriteTagData           Opcode = 0x24
	OpLockTag                Opcode = 0x25
	OpKillTag                Opcode = 0x26
	OpReadTagData            Opcode = 0x28
	OpGetTagIDBuffer         Opcode = 0x29 // fetch buffered reads after a synchronous inventory
	OpClearTagIDBuffer       Opcode = 0x2A
	OpMultiProtocolTagOp     Opcode = 0x2F // multi-protocol search; starts and stops continuous reading
	OpGetAntennaPort         Opcode = 0x61
	OpGetReadTxPower         Opcode = 0x62
	OpGetTagProtocol         Opcode = 0x63
	OpGetWriteTxPower        Opcode = 0x64
	OpGetRegion              Opcode = 0x67
	OpGetPowerMode           Opcode = 0x68
	OpGetReaderOptionalParam Opcode = 0x6A
	OpGetProtocolParam       Opcode = 0x6B
	OpGetReaderStats         Opcode = 0x6C
	OpGetAvailableProtocols  Opcode = 0x70
	OpGetAvailableRegions    Opcode = 0x71
	OpGetTemperature         Opcode = 0x72
	OpSetAntennaPort         Opcode = 0x91
	OpSetReadTxPower         Opcode = 0x92
	OpSetTagProtocol         Opcode = 0x93
	OpSetWriteTxPower        Opcode = 0x94
	OpSetRegion              Opcode = 0x97
	OpSetPowerMode           Opcode = 0x98
	OpSetReaderOptionalParam Opcode = 0x9A
	OpSetProtocolParam       Opcode = 0x9B
)

// String returns the opcode's name and value, as in "READ_TAG_ID_MULTIPLE
// (0x22)"; an opcode the package does not name is shown as "opcode 0x5A".
func (op Opcode) String() string {
	name := ""
	switch op {
	case OpVersion:
		name = "VERSION"
	case OpBootFirmware:
		name = "BOOT_FIRMWARE"
	case OpSetBaudRate:
		name = "SET_BAUD_RATE"
	case OpReadTagIDSingle:
		name = "READ_TAG_ID_SINGLE"
	case OpReadTagIDMultiple:
		name = "READ_TAG_ID_MULTIPLE"
	case OpWriteTagID:
		name = "WRITE_TAG_ID"
	case OpWriteTagData:
		name = "WRITE_TAG_DATA"
	case OpLockTag:
		name = "LOCK_TAG"
	case OpKillTag:
		name = "KILL_TAG"
	case OpReadTagData:
		name = "READ_TAG_DATA"
	case OpGetTagIDBuffer:
		name = "GET_TAG_ID_BUFFER"
	case OpClearTagIDBuffer:
		name = "CLEAR_TAG_ID_BUFFER"
	case OpMultiProtocolTagOp:
		name = "MULTI_PROTOCOL_TAG_OP"
	case OpGetAntennaPort:
		name = "GET_ANTENNA_PORT"
	case OpGetReadTxPower:
		name = "GET_READ_TX_POWER"
	case OpGetTagProtocol:
		name = "GET_TAG_PROTOCOL"
	case OpGetWriteTxPower:
		name = "GET_WRITE_TX_POWER"
	case OpGetRegion:
		name = "GET_REGION"
	case OpGetPowerMode:
		name = "GET_POWER_MODE"
	case OpGetReaderOptionalParam:
		name = "GET_READER_OPTIONAL_PARAMS"
	case OpGetProtocolParam:
		name = "GET_PROTOCOL_PARAM"
	case OpGetReaderStats:
		name = "GET_READER_STATS"
	case OpGetAvailableProtocols:
		name = "GET_AVAILABLE_PROTOCOLS"
	case OpGetAvailableRegions:
		name = "GET_AVAILABLE_REGIONS"
	case OpGetTemperature:
		name = "GET_TEMPERATURE"
	case OpSetAntennaPort:
		name = "SET_ANTENNA_PORT"
	case OpSetReadTxPower:
		name = "SET_READ_TX_POWER"
	case OpSetTagProtocol:
		name = "SET_TAG_PROTOCOL"
	case OpSetWriteTxPower:
		name = "SET_WRITE_TX_POWER"
	case OpSetRegion:
		name = "SET_REGION"
	case OpSetPowerMode:
		name = "SET_POWER_MODE"
	case OpSetReaderOptionalParam:
		name = "SET_READER_OPTIONAL_PARAMS"
	case OpSetProtocolParam:
		name = "SET_PROTOCOL_PARAM"
	default:
		return fmt.Sprintf("opcode 0x%02X", byte(op))
	}
	return fmt.Sprintf("%s (0x%02X)", name, byte(op))
}

// Region is a regulatory region, the argument of SET_REGION (Mercury API
// TMR_Region, tmr_region.h). It fixes the frequency hop table, the dwell
// time and the power limits; a module answers most commands with
// StatusAFENotOn until a region is set.
type Region byte

// Regions. RegionPRC is China's 920–925 MHz band, RegionPRC2 its 840–845 MHz
// band; RegionNA2 is the reduced FCC band that SparkFun's library calls
// North America.
const (
	RegionNone Region = 0x00
	RegionNA   Region = 0x01
	RegionEU   Region = 0x02
	RegionKR   Region = 0x03
	RegionIN   Region = 0x04
	RegionJP   Region = 0x05
	RegionPRC  Region = 0x06
	RegionEU2  Region = 0x07
	RegionEU3  Region = 0x08
	RegionKR2  Region = 0x09
	RegionPRC2 Region = 0x0A
	RegionAU   Region = 0x0B
	RegionNZ   Region = 0x0C
	RegionNA2  Region = 0x0D
	RegionNA3  Region = 0x0E
	RegionOpen Region = 0xFF
)

// Protocol is an air protocol identifier (Mercury API TMR_TagProtocol).
type Protocol byte

// Air protocols. Only Gen2 matters for the modules this package targets.
const (
	ProtocolNone             Protocol = 0x00
	ProtocolISO18000_6B      Protocol = 0x03
	ProtocolGen2             Protocol = 0x05 // EPC Gen2, ISO/IEC 18000-63
	ProtocolISO18000_6BUcode Protocol = 0x06
	ProtocolIPX64            Protocol = 0x07
	ProtocolIPX256           Protocol = 0x08
	ProtocolATA              Protocol = 0x1D // sends no tag CRC
)

// Model is the first hardware version byte of a VERSION response
// (Mercury API TMR_SR_ModelHardwareID).
type Model byte

// Module models.
const (
	ModelM6e     Model = 0x18
	ModelM6eI    Model = 0x19
	ModelMicro   Model = 0x20
	ModelM6eNano Model = 0x30
	ModelM7ePico Model = 0x38
	ModelM3e     Model = 0x80
)

// String returns the model's name, or its value in hex when unknown.
func (m Model) String() string {
	switch m {
	case ModelM6e:
		return "M6e"
	case ModelM6eI:
		return "M6e-I"
	case ModelMicro:
		return "M6e Micro"
	case ModelM6eNano:
		return "M6e Nano"
	case ModelM7ePico:
		return "M7e Pico"
	case ModelM3e:
		return "M3e"
	}
	return fmt.Sprintf("model 0x%02X", byte(m))
}

// SearchFlags are the search flags word of READ_TAG_ID_MULTIPLE (Mercury
// API TMR_SR_SearchFlag).
type SearchFlags uint16

// Search flags.
const (
	SearchConfiguredList        SearchFlags = 0x0003 // the antenna list set with SET_ANTENNA_PORT
	SearchEmbeddedCommand       SearchFlags = 0x0004
	SearchTagStreaming          SearchFlags = 0x0008 // stream each read as it happens
	SearchLargeTagPopulation    SearchFlags = 0x0010 // 4-byte tag counts
	SearchStatusReportStreaming SearchFlags = 0x0020
	SearchReturnOnNTags         SearchFlags = 0x0040
	SearchReadMultipleFast      SearchFlags = 0x0080
	SearchStatsReportStreaming  SearchFlags = 0x0100 // interleave statistics (temperature) records
	SearchGPITriggerRead        SearchFlags = 0x0200
	SearchDutyCycleControl      SearchFlags = 0x0400
)

// MetadataFlags select the metadata fields a tag record carries, in the
// order of the bits (Mercury API TMR_TRD_MetadataFlag, tmr_tag_data.h).
type MetadataFlags uint16

// Metadata flags and the size of the field each adds to a tag record.
const (
	MetaReadCount  MetadataFlags = 0x0001 // 1 byte: times the tag was read
	MetaRSSI       MetadataFlags = 0x0002 // 1 byte: signed dBm
	MetaAntenna    MetadataFlags = 0x0004 // 1 byte: TX port high nibble, RX port low nibble
	MetaFrequency  MetadataFlags = 0x0008 // 3 bytes: carrier in kHz
	MetaTimestamp  MetadataFlags = 0x0010 // 4 bytes: ms since the search began
	MetaPhase      MetadataFlags = 0x0020 // 2 bytes: tag response phase, degrees (RFU in older firmware)
	MetaProtocol   MetadataFlags = 0x0040 // 1 byte: Protocol
	MetaData       MetadataFlags = 0x0080 // 2-byte bit length, then embedded-operation data
	MetaGPIO       MetadataFlags = 0x0100 // 1 byte: GPO levels low nibble, GPI levels high nibble
	MetaGen2Q      MetadataFlags = 0x0200 // 1 byte: Q used for the read (Gen2 only)
	MetaGen2LF     MetadataFlags = 0x0400 // 1 byte: backscatter link frequency code (Gen2 only)
	MetaGen2Target MetadataFlags = 0x0800 // 1 byte: inventory target, 0 A, 1 B (Gen2 only)
	MetaBrandID    MetadataFlags = 0x1000 // 2 bytes; the EPC field also ends with 2 brand bytes
	MetaTagType    MetadataFlags = 0x2000 // HF/LF modules only; not parsed

	// MetaAllUHF is every field a UHF module sends.
	MetaAllUHF = MetaReadCount | MetaRSSI | MetaAntenna | MetaFrequency |
		MetaTimestamp | MetaPhase | MetaProtocol | MetaData | MetaGPIO |
		MetaGen2Q | MetaGen2LF | MetaGen2Target

	// MetaDefault is what the captured continuous-reading command asks
	// for (0x01FF): read count through GPIO status.
	MetaDefault = MetaReadCount | MetaRSSI | MetaAntenna | MetaFrequency |
		MetaTimestamp | MetaPhase | MetaProtocol | MetaData | MetaGPIO

	// metaKnown are the flags whose fields ParseTagRecord can lay out.
	metaKnown = MetaAllUHF | MetaBrandID
)

// Bank is a Gen2 memory bank.
type Bank byte

// Gen2 memory banks.
const (
	BankReserved Bank = 0x00
	BankEPC      Bank = 0x01
	BankTID      Bank = 0x02
	BankUser     Bank = 0x03
)
