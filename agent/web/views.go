package web

import (
	"net/http"
	"slices"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/audit"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/count"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/agent/stock"
)

// maxLines bounds the expiring lines the warehouse view lists.
const maxLines = 100

// warehousePage is the warehouse's screen.
type warehousePage struct {
	Location  string
	Locations []core.StockTotal
	Pars      []core.ParStatus
	Requests  []stock.Request
	Days      int
	Expiring  []stock.Line
	// ExpiringTotal counts every expiring line, listed or not.
	ExpiringTotal int
	// Count is the last cycle count's report (of Location when given);
	// nil when there is none.
	Count *core.CountReport
	// Differences are the count's differences but the unknown tags,
	// Unknown those: found, never received nor commissioned.
	Differences []count.Difference
	Unknown     []count.Difference
}

// warehouse answers the warehouse view (?location= chooses one; with
// ?part=1 only its body, which the screen reloads as movements come).
func (s *Server) warehouse(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	loc := r.URL.Query().Get("location")
	wh := &warehousePage{Location: loc, Days: s.cfg.ExpiringDays}
	all, err := s.core.Stock(ctx, core.StockQuery{Location: loc, Limit: 1})
	if err != nil {
		return err
	}
	wh.Locations, wh.Pars, wh.Requests = all.Locations, all.Pars, all.Requests
	// The pars below their reorder point first.
	slices.SortStableFunc(wh.Pars, func(a, b core.ParStatus) int {
		switch {
		case a.Below == b.Below:
			return 0
		case a.Below:
			return -1
		}
		return 1
	})
	exp, err := s.core.Stock(ctx, core.StockQuery{Location: loc, ExpiringDays: s.cfg.ExpiringDays, Limit: maxLines})
	if err != nil {
		return err
	}
	wh.Expiring, wh.ExpiringTotal = exp.Lines, exp.Total
	sessions, err := s.core.Counts(ctx)
	if err != nil {
		return err
	}
	for i := len(sessions) - 1; i >= 0; i-- {
		if loc != "" && sessions[i].Location != loc {
			continue
		}
		rep, err := s.core.CountReport(ctx, sessions[i].ID)
		if err != nil {
			return err
		}
		wh.Count = &rep
		for _, d := range rep.Differences {
			if d.Kind == count.Unknown {
				wh.Unknown = append(wh.Unknown, d)
			} else {
				wh.Differences = append(wh.Differences, d)
			}
		}
		break
	}
	d := s.data(w, r, "")
	d.WH = wh
	name := "warehouse"
	if r.URL.Query().Get("part") == "1" {
		name = "warehouse-body"
	}
	s.render(w, r, http.StatusOK, name, d)
	return nil
}

// auditPage is the auditor's screen: a trace, and one of anomalies,
// reconcile and verify.
type auditPage struct {
	Code  string
	Trace *traceView
	// Show is "anomalies", "reconcile" or "verify", or "".
	Show     string
	Findings []audit.Finding
	Total    int
	Verify   *agent.VerifyReport
}

// traceView is a trace with patient identifiers masked unless the role
// may see them.
type traceView struct {
	Key         string
	Product     bool
	Truncated   bool
	Movements   []agent.Movement
	Settlements []master.Settlement
}

// audit answers the auditor's view: ?code= traces a code; ?show=
// anomalies, reconcile or verify runs that check. It changes nothing.
func (s *Server) audit(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	p, _ := PrincipalFrom(ctx)
	a := &auditPage{Code: q.Get("code"), Show: q.Get("show")}
	d := s.data(w, r, "")
	d.Audit = a
	if a.Code != "" {
		res, err := s.core.Trace(ctx, core.TraceQuery{Code: a.Code, Limit: core.DefaultTraceLimit})
		if err != nil {
			d.Message = err.Error()
		} else {
			tv := &traceView{Key: res.Key, Product: res.Product, Truncated: res.Truncated, Movements: res.Movements, Settlements: res.Settlements}
			if !p.Role.May(PermPatient) {
				for i := range tv.Movements {
					tv.Movements[i].Patient = MaskPatient(tv.Movements[i].Patient)
				}
				for i := range tv.Settlements {
					tv.Settlements[i].Patient = MaskPatient(tv.Settlements[i].Patient)
				}
			}
			a.Trace = tv
		}
	}
	var fs []audit.Finding
	var err error
	switch a.Show {
	case "anomalies":
		fs, err = s.core.Anomalies(ctx, 0)
	case "reconcile":
		fs, err = s.core.Reconcile(ctx)
	case "verify":
		var rep agent.VerifyReport
		rep, err = s.core.Verify(ctx)
		a.Verify = &rep
	case "":
	default:
		a.Show = ""
	}
	if err != nil {
		return err
	}
	a.Total = len(fs)
	a.Findings = fs[:min(len(fs), DefaultMaxFindings)]
	s.render(w, r, http.StatusOK, "audit", d)
	return nil
}
