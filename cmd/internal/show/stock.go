package show

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/udi-edge/udi-edge/agent/core"
)

// Stock prints the stock on hand: a line per location, product, lot and
// expiry, the first to expire first, then each location's totals; or the
// report as one JSON object. expiring is the window asked (0: none).
func Stock(w io.Writer, r core.StockReport, expiring int, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(r)
	}
	what := "stock on hand"
	if expiring > 0 {
		what = fmt.Sprintf("stock expiring within %d days of %s (expired included)", expiring, r.Day)
	}
	if r.Total == 0 {
		fmt.Fprintf(w, "%s: none (as of movement %d)\n", what, r.AsOf)
		supply(w, r)
		return nil
	}
	fmt.Fprintf(w, "%s: %d line(s) (as of movement %d, %s)\n", what, r.Total, r.AsOf, r.Day)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LOCATION\tPRODUCT\tNAME\tLOT\tEXPIRY\tDAYS LEFT\tUNITS\tQUARANTINED\tOWNER")
	for _, l := range r.Lines {
		days := "-"
		switch {
		case l.DaysLeft == nil:
		case l.Expired:
			days = "EXPIRED"
		default:
			days = strconv.Itoa(*l.DaysLeft)
		}
		held := "-"
		if l.Quarantined != 0 {
			held = strconv.Itoa(l.Quarantined)
		}
		owner := "hospital"
		if l.Owner != "" {
			owner = "consigned:" + l.Owner
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", Dash(l.Location), l.Product, Dash(l.Name), Dash(l.Lot), Dash(l.Expiry), days, l.Units, held, owner)
	}
	tw.Flush()
	if n := len(r.Lines); n < r.Total {
		fmt.Fprintf(w, "lines %d to %d of %d shown\n", r.Offset+1, r.Offset+n, r.Total)
	}
	for _, t := range r.Locations {
		fmt.Fprintf(w, "%s: %d unit(s) on hand in %d line(s)", Dash(t.Location), t.Units, t.Lines)
		if t.Quarantined != 0 {
			fmt.Fprintf(w, ", %d quarantined", t.Quarantined)
		}
		if t.Expired != 0 {
			fmt.Fprintf(w, ", %d expired", t.Expired)
		}
		for _, h := range t.Expiring {
			if h.Units > 0 {
				fmt.Fprintf(w, ", %d expiring within %d days", h.Units, h.Days)
			}
		}
		fmt.Fprintln(w)
	}
	supply(w, r)
	return nil
}

// supply prints the par levels and the open replenishment requests of a
// stock report.
func supply(w io.Writer, r core.StockReport) {
	if len(r.Pars) > 0 {
		fmt.Fprintf(w, "\npar levels: %d\n", len(r.Pars))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "LOCATION\tPRODUCT\tNAME\tON HAND\tREORDER POINT\tMAX\tSTATE\tREQUESTED")
		for _, p := range r.Pars {
			state := "ok"
			if p.Below {
				state = "BELOW"
			}
			req := "-"
			if p.Requested > 0 {
				req = strconv.Itoa(p.Requested)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", p.Location, p.Product, Dash(p.Name), p.OnHand, p.ReorderPoint, p.Max, state, req)
		}
		tw.Flush()
	}
	Requests(w, r)
}

// Requests prints the open replenishment requests of a stock report.
func Requests(w io.Writer, r core.StockReport) {
	if len(r.Requests) > 0 {
		fmt.Fprintf(w, "\nopen replenishment requests: %d\n", len(r.Requests))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "LOCATION\tPRODUCT\tQUANTITY\tURGENCY\tARRIVED\tSUPPLIER\tSEQ\tTIME")
		for _, q := range r.Requests {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\t%d\t%s\n", q.Location, q.Product, q.Quantity, q.Urgency, q.Arrived, Dash(q.Supplier), q.Seq, q.Time.Format("2006-01-02 15:04"))
		}
		tw.Flush()
	}
}

// Forecast prints the demand forecasts: per location and product, the
// pattern, the method and what it gives; or the lines as one JSON object.
func Forecast(w io.Writer, ls []core.ForecastLine, asJSON bool) error {
	if asJSON {
		if ls == nil {
			ls = []core.ForecastLine{}
		}
		return json.NewEncoder(w).Encode(map[string]any{"lines": ls})
	}
	if len(ls) == 0 {
		fmt.Fprintln(w, "forecasts: none (no use recorded, no par level)")
		return nil
	}
	fmt.Fprintf(w, "forecasts: %d\n", len(ls))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LOCATION\tPRODUCT\tNAME\tDAYS\tUSES\tPATTERN\tPER DAY\tLEAD DAYS\tREORDER POINT\tORDER UP TO\tON HAND")
	for _, l := range ls {
		if l.Error != "" {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t-\t-\t-\t-\t-\t%d\n", l.Location, l.Product, Dash(l.Name), l.Days, l.Uses, l.OnHand)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%.3f\t%g\t%d\t%d\t%d\n", l.Location, l.Product, Dash(l.Name), l.Days, l.Uses, l.Pattern, l.PerDay, l.LeadDays, l.ReorderPoint, l.OrderUpTo, l.OnHand)
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, l := range ls {
		if l.Error != "" {
			fmt.Fprintf(w, "%s %s: %s\n", l.Location, l.Product, l.Error)
			continue
		}
		fmt.Fprintf(w, "%s %s: %s; reorder point %d = %.2f/day × %g days + safety stock %.2f at service level %g\n",
			l.Location, l.Product, l.Basis, l.ReorderPoint, l.PerDay, l.LeadDays, l.SafetyStock, l.ServiceLevel)
	}
	return nil
}
