package national

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/agent/nhsa"
	"github.com/udi-edge/udi-edge/agent/udid"
)

const (
	stemDI    = "06901234567892"
	stemUse   = "06901234567809"
	stemBox   = "16901234567899"
	stentMA   = "MA.156.M0.100350.01004YA10017"
	stemCode  = "C09100100000000211790000049"
	stemShort = "C0910010000000021179"
)

// stem is a GS1 hip stem with a unit of use and a box of five, as the
// UDID describes it.
func stem() udid.Device {
	return udid.Device{
		DI: "6901234567892", Coding: udid.CodingGS1, UseUnitDI: stemUse, UseUnits: 1,
		Carriers: udid.Carrier2D | udid.CarrierRFID, GenericName: "髋关节假体", TradeName: "Hip stem",
		Model: "12/14", Registrant: "Acme Ortho", Registrations: []string{"国械注准20193130001", "国械注准20193130002"},
		InsuranceCode: stemCode, SingleUse: udid.Yes, Sterile: udid.Yes, LabelLot: udid.Yes, LabelSerial: udid.Yes,
		LabelExpiry: udid.Yes, Withdrawn: time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC),
		Packing: []udid.Packing{{DI: stemBox, ContainsDI: stemDI, Quantity: 5, Level: "盒"}},
		Storage: []udid.Storage{{Condition: "温度", Min: "2", Max: "30", Unit: "℃"}},
	}
}

func TestEntries(t *testing.T) {
	es, skipped := Entries(stem())
	if len(es) != 3 || skipped != nil {
		t.Fatalf("%d entries, skipped %v", len(es), skipped)
	}
	sales := master.CatalogueEntry{
		GTIN: stemDI, Name: "Hip stem", Model: "12/14", Manufacturer: "Acme Ortho", Registration: "国械注准20193130001",
		InsuranceCode: stemCode, Tracking: master.TrackSerial, GenericName: "髋关节假体", UseUnit: stemUse, UseUnits: 1,
		Label: master.LabelLot | master.LabelSerial | master.LabelExpiry, RFID: true, SingleUse: true, Sterile: true,
		Storage: "温度 2~30 ℃", Withdrawn: "2027-06-30",
	}
	if !reflect.DeepEqual(es[0], sales) {
		t.Errorf("sales unit:\n got %+v\nwant %+v", es[0], sales)
	}
	if es[1].GTIN != stemUse || es[1].UseUnit != "" || es[1].Name != "Hip stem" {
		t.Errorf("use unit: %+v", es[1])
	}
	if b := es[2]; b.GTIN != stemBox || b.PackageOf != stemDI || b.PackageQuantity != 5 || b.Label != 0 || b.Name != "Hip stem (盒)" {
		t.Errorf("box: %+v", b)
	}

	// An MA device is keyed by its DI; a GTIN with a wrong check digit
	// gives no entry and is named.
	d := udid.Device{DI: stentMA, TradeName: "Stent", UseUnitDI: "06901234567801"}
	es, skipped = Entries(d)
	if len(es) != 1 || es[0].HIBC != stentMA || !es[0].MA() || !reflect.DeepEqual(skipped, []string(nil)) {
		t.Errorf("MA: %+v skipped %v", es, skipped)
	}
	d = udid.Device{DI: "06901234567801", TradeName: "x"}
	if es, skipped = Entries(d); len(es) != 0 || len(skipped) != 1 {
		t.Errorf("bad GTIN: %+v skipped %v", es, skipped)
	}
}

// TestMerge: the hospital's fields stay, the national ones are refreshed,
// a 27-character code replaces the 20 it extends.
func TestMerge(t *testing.T) {
	own := master.CatalogueEntry{GTIN: stemDI, Name: "髋臼柄 12/14", ChargeCode: "H-3301", UnitPrice: 700000,
		InsuranceCode: stemShort, Tracking: master.TrackLot, Storage: "old", Supplier: "华东医药", Procurement: true}
	nat, _ := Entries(stem())
	got := Merge(own, nat[0])
	if got.Name != own.Name || got.ChargeCode != "H-3301" || got.UnitPrice != 700000 || got.Supplier != "华东医药" || !got.Procurement {
		t.Errorf("hospital fields lost: %+v", got)
	}
	if got.InsuranceCode != stemCode || got.Tracking != master.TrackSerial || got.Storage != "温度 2~30 ℃" ||
		got.Withdrawn != "2027-06-30" || got.Manufacturer != "Acme Ortho" || got.Label == 0 {
		t.Errorf("national fields not taken: %+v", got)
	}
	other := own
	other.InsuranceCode = "C0910010000000099999"
	if got := Merge(other, nat[0]); got.InsuranceCode != other.InsuranceCode {
		t.Errorf("a different code of the hospital's replaced: %s", got.InsuranceCode)
	}
}

// TestJoinStocked: without All only what the hospital stocks is kept,
// with its unit of use and box; NHSA rows apply by DI and by code; the
// result passes the catalogue's own checks.
func TestJoinStocked(t *testing.T) {
	own := []master.CatalogueEntry{
		{GTIN: stemDI, Name: "髋臼柄", ChargeCode: "H-3301", UnitPrice: 700000, Tracking: master.TrackLot},
		{HIBC: stentMA, Name: "冠脉支架", UnitPrice: 75000, InsuranceCode: "C0910010000000021180", Tracking: master.TrackLot},
	}
	j := NewJoin(own)
	other := udid.Device{DI: "06901234000015", TradeName: "not stocked"}
	for _, d := range []udid.Device{stem(), other} {
		if err := j.Device(d); err != nil {
			t.Fatal(err)
		}
	}
	rows := []nhsa.Item{
		{Code: "C09100100000000211800000017", UDIDI: []string{"MA.156.M0.100350.01004YA10017"}, Implant: nhsa.FlagNo,
			ImplantOrIntervention: nhsa.FlagYes, HighValue: nhsa.FlagYes, Valid: nhsa.FlagYes},
		{Code: stemCode, Implant: nhsa.FlagYes, HighValue: nhsa.FlagYes, Restricted: nhsa.FlagYes, RestrictionScope: "限髋关节置换", Valid: nhsa.FlagYes},
		{Code: "C09999999999999999990000001", UDIDI: []string{"06901234000015"}, Implant: nhsa.FlagYes, Valid: nhsa.FlagYes},
	}
	for _, it := range rows {
		if err := j.NHSA(it); err != nil {
			t.Fatal(err)
		}
	}
	st := j.Stats()
	if st.Devices != 2 || st.Kept != 1 || st.Added != 2 || st.NHSARows != 3 || st.Matched != 2 {
		t.Errorf("stats %+v", st)
	}
	es := j.Entries()
	if len(es) != 4 {
		t.Fatalf("%d entries: %+v", len(es), es)
	}
	if s := es[0]; !s.Implant || !s.HighValue || s.Restriction != "限髋关节置换" || s.ChargeCode != "H-3301" || s.UseUnit != stemUse {
		t.Errorf("stem: %+v", s)
	}
	if s := es[1]; !s.Intervention || s.Implant || !s.HighValue || s.InsuranceCode != "C09100100000000211800000017" {
		t.Errorf("stent: %+v", s)
	}

	var b bytes.Buffer
	if err := master.WriteCatalogueJSON(&b, es); err != nil {
		t.Fatal(err)
	}
	d, _, err := (&master.Data{}).Import("catalogue", &b, master.ImportOptions{Format: master.FormatJSON})
	if err != nil {
		t.Fatal(err)
	}
	if e, q, ok := d.Resolve(stemBox); !ok || e.GTIN != stemDI || q != 5 || e.ChargeCode != "H-3301" {
		t.Errorf("box resolves to %+v × %d", e, q)
	}
}

// TestJoinGenerated: every product of a generated export, with All,
// passes the catalogue's checks; MaxEntries bounds it.
func TestJoinGenerated(t *testing.T) {
	var x bytes.Buffer
	if err := udid.Generate(&x, 300, 7); err != nil {
		t.Fatal(err)
	}
	j := NewJoin(nil)
	j.All = true
	st, err := (&udid.Reader{Problem: j.Problem}).ReadXML(bytes.NewReader(x.Bytes()), "gen.xml", j.Device)
	if err != nil {
		t.Fatal(err)
	}
	if st.Records == 0 || j.Stats().Kept != st.Records || len(j.Entries()) < int(st.Records) {
		t.Fatalf("read %+v, join %+v, %d entries", st, j.Stats(), len(j.Entries()))
	}
	var b bytes.Buffer
	if err := master.WriteCatalogueJSON(&b, j.Entries()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := master.ParseCatalogue(&b, master.ImportOptions{Format: master.FormatJSON}); err != nil {
		t.Fatalf("the join's catalogue fails the catalogue's checks: %v", err)
	}

	j = NewJoin(nil)
	j.All, j.MaxEntries = true, 50
	_, err = (&udid.Reader{Problem: j.Problem}).ReadXML(bytes.NewReader(x.Bytes()), "gen.xml", j.Device)
	if !errors.Is(err, ErrTooMany) || !strings.Contains(err.Error(), "50") {
		t.Errorf("bound: %v", err)
	}
}

// TestJoinProblem: a bad record of a stocked product stops the join; of
// another product, it is counted.
func TestJoinProblem(t *testing.T) {
	j := NewJoin([]master.CatalogueEntry{{GTIN: stemDI, Name: "x", Tracking: master.TrackLot}})
	d := stem()
	bad := &udid.RecordError{File: "f.xml", Record: 3, Key: d.DI, Device: &d}
	if err := j.Problem(bad); err != bad {
		t.Errorf("stocked: %v", err)
	}
	o := udid.Device{DI: "06901234000015"}
	if err := j.Problem(&udid.RecordError{File: "f.xml", Record: 4, Device: &o}); err != nil || j.Stats().Bad != 1 {
		t.Errorf("other: %v %+v", err, j.Stats())
	}
	j.Partial = true
	if err := j.Problem(bad); err != nil {
		t.Errorf("partial: %v", err)
	}
}

// TestJoinSpec: a release workbook's row gives the products it names by
// DI, and those carrying the code it replaces or its 20, its 27-character
// code.
func TestJoinSpec(t *testing.T) {
	own := []master.CatalogueEntry{
		{GTIN: stemDI, Name: "stem", Tracking: master.TrackLot},
		{GTIN: stemUse, Name: "old code", InsuranceCode: "C09100100000000211790000050", Tracking: master.TrackLot},
		{GTIN: stemBox, Name: "20", InsuranceCode: stemShort, Tracking: master.TrackLot},
		{GTIN: "06901234000016", Name: "other", InsuranceCode: "C0910010000000099999", Tracking: master.TrackLot},
	}
	j := NewJoin(own)
	if err := j.Spec(nhsa.Spec{UDIDI: []string{"6901234567892"}, OldCode: "C09100100000000211790000050", Code: stemCode}); err != nil {
		t.Fatal(err)
	}
	es := j.Entries()
	for i, want := range []string{stemCode, stemCode, stemCode, "C0910010000000099999"} {
		if es[i].InsuranceCode != want {
			t.Errorf("%s: %s, want %s", es[i].Name, es[i].InsuranceCode, want)
		}
	}
	if st := j.Stats(); st.Matched != 1 || st.Updated != 3 {
		t.Errorf("stats %+v", st)
	}
}
