package edge

import (
	"github.com/udi-edge/udi-edge/agent/lifecycle"
)

// ChecksConfig sets which point-of-use checks block, warn or only record
// (see firmware-notes/lifecycle.md).
type ChecksConfig struct {
	// Rules maps a check to off, record, warn, pending or block, over the
	// defaults: {"no-case": "block", "expiring-soon": "off"}.
	Rules map[string]string `json:"rules"`
	// ExpiringDays warns of items that expire within this many days.
	ExpiringDays int `json:"expiring_days"`
}

func (c ChecksConfig) rules() (lifecycle.Rules, error) {
	r, err := lifecycle.ParseRules(c.Rules)
	if err != nil {
		return nil, &ConfigError{Where: "checks.rules", Err: err}
	}
	return r, nil
}
