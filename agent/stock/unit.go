package stock

import (
	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
)

// unit is an item key's lifecycle.State, kept in the few bytes that
// decide where lifecycle.Apply puts the item next: its status and
// location, whether it was received or commissioned, the same before its
// last movement (which a cancellation restores), and what names its last
// movement and its gateway (which a cancellation must match). Strings are
// interned (Stock.names); id is what the item is.
type unit struct {
	id          *ident
	lastSeq     uint64
	loc, before uint32
	gateway     uint32
	lastGateway uint32
	status      uint8 // index in lifecycle.Statuses
	beforeSt    uint8
	lastKind    uint8 // index in agent.Kinds, or unknownKind
	bits        uint8
}

// Bits of unit.bits.
const (
	bitReceived uint8 = 1 << iota
	bitCommissioned
	bitBeforeReceived
	bitBeforeCommissioned
	bitMoved
	bitManyGateways
	bitTagged // a tag was commissioned to it (kept: see gone)
)

// unknownKind is unit.lastKind for a kind not in agent.Kinds, which no
// cancellation can name (agent.Cancelled reads only known kinds).
const unknownKind = 255

var (
	statusIndex = func() map[lifecycle.Status]uint8 {
		m := make(map[lifecycle.Status]uint8, len(lifecycle.Statuses))
		for i, st := range lifecycle.Statuses {
			m[st] = uint8(i)
		}
		return m
	}()
	kindIndex = func() map[agent.Kind]uint8 {
		m := make(map[agent.Kind]uint8, len(agent.Kinds))
		for i, k := range agent.Kinds {
			m[k] = uint8(i)
		}
		return m
	}()
)

// state returns u as the lifecycle.State of key, as far as Apply reads it.
func (s *Stock) state(key string, u *unit) lifecycle.State {
	st := lifecycle.State{
		Item: key,
		Life: lifecycle.Life{
			Status:       lifecycle.Statuses[u.status],
			Location:     s.names.name(u.loc),
			Received:     u.bits&bitReceived != 0,
			Commissioned: u.bits&bitCommissioned != 0,
		},
		Before: lifecycle.Life{
			Status:       lifecycle.Statuses[u.beforeSt],
			Location:     s.names.name(u.before),
			Received:     u.bits&bitBeforeReceived != 0,
			Commissioned: u.bits&bitBeforeCommissioned != 0,
		},
		LastSeq:      u.lastSeq,
		LastGateway:  s.names.name(u.lastGateway),
		Gateway:      s.names.name(u.gateway),
		ManyGateways: u.bits&bitManyGateways != 0,
	}
	if u.bits&bitMoved != 0 {
		st.Movements = 1
		st.LastKind = agent.Kind("?")
		if u.lastKind != unknownKind {
			st.LastKind = agent.Kinds[u.lastKind]
		}
	}
	return st
}

// record returns st kept as a unit, with no ident.
func (s *Stock) record(st lifecycle.State) unit {
	u := unit{
		lastSeq:     st.LastSeq,
		loc:         s.names.id(st.Location),
		before:      s.names.id(st.Before.Location),
		gateway:     s.names.id(st.Gateway),
		lastGateway: s.names.id(st.LastGateway),
		status:      statusIndex[st.Status],
		beforeSt:    statusIndex[st.Before.Status],
		lastKind:    unknownKind,
	}
	if k, ok := kindIndex[st.LastKind]; ok {
		u.lastKind = k
	}
	u.bits = bit(st.Received, bitReceived) | bit(st.Commissioned, bitCommissioned) |
		bit(st.Before.Received, bitBeforeReceived) | bit(st.Before.Commissioned, bitBeforeCommissioned) |
		bit(st.Movements > 0, bitMoved) | bit(st.ManyGateways, bitManyGateways)
	return u
}

func bit(on bool, b uint8) uint8 {
	if on {
		return b
	}
	return 0
}
