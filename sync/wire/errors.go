package wire

import (
	"errors"
	"fmt"

	"github.com/udi-edge/udi-edge/agent"
)

// Sentinel errors. Every error of this package wraps one of them; test for
// them with errors.Is.
var (
	// ErrMalformed is wrapped by the error for a payload that is not well
	// formed: truncated, trailing bytes, a field of the wrong type, out of
	// range or missing, an unknown field.
	ErrMalformed = errors.New("wire: malformed payload")

	// ErrVersion is wrapped by the error for a payload whose version (the
	// batch's version byte, a JSON payload's "v") this package does not know.
	ErrVersion = errors.New("wire: unknown version")

	// ErrChecksum is wrapped by the error for a payload whose checksum (a
	// batch's CRC-32C, master data's SHA-256) does not match its content.
	ErrChecksum = errors.New("wire: checksum mismatch")

	// ErrTooLarge is wrapped by the error for a batch over MaxBatchSize or
	// with more than MaxBatchCount movements, and for master data over
	// MaxMasterSize or in more than MaxMasterParts parts.
	ErrTooLarge = errors.New("wire: payload too large")

	// ErrSignature is wrapped by the error for a payload whose signature is
	// missing where one is required, or does not verify under the key its
	// sender is known by.
	ErrSignature = errors.New("wire: bad signature")

	// ErrSuperseded is wrapped by the error for a part of master data
	// whose version is older than the one being assembled for its set
	// (MasterAssembler): it is dropped.
	ErrSuperseded = errors.New("wire: master data superseded by a newer version")

	// ErrTopic is wrapped by the error for a topic that is not one of the
	// protocol's.
	ErrTopic = errors.New("wire: not a protocol topic")

	// ErrID is wrapped by the error for an invalid site or gateway id or set
	// name (agent.ErrID). See IDError.
	ErrID = agent.ErrID
)

// FieldError reports a payload rejected because of one of its fields. It
// wraps one of the sentinel errors.
type FieldError struct {
	// Payload is the kind of payload: "batch", "ack", "resend", "status",
	// "master", "master part".
	Payload string
	// Field names the offending field as the protocol does ("v", "hash",
	// "count", "record 3", ...).
	Field string
	// Reason says what is wrong with it.
	Reason string
	// Err is the sentinel the error wraps.
	Err error
}

// Error implements error.
func (e *FieldError) Error() string {
	return fmt.Sprintf("wire: %s field %s: %s", e.Payload, e.Field, e.Reason)
}

// Unwrap returns the sentinel error.
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(err error, payload, field, format string, args ...any) error {
	return &FieldError{Payload: payload, Field: field, Reason: fmt.Sprintf(format, args...), Err: err}
}

// IDError reports an invalid site or gateway id, or set name
// (agent.IDError). It wraps ErrID.
type IDError = agent.IDError

// TopicError reports a topic that is not one of the protocol's. It wraps
// ErrTopic, and an *IDError when an id in it is invalid.
type TopicError struct {
	// Topic is the offending topic, cut to 200 bytes.
	Topic string
	// Reason says what is wrong with it.
	Reason string
	// Err is an *IDError, or nil.
	Err error
}

// Error implements error.
func (e *TopicError) Error() string {
	return fmt.Sprintf("wire: topic %q: %s", e.Topic, e.Reason)
}

// Unwrap returns ErrTopic and, when set, the id error.
func (e *TopicError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrTopic, e.Err}
	}
	return []error{ErrTopic}
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
