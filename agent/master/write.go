package master

import (
	"encoding/json"
	"io"
	"strconv"
)

// catalogueRow is a catalogue entry as a row of a catalogue JSON file:
// the columns' names (catalogueSchema), empty values left out.
type catalogueRow struct {
	GTIN            string   `json:"gtin,omitempty"`
	HIBC            string   `json:"hibc,omitempty"`
	Name            string   `json:"name"`
	Model           string   `json:"model,omitempty"`
	Manufacturer    string   `json:"manufacturer,omitempty"`
	Registration    string   `json:"registration,omitempty"`
	InsuranceCode   string   `json:"insurance_code,omitempty"`
	ChargeCode      string   `json:"charge_code,omitempty"`
	UnitPrice       string   `json:"unit_price"`
	HighValue       bool     `json:"high_value,omitempty"`
	Imported        bool     `json:"imported,omitempty"`
	Tracking        Tracking `json:"tracking,omitempty"`
	GenericName     string   `json:"generic_name,omitempty"`
	PackageOf       string   `json:"package_of,omitempty"`
	PackageQuantity string   `json:"package_quantity,omitempty"`
	UseUnit         string   `json:"use_unit,omitempty"`
	UseUnits        string   `json:"use_units,omitempty"`
	Label           []string `json:"label,omitempty"`
	RFID            bool     `json:"rfid,omitempty"`
	SingleUse       bool     `json:"single_use,omitempty"`
	Sterile         bool     `json:"sterile,omitempty"`
	Storage         string   `json:"storage,omitempty"`
	Withdrawn       string   `json:"withdrawn,omitempty"`
	Implant         bool     `json:"implant,omitempty"`
	Intervention    bool     `json:"intervention,omitempty"`
	Restriction     string   `json:"restriction,omitempty"`
	Procurement     bool     `json:"procurement,omitempty"`
	PriceCap        string   `json:"price_cap,omitempty"`
	AgreedVolume    string   `json:"agreed_volume,omitempty"`
	OutsideDRG      bool     `json:"outside_drg,omitempty"`
	Supplier        string   `json:"supplier,omitempty"`
	Consigned       bool     `json:"consigned,omitempty"`
	LeadDays        int      `json:"lead_days,omitempty"`
}

func count(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// WriteCatalogueJSON writes entries as a catalogue file in JSON, one row
// an entry, as ParseCatalogue and Import read it back: the form in which
// the centre publishes a catalogue and agent/national hands its joins to
// Import, so that they pass the same checks as a hospital's own file.
func WriteCatalogueJSON(w io.Writer, entries []CatalogueEntry) error {
	if _, err := io.WriteString(w, "["); err != nil {
		return err
	}
	for i := range entries {
		e := &entries[i]
		row := catalogueRow{
			GTIN: e.GTIN, HIBC: e.HIBC, Name: e.Name, Model: e.Model, Manufacturer: e.Manufacturer,
			Registration: e.Registration, InsuranceCode: e.InsuranceCode, ChargeCode: e.ChargeCode,
			UnitPrice: e.UnitPrice.String(), HighValue: e.HighValue, Imported: e.Imported, Tracking: e.Tracking,
			GenericName: e.GenericName, PackageOf: e.PackageOf, PackageQuantity: count(e.PackageQuantity),
			UseUnit: e.UseUnit, UseUnits: count(e.UseUnits), Label: e.Label.Names(), RFID: e.RFID,
			SingleUse: e.SingleUse, Sterile: e.Sterile, Storage: e.Storage, Withdrawn: e.Withdrawn,
			Implant: e.Implant, Intervention: e.Intervention, Restriction: e.Restriction,
			Procurement: e.Procurement, AgreedVolume: count(e.AgreedVolume), OutsideDRG: e.OutsideDRG, Supplier: e.Supplier,
			Consigned: e.Consigned, LeadDays: e.LeadDays,
		}
		if e.PriceCap != 0 {
			row.PriceCap = e.PriceCap.String()
		}
		b, err := json.Marshal(row)
		if err != nil {
			return err
		}
		if i > 0 {
			b = append([]byte(",\n"), b...)
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "]\n")
	return err
}
