package master

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"unsafe"
)

// TestStoredFormatUnchanged: the values MarshalSets writes are those of
// the build before the catalogue was held in its stored form, byte for
// byte (testdata/stored, written by that build from demoSets), whether
// the catalogue was built from entries or imported; and those values
// load to the same sets. Ledgers written before and after read each
// other's master data. The older single value (data.bin, that build's
// MarshalBinary) is written the same too, and loads the same.
func TestStoredFormatUnchanged(t *testing.T) {
	d := demoSets(t)
	values, err := d.MarshalSets()
	if err != nil {
		t.Fatal(err)
	}
	golden := map[string][]byte{}
	// The sets that existed then (codes came later).
	for _, name := range append([]string{StoredLabel}, legacySets...) {
		b, err := os.ReadFile("testdata/stored/" + name + ".bin")
		if err != nil {
			t.Fatal(err)
		}
		golden[name] = b
		if !bytes.Equal(values[name], b) {
			t.Errorf("%s: stored as\n%q\nwas\n%q", name, values[name], b)
		}
	}
	file, err := os.ReadFile("testdata/catalogue.csv")
	if err != nil {
		t.Fatal(err)
	}
	imported, _, err := (*Data)(nil).ImportBytes("catalogue", file, ImportOptions{Format: FormatCSV})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := imported.MarshalSets("catalogue"); !bytes.Equal(v["catalogue"], golden["catalogue"]) {
		t.Errorf("imported catalogue stored as\n%q\nwas\n%q", v["catalogue"], golden["catalogue"])
	}
	back, damaged := LoadSets(golden, nil)
	if damaged != nil || !reflect.DeepEqual(back.Sets(), d.Sets()) || back.Version != d.Version {
		t.Errorf("the older values load as %+v, damaged %v", back.Counts(), damaged)
	}
	if e, ok := back.Lookup("06901234100013"); !ok || e.UnitPrice != 685000 {
		t.Errorf("Lookup in the older values: %+v %v", e, ok)
	}

	whole, err := os.ReadFile("testdata/stored/data.bin")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := d.MarshalBinary(); !bytes.Equal(b, whole) {
		t.Errorf("MarshalBinary writes\n%q\nwas\n%q", b, whole)
	}
	var one Data
	if err := one.UnmarshalBinary(whole); err != nil || !reflect.DeepEqual(one.Sets(), d.Sets()) {
		t.Errorf("the older single value decodes as %+v: %v", one.Counts(), err)
	}
	// As the ledger returns it: without its trailing checksum.
	legacy, damaged := LoadSets(map[string][]byte{StoredLegacy: whole[:len(whole)-4]}, nil)
	if damaged != nil || !reflect.DeepEqual(legacy.Sets(), d.Sets()) || legacy.Version != d.Version {
		t.Errorf("the older single value loads as %+v, damaged %v", legacy.Counts(), damaged)
	}
	if e, ok := legacy.Lookup("06901234100013"); !ok || e.UnitPrice != 685000 {
		t.Errorf("Lookup in the older single value: %+v %v", e, ok)
	}
}

// TestStoredCatalogueDamaged: a stored catalogue that does not decode
// (cut inside an entry, a string running past the end, a byte after the
// last entry, a count larger than the entries, a later format, another
// set's value) is refused whole when loaded, never read past its end:
// the catalogue is empty and named damaged, without a central version,
// so that the centre's retained catalogue applies again; the other sets
// are used.
func TestStoredCatalogueDamaged(t *testing.T) {
	d := demoSets(t)
	good, err := d.MarshalSets()
	if err != nil {
		t.Fatal(err)
	}
	cat := good["catalogue"]
	// The header: magic, format, name, central version (0), count.
	head := len(setMagic) + 1 + 1 + len("catalogue") + 1
	if cat[head] != byte(d.Counts().Catalogue) {
		t.Fatalf("count %d at %d, want %d", cat[head], head, d.Counts().Catalogue)
	}
	for how, v := range map[string][]byte{
		"cut inside an entry":           cat[:len(cat)/2],
		"cut before the flags":          cat[:len(cat)-1],
		"string past the end":           append(bytes.Clone(cat[:head+1]), 0x7f, '0'),
		"a byte after the last entry":   append(bytes.Clone(cat), 0),
		"count larger than the entries": append(append(bytes.Clone(cat[:head]), cat[head]+1), cat[head+1:]...),
		"later format":                  append(append(bytes.Clone(cat[:len(setMagic)]), storeVersion+1), cat[len(setMagic)+1:]...),
		"another set's value":           good["recalls"],
	} {
		t.Run(how, func(t *testing.T) {
			values := maps.Clone(good)
			values["catalogue"] = v
			got, damaged := LoadSets(values, nil)
			if !reflect.DeepEqual(damaged, []string{"catalogue"}) || !reflect.DeepEqual(got.Damaged(), damaged) {
				t.Fatalf("damaged %v", damaged)
			}
			if _, ok := got.Lookup("06901234100013"); ok || got.Catalogue() != nil || got.Counts().Catalogue != 0 || got.SetVersion("catalogue") != 0 {
				t.Errorf("the damaged catalogue is used: %+v", got.Counts())
			}
			if got.Counts().Recalls != d.Counts().Recalls || got.SetVersion("par") != 9 {
				t.Errorf("the other sets: %+v", got.Counts())
			}
			if err := decodeSet("catalogue", v, &sets{}, new(map[string]uint64)); !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
				t.Errorf("decodeSet: %v", err)
			}
		})
	}
}

// TestImportBytesInPlace: ImportBytes reads the file where it is: it
// does not change it, and the Data it returns does not use its memory,
// so the caller may reuse it at once.
func TestImportBytesInPlace(t *testing.T) {
	for _, name := range []string{"catalogue.csv", "catalogue.json", "catalogue-gbk.csv"} {
		t.Run(name, func(t *testing.T) {
			file, err := os.ReadFile("testdata/" + name)
			if err != nil {
				t.Fatal(err)
			}
			format := FormatCSV
			if strings.HasSuffix(name, ".json") {
				format = FormatJSON
			}
			was := bytes.Clone(file)
			want, _, err := ParseCatalogue(bytes.NewReader(was), ImportOptions{Format: format})
			if err != nil {
				t.Fatal(err)
			}
			d, _, err := (*Data)(nil).ImportBytes("catalogue", file, ImportOptions{Format: format})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(file, was) {
				t.Fatal("the file was changed")
			}
			for i := range file {
				file[i] = 'x'
			}
			if got := d.Catalogue(); !reflect.DeepEqual(got, want) {
				t.Fatalf("after the file was overwritten: %+v\nwant %+v", got, want)
			}
			for _, e := range want {
				if got, ok := d.Lookup(e.Product()); !ok || got != e {
					t.Errorf("Lookup(%q) = %+v, %v after the file was overwritten", e.Product(), got, ok)
				}
			}
		})
	}
}

// TestImportSharesOtherSets: importing one set neither copies nor
// indexes the others again: the new Data holds the same catalogue value,
// and the same recall index, as the one it was made from, and keeps
// their duplicates and versions.
func TestImportSharesOtherSets(t *testing.T) {
	d, err := NewData("v1", []CatalogueEntry{
		{GTIN: "06901234100013", Name: "old stem", UnitPrice: 1, Tracking: TrackSerial},
		{GTIN: "06901234100013", Name: "new stem", UnitPrice: 3, Tracking: TrackSerial},
	}, []Recall{{GTIN: "06901234200010", Lots: []string{"A"}, Reason: "r"}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d = d.with("recalls", &sets{recalls: d.recalls}, 7)
	n, _, err := d.Import("lots", strings.NewReader("gtin,lot,status\n06901234200010,L1,approved\n"), ImportOptions{Format: FormatCSV, Version: "v2"})
	if err != nil {
		t.Fatal(err)
	}
	if unsafe.StringData(n.cat.text) != unsafe.StringData(d.cat.text) || reflect.ValueOf(n.recallLot).UnsafePointer() != reflect.ValueOf(d.recallLot).UnsafePointer() {
		t.Error("the other sets were copied")
	}
	if !reflect.DeepEqual(n.Duplicates(), d.Duplicates()) || len(n.Duplicates()) != 1 || n.SetVersion("recalls") != 7 {
		t.Errorf("duplicates %v, recalls version %d", n.Duplicates(), n.SetVersion("recalls"))
	}
	if d.Counts().LotStatuses != 0 || n.Counts().LotStatuses != 1 || d.Version != "v1" || n.Version != "v2" {
		t.Errorf("before %+v %s, after %+v %s", d.Counts(), d.Version, n.Counts(), n.Version)
	}
}

// TestStoredValuesSealed: every value MarshalSets returns holds its
// CRC-32C in its capacity, as agent/bolt frames it, so that the ledger
// stores it without a copy; the catalogue's is the Data's own memory,
// the same at every call.
func TestStoredValuesSealed(t *testing.T) {
	d := demoSets(t)
	one, _ := d.MarshalSets()
	two, _ := d.MarshalSets("catalogue")
	for name, v := range one {
		if cap(v)-len(v) < 4 || binary.LittleEndian.Uint32(v[len(v):len(v)+4]) != crc32.Checksum(v, castagnoli) {
			t.Errorf("%s: no checksum after the value", name)
		}
	}
	if unsafe.SliceData(one["catalogue"]) != unsafe.SliceData(two["catalogue"]) || unsafe.SliceData(one["catalogue"]) != unsafe.StringData(d.cat.text) {
		t.Error("the catalogue was encoded again")
	}
}

// TestCatalogueDuplicatesStored: entries that lost every key to a later
// entry are dropped from the stored value too, which loads to the same
// lookups.
func TestCatalogueDuplicatesStored(t *testing.T) {
	d, err := NewData("v", []CatalogueEntry{
		{GTIN: "06901234100013", Name: "old stem", UnitPrice: 1, Tracking: TrackSerial},
		{GTIN: "06901234100020", HIBC: "+A99912345", Name: "cup", UnitPrice: 2, Tracking: TrackSerial},
		{GTIN: "06901234100013", Name: "new stem", UnitPrice: 3, Tracking: TrackSerial},
		{HIBC: "+A99912345", Name: "cement", UnitPrice: 4, Tracking: TrackLot},
	}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	values, _ := d.MarshalSets()
	back, _ := LoadSets(values, nil)
	for _, x := range []*Data{d, back} {
		var names []string
		for _, e := range x.Catalogue() {
			names = append(names, e.Name)
		}
		stem, _ := x.Lookup("06901234100013")
		cup, _ := x.Lookup("06901234100020")
		cement, _ := x.LookupHIBC("A999", "1234", '5')
		if !reflect.DeepEqual(names, []string{"cup", "new stem", "cement"}) || stem.Name != "new stem" || cup.Name != "cup" || cement.Name != "cement" {
			t.Errorf("entries %q; found %q, %q, %q", names, stem.Name, cup.Name, cement.Name)
		}
	}
	// The cup lost its HIBC to the cement but kept its GTIN: it stays,
	// and the duplicate is met again when the value is loaded.
	if fmt.Sprint(d.Duplicates()) != "[catalogue: 06901234100013: entry 2 replaces entry 0 catalogue: +A99912345: entry 3 replaces entry 1]" ||
		fmt.Sprint(back.Duplicates()) != "[catalogue: +A99912345: entry 2 replaces entry 0]" {
		t.Errorf("duplicates %v, after a load %v", d.Duplicates(), back.Duplicates())
	}
}

// TestReadFileSized: a file whose size the reader tells is read into
// one buffer of that size (plus the room of the read that finds its
// end), not grown from nothing.
func TestReadFileSized(t *testing.T) {
	file := bytes.Repeat([]byte("gtin,name,unit_price\n"), 1<<16)
	for _, r := range []interface {
		Read([]byte) (int, error)
	}{bytes.NewReader(file), strings.NewReader(string(file)), bytes.NewBuffer(bytes.Clone(file))} {
		b, err := readFile("catalogue", r)
		if err != nil || !bytes.Equal(b, file) || cap(b) != len(file)+bytes.MinRead {
			t.Errorf("%T: %d bytes in a buffer of %d, %v", r, len(b), cap(b), err)
		}
	}
	f, err := os.Open("testdata/catalogue.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	if b, err := readFile("catalogue", f); err != nil || len(b) != int(fi.Size()) || cap(b) != len(b)+bytes.MinRead {
		t.Errorf("file: %d bytes in a buffer of %d, %v", len(b), cap(b), err)
	}
}

// bigCatalogue returns a CSV catalogue of n products, about 85 bytes a
// row, as the central service publishes one.
func bigCatalogue(n int) []byte {
	var b bytes.Buffer
	b.Grow(90 * (n + 1))
	b.WriteString("gtin,name,model,unit_price,high_value\n")
	for i := range n {
		fmt.Fprintf(&b, "%s,髋关节假体 股骨柄 陶瓷头 %06d,规格 %d号,%d.%02d,%s\n",
			syntheticGTIN(i), i, i%40, 100+i%9000, i%100, [2]string{"否", "是"}[i%3/2])
	}
	return b.Bytes()
}

// TestImportBytesAllocations: importing a 100,000-row catalogue, every
// row checked, and encoding it for the ledger allocates about the size
// of the set held and the garbage of one pass of the reader, a small
// multiple of the set's CSV: no slice grown row by row, no copy of the
// file, of the entries or of their encoding, no decoder a row. The
// figure is the bytes allocated (TotalAlloc), which does not depend on
// when the collector runs. (The build before allocated 18 times the CSV
// and kept 3.3 times it; 48 times for the same set in JSON.)
func TestImportBytesAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("imports a 100,000-row catalogue")
	}
	csv := bigCatalogue(GoalCatalogue)
	entries, _, err := ParseCatalogue(bytes.NewReader(csv), ImportOptions{Format: FormatCSV})
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]map[string]any, len(entries))
	for i, e := range entries {
		rows[i] = map[string]any{"gtin": e.GTIN, "name": e.Name, "model": e.Model, "unit_price": json.Number(e.UnitPrice.String()), "high_value": e.HighValue}
	}
	js, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	entries, rows = nil, nil
	size := uint64(len(csv))
	for _, c := range []struct {
		format string
		file   []byte
	}{{FormatCSV, csv}, {FormatJSON, js}} {
		t.Run(c.format, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			d, _, err := (*Data)(nil).ImportBytes("catalogue", c.file, ImportOptions{Format: c.format, SetVersion: 1})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.MarshalSets("catalogue"); err != nil {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			// What the set keeps: the heap with it, less the heap without it.
			runtime.GC()
			runtime.ReadMemStats(&before)
			n := d.Counts().Catalogue
			d = nil
			runtime.GC()
			runtime.ReadMemStats(&after)
			kept := before.HeapAlloc - min(before.HeapAlloc, after.HeapAlloc)
			t.Logf("%d rows, %.1f MiB of %s (%.1f MiB in CSV): %.1f MiB allocated, %.1f MiB kept", n, mib(len(c.file)), c.format, mib(size), mib(alloc), mib(kept))
			if n != GoalCatalogue {
				t.Fatalf("%d entries", n)
			}
			if limit := 3 * size; alloc > limit {
				t.Errorf("importing %.1f MiB allocated %.1f MiB, want at most %.1f", mib(len(c.file)), mib(alloc), mib(limit))
			}
			if limit := 2 * size; kept > limit {
				t.Errorf("the catalogue keeps %.1f MiB, want at most %.1f", mib(kept), mib(limit))
			}
		})
	}
	runtime.KeepAlive(csv)
	runtime.KeepAlive(js)
}

func mib[T int | uint64](n T) float64 { return float64(n) / (1 << 20) }
