package mercury

import "fmt"

// Version is the answer to VERSION: four 4-byte version fields and the
// bitmask of supported air protocols.
type Version struct {
	// Bootloader is the bootloader version.
	Bootloader [4]byte
	// Hardware is the hardware version; its first byte is the Model.
	Hardware [4]byte
	// FirmwareDate is the firmware build date in BCD: yyyy mm dd.
	FirmwareDate [4]byte
	// Firmware is the application firmware version (all zero when the
	// module is in its bootloader).
	Firmware [4]byte
	// Protocols has bit p-1 set for each supported Protocol p.
	Protocols uint32
}

// ParseVersion parses a VERSION response.
func ParseVersion(f Frame) (Version, error) {
	var v Version
	if err := f.Err(); err != nil {
		return v, err
	}
	if f.Opcode != OpVersion || len(f.Data) < 20 {
		return v, fmt.Errorf("%w: VERSION response of %d data bytes, want 20", ErrMalformed, len(f.Data))
	}
	d := f.Data
	copy(v.Bootloader[:], d[0:4])
	copy(v.Hardware[:], d[4:8])
	copy(v.FirmwareDate[:], d[8:12])
	copy(v.Firmware[:], d[12:16])
	v.Protocols = uint32(d[16])<<24 | uint32(d[17])<<16 | uint32(d[18])<<8 | uint32(d[19])
	return v, nil
}

// Model returns the module model, the first hardware byte.
func (v Version) Model() Model { return Model(v.Hardware[0]) }

// Supports reports whether the module supports protocol p.
func (v Version) Supports(p Protocol) bool {
	return p >= 1 && p <= 32 && v.Protocols&(1<<(p-1)) != 0
}

// InBootloader reports whether the module runs its bootloader rather than
// the application (a zero firmware version).
func (v Version) InBootloader() bool { return v.Firmware == [4]byte{} }

// FirmwareString returns the firmware version as "01.03.01.47".
func (v Version) FirmwareString() string { return dotted(v.Firmware) }

// BootloaderString returns the bootloader version as "14.12.08.00".
func (v Version) BootloaderString() string { return dotted(v.Bootloader) }

// HardwareString returns the hardware version as "30.00.00.02".
func (v Version) HardwareString() string { return dotted(v.Hardware) }

// FirmwareDateString returns the firmware date as "2015-03-10".
func (v Version) FirmwareDateString() string {
	d := v.FirmwareDate
	return fmt.Sprintf("%02x%02x-%02x-%02x", d[0], d[1], d[2], d[3])
}

func dotted(b [4]byte) string {
	return fmt.Sprintf("%02X.%02X.%02X.%02X", b[0], b[1], b[2], b[3])
}
