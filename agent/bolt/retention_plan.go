package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/master"
)

// proofRounds bounds how often a plan carries more and proves again
// when the stock from what stays differs from the stock from everything.
const proofRounds = 4

// errStop ends a Range early.
var errStop = errors.New("stop")

// NeedFunc reports whether the gateway's folds still need the movements
// ms, those of one group of item keys (the keys one movement names
// together, a tag and the item it was commissioned to, are one group),
// oldest first, all of them before the cut and acknowledged. A group it
// needs is carried across the cut; one it does not leaves the ledger.
type NeedFunc func(ms []agent.Movement) bool

// Proof folds the movements before a cut twice, all of them and those
// that stay, and says whether the gateway's stock comes out the same
// (agent/bolt/carry's Proof is the gateway's).
type Proof interface {
	// Add folds m, the next movement before the cut, as staying (kept)
	// or leaving.
	Add(m agent.Movement, kept bool)
	// Differ returns "" when the two folds agree, else what differs and
	// where, as {location, product}.
	Differ() (string, [][2]string)
	// Places returns the locations and products m moves, asks for or
	// uses, as {location, product}.
	Places(m agent.Movement) [][2]string
}

// Folds is what a retention cut asks of the gateway's folds of its
// ledger (the stock, every item's lifecycle), which only they can
// answer: agent/bolt/carry has the gateway's, which the agent hands the
// ledger. The zero Folds carries every movement that names an item: only
// rejected reads and context scans leave.
type Folds struct {
	// Needed judges each group of item keys before the cut; nil needs
	// every one.
	Needed NeedFunc
	// Proof returns a new Proof over the master data stored in the
	// ledger; nil proves nothing, and then no movement naming an item
	// leaves but those of groups Needed lets go.
	Proof func(data *master.Data) Proof
}

// cutPlan is what a cut takes out and what it carries.
type cutPlan struct {
	// anchor is the new anchor but for its PrevHash, CarriedDigest and
	// Carried, which the copy fills in.
	anchor Anchor
	// carry lists the movements before anchor.Seq that stay, in order.
	carry []uint64
	// tombstones are the keys whose movements all leave, merged with
	// the file's earlier tombstones of the same keys.
	tombstones map[string]*RetainedKey
	// removedRejects is how many rejected reads leave (the meta count).
	removedRejects uint64
	// removed is how many movements leave.
	removed uint64
}

// planCut decides a cut at sequence number at: every movement before it
// leaves, but those the folds need (folds.Needed, and folds.Proof),
// which are carried. at must be past the current anchor and at most the sync
// cursor. It returns a nil plan, and why, when the stock folded from
// what would stay differs from the stock folded from every movement
// even after carrying more (proofRounds times).
func (l *Ledger) planCut(ctx context.Context, at uint64, reason string, folds Folds, now time.Time) (*cutPlan, string, error) {
	need := folds.Needed
	if need == nil {
		need = func([]agent.Movement) bool { return true }
	}
	old, cut, err := l.Anchor()
	if err != nil {
		return nil, "", err
	}
	first := uint64(1)
	if cut {
		first = old.Seq
	}
	cursor, err := l.SyncCursor()
	if err != nil {
		return nil, "", err
	}
	if at <= first || at > cursor {
		return nil, "", fmt.Errorf("bolt: retention: a cut at movement %d must be after the first movement kept (%d) and at most the centre's acknowledgement (%d)", at, first, cursor)
	}

	// The keys of the movements after the cut: their groups stay whole.
	later := map[string]bool{}
	err = l.Range(at, func(m agent.Movement) error {
		for _, k := range m.TraceKeys() {
			later[k] = true
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, "", err
	}

	// The groups of the movements before it: keys one movement names
	// together are one group.
	g := newGroups()
	type cutMovement struct {
		seq uint64
		key int32 // -1: no key
	}
	var cutMs []cutMovement
	p := &cutPlan{tombstones: map[string]*RetainedKey{}}
	// A replenishment request met before the cut, with the movement
	// recording it, or replaced by a later request, is no one's concern
	// after it: it leaves (with the movement recording it met), even
	// from a group that stays (a request is closed in the stock by what
	// arrived, which may leave), unless it is the last at its location
	// and product and the proof finds them in need of it.
	requests := map[uint64][2]string{}
	lastReq := map[[2]string]uint64{} // the last request of each location and product
	settled := map[uint64]pair{}      // request and met movements, by seq
	err = l.Range(1, func(m agent.Movement) error {
		if m.Seq >= at {
			return errStop
		}
		if folds.Proof == nil {
			// Without a proof every request stays, with the rest.
		} else if _, ok := agent.ReadRequest(m); ok {
			w := [2]string{m.Location, m.Item}
			requests[m.Seq], lastReq[w] = w, m.Seq
		} else if rs, _, ok := agent.ReadMet(m); ok {
			if w, ok := requests[rs]; ok {
				settled[rs], settled[m.Seq] = pair{w, rs}, pair{w, rs}
			}
		}
		keys := m.TraceKeys()
		cm := cutMovement{seq: m.Seq, key: -1}
		for i, k := range keys {
			id := g.id(k)
			if i == 0 {
				cm.key = id
			} else {
				g.union(cm.key, id)
			}
		}
		cutMs = append(cutMs, cm)
		if len(cutMs)%4096 == 0 {
			return ctx.Err()
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, "", err
	}
	// A request followed by another of the same location and product
	// was replaced by it: done too, met or not.
	for rs, w := range requests {
		if rs < lastReq[w] {
			settled[rs] = pair{w, rs}
		}
	}
	members := map[int32][]uint64{} // group root → its movements
	for _, cm := range cutMs {
		if cm.key >= 0 {
			r := g.find(cm.key)
			members[r] = append(members[r], cm.seq)
		}
	}
	open := map[int32]bool{}
	for k, id := range g.ids {
		if later[k] {
			open[g.find(id)] = true
		}
	}
	later = nil
	for r, seqs := range members {
		if open[r] {
			continue
		}
		ms, err := l.getAll(seqs)
		if err != nil {
			return nil, "", err
		}
		if need(ms) {
			open[r] = true
		}
		if err := ctx.Err(); err != nil {
			return nil, "", err
		}
	}

	// Prove that the stock from what stays is the stock from
	// everything. Where it is not, at a location and product, carry
	// what its supply state there is folded from: the last request
	// there before the cut (which starts the request open at the cut and
	// ends the refills owed before it) and every group with a movement
	// there from that request on; and prove again.
	data, _, err := master.Load(l)
	if err != nil {
		data = new(master.Data)
	}
	widened := map[[2]string]bool{}
	stays := func(m agent.Movement) bool {
		keys := m.TraceKeys()
		if len(keys) == 0 || !open[g.find(g.ids[keys[0]])] {
			return false
		}
		sp, ok := settled[m.Seq]
		return !ok || widened[sp.w] && sp.req >= lastReq[sp.w]
	}
	proved := folds.Proof == nil
	var differs string
	for round := 0; round < proofRounds && !proved; round++ {
		proof := folds.Proof(data)
		err := l.Range(1, func(m agent.Movement) error {
			if m.Seq >= at {
				return errStop
			}
			proof.Add(m, stays(m))
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			return nil, "", err
		}
		var places [][2]string
		differs, places = proof.Differ()
		widen := map[[2]string]bool{}
		for _, w := range places {
			widened[w], widen[w] = true, true
		}
		if differs == "" {
			proved = true
			break
		}
		err = l.Range(1, func(m agent.Movement) error {
			if m.Seq >= at {
				return errStop
			}
			keys := m.TraceKeys()
			if len(keys) == 0 {
				return nil
			}
			for _, w := range proof.Places(m) {
				if widen[w] && m.Seq >= lastReq[w] {
					open[g.find(g.ids[keys[0]])] = true
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			return nil, "", err
		}
	}
	if !proved {
		return nil, "the stock folded from what would stay differs from the stock folded from every movement: " + differs, nil
	}

	// What stays and what leaves.
	var removedSeqs []uint64
	for _, cm := range cutMs {
		sp, isPair := settled[cm.seq]
		switch {
		case cm.key >= 0 && open[g.find(cm.key)] && (!isPair || widened[sp.w] && sp.req >= lastReq[sp.w]):
			p.carry = append(p.carry, cm.seq)
		default:
			removedSeqs = append(removedSeqs, cm.seq)
		}
	}
	if err := l.tombstonesFor(removedSeqs, now, p); err != nil {
		return nil, "", err
	}
	p.removed = uint64(len(removedSeqs))
	p.anchor = Anchor{Seq: at, At: now, Reason: reason, Cursor: cursor, Removed: old.Removed + p.removed}
	err = l.view(func(tx *bolt.Tx) error {
		rec, err := recordAt(tx, at-1)
		if err == nil {
			_, hash := recordHashes(rec)
			p.anchor.PrevHash = bytes.Clone(hash)
		}
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("bolt: retention: the hash of movement %d: %w", at-1, err)
	}
	return p, "", nil
}

// getAll returns the movements seqs (in order), read in one transaction.
func (l *Ledger) getAll(seqs []uint64) ([]agent.Movement, error) {
	out := make([]agent.Movement, 0, len(seqs))
	err := l.viewAt(&place{bucket: "movements"}, func(tx *bolt.Tx) error {
		for _, seq := range seqs {
			m, err := getMovement(tx, seq)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	return out, err
}

// tombstonesFor fills p.tombstones and p.removedRejects from the
// movements that leave, merged with the tombstones the file has.
func (l *Ledger) tombstonesFor(seqs []uint64, now time.Time, p *cutPlan) error {
	for chunk := range slices.Chunk(seqs, rangeChunk) {
		ms, err := l.getAll(chunk)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if m.Kind == agent.KindReject {
				p.removedRejects++
			}
			for _, k := range m.TraceKeys() {
				t := p.tombstones[k]
				if t == nil {
					old, ok, err := l.Retained(k)
					if err != nil {
						return err
					}
					if ok {
						t = &old
					} else {
						t = &RetainedKey{Key: k, First: m.Seq, FirstTime: m.Time}
					}
					p.tombstones[k] = t
				}
				t.Movements++
				t.Last, t.LastTime, t.LastKind, t.At = m.Seq, m.Time, m.Kind, now
			}
		}
	}
	return nil
}

// pair names a replenishment request (req) and where it asks (w:
// location, product).
type pair struct {
	w   [2]string
	req uint64
}

// groups is a union-find over item keys.
type groups struct {
	ids    map[string]int32
	parent []int32
}

func newGroups() *groups { return &groups{ids: map[string]int32{}} }

func (g *groups) id(k string) int32 {
	if id, ok := g.ids[k]; ok {
		return id
	}
	id := int32(len(g.parent))
	g.ids[k] = id
	g.parent = append(g.parent, id)
	return id
}

func (g *groups) find(x int32) int32 {
	for g.parent[x] != x {
		g.parent[x] = g.parent[g.parent[x]]
		x = g.parent[x]
	}
	return x
}

func (g *groups) union(a, b int32) {
	if ra, rb := g.find(a), g.find(b); ra != rb {
		g.parent[rb] = ra
	}
}
