package core

import (
	"context"
	"fmt"

	"github.com/udi-edge/udi-edge/agent"
)

// countCommand takes a COUNT START or COUNT END command barcode scanned
// at a station (agent.CmdCountStart, agent.CmdCountEnd), so that a
// count needs no keyboard: the start counts the station's location with
// the station, the end ends the session the station counts in and
// reports its differences (the alerts are logged). It reports whether r
// was one. The session's movement is written before the station's next
// scan is taken (the scan waits for it), so that no scan after COUNT
// START escapes the count. A command that cannot be done (a count
// already open there, none to end) is recorded as a rejected read with
// its reason.
func (g *Gateway) countCommand(r agent.Read) bool {
	p := g.cfg.Patterns
	if p == nil || r.Err != nil {
		return false
	}
	cmd := p.Commands[string(r.Data)]
	if cmd != agent.CmdCountStart && cmd != agent.CmdCountEnd {
		return false
	}
	m := g.ingest.Movement(r)
	ctx := context.Background()
	var err error
	switch cmd {
	case agent.CmdCountStart:
		var s CountSession
		if s, err = g.StartCount(ctx, CountRequest{Stations: []string{r.Source}}); err == nil {
			m.Seq, m.Location = s.ID, s.Location
			m.Reason = fmt.Sprintf("cycle count %d started at %s: this station's scans are counts until COUNT END", s.ID, s.Location)
		}
	case agent.CmdCountEnd:
		g.counts.mu.RLock()
		id, open := g.counts.byStation[r.Source]
		g.counts.mu.RUnlock()
		if !open {
			err = fmt.Errorf("%w: no cycle count is open at station %s", ErrCountState, r.Source)
			break
		}
		var rep CountReport
		if rep, err = g.EndCount(ctx, id, ""); err == nil {
			m.Seq, m.Location = rep.Session.EndSeq, rep.Session.Location
			m.Reason = fmt.Sprintf("cycle count %d ended: %d found, %d difference(s), %d alert(s)", id, rep.Found, len(rep.Differences), rep.Alerts)
		}
	}
	if err == nil {
		g.answer(r.Source, agent.OutcomeOf(m, nil))
		return true
	}
	// Never dropped: the read is recorded, rejected with the reason.
	m.Kind, m.Reason = agent.KindReject, "count command refused: "+err.Error()
	g.counts.wg.Add(1)
	g.store.Submit(m, func(got agent.Movement, err error) {
		defer g.counts.wg.Done()
		g.answer(r.Source, agent.OutcomeOf(got, err))
	})
	return true
}
