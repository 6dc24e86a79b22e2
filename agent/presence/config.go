package presence

import (
	"slices"
	"strconv"
	"time"
)

// Defaults for the zero values of Config. See firmware-notes/presence.md
// for the arithmetic behind them.
const (
	// DefaultDedupWindow: reads of a tag in a zone no further apart than
	// this are one sighting.
	DefaultDedupWindow = 2 * time.Second
	// DefaultPortalWindow: a tag seen on one side of a portal has this long
	// to be seen on the other side before the pass is reported as Seen.
	DefaultPortalWindow = 5 * time.Second
	// DefaultMissRounds: a present tag missed in this many consecutive
	// counted rounds is Removed. A tag that fails to reply in 10 % of
	// rounds, independently, is falsely removed with probability
	// 0.1^8 = 1e-8 per round: 500 tags over 1,000 rounds expect at most
	// 0.005 false removals. A real removal is reported after 8 rounds
	// (9 when the tag was read in the round during which it was taken).
	DefaultMissRounds = 8
	// DefaultConfirmRounds: a tag read in this many counted rounds becomes
	// present. Misses never create tags, so one round is enough.
	DefaultConfirmRounds = 1
	// DefaultRescanRounds: complete rounds after a door closes that do not
	// count, while the tag population settles.
	DefaultRescanRounds = 1
)

// NoRescan for RescanRounds, and NoBaseline for BaselineRounds, turn the
// setting off (zero means the default).
const (
	NoRescan   = -1
	NoBaseline = -1
)

// Config configures a Tracker. Zero values mean the defaults above.
type Config struct {
	// DedupWindow: reads of a tag in a zone no further apart than this are
	// one sighting (DefaultDedupWindow). In a station zone a sighting gives
	// one Seen; in a portal zone a pass ends when its window is over and no
	// read came for DedupWindow.
	DedupWindow time.Duration
	// PortalWindow: how long after its first read on one side of a portal a
	// tag may first be read on the other side for the order of the two to
	// be reported at once (DefaultPortalWindow). A tag read on one side
	// only is reported as Seen when the window ends.
	PortalWindow time.Duration
	// MissRounds: a present tag missed in this many consecutive counted
	// rounds is Removed (DefaultMissRounds).
	MissRounds int
	// ConfirmRounds: a tag read in this many consecutive counted rounds is
	// Placed (DefaultConfirmRounds).
	ConfirmRounds int
	// RescanRounds: complete rounds after a door closes that do not count
	// (DefaultRescanRounds; NoRescan for none). The round during which the
	// door was open never counts.
	RescanRounds int
	// RescanSettle: after a door closes, only rounds that start at least
	// this long after the close count (zero: none). It adds to
	// RescanRounds: the rescan rounds are the first complete rounds that
	// start after the settle time.
	RescanSettle time.Duration
	// BaselineRounds: Placed events found in a zone's first BaselineRounds
	// counted rounds carry Baseline (zero: MissRounds, the rounds after
	// which a tag not yet read is taken as absent; NoBaseline for none).
	BaselineRounds int
	// Zones maps each zone name, as in Read.Zone, to its configuration.
	Zones map[string]ZoneConfig
}

// ZoneConfig configures one zone.
type ZoneConfig struct {
	// Role is what the zone is for. Required.
	Role Role
	// Portal names the portal a RolePortal zone belongs to; each portal has
	// exactly one Outer and one Inner zone. Empty for other roles.
	Portal string
	// Side is the side of the portal a RolePortal zone covers. Zero for
	// other roles.
	Side Side
	// RoundLength, for a cabinet zone, ends a round every RoundLength of
	// time (the clock is the time of reads and of Tick). Zero: rounds end
	// only at EndRound. A cabinet whose reader reports the end of each
	// inventory cycle should use EndRound.
	RoundLength time.Duration
}

// Validate reports the first problem with c as a *ConfigError, or nil.
// Zones are checked in name order, so the same configuration always gives
// the same error.
func (c Config) Validate() error {
	durs := []struct {
		key string
		d   time.Duration
	}{
		{"DedupWindow", c.DedupWindow},
		{"PortalWindow", c.PortalWindow},
		{"RescanSettle", c.RescanSettle},
	}
	for _, d := range durs {
		if d.d < 0 {
			return &ConfigError{Key: d.key, Reason: "negative duration " + d.d.String()}
		}
	}
	if c.MissRounds < 0 {
		return &ConfigError{Key: "MissRounds", Reason: "must be 1 or more (0 for the default)"}
	}
	if c.ConfirmRounds < 0 {
		return &ConfigError{Key: "ConfirmRounds", Reason: "must be 1 or more (0 for the default)"}
	}
	if c.RescanRounds < NoRescan {
		return &ConfigError{Key: "RescanRounds", Reason: "must be 1 or more, 0 for the default or NoRescan (-1)"}
	}
	if c.BaselineRounds < NoBaseline {
		return &ConfigError{Key: "BaselineRounds", Reason: "must be 1 or more, 0 for the default or NoBaseline (-1)"}
	}
	if len(c.Zones) == 0 {
		return &ConfigError{Key: "Zones", Reason: "no zones configured"}
	}
	names := make([]string, 0, len(c.Zones))
	for name := range c.Zones {
		names = append(names, name)
	}
	slices.Sort(names)
	type sides struct{ outer, inner string }
	portals := map[string]*sides{}
	var portalNames []string
	for _, name := range names {
		z := c.Zones[name]
		key := "Zones[" + strconv.Quote(name) + "]"
		if name == "" {
			return &ConfigError{Key: key, Reason: "empty zone name"}
		}
		switch z.Role {
		case RoleCabinet, RolePortal, RoleEncoder, RoleORTable:
		case 0:
			return &ConfigError{Key: key + ".Role", Reason: "role is not set"}
		default:
			return &ConfigError{Key: key + ".Role", Reason: "unknown role " + z.Role.String()}
		}
		if z.RoundLength < 0 {
			return &ConfigError{Key: key + ".RoundLength", Reason: "negative duration " + z.RoundLength.String()}
		}
		if z.RoundLength > 0 && z.Role != RoleCabinet {
			return &ConfigError{Key: key + ".RoundLength", Reason: "only cabinet zones have rounds"}
		}
		if z.Role != RolePortal {
			if z.Portal != "" || z.Side != 0 {
				return &ConfigError{Key: key + ".Portal", Reason: "only portal zones belong to a portal"}
			}
			continue
		}
		if z.Portal == "" {
			return &ConfigError{Key: key + ".Portal", Reason: "a portal zone must name its portal"}
		}
		p := portals[z.Portal]
		if p == nil {
			p = &sides{}
			portals[z.Portal] = p
			portalNames = append(portalNames, z.Portal)
		}
		var slot *string
		switch z.Side {
		case Outer:
			slot = &p.outer
		case Inner:
			slot = &p.inner
		case 0:
			return &ConfigError{Key: key + ".Side", Reason: "a portal zone must say its side (outer or inner)"}
		default:
			return &ConfigError{Key: key + ".Side", Reason: "unknown side " + z.Side.String()}
		}
		if *slot != "" {
			return &ConfigError{Key: key + ".Side", Reason: "portal " + strconv.Quote(z.Portal) +
				" already has an " + z.Side.String() + " zone, " + strconv.Quote(*slot)}
		}
		*slot = name
	}
	for _, pn := range portalNames {
		p := portals[pn]
		if p.outer == "" || p.inner == "" {
			missing := Outer
			if p.inner == "" {
				missing = Inner
			}
			return &ConfigError{Key: "Zones", Reason: "portal " + strconv.Quote(pn) + " has no " + missing.String() + " zone"}
		}
	}
	return nil
}

// withDefaults returns c with zero values replaced by the defaults and the
// "none" markers by zero.
func (c Config) withDefaults() Config {
	if c.DedupWindow == 0 {
		c.DedupWindow = DefaultDedupWindow
	}
	if c.PortalWindow == 0 {
		c.PortalWindow = DefaultPortalWindow
	}
	if c.MissRounds == 0 {
		c.MissRounds = DefaultMissRounds
	}
	if c.ConfirmRounds == 0 {
		c.ConfirmRounds = DefaultConfirmRounds
	}
	switch c.RescanRounds {
	case 0:
		c.RescanRounds = DefaultRescanRounds
	case NoRescan:
		c.RescanRounds = 0
	}
	switch c.BaselineRounds {
	case 0:
		c.BaselineRounds = c.MissRounds
	case NoBaseline:
		c.BaselineRounds = 0
	}
	return c
}
