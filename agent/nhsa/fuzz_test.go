package nhsa

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// The seeds of these targets are in testdata/fuzz/<target>/: real-shaped
// inputs (codes as the releases write them and as spreadsheets damage
// them; 1306 files with a header, without one, in GB18030, with a BOM,
// CRLF, quotes and bad rows; release tables with chains, cycles and
// conflicts).

// FuzzParseCode checks that ParseCode never panics; that a code it
// returns is "C" and 19 or 26 digits, parses again to itself and is the
// join of its parts; and that every refusal is a *CodeError quoting the
// input and naming a position inside it, or none.
func FuzzParseCode(f *testing.F) {
	f.Add(codeA)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCode(s)
		if err != nil {
			var ce *CodeError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCode) || ce.Input != s || ce.Want == "" || c != "" {
				t.Fatalf("ParseCode(%q) = %q, %v", s, c, err)
			}
			if ce.Pos < 0 || ce.Pos > utf8.RuneCountInString(normaliseCode(s)) || (ce.Pos > 0) != (ce.Got != "") {
				t.Fatalf("ParseCode(%q): position %d, got %q", s, ce.Pos, ce.Got)
			}
			return
		}
		if (c.Len() != ShortLen && c.Len() != LongLen) || c[0] != 'C' || !allDigits(string(c[1:])) {
			t.Fatalf("ParseCode(%q) = %q", s, c)
		}
		if again, err := ParseCode(string(c)); err != nil || again != c {
			t.Fatalf("ParseCode(%q) = %q, %v", c, again, err)
		}
		l := c.Levels()
		if "C"+l[0]+l[1]+l[2]+c.GenericName()+c.Material()+c.Feature()+c.Manufacturer()+c.Product() != string(c) || c.Short() != c[:ShortLen] {
			t.Fatalf("the parts of %s do not join to it", c)
		}
	})
}

// checkFileError fails t unless err is one of the file-level errors a
// reader returns for bytes read from memory.
func checkFileError(t *testing.T, err error) {
	t.Helper()
	for _, s := range []error{ErrHeader, ErrEncoding, ErrEmpty, ErrTooLong, ErrBadRows, ErrCycle, ErrConflict} {
		if errors.Is(err, s) {
			if !strings.HasPrefix(err.Error(), "nhsa: ") {
				t.Fatalf("message %q", err)
			}
			return
		}
	}
	t.Fatalf("unexpected error %v", err)
}

// checkBadRows checks a *BadRowsError's problems: each names the file, a
// line and a reason, in file order.
func checkBadRows(t *testing.T, err error, file string) *BadRowsError {
	t.Helper()
	var be *BadRowsError
	if !errors.As(err, &be) {
		return nil
	}
	if be.Bad == 0 || be.Bad > be.Rows || len(be.Errors) == 0 || len(be.Errors) > MaxRejected {
		t.Fatalf("bad rows %d of %d, %d problems", be.Bad, be.Rows, len(be.Errors))
	}
	for i, e := range be.Errors {
		if e.File != file || e.Line < 1 || e.Reason == "" || (i > 0 && e.Line < be.Errors[i-1].Line) {
			t.Fatalf("problem %+v", e)
		}
	}
	return be
}

// FuzzReadCatalogue checks that ReadCatalogue never panics whatever the
// bytes; that every item fn gets has a valid code and UDI-DIs; that
// without SkipBadRows fn gets no row after a bad one; that the counts
// add up; and that every error is one of the package's.
func FuzzReadCatalogue(f *testing.F) {
	f.Add([]byte(tsv("\n", header1306(), row1306(nil))), false)
	f.Fuzz(func(t *testing.T, in []byte, skip bool) {
		var items []Item
		sum, err := ReadCatalogue(bytes.NewReader(in), "f.txt", Options{SkipBadRows: skip}, func(it Item) error {
			items = append(items, it)
			return nil
		})
		if sum.Passed != len(items) {
			t.Fatalf("passed %d, fn got %d", sum.Passed, len(items))
		}
		for _, it := range items {
			if c, err := ParseCode(string(it.Code)); err != nil || c != it.Code || it.Line < 1 {
				t.Fatalf("item at line %d with code %q", it.Line, it.Code)
			}
			for _, d := range it.UDIDI {
				if d == "" || strings.ContainsAny(d, " ;,") {
					t.Fatalf("UDI-DI %q", d)
				}
			}
		}
		lines := make([]int, len(items))
		for i, it := range items {
			lines[i] = it.Line
		}
		checkOutcome(t, sum, err, skip, "f.txt", lines)
	})
}

// checkOutcome checks how a reading of file ended: without error, the
// counts add up (and no row was rejected unless skip); with one, it is
// one of the package's, and without skip fn got no row (lines, the rows
// fn got) from the first bad line on.
func checkOutcome(t *testing.T, sum Summary, err error, skip bool, file string, lines []int) {
	t.Helper()
	if err == nil {
		if sum.Rows == 0 || sum.Passed+sum.RejectedRows != sum.Rows || (!skip && sum.RejectedRows != 0) {
			t.Fatalf("summary %+v", sum)
		}
		return
	}
	checkFileError(t, err)
	if be := checkBadRows(t, err, file); be != nil && !skip {
		for _, l := range lines {
			if l >= be.Errors[0].Line {
				t.Fatalf("fn got line %d after the bad line %d", l, be.Errors[0].Line)
			}
		}
	}
}

// FuzzReadReleases checks that reading a withdrawn-codes table and an
// old→new table never panics; that a refused old→new table adds nothing;
// and that once the tables are read, Map ends for every code they
// replace, at a code nothing replaces.
func FuzzReadReleases(f *testing.F) {
	f.Add([]byte("27位码,原码状态\n"+codeE+",停用\n"), []byte("原27位码,27位码\n"+codeD+","+codeE+"\n"))
	f.Fuzz(func(t *testing.T, withdrawn, transcode []byte) {
		var rs Releases
		if _, err := rs.ReadWithdrawn(bytes.NewReader(withdrawn), "w.csv", Options{}); err != nil {
			checkFileError(t, err)
			checkBadRows(t, err, "w.csv")
		}
		if _, err := rs.ReadTranscode(bytes.NewReader(transcode), "t.csv", Options{}); err != nil {
			checkFileError(t, err)
			checkBadRows(t, err, "t.csv")
			if n, _ := rs.Len(); n != 0 {
				t.Fatalf("a refused table added %d rows", n)
			}
		}
		n, _ := rs.Len()
		for old := range rs.next {
			now, w, hops := rs.Map(old)
			if _, more := rs.Next(now); more || hops < 1 || hops > n {
				t.Fatalf("Map(%s) = %s after %d hops (next: %v)", old, now, hops, more)
			}
			if _, gone := rs.Withdrawal(now); gone != w {
				t.Fatalf("Map(%s) withdrawn %v, table says %v", old, w, gone)
			}
		}
	})
}
