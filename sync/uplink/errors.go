package uplink

import (
	"errors"
	"fmt"
)

// Sentinel errors; test for them with errors.Is.
var (
	// ErrConfig is wrapped by the error New returns for an invalid Config
	// or MQTTConfig. See ConfigError.
	ErrConfig = errors.New("uplink: invalid configuration")

	// ErrOutbox is wrapped by the error Run returns when the ledger fails:
	// a read, the sync cursor, or a record that cannot travel. Run stops on
	// it; the other errors only end a connection.
	ErrOutbox = errors.New("uplink: outbox failed")

	// ErrRunning is returned by Run when the Uplink is already running.
	ErrRunning = errors.New("uplink: already running")

	// ErrNotConnected is returned by MQTT's Publish and Subscribe without a
	// connection.
	ErrNotConnected = errors.New("uplink: not connected")

	// ErrRefused is returned by MQTT's Subscribe when the broker refuses a
	// subscription (its ACL).
	ErrRefused = errors.New("uplink: subscription refused")
)

// ConfigError names an invalid configuration field. It wraps ErrConfig.
type ConfigError struct {
	// Field is the field's name, as in the Go struct.
	Field string
	// Reason says what is wrong with it.
	Reason string
}

// Error implements error.
func (e *ConfigError) Error() string {
	return fmt.Sprintf("uplink: config %s: %s", e.Field, e.Reason)
}

// Unwrap returns ErrConfig.
func (e *ConfigError) Unwrap() error { return ErrConfig }
