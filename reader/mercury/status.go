package mercury

import (
	"errors"
	"fmt"
)

// Status is the status word of a response: 0x0000 for success, otherwise
// the module's error code (Mercury API tmr_status.h, TMR_ERROR_CODE).
type Status uint16

// Status codes, grouped by their high byte: 0x01xx message, 0x02xx
// bootloader, 0x03xx flash, 0x04xx air protocol, 0x05xx analogue front end,
// 0x06xx tag buffer, 0x7Fxx system.
const (
	StatusOK                     Status = 0x0000
	StatusWrongNumberOfData      Status = 0x0100
	StatusInvalidOpcode          Status = 0x0101
	StatusUnimplementedOpcode    Status = 0x0102
	StatusPowerTooHigh           Status = 0x0103
	StatusInvalidFrequency       Status = 0x0104
	StatusInvalidParameter       Status = 0x0105
	StatusPowerTooLow            Status = 0x0106
	StatusUnimplementedFeature   Status = 0x0109
	StatusInvalidBaudRate        Status = 0x010A
	StatusInvalidRegion          Status = 0x010B
	StatusInvalidLicenseKey      Status = 0x010C
	StatusBLInvalidImageCRC      Status = 0x0200
	StatusBLInvalidAppEndAddr    Status = 0x0201
	StatusFlashBadErasePassword  Status = 0x0300
	StatusFlashBadWritePassword  Status = 0x0301
	StatusFlashUndefinedSector   Status = 0x0302
	StatusFlashIllegalSector     Status = 0x0303
	StatusFlashWriteToNonErased  Status = 0x0304
	StatusFlashWriteToIllegal    Status = 0x0305
	StatusFlashVerifyFailed      Status = 0x0306
	StatusNoTagsFound            Status = 0x0400
	StatusNoProtocolDefined      Status = 0x0401
	StatusInvalidProtocol        Status = 0x0402
	StatusWritePassedLockFailed  Status = 0x0403
	StatusNoDataRead             Status = 0x0404
	StatusAFENotOn               Status = 0x0405
	StatusWriteFailed            Status = 0x0406
	StatusNotImplementedForProto Status = 0x0407
	StatusInvalidWriteData       Status = 0x0408
	StatusInvalidAddress         Status = 0x0409
	StatusGeneralTagError        Status = 0x040A
	StatusDataTooLarge           Status = 0x040B
	StatusInvalidKillPassword    Status = 0x040C
	StatusKillFailed             Status = 0x040E
	StatusBitDecodingFailed      Status = 0x040F
	StatusInvalidEPC             Status = 0x0410
	StatusInvalidNumData         Status = 0x0411
	StatusInvalidTagOp           Status = 0x0413
	StatusGen2OtherError         Status = 0x0420
	StatusGen2MemoryOverrun      Status = 0x0423
	StatusGen2MemoryLocked       Status = 0x0424
	StatusGen2AuthFailed         Status = 0x0425
	StatusGen2UntraceFailed      Status = 0x0426
	StatusGen2InsufficientPower  Status = 0x042B
	StatusGen2NonSpecificError   Status = 0x042F
	StatusGen2UnknownError       Status = 0x0430
	StatusAuthFailed             Status = 0x04A7
	StatusInvalidFreq            Status = 0x0500
	StatusChannelOccupied        Status = 0x0501
	StatusTransmitterOn          Status = 0x0502
	StatusAntennaNotConnected    Status = 0x0503
	StatusTemperatureExceeded    Status = 0x0504
	StatusHighReturnLoss         Status = 0x0505
	StatusInvalidAntennaConfig   Status = 0x0507
	StatusVoltageExceeded        Status = 0x0509
	StatusTagBufferNotEnoughTags Status = 0x0600
	StatusTagBufferFull          Status = 0x0601
	StatusTagBufferRepeatedTagID Status = 0x0602
	StatusTagBufferTooManyTags   Status = 0x0603
	StatusTagBufferAuthRequest   Status = 0x0604
	StatusSystemUnknownError     Status = 0x7F00
	StatusAssertFailed           Status = 0x7F01
)

// Text says in words what the status means; unknown codes give "unknown
// status".
func (s Status) Text() string {
	switch s {
	case StatusOK:
		return "success"
	case StatusWrongNumberOfData:
		return "wrong number of data bytes for the command"
	case StatusInvalidOpcode:
		return "opcode not recognised"
	case StatusUnimplementedOpcode:
		return "opcode recognised but not supported"
	case StatusPowerTooHigh:
		return "requested power above the maximum"
	case StatusInvalidFrequency:
		return "requested frequency outside the allowed range"
	case StatusInvalidParameter:
		return "parameter value outside the allowed range"
	case StatusPowerTooLow:
		return "requested power below the minimum"
	case StatusUnimplementedFeature:
		return "command not supported"
	case StatusInvalidBaudRate:
		return "serial speed not supported"
	case StatusInvalidRegion:
		return "region not supported"
	case StatusInvalidLicenseKey:
		return "license key invalid"
	case StatusBLInvalidImageCRC:
		return "firmware image corrupt (CRC mismatch)"
	case StatusBLInvalidAppEndAddr:
		return "firmware image end address invalid"
	case StatusFlashBadErasePassword, StatusFlashBadWritePassword, StatusFlashUndefinedSector,
		StatusFlashIllegalSector, StatusFlashWriteToNonErased, StatusFlashWriteToIllegal,
		StatusFlashVerifyFailed:
		return "internal flash error"
	case StatusNoTagsFound:
		return "no tags found"
	case StatusNoProtocolDefined:
		return "no air protocol set"
	case StatusInvalidProtocol:
		return "air protocol not recognised"
	case StatusWritePassedLockFailed:
		return "tag written but lock failed"
	case StatusNoDataRead:
		return "tag data could not be read"
	case StatusAFENotOn:
		return "radio not on (is the region set?)"
	case StatusWriteFailed:
		return "write to tag failed"
	case StatusNotImplementedForProto:
		return "command not supported for the current air protocol"
	case StatusInvalidWriteData:
		return "write data does not conform to the protocol"
	case StatusInvalidAddress:
		return "tag memory address out of range"
	case StatusGeneralTagError:
		return "unknown error during the tag operation"
	case StatusDataTooLarge:
		return "more data requested than supported"
	case StatusInvalidKillPassword:
		return "wrong kill password"
	case StatusKillFailed:
		return "kill failed"
	case StatusBitDecodingFailed:
		return "tag reply bit decoding failed"
	case StatusInvalidEPC:
		return "invalid EPC"
	case StatusInvalidNumData:
		return "invalid amount of data"
	case StatusInvalidTagOp:
		return "invalid tag operation"
	case StatusGen2OtherError:
		return "Gen2 tag error: other"
	case StatusGen2MemoryOverrun:
		return "Gen2 tag error: memory overrun or unsupported PC"
	case StatusGen2MemoryLocked:
		return "Gen2 tag error: memory locked"
	case StatusGen2AuthFailed:
		return "Gen2 tag error: authentication failed"
	case StatusGen2UntraceFailed:
		return "Gen2 tag error: untrace failed"
	case StatusGen2InsufficientPower:
		return "Gen2 tag error: insufficient power"
	case StatusGen2NonSpecificError:
		return "Gen2 tag error: non-specific"
	case StatusGen2UnknownError:
		return "Gen2 tag error: unknown"
	case StatusAuthFailed:
		return "authentication failed"
	case StatusInvalidFreq:
		return "frequency outside the region's range"
	case StatusChannelOccupied:
		return "channel occupied (listen before talk)"
	case StatusTransmitterOn:
		return "transmitter already on"
	case StatusAntennaNotConnected:
		return "antenna not connected"
	case StatusTemperatureExceeded:
		return "module temperature too high"
	case StatusHighReturnLoss:
		return "high return loss: RF stopped to protect the module (check the antenna)"
	case StatusInvalidAntennaConfig:
		return "invalid antenna configuration"
	case StatusVoltageExceeded:
		return "supply voltage outside the safe range"
	case StatusTagBufferNotEnoughTags:
		return "fewer tags in the buffer than requested"
	case StatusTagBufferFull:
		return "tag buffer full"
	case StatusTagBufferRepeatedTagID:
		return "duplicate tag record in the buffer"
	case StatusTagBufferTooManyTags:
		return "more tags requested than one response can carry"
	case StatusTagBufferAuthRequest:
		return "tag authentication requested"
	case StatusSystemUnknownError:
		return "unknown system error"
	case StatusAssertFailed:
		return "firmware assertion failed"
	}
	return "unknown status"
}

// String returns the code and its meaning, as in "0x0504 module
// temperature too high".
func (s Status) String() string {
	return fmt.Sprintf("0x%04X %s", uint16(s), s.Text())
}

// ErrStatus matches every *Error with errors.Is.
var ErrStatus = errors.New("mercury: module reported an error")

// ErrMalformed matches errors for frames whose contents do not have the
// layout their opcode, option or flags call for (too short, a length
// field running past the end, an unknown record type).
var ErrMalformed = errors.New("mercury: malformed response")

// ErrUnsupportedMetadata is returned for a tag record whose metadata flags
// include a field this package cannot lay out (MetaTagType or an
// unassigned bit): the offsets of the EPC that follows are then unknown.
var ErrUnsupportedMetadata = errors.New("mercury: unsupported metadata flags")

// ErrTagCRC matches every *TagCRCError with errors.Is.
var ErrTagCRC = errors.New("mercury: tag CRC mismatch")

// Error is a response whose status word is not StatusOK.
type Error struct {
	// Opcode is the opcode of the response.
	Opcode Opcode
	// Status is the module's status word.
	Status Status
}

// Error implements error: "mercury: SET_REGION (0x97): status 0x010B region
// not supported".
func (e *Error) Error() string {
	return fmt.Sprintf("mercury: %v: status %v", e.Opcode, e.Status)
}

// Is reports whether target is ErrStatus.
func (e *Error) Is(target error) bool { return target == ErrStatus }

// TagCRCError reports a Gen2 tag record whose stored CRC does not match the
// CRC computed over its PC, XPC and EPC words: the read is corrupt.
type TagCRCError struct {
	// Stored is the CRC the record carries.
	Stored uint16
	// Computed is Gen2CRC over the PC, XPC and EPC bytes.
	Computed uint16
}

// Error implements error.
func (e *TagCRCError) Error() string {
	return fmt.Sprintf("mercury: tag CRC mismatch: stored 0x%04X, computed 0x%04X", e.Stored, e.Computed)
}

// Is reports whether target is ErrTagCRC.
func (e *TagCRCError) Is(target error) bool { return target == ErrTagCRC }
