package nationaldb

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/agent/national"
	"github.com/udi-edge/udi-edge/agent/nhsa"
	"github.com/udi-edge/udi-edge/agent/testkit"
	"github.com/udi-edge/udi-edge/agent/udid"
	bolt "go.etcd.io/bbolt"
)

// TestRecordRoundTrip: a device and an NHSA row come back from their
// records as they went in (times in UTC); every truncation of a record
// is refused as corrupt, never read as something else.
func TestRecordRoundTrip(t *testing.T) {
	g := udid.Generator{Seed: 3}
	for i := range 300 {
		d := g.Device(i)
		r := deviceRecord{keys: []string{national.Key(d.DI), "x"}, codes: []string{"C1"}, d: d}
		v := encodeDevice(&r)
		got, err := decodeDevice(v)
		if err != nil {
			t.Fatalf("device %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("device %d:\n got %+v\nwant %+v", i, got, r)
		}
		if i < 5 {
			for n := range len(v) {
				if _, err := decodeDevice(v[:n]); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("device %d cut to %d of %d bytes: %v", i, n, len(v), err)
				}
			}
		}
	}
	it := nhsa.Item{Code: "C09100100000000211790000049", Name: "管路", UDIDI: []string{"06901234567892", "MA.156.M0.100350.01004YA10017"},
		GenericNameCode: "C0910010000", GenericName: "体外循环管路", SpecModel: "A-1", Restricted: nhsa.FlagYes, RestrictionScope: "限成人",
		HighValue: nhsa.FlagYes, Implant: nhsa.FlagNo, ImplantOrIntervention: nhsa.FlagUnset, SingleUse: nhsa.FlagYes,
		Registration: "国械注准20203100001", Registrant: "甲", Manufacturer: "乙", Valid: nhsa.FlagYes, RecordID: "rid-1", Version: "20240101", VersionName: "第1期"}
	v := encodeRow(&it)
	if got, err := decodeRow(v); err != nil || !reflect.DeepEqual(got, it) {
		t.Fatalf("row:\n got %+v %v\nwant %+v", got, err, it)
	}
	if _, err := decodeRow(append(v, 0)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a byte after the row: %v", err)
	}
}

// TestImportGenerated imports 3,000 generated devices: every device with a
// usable DI is found by each of its DIs (sales unit, unit of use,
// packages) with exactly the entries national.Entries gives; the others
// are counted as unkeyed; the counters agree.
func TestImportGenerated(t *testing.T) {
	const n = 3000
	db := openDB(t)
	st := importUDID(t, db, generated(t, t.TempDir(), n, 11))
	g := udid.Generator{Seed: 11}
	var unkeyed, keys int64
	for i := range n {
		d := g.Device(i)
		want, _ := national.Entries(d)
		got, ok, err := db.Product(d.DI)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) == 0 {
			unkeyed++
			if ok {
				t.Fatalf("device %d (%s) has no usable DI and is found: %+v", i, d.DI, got)
			}
			continue
		}
		keys += int64(len(want))
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("device %d:\n got %+v\nwant %+v", i, got, want)
		}
		for _, w := range want {
			e, ok, err := db.Lookup(w.Product())
			if err != nil || !ok || !reflect.DeepEqual(e, w) {
				t.Fatalf("device %d, DI %s: %+v %v %v", i, w.Product(), e, ok, err)
			}
		}
	}
	if st.Read != n || st.Bad != 0 || st.Unkeyed != unkeyed || st.Kept != n-unkeyed || unkeyed == 0 {
		t.Fatalf("stats %+v; %d devices have no usable DI", st, unkeyed)
	}
	in, err := db.Info()
	if err != nil || in.Devices != st.Kept || in.Keys != keys || in.NHSARows != 0 {
		t.Fatalf("info %+v %v, want %d devices, %d keys", in, err, st.Kept, keys)
	}
	// A GTIN-13 is padded; a DI the index lacks is not found.
	d := g.Device(0)
	if want, _ := national.Entries(d); len(want) > 0 && strings.HasPrefix(want[0].GTIN, "0") {
		if e, ok, _ := db.Lookup(want[0].GTIN[1:]); !ok || e.GTIN != want[0].GTIN {
			t.Errorf("GTIN-13 lookup: %+v %v", e, ok)
		}
	}
	if e, ok, err := db.Lookup(gtin("0001234567890")); ok || err != nil {
		t.Errorf("a DI the index lacks: %+v %v", e, err)
	}
}

// TestReimportIdempotent: importing the same file again changes not a
// byte of the index, and writes no page but each transaction's free
// list and meta: a UDID re-import that changes nothing commits no
// transaction at all.
func TestReimportIdempotent(t *testing.T) {
	db := openDB(t)
	dir := t.TempDir()
	path := generated(t, dir, 1500, 5)
	rows := writeNHSA(t, dir, "cat.txt", row{Code: "C09100100000000211790000049", Name: "管路", DIs: gtin("0690123456789"), Implant: "1"},
		row{Code: "C09100100000000211800000017", Name: "盒", DIs: gtin("0690123456790")})
	first := importUDID(t, db, path)
	importNHSA(t, db, rows)
	before := dump(t, db)
	written := pagesWritten(db)
	again := importUDID(t, db, path) // none
	importNHSA(t, db, rows)          // 1
	if after := dump(t, db); !reflect.DeepEqual(before, after) {
		t.Fatalf("re-import changed the index: %d entries before, %d after", len(before), len(after))
	}
	if n := pagesWritten(db) - written; n != 2 {
		t.Errorf("re-import wrote %d pages, want 2 (the NHSA import's transaction: its free list and meta page)", n)
	}
	if again.Kept != first.Kept || again.Conflicts != 0 || again.Stale != 0 {
		t.Fatalf("first %+v, again %+v", first, again)
	}
}

// TestReplaceVersions: a newer version of a device replaces it and the
// DIs it no longer has; an older one is stale and changes nothing; a DI
// two devices give belongs to the device whose sales unit it is, else to
// the one written last.
func TestReplaceVersions(t *testing.T) {
	db := openDB(t)
	dir := t.TempDir()
	d1, b1, u1 := gtin("0690000000001"), gtin("1690000000001"), gtin("0690000000901")
	d2, b2 := gtin("0690000000002"), gtin("1690000000002")
	d3 := gtin("0690000000003")
	v1 := writeUDID(t, dir, "v1.xml",
		dev{DI: d1, Name: "旧名", Version: 2, VersionTime: "2025-01-01", Box: b1},
		dev{DI: d2, Name: "二", Version: 1, VersionTime: "2025-01-01", Box: b2})
	importUDID(t, db, v1)
	if e, ok, _ := db.Lookup(b1); !ok || e.PackageOf != d1 || e.PackageQuantity != 10 {
		t.Fatalf("box of v1: %+v %v", e, ok)
	}
	v2 := writeUDID(t, dir, "v2.xml", dev{DI: d1, Name: "新名", Version: 3, VersionTime: "2026-01-01", Use: u1})
	if st := importUDID(t, db, v2); st.Kept != 1 || st.Stale != 0 {
		t.Fatalf("v2: %+v", st)
	}
	if e, ok, _ := db.Lookup(b1); ok {
		t.Fatalf("the box v2 dropped is still found: %+v", e)
	}
	es, ok, _ := db.Product(d1)
	if !ok || len(es) != 2 || es[0].Name != "新名" || es[0].UseUnit != u1 || es[1].GTIN != u1 {
		t.Fatalf("v2: %+v", es)
	}
	if in, _ := db.Info(); in.Devices != 2 || in.Keys != 4 {
		t.Fatalf("info after v2: %+v", in)
	}

	// v1 again: d1 is stale (the index holds version 3); d2, the same
	// version, is written again.
	if st := importUDID(t, db, v1); st.Stale != 1 || st.Kept != 1 {
		t.Fatalf("v1 again: %+v", st)
	}
	if e, ok, _ := db.Lookup(d1); !ok || e.Name != "新名" {
		t.Fatalf("a stale version replaced a newer one: %+v", e)
	}
	// Of the same version time, the version number decides.
	if st := importUDID(t, db, writeUDID(t, dir, "old2.xml", dev{DI: d2, Name: "旧二", Version: 0, VersionTime: "2025-01-01", Box: b2})); st.Stale != 1 {
		t.Fatalf("an older version number: %+v", st)
	}

	// d3 gives d2's box as its own: the last imported holds it.
	st := importUDID(t, db, writeUDID(t, dir, "v3.xml", dev{DI: d3, Name: "三", Version: 1, VersionTime: "2025-06-01", Box: b2}))
	if st.Conflicts != 1 || len(st.Problems) != 1 || !strings.Contains(st.Problems[0], b2) {
		t.Fatalf("v3: %+v", st)
	}
	if e, ok, _ := db.Lookup(b2); !ok || e.PackageOf != d3 {
		t.Fatalf("box after v3: %+v", e)
	}
	// A newer d3 without the box removes it (d3 held it); d2 gets it back
	// when it is imported again.
	importUDID(t, db, writeUDID(t, dir, "v4.xml", dev{DI: d3, Name: "三", Version: 2, VersionTime: "2025-07-01"}))
	if _, ok, _ := db.Lookup(b2); ok {
		t.Fatal("the box d3 dropped is still found")
	}
	if in, _ := db.Info(); in.Devices != 3 || in.Keys != 4 { // d1, u1, d2, d3
		t.Fatalf("info: %+v", in)
	}
	importUDID(t, db, v1)
	if e, ok, _ := db.Lookup(b2); !ok || e.PackageOf != d2 {
		t.Fatalf("d2's box after d2 again: %+v %v", e, ok)
	}
	if in, _ := db.Info(); in.Devices != 3 || in.Keys != 5 {
		t.Fatalf("info: %+v", in)
	}

	// A DI that is a device's sales unit stays that device's, whichever
	// comes first.
	d5 := gtin("0690000000005")
	st = importUDID(t, db, writeUDID(t, dir, "v5.xml", dev{DI: d5, Name: "五", Version: 1, VersionTime: "2025-01-01", Box: d1}))
	if st.Conflicts != 1 || !strings.Contains(st.Problems[0], "is the sales unit of device "+d1) {
		t.Fatalf("a package DI that is another's sales unit: %+v", st)
	}
	if e, _, _ := db.Lookup(d1); e.PackageOf != "" || e.Name != "新名" {
		t.Fatalf("d1 became a package: %+v", e)
	}
	importUDID(t, db, writeUDID(t, dir, "v6.xml", dev{DI: b2, Name: "六", Version: 1, VersionTime: "2025-01-01"}))
	for range 2 {
		if e, _, _ := db.Lookup(b2); e.PackageOf != "" || e.Name != "六" {
			t.Fatalf("b2, a sales unit now: %+v", e)
		}
		if st := importUDID(t, db, v1); st.Conflicts != 1 {
			t.Fatalf("d2 again: %+v", st)
		}
	}
}

// TestBadRecords: a bad record is counted and named (file, record,
// field) and the import goes on; the version it would have replaced
// stays. Problems are bounded, counts are not. A file that is no UDID
// export is a damaged document, named.
func TestBadRecords(t *testing.T) {
	db := openDB(t)
	dir := t.TempDir()
	d1, d2, d3 := gtin("0690000000011"), gtin("0690000000012"), gtin("0690000000013")
	importUDID(t, db, writeUDID(t, dir, "good.xml", dev{DI: d2, Name: "好", Version: 1, VersionTime: "2025-01-01"}))
	bad := writeUDID(t, dir, "bad.xml",
		dev{DI: d1, Name: "一", Version: 2, VersionTime: "2026-01-01"},
		dev{DI: d2, Name: "坏", Version: 2, VersionTime: "2026-01-01", Extra: "<sfwwjbz>maybe</sfwwjbz>\n"},
		dev{DI: d3, Name: "三", Version: 2, VersionTime: "2026-01-01"})
	st := importUDID(t, db, bad)
	if st.Read != 3 || st.Kept != 2 || st.Bad != 1 || len(st.Problems) != 1 {
		t.Fatalf("stats %+v", st)
	}
	for _, want := range []string{bad, "record 2", d2, "sfwwjbz", `"maybe"`} {
		if !strings.Contains(st.Problems[0], want) {
			t.Errorf("the problem %q does not name %s", st.Problems[0], want)
		}
	}
	if e, ok, _ := db.Lookup(d2); !ok || e.Name != "好" {
		t.Fatalf("the bad record's earlier version: %+v %v", e, ok)
	}
	if _, ok, _ := db.Lookup(d3); !ok {
		t.Fatal("the record after the bad one was not imported")
	}

	var many []dev
	for i := range 30 {
		many = append(many, dev{DI: gtin("06900000001" + string(rune('0'+i/10)) + string(rune('0'+i%10))), Name: "x", Version: 1,
			VersionTime: "2025-01-01", Extra: "<sfbjwycxsy>perhaps</sfbjwycxsy>\n"})
	}
	st = importUDID(t, db, writeUDID(t, dir, "many.xml", many...))
	if st.Bad != 30 || st.Kept != 0 || len(st.Problems) != MaxProblems {
		t.Fatalf("30 bad records: bad %d, kept %d, %d problems listed", st.Bad, st.Kept, len(st.Problems))
	}

	junk := filepath.Join(dir, "junk.xml")
	os.WriteFile(junk, []byte("hello"), 0o600)
	st = importUDID(t, db, junk)
	if st.Damaged != 1 || st.Read != 0 || len(st.Problems) != 1 || !strings.Contains(st.Problems[0], "neither ZIP, XML nor JSON") {
		t.Fatalf("junk: %+v", st)
	}
	if _, err := db.ImportUDID(context.Background(), filepath.Join(dir, "none.xml"), Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a missing file: %v", err)
	}
}

// nhsaFixture is three devices and the rows that name them: D1 by its
// 27-character code, D2's box by DI, D3's 20-character code extended by a
// row's 27-character code; a row naming nothing; a bad row.
type nhsaFixture struct {
	d1, d2, b2, d3, c1, c2, short, c3 string
	udid                              string
	rows                              []row
}

func newNHSAFixture(t *testing.T, dir string) nhsaFixture {
	f := nhsaFixture{d1: gtin("0690000000021"), d2: gtin("0690000000022"), b2: gtin("1690000000022"), d3: gtin("0690000000023"),
		c1: "C09100100000000211790000049", c2: "C09100100000000211800000017", short: "C0310020000000011234"}
	f.c3 = f.short + "0000001"
	f.udid = writeUDID(t, dir, "udid.xml",
		dev{DI: f.d1, Name: "一", Code: f.c1, Version: 1, VersionTime: "2025-01-01"},
		dev{DI: f.d2, Name: "二", Version: 1, VersionTime: "2025-01-01", Box: f.b2},
		dev{DI: f.d3, Name: "三", Code: f.short, Version: 1, VersionTime: "2025-01-01"})
	f.rows = []row{
		{Code: f.c1, Name: "管路", Implant: "1", HighValue: "1"},
		{Code: f.c2, Name: "盒装", DIs: f.b2, Intervention: "1"},
		{Code: f.c3, Name: "限用", Restricted: "1", Scope: "限成人"},
		{Code: "C09100100000000211790000056", Name: "无", DIs: gtin("0690000009999")},
		{Code: f.c1[:26] + "8", Name: "坏", HighValue: "2"},
	}
	return f
}

// TestNHSA: rows apply by DI (to the entry of that DI only) and by code
// (a 20-character code takes the 27-character one that extends it); a bad
// row is counted and named; the result does not depend on the order of
// the imports; a newer row replaces the older one, flags and DIs
// included.
func TestNHSA(t *testing.T) {
	dir := t.TempDir()
	f := newNHSAFixture(t, dir)
	db := openDB(t)
	importUDID(t, db, f.udid)
	rows := writeNHSA(t, dir, "1306.txt", f.rows...)
	st := importNHSA(t, db, rows)
	if st.Read != 5 || st.Kept != 4 || st.Bad != 1 || st.Matched != 3 || len(st.Problems) != 1 ||
		!strings.Contains(st.Problems[0], "1306.txt:6") || !strings.Contains(st.Problems[0], "高值耗材标志") {
		t.Fatalf("stats %+v", st)
	}
	check := func(db *DB) map[string]master.CatalogueEntry {
		t.Helper()
		got := map[string]master.CatalogueEntry{}
		for _, k := range []string{f.d1, f.d2, f.b2, f.d3} {
			e, ok, err := db.Lookup(k)
			if !ok || err != nil {
				t.Fatalf("%s: %v %v", k, ok, err)
			}
			got[k] = e
		}
		if e := got[f.d1]; !e.Implant || !e.HighValue || e.InsuranceCode != f.c1 {
			t.Errorf("d1 by code: %+v", e)
		}
		if e := got[f.b2]; !e.Intervention || e.InsuranceCode != f.c2 {
			t.Errorf("d2's box by DI: %+v", e)
		}
		if e := got[f.d2]; e.Intervention || e.InsuranceCode != "" {
			t.Errorf("d2, which no row names: %+v", e)
		}
		if e := got[f.d3]; e.InsuranceCode != f.c3 || e.Restriction != "限成人" {
			t.Errorf("d3 by the code extending its own: %+v", e)
		}
		return got
	}
	want := check(db)

	// NHSA first, then UDID: the same entries.
	db2 := openDB(t)
	importNHSA(t, db2, rows)
	importUDID(t, db2, f.udid)
	if got := check(db2); !reflect.DeepEqual(got, want) {
		t.Errorf("the order of the imports changes the entries:\n%+v\n%+v", got, want)
	}

	// A newer catalogue: d1 is no longer an implant nor high value, the
	// box row names no DI any more.
	f.rows[0].Implant, f.rows[0].HighValue, f.rows[1].DIs = "0", "0", ""
	importNHSA(t, db, writeNHSA(t, dir, "1306-new.txt", f.rows[:2]...))
	if e, _, _ := db.Lookup(f.d1); e.Implant || e.HighValue {
		t.Errorf("d1 keeps the flags of the replaced row: %+v", e)
	}
	if e, _, _ := db.Lookup(f.b2); e.Intervention || e.InsuranceCode != "" {
		t.Errorf("the box keeps a row that no longer names it: %+v", e)
	}
	if in, _ := db.Info(); in.NHSARows != 4 {
		t.Errorf("info %+v", in)
	}

	// A file with no good row is refused, every bad row named.
	_, err := db.ImportNHSA(context.Background(), writeNHSA(t, dir, "allbad.txt", f.rows[4]), Options{})
	if !errors.Is(err, nhsa.ErrBadRows) {
		t.Fatalf("no good row: %v", err)
	}
}

// TestCatalogue: the index holds thousands of devices; the hospital
// stocks three (two in its own catalogue, one by DI only, as received):
// the catalogue holds exactly those three with their packages and units
// of use, the hospital's entries merged, plus its own product the index
// lacks; and gateways accept it.
func TestCatalogue(t *testing.T) {
	const n = 2000
	db := openDB(t)
	importUDID(t, db, generated(t, t.TempDir(), n, 21))
	a, b, c := pickDevices(t, 21, n)
	own := []master.CatalogueEntry{
		{GTIN: a[0].GTIN, HIBC: a[0].HIBC, Name: "甲 医院名", ChargeCode: "H-1", UnitPrice: 123400, Tracking: master.TrackLot},
		// b by its package's DI, with the hospital's price of a box.
		{GTIN: b[len(b)-1].GTIN, HIBC: b[len(b)-1].HIBC, Name: "乙 一盒", ChargeCode: "H-2", UnitPrice: 99000, Tracking: master.TrackLot},
		{GTIN: gtin("0001234567890"), Name: "本院自制", UnitPrice: 100, Tracking: master.TrackLot},
	}
	stocked := []string{c[0].Product(), a[0].Product(), gtin("0001234567999")}
	got, st, err := db.Catalogue(own, stocked)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{own[2].GTIN: true}
	for _, es := range [][]master.CatalogueEntry{a, b, c} {
		for _, e := range es {
			want[e.Product()] = true
		}
	}
	keys := map[string]bool{}
	for _, e := range got {
		keys[e.Product()] = true
	}
	if len(got) != len(want) || !reflect.DeepEqual(keys, want) {
		t.Fatalf("the catalogue holds %d entries %v, want exactly %v", len(got), keys, want)
	}
	if st.Own != 3 || st.Found != 2 || st.Stocked != 3 || st.Unknown != 1 || st.UnknownKeys[0] != gtin("0001234567999") ||
		st.Added != len(want)-3 {
		t.Fatalf("stats %+v", st)
	}
	if e := got[0]; e.Name != "甲 医院名" || e.ChargeCode != "H-1" || e.UnitPrice != 123400 || e.Manufacturer != a[0].Manufacturer ||
		e.GenericName != a[0].GenericName || e.UseUnit != a[0].UseUnit {
		t.Errorf("the hospital's entry merged: %+v\nnational %+v", e, a[0])
	}
	if e := got[1]; e.ChargeCode != "H-2" || e.PackageOf != b[len(b)-1].PackageOf || e.PackageQuantity == 0 {
		t.Errorf("the hospital's box: %+v", e)
	}
	if got[2] != own[2] {
		t.Errorf("the hospital's own product changed: %+v", got[2])
	}
	cat := catalogueFile(t, got)
	if d, _, err := (&master.Data{}).Import("catalogue", strings.NewReader(cat), master.ImportOptions{Format: "json"}); err != nil {
		t.Fatalf("a gateway refuses the catalogue: %v", err)
	} else if e, q, ok := d.Resolve(b[len(b)-1].Product()); !ok || e.Product() != b[0].Product() || q == 0 {
		t.Errorf("the box resolves to %+v × %d", e, q)
	}
}

// pickDevices returns the entries of three generated devices (of seed,
// among the first n) that have a package, the first with a unit of use
// too.
func pickDevices(t *testing.T, seed int64, n int) (a, b, c []master.CatalogueEntry) {
	t.Helper()
	g := udid.Generator{Seed: seed}
	var found [][]master.CatalogueEntry
	for i := range n {
		es, _ := national.Entries(g.Device(i))
		if len(es) < 2 || es[len(es)-1].PackageOf == "" {
			continue
		}
		if len(found) == 0 && es[0].UseUnit == "" {
			continue
		}
		found = append(found, es)
		if len(found) == 3 {
			return found[0], found[1], found[2]
		}
	}
	t.Fatal("no three devices with packages")
	return
}

// catalogueFile writes entries as a catalogue JSON file.
func catalogueFile(t testing.TB, entries []master.CatalogueEntry) string {
	t.Helper()
	var b strings.Builder
	if err := master.WriteCatalogueJSON(&b, entries); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestOpen: a file another process (here, another handle) holds is
// locked; an import into a read-only index is refused; a file that is
// not an index is refused.
func TestOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "national.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenReadOnly(path, 50*time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Fatalf("held by an import: %v", err)
	}
	db.Close()
	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ro.ImportUDID(context.Background(), path, Options{}); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("import read-only: %v", err)
	}
	ro.Close()
	if _, err := OpenReadOnly(filepath.Join(dir, "none.db"), time.Second); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
	other := filepath.Join(dir, "other.db")
	os.WriteFile(other, make([]byte, 8192), 0o600)
	if _, err := Open(other); err == nil {
		t.Fatal("a file of zeros opened as an index")
	}
}

// TestCorrupt: a record of the file that does not decode stops an import
// that would replace it, naming the file, and fails a lookup; neither
// reads it as something else.
func TestCorrupt(t *testing.T) {
	db := openDB(t)
	dir := t.TempDir()
	d1 := gtin("0690000000031")
	path := writeUDID(t, dir, "a.xml", dev{DI: d1, Name: "一", Version: 1, VersionTime: "2025-01-01"})
	importUDID(t, db, path)
	if err := db.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketDevices).Put([]byte(d1), []byte{recordFormat, 0xff}) }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportUDID(context.Background(), path, Options{}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), db.Path()) {
		t.Fatalf("import over a corrupt record: %v", err)
	}
	if _, _, err := db.Lookup(d1); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("lookup of a corrupt record: %v", err)
	}
}

// TestStoppedEarly: an import whose context has ended before it has read
// a batch of records writes nothing and says it was stopped, rather than
// report success with nothing written: a first import, a re-import, one
// in batches, and an NHSA import.
func TestStoppedEarly(t *testing.T) {
	dir := t.TempDir()
	d1, d2 := gtin("0690000000041"), gtin("0690000000042")
	udidFile := writeUDID(t, dir, "a.xml", dev{DI: d1, Name: "一", Version: 1, VersionTime: "2025-01-01"},
		dev{DI: d2, Name: "二", Version: 1, VersionTime: "2025-01-01"})
	newer := writeUDID(t, dir, "b.xml", dev{DI: d1, Name: "一新", Version: 2, VersionTime: "2025-02-01"})
	nhsaFile := writeNHSA(t, dir, "cat.txt", row{Code: "C09100100000000211790000049", Name: "管路", DIs: d1})
	stopped, cancel := context.WithCancel(context.Background())
	cancel()
	db := openDB(t)
	for _, c := range []struct {
		what string
		imp  func() (Stats, error)
	}{
		{"first import", func() (Stats, error) { return db.ImportUDID(stopped, udidFile, Options{}) }},
		{"first import in batches", func() (Stats, error) { return db.ImportUDID(stopped, udidFile, Options{incremental: true}) }},
		{"nhsa", func() (Stats, error) { return db.ImportNHSA(stopped, nhsaFile, Options{}) }},
		{"re-import", func() (Stats, error) { return db.ImportUDID(stopped, newer, Options{}) }},
		{"re-import in batches", func() (Stats, error) { return db.ImportUDID(stopped, newer, Options{incremental: true}) }},
	} {
		if c.what == "re-import" {
			importUDID(t, db, udidFile)
		}
		before := dump(t, db)
		if st, err := c.imp(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %+v %v, want the context's error", c.what, st, err)
		}
		if !reflect.DeepEqual(dump(t, db), before) {
			t.Errorf("%s: a stopped import wrote", c.what)
		}
	}
}

// TestOpenReadsLittle: opening an index for an import does not bring the
// whole file into the process's memory (bbolt rebuilding its free list
// by reading every page), whatever wrote the file: a file written
// without a free list gets one.
func TestOpenReadsLittle(t *testing.T) {
	if testkit.PeakRSS() == 0 {
		t.Skip("the peak resident set is not known here")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "national.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	importUDID(t, db, generated(t, dir, 30_000, 31))
	in, _ := db.Info()
	db.Close()
	// As an earlier version of this package wrote it: no free list.
	old, err := bolt.Open(path, 0o600, &bolt.Options{NoFreelistSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put([]byte("x"), nil) }); err != nil {
		t.Fatal(err)
	}
	old.Close()
	for _, what := range []string{"written without a free list", "written by this package"} {
		runtime.GC()
		testkit.ResetPeakRSS()
		before := testkit.PeakRSS()
		db, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		grew := testkit.PeakRSS() - before
		db.Close()
		t.Logf("%s: %.1f MiB of %.1f", what, grew, float64(in.Bytes)/(1<<20))
		if mib := float64(in.Bytes) / (1 << 20); what == "written by this package" && grew > mib/3 {
			t.Errorf("opening an index of %.1f MiB (%s) took %.1f MiB more memory", mib, what, grew)
		}
	}
}
