package nhsa

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Code is a national medical-insurance consumable code (医保医用耗材代码)
// of 20 or 27 characters, as ParseCode returns it: "C" and 19 or 26
// digits. It is a string, never a number: its digits start with zeros.
//
// The methods that return parts assume a Code from ParseCode; on any
// other string they return "" rather than panic.
type Code string

// Lengths of the two forms of the code.
const (
	// ShortLen is the length of the 20-character code: the classification,
	// generic name, material, feature and manufacturer.
	ShortLen = 20
	// LongLen is the length of the 27-character code: the 20-character
	// code and 7 digits for the single product or specification-model.
	LongLen = 27
)

// segment is one part of the code: its characters [from, to) and its name.
type segment struct {
	from, to int
	name     string
}

// segments are the parts of the code after the leading "C", in order.
var segments = [...]segment{
	{1, 3, "classification level 1"},
	{3, 5, "classification level 2"},
	{5, 7, "classification level 3"},
	{7, 10, "generic name"},
	{10, 12, "material"},
	{12, 15, "feature"},
	{15, 20, "manufacturer"},
	{20, 27, "single product / specification-model"},
}

// ParseCode returns s as a Code, or a *CodeError (wrapping ErrCode) that
// names the first character at fault and what was expected there.
//
// A code is "C" followed by digits, 20 or 27 characters in all:
// classification in three levels of 2 digits (characters 2-7), generic
// name (3 digits, 8-10), material (2, 11-12), feature (3, 13-15),
// manufacturer (5, 16-20) and, in the 27-character code, the single
// product or specification-model (7 digits, 21-27).
//
// Before checking, ParseCode undoes what spreadsheets and Chinese input
// methods do to a code without changing it: it trims white space
// (including the ideographic space U+3000, no-break spaces and a byte
// order mark), reads full-width letters and digits as their ASCII
// forms, drops Excel's text markers (a leading apostrophe, or the
// formula form ="…"), and upper-cases a leading "c". It refuses, with a
// message saying why, anything that would need a guess: a code without
// its "C" (its leading zeros may be lost too), a number a spreadsheet
// rounded into scientific notation, white space or separators inside the
// code, and any other length.
func ParseCode(s string) (Code, error) {
	n := normaliseCode(s)
	fail := func(pos int, want string) (Code, error) {
		e := &CodeError{Input: s, Pos: pos, Want: want}
		if pos > 0 {
			r, _ := utf8.DecodeRuneInString(n[runeOffset(n, pos-1):])
			e.Got = string(r)
		}
		return "", e
	}
	if n == "" {
		return fail(0, "a code (\"C\" and 19 or 26 digits); the value is empty")
	}
	if looksRounded(n) {
		return fail(0, "\"C\" and 19 or 26 digits; this looks like a number a spreadsheet rounded into scientific notation, and its digits are lost: export the column as text")
	}
	if n[0] != 'C' {
		if allDigits(n) && (len(n) == ShortLen-1 || len(n) == LongLen-1) {
			return fail(0, "a leading \"C\"; the digits are there without it (a spreadsheet may have dropped it, and leading zeros with it): the code is not completed by guessing")
		}
		return fail(1, "\"C\" (a consumable code starts with C)")
	}
	// Check the characters before the length, so that a stray space or
	// letter is named where it is rather than as a wrong length.
	i := 1
	for _, r := range n[1:] {
		i++
		if r < '0' || r > '9' {
			if i > LongLen {
				break
			}
			return fail(i, "a digit ("+segmentAt(i)+")")
		}
	}
	if l := utf8.RuneCountInString(n); l != ShortLen && l != LongLen {
		return fail(0, strconv.Itoa(l)+" characters is neither length of a code: want 20 (\"C\" and 19 digits) or 27 (\"C\" and 26 digits)")
	}
	return Code(n), nil
}

// segmentAt names the part of the code that character pos (from 1) is in.
func segmentAt(pos int) string {
	for _, s := range segments {
		if pos > s.from && pos <= s.to {
			return s.name + ", characters " + strconv.Itoa(s.from+1) + "-" + strconv.Itoa(s.to)
		}
	}
	return ""
}

// runeOffset returns the byte offset of rune i (from 0) of s.
func runeOffset(s string, i int) int {
	for off := range s {
		if i == 0 {
			return off
		}
		i--
	}
	return len(s)
}

// normaliseCode undoes what ParseCode's doc says spreadsheets and input
// methods do to a code.
func normaliseCode(s string) string {
	s = trimSpace(s)
	if strings.HasPrefix(s, "=\"") && strings.HasSuffix(s, "\"") && len(s) >= 3 {
		s = trimSpace(s[2 : len(s)-1])
	}
	s = strings.TrimPrefix(s, "'")
	s = narrow(s)
	if s != "" && s[0] == 'c' {
		s = "C" + s[1:]
	}
	return s
}

// trimSpace trims white space, byte order marks and zero-width spaces.
func trimSpace(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || r == '\uFEFF' || r == '\u200B'
	})
}

// narrow returns s with full-width ASCII forms (U+FF01-U+FF5E) and the
// ideographic space read as their ASCII characters.
func narrow(s string) string {
	wide := false
	for _, r := range s {
		if (r >= '\uFF01' && r <= '\uFF5E') || r == '\u3000' {
			wide = true
			break
		}
	}
	if !wide {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '\uFF01' && r <= '\uFF5E':
			return r - 0xFF01 + '!'
		case r == '\u3000':
			return ' '
		}
		return r
	}, s)
}

// looksRounded reports whether s looks like a number in scientific
// notation, as a spreadsheet shows a long number it has rounded
// ("9.10010000000002E+25").
func looksRounded(s string) bool {
	e := strings.IndexAny(s, "eE")
	if e <= 0 || e == len(s)-1 {
		return false
	}
	mant, exp := s[:e], strings.TrimPrefix(strings.TrimPrefix(s[e+1:], "+"), "-")
	return exp != "" && allDigits(exp) && allDigits(strings.Replace(mant, ".", "", 1))
}

// allDigits reports whether s is one or more ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Len returns the length of c: 20, 27, or something else for a string
// that did not come from ParseCode.
func (c Code) Len() int { return len(c) }

// Short returns the 20-character code of c: its first 20 characters, or c
// itself when it has 20. It returns "" when c is shorter than 20.
func (c Code) Short() Code {
	if len(c) < ShortLen {
		return ""
	}
	return c[:ShortLen]
}

// part returns segment i of c, or "" when c is too short to hold it.
func (c Code) part(i int) string {
	s := segments[i]
	if len(c) < s.to {
		return ""
	}
	return string(c[s.from:s.to])
}

// Classification returns the 6 digits of the classification (characters
// 2-7): the three levels together.
func (c Code) Classification() string {
	if len(c) < 7 {
		return ""
	}
	return string(c[1:7])
}

// Levels returns the three levels of the classification, 2 digits each:
// level 1 (characters 2-3), level 2 (4-5) and level 3 (6-7).
func (c Code) Levels() [3]string { return [3]string{c.part(0), c.part(1), c.part(2)} }

// GenericName returns the 3-digit generic name code (characters 8-10).
func (c Code) GenericName() string { return c.part(3) }

// Material returns the 2-digit material code (characters 11-12).
func (c Code) Material() string { return c.part(4) }

// Feature returns the 3-digit feature code (characters 13-15).
func (c Code) Feature() string { return c.part(5) }

// Manufacturer returns the 5-digit manufacturer code (characters 16-20).
func (c Code) Manufacturer() string { return c.part(6) }

// Product returns the 7-digit single product or specification-model code
// of a 27-character code (characters 21-27); "" for a 20-character code.
func (c Code) Product() string { return c.part(7) }
