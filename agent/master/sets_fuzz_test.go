package master

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"strings"
	"testing"
)

// setParsers are the readers of master data files, each keeping what
// it read in a Sets for Build.
var setParsers = []struct {
	name  string
	parse func(in []byte, opt ImportOptions) (Sets, Report, error)
}{
	{"catalogue", func(in []byte, o ImportOptions) (Sets, Report, error) {
		v, r, err := ParseCatalogue(bytes.NewReader(in), o)
		return Sets{Catalogue: v}, r, err
	}},
	{"recalls", func(in []byte, o ImportOptions) (Sets, Report, error) {
		v, r, err := ParseRecalls(bytes.NewReader(in), o)
		return Sets{Recalls: v}, r, err
	}},
	{"lots", func(in []byte, o ImportOptions) (Sets, Report, error) {
		v, r, err := ParseLotStatuses(bytes.NewReader(in), o)
		return Sets{Lots: v}, r, err
	}},
	{"settlements", func(in []byte, o ImportOptions) (Sets, Report, error) {
		v, r, err := ParseSettlements(bytes.NewReader(in), o)
		return Sets{Settlements: v}, r, err
	}},
	{"schedules", func(in []byte, o ImportOptions) (Sets, Report, error) {
		v, r, err := ParseSchedules(bytes.NewReader(in), o)
		return Sets{Schedules: v}, r, err
	}},
	{"par_levels", func(in []byte, o ImportOptions) (Sets, Report, error) {
		v, r, err := ParseParLevels(bytes.NewReader(in), o)
		return Sets{ParLevels: v}, r, err
	}},
}

// FuzzParseSets reads any bytes, in CSV and in JSON, with each reader of
// master data (catalogue, recalls, lots, settlements, schedules, par
// levels), seeded with the test files whole and cut in two: a file is
// refused with one of the import's errors and nothing kept, or read with
// its report adding up (kept rows no more than its rows, every problem
// naming a line or an index and saying what is wrong, never quoting a
// patient or a case), and what it kept builds into master data.
func FuzzParseSets(f *testing.F) {
	index := func(set string) uint8 {
		for i, p := range setParsers {
			if p.name == set {
				return uint8(i)
			}
		}
		f.Fatalf("no reader for %s", set)
		return 0
	}
	files := map[string][]string{
		"catalogue":   {"catalogue.csv", "catalogue.json", "catalogue-bad.json", "catalogue-zh.csv"},
		"recalls":     {"recalls.csv", "recalls.json"},
		"lots":        {"lots.csv"},
		"settlements": {"settlements.csv", "settlements.json"},
	}
	for set, names := range files {
		for _, name := range names {
			b, err := os.ReadFile("testdata/" + name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(index(set), b, strings.HasSuffix(name, ".json"), true)
			f.Add(index(set), b[:len(b)/2], strings.HasSuffix(name, ".json"), false)
		}
	}
	f.Add(index("schedules"), []byte(scheduleCSV), false, true)
	f.Add(index("schedules"), []byte(`[{"case":"C-1","patient":"P-1","room":"OR-3","start":"2026-11-25T08:00:00+08:00","end":"2026-11-25T10:00:00+08:00"},{"case":"C-2","start":"x"}]`), true, true)
	f.Add(index("par_levels"), []byte("location,gtin,min,max\ncab-1,6901234100013,2,6\ncab-2,06901234100013,5,3\ncab-2,06901234100013,x,3\n"), false, true)
	f.Add(index("par_levels"), []byte(`[{"location":"cab-1","gtin":"06901234100013","min":"2","max":"6"},{"location":"cab-1","gtin":"06901234100013","min":-1}]`), true, false)
	f.Add(index("settlements"), []byte("id,patient,case,insurance_code,item,gtin,lot,quantity,amount\nJS1,P-9,K-9,C1,,06901234100013,L1,1,12.345\nJS2,P-9,K-9,C1,,06901234100013,L1,1,92233720368547758.08\n"), false, true)
	f.Fuzz(func(t *testing.T, which uint8, in []byte, asJSON, partial bool) {
		p := setParsers[int(which)%len(setParsers)]
		opt := ImportOptions{Format: FormatCSV, Partial: partial, AllowEmpty: true}
		if asJSON {
			opt.Format = FormatJSON
		}
		got, rep, err := p.parse(in, opt)
		if err != nil {
			known := false
			for _, e := range []error{ErrBadRows, ErrHeader, ErrFormat, ErrEmpty, ErrEncoding, ErrTooLarge} {
				known = known || errors.Is(err, e)
			}
			if !known {
				t.Fatalf("%s: error %v is none of the import's", p.name, err)
			}
			if rep.Kept != 0 {
				t.Fatalf("%s: %d rows kept with error %v", p.name, rep.Kept, err)
			}
			var be *BadRowsError
			if errors.As(err, &be) {
				checkRowErrors(t, p.name, opt, be.Rows)
			}
			return
		}
		if rep.Kept > rep.Records || rep.Kept < 0 {
			t.Fatalf("%s: %d kept of %d rows", p.name, rep.Kept, rep.Records)
		}
		if !partial && len(rep.Rejected) > 0 {
			t.Fatalf("%s: %d problems accepted without a partial import", p.name, len(rep.Rejected))
		}
		checkRowErrors(t, p.name, opt, rep.Rejected)
		if _, err := Build("fuzz", got); err != nil {
			t.Fatalf("%s: kept rows do not build: %v", p.name, err)
		}
	})
}

// checkRowErrors fails t unless every problem names its row in the
// file's format, says what is wrong, and quotes no patient or case.
func checkRowErrors(t *testing.T, set string, opt ImportOptions, errs []RowError) {
	t.Helper()
	for _, e := range errs {
		if opt.Format == FormatCSV && (e.Line < 2 || e.Index != -1) || opt.Format == FormatJSON && (e.Line != 0 || e.Index < 0) {
			t.Fatalf("%s: problem %+v names no row of a %s file", set, e, opt.Format)
		}
		if e.Reason == "" {
			t.Fatalf("%s: problem %+v says nothing", set, e)
		}
		if (e.Column == "patient" || e.Column == "case") && strings.Contains(e.Reason, `"`) {
			t.Fatalf("%s: problem %q quotes a %s", set, e.Error(), e.Column)
		}
	}
}

// FuzzParseAmount reads any text as an amount: one that reads writes
// (String) as text that reads to the same amount, and one that does not
// read is an error.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"1234.50", "1234.5", "1234", "-3.20", "0.05", "12.300", "+1", ".5", "5.", "-.",
		"92233720368547758.07", "-92233720368547758.08", "92233720368547758.08", "1,234.00", "¥12", "1e3", "12.345", "", "-", "0.001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAmount(s)
		if err != nil {
			if a != 0 {
				t.Fatalf("%q: %d with error %v", s, a, err)
			}
			return
		}
		back, err := ParseAmount(a.String())
		if err != nil || back != a {
			t.Fatalf("%q read %d, written %q, read again %d, %v", s, a, a.String(), back, err)
		}
	})
}

// FuzzUnmarshalBinary decodes any bytes as stored master data (seeded
// with the stored encodings of every set and of a whole Data, whole, cut
// and with a byte changed; its checksum as stored or made right, so that
// the fuzzer reaches past it): it never panics; an error wraps ErrCorrupt or
// ErrVersion; and what decodes encodes to bytes that decode and encode
// again to the same bytes.
func FuzzUnmarshalBinary(f *testing.F) {
	paths, err := os.ReadDir("testdata/stored")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range paths {
		b, err := os.ReadFile("testdata/stored/" + p.Name())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b[:len(b)/2], true)
		flipped := bytes.Clone(b)
		flipped[len(b)/2] ^= 0x40
		f.Add(flipped, false)
		f.Add(flipped, true)
	}
	if b, err := demoSets(f).MarshalBinary(); err == nil {
		f.Add(b, false)
	}
	f.Fuzz(func(t *testing.T, b []byte, fixCRC bool) {
		if fixCRC && len(b) >= 4 {
			b = bytes.Clone(b)
			binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.Checksum(b[:len(b)-4], castagnoli))
		}
		var d Data
		if err := d.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
				t.Fatalf("error %v is neither corrupt nor version", err)
			}
			return
		}
		once, err := d.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded data does not encode: %v", err)
		}
		var back Data
		if err := back.UnmarshalBinary(once); err != nil {
			t.Fatalf("encoded again does not decode: %v", err)
		}
		twice, err := back.MarshalBinary()
		if err != nil || !bytes.Equal(once, twice) {
			t.Fatalf("encoding not stable: %v", err)
		}
		if back.Counts() != d.Counts() || back.Version != d.Version {
			t.Fatalf("round trip %+v %q, was %+v %q", back.Counts(), back.Version, d.Counts(), d.Version)
		}
	})
}
