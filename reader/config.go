package reader

import (
	"errors"
	"fmt"
)

// ErrInvalidConfig matches every *ConfigError with errors.Is. The drivers
// (barcode, mercury, bb7e) export it again under their own name.
var ErrInvalidConfig = errors.New("invalid reader config")

// ConfigError is a field of a driver's configuration that cannot be used.
// Like a *SettingError, its message names the field and the value, then
// what would be accepted:
//
//	region "Mars": want NA, EU, ...
type ConfigError struct {
	// Field is the setting's key, for example "id", "suffix" or "region".
	Field string
	// Value is the rejected value.
	Value any
	// Want says what the field accepts.
	Want string
}

// Error implements error.
func (e *ConfigError) Error() string { return fieldMessage(e.Field, e.Value, e.Want) }

// Is reports whether target is ErrInvalidConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// ValidateCommon returns the errors of what every driver's configuration
// has: a *ConfigError for an empty id (its Want is idWant, for example "a
// name for the reader"), then each *SettingError of serial, wrapped as
// "serial: ...". A driver's Validate starts its list with them, adds its
// own fields' errors and joins the lot with errors.Join. It returns nil when
// both are usable.
func ValidateCommon(id, idWant string, serial Settings) []error {
	var errs []error
	if id == "" {
		errs = append(errs, &ConfigError{Field: "id", Value: id, Want: idWant})
	}
	for _, e := range serial.problems() {
		errs = append(errs, fmt.Errorf("serial: %w", e))
	}
	return errs
}

// fieldMessage is the message of a rejected field, a string value quoted:
// `parity "x": want none, odd, ...`, `baud 0: want a rate from ...`.
func fieldMessage(field string, value any, want string) string {
	if s, ok := value.(string); ok {
		return fmt.Sprintf("%s %q: want %s", field, s, want)
	}
	return fmt.Sprintf("%s %v: want %s", field, value, want)
}
