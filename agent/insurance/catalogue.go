package insurance

import "github.com/udi-edge/udi-edge/agent/master"

// Product is what this package needs to know of a product: the
// catalogue's fields that the platform's records carry, and the prices
// its checks compare.
type Product struct {
	// Key is the product key (master.CatalogueEntry.Product: the GTIN, or
	// the HIBC product).
	Key string
	// Name is the product's name in the hospital's catalogue
	// (fixmedins_hilist_name).
	Name string
	// HospitalCode is the hospital's own code for the product, its charge
	// code (fixmedins_hilist_id in 3501–3506, medins_list_codg in 2301).
	HospitalCode string
	// NationalCode is the NHSA consumable code (med_list_codg): 27
	// characters, or the 20-character code it starts with; "" if none.
	NationalCode string
	// Manufacturer (prodentp_name) and Registration, the device
	// registration number (aprvno), as the purchase record carries them.
	Manufacturer, Registration string
	// Supplier (spler_name) and SupplierLicence (spler_pmtno).
	Supplier, SupplierLicence string
	// UnitPrice is the price charged for one unit, in fen (the sale's and
	// the stock change's price).
	UnitPrice master.Amount
	// PurchasePrice is the price paid for one unit, in fen
	// (finl_trns_pric of a purchase); 0 if unknown.
	PurchasePrice master.Amount
	// PriceCap is the most one unit may be billed, in fen: the
	// volume-based procurement (集采) price; 0 if none.
	PriceCap master.Amount
}

// Catalogue gives the product of an item. The lead's implementation is
// over master.Data.
type Catalogue interface {
	// Product returns the product of the item whose key (agent.Movement.
	// Item) is item; false when the catalogue does not list it.
	Product(item string) (Product, bool)
}

// CodeMapper maps a national code to the code in force: an old code to
// its replacement (the release's 转码表), a current code to itself.
// withdrawn is true for a code the release withdrew (停用表). A nil
// CodeMapper maps every code to itself.
type CodeMapper func(code string) (current string, withdrawn bool)

func (m CodeMapper) apply(code string) (string, bool) {
	if m == nil {
		return code, false
	}
	cur, w := m(code)
	if cur == "" {
		cur = code
	}
	return cur, w
}

// Length of the NHSA consumable code: 20 characters (classification,
// generic name, material, feature, manufacturer) and 27 (and the
// product's specification and model).
const (
	CodeLen20 = 20
	CodeLen27 = 27
)

// CodesMatch reports whether national codes a and b name the same
// product: equal, or, when one has 20 characters and the other 27, the
// 27-character code begins with the 20-character one.
func CodesMatch(a, b string) bool {
	switch {
	case a == b:
		return a != ""
	case len(a) == CodeLen20 && len(b) == CodeLen27:
		return b[:CodeLen20] == a
	case len(a) == CodeLen27 && len(b) == CodeLen20:
		return a[:CodeLen20] == b
	}
	return false
}

// Consumable reports whether code is an NHSA consumable code: it begins
// with "C".
func Consumable(code string) bool { return len(code) > 0 && code[0] == 'C' }
