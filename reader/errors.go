package reader

import "errors"

// ErrHangup is returned (wrapped) by Port.Read when the tty was hung up:
// the device went away, for example a USB scanner was unplugged.
var ErrHangup = errors.New("device hung up")

// ErrDescriptorRange is returned (wrapped) by Port.Read when the port's file
// descriptor is too high for select(2) (1024 or above), which the serial
// library uses to wait for input. Close the port and open it again later.
var ErrDescriptorRange = errors.New("file descriptor too high for select(2)")

// ErrInvalidSettings matches every *SettingError with errors.Is.
var ErrInvalidSettings = errors.New("invalid serial settings")

// SettingError is a serial setting that cannot be used. Its message names
// the field and the value, then what would be accepted:
//
//	parity "x": want none, odd, even, mark or space
type SettingError struct {
	// Field is the setting's key: device, baud, data_bits, parity or
	// stop_bits.
	Field string
	// Value is the rejected value.
	Value any
	// Want says what the field accepts.
	Want string
}

// Error implements error.
func (e *SettingError) Error() string { return fieldMessage(e.Field, e.Value, e.Want) }

// Is reports whether target is ErrInvalidSettings.
func (e *SettingError) Is(target error) bool { return target == ErrInvalidSettings }
