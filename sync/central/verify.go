package central

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/record"
)

// errStopRange ends a Range early.
var errStopRange = errors.New("central: stop ranging")

// LedgerHeads groups heads (as Ledgers returns them, ordered by gateway,
// Created and Branch) by ledger, each group ordered by branch.
func LedgerHeads(heads []Head) [][]Head {
	var out [][]Head
	for i, h := range heads {
		if i == 0 || h.Gateway != heads[i-1].Gateway || h.Created != heads[i-1].Created {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], h)
	}
	return out
}

// VerifyBranch checks branch b of a ledger as s holds it, heads being
// every branch of that ledger in order of branch and held (for a branch
// after a conflict) the Hash of movement Fork as its parent holds it:
// its own movements, Fork to its head, each present once and in order,
// well formed (record.Check), linked to the one before in the branch's
// history (movement 1 to the genesis hash of its gateway and ledger),
// the last one's Hash the head's, and a branch's first movement other
// than the one its parent holds. each, when not nil, is called with
// every own movement decoded, in order, for the store's own checks (its
// index). It reads every own movement. The error wraps ErrDamaged for
// what it finds wrong, and names the ledger, branch and movement.
func VerifyBranch(ctx context.Context, s Store, heads []Head, held [HashSize]byte, b int, each func(seq uint64, m *agent.Movement) error) error {
	if b < 0 || b >= len(heads) {
		return fmt.Errorf("%w: branch %d of %d", ErrInvalid, b, len(heads))
	}
	h := heads[b]
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: gateway %s ledger %d branch %d: %s", ErrDamaged, h.Gateway, h.Created, h.Branch, fmt.Sprintf(format, args...))
	}
	if h.Branch != b {
		return bad("branches numbered out of order")
	}
	prev := record.Genesis(h.Gateway, uint64(h.Created))
	if b > 0 {
		// The parent's movements Fork-1 (the link) and Fork (the one
		// the branch differs from).
		var atFork [HashSize]byte
		found := false
		err := s.RangeBranch(ctx, h.Gateway, h.Created, h.Parent, max(h.Fork-1, 1), func(seq uint64, rec []byte) error {
			_, hash, err := record.Check(seq, rec)
			if err != nil {
				return bad("its parent's movement %d: %v", seq, err)
			}
			if seq == h.Fork-1 {
				prev = hash
				return nil
			}
			atFork, found = hash, true
			return errStopRange
		})
		if err != nil && !errors.Is(err, errStopRange) {
			return err
		}
		if !found || atFork != held {
			return bad("the held hash of its conflict is not its parent's movement %d", h.Fork)
		}
	}
	next, first := h.Fork, true
	err := s.RangeBranch(ctx, h.Gateway, h.Created, b, h.Fork, func(seq uint64, rec []byte) error {
		if seq != next {
			return bad("movement %d where %d was expected", seq, next)
		}
		next++
		p, hash, err := record.Check(seq, rec)
		if err != nil {
			return bad("movement %d: %v", seq, err)
		}
		if p != prev {
			return bad("movement %d does not link to the one before", seq)
		}
		if first && b > 0 && bytes.Equal(held[:], hash[:]) {
			return bad("its first movement %d is the one its parent holds", seq)
		}
		first, prev = false, hash
		if each == nil {
			return nil
		}
		m, err := record.Decode(seq, rec)
		if err != nil {
			return bad("movement %d: %v", seq, err)
		}
		return each(seq, &m)
	})
	if err != nil {
		return err
	}
	if next != h.Seq+1 && !(h.Seq < h.Fork && next == h.Fork) {
		return bad("movements %d to %d held, own movements %d to %d", h.Fork, next-1, h.Fork, h.Seq)
	}
	if prev != h.Hash {
		return bad("the last movement's hash is not the head's")
	}
	return nil
}

// Held returns the held hash of every branch's conflict, by ledger and
// branch.
func Held(conflicts []Conflict) map[LedgerBranch][HashSize]byte {
	out := make(map[LedgerBranch][HashSize]byte, len(conflicts))
	for _, c := range conflicts {
		out[LedgerBranch{c.Gateway, c.Created, c.Branch}] = c.Held
	}
	return out
}

// LedgerBranch names one branch of one ledger.
type LedgerBranch struct {
	Gateway string
	Created int64
	Branch  int
}
