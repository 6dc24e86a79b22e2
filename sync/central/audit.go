package central

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/audit"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/agent/record"
)

// SiteAnomalies returns what an auditor should look at across every
// gateway of site: one item's movements on all of them read as one life
// (agent/audit over the movements of every ledger of the site, merged by
// time): the same unique code used on two gateways is used twice; an item
// received at the warehouse's gateway and used at an OR's is received. A
// gateway's own `udi-edge anomalies` sees only its own movements.
//
// data are the master data the findings are checked against (recalls,
// settlements); nil checks none. now and linkWithin are the Auditor's.
//
// A ledger with two histories (a Conflict) is read whole: both histories'
// movements, each once, and a finding of kind FindingLedgerConflict per
// conflict, first: which movements really happened is for the auditor to
// settle, with the gateway's operator (sync/README.md).
func SiteAnomalies(ctx context.Context, st Store, site string, data *master.Data, now time.Time, linkWithin time.Duration) ([]audit.Finding, error) {
	if data == nil {
		data = new(master.Data)
	}
	a := &audit.Auditor{Data: data, Now: now, LinkWithin: linkWithin}
	if err := siteMovements(ctx, st, site, func(m agent.Movement) { a.Add(m) }); err != nil {
		return nil, err
	}
	conflicts, err := st.Conflicts(ctx)
	if err != nil {
		return nil, err
	}
	var out []audit.Finding
	for _, c := range conflicts {
		if c.Site != site {
			continue
		}
		out = append(out, audit.Finding{
			Kind:    FindingLedgerConflict,
			Gateway: c.Gateway,
			Seq:     c.Seq,
			Text: fmt.Sprintf("gateway %s sent two histories of its ledger %d from movement %d on (held %s, then %s, kept as branch %d): "+
				"its ledger file was restored from a backup and written on, or its key copied; movements of both are counted here",
				c.Gateway, c.Created, c.Seq, shortHash(c.Held), shortHash(c.Hash), c.Branch),
		})
	}
	return append(out, a.Anomalies()...), nil
}

// FindingLedgerConflict is the kind of the finding SiteAnomalies reports
// for two histories of one gateway's ledger (a Conflict).
const FindingLedgerConflict = "ledger-conflict"

// shortHash is the first 8 bytes of a hash in hex, as findings show it.
func shortHash(h [HashSize]byte) string { return fmt.Sprintf("%x", h[:8]) }

// siteMovements calls fn with every movement of every ledger of site,
// merged by time (each ledger's in sequence order: a gateway's clock may
// step back, its sequence numbers do not; ties go to the ledger that sorts
// first by gateway and creation). A ledger's branches are read each from
// its fork on: a movement two histories share is read once.
func siteMovements(ctx context.Context, st Store, site string, fn func(agent.Movement)) error {
	heads, err := st.Ledgers(ctx)
	if err != nil {
		return err
	}
	type cursor struct {
		head Head
		m    agent.Movement
		next func() (agent.Movement, error, bool)
		stop func()
	}
	var open []*cursor
	defer func() {
		for _, c := range open {
			c.stop()
		}
	}()
	for _, h := range heads {
		if h.Site != site || h.Seq == 0 {
			continue
		}
		next, stop := iter.Pull2(branchMovements(ctx, st, h))
		c := &cursor{head: h, next: next, stop: stop}
		open = append(open, c)
	}
	// Advance every cursor once, then always the one with the earliest
	// movement.
	live := open[:0:0]
	for _, c := range open {
		m, err, ok := c.next()
		if err != nil {
			return err
		}
		if ok {
			c.m = m
			live = append(live, c)
		}
	}
	for len(live) > 0 {
		best := 0
		for i, c := range live[1:] {
			b := live[best]
			if c.m.Time.Before(b.m.Time) || c.m.Time.Equal(b.m.Time) &&
				cmp.Or(cmp.Compare(c.head.Gateway, b.head.Gateway), cmp.Compare(c.head.Created, b.head.Created), cmp.Compare(c.head.Branch, b.head.Branch)) < 0 {
				best = i + 1
			}
		}
		c := live[best]
		fn(c.m)
		m, err, ok := c.next()
		if err != nil {
			return err
		}
		if !ok {
			live = append(live[:best], live[best+1:]...)
			continue
		}
		c.m = m
	}
	return nil
}

// branchMovements yields the own movements of one branch of a ledger
// (Fork to Seq), decoded, in order.
func branchMovements(ctx context.Context, st Store, h Head) iter.Seq2[agent.Movement, error] {
	return func(yield func(agent.Movement, error) bool) {
		stopped := errStopped
		err := st.RangeBranch(ctx, h.Gateway, h.Created, h.Branch, max(h.Fork, 1), func(seq uint64, rec []byte) error {
			m, err := record.Decode(seq, rec)
			if err != nil {
				return fmt.Errorf("central: ledger %s/%d movement %d: %w", h.Gateway, h.Created, seq, err)
			}
			if !yield(m, nil) {
				return stopped
			}
			return nil
		})
		if err != nil && err != stopped {
			yield(agent.Movement{}, err)
		}
	}
}

// errStopped ends a Range whose reader stopped early.
var errStopped = fmt.Errorf("central: stopped")
