package master

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// FuzzParseCatalogueCSV checks that reading a catalogue file never
// panics whatever its bytes and options; that every problem names a
// line inside the (decoded) input; that every record is kept, reported
// or blank; that a bad row refuses the file unless a partial import is
// asked for, and a file without rows unless an empty one is; and that
// every kept entry passes NewData's checks.
func FuzzParseCatalogueCSV(f *testing.F) {
	for _, name := range []string{"catalogue.csv", "catalogue-zh.csv", "catalogue-bad.csv", "catalogue-gbk.csv", "catalogue-utf16.txt"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false, false)
		f.Add(b, true, false)
	}
	f.Add([]byte("gtin,name,unit_price\n06901234100013,\"a\nb\",1\n\"x"), true, true)
	f.Add([]byte("gtin,name,unit_price\n"), false, true)
	f.Add([]byte("gtin,name,unit_price\n06901234100013,Caf\xe9,1\n"), false, false)
	f.Fuzz(func(t *testing.T, in []byte, partial, allowEmpty bool) {
		opt := ImportOptions{Format: FormatCSV, Partial: partial, AllowEmpty: allowEmpty}
		var got sets
		_, rep, err := readSet("catalogue", in, opt, &got, nil)
		s := got.export()
		text, _, terr := decodeText("catalogue", in, "")
		if (terr != nil) != (rep.Encoding == "") {
			t.Fatalf("encoding %q reported, text error %v", rep.Encoding, terr)
		}
		lines := bytes.Count(text, []byte("\n")) + bytes.Count(text, []byte("\r")) + 1
		checkRows := func(errs []RowError) map[int]bool {
			bad := map[int]bool{}
			for _, e := range errs {
				if e.Line < 2 || e.Line > lines || e.Index != -1 || e.Reason == "" {
					t.Fatalf("error %+v outside the input's %d lines", e, lines)
				}
				if !strings.HasPrefix(e.Error(), "line ") {
					t.Fatalf("message %q", e.Error())
				}
				bad[e.Line] = true
			}
			return bad
		}
		if err != nil {
			if s.Catalogue != nil || rep.Kept != 0 || rep.Rejected != nil {
				t.Fatal("results with a file error")
			}
			var be *BadRowsError
			switch {
			case errors.As(err, &be):
				if bad := checkRows(be.Rows); len(bad) != be.Bad || be.Bad == 0 || be.Bad > be.Records {
					t.Fatalf("%d bad rows of %d, %d lines named", be.Bad, be.Records, len(bad))
				}
				if partial && be.Bad != be.Records {
					t.Fatalf("partial import refused with %d good rows", be.Records-be.Bad)
				}
			case errors.Is(err, ErrEmpty):
				if allowEmpty || rep.Records != 0 {
					t.Fatalf("ErrEmpty with %d rows, allow-empty %v", rep.Records, allowEmpty)
				}
			case !errors.Is(err, ErrHeader) && !errors.Is(err, ErrEncoding):
				t.Fatalf("error %v", err)
			}
			return
		}
		bad := checkRows(rep.Rejected)
		if len(s.Catalogue) != rep.Kept || rep.Kept+len(bad) != rep.Records {
			t.Fatalf("%d entries, %d kept + %d reported != %d rows", len(s.Catalogue), rep.Kept, len(bad), rep.Records)
		}
		if (len(bad) > 0 && !partial) || (rep.Kept == 0 && !allowEmpty) {
			t.Fatalf("accepted %d good and %d bad rows with partial %v, allow-empty %v", rep.Kept, len(bad), partial, allowEmpty)
		}
		if _, err := NewData("fuzz", s.Catalogue, nil, nil, nil); err != nil {
			t.Fatalf("kept entry fails NewData: %v", err)
		}
	})
}

// FuzzLoadSets checks that decoding a stored value, of a set, of the
// label, or of an older ledger's whole Data, never panics and never
// fails: a value that does not decode makes its set damaged and empty,
// and a value that does decode encodes again (MarshalSets) to a value
// that decodes to the same entries.
func FuzzLoadSets(f *testing.F) {
	d := demoSets(f)
	all, err := d.MarshalSets()
	if err != nil {
		f.Fatal(err)
	}
	names := append(append([]string{}, SetNames...), StoredLabel, StoredLegacy)
	whole, _ := d.MarshalBinary()
	all[StoredLegacy] = whole[:len(whole)-4]
	for i, name := range names {
		f.Add(uint8(i), all[name])
	}
	f.Fuzz(func(t *testing.T, which uint8, v []byte) {
		name := names[int(which)%len(names)]
		got, damaged := LoadSets(map[string][]byte{name: v}, nil)
		got.Recalled("06901234200010", "B2309011", "SN1")
		// The catalogue is decoded where it lies, entry by entry, when
		// looked up: every entry a key leads to decodes to that key.
		for _, e := range got.Catalogue() {
			if f, ok := got.Lookup(e.Product()); !ok || (f.GTIN != e.GTIN && f.HIBC != e.HIBC) {
				t.Fatalf("Lookup(%q) = %+v, %v", e.Product(), f, ok)
			}
		}
		got.ScheduledCase("OR-1", time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
		if !reflect.DeepEqual(damaged, got.Damaged()) {
			t.Fatalf("damaged %v, Data says %v", damaged, got.Damaged())
		}
		if len(damaged) > 0 {
			if got.Counts() != (Counts{}) && name != StoredLegacy {
				t.Fatalf("damaged %v, yet %+v", damaged, got.Counts())
			}
			return
		}
		once, err := got.MarshalSets()
		if err != nil {
			t.Fatal(err)
		}
		back, damaged := LoadSets(stored(once), nil)
		twice, err := back.MarshalSets()
		if err != nil || len(damaged) > 0 || back.Counts() != got.Counts() || back.Version != got.Version || !reflect.DeepEqual(stored(once), stored(twice)) {
			t.Fatalf("round trip of %s: %+v, damaged %v, %v; was %+v", name, back.Counts(), damaged, err, got.Counts())
		}
	})
}
