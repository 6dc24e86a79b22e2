package bb7e

import (
	"encoding/binary"
	"fmt"
)

// Command is a frame's CMD byte (M100/QM100 user protocol manual).
type Command byte

// Commands the package builds or recognises.
const (
	CommandInfo          Command = 0x03 // module information: 00 hardware, 01 software, 02 manufacturer
	CommandSetRegion     Command = 0x07
	CommandGetRegion     Command = 0x08
	CommandSinglePoll    Command = 0x22 // one inventory round; also the command byte of tag notifications
	CommandMultiPoll     Command = 0x27 // repeated inventory rounds
	CommandStopMultiPoll Command = 0x28
	CommandSetPower      Command = 0xB6
	CommandGetPower      Command = 0xB7
	CommandError         Command = 0xFF // the command byte of an error response
)

// String returns the command's name and value, or its value alone.
func (c Command) String() string {
	name := ""
	switch c {
	case CommandInfo:
		name = "info"
	case CommandSetRegion:
		name = "set region"
	case CommandGetRegion:
		name = "get region"
	case CommandSinglePoll:
		name = "single poll"
	case CommandMultiPoll:
		name = "multi-poll"
	case CommandStopMultiPoll:
		name = "stop multi-poll"
	case CommandSetPower:
		name = "set power"
	case CommandGetPower:
		name = "get power"
	case CommandError:
		name = "error"
	default:
		return fmt.Sprintf("command 0x%02X", byte(c))
	}
	return fmt.Sprintf("%s (0x%02X)", name, byte(c))
}

// InfoKind selects what CommandInfo returns.
type InfoKind byte

// Information kinds.
const (
	InfoHardware     InfoKind = 0x00
	InfoSoftware     InfoKind = 0x01
	InfoManufacturer InfoKind = 0x02
)

// Region is a working region, the parameter of CommandSetRegion. The
// channel index of a frequency depends on it (China 900 MHz: (f −
// 920.125 MHz) / 0.25 MHz; US: (f − 902.25 MHz) / 0.5 MHz; EU: (f −
// 865.1 MHz) / 0.2 MHz; China 800 MHz: (f − 840.125 MHz) / 0.25 MHz; Korea:
// (f − 917.1 MHz) / 0.2 MHz).
type Region byte

// Regions.
const (
	RegionChina900 Region = 0x01 // 920–925 MHz
	RegionUS       Region = 0x02 // 902–928 MHz
	RegionEU       Region = 0x03 // 865–868 MHz
	RegionChina800 Region = 0x04 // 840–845 MHz
	RegionKorea    Region = 0x06 // 917–923.5 MHz
)

// DefaultMultiPollCount is the round count of the captured multi-poll
// command (10000).
const DefaultMultiPollCount = 10000

// CmdInfo returns the CommandInfo frame for kind (BB 00 03 00 01 00 04 7E
// for the hardware version).
func CmdInfo(kind InfoKind) []byte { return EncodeCommand(CommandInfo, []byte{byte(kind)}) }

// CmdSinglePoll returns the single-poll frame (BB 00 22 00 00 22 7E): one
// inventory round; the module sends one notification per tag, or error
// 0x15 when it found none.
func CmdSinglePoll() []byte { return EncodeCommand(CommandSinglePoll, nil) }

// CmdMultiPoll returns the multi-poll frame for count rounds: a reserved
// 0x22, then the count (BB 00 27 00 03 22 27 10 83 7E for 10000). The
// module sends notifications until the rounds are done or
// CmdStopMultiPoll; rounds without a tag end with error 0x15.
func CmdMultiPoll(count uint16) []byte {
	return EncodeCommand(CommandMultiPoll, []byte{0x22, byte(count >> 8), byte(count)})
}

// CmdStopMultiPoll returns the stop frame (BB 00 28 00 00 28 7E); the
// module answers with a response whose parameter is 00.
func CmdStopMultiPoll() []byte { return EncodeCommand(CommandStopMultiPoll, nil) }

// CmdSetRegion returns the set-region frame for r.
func CmdSetRegion(r Region) []byte { return EncodeCommand(CommandSetRegion, []byte{byte(r)}) }

// CmdGetRegion returns the get-region frame.
func CmdGetRegion() []byte { return EncodeCommand(CommandGetRegion, nil) }

// CmdSetPower returns the set-transmit-power frame; the power is in
// hundredths of a dBm, big-endian (2000 is 20 dBm). The M100 of the
// captures is a 26 dBm part.
func CmdSetPower(centiDBm uint16) []byte {
	return EncodeCommand(CommandSetPower, binary.BigEndian.AppendUint16(nil, centiDBm))
}

// CmdGetPower returns the get-transmit-power frame; see ParsePower.
func CmdGetPower() []byte { return EncodeCommand(CommandGetPower, nil) }
