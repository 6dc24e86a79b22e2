package bb7e

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrMalformed matches errors for frames whose parameters do not have the
// layout their command calls for.
var ErrMalformed = errors.New("bb7e: malformed frame")

// ErrTagCRC is returned with a tag notification whose Gen2 CRC does not
// match its PC and EPC: the read is corrupt.
var ErrTagCRC = errors.New("bb7e: tag CRC mismatch")

// ErrModule matches every *Error with errors.Is.
var ErrModule = errors.New("bb7e: module reported an error")

// ErrorCode is the parameter of an error response (CMD 0xFF).
type ErrorCode byte

// Error codes (M100/QM100 user protocol manual). For the access-error
// families the high nibble names the operation and the low nibble is the
// tag's own Gen2 error code (see Gen2Code).
const (
	ErrReadFail            ErrorCode = 0x09 // read failed: no tag, or a CRC error
	ErrWriteFail           ErrorCode = 0x10
	ErrKillFail            ErrorCode = 0x12
	ErrLockFail            ErrorCode = 0x13
	ErrBlockPermalockFail  ErrorCode = 0x14
	ErrInventoryFail       ErrorCode = 0x15 // no tag answered: ends a poll round without reads
	ErrAccessFail          ErrorCode = 0x16 // wrong access password
	ErrCommand             ErrorCode = 0x17 // command not understood
	ErrFHSSFail            ErrorCode = 0x20 // frequency hopping failed (channel busy)
	ErrReadTagError        ErrorCode = 0xA0 // | Gen2 error code
	ErrWriteTagError       ErrorCode = 0xB0 // | Gen2 error code
	ErrLockTagError        ErrorCode = 0xC0 // | Gen2 error code
	ErrKillTagError        ErrorCode = 0xD0 // | Gen2 error code
	ErrBlockPermalockError ErrorCode = 0xE0 // | Gen2 error code
)

// Gen2 tag error codes (GS1 EPC Gen2 air interface, Annex I), the low
// nibble of the 0xA0–0xE0 families.
const (
	Gen2Other              = 0x00
	Gen2NotSupported       = 0x01
	Gen2InsufficientPriv   = 0x02
	Gen2MemoryOverrun      = 0x03
	Gen2MemoryLocked       = 0x04
	Gen2CryptoSuite        = 0x05
	Gen2NotEncapsulated    = 0x06
	Gen2ResponseBufferFull = 0x07
	Gen2SecurityTimeout    = 0x08
	Gen2InsufficientPower  = 0x0B
	Gen2NonSpecific        = 0x0F
)

// Gen2Code returns the tag's Gen2 error code of an access error (0xA0 to
// 0xEF) and true, or 0 and false for the other codes.
func (c ErrorCode) Gen2Code() (byte, bool) {
	if c >= 0xA0 && c <= 0xEF {
		return byte(c) & 0x0F, true
	}
	return 0, false
}

// Text says in words what the code means.
func (c ErrorCode) Text() string {
	switch c {
	case ErrReadFail:
		return "read failed (no tag or CRC error)"
	case ErrWriteFail:
		return "write failed"
	case ErrKillFail:
		return "kill failed"
	case ErrLockFail:
		return "lock failed"
	case ErrBlockPermalockFail:
		return "block permalock failed"
	case ErrInventoryFail:
		return "inventory failed: no tag"
	case ErrAccessFail:
		return "access failed: wrong password"
	case ErrCommand:
		return "command error"
	case ErrFHSSFail:
		return "frequency hopping failed"
	}
	if g, ok := c.Gen2Code(); ok {
		op := [...]string{"read", "write", "lock", "kill", "block permalock"}[(c>>4)-0xA]
		return fmt.Sprintf("tag %s error: %s", op, gen2Text(g))
	}
	return "unknown error"
}

func gen2Text(g byte) string {
	switch g {
	case Gen2Other:
		return "other"
	case Gen2NotSupported:
		return "not supported"
	case Gen2InsufficientPriv:
		return "insufficient privileges"
	case Gen2MemoryOverrun:
		return "memory overrun"
	case Gen2MemoryLocked:
		return "memory locked"
	case Gen2CryptoSuite:
		return "crypto suite error"
	case Gen2NotEncapsulated:
		return "command not encapsulated"
	case Gen2ResponseBufferFull:
		return "response buffer overflow"
	case Gen2SecurityTimeout:
		return "security timeout"
	case Gen2InsufficientPower:
		return "insufficient power"
	case Gen2NonSpecific:
		return "non-specific"
	}
	return fmt.Sprintf("code 0x%X", g)
}

// Error is an error response from the module.
type Error struct {
	Code ErrorCode
}

// Error implements error: "bb7e: module error 0x15: inventory failed: no
// tag".
func (e *Error) Error() string {
	return fmt.Sprintf("bb7e: module error 0x%02X: %s", byte(e.Code), e.Code.Text())
}

// Is reports whether target is ErrModule.
func (e *Error) Is(target error) bool { return target == ErrModule }

// TagRead is one tag notification. EPC aliases the frame; use Clone to
// keep it.
type TagRead struct {
	// RSSI is the received signal strength in dBm.
	RSSI int
	// PC is the Gen2 protocol control word.
	PC uint16
	// EPC is the tag's EPC: PL − 5 bytes.
	EPC []byte
	// TagCRC is the CRC the tag sent after its EPC.
	TagCRC uint16
	// CRCValid reports whether TagCRC equals the Gen2 CRC of PC and EPC.
	CRCValid bool
}

// Clone returns a copy of t whose EPC does not alias the frame.
func (t TagRead) Clone() TagRead {
	t.EPC = append([]byte(nil), t.EPC...)
	return t
}

// Kind says what a frame means to a driver.
type Kind uint8

// Kinds of Event.
const (
	// KindResponse is a response to a command.
	KindResponse Kind = iota
	// KindTag is a tag notification: Event.Tag is filled.
	KindTag
	// KindError is an error response: Event.Code is filled.
	KindError
	// KindCommand is a host command (seen when listening to the host).
	KindCommand
)

// Event is the meaning of one frame.
type Event struct {
	Kind    Kind
	Command Command
	// Tag is the read of a KindTag event.
	Tag TagRead
	// Code is the error code of a KindError event.
	Code ErrorCode
}

// Err returns an *Error for a KindError event, else nil.
func (e *Event) Err() error {
	if e.Kind != KindError {
		return nil
	}
	return &Error{Code: e.Code}
}

// ParseEvent interprets a frame and fills *ev. A notification with command
// 0x22 or 0x27 (the captures show 0x22 for multi-poll reads, the manual
// text 0x27) is a tag read:
//
//	RSSI(1, signed dBm) PC(2) EPC(PL−5) CRC(2)
//
// A response with command 0xFF is an error whose first parameter is the
// code (access errors append the tag's PC and EPC, which are not parsed).
// The error is ErrMalformed (wrapped) for a notification shorter than five
// bytes or an error response without a code, and ErrTagCRC (with ev
// filled and Tag.CRCValid false) for a tag whose CRC does not match.
func ParseEvent(f Frame, ev *Event) error {
	*ev = Event{Kind: KindResponse, Command: f.Command}
	switch f.Type {
	case TypeCommand:
		ev.Kind = KindCommand
		return nil
	case TypeNotification:
		if f.Command != CommandSinglePoll && f.Command != CommandMultiPoll {
			return fmt.Errorf("%w: notification with %v", ErrMalformed, f.Command)
		}
		p := f.Params
		if len(p) < 5 {
			return fmt.Errorf("%w: tag notification of %d parameter bytes, want 5 at least", ErrMalformed, len(p))
		}
		ev.Kind = KindTag
		t := &ev.Tag
		end := len(p) - 2
		t.RSSI = int(int8(p[0]))
		t.PC = binary.BigEndian.Uint16(p[1:3])
		t.EPC = p[3:end:end]
		t.TagCRC = binary.BigEndian.Uint16(p[end:])
		t.CRCValid = gen2CRC(p[1:end]) == t.TagCRC
		if !t.CRCValid {
			return ErrTagCRC
		}
		return nil
	}
	if f.Command == CommandError {
		if len(f.Params) < 1 {
			return fmt.Errorf("%w: error response without a code", ErrMalformed)
		}
		ev.Kind, ev.Code = KindError, ErrorCode(f.Params[0])
	}
	return nil
}

// ParseInfo returns the text of a CommandInfo response ("M100 26dBm V1.0")
// and the kind it answers.
func ParseInfo(f Frame) (InfoKind, string, error) {
	if err := responseTo(f, CommandInfo, 1); err != nil {
		return 0, "", err
	}
	return InfoKind(f.Params[0]), string(f.Params[1:]), nil
}

// ParsePower returns the transmit power of a CommandGetPower response in
// hundredths of a dBm.
func ParsePower(f Frame) (int, error) {
	if err := responseTo(f, CommandGetPower, 2); err != nil {
		return 0, err
	}
	return int(binary.BigEndian.Uint16(f.Params)), nil
}

// ParseRegion returns the region of a CommandGetRegion response.
func ParseRegion(f Frame) (Region, error) {
	if err := responseTo(f, CommandGetRegion, 1); err != nil {
		return 0, err
	}
	return Region(f.Params[0]), nil
}

// ParseAck checks a response that acknowledges cmd with a status
// parameter (set region, set power, stop multi-poll): nil for 00, an
// *Error for an error response.
func ParseAck(f Frame, cmd Command) error {
	if err := responseTo(f, cmd, 1); err != nil {
		return err
	}
	if f.Params[0] != 0x00 {
		return fmt.Errorf("%w: %v acknowledged with status 0x%02X", ErrMalformed, cmd, f.Params[0])
	}
	return nil
}

// responseTo checks that f is a response to cmd with at least n
// parameter bytes, or returns the module's error.
func responseTo(f Frame, cmd Command, n int) error {
	if f.Type == TypeResponse && f.Command == CommandError && len(f.Params) > 0 {
		return &Error{Code: ErrorCode(f.Params[0])}
	}
	if f.Type != TypeResponse || f.Command != cmd || len(f.Params) < n {
		return fmt.Errorf("%w: want a response to %v with %d parameter bytes, got type %d %v with %d", ErrMalformed, cmd, n, f.Type, f.Command, len(f.Params))
	}
	return nil
}

// gen2CRC is the Gen2 tag CRC, CRC-16/GENIBUS: preset 0xFFFF, polynomial
// 0x1021 MSB first, complemented; "123456789" gives 0xD64E.
func gen2CRC(p []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, b := range p {
		crc ^= uint16(b) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return ^crc
}
