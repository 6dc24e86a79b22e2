package stock

import (
	"hash/maphash"
	"strings"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
)

// HistoryFunc reads an item key's movements from the ledger, oldest
// first: those recorded under the key itself (agent/bolt's Ledger.Trace
// is one). Movements after the one being folded may be among them; the
// stock leaves those out.
type HistoryFunc func(key string) ([]agent.Movement, error)

// SetHistory lets the stock forget the items that are gone for good
// (used, wasted or disposed of, and bound to no tag) once 65,536 more
// went after them: their state is no longer kept in memory, only their
// key's mark in a filter of about two bytes a key, and the rare movement of
// such an item again (a late cancellation of its use, a second use) reads
// its history through fn to fold it exactly as if it had been kept. The
// stock's memory then follows what is on hand, not every item ever seen.
// Without it every item's state stays in memory. Call it before the
// first Apply.
func (s *Stock) SetHistory(fn HistoryFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.history = fn
}

// Reloads returns how many times a forgotten item's state was read back
// from the ledger, and how many of those reads failed (the item then
// folded as one never seen).
func (s *Stock) Reloads() (reads, failed int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.reloads, s.reloadErrs
}

// gone reports whether u's item is gone for good and may be forgotten.
func gone(u *unit) bool {
	if u.bits&bitTagged != 0 {
		return false // a tag's reads name the item: its alias must lead somewhere
	}
	switch lifecycle.Statuses[u.status] {
	case lifecycle.StatusUsed, lifecycle.StatusWasted, lifecycle.StatusDisposed:
		return true
	}
	return false
}

// defaultKeepGone is how many items gone for good the stock still keeps,
// the most recently gone: a use is cancelled, or an item scanned again,
// soon after it went if ever, and reading it back costs a trace.
const defaultKeepGone = 1 << 16

// goneItem is an item that went for good, with the movement that took
// it: it is forgotten once keepGone items went after it, unless it moved
// again meanwhile (Stock.keepGone, defaultKeepGone but in tests).
type goneItem struct {
	key string
	seq uint64
}

// forget notes that key's item went for good, when it did and the stock
// can read it back, and forgets the items that went s.keepGone items
// before it.
func (s *Stock) forget(key string) {
	if s.history == nil {
		return
	}
	u := s.units[key]
	if u == nil || !gone(u) {
		return
	}
	s.gone = append(s.gone, goneItem{strings.Clone(key), u.lastSeq})
	if len(s.gone) < 2*s.keepGone {
		return
	}
	// Forget the older half at once, so that the queue is copied once
	// every keepGone items.
	for _, g := range s.gone[:len(s.gone)-s.keepGone] {
		if u := s.units[g.key]; u != nil && gone(u) && u.lastSeq == g.seq {
			delete(s.units, g.key)
			s.forgotten.add(g.key)
		}
	}
	s.gone = append(s.gone[:0], s.gone[len(s.gone)-s.keepGone:]...)
}

// recall returns the state of key, which the stock forgot, as the fold of
// its movements before seq (all of them when seq is 0), kept again; nil
// when the ledger holds none (the filter's false alarm) or cannot be read.
func (s *Stock) recall(key string, seq uint64) *unit {
	if s.history == nil || !s.forgotten.has(key) {
		return nil
	}
	s.reloads++
	ms, err := s.history(key)
	if err != nil {
		s.reloadErrs++
		return nil
	}
	var u *unit
	for _, m := range ms {
		if seq != 0 && m.Seq >= seq {
			break
		}
		if m.Item != key || !m.Kind.MovesItem() || m.Decision == agent.DecisionBlocked {
			continue // as apply skips them
		}
		if u == nil {
			u = new(unit)
		}
		s.step(key, u, m)
	}
	if u != nil && u.id != nil {
		s.units[strings.Clone(key)] = u
		return u
	}
	return nil
}

// keySet is a set of keys that may answer yes for a key never added (a
// Bloom filter), never no for one added: a series of filters, each twice
// the capacity of the one before and a little stricter, so that it
// grows with the keys and its false alarms stay under 0.5 % in all (each
// costs a trace of the ledger that finds nothing).
type keySet struct {
	seed  maphash.Seed
	parts []bloom
}

type bloom struct {
	bits       []uint64
	k, n, room int
}

const firstRoom = 1 << 14

func (ks *keySet) add(key string) {
	if len(ks.parts) == 0 {
		ks.seed = maphash.MakeSeed()
	}
	if len(ks.parts) == 0 || ks.parts[len(ks.parts)-1].n >= ks.parts[len(ks.parts)-1].room {
		i := len(ks.parts)
		room := firstRoom << i
		perKey := 14 + i // bits a key: about 0.2 % of false alarms, each part 0.6 times the one before
		ks.parts = append(ks.parts, bloom{bits: make([]uint64, (room*perKey+63)/64), k: perKey * 7 / 10, room: room})
	}
	p := &ks.parts[len(ks.parts)-1]
	h1, h2 := ks.hash(key)
	m := uint64(len(p.bits) * 64)
	for i := range p.k {
		b := (h1 + uint64(i)*h2) % m
		p.bits[b/64] |= 1 << (b % 64)
	}
	p.n++
}

func (ks *keySet) has(key string) bool {
	if len(ks.parts) == 0 {
		return false
	}
	h1, h2 := ks.hash(key)
	for pi := range ks.parts {
		p := &ks.parts[pi]
		m := uint64(len(p.bits) * 64)
		in := true
		for i := range p.k {
			b := (h1 + uint64(i)*h2) % m
			if p.bits[b/64]&(1<<(b%64)) == 0 {
				in = false
				break
			}
		}
		if in {
			return true
		}
	}
	return false
}

func (ks *keySet) hash(key string) (h1, h2 uint64) {
	h := maphash.String(ks.seed, key)
	return h & 0xffffffff, h>>32 | 1
}
