package master

import (
	"strings"

	"github.com/udi-edge/udi-edge/agent/code"
)

// Tracking says how the items of a product are identified one by one.
type Tracking string

// Tracking modes.
const (
	// TrackSerial means every item carries a serial number ("one item, one
	// code"); a scan without a serial cannot say which item was used.
	TrackSerial Tracking = "serial"
	// TrackLot means items are identified by product and lot only.
	TrackLot Tracking = "lot"
)

// Status is the release status of one lot of a product.
type Status string

// Lot statuses.
const (
	// StatusApproved means the lot may be used.
	StatusApproved Status = "approved"
	// StatusOnHold means the lot must not be used until it is released.
	StatusOnHold Status = "on-hold"
	// StatusRecalled means the lot is recalled.
	StatusRecalled Status = "recalled"
	// StatusQuarantined means the lot is set aside pending investigation.
	StatusQuarantined Status = "quarantined"
	// StatusExpired means the lot has passed its expiry date.
	StatusExpired Status = "expired"
)

// Statuses lists every lot status.
var Statuses = []Status{StatusApproved, StatusOnHold, StatusRecalled, StatusQuarantined, StatusExpired}

// Usable reports whether items of a lot with status s may be used.
func (s Status) Usable() bool { return s == StatusApproved }

// CatalogueEntry describes one product (one GTIN, or one HIBC labeler,
// product and unit of measure).
type CatalogueEntry struct {
	// GTIN is the product's GTIN, 14 digits with a valid check digit
	// (GTIN-8, -12 and -13 are left-padded with zeros when parsed).
	GTIN string
	// HIBC is the product key of a product without a GTIN, as its item
	// keys begin: an HIBC product, "+", the 4-character labeler code, the
	// product number and the unit-of-measure digit ("+A123BJC5D61"), or an
	// MA (IDcode) DI ("MA.156.M0.100350.01004YA10017"). At least one of
	// GTIN and HIBC is set. (Recalls, lot statuses and par levels name
	// products the same way.)
	HIBC string
	// Name is the product's name as the hospital shows it.
	Name string
	// Model is the model or specification (规格型号), if known.
	Model string
	// Manufacturer is the manufacturer's name.
	Manufacturer string
	// Registration is the medical device registration certificate number
	// (注册证号), if known.
	Registration string
	// InsuranceCode is the national medical-insurance consumable code
	// (医保耗材编码): 27 characters (current releases), or the 20 of the
	// older classification, "C" and digits (agent/nhsa); "" if none.
	InsuranceCode string
	// ChargeCode is the hospital's own charge code for the item; "" if none.
	ChargeCode string
	// UnitPrice is the price of one unit in minor units (fen).
	UnitPrice Amount
	// HighValue marks a high-value consumable (高值耗材).
	HighValue bool
	// Imported marks an imported product: using it needs a recorded
	// justification.
	Imported bool
	// Tracking says whether items are tracked by serial or by lot.
	Tracking Tracking

	// The fields below come mostly from the national sources: the NMPA
	// UDI database (agent/udid) and the NHSA consumables catalogue
	// (agent/nhsa), joined by agent/national; a hospital's own file may
	// give them too.

	// GenericName is the product's generic name (通用名称), by which
	// volume-based procurement groups products.
	GenericName string
	// PackageOf is the product key of the unit this DI packs (a box of
	// ten: the single unit's DI), PackageQuantity how many of them one
	// package holds; "" and 0 for a product's own unit. A scan of a
	// package DI resolves to that product and quantity (Data.Resolve).
	PackageOf       string
	PackageQuantity int
	// UseUnit is the DI of the unit of use (使用单元产品标识) when it
	// differs from the sales unit; UseUnits how many one sales unit holds.
	UseUnit  string
	UseUnits int
	// Label lists the production identifiers the product's label carries
	// (lot, serial, production date, expiry): a scan lacking one is
	// flagged (lifecycle.CheckLabelIncomplete).
	Label Label
	// RFID marks a product whose UDI carrier includes an RFID tag.
	RFID bool
	// SingleUse and Sterile mark single-use and sterile products.
	SingleUse, Sterile bool
	// Storage is the storage condition in words, such as "2-8 °C".
	Storage string
	// Withdrawn is the date the product was withdrawn from the market
	// (退市日期), "2026-03-14"; a use after it is flagged. "" if none.
	Withdrawn string
	// Implant and Intervention mark implants (kept forever in the implant
	// record) and interventional devices, as the NHSA catalogue says.
	Implant, Intervention bool
	// Restriction is the insurance's usage restriction (医保限用范围), in
	// words; "" when the product is not restricted.
	Restriction string
	// Procurement marks a product selected in volume-based procurement
	// (集采中选); PriceCap is the highest price insurance pays for one
	// unit (0: no cap) and AgreedVolume the volume agreed for the year.
	Procurement  bool
	PriceCap     Amount
	AgreedVolume int
	// OutsideDRG marks a device paid outside the DRG/DIP case payment
	// (除外支付): a case's cost shows it apart.
	OutsideDRG bool
	// Supplier names the supplier (配送企业), where known.
	Supplier string
	// Consigned marks a product the supplier consigns (寄售): the
	// supplier owns each unit received until it is used, and a use is a
	// consumption the supplier invoices and refills. Receipts of it are
	// recorded as the Supplier's (agent.ConsignedFlag).
	Consigned bool
	// LeadDays is how many days a replenishment of the product takes to
	// arrive (供货周期); 0: the gateway's default. The reorder point
	// computed from the forecast covers it.
	LeadDays int
}

// Label is a set of production identifiers a label carries.
type Label uint8

// Production identifiers.
const (
	LabelLot Label = 1 << iota
	LabelSerial
	LabelProduction
	LabelExpiry
)

var labelNames = [...]string{"lot", "serial", "production", "expiry"}

// Names returns the identifiers of l by name, in the order lot, serial,
// production, expiry.
func (l Label) Names() []string {
	var out []string
	for i, n := range labelNames {
		if l&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// String returns l's names joined with ";", "" for none.
func (l Label) String() string { return strings.Join(l.Names(), ";") }

// MA reports whether the entry's product key is an MA (IDcode) DI, which
// the HIBC field holds (see Product).
func (e *CatalogueEntry) MA() bool { return isMADI(e.HIBC) }

// Product returns the product key of e: the GTIN, or the HIBC product
// when there is no GTIN.
func (e *CatalogueEntry) Product() string { return productOf(e.GTIN, e.HIBC) }

// Recall is a recall of a product: of some of its lots, of some of its
// serial numbers, or, when both lists are empty, of every item.
type Recall struct {
	// GTIN or HIBC names the product, as in CatalogueEntry; one is set.
	GTIN string
	HIBC string
	// Lots are the recalled lots.
	Lots []string
	// Serials are the recalled serial numbers.
	Serials []string
	// Reason says why, in words for the nurse and the warehouse.
	Reason string
	// Date is the date of the recall notice, "2026-03-14"; "" if not given.
	Date string
}

// Product returns the product key of r (see CatalogueEntry.Product).
func (r *Recall) Product() string { return productOf(r.GTIN, r.HIBC) }

// Whole reports whether r recalls every item of its product.
func (r *Recall) Whole() bool { return len(r.Lots) == 0 && len(r.Serials) == 0 }

// LotStatus is the release status of one lot of a product.
type LotStatus struct {
	// GTIN or HIBC names the product, as in CatalogueEntry; one is set.
	GTIN string
	HIBC string
	// Lot is the lot (batch) number.
	Lot string
	// Status is the lot's status.
	Status Status
}

// Product returns the product key of s (see CatalogueEntry.Product).
func (s *LotStatus) Product() string { return productOf(s.GTIN, s.HIBC) }

// fileKey is the status's product and lot: one file gives a lot one
// status.
func (s *LotStatus) fileKey() (string, string, string) {
	k := "the status of lot " + quote(s.Lot) + " of " + s.Product()
	return k, k, "lot"
}

// Settlement is one line of an insurance settlement (医保结算): a charge
// for a consumable used on a patient in a case.
//
// Patient and Case identify a person; they must never be logged.
type Settlement struct {
	// ID is the settlement line's id, unique in the set.
	ID string
	// Patient is the patient's identifier in the hospital system.
	Patient string
	// Case is the surgical case or admission the line belongs to.
	Case string
	// InsuranceCode is the national consumable code billed; "" if none.
	InsuranceCode string
	// Item is the item key of the one item billed, as code.Code.Key gives
	// it ("(01)GTIN(21)serial", "+LICPCNUOM/Sserial"); "" when the line
	// names a product and lot instead.
	Item string
	// GTIN and Lot name what was billed when Item is empty; when Item is
	// set they are the item's GTIN and lot, if it has them.
	GTIN string
	Lot  string
	// Quantity is the number of units billed; negative for a reversal.
	Quantity int
	// Amount is the amount billed, in minor units (fen); negative for a
	// reversal.
	Amount Amount
}

// ProductKey returns the product key under which c is looked up: its
// GTIN, for an HIBC code "+" labeler, product and unit of measure, for an
// MA code its DI; "" when c is not an item code.
func ProductKey(c *code.Code) string {
	if c == nil {
		return ""
	}
	if c.GTIN != "" {
		return c.GTIN
	}
	if c.Kind == code.KindHIBC && c.HIBC != nil && c.HIBC.Labeler != "" {
		return "+" + c.HIBC.Labeler + c.HIBC.Product + string(rune(c.HIBC.UnitOfMeasure))
	}
	if c.Kind == code.KindMA && c.MA != nil {
		return code.SplitKey(c.Key()).Product
	}
	return ""
}

func productOf(gtin, hibc string) string {
	if gtin != "" {
		return gtin
	}
	return hibc
}

// isMADI reports whether v is an MA DI alone, "MA." and its four dotted
// parts, as the code parser reads one (its check character is not
// required to match: a mismatch is recorded at a scan, never refused).
func isMADI(v string) bool {
	if !strings.HasPrefix(v, "MA.") || strings.Count(v, ".") != 4 {
		return false
	}
	c, err := code.Any(v)
	return err == nil && c.Kind == code.KindMA && c.MA != nil && c.MA.DI == v
}
