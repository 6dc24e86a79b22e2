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
		return nil
	}
	fmt.Fprintf(w, "%s: %d line(s) (as of movement %d, %s)\n", what, r.Total, r.AsOf, r.Day)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LOCATION\tPRODUCT\tNAME\tLOT\tEXPIRY\tDAYS LEFT\tUNITS\tQUARANTINED")
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", Dash(l.Location), l.Product, Dash(l.Name), Dash(l.Lot), Dash(l.Expiry), days, l.Units, held)
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
		fmt.Fprintln(w)
	}
	return nil
}
