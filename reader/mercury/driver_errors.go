package mercury

import (
	"errors"
	"fmt"
	"time"

	serialport "github.com/udi-edge/udi-edge/reader"
)

// Errors of the driver (Reader). The protocol's own errors (ErrStatus,
// ErrMalformed, ErrTagCRC, ...) are in status.go.
var (
	// ErrRunning is returned by Run when the Reader is already running.
	ErrRunning = errors.New("mercury: reader already running")
	// ErrDisconnected is returned by WriteEPC when Run is not running or
	// the module is not connected and set up.
	ErrDisconnected = errors.New("mercury: reader not connected")
	// ErrInvalidConfig matches every *ConfigError with errors.Is. It is
	// reader.ErrInvalidConfig, shared by every driver.
	ErrInvalidConfig = serialport.ErrInvalidConfig
	// ErrTimeout matches every *TimeoutError with errors.Is.
	ErrTimeout = errors.New("mercury: no response")
	// ErrHung matches every *HungError with errors.Is.
	ErrHung = errors.New("mercury: reader silent")
	// ErrNoAnswer matches every *ProbeError with errors.Is.
	ErrNoAnswer = errors.New("mercury: no answer at any line speed")
	// ErrNoTag is returned by WriteEPC when no tag answers in the field.
	ErrNoTag = errors.New("mercury: no tag in the field")
	// ErrMultipleTags matches every *MultipleTagsError with errors.Is.
	ErrMultipleTags = errors.New("mercury: more than one tag in the field")
	// ErrWriteFailed matches every *WriteError with errors.Is.
	ErrWriteFailed = errors.New("mercury: tag write failed")
	// ErrVerify matches every *VerifyError with errors.Is.
	ErrVerify = errors.New("mercury: written EPC does not read back")
)

// ConfigError is a Config field that cannot be used; its message names the
// field: `region "Mars": want NA, EU, ...`. It is reader.ConfigError,
// shared by every driver.
type ConfigError = serialport.ConfigError

// TimeoutError is a command whose response did not arrive, after the one
// retry. The driver restarts the connection on it.
type TimeoutError struct {
	// Op is the command's opcode.
	Op Opcode
	// After is how long each attempt waited.
	After time.Duration
	// Attempts is the number of times the request was sent.
	Attempts int
}

// Error implements error.
func (e *TimeoutError) Error() string {
	return fmt.Sprintf("mercury: no response to %v: %d attempts of %v", e.Op, e.Attempts, e.After)
}

// Is reports whether target is ErrTimeout.
func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }

// HungError reports a module that sent nothing while reading for longer
// than Config.KeepAliveTimeout, and again after reading was restarted.
type HungError struct {
	// Silent is how long the line stayed without a frame.
	Silent time.Duration
}

// Error implements error.
func (e *HungError) Error() string {
	return fmt.Sprintf("mercury: reader silent for %v while reading, also after a restart", e.Silent.Round(time.Millisecond))
}

// Is reports whether target is ErrHung.
func (e *HungError) Is(target error) bool { return target == ErrHung }

// ProbeError reports that no line speed brought an answer to VERSION.
type ProbeError struct {
	// Rates are the line speeds tried, in order.
	Rates []int
}

// Error implements error.
func (e *ProbeError) Error() string {
	return fmt.Sprintf("mercury: no answer to VERSION at %v baud", e.Rates)
}

// Is reports whether target is ErrNoAnswer.
func (e *ProbeError) Is(target error) bool { return target == ErrNoAnswer }

// MultipleTagsError is returned by WriteEPC when the inventory before (or
// after) the write found more than one tag: a commissioning station must
// hold exactly one tag in its field.
type MultipleTagsError struct {
	// Count is the number of tags found.
	Count int
}

// Error implements error.
func (e *MultipleTagsError) Error() string {
	return fmt.Sprintf("mercury: %d tags in the field, want exactly one", e.Count)
}

// Is reports whether target is ErrMultipleTags.
func (e *MultipleTagsError) Is(target error) bool { return target == ErrMultipleTags }

// WriteError is a WRITE_TAG_ID the module answered with an error status,
// such as 0x0406 (write to tag failed) or 0x042B (insufficient power).
type WriteError struct {
	// Status is the module's status word.
	Status Status
}

// Error implements error: "mercury: tag write failed: status 0x0406 write
// to tag failed".
func (e *WriteError) Error() string {
	return fmt.Sprintf("mercury: tag write failed: status %v", e.Status)
}

// Is reports whether target is ErrWriteFailed.
func (e *WriteError) Is(target error) bool { return target == ErrWriteFailed }

// Unwrap returns the module's *Error, so errors.Is(err, ErrStatus) holds.
func (e *WriteError) Unwrap() error { return &Error{Opcode: OpWriteTagID, Status: e.Status} }

// VerifyError is returned by WriteEPC when the EPC read back after a write
// that the module acknowledged is not the one written (or no tag answered
// the read-back). Its message carries lengths, never EPCs.
type VerifyError struct {
	// Want is the EPC written.
	Want []byte
	// Got is the EPC read back; nil when no tag answered.
	Got []byte
}

// Error implements error.
func (e *VerifyError) Error() string {
	if e.Got == nil {
		return fmt.Sprintf("mercury: written EPC does not read back: wrote %d bytes, no tag answered the read-back", len(e.Want))
	}
	return fmt.Sprintf("mercury: written EPC does not read back: wrote %d bytes, read back %d different bytes", len(e.Want), len(e.Got))
}

// Is reports whether target is ErrVerify.
func (e *VerifyError) Is(target error) bool { return target == ErrVerify }
