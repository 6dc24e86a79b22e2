// Package national joins China's national sources with a hospital's own
// catalogue: the NMPA UDI database (agent/udid) gives what a product is
// (its device identifiers and packages, its label, its registration), the
// NHSA consumables catalogue (agent/nhsa) how insurance sees it (its
// national code, implant, high value, restriction), and the hospital's
// catalogue what it calls it and charges for it. The join is "three
// codes in one": UDI-DI, national code and the hospital's charge code in
// one master.CatalogueEntry.
//
// Which side wins is one rule (Merge): the hospital's own fields (name,
// charge code, price, imported, procurement, supplier) are the
// hospital's; the national fields (label, packages, withdrawal, implant,
// ...) are refreshed by every import of the national files. The gateway's
// `import udid`/`import nhsa` and the centre's publication both use it.
//
// It does no I/O of its own beyond the readers it is given and never logs.
package national

import (
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/agent/code"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/agent/nhsa"
	"github.com/udi-edge/udi-edge/agent/udid"
)

// Key returns the product key a device identifier is looked up under in
// the catalogue: a GTIN padded to 14 digits, an MA DI as written ("ma."
// given in capitals); any other DI as written.
func Key(di string) string {
	di = strings.TrimSpace(di)
	if di == "" {
		return ""
	}
	if allDigits(di) && len(di) <= 14 {
		return strings.Repeat("0", 14-len(di)) + di
	}
	if strings.HasPrefix(di, "ma.") {
		return "MA." + di[3:]
	}
	return di
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// usable reports whether di can be a catalogue product key: a GTIN with
// its check digit right, an MA DI, an HIBC product.
func usable(key string) bool {
	switch {
	case allDigits(key):
		if len(key) != 14 {
			return false
		}
		cd, err := code.CheckDigit(key[:13])
		return err == nil && byte('0'+cd) == key[13]
	case strings.HasPrefix(key, "MA."), strings.HasPrefix(key, "+"):
		return true
	}
	return false
}

// Entries returns the catalogue entries a UDID device describes, each
// keyed by one of its DIs: its sales unit (the minimum sales unit) first,
// then its unit of use when that has a DI of its own (the same product,
// as the unit a nurse scans), then each package (a package of the level
// below it, with the quantity, so that a scan of a box resolves to the
// product; a package whose contents or quantity the record does not give
// is kept as a product of its own). A DI that cannot be a product key (a
// GTIN with a wrong check digit, an AHM code) gives no entry; skipped
// names them.
func Entries(d udid.Device) (out []master.CatalogueEntry, skipped []string) {
	base := master.CatalogueEntry{
		Name:         firstOf(d.TradeName, d.GenericName),
		Model:        d.Model,
		Manufacturer: d.Registrant,
		GenericName:  d.GenericName,
		RFID:         d.Carriers.Has(udid.CarrierRFID),
		SingleUse:    d.SingleUse == udid.Yes,
		Sterile:      d.Sterile == udid.Yes,
		Storage:      storage(d.Storage),
		Tracking:     master.TrackLot,
	}
	if len(d.Registrations) > 0 {
		base.Registration = d.Registrations[0]
	}
	if c, err := nhsa.ParseCode(d.InsuranceCode); err == nil {
		base.InsuranceCode = string(c)
	}
	if !d.Withdrawn.IsZero() {
		base.Withdrawn = d.Withdrawn.UTC().Format(time.DateOnly)
	}
	for _, x := range []struct {
		f   udid.Flag
		bit master.Label
	}{{d.LabelLot, master.LabelLot}, {d.LabelSerial, master.LabelSerial}, {d.LabelProduction, master.LabelProduction}, {d.LabelExpiry, master.LabelExpiry}} {
		if x.f == udid.Yes {
			base.Label |= x.bit
		}
	}
	if base.Label&master.LabelSerial != 0 {
		base.Tracking = master.TrackSerial
	}
	add := func(e master.CatalogueEntry, di string) {
		key := Key(di)
		if !usable(key) {
			skipped = append(skipped, di)
			return
		}
		setKey(&e, key)
		out = append(out, e)
	}
	sales := Key(d.DI)
	unit := base
	if use := Key(d.UseUnitDI); use != "" && use != sales && usable(use) {
		unit.UseUnit, unit.UseUnits = use, d.UseUnits
	}
	add(unit, d.DI)
	if unit.UseUnit != "" {
		add(base, d.UseUnitDI)
	}
	for _, p := range d.Packing {
		key := Key(p.DI)
		if key == "" || key == sales {
			continue
		}
		pk := base
		pk.Label = 0 // the record describes the sales unit's label only
		pk.Name = base.Name + " (" + firstOf(p.Level, "package") + ")"
		if in := firstOf(Key(p.ContainsDI), sales); p.Quantity > 0 && in != key && usable(in) {
			pk.PackageOf, pk.PackageQuantity = in, p.Quantity
		}
		add(pk, p.DI)
	}
	return out, skipped
}

// setKey sets the product key of e: a GTIN or, for any other key, the
// HIBC field (which holds MA DIs too).
func setKey(e *master.CatalogueEntry, key string) {
	if allDigits(key) {
		e.GTIN, e.HIBC = key, ""
	} else {
		e.GTIN, e.HIBC = "", key
	}
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// storage writes a device's storage conditions in words: "温度 2~8 ℃;
// 湿度 ≤80 %".
func storage(ss []udid.Storage) string {
	var parts []string
	for _, s := range ss {
		var b strings.Builder
		b.WriteString(s.Condition)
		switch {
		case s.Min != "" && s.Max != "":
			b.WriteString(" " + s.Min + "~" + s.Max)
		case s.Min != "":
			b.WriteString(" ≥" + s.Min)
		case s.Max != "":
			b.WriteString(" ≤" + s.Max)
		}
		if s.Unit != "" {
			b.WriteString(" " + s.Unit)
		}
		if t := strings.TrimSpace(b.String()); t != "" {
			parts = append(parts, t)
		}
	}
	return strings.Join(parts, "; ")
}

// ApplyNHSA sets on e what the NHSA catalogue's row it says of the
// product: its national code (the 27-character code replaces a
// 20-character one it extends, and fills an empty one), implant,
// intervention, high value, single use, the insurance's restriction, and
// the generic name, registration and manufacturer where e has none. A
// row the NHSA marks invalid changes nothing: its code is no longer to
// be billed.
func ApplyNHSA(e *master.CatalogueEntry, it nhsa.Item) {
	if it.Valid == nhsa.FlagNo {
		return
	}
	cur := e.InsuranceCode
	switch {
	case cur == "", cur == string(it.Code):
		e.InsuranceCode = string(it.Code)
	case len(cur) == nhsa.ShortLen && it.Code.Len() == nhsa.LongLen && string(it.Code.Short()) == cur:
		e.InsuranceCode = string(it.Code)
	}
	if it.Implant.Yes() {
		e.Implant = true
	}
	if it.ImplantOrIntervention.Yes() && !it.Implant.Yes() {
		e.Intervention = true
	}
	e.HighValue = e.HighValue || it.HighValue.Yes()
	e.SingleUse = e.SingleUse || it.SingleUse.Yes()
	if it.Restricted.Yes() {
		e.Restriction = firstOf(it.RestrictionScope, "restricted")
	}
	if e.HighValue {
		// As the catalogue's own rule: a high-value item is tracked by
		// serial unless its label carries none.
		if e.Label == 0 || e.Label&master.LabelSerial != 0 {
			e.Tracking = master.TrackSerial
		}
	}
	e.GenericName = firstOf(e.GenericName, it.GenericName)
	e.Registration = firstOf(e.Registration, it.Registration)
	e.Manufacturer = firstOf(e.Manufacturer, it.Manufacturer, it.Registrant)
	if e.Name == "" {
		e.Name = it.Name
	}
}

// Merge returns the hospital's entry own brought up to date with nat,
// what the national sources say of the same product key: the hospital's
// name, model, charge code, price, imported mark, procurement, price cap,
// agreed volume, outside-DRG mark and supplier stay the hospital's (nat's
// fill them where own has none); the national fields (generic name,
// packages, unit of use, label, carriers, single use, sterile, storage,
// withdrawal, implant, intervention, restriction) are nat's where nat
// gives them; a 27-character national code replaces the 20-character code
// it extends, and high value or serial tracking on either side holds.
func Merge(own, nat master.CatalogueEntry) master.CatalogueEntry {
	e := own
	e.Name = firstOf(own.Name, nat.Name)
	e.Model = firstOf(own.Model, nat.Model)
	e.Manufacturer = firstOf(own.Manufacturer, nat.Manufacturer)
	e.Registration = firstOf(own.Registration, nat.Registration)
	switch {
	case own.InsuranceCode == "":
		e.InsuranceCode = nat.InsuranceCode
	case len(own.InsuranceCode) == nhsa.ShortLen && len(nat.InsuranceCode) == nhsa.LongLen && strings.HasPrefix(nat.InsuranceCode, own.InsuranceCode):
		e.InsuranceCode = nat.InsuranceCode
	}
	e.HighValue = own.HighValue || nat.HighValue
	if own.Tracking == master.TrackSerial || nat.Tracking == master.TrackSerial {
		e.Tracking = master.TrackSerial
	}
	e.GenericName = firstOf(nat.GenericName, own.GenericName)
	if nat.PackageOf != "" {
		e.PackageOf, e.PackageQuantity = nat.PackageOf, nat.PackageQuantity
	}
	if nat.UseUnit != "" {
		e.UseUnit, e.UseUnits = nat.UseUnit, nat.UseUnits
	}
	if nat.Label != 0 {
		e.Label = nat.Label
	}
	e.RFID = own.RFID || nat.RFID
	e.SingleUse = own.SingleUse || nat.SingleUse
	e.Sterile = own.Sterile || nat.Sterile
	e.Storage = firstOf(nat.Storage, own.Storage)
	e.Withdrawn = firstOf(nat.Withdrawn, own.Withdrawn)
	e.Implant = own.Implant || nat.Implant
	e.Intervention = own.Intervention || nat.Intervention
	e.Restriction = firstOf(nat.Restriction, own.Restriction)
	e.Procurement = own.Procurement || nat.Procurement
	if e.PriceCap == 0 {
		e.PriceCap = nat.PriceCap
	}
	if e.AgreedVolume == 0 {
		e.AgreedVolume = nat.AgreedVolume
	}
	e.OutsideDRG = own.OutsideDRG || nat.OutsideDRG
	e.Supplier = firstOf(own.Supplier, nat.Supplier)
	e.Consigned, e.LeadDays = own.Consigned, own.LeadDays // the hospital's terms, never the nation's
	return e
}
