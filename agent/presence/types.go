package presence

import (
	"fmt"
	"time"
)

// Read is one tag report from a UHF reader, after the caller has mapped the
// reader and antenna to a zone.
type Read struct {
	// Tag is the item key of the tag (see epc.Key), or the key of a raw EPC
	// for a tag that is not an SGTIN. It must not be empty.
	Tag string
	// Reader is the configured id of the reader that reported the tag.
	Reader string
	// Antenna is the reader's antenna port, as the reader numbers it.
	Antenna int
	// Zone is the configured zone the reader and antenna belong to.
	Zone string
	// RSSI is the received signal strength, in the reader's unit (dBm for
	// both supported reader families); larger is stronger.
	RSSI int
	// Time is when the tag was read.
	Time time.Time
}

// EventKind is what an Event reports.
type EventKind uint8

// Event kinds.
const (
	// Placed: a tag became present in a cabinet zone.
	Placed EventKind = iota + 1
	// Removed: a tag present in a cabinet zone is gone.
	Removed
	// Seen: a tag was read at a station (encoder, OR table), on one side
	// of a portal without crossing it, or in a cabinet zone without
	// becoming present there.
	Seen
	// PortalIn: a tag crossed a portal from its outer to its inner zone.
	PortalIn
	// PortalOut: a tag crossed a portal from its inner to its outer zone.
	PortalOut
)

var kindNames = [...]string{"", "placed", "removed", "seen", "portal-in", "portal-out"}

// String returns the kind's name: "placed", "removed", "seen", "portal-in",
// "portal-out".
func (k EventKind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// MarshalText returns the kind's name.
func (k EventKind) MarshalText() ([]byte, error) {
	if k == 0 || int(k) >= len(kindNames) {
		return nil, fmt.Errorf("presence: invalid event kind %d", uint8(k))
	}
	return []byte(kindNames[k]), nil
}

// Event is what a Tracker reports. Tag, Zone, Kind and Time are always set;
// the sighting fields describe the reads the event is based on.
type Event struct {
	// Kind is what happened.
	Kind EventKind
	// Tag is the tag's key, as in Read.Tag.
	Tag string
	// Zone is where the tag is now: the cabinet zone for Placed and Removed
	// (the zone it left), the station or portal side for Seen, the inner
	// zone for PortalIn, the outer zone for PortalOut.
	Zone string
	// Portal is the portal's name for PortalIn, PortalOut and a Seen on a
	// portal side; "" otherwise.
	Portal string
	// Time is when the tracker could tell: the end of the round that
	// decided Placed or Removed, the first read of the second side for
	// PortalIn and PortalOut, the end of the pass window for a portal
	// Seen, the first read of the sighting for a station Seen, the end of
	// the round that dropped a cabinet Seen.
	Time time.Time
	// Rounds is, for Placed, the counted rounds the tag was read in; for
	// Removed, the consecutive counted rounds it was missed in; for a
	// cabinet Seen, the counted rounds it was read in. Zero otherwise.
	Rounds int
	// Baseline is set on a Placed found in the first BaselineRounds counted
	// rounds of a zone: the item may have been there before the tracker
	// started, so the caller records a count, not a placement.
	Baseline bool
	// First and Last are the times of the first and last read the event is
	// based on. For Removed, Last is when the tag was last read in the
	// zone; both are zero for a tag put there by Restore and never read.
	First, Last time.Time
	// Reads is the number of raw reads folded into the event (zero for a
	// restored tag never read).
	Reads int
	// RSSI is the strongest RSSI among those reads, and Reader and Antenna
	// say which reader and antenna made that read.
	RSSI    int
	Reader  string
	Antenna int
}

// Sighting is the deduplicated record of the reads of one tag in one zone:
// see Tracker.Sightings.
type Sighting struct {
	// Tag and Zone say whose reads these are.
	Tag, Zone string
	// First and Last are the times of the first and last read.
	First, Last time.Time
	// Reads is the number of raw reads.
	Reads int
	// RSSI is the strongest RSSI, read by Reader on Antenna.
	RSSI    int
	Reader  string
	Antenna int
}

// Role is what a zone is for; it decides how its reads become events.
type Role uint8

// Zone roles.
const (
	// RoleCabinet is a smart cabinet or shelf read in inventory rounds.
	RoleCabinet Role = iota + 1
	// RolePortal is one side (outer or inner) of a door portal.
	RolePortal
	// RoleEncoder is a station where tags are written and commissioned.
	RoleEncoder
	// RoleORTable is a reading station at an operating table.
	RoleORTable
)

var roleNames = [...]string{"", "cabinet", "portal", "encoder", "or-table"}

// String returns the role's name: "cabinet", "portal", "encoder",
// "or-table".
func (r Role) String() string {
	if r != 0 && int(r) < len(roleNames) {
		return roleNames[r]
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// MarshalText returns the role's name.
func (r Role) MarshalText() ([]byte, error) {
	if r == 0 || int(r) >= len(roleNames) {
		return nil, fmt.Errorf("presence: invalid role %d", uint8(r))
	}
	return []byte(roleNames[r]), nil
}

// UnmarshalText sets r from its name as String returns it.
func (r *Role) UnmarshalText(b []byte) error {
	for i := 1; i < len(roleNames); i++ {
		if string(b) == roleNames[i] {
			*r = Role(i)
			return nil
		}
	}
	return fmt.Errorf("presence: unknown role %q (want cabinet, portal, encoder or or-table)", b)
}

// Side is the side of a portal a portal zone covers.
type Side uint8

// Portal sides.
const (
	// Outer is the side a tag comes from when it goes in.
	Outer Side = iota + 1
	// Inner is the side a tag comes from when it goes out.
	Inner
)

var sideNames = [...]string{"", "outer", "inner"}

// String returns "outer" or "inner".
func (s Side) String() string {
	if s != 0 && int(s) < len(sideNames) {
		return sideNames[s]
	}
	return fmt.Sprintf("Side(%d)", uint8(s))
}

// MarshalText returns the side's name.
func (s Side) MarshalText() ([]byte, error) {
	if s == 0 || int(s) >= len(sideNames) {
		return nil, fmt.Errorf("presence: invalid side %d", uint8(s))
	}
	return []byte(sideNames[s]), nil
}

// UnmarshalText sets s from "outer" or "inner".
func (s *Side) UnmarshalText(b []byte) error {
	for i := 1; i < len(sideNames); i++ {
		if string(b) == sideNames[i] {
			*s = Side(i)
			return nil
		}
	}
	return fmt.Errorf("presence: unknown portal side %q (want outer or inner)", b)
}
