package master

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// nationalCSV is a catalogue with the national sources' columns: a GS1
// implant with its package and use unit, an MA product given in the di
// column, a 27-character insurance code.
const nationalCSV = `di,name,unit_price,insurance_code,generic_name,package_of,package_quantity,use_unit,label,rfid,single_use,sterile,storage,withdrawn,implant,intervention,restriction,procurement,price_cap,agreed_volume,outside_drg,supplier
06901234567892,Hip stem,7000.00,C09100100000000211790000049,髋关节假体,,,06901234567809,lot;serial;expiry,true,是,是,室温,2027/06/30,1,0,限髋关节置换,true,7200.00,120,false,华东医药
16901234567899,Hip stem box of 5,35000.00,,,06901234567892,5,,,,,,,,,,,,,,,
MA.156.M0.100350.01004YA10017,Coronary stent,750.00,C0910010000000021179,冠脉支架,,,,lot;expiry,,,,,,,true,,true,800,1000,,
`

func TestCatalogueNationalFields(t *testing.T) {
	cat, _, err := ParseCatalogue(strings.NewReader(nationalCSV), ImportOptions{Format: FormatCSV})
	if err != nil {
		t.Fatal(err)
	}
	hip := cat[0]
	want := CatalogueEntry{
		GTIN: "06901234567892", Name: "Hip stem", UnitPrice: 700000, InsuranceCode: "C09100100000000211790000049",
		Tracking: TrackSerial, GenericName: "髋关节假体", UseUnit: "06901234567809", Label: LabelLot | LabelSerial | LabelExpiry,
		RFID: true, SingleUse: true, Sterile: true, Storage: "室温", Withdrawn: "2027-06-30", Implant: true,
		Restriction: "限髋关节置换", Procurement: true, PriceCap: 720000, AgreedVolume: 120, Supplier: "华东医药",
	}
	if !reflect.DeepEqual(hip, want) {
		t.Errorf("hip:\n got %+v\nwant %+v", hip, want)
	}
	if box := cat[1]; box.PackageOf != "06901234567892" || box.PackageQuantity != 5 {
		t.Errorf("box: %+v", box)
	}
	ma := cat[2]
	if ma.GTIN != "" || ma.HIBC != "MA.156.M0.100350.01004YA10017" || !ma.MA() || ma.Product() != ma.HIBC ||
		ma.InsuranceCode != "C0910010000000021179" || ma.Label != LabelLot|LabelExpiry || ma.Tracking != TrackLot || !ma.Intervention {
		t.Errorf("MA: %+v", ma)
	}

	// Stored and loaded again, every field comes back.
	d, _, err := (&Data{}).Import("catalogue", strings.NewReader(nationalCSV), ImportOptions{Format: FormatCSV})
	if err != nil {
		t.Fatal(err)
	}
	st := &memStore{values: map[string][]byte{}, damaged: map[string]bool{}}
	if err := Save(st, d); err != nil {
		t.Fatal(err)
	}
	back, damaged, err := Load(st)
	if err != nil || damaged != nil {
		t.Fatalf("%v, damaged %v", err, damaged)
	}
	if !reflect.DeepEqual(back.Catalogue(), cat) {
		t.Errorf("loaded:\n%+v\nwant\n%+v", back.Catalogue(), cat)
	}

	// A box resolves to the stem, five of them; the stem to itself.
	if e, q, ok := back.Resolve("16901234567899"); !ok || e.GTIN != "06901234567892" || q != 5 {
		t.Errorf("box resolves to %s × %d, %v", e.GTIN, q, ok)
	}
	if e, q, ok := back.Resolve("MA.156.M0.100350.01004YA10017"); !ok || e.Name != "Coronary stent" || q != 1 {
		t.Errorf("MA resolves to %q × %d, %v", e.Name, q, ok)
	}
	if _, _, ok := back.Resolve("06900000000000"); ok {
		t.Error("an unknown DI resolves")
	}
}

// TestCatalogueNationalFieldsRefused: each bad value of the new columns
// is named by its column.
func TestCatalogueNationalFieldsRefused(t *testing.T) {
	for name, tc := range map[string]struct{ row, col, says string }{
		"insurance code 26 chars": {"06901234567892,A,1,C0910010000000021179000004,,,,,,", "insurance_code", "characters"},
		"insurance code no C":     {"06901234567892,A,1,09100100000000211790000049,,,,,,", "insurance_code", "C"},
		"package without count":   {"06901234567892,A,1,,06901234567809,,,,,", "package_quantity", "missing"},
		"count without package":   {"06901234567892,A,1,,,3,,,,", "package_of", "missing"},
		"package of itself":       {"06901234567892,A,1,,06901234567892,2,,,,", "package_of", "itself"},
		"package of a bad GTIN":   {"06901234567892,A,1,,06901234567801,2,,,,", "package_of", "check digit"},
		"label word":              {"06901234567892,A,1,,,,lot;colour,,,", "label", "colour"},
		"withdrawn date":          {"06901234567892,A,1,,,,,31.12.2026,,", "withdrawn", "date"},
		"price cap":               {"06901234567892,A,1,,,,,,-3,", "price_cap", ""},
		"bad MA DI":               {"MA.156.X,A,1,,,,,,,", "hibc", "MA DI"},
	} {
		t.Run(name, func(t *testing.T) {
			file := "di,name,unit_price,insurance_code,package_of,package_quantity,label,withdrawn,price_cap,agreed_volume\n" + tc.row + "\n"
			_, _, err := ParseCatalogue(strings.NewReader(file), ImportOptions{Format: FormatCSV})
			var be *BadRowsError
			if !errors.As(err, &be) || len(be.Rows) == 0 {
				t.Fatalf("%v", err)
			}
			found := false
			for _, re := range be.Rows {
				if re.Column == tc.col && strings.Contains(re.Reason, tc.says) {
					found = true
				}
			}
			if !found {
				t.Errorf("%v: want column %s saying %q", err, tc.col, tc.says)
			}
		})
	}
}

// TestWriteCatalogueJSON: what WriteCatalogueJSON writes reads back as
// the same entries.
func TestWriteCatalogueJSON(t *testing.T) {
	cat, _, err := ParseCatalogue(strings.NewReader(nationalCSV), ImportOptions{Format: FormatCSV})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := WriteCatalogueJSON(&b, cat); err != nil {
		t.Fatal(err)
	}
	back, _, err := ParseCatalogue(strings.NewReader(b.String()), ImportOptions{Format: FormatJSON})
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if !reflect.DeepEqual(back, cat) {
		t.Errorf("read back:\n%+v\nwant\n%+v", back, cat)
	}
}

// TestScheduleCaseFields: a case's DRG/DIP group, payment standard,
// surgeon and medical record number are read and stored; a schedule set
// stored before them still loads.
func TestScheduleCaseFields(t *testing.T) {
	const file = "case,patient,room,start,end,group,payment_standard,surgeon,record_no\n" +
		"C-1,P-1,OR-3,2026-11-25T08:00:00+08:00,2026-11-25T10:00:00+08:00,IC29,52000.00,王医生,BA0012345\n" +
		"C-2,P-2,OR-3,2026-11-25T11:00:00+08:00,2026-11-25T12:00:00+08:00,,,,\n"
	d, _, err := (&Data{}).Import("schedules", strings.NewReader(file), ImportOptions{Format: FormatCSV})
	if err != nil {
		t.Fatal(err)
	}
	st := &memStore{values: map[string][]byte{}, damaged: map[string]bool{}}
	if err := Save(st, d); err != nil {
		t.Fatal(err)
	}
	back, damaged, err := Load(st)
	if err != nil || damaged != nil {
		t.Fatalf("%v %v", err, damaged)
	}
	got := back.Schedules()
	if len(got) != 2 || got[0].Group != "IC29" || got[0].Standard != 5200000 || got[0].Surgeon != "王医生" || got[0].Record != "BA0012345" || got[1].Group != "" {
		t.Errorf("loaded %+v", got)
	}
	// Without the new fields the stored form is the earlier one.
	old, _, err := (&Data{}).Import("schedules", strings.NewReader("case,room,start,end\nC-1,OR-3,2026-11-25 08:00,2026-11-25 10:00\n"), ImportOptions{Format: FormatCSV})
	if err != nil {
		t.Fatal(err)
	}
	v1, _ := old.MarshalSets("schedules")
	v2, _ := d.MarshalSets("schedules")
	if len(v2["schedules"]) <= len(v1["schedules"]) {
		t.Errorf("the fields were not stored: %d against %d bytes", len(v2["schedules"]), len(v1["schedules"]))
	}
	// A bad medical record number is named, never quoted.
	_, _, err = ParseSchedules(strings.NewReader("case,room,start,end,record_no\nC-1,OR-3,2026-11-25 08:00,2026-11-25 10:00,"+strings.Repeat("9", 80)+"\n"), ImportOptions{Format: FormatCSV})
	if err == nil || !strings.Contains(err.Error(), "record_no") || strings.Contains(err.Error(), "99999") {
		t.Errorf("bad record_no: %v", err)
	}
}

// TestCodes: the NHSA's code releases as master data: an old code mapped
// along its chain to the code in force, a withdrawn code, a loop ended,
// bad rows named; stored and loaded.
func TestCodes(t *testing.T) {
	const file = "原代码,新代码,停用,日期\n" +
		"C09100100000000211790000049,C09100100000000211790000050,,2026-01-01\n" +
		"C09100100000000211790000050,C09100100000000211790000061,,2026-06-01\n" +
		"C09100100000000211790000072,,是,2026-03-01\n" +
		"C09100100000000211790000083,C09100100000000211790000094,,\n" +
		"C09100100000000211790000094,C09100100000000211790000083,,\n"
	d, _, err := (&Data{}).Import("codes", strings.NewReader(file), ImportOptions{Format: FormatCSV})
	if err != nil {
		t.Fatal(err)
	}
	for code, want := range map[string]struct {
		now       string
		withdrawn bool
	}{
		"C09100100000000211790000049": {"C09100100000000211790000061", false},
		"C09100100000000211790000061": {"C09100100000000211790000061", false},
		"C09100100000000211790000072": {"C09100100000000211790000072", true},
		"C09100100000000211790000083": {"C09100100000000211790000094", false},
		"C0910010000000021179":        {"C0910010000000021179", false},
	} {
		if now, w := d.MapCode(code); now != want.now || w != want.withdrawn {
			t.Errorf("MapCode(%s) = %s, %v; want %s, %v", code, now, w, want.now, want.withdrawn)
		}
	}
	st := &memStore{values: map[string][]byte{}, damaged: map[string]bool{}}
	if err := Save(st, d); err != nil {
		t.Fatal(err)
	}
	back, damaged, err := Load(st)
	if err != nil || damaged != nil || !reflect.DeepEqual(back.Codes(), d.Codes()) || back.Counts().Codes != 5 {
		t.Fatalf("loaded %+v %v %v", back.Codes(), damaged, err)
	}
	for name, row := range map[string]struct{ row, col, says string }{
		"neither":    {"C09100100000000211790000049,,,", "new_code", "missing"},
		"both":       {"C09100100000000211790000049,C09100100000000211790000050,true,", "withdrawn", "one or the other"},
		"itself":     {"C09100100000000211790000049,C09100100000000211790000049,,", "new_code", "itself"},
		"bad code":   {"C091,C09100100000000211790000050,,", "code", "national insurance"},
		"bad date":   {"C09100100000000211790000049,,true,1.1.2026", "date", "date"},
		"no code":    {",C09100100000000211790000050,,", "code", "missing"},
		"bad new":    {"C09100100000000211790000049,X,,", "new_code", "national insurance"},
		"withdrawn?": {"C09100100000000211790000049,,maybe,", "withdrawn", "yes or no"},
	} {
		_, _, err := ParseCodes(strings.NewReader("code,new_code,withdrawn,date\n"+row.row+"\n"), ImportOptions{Format: FormatCSV})
		var be *BadRowsError
		if !errors.As(err, &be) || len(be.Rows) == 0 || !strings.Contains(be.Rows[0].Column+": "+be.Rows[0].Reason, row.col+": ") ||
			!strings.Contains(be.Rows[0].Reason, row.says) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// FuzzImportSets imports any input as each set, in CSV and JSON: it is
// refused with one of the import's errors, or it is held, and what is
// held is stored, loaded and stored again to the same bytes. Seeded with the columns the
// national sources brought (the catalogue's, the schedules' case fields,
// the code releases).
func FuzzImportSets(f *testing.F) {
	index := func(set string) uint8 { return uint8(slices.Index(SetNames, set)) }
	f.Add(index("catalogue"), []byte(nationalCSV), false)
	f.Add(index("codes"), []byte("code,new_code,withdrawn,date\nC09100100000000211790000049,C09100100000000211790000050,,2026-01-01\nC0910010000000021179,,是,\n"), true)
	f.Add(index("codes"), []byte(`[{"code":"C09100100000000211790000049","withdrawn":"true"}]`), false)
	f.Add(index("schedules"), []byte("case,room,start,end,group,payment_standard,surgeon,record_no\nC-1,OR-3,2026-11-25 08:00,2026-11-25 10:00,IC29,52000.00,王,BA-1\n"), false)
	f.Fuzz(func(t *testing.T, which uint8, in []byte, partial bool) {
		set := SetNames[int(which)%len(SetNames)]
		for _, format := range []string{FormatCSV, FormatJSON} {
			d, _, err := (&Data{}).Import(set, bytes.NewReader(in), ImportOptions{Format: format, Partial: partial, AllowEmpty: true})
			if err != nil {
				if d != nil {
					t.Fatalf("%s %s: data with error %v", set, format, err)
				}
				for _, known := range []error{ErrBadRows, ErrHeader, ErrFormat, ErrEmpty, ErrEncoding, ErrTooLarge} {
					if errors.Is(err, known) {
						err = nil
					}
				}
				if err != nil {
					t.Fatalf("%s %s: unexpected error %v", set, format, err)
				}
				continue
			}
			values, err := d.MarshalSets(set)
			if err != nil {
				t.Fatal(err)
			}
			// Compared in their stored form: a time read in the local
			// zone loads as the same instant in a fixed one.
			back, damaged := LoadSets(values, nil)
			again, err := back.MarshalSets(set)
			if damaged != nil || err != nil || !bytes.Equal(again[set], values[set]) {
				t.Fatalf("%s %s: stored and loaded again differs (damaged %v, %v)", set, format, damaged, err)
			}
		}
	})
}

// TestCatalogueConsignment: a consigned product names its supplier and
// lead time, kept through the store; a consigned product with no
// supplier is refused, naming the column; a block stored before the
// lead time existed reads it as zero.
func TestCatalogueConsignment(t *testing.T) {
	const file = "gtin,name,unit_price,supplier,consigned,lead_days\n" +
		"06901234567892,Stent,750.00,华东医药,是,3\n" +
		"06901234567809,Gauze,1.00,,false,\n"
	d, _, err := (&Data{}).Import("catalogue", strings.NewReader(file), ImportOptions{Format: FormatCSV})
	if err != nil {
		t.Fatal(err)
	}
	st := &memStore{values: map[string][]byte{}, damaged: map[string]bool{}}
	if err := Save(st, d); err != nil {
		t.Fatal(err)
	}
	back, _, err := Load(st)
	if err != nil {
		t.Fatal(err)
	}
	stent, ok := back.Lookup("06901234567892")
	if !ok || !stent.Consigned || stent.Supplier != "华东医药" || stent.LeadDays != 3 {
		t.Errorf("stent: %+v", stent)
	}
	if gauze, _ := back.Lookup("06901234567809"); gauze.Consigned || gauze.LeadDays != 0 {
		t.Errorf("gauze: %+v", gauze)
	}

	_, _, err = ParseCatalogue(strings.NewReader("gtin,name,unit_price,consigned\n06901234567892,Stent,1,yes\n"), ImportOptions{Format: FormatCSV})
	var be *BadRowsError
	if !errors.As(err, &be) || be.Rows[0].Column != "supplier" {
		t.Fatalf("consigned without supplier: %v", err)
	}

	// The block as stored before lead_days: the same, less its last byte.
	e := CatalogueEntry{GTIN: "06901234567892", Name: "Stent", Supplier: "S", Consigned: true}
	b := putEntry(nil, &e)
	if b[len(b)-1] != 0 {
		t.Fatalf("lead days 0 encodes as %x", b[len(b)-1])
	}
	var got CatalogueEntry
	r := decoder{s: string(shorten(t, b))}
	getEntry(&r, &got)
	if r.bad || !got.Consigned || got.Supplier != "S" || got.LeadDays != 0 || r.off != len(r.s) {
		t.Errorf("old block: bad %v, %+v, read %d of %d", r.bad, got, r.off, len(r.s))
	}
}

// shorten returns b, an encoded entry ending with its lead days (one
// byte), as an older version wrote it: without them, the block's length
// one less.
func shorten(t *testing.T, b []byte) []byte {
	t.Helper()
	var e CatalogueEntry
	r := decoder{s: string(b)}
	getEntry(&r, &e)
	if r.bad || r.off != len(b) {
		t.Fatalf("entry does not decode: %v at %d of %d", r.bad, r.off, len(b))
	}
	// The block's 3 length bytes precede it; find them as the position
	// whose value is the rest of the entry's length.
	for i := 0; i+3 <= len(b); i++ {
		n := int(b[i]) | int(b[i+1])<<8 | int(b[i+2])<<16
		if n == len(b)-i-3 && i > 0 && b[i-1]&flagMore != 0 {
			out := slices.Clone(b[:len(b)-1])
			n--
			out[i], out[i+1], out[i+2] = byte(n), byte(n>>8), byte(n>>16)
			return out
		}
	}
	t.Fatal("no block length found")
	return nil
}

// TestParLocations: the locations with a par level of a product, kept
// through the store.
func TestParLocations(t *testing.T) {
	d, _, err := (&Data{}).Import("par", strings.NewReader("location,gtin,min,max\nOR-3,06901234567892,1,2\nWH,06901234567892,5,9\nWH,06901234567809,0,4\n"), ImportOptions{Format: FormatCSV})
	if err != nil {
		t.Fatal(err)
	}
	st := &memStore{values: map[string][]byte{}, damaged: map[string]bool{}}
	if err := Save(st, d); err != nil {
		t.Fatal(err)
	}
	back, _, err := Load(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []*Data{d, back} {
		if got := x.ParLocations("06901234567892"); !slices.Equal(got, []string{"OR-3", "WH"}) {
			t.Errorf("stem at %v", got)
		}
		if got := x.ParLocations("06900000000000"); len(got) != 0 {
			t.Errorf("unknown product at %v", got)
		}
	}
	if got := (*Data)(nil).ParLocations("06901234567892"); got != nil {
		t.Errorf("nil data: %v", got)
	}
}
