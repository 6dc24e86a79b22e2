package presence

import (
	"errors"
	"strconv"
)

// Sentinel errors. Every error returned by this package is an *Error or a
// *ConfigError whose Unwrap returns one of these, so callers test with
// errors.Is.
var (
	// ErrUnknownZone means a read or call names a zone that is not in
	// Config.Zones. The read is not tracked; the caller records it as a
	// rejected read with the reader and antenna that produced it.
	ErrUnknownZone = errors.New("unknown zone")
	// ErrRole means the call does not apply to the zone's role: EndRound,
	// DoorOpened, DoorClosed and Restore are for cabinet zones, Snapshot is
	// not for portal zones.
	ErrRole = errors.New("operation not valid for the zone's role")
	// ErrEmptyTag means a read or Restore carries an empty tag key.
	ErrEmptyTag = errors.New("empty tag")
	// ErrConfig means the configuration is invalid; the *ConfigError says
	// which key and why.
	ErrConfig = errors.New("invalid presence configuration")
)

// Error is the error returned by a Tracker method for a call it cannot
// apply. It names the operation and the zone; it never quotes a tag.
type Error struct {
	// Op is the method: "observe", "end round", "door opened", "door
	// closed", "restore", "snapshot", "sightings".
	Op string
	// Zone is the zone named by the call.
	Zone string
	// Err is the sentinel (ErrUnknownZone, ErrRole, ErrEmptyTag).
	Err error
}

// Error formats the error as `presence: end round: zone "door-3/in": operation
// not valid for the zone's role`.
func (e *Error) Error() string {
	msg := "<nil>"
	if e.Err != nil {
		msg = e.Err.Error()
	}
	return "presence: " + e.Op + ": zone " + strconv.Quote(e.Zone) + ": " + msg
}

// Unwrap returns the sentinel error.
func (e *Error) Unwrap() error { return e.Err }

// ConfigError is the error returned by Config.Validate and New for a bad
// configuration. Key names the offending setting by its Config field path
// ("MissRounds", `Zones["cab-1"].Portal`).
type ConfigError struct {
	// Key is the setting, with the zone name for per-zone settings.
	Key string
	// Reason says what is wrong, for the person editing the configuration.
	Reason string
}

// Error formats the error as `presence: config Zones["cab-1"].Role: role
// is not set`.
func (e *ConfigError) Error() string {
	return "presence: config " + e.Key + ": " + e.Reason
}

// Unwrap returns ErrConfig.
func (e *ConfigError) Unwrap() error { return ErrConfig }
