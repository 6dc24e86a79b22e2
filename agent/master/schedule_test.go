package master

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

const scheduleCSV = `case,patient,room,start,end,procedure
C-100,P-1,OR-3,2026-11-25T08:00:00+08:00,2026-11-25T09:30:00+08:00,hip replacement
C-101,P-2,OR-3,2026-11-25T10:00:00+08:00,2026-11-25T12:00:00+08:00,knee replacement
C-102,P-3,OR-4,2026-11-25T10:00:00+08:00,2026-11-25T11:00:00+08:00,
C-103,P-4,OR-4,2026-11-25T11:15:00+08:00,2026-11-25T12:00:00+08:00,
C-104,P-5,OR-5,2026-11-25 13:00,2026-11-25 12:00,
C-105,P-6,OR-5,tomorrow,2026-11-25T12:00:00+08:00,
,P-7,OR-5,2026-11-25T10:00:00+08:00,2026-11-25T11:00:00+08:00,
`

func TestParseSchedules(t *testing.T) {
	s, errs, err := lenient(ParseSchedules, strings.NewReader(scheduleCSV), "csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 4 {
		t.Fatalf("%d schedules kept, want 4", len(s))
	}
	want := []string{"line 6: column end: not after the start", `line 7: column start: "tomorrow" is not a time`, "line 8: column case: missing"}
	if len(errs) != len(want) {
		t.Fatalf("row errors %v, want %d", errs, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("row error %d: %q, want %q...", i, errs[i].Error(), w)
		}
		if strings.Contains(errs[i].Error(), "P-") {
			t.Errorf("row error %q quotes a patient", errs[i].Error())
		}
	}
	if s[0].Procedure != "hip replacement" || s[0].Room != "OR-3" || s[0].Patient != "P-1" {
		t.Errorf("first schedule %+v", s[0])
	}
	if _, off := s[0].Start.Zone(); off != 8*3600 {
		t.Errorf("start zone offset %d, want +08:00", off)
	}
}

func TestScheduledCase(t *testing.T) {
	s, _, err := lenient(ParseSchedules, strings.NewReader(scheduleCSV), "csv")
	if err != nil {
		t.Fatal(err)
	}
	d, err := Build("v", Sets{Schedules: s})
	if err != nil {
		t.Fatal(err)
	}
	at := func(hm string) time.Time {
		tm, err := time.Parse(time.RFC3339, "2026-11-25T"+hm+":00+08:00")
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, c := range []struct {
		room, at, want string
	}{
		{"OR-3", "08:10", "C-100"},
		{"OR-3", "09:20", "C-100"},
		{"OR-3", "09:45", ""},      // the first overran or the next began early: ambiguous
		{"OR-3", "10:05", "C-101"}, // "a scan in OR 3 at 10:05 links to the case scheduled there"
		{"OR-3", "12:29", "C-101"},
		{"OR-3", "12:31", ""},      // after the slack
		{"OR-3", "07:20", ""},      // before the slack
		{"OR-4", "11:05", ""},      // within the slack of both cases: ambiguous
		{"OR-4", "11:20", "C-103"}, // inside one case: that one
		{"OR-9", "10:00", ""},
	} {
		got, ok := d.ScheduledCase(c.room, at(c.at))
		if got.Case != c.want || ok != (c.want != "") {
			t.Errorf("%s at %s: %q %v, want %q", c.room, c.at, got.Case, ok, c.want)
		}
	}
}

func TestParLevels(t *testing.T) {
	p, errs, err := lenient(ParseParLevels, strings.NewReader("location,gtin,min,max\ncab-1,6901234100013,2,6\ncab-1,06901234100014,2,6\ncab-2,06901234100013,5,3\ncab-2,06901234100013,x,3\n"), "csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 1 || len(errs) != 3 {
		t.Fatalf("%d kept, errors %v; want 1 and 3", len(p), errs)
	}
	for i, w := range []string{"line 3: column gtin:", "line 4: column max: below min", "line 5: column min:"} {
		if !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("row error %d: %q, want %q...", i, errs[i].Error(), w)
		}
	}
	d, err := Build("v", Sets{ParLevels: p})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := d.Par("cab-1", "06901234100013"); !ok || got.Min != 2 || got.Max != 6 {
		t.Errorf("Par: %+v %v", got, ok)
	}
	if _, ok := d.Par("cab-2", "06901234100013"); ok {
		t.Error("Par of a location without one")
	}
}

// TestParLevelTwice: a file giving two par levels of one product at one
// location (the GTIN written with 13 and with 14 digits) is refused,
// naming both rows, not imported with one of them dropped; at other
// locations the product may have its own. A max that is not a count is
// one problem, not two.
func TestParLevelTwice(t *testing.T) {
	for _, tc := range []struct{ format, file, want string }{
		{"csv", "location,gtin,min,max\nWH,06901234100013,3,5\nOR-3,06901234100013,1,2\nWH,6901234100013,2,8\n",
			`line 4: column location: a par level of 06901234100013 at "WH" is given twice, differently: line 2 gives it too`},
		{"json", `[{"location":"WH","gtin":"06901234100013","min":3,"max":5},{"location":"WH","gtin":"06901234100013","min":2,"max":8}]`,
			`index 1: key location: a par level of 06901234100013 at "WH" is given twice, differently: index 0 gives it too`},
	} {
		_, _, err := ParseParLevels(strings.NewReader(tc.file), ImportOptions{Format: tc.format})
		var bad *BadRowsError
		if !errors.As(err, &bad) || bad.Bad != 1 || len(bad.Rows) != 1 || !strings.HasPrefix(bad.Rows[0].Error(), tc.want) {
			t.Errorf("%s: %v, want the second row refused: %s", tc.format, err, tc.want)
		}
	}
	_, _, err := ParseParLevels(strings.NewReader("location,gtin,min,max\nWH,06901234100013,3,abc\n"), ImportOptions{Format: "csv"})
	var bad *BadRowsError
	if !errors.As(err, &bad) || bad.Problems != 1 {
		t.Errorf("max abc: %v, want one problem", err)
	}
}

// TestImport replaces one set at a time, keeps the others, records the
// central service's set versions and round-trips them through the
// encoding.
func TestImport(t *testing.T) {
	d := demo(t)
	n, rep, err := d.Import("schedules", strings.NewReader(scheduleCSV), ImportOptions{Format: "csv", Partial: true, Version: "v2", SetVersion: 7})
	if err != nil || len(rep.Rejected) != 3 || rep.Records != 7 || rep.Kept != 4 || rep.Encoding != EncodingUTF8 {
		t.Fatalf("Import: %v, report %+v", err, rep)
	}
	if n.Counts().Schedules != 4 || n.Counts().Catalogue != d.Counts().Catalogue || d.Counts().Schedules != 0 {
		t.Fatalf("counts %+v (before %+v)", n.Counts(), d.Counts())
	}
	if n.SetVersion("schedules") != 7 || n.SetVersion("catalogue") != 0 {
		t.Errorf("set versions %d %d", n.SetVersion("schedules"), n.SetVersion("catalogue"))
	}
	b, err := n.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back Data
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	b2, _ := back.MarshalBinary()
	if string(b2) != string(b) || back.Counts() != n.Counts() || back.SetVersion("schedules") != 7 {
		t.Error("round trip changed the sets")
	}
	if got, ok := back.ScheduledCase("OR-3", n.Schedules()[1].Start); !ok || got.Case != "C-101" || !got.End.Equal(n.Schedules()[1].End) {
		t.Errorf("schedule after the round trip: %+v %v", got, ok)
	}
	// A set from a file drops the central version of that set.
	m, _, err := n.Import("schedules", strings.NewReader(`[{"case":"C-9","room":"OR-1","start":"2026-11-25T08:00:00Z","end":"2026-11-25T09:00:00Z"}]`), ImportOptions{Format: "json", Version: "v3"})
	if err != nil || m.SetVersion("schedules") != 0 || m.Counts().Schedules != 1 || m.Version != "v3" {
		t.Fatalf("file over central: %v, version %d", err, m.SetVersion("schedules"))
	}
	if _, _, err := n.Import("pets", strings.NewReader("a\n1\n"), ImportOptions{Format: "csv"}); !errors.Is(err, ErrFormat) {
		t.Errorf("unknown set: %v", err)
	}
}

// TestSameKeyTwice: a file of lot statuses, settlements or schedules
// giving one key two different rows is refused naming both rows (a
// case by its column only: it identifies a patient's operation); a row
// repeated exactly is taken.
func TestSameKeyTwice(t *testing.T) {
	for _, tc := range []struct {
		parse      func(io.Reader, ImportOptions) error
		twice, dup string
		want       string
	}{
		{func(r io.Reader, o ImportOptions) error { _, _, err := ParseLotStatuses(r, o); return err },
			"gtin,lot,status\n06901234100013,L1,on-hold\n06901234100013,L2,on-hold\n06901234100013,L1,approved\n",
			"gtin,lot,status\n06901234100013,L1,on-hold\n06901234100013,L1,on-hold\n",
			`line 4: column lot: the status of lot "L1" of 06901234100013 is given twice, differently: line 2 gives it too`},
		{func(r io.Reader, o ImportOptions) error { _, _, err := ParseSettlements(r, o); return err },
			"id,patient,case,gtin,amount\nS-1,P1,C1,06901234100013,10.00\nS-1,P1,C1,06901234100013,12.00\n",
			"id,patient,case,gtin,amount\nS-1,P1,C1,06901234100013,10.00\nS-1,P1,C1,06901234100013,10.00\n",
			`line 3: column id: settlement line "S-1" is given twice, differently: line 2 gives it too`},
		{func(r io.Reader, o ImportOptions) error { _, _, err := ParseSchedules(r, o); return err },
			"case,room,start,end\nC-77,OR-3,2026-12-07 08:00,2026-12-07 10:00\nC-77,OR-4,2026-12-07 08:00,2026-12-07 10:00\n",
			"case,room,start,end\nC-77,OR-3,2026-12-07 08:00,2026-12-07 10:00\nC-77,OR-3,2026-12-07 08:00,2026-12-07 10:00\n",
			`line 3: column case: this case is given twice, differently: line 2 gives it too`},
	} {
		err := tc.parse(strings.NewReader(tc.twice), ImportOptions{Format: "csv"})
		var bad *BadRowsError
		if !errors.As(err, &bad) || bad.Bad != 1 || !strings.HasPrefix(bad.Rows[0].Error(), tc.want) {
			t.Errorf("%v, want one row refused: %s", err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "C-77") {
			t.Errorf("the refusal quotes the case: %v", err)
		}
		if err := tc.parse(strings.NewReader(tc.dup), ImportOptions{Format: "csv"}); err != nil {
			t.Errorf("a row repeated exactly: %v", err)
		}
	}
}
