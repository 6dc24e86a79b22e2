package show

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/udi-edge/udi-edge/agent/audit"
)

// CaseCost prints a case's cost: its consumables, the totals inside and
// outside the case payment and, when known, the share of the group's
// payment standard.
func CaseCost(w io.Writer, c audit.CaseCost, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(c)
	}
	fmt.Fprintf(w, "case %s: %d consumable(s)\n", c.Case, len(c.Lines))
	if len(c.Lines) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SEQ\tITEM\tNAME\tNATIONAL CODE\tQTY\tUNIT PRICE\tAMOUNT\tNOTE")
		for _, l := range c.Lines {
			note := ""
			switch {
			case l.Unknown:
				note = "not in the catalogue: no price"
			case l.OutsideDRG:
				note = "paid outside DRG/DIP"
			case l.Implant:
				note = "implant"
			}
			fmt.Fprintf(tw, "%s/%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", l.Gateway, l.Seq, l.Item, Dash(l.Name), Dash(l.NationalCode),
				l.Quantity, l.UnitPrice, l.Amount, Dash(note))
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "materials inside the case payment: %s yuan\n", c.Total)
	if c.OutsideDRG != 0 {
		fmt.Fprintf(w, "paid outside DRG/DIP: %s yuan\n", c.OutsideDRG)
	}
	if c.Unpriced > 0 {
		fmt.Fprintf(w, "%d item(s) without a price (not in the catalogue)\n", c.Unpriced)
	}
	if c.Standard > 0 {
		fmt.Fprintf(w, "group %s, payment standard %s yuan: materials are %.1f%% of it\n", Dash(c.Group), c.Standard, c.Share)
	} else {
		fmt.Fprintln(w, "no DRG/DIP group or payment standard known for the case (import it with the schedules)")
	}
	return nil
}

// implantColumns are the implant record's columns, in CSV and tables.
var implantColumns = []string{"patient", "record_no", "case", "surgeon", "procedure", "time", "location", "item", "product",
	"name", "model", "registration", "lot", "serial", "expiry", "manufacturer", "supplier", "gateway", "seq"}

// Implants writes the implant record as JSON (one document), CSV (a
// header, one row a record, UTF-8 with a byte order mark so that
// spreadsheets read the Chinese text) or a table.
func Implants(w io.Writer, rs []audit.ImplantRecord, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if rs == nil {
			rs = []audit.ImplantRecord{}
		}
		return enc.Encode(rs)
	case "csv":
		if _, err := io.WriteString(w, "\ufeff"); err != nil {
			return err
		}
		cw := csv.NewWriter(w)
		if err := cw.Write(implantColumns); err != nil {
			return err
		}
		for _, r := range rs {
			if err := cw.Write(implantRow(r)); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	}
	fmt.Fprintf(w, "implant record(s): %d\n", len(rs))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PATIENT\tRECORD NO\tCASE\tSURGEON\tTIME\tNAME\tREGISTRATION\tLOT\tSERIAL\tEXPIRY\tMANUFACTURER\tSUPPLIER")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Patient, Dash(r.Record), Dash(r.Case), Dash(r.Surgeon),
			r.Time.Format("2006-01-02 15:04"), r.Name, Dash(r.Registration), Dash(r.Lot), Dash(r.Serial), Dash(r.Expiry),
			Dash(r.Manufacturer), Dash(r.Supplier))
	}
	return tw.Flush()
}

// ImplantsTo writes the implant record to the file path (created 0600:
// it holds personal data) and says so on out; with no path, to out.
func ImplantsTo(out io.Writer, path string, rs []audit.ImplantRecord, format string) error {
	if path == "" {
		return Implants(out, rs, format)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := Implants(f, rs, format); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(out, "%d implant record(s) written to %s\n", len(rs), path)
	return nil
}

func implantRow(r audit.ImplantRecord) []string {
	return []string{r.Patient, r.Record, r.Case, r.Surgeon, r.Procedure, r.Time.Format(time.RFC3339), r.Location, r.Item, r.Product,
		r.Name, r.Model, r.Registration, r.Lot, r.Serial, r.Expiry, r.Manufacturer, r.Supplier, r.Gateway, strconv.FormatUint(r.Seq, 10)}
}

// Procurement prints the volume-based procurement report.
func Procurement(w io.Writer, ls []audit.VolumeLine, asJSON bool) error {
	if asJSON {
		if ls == nil {
			ls = []audit.VolumeLine{}
		}
		return json.NewEncoder(w).Encode(ls)
	}
	if len(ls) == 0 {
		fmt.Fprintln(w, "no product of the catalogue is marked selected in volume-based procurement")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GENERIC NAME\tPRODUCT\tNAME\tSELECTED\tAGREED\tUSED\tNOTE")
	for _, l := range ls {
		sel, agreed, note := "no", "-", "used instead of a selected product"
		if l.Selected {
			sel, agreed, note = "yes", strconv.Itoa(l.Agreed), ""
			if l.Agreed > 0 {
				note = fmt.Sprintf("%.1f%% of the agreed volume", float64(l.Used)*100/float64(l.Agreed))
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", Dash(l.GenericName), l.Product, l.Name, sel, agreed, l.Used, Dash(note))
	}
	return tw.Flush()
}
