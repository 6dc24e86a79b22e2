package core

import (
	"context"
	"errors"
	"fmt"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
	"github.com/udi-edge/udi-edge/agent/master"
)

// Status is what a gateway is doing: its ledger, its devices, its master
// data and its link to the central service.
type Status struct {
	Gateway string             `json:"gateway"`
	Site    string             `json:"site,omitempty"`
	LastSeq uint64             `json:"last_seq"`
	Ledger  agent.LedgerHealth `json:"ledger"`
	Devices []Device           `json:"devices,omitempty"`
	Master  MasterStatus       `json:"master"`
	// Sync is nil when the gateway does not sync.
	Sync *SyncState `json:"sync,omitempty"`
}

// MasterStatus is the master data a gateway holds.
type MasterStatus struct {
	Version string        `json:"version,omitempty"`
	Counts  master.Counts `json:"counts"`
	Damaged []string      `json:"damaged,omitempty"`
}

// Status returns what the gateway is doing now. It never fails; the error
// is for the API's sake.
func (g *Gateway) Status(context.Context) (Status, error) {
	s := Status{Gateway: g.store.Gateway(), Site: g.cfg.Site, LastSeq: g.store.LastSeq(), Ledger: g.store.Health()}
	s.Master.Version, s.Master.Counts, s.Master.Damaged = g.MasterVersion()
	if g.devices != nil {
		s.Devices = g.devices()
	}
	if g.sync != nil {
		s.Sync = g.sync()
	}
	return s, nil
}

// ErrNothingPending is returned by Justify when no use of the item waits
// for a justification.
var ErrNothingPending = errors.New("no use of the item is pending a justification")

// Justify records the necessity justification reason, given by actor, for
// the last use of the item code names that is pending one, as a scanned
// justification barcode would; the use then counts as justified.
func (g *Gateway) Justify(ctx context.Context, code, reason, actor string) (agent.Movement, error) {
	lks, err := codeLookups(code)
	if err != nil {
		return agent.Movement{}, err
	}
	for _, lk := range lks {
		if lk.Prefix {
			continue
		}
		ms, err := g.store.Trace(ctx, lk.Key)
		if err != nil {
			return agent.Movement{}, err
		}
		if use, ok := lifecycle.PendingUse(ms); ok {
			m := agent.Justify(agent.Movement{Time: g.cfg.Now(), Station: "api", Location: use.Location, Actor: actor}, use, reason)
			return g.store.Append(ctx, m)
		}
	}
	return agent.Movement{}, fmt.Errorf("%w: %s", ErrNothingPending, lks[0].Key)
}
