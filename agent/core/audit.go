package core

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/audit"
	"github.com/udi-edge/udi-edge/agent/epcis"
)

// DefaultLinkWithin is how long an item taken from a cabinet may stay
// unlinked before Anomalies reports it, when the caller says nothing.
const DefaultLinkWithin = audit.DefaultLinkWithin

// Verify checks the ledger's hash chain and structure, and the master
// data stored beside it.
func (g *Gateway) Verify(ctx context.Context) (agent.VerifyReport, error) {
	return g.store.VerifyReport(ctx)
}

// auditor feeds every movement of the ledger, in order, to an auditor
// over the master data held, and to each of also, checking ctx between
// movements.
func (g *Gateway) auditor(ctx context.Context, linkWithin time.Duration, also ...func(agent.Movement)) (*audit.Auditor, error) {
	a := &audit.Auditor{Data: g.master.Load(), Now: g.cfg.Now(), LinkWithin: linkWithin}
	n := 0
	err := g.store.Range(1, func(m agent.Movement) error {
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		a.Add(m)
		for _, fn := range also {
			fn(m)
		}
		return nil
	})
	return a, err
}

// Anomalies returns what an auditor should look at (see agent/audit):
// items used twice, after expiry or from a recalled lot, never received,
// billed but never scanned, taken from a cabinet and not linked within
// linkWithin (DefaultLinkWithin when 0).
func (g *Gateway) Anomalies(ctx context.Context, linkWithin time.Duration) ([]audit.Finding, error) {
	if linkWithin == 0 {
		linkWithin = DefaultLinkWithin
	}
	a, err := g.auditor(ctx, linkWithin)
	if err != nil {
		return nil, err
	}
	return a.Anomalies(), nil
}

// Reconcile returns what differs between the uses and the settlement
// records held.
func (g *Gateway) Reconcile(ctx context.Context) ([]audit.Finding, error) {
	a, err := g.auditor(ctx, 0)
	if err != nil {
		return nil, err
	}
	return a.Reconcile(), nil
}

// ExportOptions choose what an EPCIS export holds.
type ExportOptions struct {
	// From is the first sequence number exported (1 when 0).
	From uint64
	// IncludePatient and IncludeActor add personal data (see agent/epcis).
	IncludePatient bool
	IncludeActor   bool
}

// ExportEPCIS writes the movements from opt.From on as one EPCIS 2.0
// document to w, and counts the events written and the movements that
// have none.
func (g *Gateway) ExportEPCIS(ctx context.Context, w io.Writer, opt ExportOptions) (written, skipped int, err error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := epcis.NewEncoder(bw, epcis.Options{Site: g.cfg.Site, Gateway: g.store.Gateway(),
		IncludePatient: opt.IncludePatient, IncludeActor: opt.IncludeActor})
	n := 0
	err = g.store.Range(max(opt.From, 1), func(m agent.Movement) error {
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := enc.Encode(m); err != nil {
			return fmt.Errorf("movement %d: %w", m.Seq, err)
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	if err := enc.Close(); err != nil {
		return 0, 0, err
	}
	written, skipped = enc.Events()
	return written, skipped, bw.Flush()
}

// RejectQuery chooses rejected reads.
type RejectQuery struct {
	// Station, if set, keeps the reads of that scanner or reader.
	Station string
	// Since, if set, keeps the reads from then on.
	Since time.Time
	// Limit keeps the most recent ones (DefaultTraceLimit when 0, at most
	// MaxTraceLimit).
	Limit int
}

// Rejects returns the rejected reads q asks for, oldest first: what a
// scanner sent that could not be understood, with its reason and bytes.
func (g *Gateway) Rejects(ctx context.Context, q RejectQuery) ([]agent.Movement, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultTraceLimit
	}
	limit = min(limit, MaxTraceLimit)
	ring := make([]agent.Movement, 0, limit)
	next, n := 0, 0
	err := g.store.Range(1, func(m agent.Movement) error {
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if m.Kind != agent.KindReject || (q.Station != "" && m.Station != q.Station) || m.Time.Before(q.Since) {
			return nil
		}
		if len(ring) < limit {
			ring = append(ring, m)
			return nil
		}
		ring[next] = m
		next = (next + 1) % limit
		return nil
	})
	if err != nil {
		return nil, err
	}
	return append(ring[next:], ring[:next]...), nil
}
