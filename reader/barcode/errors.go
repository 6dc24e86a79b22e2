package barcode

import (
	"errors"
	"fmt"

	"github.com/udi-edge/udi-edge/reader"
)

// ErrDisconnected is returned by Scanner.Write when the scanner's port is
// not open (not yet opened, unplugged, or Run has returned).
var ErrDisconnected = errors.New("barcode: scanner not connected")

// ErrFrameTooLong matches (with errors.Is) the Err of a Read whose frame
// was longer than Config.MaxLen. See FrameTooLongError.
var ErrFrameTooLong = errors.New("frame too long")

// ErrIncompleteFrame matches (with errors.Is) the Err of a Read whose frame
// was cut off before its terminator. See IncompleteFrameError.
var ErrIncompleteFrame = errors.New("incomplete frame")

// ErrInvalidConfig matches every *ConfigError with errors.Is. It is
// reader.ErrInvalidConfig, shared by every driver.
var ErrInvalidConfig = reader.ErrInvalidConfig

// FrameTooLongError is the Err of a Read whose line ran past the bound
// before its terminator. The Read's Raw holds the first Max bytes; the rest
// of the line, up to the terminator, was counted and discarded.
type FrameTooLongError struct {
	// Max is the bound, Config.MaxLen.
	Max int
	// Seen is the length of the whole line in bytes, suffix excluded.
	Seen int64
}

// Error implements error. The message carries lengths only, never data.
func (e *FrameTooLongError) Error() string {
	return fmt.Sprintf("frame too long: %d bytes, bound %d; first %d kept, rest discarded", e.Seen, e.Max, e.Max)
}

// Is reports whether target is ErrFrameTooLong.
func (e *FrameTooLongError) Is(target error) bool { return target == ErrFrameTooLong }

// IncompleteFrameError is the Err of a Read whose bytes arrived but whose
// terminator never did: the device went away, or the scanner was stopped,
// in the middle of a frame. The Read's Raw holds the bytes that arrived.
type IncompleteFrameError struct {
	// Len is the number of bytes received.
	Len int
	// Cause is why the frame ended early: the read error, or the context's
	// error when the scanner was stopped. It may be nil.
	Cause error
}

// Error implements error. The message carries lengths only, never data.
func (e *IncompleteFrameError) Error() string {
	if e.Cause == nil {
		return fmt.Sprintf("incomplete frame: %d bytes without a terminator", e.Len)
	}
	return fmt.Sprintf("incomplete frame: %d bytes without a terminator: %v", e.Len, e.Cause)
}

// Is reports whether target is ErrIncompleteFrame.
func (e *IncompleteFrameError) Is(target error) bool { return target == ErrIncompleteFrame }

// Unwrap returns the cause.
func (e *IncompleteFrameError) Unwrap() error { return e.Cause }

// ConfigError is a Config field that cannot be used; its message names the
// field: `suffix "TAB": want CR, LF, CRLF or none`. It is
// reader.ConfigError, shared by every driver.
type ConfigError = reader.ConfigError
