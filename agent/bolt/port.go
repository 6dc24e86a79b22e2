package bolt

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/master"
)

// Health returns what the ledger knows of its own state (the core's
// status, udi-edge status).
func (l *Ledger) Health() agent.LedgerHealth {
	h := agent.LedgerHealth{IndexDamaged: l.Stats().IndexDamaged}
	if g := l.gone.Load(); g != nil {
		h.Failed = g.Error()
	}
	if l.refused != nil {
		h.Failed = "the ledger is damaged and recorded nothing since it was opened (" + l.refused.Error() + ")"
	}
	if loss := l.Loss(); loss != nil {
		h.Lost = loss.Error()
		if loss.Recorded > 0 {
			h.Lost += fmt.Sprintf(" (recorded as movement %d)", loss.Recorded)
		}
	}
	if h.Failed == "" {
		if a, ok, err := l.Anchor(); err == nil && ok {
			h.FirstSeq, h.RetainedAt = a.Seq, a.At.UTC().Format(time.RFC3339)
		}
		if b, err := l.Budget(); err == nil {
			h.Bytes, h.MaxBytes, h.NearBudget, h.OverBudget = b.Size, b.MaxBytes, b.Warn, b.Over
		}
	}
	return h
}

// VerifyReport runs VerifyAll and says what it found as the domain's
// report: intact, or the first broken movement and every structural
// problem. Its error says only that the check could not run (ctx ended,
// the ledger is closed).
func (l *Ledger) VerifyReport(ctx context.Context) (agent.VerifyReport, error) {
	res := agent.VerifyReport{Store: l.path, Gateway: l.Gateway(), LastSeq: l.LastSeq()}
	sum, verr := l.VerifyAll(ctx)
	if verr != nil && ctx.Err() != nil {
		return res, ctx.Err()
	}
	if errors.Is(verr, ErrClosed) {
		return res, verr
	}
	for _, e := range splitErrors(verr) {
		var ce *ChainError
		switch {
		case errors.As(e, &ce) && res.Broken == nil:
			res.Broken = &agent.BrokenMovement{Seq: ce.Seq, Kind: ce.Kind, Reason: ce.Reason}
		default:
			res.Problems = append(res.Problems, e.Error())
		}
	}
	if res.Broken == nil && sum.LastHash != nil {
		res.Movements = sum.Movements
		res.LastHash = hex.EncodeToString(sum.LastHash)
		res.Genesis = hex.EncodeToString(sum.Genesis)
	}
	for _, e := range l.VerifyMaster() {
		res.Problems = append(res.Problems, e.Error())
	}
	res.Warnings = sum.Warnings
	if sum.Anchor != nil {
		res.Warnings = append(res.Warnings, sum.Anchor.describe())
	}
	res.Intact = res.Broken == nil && len(res.Problems) == 0
	return res, nil
}

// splitErrors returns the errors joined in err, or err alone.
func splitErrors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// LoadMaster returns the master data stored in the ledger file, empty
// when none was ever stored, and the sets found damaged (left out: the
// checks that need them run as with no such data).
//
// Master data whose pages are damaged as a whole (bbolt cannot read the
// bucket) are left out the same way: every set is reported damaged, and
// the gateway runs as with none until they are imported again.
func (l *Ledger) LoadMaster() (*master.Data, []string, error) {
	d, damaged, err := master.Load(l)
	if errors.Is(err, ErrCorrupt) {
		l.log.Error("master data unreadable: running as with none; import every set again", "err", err)
		return new(master.Data), append([]string(nil), master.SetNames...), nil
	}
	return d, damaged, err
}

// SaveMaster durably stores the named sets of d (every set when none is
// named), each as a value of its own under its own checksum.
func (l *Ledger) SaveMaster(d *master.Data, sets ...string) error { return master.Save(l, d, sets...) }
