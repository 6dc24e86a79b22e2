package nhsa

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// withdrawnCSV and transcodeCSV build the two tables as CSV with the
// release's own headers.
func withdrawnCSV(t testing.TB, codes ...string) string {
	rows := [][]string{{"27位码", "原码状态"}}
	for _, c := range codes {
		rows = append(rows, []string{c, "停用"})
	}
	return quoted(t, ',', true, rows...)
}

func transcodeCSV(t testing.TB, pairs ...string) string {
	rows := [][]string{{"原27位码", "原码状态", "27位码", "类型"}}
	for i := 0; i+1 < len(pairs); i += 2 {
		rows = append(rows, []string{pairs[i], "停用", pairs[i+1], "变更"})
	}
	return quoted(t, ',', true, rows...)
}

func TestReleasesMap(t *testing.T) {
	var rs Releases
	if _, err := rs.ReadWithdrawn(strings.NewReader(withdrawnCSV(t, codeE, codeF, codeF)), "停用表.csv", Options{}); err != nil {
		t.Fatal(err)
	}
	sum, err := rs.ReadTranscode(strings.NewReader(transcodeCSV(t, codeA, codeB, codeB, codeC, codeD, codeE, codeA, codeB)), "转码表.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Rows != 4 || sum.Passed != 4 {
		t.Errorf("summary %+v", sum)
	}
	for _, tc := range []struct {
		in, now   Code
		withdrawn bool
		hops      int
	}{
		{codeA, codeC, false, 2}, // A → B → C
		{codeB, codeC, false, 1},
		{codeC, codeC, false, 0},
		{codeD, codeE, true, 1}, // D → E, and E is withdrawn
		{codeF, codeF, true, 0}, // withdrawn, no successor
		{"C00000000000000000000000000", "C00000000000000000000000000", false, 0},
	} {
		now, w, hops := rs.Map(tc.in)
		if now != tc.now || w != tc.withdrawn || hops != tc.hops {
			t.Errorf("Map(%s) = %s, %v, %d; want %s, %v, %d", tc.in, now, w, hops, tc.now, tc.withdrawn, tc.hops)
		}
	}
	tr, ok := rs.Next(codeA)
	if !ok || tr.New != codeB || tr.Status != "停用" || tr.Type != "变更" || tr.Row != (Place{"转码表.csv", 2}) {
		t.Errorf("Next(A) = %+v, %v", tr, ok)
	}
	w, ok := rs.Withdrawal(codeF)
	if !ok || w.Status != "停用" || w.Row != (Place{"停用表.csv", 3}) {
		t.Errorf("Withdrawal(F) = %+v, %v (kept the first of the two rows?)", w, ok)
	}
	if n, m := rs.Len(); n != 3 || m != 2 {
		t.Errorf("Len = %d, %d", n, m)
	}
}

// A chain runs across the tables of successive releases.
func TestReleasesChainAcrossReleases(t *testing.T) {
	var rs Releases
	for i, text := range []string{transcodeCSV(t, codeA, codeB), transcodeCSV(t, codeB, codeC), transcodeCSV(t, codeC, codeD)} {
		if _, err := rs.ReadTranscode(strings.NewReader(text), "r"+string(rune('1'+i))+".csv", Options{}); err != nil {
			t.Fatal(err)
		}
	}
	if now, _, hops := rs.Map(codeA); now != codeD || hops != 3 {
		t.Errorf("Map(A) = %s after %d hops", now, hops)
	}
}

func TestReleasesCycle(t *testing.T) {
	var rs Releases
	_, err := rs.ReadTranscode(strings.NewReader(transcodeCSV(t, codeD, codeE, codeA, codeB, codeB, codeC, codeC, codeA)), "t.csv", Options{})
	var ce *CycleError
	if !errors.As(err, &ce) || !errors.Is(err, ErrCycle) {
		t.Fatalf("err %v", err)
	}
	if !slices.Equal(ce.Codes, []Code{codeA, codeB, codeC}) || !slices.Equal(ce.Rows, []Place{{"t.csv", 3}, {"t.csv", 4}, {"t.csv", 5}}) {
		t.Errorf("cycle %v rows %v", ce.Codes, ce.Rows)
	}
	want := "nhsa: transcode cycle, the tables are refused: " + codeA + " (t.csv:3) → " + codeB + " (t.csv:4) → " + codeC + " (t.csv:5) → " + codeA
	if err.Error() != want {
		t.Errorf("message\n %s\nwant\n %s", err, want)
	}
	if n, _ := rs.Len(); n != 0 {
		t.Errorf("a refused table added %d rows", n)
	}

	// Across releases: the second table closes the loop and is refused;
	// the first stays.
	if _, err := rs.ReadTranscode(strings.NewReader(transcodeCSV(t, codeA, codeB)), "r1.csv", Options{}); err != nil {
		t.Fatal(err)
	}
	_, err = rs.ReadTranscode(strings.NewReader(transcodeCSV(t, codeC, codeD, codeB, codeA)), "r2.csv", Options{})
	if !errors.As(err, &ce) || !slices.Equal(ce.Rows, []Place{{"r2.csv", 3}, {"r1.csv", 2}}) {
		t.Fatalf("err %v", err)
	}
	if n, _ := rs.Len(); n != 1 {
		t.Errorf("Len = %d after a refused table", n)
	}
	if now, _, _ := rs.Map(codeC); now != codeC {
		t.Errorf("the refused table's other row was added: Map(C) = %s", now)
	}
}

func TestReleasesConflict(t *testing.T) {
	var rs Releases
	_, err := rs.ReadTranscode(strings.NewReader(transcodeCSV(t, codeA, codeB, codeA, codeC)), "t.csv", Options{})
	var ce *ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, ErrConflict) || ce.First != codeB || ce.Second != codeC || ce.SecondRow != (Place{"t.csv", 3}) {
		t.Fatalf("err %v", err)
	}
	if _, err := rs.ReadTranscode(strings.NewReader(transcodeCSV(t, codeA, codeB)), "r1.csv", Options{}); err != nil {
		t.Fatal(err)
	}
	_, err = rs.ReadTranscode(strings.NewReader(transcodeCSV(t, codeA, codeD)), "r2.csv", Options{})
	if !errors.As(err, &ce) || ce.FirstRow != (Place{"r1.csv", 2}) || !strings.Contains(err.Error(), "becomes "+codeB+" (r1.csv:2) and "+codeD+" (r2.csv:2)") {
		t.Errorf("err %v", err)
	}
}

func TestReleasesBadRows(t *testing.T) {
	var rs Releases
	_, err := rs.ReadTranscode(strings.NewReader(transcodeCSV(t, codeA, codeA, codeB, "C0301")), "t.csv", Options{})
	var be *BadRowsError
	if !errors.As(err, &be) || len(be.Errors) != 2 || be.Errors[0].Column != "27位码" || !strings.Contains(be.Errors[0].Reason, "the new code is the old code") ||
		be.Errors[1].Line != 3 || !strings.Contains(be.Errors[1].Reason, "5 characters") {
		t.Errorf("err %v", err)
	}
	text := quoted(t, ',', false, []string{"27位码", "原码状态"}, []string{codeA, "保留"})
	_, err = rs.ReadWithdrawn(strings.NewReader(text), "w.csv", Options{})
	if !errors.As(err, &be) || !strings.Contains(be.Errors[0].Reason, `"保留" is not the status of a withdrawn code`) {
		t.Errorf("err %v", err)
	}
	if n, m := rs.Len(); n != 0 || m != 0 {
		t.Errorf("refused tables added %d, %d", n, m)
	}
}

// One table is never read as another.
func TestReleasesWrongTable(t *testing.T) {
	var rs Releases
	_, err := rs.ReadWithdrawn(strings.NewReader(transcodeCSV(t, codeA, codeB)), "t.csv", Options{})
	if !errors.Is(err, ErrHeader) || !strings.Contains(err.Error(), "column 1 (原27位码) belongs in the old→new table (转码表), not in the withdrawn-codes table (停用表)") {
		t.Errorf("transcode table read as withdrawn: %v", err)
	}
	cat := quoted(t, ',', false, []string{"med_list_codg", "mcs_name", "code"}, []string{codeA, "x", codeA})
	if _, err := rs.ReadWithdrawn(strings.NewReader(cat), "c.csv", Options{}); !errors.Is(err, ErrHeader) {
		t.Errorf("catalogue read as withdrawn: %v", err)
	}
	if _, err := rs.ReadTranscode(strings.NewReader(withdrawnCSV(t, codeA)), "w.csv", Options{}); !errors.Is(err, ErrHeader) || !strings.Contains(err.Error(), "no column for old_code (name it 原27位码") {
		t.Errorf("withdrawn table read as transcode: %v", err)
	}
}

// English headers, tab-separated, GB18030 with Excel's habits.
func TestReleasesOtherHeadersAndEncodings(t *testing.T) {
	var rs Releases
	text := "old_code\tnew_code\ttype\r\n" + codeA + "\t" + codeB + "\t映射\r\n"
	if _, err := rs.ReadTranscode(strings.NewReader(text), "t.tsv", Options{}); err != nil {
		t.Fatal(err)
	}
	sum, err := rs.ReadWithdrawn(strings.NewReader(string(gb18030(t, withdrawnCSV(t, codeB)))), "w.csv", Options{})
	if err != nil || sum.Encoding != EncodingGB18030 {
		t.Fatalf("%v, summary %+v", err, sum)
	}
	if now, w, _ := rs.Map(codeA); now != codeB || !w {
		t.Errorf("Map(A) = %s, %v", now, w)
	}
	if tr, _ := rs.Next(codeA); tr.Type != "映射" {
		t.Errorf("type %q", tr.Type)
	}
}
