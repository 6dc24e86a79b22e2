package reader

import (
	"errors"
	"fmt"
	"os"
)

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

// ErrDeviceBusy matches (with errors.Is) the error of Open when another
// opener holds the device: a *DeviceBusyError. A driver treats it like
// any failed open: it waits and tries again.
var ErrDeviceBusy = errors.New("device busy")

// DeviceBusyError is the error of Open when the device is held by another
// opener: a process of this project holding the device's lock (a running
// agent, a udi-edge tool, or another driver of the same process
// configured on the same device), or a program that opened the tty for
// exclusive use. Its message names the device and, when it could be
// found, the process holding the lock:
//
//	open /dev/serial/by-id/usb-Acme-if00: device busy: locked by process 812
type DeviceBusyError struct {
	// Device is the path that was opened.
	Device string
	// PID is the process holding the device's lock as /proc/locks lists
	// it, 0 when it could not be found (the device was opened for
	// exclusive use without the lock, or /proc is not mounted).
	PID int
	// Err is the operating system's refusal: EWOULDBLOCK from flock(2),
	// or EBUSY from open(2) on a tty in exclusive mode.
	Err error
}

// Error implements error. When the holder is the calling process itself,
// two of its drivers are configured on one device, and the message says
// so.
func (e *DeviceBusyError) Error() string {
	switch {
	case e.PID > 0 && e.PID == os.Getpid():
		return fmt.Sprintf("open %s: %v: locked by this process (%d): is the device configured twice?", e.Device, ErrDeviceBusy, e.PID)
	case e.PID > 0:
		return fmt.Sprintf("open %s: %v: locked by process %d", e.Device, ErrDeviceBusy, e.PID)
	}
	return fmt.Sprintf("open %s: %v: in use by another program", e.Device, ErrDeviceBusy)
}

// Is reports whether target is ErrDeviceBusy.
func (e *DeviceBusyError) Is(target error) bool { return target == ErrDeviceBusy }

// Unwrap returns the operating system's error.
func (e *DeviceBusyError) Unwrap() error { return e.Err }
