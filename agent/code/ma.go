package code

import (
	"strconv"
	"strings"
	"time"
)

// Forms of an MA code, as MA.Form names them.
const (
	// MAFormDotted is the text printed in the symbol and under it:
	// MA.156.M0.100032.00002484.S….C3.
	MAFormDotted = "dotted"
	// MAFormXML is <UDI IAC="MA"><DI>…</DI><SN>…</SN>…</UDI>.
	MAFormXML = "XML"
	// MAFormURL is a URL whose last '=' is followed by the dotted form.
	MAFormURL = "URL"
)

// MA holds the parts of an MA code (IDcode: issuing agency "MA" of
// ISO/IEC 15459, run by ZIIOT), one of the UDI issuing agencies China's
// NMPA recognises. Serial, lot, production date and the expiry the checks
// use are in Code; MA keeps the rest and the dates as printed.
//
// A DI is MA.country.industry.registrant.product, the product part being
// the packaging level, the category code and the DI check character. Its
// production information (PI) is a run of units, each '.', a letter and a
// value: S serial, M (older codes P) production date, L lot, D
// sterilisation lot, E expiry date, V valid-until date, C the PI check
// digit, always last.
type MA struct {
	// Form is how the code was written: MAFormDotted, MAFormXML or
	// MAFormURL.
	Form string
	// DI is the device identifier as printed, its check character
	// included: "MA.156.M0.100032.00002484". It is the product key.
	DI string
	// Country is the ISO 3166 numeric country code, "156" for China.
	Country string
	// Industry is the industry code, "M0" (medical devices).
	Industry string
	// Registrant is the registrant's (manufacturer's) 6-digit code.
	Registrant string
	// PackagingLevel is the packaging level digit as a character: '0'
	// the primary (use) unit, '1'…'9' the packages above it.
	PackagingLevel byte
	// Category is the category (product) code, 6 to 10 letters or
	// digits; lower case occurs and is kept.
	Category string
	// DICheck is the DI's check character as printed (its last
	// character); DICheckOK says whether it is the check of the
	// characters before it. A mismatch is a warning, never a refusal.
	DICheck   byte
	DICheckOK bool
	// PICheck is the PI check digit of the C unit as printed, 0 when the
	// code has none (the XML form never has one); PICheckOK says whether
	// it is the check of the units before it.
	PICheck   byte
	PICheckOK bool
	// SterilisationLot is the sterilisation lot (unit D), "" if absent.
	SterilisationLot string
	// ExpiryDate is the expiry date (unit E, 失效日期) and ValidUntil the
	// valid-until date (unit V, 有效期至), as printed; zero when absent.
	// Code.Expiry, the last day of use, is ValidUntil, or the day before
	// ExpiryDate, whichever is earlier.
	ExpiryDate Date
	ValidUntil Date
	// Units are the PI units in the order read, the C unit left out.
	// ID is the unit's letter; a unit whose letter this package does not
	// know is kept here as read. In the XML form an element this package
	// does not know is kept with its element name as ID.
	Units []MAUnit
}

// MAUnit is one PI unit of an MA code.
type MAUnit struct {
	// ID is the unit's letter ("S", "L", …), or for the XML form the
	// name of an element this package does not know.
	ID string
	// Value is the unit's value, without its letter.
	Value string
}

// Dotted returns the code in its dotted form: the DI, each unit whose ID
// is one letter, and the C unit when the code has one. For a code read in
// the dotted form it is the code as read.
func (m *MA) Dotted() string {
	var b strings.Builder
	b.WriteString(m.DI)
	for _, u := range m.Units {
		if len(u.ID) == 1 {
			b.WriteByte('.')
			b.WriteString(u.ID)
			b.WriteString(u.Value)
		}
	}
	if m.PICheck != 0 {
		b.WriteString(".C")
		b.WriteByte(m.PICheck)
	}
	return b.String()
}

// maValue maps a byte to its value in the MA check algorithm plus one; 0
// means the byte is not in the MA character set.
var maValue [256]uint8

func init() {
	for _, r := range []struct {
		chars string
		first int
	}{
		{"0123456789", 0},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZ", 10},
		{"abcdefg", 36},
		{"hijklmnopqrstuvwxyz", 45}, // 43 and 44 are not used
		{"-.@$,*+%/#!^~", 64},
	} {
		for i := 0; i < len(r.chars); i++ {
			maValue[r.chars[i]] = uint8(r.first + i + 1)
		}
	}
}

// maCharset names the MA character set for messages.
const maCharset = "0-9 A-Z a-z - . @ $ , * + % / # ! ^ ~"

// MACheck returns the MA check character of s: for a DI, the DI without
// its last character; for the PI, "." followed by the units before C
// joined by ".". Each character is mapped to a number (0-9 → 0-9, A-Z →
// 10-35, a-g → 36-42, h-z → 45-63, then - . @ $ , * + % / # ! ^ ~ →
// 64-76), the numbers are written one after the other in decimal, and the
// check digit is the Luhn digit of that string with its rightmost digit
// not doubled: (10 − sum mod 10) mod 10.
func MACheck(s string) (byte, error) {
	if s == "" {
		return 0, &Error{Input: s, Pos: 0, Reason: "no data to compute a check character over", Err: ErrSyntax}
	}
	ck, bad := maCheck(s)
	if bad >= 0 {
		return 0, &Error{Input: s, Pos: bad, Reason: "character " + quoteByte(s[bad]) + " is not in the MA character set (" + maCharset + ")", Err: ErrCharset}
	}
	return ck, nil
}

// maCheck computes MACheck; bad is the offset of a character outside the
// set, or -1.
func maCheck(s string) (ck byte, bad int) {
	sum, n := 0, 0
	add := func(d int) {
		if n%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		n++
	}
	for i := len(s) - 1; i >= 0; i-- {
		v := int(maValue[s[i]]) - 1
		if v < 0 {
			return 0, i
		}
		if v >= 10 {
			add(v % 10)
			add(v / 10)
		} else {
			add(v)
		}
	}
	return byte('0' + (10-sum%10)%10), -1
}

// isMA reports whether b starts like an MA code: "MA.", three digits,
// '.'. Such data is read as MA and any fault is an error.
func isMA(b []byte) bool {
	return len(b) >= 7 && b[0] == 'M' && b[1] == 'A' && b[2] == '.' &&
		isDigit(b[3]) && isDigit(b[4]) && isDigit(b[5]) && b[6] == '.'
}

// parseMA reads the dotted form s, which is at offset off of the parsed
// data, into c.
func (p *Parser) parseMA(c *Code, s string, off int, at src, now time.Time) *Error {
	for i := 0; i < len(s); i++ {
		if maValue[s[i]] == 0 {
			return at.err(off+i, "MA", ErrCharset, "character "+quoteByte(s[i])+" is not in the MA character set ("+maCharset+")")
		}
	}
	end := maDIEnd(s)
	m := &MA{Form: MAFormDotted}
	if e := maDI(c, m, s[:end], off, at); e != nil {
		return e
	}
	for i := end; i < len(s); {
		// s[i] is the '.' before a unit.
		j := strings.IndexByte(s[i+1:], '.')
		next := len(s)
		if j >= 0 {
			next = i + 1 + j
		}
		u := s[i+1 : next]
		upos := off + i + 1
		switch {
		case u == "":
			return at.err(upos, "MA", ErrSyntax, "empty PI unit: two dots in a row, or a dot at the end")
		case u[0] < 'A' || u[0] > 'Z':
			return at.err(upos, "MA", ErrSyntax, "a PI unit starts with a capital letter naming it (S, M, L, D, E, V, C), found "+quoteByte(u[0]))
		case len(u) == 1:
			return at.err(upos, maUnitName(u[0]), ErrSyntax, "unit "+u+" has no value")
		case u[0] == 'C':
			if next != len(s) {
				return at.err(upos, "MA PI check", ErrSyntax, "the C unit must be the last unit")
			}
			if len(u) != 2 || !isDigit(u[1]) {
				return at.err(upos+1, "MA PI check", ErrSyntax, "the C unit is one digit, found "+strconv.Itoa(len(u)-1)+" characters")
			}
			covered := s[end:i]
			if covered == "" {
				covered = "."
			}
			want, _ := maCheck(covered)
			m.PICheck, m.PICheckOK = u[1], u[1] == want
			if !m.PICheckOK {
				c.Warnings = append(c.Warnings, Warning{Code: WarnMACheck, AI: "MA PI",
					Text: "MA PI check digit is " + string(u[1]) + ", the check of the units before it is " + string(want) +
						": the code was not issued by ZIIOT's assignment service, or it is misprinted"})
			}
		default:
			if e := p.maUnit(c, m, u[0], u[1:], upos+1, at, now); e != nil {
				return e
			}
		}
		i = next
	}
	maFill(c, m)
	return nil
}

// maDIEnd returns the end of the DI of the dotted form s: its fifth '.',
// or the end of s. No PI value holds a '.'.
func maDIEnd(s string) int {
	dots := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			if dots++; dots == 5 {
				return i
			}
		}
	}
	return len(s)
}

// maDI reads a DI, at offset off of the parsed data, into m and warns on
// c when its check character is wrong.
func maDI(c *Code, m *MA, di string, off int, at src) *Error {
	parts := strings.Split(di, ".")
	if len(parts) != 5 {
		return at.err(off, "MA DI", ErrTruncated, "has "+strconv.Itoa(len(parts))+" parts: a DI is MA.country.industry.registrant.product (MA.156.M0.100032.00002484)")
	}
	pos := off
	for i, part := range parts {
		if part == "" {
			return at.err(pos, "MA DI", ErrSyntax, "part "+strconv.Itoa(i+1)+" is empty")
		}
		pos += len(part) + 1
	}
	country, industry, reg, prod := parts[1], parts[2], parts[3], parts[4]
	cpos := off + 3
	ipos := cpos + len(country) + 1
	rpos := ipos + len(industry) + 1
	ppos := rpos + len(reg) + 1
	switch {
	case parts[0] != "MA":
		return at.err(off, "MA DI", ErrSyntax, "must start with MA., the issuing agency")
	case len(country) != 3 || !isDigits(country):
		return at.err(cpos, "MA country", ErrSyntax, "must be 3 digits (156 for China)")
	case industry != "M0":
		return at.err(ipos, "MA industry", ErrValue, "code is not M0 (medical devices): only M0 codes are UDIs")
	case len(reg) != 6 || !isDigits(reg):
		return at.err(rpos, "MA registrant", ErrSyntax, "must be 6 digits, found "+strconv.Itoa(len(reg))+" characters")
	case !isDigit(prod[0]):
		return at.err(ppos, "MA packaging level", ErrSyntax, "must be a digit (0 the use unit … 9), found "+quoteByte(prod[0]))
	case len(prod) < 8 || len(prod) > 12:
		return at.err(ppos, "MA category", ErrSyntax, "the product part is the packaging level, a category code of 6 to 10 letters or digits and the check character: "+
			strconv.Itoa(len(prod))+" characters, 8 to 12 expected")
	}
	cat := prod[1 : len(prod)-1]
	for i := 0; i < len(cat); i++ {
		if ch := cat[i]; !isDigit(ch) && !(ch >= 'A' && ch <= 'Z') && !(ch >= 'a' && ch <= 'z') {
			return at.err(ppos+1+i, "MA category", ErrCharset, "character "+quoteByte(ch)+" is not allowed: only letters and digits")
		}
	}
	m.DI, m.Country, m.Industry, m.Registrant = di, country, industry, reg
	m.PackagingLevel, m.Category, m.DICheck = prod[0], cat, prod[len(prod)-1]
	want, _ := maCheck(di[:len(di)-1])
	m.DICheckOK = m.DICheck == want
	if !m.DICheckOK {
		c.Warnings = append(c.Warnings, Warning{Code: WarnMACheck, AI: "MA DI",
			Text: "MA DI check character is " + string(m.DICheck) + ", the check of the characters before it is " + string(want) +
				": the code was not issued by ZIIOT's assignment service, or it is misprinted"})
	}
	return nil
}

// maUnit records the PI unit id with value v, at offset pos of the
// parsed data.
func (p *Parser) maUnit(c *Code, m *MA, id byte, v string, pos int, at src, now time.Time) *Error {
	for _, u := range m.Units {
		if len(u.ID) == 1 && maSame(u.ID[0], id) {
			if u.Value != v {
				return at.err(pos, maUnitName(id), ErrSyntax, "appears twice with different values")
			}
			return nil
		}
	}
	var d Date
	switch id {
	case 'M', 'P', 'E', 'V':
		var e *Error
		if d, e = maDate(v, pos, maUnitName(id), at, now); e != nil {
			return e
		}
	}
	switch id {
	case 'S':
		c.Serial = v
	case 'L':
		c.Lot = v
	case 'D':
		m.SterilisationLot = v
	case 'M', 'P':
		c.Production = d
	case 'E':
		m.ExpiryDate = d
	case 'V':
		m.ValidUntil = d
	}
	m.Units = append(m.Units, MAUnit{ID: string(id), Value: v})
	return nil
}

// maSame reports whether units a and b are the same field: M and its
// older letter P are.
func maSame(a, b byte) bool {
	if a == 'P' {
		a = 'M'
	}
	if b == 'P' {
		b = 'M'
	}
	return a == b
}

// maDate reads a date unit: YYMMDD or YYYYMMDD.
func maDate(v string, pos int, what string, at src, now time.Time) (Date, *Error) {
	if i := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		return Date{}, at.err(pos+i, what, ErrCharset, "character "+quoteByte(v[i])+" is not a digit: a date is YYMMDD or YYYYMMDD")
	}
	var d Date
	var de *dateErr
	switch len(v) {
	case 6:
		d, de = yymmdd(v, false, now)
	case 8:
		d, de = yyyymmdd(v)
	default:
		return Date{}, at.err(pos, what, ErrSyntax, "is "+strconv.Itoa(len(v))+" digits: a date is YYMMDD or YYYYMMDD")
	}
	if de != nil {
		return Date{}, at.err(pos+de.off, what, ErrDate, de.reason)
	}
	return d, nil
}

// maFill sets c's kind, MA part and the expiry the checks use: the
// valid-until date, or the day before the expiry date (an E date is the
// first day the item is no longer valid: a code's V is the day before its
// E), whichever is earlier.
func maFill(c *Code, m *MA) {
	c.Kind, c.MA = KindMA, m
	exp := m.ValidUntil
	if !m.ExpiryDate.IsZero() {
		t := time.Date(m.ExpiryDate.Year, m.ExpiryDate.Month, m.ExpiryDate.Day-1, 0, 0, 0, 0, time.UTC)
		before := Date{Year: t.Year(), Month: t.Month(), Day: t.Day(), Hour: -1}
		if exp.IsZero() || before.Time(time.UTC).Before(exp.Time(time.UTC)) {
			exp = before
		}
	}
	c.Expiry = exp
}

// maUnitName names a PI unit for messages: "MA lot".
func maUnitName(id byte) string {
	switch id {
	case 'S':
		return "MA serial"
	case 'L':
		return "MA lot"
	case 'D':
		return "MA sterilisation lot"
	case 'M', 'P':
		return "MA production date"
	case 'E':
		return "MA expiry date"
	case 'V':
		return "MA valid-until date"
	case 'C':
		return "MA PI check"
	}
	return "MA unit " + string(id)
}

// parseMAURL reads an MA code wrapped in a URL: the dotted form after the
// URL's last '=', percent-decoded. It reports false when no MA code
// follows the last '='.
func (p *Parser) parseMAURL(c *Code, s string, at src, now time.Time) (bool, *Error) {
	i := strings.LastIndexByte(s, '=')
	if i < 0 {
		return false, nil
	}
	raw := s[i+1:]
	v, bad := pctDecode(raw)
	switch {
	case bad >= 0 && isMA([]byte(raw)):
		return false, at.err(i+1+bad, "MA", ErrSyntax, "bad percent-escape in the URL")
	case bad >= 0 || !isMA([]byte(v)):
		return false, nil
	}
	if e := p.parseMA(c, v, i+1, at, now); e != nil {
		// Offsets inside a decoded value do not map back: point at it.
		return false, atSegment(e, v != raw, i+1, at)
	}
	c.MA.Form = MAFormURL
	return true, nil
}
