package nhsa

import (
	"errors"
	"strings"
	"testing"
)

// The codes and GTINs of the synthetic files. The first code is the
// example of CHINA.md; the others have the same shape but are made up.
// The GTINs use GS1 China's range with a fictitious company prefix, and
// the GS1 example GTIN; all check digits are right.
const (
	codeA = "C09100100000000211790000049"
	codeB = "C03010100100100012340000001"
	codeC = "C03010100100100012340000002"
	codeD = "C14020300200300045670000003"
	codeE = "C14020300200300045670000004"
	codeF = "C02030400300400098760000005"

	gtinA = "06901234567892"
	gtinB = "09520123456788"
	gtinC = "6901234567892"
	gtinD = "06901234567908"
)

func TestParseCodeParts(t *testing.T) {
	c, err := ParseCode(codeA)
	if err != nil {
		t.Fatal(err)
	}
	if c != codeA || c.Len() != 27 {
		t.Fatalf("ParseCode(%s) = %q, len %d", codeA, c, c.Len())
	}
	got := []string{c.Classification(), c.Levels()[0], c.Levels()[1], c.Levels()[2], c.GenericName(), c.Material(), c.Feature(), c.Manufacturer(), c.Product(), string(c.Short())}
	want := []string{"091001", "09", "10", "01", "000", "00", "000", "21179", "0000049", "C0910010000000021179"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("part %d = %q, want %q", i, got[i], want[i])
		}
	}
	// The parts put together are the code again.
	l := c.Levels()
	if joined := "C" + l[0] + l[1] + l[2] + c.GenericName() + c.Material() + c.Feature() + c.Manufacturer() + c.Product(); joined != codeA {
		t.Errorf("parts join to %s", joined)
	}

	s, err := ParseCode(string(c.Short()))
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 20 || s.Short() != s || s.Product() != "" || s.Manufacturer() != "21179" {
		t.Errorf("20-character code %s: len %d, short %s, product %q, manufacturer %q", s, s.Len(), s.Short(), s.Product(), s.Manufacturer())
	}
}

func TestParseCodeNormalises(t *testing.T) {
	wide := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r == 'C' {
			return r - '!' + 0xFF01
		}
		return r
	}, codeA)
	for _, in := range []string{
		"  " + codeA + "\t",
		"c" + codeA[1:],
		wide,
		"\u3000" + codeA + "\u00A0",
		"\uFEFF" + codeA,
		`="` + codeA + `"`,
		"'" + codeA,
		"\u200B" + codeA + "\r\n",
	} {
		c, err := ParseCode(in)
		if err != nil || c != codeA {
			t.Errorf("ParseCode(%q) = %q, %v; want %s", in, c, err, codeA)
		}
	}
}

func TestParseCodeRefuses(t *testing.T) {
	for _, tc := range []struct {
		in   string
		pos  int
		got  string
		want string
	}{
		{"", 0, "", "empty"},
		{"   ", 0, "", "empty"},
		{"9.10010000000002E+25", 0, "", "scientific notation"},
		{"9.1001e25", 0, "", "scientific notation"},
		{codeA[1:], 0, "", `leading "C"`},
		{codeA[1:20], 0, "", `leading "C"`},
		{"X" + codeA[1:], 1, "X", `"C"`},
		{"D" + codeA[1:], 1, "D", `"C"`},
		{"C09 100100000000211790000049", 4, " ", "classification level 2"},
		{"C09-10-01-000-00-000-21179-0000049", 4, "-", "classification level 2"},
		{codeA[:26], 0, "", "26 characters"},
		{codeA + "1", 0, "", "28 characters"},
		{codeA[:21], 0, "", "21 characters"},
		{"C0910010000000021179０", 21, "0", ""}, // full-width read as ASCII: a 21st digit
		{codeA[:20] + "x", 21, "x", "single product"},
		{"C09100100000000211790000049x", 0, "", "28 characters"},
		{"C0910010000000021179000004é", 27, "é", "specification-model"},
	} {
		_, err := ParseCode(tc.in)
		var ce *CodeError
		if !errors.As(err, &ce) || !errors.Is(err, ErrCode) {
			t.Errorf("ParseCode(%q) = %v, want a *CodeError", tc.in, err)
			continue
		}
		if tc.pos == 21 && tc.want == "" {
			// 21 digits: the length is wrong, not a character.
			if ce.Pos != 0 || !strings.Contains(err.Error(), "21 characters") {
				t.Errorf("ParseCode(%q): %v", tc.in, err)
			}
			continue
		}
		if ce.Pos != tc.pos || ce.Got != tc.got || !strings.Contains(err.Error(), tc.want) || ce.Input != tc.in {
			t.Errorf("ParseCode(%q) = pos %d got %q: %v; want pos %d got %q mentioning %q", tc.in, ce.Pos, ce.Got, err, tc.pos, tc.got, tc.want)
		}
	}
}

// Every position of the code names its part when it holds a letter.
func TestParseCodeNamesEveryPosition(t *testing.T) {
	wantPart := []string{"", "",
		"level 1", "level 1", "level 2", "level 2", "level 3", "level 3",
		"generic name", "generic name", "generic name", "material", "material",
		"feature", "feature", "feature", "manufacturer", "manufacturer", "manufacturer", "manufacturer", "manufacturer",
		"product", "product", "product", "product", "product", "product", "product"}
	for pos := 2; pos <= 27; pos++ {
		in := codeA[:pos-1] + "A" + codeA[pos:]
		_, err := ParseCode(in)
		var ce *CodeError
		if !errors.As(err, &ce) || ce.Pos != pos || ce.Got != "A" || !strings.Contains(err.Error(), wantPart[pos]) || !strings.Contains(err.Error(), "want a digit") {
			t.Errorf("letter at %d: %v", pos, err)
		}
	}
}

func TestCodePartsOfOtherStrings(t *testing.T) {
	for _, c := range []Code{"", "C0", "C09100100000"} {
		if c.Short() != "" || c.Product() != "" || c.Manufacturer() != "" {
			t.Errorf("%q: short %q product %q manufacturer %q", c, c.Short(), c.Product(), c.Manufacturer())
		}
	}
	if l := Code("C0910").Levels(); l != [3]string{"09", "10", ""} {
		t.Errorf("levels of a cut code: %q", l)
	}
}
