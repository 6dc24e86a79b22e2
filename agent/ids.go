package agent

import (
	"errors"
	"fmt"
)

// MaxIDLen is the longest id of a site, a gateway, a scanner, a reader or
// a zone.
const MaxIDLen = 64

// ReservedGateway is the one id a gateway may not have: the sync topics
// of master data take its place (udi/v1/{site}/master/{set}).
const ReservedGateway = "master"

// ErrID is wrapped by every *IDError.
var ErrID = errors.New("invalid id")

// IDError reports an id that breaks the rule of CheckID. It wraps ErrID.
type IDError struct {
	// What names the id: "site", "gateway", "scanner", "reader", "zone"…
	What string
	// ID is the offending id, cut to 80 bytes.
	ID string
	// Reason says what is wrong with it.
	Reason string
}

func (e *IDError) Error() string { return fmt.Sprintf("%s id %q: %s", e.What, e.ID, e.Reason) }

// Unwrap returns ErrID.
func (e *IDError) Unwrap() error { return ErrID }

// CheckID is the one rule for the ids of sites, gateways, scanners,
// readers and zones: 1 to MaxIDLen characters from A-Z a-z 0-9 . _ -, so
// that an id is safe in an MQTT topic, a file name and a log line; and a
// gateway is not ReservedGateway. what names the id in the error. Every
// face (configuration, the ledger, the sync protocol) calls it.
func CheckID(what, s string) error {
	if s == "" {
		return &IDError{What: what, Reason: "empty"}
	}
	if len(s) > MaxIDLen {
		return &IDError{What: what, ID: s[:min(len(s), 80)], Reason: fmt.Sprintf("longer than %d characters", MaxIDLen)}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return &IDError{What: what, ID: s, Reason: "use letters, digits, '-', '_' and '.' only"}
		}
	}
	if what == "gateway" && s == ReservedGateway {
		return &IDError{What: what, ID: s, Reason: `"master" is reserved for the master data topics`}
	}
	return nil
}
