package central

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/udi-edge/udi-edge/sync/wire"
)

// DefaultCounterFlush is how often a Service adds what it counted to the
// Store's totals (Config.CounterFlush); it also does on Close.
const DefaultCounterFlush = 10 * time.Second

// counterFields are the counters a Store keeps, by their JSON names.
// Stored and Conflicts are not among them: they are read from what the
// Store holds (movements, branches), which its appends keep exact.
var counterFields = []struct {
	name string
	of   func(c *Counters) *uint64
}{
	{"batches", func(c *Counters) *uint64 { return &c.Batches }},
	{"duplicates", func(c *Counters) *uint64 { return &c.Duplicates }},
	{"gaps", func(c *Counters) *uint64 { return &c.Gaps }},
	{"chain_errors", func(c *Counters) *uint64 { return &c.ChainErrors }},
	{"malformed", func(c *Counters) *uint64 { return &c.Malformed }},
	{"bad_signatures", func(c *Counters) *uint64 { return &c.BadSignatures }},
	{"acks", func(c *Counters) *uint64 { return &c.Acks }},
	{"resends", func(c *Counters) *uint64 { return &c.Resends }},
	{"resends_suppressed", func(c *Counters) *uint64 { return &c.ResendsSuppressed }},
}

// delta returns what c counted beyond flushed, by name; nil for nothing.
func (c *Counters) delta(flushed *Counters) map[string]uint64 {
	var out map[string]uint64
	for _, f := range counterFields {
		if d := *f.of(c) - *f.of(flushed); d > 0 {
			if out == nil {
				out = map[string]uint64{}
			}
			out[f.name] = d
		}
	}
	return out
}

// add adds counts, by name, to c.
func (c *Counters) add(counts map[string]uint64) {
	for _, f := range counterFields {
		*f.of(c) += counts[f.name]
	}
}

// flusher adds a Service's counts to its Store's totals.
type flusher struct {
	stop chan struct{}
	done chan struct{}
	// mu is held across a flush, and by Gateways across reading the
	// totals and the counts not yet flushed: a flush under way would
	// have them counted twice, or not at all.
	mu sync.Mutex
}

// startFlusher starts the loop that adds the counts to the Store every
// CounterFlush.
func (s *Service) startFlusher() {
	s.flush = flusher{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.flush.done)
		t := time.NewTicker(s.cfg.CounterFlush)
		defer t.Stop()
		for {
			select {
			case <-s.flush.stop:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), s.cfg.PublishTimeout)
				s.flushCounts(ctx)
				cancel()
			}
		}
	}()
}

// stopFlusher stops the loop and adds what is left.
func (s *Service) stopFlusher() {
	close(s.flush.stop)
	<-s.flush.done
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.PublishTimeout)
	defer cancel()
	s.flushCounts(ctx)
}

// flushCounts adds to the Store's totals what was counted since the last
// flush; what fails to be added is added by the next.
func (s *Service) flushCounts(ctx context.Context) {
	s.flush.mu.Lock()
	defer s.flush.mu.Unlock()
	type pending struct {
		g    *gatewayState
		upto Counters
	}
	var (
		counts []GatewayCounts
		taken  []pending
	)
	s.mu.Lock()
	for id, g := range s.gateways {
		if d := g.counters.delta(&g.flushed); d != nil {
			counts = append(counts, GatewayCounts{Site: id.site, Gateway: id.gateway, Counts: d})
			taken = append(taken, pending{g, g.counters})
		}
	}
	s.mu.Unlock()
	if len(counts) == 0 {
		return
	}
	if err := s.store.AddCounts(ctx, counts); err != nil {
		s.log.Warn("counters not saved; the next flush adds them", "gateways", len(counts), "err", err)
		return
	}
	s.mu.Lock()
	for _, p := range taken {
		p.g.flushed = p.upto
	}
	s.mu.Unlock()
}

// LedgerConflict is a Conflict as GatewayInfo shows it.
type LedgerConflict struct {
	// Created names the ledger; Seq is the first movement of the two
	// histories that differs.
	Created int64  `json:"created"`
	Seq     uint64 `json:"seq"`
	// Branch is the history stored after the conflict, Parent the one it
	// differs from.
	Branch int `json:"branch"`
	Parent int `json:"parent"`
	// Held is the Hash of movement Seq in Parent, Hash in Branch (hex).
	Held string `json:"held"`
	Hash string `json:"hash"`
	// At is when the centre recorded it.
	At time.Time `json:"at"`
}

// GatewaysFromStore returns one GatewayInfo per gateway st holds anything
// of (movements or counters), ordered by site and gateway: its current
// ledger and branch (GatewaysFromLedgers), its conflicts, the movements
// held of it (Counters.Stored) and the totals of its counters as the
// services that share st saved them. The live fields are left empty.
func GatewaysFromStore(ctx context.Context, st Store) ([]GatewayInfo, error) {
	heads, err := st.Ledgers(ctx)
	if err != nil {
		return nil, err
	}
	conflicts, err := st.Conflicts(ctx)
	if err != nil {
		return nil, err
	}
	counts, err := st.Counts(ctx)
	if err != nil {
		return nil, err
	}
	gl := newGatewayList(GatewaysFromLedgers(heads))
	at := gl.at
	for _, c := range conflicts {
		gi := at(gatewayID{c.Site, c.Gateway})
		gi.Conflicts = append(gi.Conflicts, LedgerConflict{Created: c.Created, Seq: c.Seq, Branch: c.Branch, Parent: c.Parent,
			Held: wire.HashHex(c.Held), Hash: wire.HashHex(c.Hash), At: c.At.UTC()})
		gi.Counters.Conflicts++
	}
	for _, gc := range counts {
		at(gatewayID{gc.Site, gc.Gateway}).Counters.add(gc.Counts)
	}
	sortGateways(gl.res)
	return gl.res, nil
}

// gatewayList is a list of gateways by id.
type gatewayList struct {
	res  []GatewayInfo
	byID map[gatewayID]int
}

func newGatewayList(res []GatewayInfo) *gatewayList {
	l := &gatewayList{res: res, byID: make(map[gatewayID]int, len(res))}
	for i := range res {
		l.byID[gatewayID{res[i].Site, res[i].Gateway}] = i
	}
	return l
}

// at returns the gateway id, appending it to the list when it is not
// there. The pointer is valid until the next call.
func (l *gatewayList) at(id gatewayID) *GatewayInfo {
	i, ok := l.byID[id]
	if !ok {
		i = len(l.res)
		l.res = append(l.res, GatewayInfo{Gateway: id.gateway, Site: id.site})
		l.byID[id] = i
	}
	return &l.res[i]
}

// sortGateways orders gateways by site and gateway.
func sortGateways(gs []GatewayInfo) {
	slices.SortFunc(gs, func(a, b GatewayInfo) int {
		return cmp.Or(strings.Compare(a.Site, b.Site), strings.Compare(a.Gateway, b.Gateway))
	})
}

// noteBranch reports a branch that the append of head, which stored
// added movements, created: once, at ERROR, with what an operator needs
// to tell the two histories apart (sync/README.md, "A ledger with two
// histories"). Only the append that stores a branch's first movement
// created it; a later append, or another instance storing the same
// batch, adds after it or nothing.
func (s *Service) noteBranch(head Head, added int) {
	if head.Branch == 0 || added == 0 || head.Seq-uint64(added)+1 != head.Fork {
		return
	}
	args := []any{"site", head.Site, "gateway", head.Gateway, "created", head.Created, "seq", head.Fork,
		"branch", head.Branch, "parent", head.Parent, "stored_to", head.Seq}
	if cs, err := s.store.Conflicts(s.ctx); err == nil {
		for _, c := range cs {
			if c.Gateway == head.Gateway && c.Created == head.Created && c.Branch == head.Branch {
				args = append(args, "held_hash", wire.HashHex(c.Held), "hash", wire.HashHex(c.Hash))
			}
		}
	}
	s.log.Error("ledger conflict: the gateway sent another history of its ledger from movement seq on; both are kept, "+
		"the new one as a branch it now continues (its ledger file restored from a backup and written on, or its key copied)", args...)
}
