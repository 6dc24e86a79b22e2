package master

import (
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// demoSets is demo with a case schedule and par levels too, and central
// versions of two sets.
func demoSets(t testing.TB) *Data {
	t.Helper()
	d := demo(t)
	d, _, err := d.Import("schedules", strings.NewReader(strings.Join(strings.SplitAfter(scheduleCSV, "\n")[:5], "")), ImportOptions{Format: FormatCSV, Version: "v2", SetVersion: 4})
	if err != nil {
		t.Fatal(err)
	}
	d, _, err = d.Import("par", strings.NewReader("location,gtin,min,max\ncab-1,06901234100013,2,6\n"), ImportOptions{Format: FormatCSV, Version: "v3", SetVersion: 9})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// stored returns values as a SetStore keeps them: nil values delete.
func stored(values map[string][]byte) map[string][]byte {
	out := maps.Clone(values)
	maps.DeleteFunc(out, func(_ string, v []byte) bool { return v == nil })
	return out
}

// memStore is a SetStore in memory, whose damaged values are named.
type memStore struct {
	values  map[string][]byte
	damaged map[string]bool
}

func (m *memStore) MasterSets() (map[string][]byte, []string, error) {
	var bad []string
	for _, name := range slices.Sorted(maps.Keys(m.damaged)) {
		bad = append(bad, name)
	}
	return maps.Clone(m.values), bad, nil
}

func (m *memStore) PutMasterSets(values map[string][]byte) error {
	for k, v := range values {
		delete(m.damaged, k)
		if v == nil {
			delete(m.values, k)
		} else {
			m.values[k] = v
		}
	}
	return nil
}

// TestStoredSetsRoundTrip: every set, its central version and the
// Data's version come back.
func TestStoredSetsRoundTrip(t *testing.T) {
	d := demoSets(t)
	st := &memStore{values: map[string][]byte{}, damaged: map[string]bool{}}
	if err := Save(st, d); err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(st.values)); !reflect.DeepEqual(got, slices.Sorted(slices.Values(append([]string{StoredLabel}, SetNames...)))) {
		t.Fatalf("stored %v", got)
	}
	back, damaged, err := Load(st)
	if err != nil || damaged != nil || back.Damaged() != nil {
		t.Fatalf("%v, damaged %v", err, damaged)
	}
	if !reflect.DeepEqual(back.Sets(), d.Sets()) || back.Version != "v3" || back.SetVersion("par") != 9 || back.SetVersion("schedules") != 4 {
		t.Errorf("loaded %+v, version %q", back.Counts(), back.Version)
	}
	if _, err := d.MarshalSets("pets"); !errors.Is(err, ErrFormat) {
		t.Errorf("unknown set: %v", err)
	}
}

// TestStoredSetDamaged: a damaged set is left empty, without its central
// version (so the centre's retained one applies again), the others are
// used; an import of that set repairs it and stores that set only.
func TestStoredSetDamaged(t *testing.T) {
	d := demoSets(t)
	for _, how := range []string{"checksum", "garbled", "another set's value", "later version"} {
		t.Run(how, func(t *testing.T) {
			st := &memStore{values: map[string][]byte{}, damaged: map[string]bool{}}
			if err := Save(st, d); err != nil {
				t.Fatal(err)
			}
			switch how {
			case "checksum":
				st.damaged["schedules"] = true
				delete(st.values, "schedules")
			case "garbled":
				st.values["schedules"] = st.values["schedules"][:len(st.values["schedules"])-3]
			case "another set's value":
				st.values["schedules"] = st.values["par"]
			case "later version":
				st.values["schedules"][len(setMagic)] = storeVersion + 1
			}
			got, damaged, err := Load(st)
			if err != nil || !reflect.DeepEqual(damaged, []string{"schedules"}) || !reflect.DeepEqual(got.Damaged(), damaged) {
				t.Fatalf("%v, damaged %v", err, damaged)
			}
			if c := got.Counts(); c.Schedules != 0 || c.Catalogue != d.Counts().Catalogue || c.ParLevels != 1 || got.SetVersion("schedules") != 0 || got.SetVersion("par") != 9 {
				t.Fatalf("loaded %+v", c)
			}
			if _, ok := got.ScheduledCase("OR-3", time.Date(2026, 11, 25, 8, 30, 0, 0, time.FixedZone("", 8*3600))); ok {
				t.Error("a case found in the damaged schedule")
			}
			// Saving anything else leaves the damaged value alone.
			out, _ := got.MarshalSets()
			if _, ok := out["schedules"]; ok {
				t.Error("the damaged set would be stored empty")
			}
			n, _, err := got.Import("schedules", strings.NewReader("case,room,start,end\nC-1,OR-3,2026-11-25T08:00:00+08:00,2026-11-25T09:00:00+08:00\n"), ImportOptions{Format: FormatCSV, Version: "v4"})
			if err != nil || n.Damaged() != nil {
				t.Fatalf("import: %v, damaged %v", err, n.Damaged())
			}
			if err := Save(st, n, "schedules"); err != nil {
				t.Fatal(err)
			}
			again, damaged, _ := Load(st)
			if damaged != nil || again.Counts().Schedules != 1 || again.Counts().Catalogue != d.Counts().Catalogue || again.Version != "v4" {
				t.Errorf("after the import: damaged %v, %+v", damaged, again.Counts())
			}
		})
	}
}

// TestStoredLegacy: the single value older ledgers hold is read; the
// next save stores every set on its own and deletes it. When that value
// is damaged, every set is, until each is imported again.
func TestStoredLegacy(t *testing.T) {
	d := demoSets(t)
	whole, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	st := &memStore{values: map[string][]byte{StoredLegacy: whole[:len(whole)-4]}, damaged: map[string]bool{}}
	got, damaged, err := Load(st)
	if err != nil || damaged != nil || !reflect.DeepEqual(got.Sets(), d.Sets()) || got.Version != d.Version {
		t.Fatalf("legacy: %v, damaged %v, %+v", err, damaged, got.Counts())
	}
	n, _, err := got.Import("recalls", strings.NewReader("gtin,reason\n06901234200010,x\n"), ImportOptions{Format: FormatCSV, Version: "v5"})
	if err != nil {
		t.Fatal(err)
	}
	if err := Save(st, n, "recalls"); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.values[StoredLegacy]; ok || len(st.values) != len(SetNames)+1 {
		t.Fatalf("after a save: %v", slices.Sorted(maps.Keys(st.values)))
	}
	back, damaged, _ := Load(st)
	if damaged != nil || back.Counts().Recalls != 1 || back.Counts().Catalogue != d.Counts().Catalogue || back.SetVersion("par") != 9 || back.Version != "v5" {
		t.Fatalf("after a save: damaged %v, %+v", damaged, back.Counts())
	}

	st = &memStore{values: map[string][]byte{}, damaged: map[string]bool{StoredLegacy: true}}
	got, damaged, _ = Load(st)
	if !reflect.DeepEqual(damaged, SetNames) || got.Counts() != (Counts{}) {
		t.Fatalf("damaged legacy: %v", damaged)
	}
	for i, name := range SetNames {
		var file string
		switch name {
		case "catalogue":
			file = "gtin,name,unit_price\n06901234100013,x,1\n"
		case "recalls":
			file = "gtin,reason\n06901234200010,x\n"
		case "lots":
			file = "gtin,lot,status\n06901234200010,L1,approved\n"
		case "settlements":
			file = "id,patient,case,gtin,amount\nS1,P1,C1,06901234200010,1\n"
		case "schedules":
			file = "case,room,start,end\nC-1,OR-3,2026-11-25 08:00,2026-11-25 09:00\n"
		case "par":
			file = "location,gtin,min,max\ncab-1,06901234100013,2,6\n"
		case "codes":
			file = "code,new_code\nC0910010000000021179,C09100100000000211790000049\n"
		}
		n, _, err := got.Import(name, strings.NewReader(file), ImportOptions{Format: FormatCSV})
		if err != nil {
			t.Fatal(err)
		}
		if err := Save(st, n, name); err != nil {
			t.Fatal(err)
		}
		_, legacyKept := st.damaged[StoredLegacy]
		if last := i == len(SetNames)-1; legacyKept == last {
			t.Fatalf("after importing %s: the damaged value kept %v", name, legacyKept)
		}
		got, damaged, _ = Load(st)
		if !reflect.DeepEqual(damaged, SetNames[i+1:]) && !(damaged == nil && i == len(SetNames)-1) {
			t.Fatalf("after importing %s: damaged %v", name, damaged)
		}
	}
}
