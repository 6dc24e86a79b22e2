package audit

import (
	"slices"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/agent/code"
	"github.com/udi-edge/udi-edge/agent/lifecycle"
	"github.com/udi-edge/udi-edge/agent/master"
)

// CostLine is one consumable used in a case, priced from the catalogue.
type CostLine struct {
	// Item is the item key scanned; Product the catalogue product it
	// resolves to (a package's DI resolves to the product it packs).
	Item    string `json:"item"`
	Product string `json:"product,omitempty"`
	Name    string `json:"name,omitempty"`
	Lot     string `json:"lot,omitempty"`
	// Quantity is the units used: 1, or the units a scanned package
	// holds.
	Quantity int `json:"quantity"`
	// UnitPrice and Amount are in fen (master.Amount).
	UnitPrice    master.Amount `json:"unit_price"`
	Amount       master.Amount `json:"amount"`
	NationalCode string        `json:"national_code,omitempty"`
	ChargeCode   string        `json:"charge_code,omitempty"`
	// OutsideDRG marks a device paid outside the case payment.
	OutsideDRG bool `json:"outside_drg,omitempty"`
	Implant    bool `json:"implant,omitempty"`
	HighValue  bool `json:"high_value,omitempty"`
	// Unknown marks an item the catalogue does not know: it has no price.
	Unknown bool `json:"unknown,omitempty"`
	// Gateway and Seq name the use movement.
	Gateway string    `json:"gateway"`
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
}

// CaseCost is what a case's consumables cost against its case payment.
type CaseCost struct {
	Case string `json:"case"`
	// Lines are the uses that stand in the case, in the order recorded.
	Lines []CostLine `json:"lines"`
	// Total is the amount of the lines paid inside the case payment;
	// OutsideDRG the amount of the lines paid outside it.
	Total      master.Amount `json:"total"`
	OutsideDRG master.Amount `json:"outside_drg"`
	// Unpriced counts the lines without a price (unknown items).
	Unpriced int `json:"unpriced"`
	// Group and Standard are the case's DRG/DIP group and payment
	// standard, from the case schedule, when known.
	Group    string        `json:"group,omitempty"`
	Standard master.Amount `json:"payment_standard,omitempty"`
	// Share is Total as a percentage of Standard; 0 when the standard is
	// not known.
	Share float64 `json:"share,omitempty"`
}

// CaseCost returns the consumables used in caseID with their prices and
// totals, inside and outside the case payment, against the case's
// payment standard where the schedule gives it. Which uses count is the
// lifecycle's (a use blocked or cancelled does not; one linked to the case
// later does).
func (a *Auditor) CaseCost(caseID string) CaseCost {
	out := CaseCost{Case: caseID}
	for _, u := range a.standing() {
		if u.Case != caseID {
			continue
		}
		l := CostLine{Item: u.Item, Lot: u.Lot, Quantity: 1, Gateway: u.Gateway, Seq: u.Seq, Time: u.Time}
		e, q, ok := a.Data.Resolve(lifecycle.Product(u.Movement))
		if !ok {
			l.Unknown = true
			out.Unpriced++
			out.Lines = append(out.Lines, l)
			continue
		}
		l.Product, l.Name, l.Quantity, l.UnitPrice = e.Product(), e.Name, q, e.UnitPrice
		l.Amount = e.UnitPrice * master.Amount(q)
		l.NationalCode, l.ChargeCode = e.InsuranceCode, e.ChargeCode
		l.OutsideDRG, l.Implant, l.HighValue = e.OutsideDRG, e.Implant, e.HighValue
		if l.OutsideDRG {
			out.OutsideDRG += l.Amount
		} else {
			out.Total += l.Amount
		}
		out.Lines = append(out.Lines, l)
	}
	for _, s := range a.Data.Schedules() {
		if s.Case == caseID && (s.Group != "" || s.Standard != 0) {
			out.Group, out.Standard = s.Group, s.Standard
		}
	}
	if out.Standard > 0 {
		out.Share = float64(out.Total) * 100 / float64(out.Standard)
	}
	return out
}

// ImplantRecord is one implant used on a patient, as the regulation on
// implants wants it kept, for ever: patient, medical record number, case,
// surgeon, the item and its registration, lot, serial, expiry,
// manufacturer and supplier. Patient and Record identify a person.
type ImplantRecord struct {
	Patient      string    `json:"patient"`
	Record       string    `json:"record_no,omitempty"`
	Case         string    `json:"case,omitempty"`
	Surgeon      string    `json:"surgeon,omitempty"`
	Procedure    string    `json:"procedure,omitempty"`
	Time         time.Time `json:"time"`
	Location     string    `json:"location,omitempty"`
	Item         string    `json:"item"`
	Product      string    `json:"product"`
	Name         string    `json:"name"`
	Model        string    `json:"model,omitempty"`
	Registration string    `json:"registration,omitempty"`
	Lot          string    `json:"lot,omitempty"`
	Serial       string    `json:"serial,omitempty"`
	Expiry       string    `json:"expiry,omitempty"`
	Manufacturer string    `json:"manufacturer,omitempty"`
	Supplier     string    `json:"supplier,omitempty"`
	Gateway      string    `json:"gateway"`
	Seq          uint64    `json:"seq"`
}

// Implants returns the implant record: every use that stands of a
// product the catalogue marks an implant, of patient (every patient when
// ""), in the order recorded. The patient is the use's own, or that of
// the case a later link gave it; the medical record number, surgeon and
// procedure come from the case's schedule.
func (a *Auditor) Implants(patient string) []ImplantRecord {
	var cases map[string]master.Schedule
	var out []ImplantRecord
	for _, u := range a.standing() {
		if patient != "" && u.Patient != "" && u.Patient != patient {
			continue
		}
		e, _, ok := a.Data.Resolve(lifecycle.Product(u.Movement))
		if !ok || !e.Implant {
			continue
		}
		if cases == nil {
			cases = map[string]master.Schedule{}
			for _, s := range a.Data.Schedules() {
				cases[s.Case] = s
			}
		}
		sc := cases[u.Case]
		p := u.Patient
		if p == "" {
			p = sc.Patient
		}
		if patient != "" && p != patient {
			continue
		}
		serial := u.Serial
		if serial == "" {
			serial = code.SplitKey(u.Item).Serial
		}
		out = append(out, ImplantRecord{
			Patient: p, Record: sc.Record, Case: u.Case, Surgeon: sc.Surgeon, Procedure: sc.Procedure,
			Time: u.Time, Location: u.Location, Item: u.Item, Product: e.Product(), Name: e.Name, Model: e.Model,
			Registration: e.Registration, Lot: u.Lot, Serial: serial, Expiry: u.Expiry,
			Manufacturer: e.Manufacturer, Supplier: e.Supplier, Gateway: u.Gateway, Seq: u.Seq,
		})
	}
	return out
}

// VolumeLine is one product's use against its volume-based procurement
// (集采) agreement.
type VolumeLine struct {
	Product     string `json:"product"`
	Name        string `json:"name"`
	GenericName string `json:"generic_name"`
	// Selected marks a product selected in the procurement; a product
	// that was not is listed when a selected one shares its generic name
	// (used instead of a selected one).
	Selected bool `json:"selected"`
	// Agreed is the volume agreed for the year (selected products); Used
	// the units used in the period (a package's DI counts its units).
	Agreed int `json:"agreed,omitempty"`
	Used   int `json:"used"`
}

// Procurement returns the agreed against the used volumes of the
// products the catalogue marks selected in volume-based procurement, and
// the use of the products that were not selected but share a generic
// name with one that was, over the uses that stand recorded from from
// (inclusive) to to (exclusive; zero times are open bounds); by generic
// name, then selected products first, then by product.
func (a *Auditor) Procurement(from, to time.Time) []VolumeLine {
	selected := map[string]bool{} // generic names with a selected product
	for _, e := range a.Data.Catalogue() {
		if e.Procurement && e.GenericName != "" {
			selected[e.GenericName] = true
		}
	}
	lines := map[string]*VolumeLine{}
	line := func(e master.CatalogueEntry) *VolumeLine {
		l := lines[e.Product()]
		if l == nil {
			l = &VolumeLine{Product: e.Product(), Name: e.Name, GenericName: e.GenericName, Selected: e.Procurement, Agreed: e.AgreedVolume}
			lines[e.Product()] = l
		}
		return l
	}
	for _, e := range a.Data.Catalogue() {
		if e.Procurement && e.PackageOf == "" {
			line(e)
		}
	}
	for _, u := range a.standing() {
		if !from.IsZero() && u.Time.Before(from) || !to.IsZero() && !u.Time.Before(to) {
			continue
		}
		e, q, ok := a.Data.Resolve(lifecycle.Product(u.Movement))
		if !ok || !(e.Procurement || selected[e.GenericName]) {
			continue
		}
		line(e).Used += q
	}
	out := make([]VolumeLine, 0, len(lines))
	for _, l := range lines {
		out = append(out, *l)
	}
	slices.SortFunc(out, func(x, y VolumeLine) int {
		if c := strings.Compare(x.GenericName, y.GenericName); c != 0 {
			return c
		}
		if x.Selected != y.Selected {
			if x.Selected {
				return -1
			}
			return 1
		}
		return strings.Compare(x.Product, y.Product)
	})
	return out
}
