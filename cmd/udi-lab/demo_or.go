package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/cmd/internal/show"
)

// Demo master data: the catalogue the OR's checks use, and the settlement
// records that arrive after the case.
const (
	demoCatalogue = `gtin,name,manufacturer,insurance_code,unit_price,high_value,imported,tracking,implant,registration,supplier,outside_drg,consigned,lead_days
09520123456788,hip stem cementless size 12,East China Orthopaedics,C03010100100001000010000012,6850.00,true,false,serial,true,国械注准20193130001,华东医药,false,,
06901234100037,knee femoral component size 4,East China Orthopaedics,C03010200100003000010000025,7980.00,true,false,serial,true,国械注准20193130002,华东医药,false,,
06901234200010,drug-eluting coronary stent 3.0x18mm,Southern Cardiovascular,C02010100100004000020000031,798.00,true,false,serial,true,国械注准20203130101,南方医药,false,true,2
06901234200027,pacemaker dual chamber,Cardiomed GmbH,C0201050010000500003,28600.00,true,true,serial,true,国械注进20183120777,国药器械,true,,
MA.156.M0.100350.01004YA10017,coronary balloon-expandable stent (MA label),Beijing Vascular,C02010100100004000030000043,750.00,true,false,serial,true,国械注准20213130999,南方医药,false,,
`
	demoSettlements = `id,patient,case,insurance_code,item,gtin,lot,quantity,amount
JS20261125001,004217,K20261125-01,C0301010010000100001,(01)09520123456788(21)00042,,,1,6850.00
JS20261125002,004218,K20261125-02,C0301020010000399999,(01)06901234100037(21)K0001,,,1,7980.00
JS20261125003,004218,K20261125-02,C0201050010000500003,(01)06901234200027(21)100777,,,1,28600.00
JS20261125004,004218,K20261125-02,C0201010010000400002,(01)06901234200010(21)S0006,,,1,798.00
JS20261125005,004218,K20261125-02,C02010100100004000030000043,MA.156.M0.100350.01004YA10017.S2611A0042,,,1,750.00
`
)

// demoMA is a stent's label in China's MA (IDcode) form: its DI (issuer
// MA, country 156, medical devices M0, registrant 100350, the product and
// its check character), then serial, lot, expiry (the day before 30 Nov
// 2029) and the PI's check character.
const demoMA = "MA.156.M0.100350.01004YA10017.S2611A0042.L2611.E291130.C3"

// demoORMorning plays the point of use: a catalogue is imported, a case
// opens by wristband, implants are checked (one accepted, one expired and
// blocked, an imported one pending its justification), the case closes, a
// settlement file arrives, and reconcile and anomalies print.
func demoORMorning(ctx context.Context, out io.Writer, lab *demoLab, dir string, or3 *demoScanner, outcomes <-chan agent.Outcome) error {
	fmt.Fprintf(out, "\n--- OR 3, the next case ---\n")
	resp, err := lab.api.Import(ctx, "catalogue", strings.NewReader(demoCatalogue), core.ImportOptions{Format: "csv", Name: "catalogue.csv"})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "$ udi-edge import catalogue catalogue.csv\ncatalogue: %d row(s) imported, kept on the gateway for offline checks\n", resp.Rows)
	// The case on the schedule, with its DRG group and payment standard.
	now := time.Now()
	sched := fmt.Sprintf("case,patient,room,start,end,procedure,group,payment_standard,surgeon,record_no\n"+
		"K20261125-02,004218,OR-3,%s,%s,knee replacement and PCI,IC29,52000.00,Dr Wang,BA20260042\n",
		now.Add(-time.Hour).Format(time.RFC3339), now.Add(3*time.Hour).Format(time.RFC3339))
	if resp, err = lab.api.Import(ctx, "schedules", strings.NewReader(sched), core.ImportOptions{Format: "csv", Name: "schedules.csv"}); err != nil {
		return err
	}
	fmt.Fprintf(out, "$ udi-edge import schedules schedules.csv\nschedules: %d row(s) imported (the case's DRG group IC29, payment standard 52000.00)\n", resp.Rows)
	scans := []struct{ label, what string }{
		{"]C0PAT004218", "the next patient's wristband"},
		{"]C0CASE-K20261125-02", "the case sheet's barcode"},
		{"]d201" + "06901234100037" + "17290630" + "10KN2611" + "\x1d21" + "K0001", "a knee component"},
		{"]d201" + "06901234200010" + "17261031" + "10ST2410" + "\x1d21" + "S0005", "a stent whose label expired"},
		{"]Q1" + demoMA, "a stent with a Chinese MA (IDcode) label"},
		{"]d201" + "06901234200027" + "17290131" + "10PM2609" + "\x1d21" + "100777", "an imported pacemaker"},
		{"]C0JUST-R03", "the justification: no domestic equivalent"},
		{"]C0CMD-CLOSE-CASE", "CLOSE CASE"},
	}
	for _, s := range scans {
		if err := demoScanAnswer(ctx, out, or3, demoScan{"or3-1", []byte(s.label), s.what}, outcomes); err != nil {
			return err
		}
	}
	if resp, err = lab.api.Import(ctx, "settlements", strings.NewReader(demoSettlements), core.ImportOptions{Format: "csv", Name: "settlements.csv"}); err != nil {
		return err
	}
	fmt.Fprintf(out, "\n$ udi-edge import settlements settlements.csv   (the insurance office's file arrives)\nsettlements: %d row(s) imported\n", resp.Rows)
	rec, err := lab.api.Reconcile(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n$ udi-edge reconcile\n")
	show.Findings(out, rec, false)
	an, err := lab.api.Anomalies(ctx, 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n$ udi-edge anomalies\n")
	show.Findings(out, an, false)

	res, err := lab.api.Trace(ctx, core.TraceQuery{Code: demoMA})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n$ udi-edge trace '%s'   (the MA-labelled stent, in any of its forms)\n", demoMA)
	show.Trace(out, res.Key, res.Movements)
	show.Settlements(out, res.Settlements)
	cost, err := lab.api.CaseCost(ctx, "K20261125-02")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n$ udi-edge cost K20261125-02\n")
	return show.CaseCost(out, cost, false)
}

// demoTamper copies the ledger, changes one byte of a lot number in the
// copy as a forger with a hex editor would, and verifies the copy.
func demoTamper(ctx context.Context, out io.Writer, store, dir string) error {
	b, err := os.ReadFile(store)
	if err != nil {
		return err
	}
	// Every copy of the lot in the file: bbolt leaves stale copies of
	// rewritten pages in its free space, and the forger cannot tell which
	// copy is live.
	if !bytes.Contains(b, []byte("KN2611")) {
		return errors.New("demo: the knee's lot is not in the ledger file")
	}
	b = bytes.ReplaceAll(b, []byte("KN2611"), []byte("KN2612"))
	forged := filepath.Join(dir, "forged.db")
	if err := os.WriteFile(forged, b, 0o600); err != nil {
		return err
	}
	l, err := bolt.OpenReadOnly(forged, time.Second)
	if err != nil {
		fmt.Fprintf(out, "\n$ udi-edge verify --store forged.db   (a copy with one lot number edited)\nrefused: %v\n", err)
		return nil
	}
	defer l.Close()
	res, err := l.VerifyReport(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n$ udi-edge verify --store forged.db   (a copy with one lot number edited)\n")
	switch {
	case res.Broken != nil:
		fmt.Fprintf(out, "NOT INTACT: movement %d %s: %s\n", res.Broken.Seq, res.Broken.Kind, res.Broken.Reason)
	case len(res.Problems) > 0:
		fmt.Fprintf(out, "NOT INTACT: %s\n", strings.Join(res.Problems, "; "))
	default:
		return errors.New("demo: the forged copy verified intact")
	}
	return nil
}
