package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/code"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/stock"
	"github.com/udi-edge/udi-edge/cmd/internal/show"
	"github.com/udi-edge/udi-edge/sync/central"
)

// demoStent is the consigned stent of the warehouse week: a par level
// of 3 to 5 in the warehouse.
const (
	demoStent = "06901234200010"
	demoPar   = "location,gtin,min,max\nwarehouse," + demoStent + ",3,5\n"
)

// demoWarehouseWeek plays a compressed week of the warehouse's zero
// inventory: consigned stents arrive (one lot close to expiry), OR 3
// uses them (a FEFO warning when the later lot is taken), the stock
// falls below its reorder point and the gateway asks for a refill, the
// request reaches udi-central, the supplier's delivery meets it, and
// the stock expiring within 60 days is shown.
func demoWarehouseWeek(ctx context.Context, out io.Writer, lab *demoLab, desk, or3 *demoScanner, outcomes <-chan agent.Outcome, centre *demoCentre, site string) error {
	fmt.Fprintf(out, "\n--- the warehouse's week, compressed: zero inventory of a consigned stent ---\n")
	now := time.Now()
	later, soon := now.AddDate(1, 6, 0).Format("060102"), now.AddDate(0, 0, 45).Format("060102")
	stent := func(expiry, lot, serial string) demoScan {
		return demoScan{"", []byte("]d201" + demoStent + "17" + expiry + "10" + lot + "\x1d21" + serial), ""}
	}
	at := func(station, what string, s demoScan) demoScan {
		s.station, s.what = station, what
		return s
	}
	day := func(name string, scans ...demoScan) error {
		fmt.Fprintf(out, "\n%s\n", name)
		for _, s := range scans {
			sc := desk
			if s.station == "or3-1" {
				sc = or3
			}
			if err := demoScanAnswer(ctx, out, sc, s, outcomes); err != nil {
				return err
			}
		}
		return nil
	}
	if err := day("Monday: 南方医药's stents arrive at the receiving desk (the catalogue says they are consigned)",
		at("desk-1", "a stent of a lot expiring in 45 days", stent(soon, "ST2611", "W001")),
		at("desk-1", "a stent of a later lot", stent(later, "ST2705", "W002")),
		at("desk-1", "another", stent(later, "ST2705", "W003")),
		at("desk-1", "another", stent(later, "ST2705", "W004")),
	); err != nil {
		return err
	}
	resp, err := lab.api.Import(ctx, "par", strings.NewReader(demoPar), core.ImportOptions{Format: "csv", Name: "par.csv"})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n$ udi-edge import par par.csv\npar: %d row(s): the stent in the warehouse, reorder point 3, fill up to 5\n", resp.Rows)
	if err := printStock(ctx, out, lab, core.StockQuery{Location: "warehouse", Product: demoStent}); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nan expiry alert: the gateway logs each line once per horizon crossed (90, 60, 30 days), and:\n")
	if err := printStock(ctx, out, lab, core.StockQuery{Location: "warehouse", ExpiringDays: 60}); err != nil {
		return err
	}
	if err := day("Tuesday: a PCI in OR 3",
		demoScan{"or3-1", []byte("]C0PAT004305"), "the patient's wristband"},
		demoScan{"or3-1", []byte("]C0CASE-K20261201-03"), "the case sheet's barcode"},
		at("or3-1", "a stent of the later lot", stent(later, "ST2705", "W002")),
	); err != nil {
		return err
	}
	st, err := waitRequests(ctx, lab, 1)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nthe stent used was 南方医药's until then: its use is their consumption record, and the gateway asks them\n"+
		"to refill up to the par's max (a movement of its ledger, sent to the centre as every movement is):\n")
	show.Requests(out, st)
	if err := day("Wednesday: another PCI: on hand falls below the reorder point, already covered by the open request",
		demoScan{"or3-1", []byte("]C0CASE-K20261202-01"), "the case sheet's barcode"},
		at("or3-1", "the stent expiring first", stent(soon, "ST2611", "W001")),
	); err != nil {
		return err
	}
	if err := printStock(ctx, out, lab, core.StockQuery{Location: "warehouse", Product: demoStent}); err != nil {
		return err
	}
	if err := waitSynced(ctx, lab, centre); err != nil {
		return err
	}
	cs, err := central.SiteStock(ctx, centre.store, site, stock.Query{Location: "warehouse", Product: demoStent}, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n$ udi-central stock --site %s --location warehouse --product %s   (the request has reached the centre)\n", site, demoStent)
	if err := printCentreRequests(out, cs); err != nil {
		return err
	}
	if err := day("Thursday: 南方医药 delivers the two asked for",
		at("desk-1", "a delivered stent", stent(later, "ST2705", "W005")),
		at("desk-1", "another", stent(later, "ST2705", "W006")),
	); err != nil {
		return err
	}
	if st, err = waitRequests(ctx, lab, 2); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nthe request is met; Wednesday's stent, used since it was made, is asked for now:\n")
	show.Requests(out, st)
	if err := day("Friday: the last one arrives",
		at("desk-1", "a delivered stent", stent(later, "ST2705", "W007")),
	); err != nil {
		return err
	}
	if err := printStock(ctx, out, lab, core.StockQuery{Location: "warehouse", Product: demoStent}); err != nil {
		return err
	}
	return demoCycleCount(ctx, out, lab, day, at("desk-1", "", stent(later, "ST2705", "")))
}

// demoCycleCount counts the warehouse's shelf by scanning at the
// receiving desk: one stent is not found, the count reports it missing
// (an alert) and its write-off is written as a movement with its reason.
func demoCycleCount(ctx context.Context, out io.Writer, lab *demoLab, day func(string, ...demoScan) error, stent demoScan) error {
	sess, err := lab.api.StartCount(ctx, core.CountRequest{Location: "warehouse", Stations: []string{"desk-1"}, Actor: "W-017"})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nSaturday: a cycle count of the warehouse shelf\n$ udi-edge count start --station desk-1 --location warehouse\ncycle count %d started: desk-1's scans are counts at warehouse until it ends\n", sess.ID)
	hibcBody := "+H123ORTHO551/$$3281130LOT8812/SSN000193"
	check, err := code.HIBCCheck(hibcBody)
	if err != nil {
		return err
	}
	scans := []demoScan{{"desk-1", []byte(hibcBody + string(check)), "the bone screw"}}
	for _, sn := range []string{"W003", "W004", "W005", "W006"} {
		s := stent
		s.wire = append(slices.Clone(s.wire), sn...)
		s.what = "a stent on the shelf"
		scans = append(scans, s)
	}
	if err := day("desk-1 scans what is on the shelf (one stent, W007, is not there)", scans...); err != nil {
		return err
	}
	rep, err := lab.api.EndCount(ctx, sess.ID, "W-017")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n$ udi-edge count end %d\n", sess.ID)
	if err := show.CountReport(out, rep, false); err != nil {
		return err
	}
	res, err := lab.api.AdjustCount(ctx, sess.ID, core.CountAdjustment{Apply: true, Actor: "W-017"})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n$ udi-edge count adjust %d --apply   (the warehouse manager confirms: written off, never a silent edit)\n", sess.ID)
	return show.CountAdjustment(out, sess.ID, res, false)
}

// printStock prints the stock q asks for as `udi-edge stock` does.
func printStock(ctx context.Context, out io.Writer, lab *demoLab, q core.StockQuery) error {
	r, err := lab.api.Stock(ctx, q)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "$ udi-edge stock --location %s", q.Location)
	if q.Product != "" {
		fmt.Fprintf(out, " --product %s", q.Product)
	}
	if q.ExpiringDays > 0 {
		fmt.Fprintf(out, " --expiring %d", q.ExpiringDays)
	}
	fmt.Fprintln(out)
	return show.Stock(out, r, q.ExpiringDays, false)
}

// waitRequests waits until the n-th request for the stent in the
// warehouse is open (the supplier raises it on its own goroutine) and
// returns the stock report showing it.
func waitRequests(ctx context.Context, lab *demoLab, n int) (core.StockReport, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := lab.api.Stock(ctx, core.StockQuery{Location: "warehouse", Product: demoStent})
		if err != nil {
			return r, err
		}
		if len(r.Requests) > 0 && r.Requests[0].Seq != 0 && requestsSeen(lab) >= n {
			return r, nil
		}
		if time.Now().After(deadline) {
			return r, errors.New("demo: no replenishment request after 10s")
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// requestsSeen counts the request movements in the gateway's ledger.
func requestsSeen(lab *demoLab) int {
	n := 0
	_ = lab.agent.Ledger().Range(1, func(m agent.Movement) error {
		if _, ok := agent.ReadRequest(m); ok {
			n++
		}
		return nil
	})
	return n
}

// printCentreRequests prints the open requests the centre folds.
func printCentreRequests(out io.Writer, r central.SiteStockReport) error {
	n := 0
	for _, g := range r.Gateways {
		for _, q := range g.Requests {
			n++
			fmt.Fprintf(out, "gateway %s asks for %d of %s at %s (%s; on hand %d, reorder point %d, max %d) for %s, movement %d\n",
				g.Gateway, q.Quantity, q.Product, q.Location, q.Urgency, q.OnHand, q.ReorderPoint, q.Max, show.Dash(q.Supplier), q.Seq)
		}
	}
	if n == 0 {
		return errors.New("demo: the centre holds no open request")
	}
	return nil
}

// demoScanAnswer sends s's code (without its suffix) from the simulated
// scanner sc, as a nurse's scan, and prints the station's answer.
func demoScanAnswer(ctx context.Context, out io.Writer, sc *demoScanner, s demoScan, outcomes <-chan agent.Outcome) error {
	fmt.Fprintf(out, "%-7s scans %-40s %s\n", s.station, s.what, api.Printable(s.wire))
	if _, err := sc.master.Write(append(slices.Clip(s.wire), '\r')); err != nil {
		return fmt.Errorf("simulated scanner: %w", err)
	}
	select {
	case o := <-outcomes:
		return printOutcome(out, o)
	case <-time.After(10 * time.Second):
		return fmt.Errorf("no answer for a scan at %s within 10s", s.station)
	case <-ctx.Done():
		return ctx.Err()
	}
}
