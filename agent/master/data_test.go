package master

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/udi-edge/udi-edge/agent/code"
)

// demo builds a Data from the testdata files.
func demo(t testing.TB) *Data {
	t.Helper()
	cat, errs, err := lenient(ParseCatalogue, open(t, "catalogue.csv"), "csv")
	if err != nil || len(errs) != 0 {
		t.Fatal(err, errs)
	}
	rec, errs, err := lenient(ParseRecalls, open(t, "recalls.csv"), "csv")
	if err != nil || len(errs) != 0 {
		t.Fatal(err, errs)
	}
	lots, errs, err := lenient(ParseLotStatuses, open(t, "lots.csv"), "csv")
	if err != nil || len(errs) != 0 {
		t.Fatal(err, errs)
	}
	set, errs, err := lenient(ParseSettlements, open(t, "settlements.csv"), "csv")
	if err != nil || len(errs) != 0 {
		t.Fatal(err, errs)
	}
	d, err := NewData("2026-03-14T08:00:00+08:00", cat, rec, lots, set)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestLookups(t *testing.T) {
	d := demo(t)
	// The hip stem of the demo scan, read as the scanner sends it.
	c, err := code.Any("]d20109520123456788172805311021A-77\x1d2100042")
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := d.Lookup(ProductKey(c)); !ok || e.Name != "股骨柄 演示件" || e.UnitPrice != 685000 {
		t.Errorf("demo stem: %+v %v", e, ok)
	}
	if e, ok := d.LookupHIBC("A999", "1234", '5'); !ok || !e.Imported {
		t.Errorf("HIBC cement: %+v %v", e, ok)
	}
	h, err := code.Any("+A99912345/$$9001005250011LOT8")
	if err != nil {
		t.Fatal(err)
	}
	if ProductKey(h) != "+A99912345" {
		t.Errorf("HIBC product key %q", ProductKey(h))
	}
	if _, ok := d.Lookup("06901234100068"); ok {
		t.Error("unknown GTIN found")
	}
	for _, c := range []struct {
		product, lot, serial string
		recalled             bool
	}{
		{"06901234200010", "B2309012", "100104", true}, // recalled lot
		{"06901234200010", "B2310001", "100104", false},
		{"06901234100020", "X", "SN52A00018", true}, // recalled serial
		{"06901234100020", "X", "SN52A00019", false},
		{"+A99912345", "LOT1", "", true}, // whole product
		{"+A99912345", "", "", true},
		{"06901234100013", "21A-77", "100101", false},
	} {
		r, ok := d.Recalled(c.product, c.lot, c.serial)
		if ok != c.recalled || ok && r.Reason == "" {
			t.Errorf("Recalled(%q, %q, %q) = %+v, %v", c.product, c.lot, c.serial, r, ok)
		}
	}
	if s, ok := d.LotStatus("06901234100013", "21A-78"); !ok || s.Status != StatusOnHold || s.Status.Usable() {
		t.Errorf("on-hold lot: %+v %v", s, ok)
	}
	if s, ok := d.LotStatus("06901234100013", "21A-77"); !ok || !s.Status.Usable() {
		t.Errorf("approved lot: %+v %v", s, ok)
	}
	if got := d.SettlementsFor("K2026031401"); len(got) != 3 || got[2].Quantity != 4 {
		t.Errorf("case settlements %+v", got)
	}
	if got := d.SettlementsForItem("(01)06901234200010(21)100104"); len(got) != 2 || got[0].Amount+got[1].Amount != 0 {
		t.Errorf("billed and reversed: %+v", got)
	}
	if got := d.SettlementsFor("nope"); got != nil {
		t.Errorf("unknown case: %+v", got)
	}
	want := Counts{Catalogue: 8, Recalls: 3, LotStatuses: 5, Settlements: 5, RecalledLots: 2, RecalledSerials: 2, RecalledProducts: 1}
	if c := d.Counts(); c != want {
		t.Errorf("counts %+v, want %+v", c, want)
	}
	// The zero and the nil Data are empty sets.
	var z *Data
	if _, ok := z.Lookup("06901234100013"); ok || z.Counts() != (Counts{}) {
		t.Error("nil Data not empty")
	}
	if _, ok := (&Data{}).Recalled("06901234200010", "B2309012", ""); ok {
		t.Error("zero Data not empty")
	}
}

// TestLookupsDoNotAllocate: over a set built and over one loaded from
// its stored values (whose catalogue entries are decoded where they lie).
func TestLookupsDoNotAllocate(t *testing.T) {
	built := demo(t)
	values, err := built.MarshalSets()
	if err != nil {
		t.Fatal(err)
	}
	loaded, damaged := LoadSets(stored(values), nil)
	if damaged != nil {
		t.Fatal(damaged)
	}
	for _, d := range []*Data{built, loaded} {
		if e, ok := d.Lookup("06901234100013"); !ok || e.UnitPrice != 685000 {
			t.Fatalf("Lookup: %+v %v", e, ok)
		}
		n := testing.AllocsPerRun(100, func() {
			d.Lookup("06901234100013")
			d.LookupHIBC("A999", "1234", '5')
			d.Recalled("06901234200010", "B2309012", "100104")
			d.LotStatus("06901234100013", "21A-78")
		})
		if n != 0 {
			t.Errorf("%v allocations per decision", n)
		}
	}
}

func TestNewDataDuplicates(t *testing.T) {
	cat := []CatalogueEntry{
		{GTIN: "6901234100013", Name: "old stem", UnitPrice: 1, Tracking: TrackSerial},
		{GTIN: "06901234100020", Name: "cup", UnitPrice: 2, Tracking: TrackSerial},
		{GTIN: "06901234100013", Name: "new stem", UnitPrice: 3, Tracking: TrackSerial},
	}
	rec := []Recall{
		{GTIN: "06901234200010", Lots: []string{"A", "B"}, Reason: "first"},
		{GTIN: "06901234200010", Lots: []string{"A", "B"}, Reason: "second"},
	}
	set := []Settlement{
		{ID: "S1", Patient: "P", Case: "K", GTIN: "06901234100013", Quantity: 1, Amount: 1},
		{ID: "S1", Patient: "P", Case: "K", GTIN: "06901234100013", Quantity: 1, Amount: 2},
	}
	d, err := NewData("v", cat, rec, nil, set)
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := d.Lookup("06901234100013"); e.Name != "new stem" {
		t.Errorf("stem %+v", e)
	}
	if r, _ := d.Recalled("06901234200010", "B", ""); r.Reason != "second" {
		t.Errorf("recall %+v", r)
	}
	if s := d.SettlementsFor("K"); len(s) != 1 || s[0].Amount != 2 {
		t.Errorf("settlements %+v", s)
	}
	if c := d.Counts(); c.Catalogue != 2 || c.Recalls != 1 || c.Settlements != 1 {
		t.Errorf("shadowed entries kept: %+v", c)
	}
	var got []string
	for _, x := range d.Duplicates() {
		got = append(got, x.String())
	}
	want := []string{
		"catalogue: 06901234100013: entry 2 replaces entry 0",
		"recalls: 06901234200010 lot A: entry 1 replaces entry 0",
		"recalls: 06901234200010 lot B: entry 1 replaces entry 0",
		"settlements: S1: entry 1 replaces entry 0",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("duplicates\n%q\nwant\n%q", got, want)
	}
	// The caller's slices are copied.
	cat[1].Name = "changed"
	if e, _ := d.Lookup("06901234100020"); e.Name != "cup" {
		t.Error("Data shares the caller's slice")
	}
}

func TestNewDataInvalid(t *testing.T) {
	good := CatalogueEntry{GTIN: "06901234100013", Name: "stem", Tracking: TrackSerial}
	for _, c := range []struct {
		name string
		cat  []CatalogueEntry
		rec  []Recall
		lots []LotStatus
		set  []Settlement
		msg  string
	}{
		{name: "check digit", cat: []CatalogueEntry{good, {GTIN: "06901234100014", Name: "x", Tracking: TrackLot}}, msg: "catalogue entry 1: gtin"},
		{name: "tracking", cat: []CatalogueEntry{{GTIN: "06901234100013", Name: "x"}}, msg: "tracking"},
		{name: "price", cat: []CatalogueEntry{{GTIN: "06901234100013", Name: "x", Tracking: TrackLot, UnitPrice: -1}}, msg: "unit_price: is negative"},
		{name: "status", lots: []LotStatus{{GTIN: "06901234100013", Lot: "A", Status: "ok"}}, msg: "lot statuses entry 0: status"},
		{name: "recall", rec: []Recall{{HIBC: "A99912345", Reason: "r"}}, msg: "hibc"},
		{name: "settlement", set: []Settlement{{ID: "S", Patient: "P", Case: "K", Quantity: 1}}, msg: "item: missing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := NewData("v", c.cat, c.rec, c.lots, c.set)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.msg) || d != nil {
				t.Errorf("err %v, want ErrInvalid with %q", err, c.msg)
			}
		})
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	d := demo(t)
	b, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var n Data
	if err := n.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if n.Version != d.Version || !reflect.DeepEqual(n.Catalogue(), d.Catalogue()) || !reflect.DeepEqual(n.Recalls(), d.Recalls()) ||
		!reflect.DeepEqual(n.LotStatuses(), d.LotStatuses()) || !reflect.DeepEqual(n.Settlements(), d.Settlements()) ||
		n.Counts() != d.Counts() {
		t.Fatal("round trip changed the set")
	}
	if _, ok := n.Recalled("06901234100020", "", "SN52A00017"); !ok {
		t.Error("indexes not rebuilt")
	}
	b2, _ := n.MarshalBinary()
	if string(b2) != string(b) {
		t.Error("encoding not stable")
	}
	// Every single-bit flip and every truncation is refused.
	for i := range b {
		c := []byte(string(b))
		c[i] ^= 0x10
		if err := new(Data).UnmarshalBinary(c); err == nil {
			t.Fatalf("flip at byte %d accepted", i)
		}
		if err := new(Data).UnmarshalBinary(b[:i]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncation at %d: %v", i, err)
		}
	}
	c := []byte(string(b))
	c[4] = encVersion + 1
	if err := new(Data).UnmarshalBinary(c); !errors.Is(err, ErrVersion) {
		t.Errorf("version %d: %v", encVersion+1, err)
	}
	// Version 1, the same without schedules, par levels and set versions
	// (three empty counts), is still read.
	v1 := []byte(string(b[:len(b)-4-3]))
	v1[4] = 1
	v1 = binary.LittleEndian.AppendUint32(v1, crc32.Checksum(v1, castagnoli))
	var old Data
	if err := old.UnmarshalBinary(v1); err != nil || !reflect.DeepEqual(old.Settlements(), d.Settlements()) || old.Counts() != d.Counts() {
		t.Errorf("version 1: %v", err)
	}
	// The empty set round-trips too.
	e, _ := (&Data{}).MarshalBinary()
	if err := new(Data).UnmarshalBinary(e); err != nil {
		t.Error(err)
	}
}

func TestStoreConcurrentReaders(t *testing.T) {
	var s Store
	if s.Load() == nil || s.Load().Counts() != (Counts{}) {
		t.Fatal("zero Store not empty")
	}
	// Two versions: in each, the stem's price and the version agree, so a
	// reader that saw a mix of two sets would notice.
	mk := func(v int) *Data {
		d, err := NewData(fmt.Sprint(v), []CatalogueEntry{
			{GTIN: "06901234100013", Name: "stem", UnitPrice: Amount(v), Tracking: TrackSerial},
		}, []Recall{{GTIN: "06901234200010", Lots: []string{fmt.Sprint("L", v)}, Reason: "r"}}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	sets := []*Data{mk(1), mk(2)}
	s.Replace(sets[0])
	var stop atomic.Bool
	var wg sync.WaitGroup
	var reads atomic.Int64
	for range 8 {
		wg.Go(func() {
			for !stop.Load() {
				d := s.Load()
				e, ok := d.Lookup("06901234100013")
				_, rec := d.Recalled("06901234200010", "L"+d.Version, "")
				if !ok || fmt.Sprint(int64(e.UnitPrice)) != d.Version || !rec {
					t.Errorf("inconsistent read: version %s, entry %+v, recalled %v", d.Version, e, rec)
					return
				}
				reads.Add(1)
			}
		})
	}
	for i := range 2000 {
		if old := s.Replace(sets[i%2]); old == nil {
			t.Fatal("Replace returned nil")
		}
	}
	for reads.Load() < 1000 {
		s.Replace(sets[0])
	}
	stop.Store(true)
	wg.Wait()
}
