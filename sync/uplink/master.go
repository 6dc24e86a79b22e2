package uplink

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/udi-edge/udi-edge/sync/wire"
)

// masterBox is the master data on its way from the subscription's handler
// to the goroutine that applies it: the parts being reassembled (at most
// one version per set), the sets complete and waiting, and the versions
// held, waiting or being applied, so that nothing older or already there
// is reassembled again.
type masterBox struct {
	signal chan struct{} // holds a token while pending is not empty

	mu      sync.Mutex
	parts   wire.MasterAssembler
	pending map[string]*wire.MasterSet // complete, not yet applied
	busy    map[string]uint64          // the version waiting or being applied
	applied map[string]uint64          // applied since start, without Config.Held
	warned  map[string][]uint64        // the versions last refused with a warning, newest last
}

// maxWarned is how many refused versions of a set are remembered, so
// that each is warned about once.
const maxWarned = 8

func (b *masterBox) init() {
	b.signal = make(chan struct{}, 1)
	b.pending = make(map[string]*wire.MasterSet)
	b.busy = make(map[string]uint64)
	b.applied = make(map[string]uint64)
	b.warned = make(map[string][]uint64)
}

// take returns the sets waiting, by name.
func (b *masterBox) take() []*wire.MasterSet {
	b.mu.Lock()
	defer b.mu.Unlock()
	sets := make([]*wire.MasterSet, 0, len(b.pending))
	for _, s := range b.pending {
		sets = append(sets, s)
	}
	clear(b.pending)
	slices.SortFunc(sets, func(x, y *wire.MasterSet) int {
		switch {
		case x.Set < y.Set:
			return -1
		case x.Set > y.Set:
			return 1
		}
		return 0
	})
	return sets
}

// held returns the version of set the gateway holds (Config.Held, else
// what was applied since start). Call with b.mu held.
func (u *Uplink) held(set string) uint64 {
	if u.cfg.Held != nil {
		return u.cfg.Held(set)
	}
	return u.masters.applied[set]
}

// onMaster is the master data subscription's handler. It decodes a part
// (or a set of the single-message format), keeps it when its version is
// newer than what the gateway holds, waits for or is applying, and not
// more than wire.MaxMasterAhead ahead of the gateway's clock, and hands a
// set to the applying goroutine once it is complete and verified. It
// never blocks for long.
func (u *Uplink) onMaster(topic string, p []byte) {
	site, set, index, err := wire.ParseMasterTopic(topic)
	if err != nil || site != u.cfg.Site {
		u.log.Warn("uplink: master data on an unexpected topic ignored", "topic", topic)
		return
	}
	if len(p) == 0 {
		return // a cleared retained message
	}
	var (
		part  *wire.MasterPart
		whole *wire.MasterSet
	)
	if index < 0 && u.cfg.CentreKey != nil {
		// The single-message format carries no signature.
		u.log.Warn("uplink: master data refused: unsigned (the single-message format), and the centre's key is pinned", "set", set)
		u.update(func(s *Stats) { s.Refused++ })
		return
	}
	if index < 0 {
		m, err := wire.DecodeMaster(p)
		if err != nil {
			u.log.Warn("uplink: master data rejected", "set", set, "err", err)
			return
		}
		whole = &wire.MasterSet{Set: m.Set, Format: m.Format, Version: m.Version, Data: []byte(m.Data)}
		if m.Set != set {
			u.log.Warn("uplink: master data rejected: set differs from its topic", "set", set, "payload_set", m.Set)
			return
		}
	} else {
		part, err = wire.DecodeMasterPart(p)
		if err != nil {
			u.log.Warn("uplink: master data part rejected", "set", set, "part", index, "err", err)
			return
		}
		if part.Set != set || part.Index != index {
			u.log.Warn("uplink: master data part rejected: set or part differs from its topic", "set", set, "part", index,
				"payload_set", part.Set, "payload_part", part.Index)
			return
		}
		if u.cfg.CentreKey != nil {
			// Before anything is kept or allocated for the set: a forged
			// header must cost nothing.
			if err := part.Verify(u.cfg.Site, u.cfg.CentreKey); err != nil {
				u.log.Warn("uplink: master data part refused", "set", set, "part", index, "version", part.Version, "err", err)
				u.update(func(s *Stats) { s.Refused++ })
				return
			}
		}
	}
	var version uint64
	if part != nil {
		version = part.Version
	} else {
		version = whole.Version
	}
	b := &u.masters
	b.mu.Lock()
	defer b.mu.Unlock()
	if !u.wanted(set, version) {
		return
	}
	if part != nil {
		whole, err = b.parts.Add(part)
		switch {
		case errors.Is(err, wire.ErrSuperseded):
			u.log.Debug("uplink: master data part of an older version dropped", "set", set, "version", version, "err", err)
			return
		case err != nil:
			u.log.Warn("uplink: master data rejected", "set", set, "version", version, "err", err)
			return
		case whole == nil:
			return
		}
	}
	b.pending[set] = whole
	b.busy[set] = whole.Version
	select {
	case b.signal <- struct{}{}:
	default:
	}
}

// wanted reports whether version of set is to be reassembled and applied:
// newer than the version held, waiting or being applied, and not more
// than wire.MaxMasterAhead ahead of the clock. A version held that is
// itself so far ahead counts as none: it was forged, or applied before
// the rule, and would block every real version. Refusals of a version
// ahead of the clock or older than the one held are logged at WARN, once
// per version. Call with u.masters.mu held.
func (u *Uplink) wanted(set string, version uint64) bool {
	b := &u.masters
	now := u.clock.Now()
	held := u.held(set)
	heldAhead := held > 0 && wire.VersionAhead(held, now)
	warn := func(msg string) {
		if w := b.warned[set]; !slices.Contains(w, version) {
			// Remembered a few at a time: the retained parts of two old
			// versions, interleaved, warn once each, not at every part.
			if len(w) == maxWarned {
				w = w[1:]
			}
			b.warned[set] = append(w, version)
			u.log.Warn(msg, "set", set, "version", version, "held", held, "clock_ms", now.UnixMilli())
		}
	}
	switch {
	case wire.VersionAhead(version, now):
		warn("uplink: master data refused: its version is more than a day ahead of this gateway's clock (a version is the publication time in milliseconds; is the clock right?)")
		return false
	case version < held && !heldAhead:
		warn("uplink: master data refused: older than the version held")
		return false
	case version == held && !heldAhead:
		return false // the version held, retained, again
	case version <= b.busy[set]:
		return false // waiting or being applied
	}
	if heldAhead {
		warn("uplink: master data version held is more than a day ahead of this gateway's clock: replacing it")
	}
	return true
}

// applyMasters applies the complete sets as they come, until ctx ends.
func (u *Uplink) applyMasters(ctx context.Context) {
	b := &u.masters
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.signal:
		}
		sets := b.take()
		for i, s := range sets {
			if ctx.Err() != nil {
				return
			}
			// Nothing here holds the data during Apply, so that the
			// garbage collector may take them as soon as Apply has read
			// them.
			sets[i] = nil
			set, format, version, data := s.Set, s.Format, s.Version, s.Data
			s.Data = nil
			size := len(data)
			err := u.cfg.Apply(set, format, data, version)
			b.mu.Lock()
			if b.busy[set] == version {
				delete(b.busy, set)
			}
			if err == nil {
				b.applied[set] = version
			}
			b.mu.Unlock()
			if err != nil {
				u.log.Warn("uplink: master data not applied", "set", set, "version", version, "err", err)
				continue
			}
			u.log.Info("uplink: master data applied", "set", set, "version", version, "bytes", size)
		}
	}
}
