package central

import (
	"errors"
	"fmt"
	"slices"

	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// checkBatch checks the records of batch b as sync/PROTOCOL.md asks:
// every record on its own (record.Check), its gateway, PrevHash equal to
// the Hash of the movement before it in the batch, movement 1's to the
// genesis hash, and, when prev is not nil, the first record's PrevHash
// equal to *prev (the batch continues a group of batches checked before
// it). It returns the records that passed, in order from b.First, and a
// *CheckError for the first one that did not (the records after it are
// not looked at). How the batch meets what is held (a gap, an overlap, a
// conflict, the link to the head) is for Store.Append to decide, in its
// transaction: another instance of the service may have moved the head
// since it was read, and the batch may continue another branch than the
// current one.
func checkBatch(b *wire.Batch, prev *[HashSize]byte) ([]Stored, *CheckError) {
	genesis := record.Genesis(b.Gateway, uint64(b.Created))
	out := make([]Stored, 0, len(b.Records))
	for i, rec := range b.Records {
		seq := b.First + uint64(i)
		p, hash, err := record.Check(seq, rec)
		if err != nil {
			return out, checkErr(ErrRecord, b.Gateway, b.Created, seq, err, "movement %d: %v", seq, err)
		}
		var want *[HashSize]byte
		switch {
		case seq == 1:
			want = &genesis
		case i > 0:
			want = &out[i-1].Hash
		default:
			want = prev
		}
		if want != nil && p != *want {
			return out, ChainErr(b.Gateway, b.Created, seq).(*CheckError)
		}
		m, err := record.Decode(seq, rec)
		if err != nil {
			return out, checkErr(ErrRecord, b.Gateway, b.Created, seq, err, "movement %d: %v", seq, err)
		}
		if m.Gateway != b.Gateway {
			return out, checkErr(ErrRecord, b.Gateway, b.Created, seq, nil, "movement %d was recorded by gateway %q", seq, m.Gateway)
		}
		out = append(out, NewStored(seq, p, hash, &m, rec))
	}
	return out, nil
}

// CheckBatch checks b as the service checks a batch it receives (see
// checkBatch: every record well formed, hashed, linked, of b's gateway)
// and returns its records as a Store takes them, for tools that fill a
// store without the service (a lab, a migration).
func CheckBatch(b *wire.Batch) ([]Stored, error) {
	out, cerr := checkBatch(b, nil)
	if cerr != nil {
		return nil, cerr
	}
	return out, nil
}

// Placement is where Append stores a batch of movements (PlaceAppend).
type Placement struct {
	// Branch is the branch the movements go on: an existing one, or, when
	// New, the number of the branch to create.
	Branch int
	// Fresh is the index in recs of the first movement to store;
	// len(recs) when every one is held already.
	Fresh int
	// New says that recs[Fresh:] are a new branch, forked from Parent at
	// recs[Fresh].Seq, where Parent holds a movement whose Hash is Held.
	New    bool
	Parent int
	Held   [HashSize]byte
}

// OwnHashes reads, for PlaceAppend, the Hashes of the own movements from
// to to (from <= to) of branch: movements it holds itself, Fork <= from,
// to <= Seq. It returns them in order, or an error for one it lacks.
type OwnHashes func(branch int, from, to uint64) ([][HashSize]byte, error)

// PlaceAppend applies the rules of Store.Append to recs, for a Store
// implementation, in its appending transaction: heads are the heads of
// every branch of the ledger, heads[b].Branch == b (an EmptyHead alone
// for a ledger the store holds nothing of), own reads hashes of held
// movements, and maxBranches bounds the branches (MaxBranches; 1 keeps a
// single history and refuses every conflict).
//
// The branches are tried from the current (highest) one down; the first
// whose history recs continue (every movement recs hold in common with it
// has the same Hash, recs[0] links to its movement recs[0].Seq-1 or the
// genesis hash, and nothing is left between its head and recs) takes them:
// Placement.Fresh tells which are new. When none does, recs that link to a
// branch's history and differ from it from some movement on fork a new
// branch there (the longest common history wins; the parent is the branch
// that holds the movement before the fork). Otherwise the error is the
// current branch's (see Store.Append). The caller stores recs[Fresh:] on
// the branch and its new head (recs[len(recs)-1]'s Seq and Hash), and for
// a new branch its record (Conflict), in the same transaction.
func PlaceAppend(heads []Head, site string, recs []Stored, own OwnHashes, maxBranches int) (Placement, error) {
	if len(recs) == 0 {
		return Placement{}, fmt.Errorf("%w: no movements to append", ErrInvalid)
	}
	first := recs[0].Seq
	if first == 0 {
		return Placement{}, fmt.Errorf("%w: sequence numbers start at 1", ErrInvalid)
	}
	for i := 1; i < len(recs); i++ {
		if recs[i].Seq != first+uint64(i) {
			return Placement{}, fmt.Errorf("%w: movement %d follows %d", ErrInvalid, recs[i].Seq, recs[i-1].Seq)
		}
	}
	if len(heads) == 0 {
		return Placement{}, fmt.Errorf("%w: no head of the ledger", ErrInvalid)
	}
	trunk := heads[0]
	if trunk.Site != "" && trunk.Site != site {
		return Placement{}, SiteErr(trunk.Gateway, trunk.Created, site, trunk.Site)
	}
	for i := 1; i < len(recs); i++ {
		if recs[i].PrevHash != recs[i-1].Hash {
			return Placement{}, ChainErr(trunk.Gateway, trunk.Created, recs[i].Seq)
		}
	}
	v := view{heads: heads, own: own}
	var (
		firstErr  error
		forkAt    = -1 // index in recs of the best fork, -1 for none
		forkFrom  int
		forkFresh int
	)
	for b := len(heads) - 1; b >= 0; b-- {
		fresh, diverge, err := v.place(b, recs)
		switch {
		case err != nil && !isCheck(err):
			return Placement{}, err
		case err == nil && diverge < 0:
			return Placement{Branch: b, Fresh: fresh}, nil
		case err == nil && diverge > forkAt:
			forkAt, forkFrom, forkFresh = diverge, b, diverge
		case err != nil && firstErr == nil:
			firstErr = err
		}
	}
	if forkAt < 0 || len(heads) >= maxBranches {
		if forkAt >= 0 {
			return Placement{}, ConflictErr(trunk.Gateway, trunk.Created, recs[forkAt].Seq)
		}
		return Placement{}, firstErr
	}
	// The parent is the branch that holds movement seq-1 itself: a
	// branch forked at or after seq shares nothing of its own.
	seq, parent := recs[forkAt].Seq, forkFrom
	for parent != 0 && seq <= heads[parent].Fork {
		parent = heads[parent].Parent
	}
	held, err := v.hashes(parent, seq, seq)
	if err != nil {
		return Placement{}, err
	}
	return Placement{Branch: len(heads), Fresh: forkFresh, New: true, Parent: parent, Held: held[0]}, nil
}

// isCheck reports whether err is a refusal (a *CheckError).
func isCheck(err error) bool {
	var ce *CheckError
	return errors.As(err, &ce)
}

// view reads the histories of a ledger's branches for PlaceAppend.
type view struct {
	heads []Head
	own   OwnHashes
}

// hashes returns the Hashes of movements from to to (1 <= from <= to <=
// Seq) of branch b's history, each part read from the branch that holds
// it.
func (v view) hashes(b int, from, to uint64) ([][HashSize]byte, error) {
	out := make([][HashSize]byte, 0, to-from+1)
	for _, sg := range History(v.heads, b, from, to) {
		part, err := v.own(sg.Branch, sg.From, sg.To)
		if err != nil {
			return nil, err
		}
		if len(part) != int(sg.To-sg.From+1) {
			h := v.heads[sg.Branch]
			return nil, fmt.Errorf("central: gateway %s ledger %d branch %d: %d hashes read of movements %d to %d", h.Gateway, h.Created, sg.Branch, len(part), sg.From, sg.To)
		}
		out = append(out, part...)
	}
	if len(out) != int(to-from+1) {
		h := v.heads[b]
		return nil, fmt.Errorf("central: gateway %s ledger %d branch %d: its branches hold %d of movements %d to %d", h.Gateway, h.Created, b, len(out), from, to)
	}
	return out, nil
}

// Segment is a run of consecutive movements of a branch's history that
// one branch holds itself.
type Segment struct {
	Branch   int
	From, To uint64
}

// History returns where movements from to to (to <= heads[b].Seq) of the
// history of branch b are held, in order: the parts its ancestors hold,
// then its own. heads are every branch's heads, heads[i].Branch == i. A
// Store reads a branch's history (RangeBranch) from them.
func History(heads []Head, b int, from, to uint64) []Segment {
	from = max(from, 1)
	var out []Segment
	for b >= 0 && b < len(heads) {
		h := heads[b]
		lo := from
		if b != 0 {
			lo = max(from, h.Fork)
		}
		if lo <= to {
			out = append(out, Segment{Branch: b, From: lo, To: to})
			to = lo - 1
		}
		if to < from || b == 0 || h.Parent >= b {
			break
		}
		b = h.Parent
	}
	slices.Reverse(out)
	return out
}

// place tries recs on branch b. With err nil, either recs continue its
// history (diverge -1; recs[fresh:] are new) or they link to it and
// differ from it from recs[diverge] on.
func (v view) place(b int, recs []Stored) (fresh, diverge int, err error) {
	h := v.heads[b]
	first, last := recs[0].Seq, recs[len(recs)-1].Seq
	if first > h.Seq+1 {
		return 0, 0, GapErr(h.Gateway, h.Created, first, h.Seq+1)
	}
	// prev is the Hash recs[0] must link to; held the Hashes of the
	// movements recs hold in common with the branch. One read for both.
	prev, held := h.Hash, [][HashSize]byte(nil)
	if first <= h.Seq {
		hs, err := v.hashes(b, max(first-1, 1), min(last, h.Seq))
		if err != nil {
			return 0, 0, err
		}
		if first == 1 {
			prev, held = record.Genesis(h.Gateway, uint64(h.Created)), hs
		} else {
			prev, held = hs[0], hs[1:]
		}
	}
	if recs[0].PrevHash != prev {
		if first <= h.Seq {
			return 0, 0, ConflictErr(h.Gateway, h.Created, first)
		}
		return 0, 0, ChainErr(h.Gateway, h.Created, first)
	}
	for i, hash := range held {
		if recs[i].Hash != hash {
			return 0, i, nil
		}
	}
	return len(held), -1, nil
}

// CheckAppend applies the rules of Store.Append to recs for a store that
// keeps a single history of each ledger (every conflict refused): head is
// the ledger's head read in the appending transaction, held returns the
// Hash of a held movement (seq <= head.Seq). It returns the index in recs
// of the first movement to store (len(recs) when every one is held
// already), or the error Append must return.
func CheckAppend(head Head, site string, recs []Stored, held func(seq uint64) ([HashSize]byte, error)) (fresh int, err error) {
	head.Branch, head.Fork = 0, 1
	p, err := PlaceAppend([]Head{head}, site, recs, func(_ int, from, to uint64) ([][HashSize]byte, error) {
		out := make([][HashSize]byte, 0, to-from+1)
		for seq := from; seq <= to; seq++ {
			h, err := held(seq)
			if err != nil {
				return nil, err
			}
			out = append(out, h)
		}
		return out, nil
	}, 1)
	return p.Fresh, err
}
