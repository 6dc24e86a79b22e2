package uplink_test

import (
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/sync/uplink"
)

// The ledger is the outbox; adapters do not import each other outside
// tests, so the check lives here.
var _ uplink.Outbox = (*bolt.Ledger)(nil)
