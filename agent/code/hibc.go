package code

import (
	"strconv"
	"strings"
	"time"
)

// hibcMaxField is the longest PCN, lot or serial ANSI/HIBC 2.6 allows.
const hibcMaxField = 18

// parseHIBC reads an HIBC Supplier Labeling Standard code (ANSI/HIBC 2.6):
//
//	primary               +LIC PCN UoM C
//	concatenated          +LIC PCN UoM/secondary[/supplemental...]C
//	secondary on its own  +secondary[/supplemental...]L C
//
// with C the mod-43 check character and L the link character (the check
// character of the primary). A "+/" code is a provider (PAS) code, not a
// supplier label: it is returned as KindPlain. stripped means the check
// character was checked and removed by the scanner.
func (p *Parser) parseHIBC(c *Code, s string, at src, stripped bool, now time.Time) *Error {
	for i := 0; i < len(s); i++ {
		if hibcValue[s[i]] == 0 {
			return at.err(i, "HIBC", ErrCharset, "character "+quoteByte(s[i])+" is not allowed in an HIBC code (only 0-9, A-Z, - . space $ / + %)")
		}
	}
	if len(s) >= 2 && s[1] == '/' {
		c.Kind = KindPlain
		return nil
	}
	h := &HIBC{}
	body := s
	if stripped {
		h.CheckStripped = true
	} else {
		if len(s) < 3 {
			return at.err(0, "HIBC", ErrTruncated, "code is too short for an HIBC code")
		}
		body = s[:len(s)-1]
		want, _ := HIBCCheck(body)
		if got := s[len(s)-1]; got != want {
			if !p.HIBCCheckOptional {
				return at.err(len(s)-1, "HIBC", ErrHIBCCheck,
					"mod-43 check character mismatch (expected '"+string(want)+"'), found "+quoteByte(got)+": the label is misprinted or was misread")
			}
			body = s
			h.CheckStripped = true
		} else {
			h.Check = want
		}
	}
	if h.CheckStripped {
		h.Check, _ = HIBCCheck(body)
	}
	rest := body[1:]
	if rest == "" {
		return at.err(1, "HIBC", ErrTruncated, "no data after '+'")
	}
	if rest[0] == '$' || isDigit(rest[0]) {
		if len(rest) < 2 {
			return at.err(1, "HIBC", ErrTruncated, "secondary code is too short: it needs its data and a link character")
		}
		h.Link = rest[len(rest)-1]
		if e := p.hibcTail(c, h, rest[:len(rest)-1], 1, at, now); e != nil {
			return e
		}
	} else {
		prim, tail := rest, ""
		slash := strings.IndexByte(rest, '/')
		if slash >= 0 {
			prim, tail = rest[:slash], rest[slash+1:]
		}
		if e := hibcPrimary(h, prim, 1, at); e != nil {
			return e
		}
		if slash >= 0 {
			if tail == "" {
				return at.err(1+slash, "HIBC", ErrTruncated, "nothing after '/': the secondary data is missing")
			}
			if e := p.hibcTail(c, h, tail, 2+slash, at, now); e != nil {
				return e
			}
		}
	}
	c.Kind = KindHIBC
	c.HIBC = h
	return nil
}

// hibcPrimary reads LIC, PCN and unit of measure; off is prim's offset.
func hibcPrimary(h *HIBC, prim string, off int, at src) *Error {
	if len(prim) < 6 {
		return at.err(off, "HIBC", ErrTruncated, "primary data is "+strconv.Itoa(len(prim))+
			" characters: it needs a 4-character labeler code, a product number and a unit-of-measure digit")
	}
	if c := prim[0]; c < 'A' || c > 'Z' {
		return at.err(off, "HIBC labeler", ErrSyntax, "code must start with a letter, found "+quoteByte(c))
	}
	for i := 0; i < len(prim)-1; i++ {
		if !isUpperAlnum(prim[i]) {
			what := "HIBC product"
			if i < 4 {
				what = "HIBC labeler"
			}
			return at.err(off+i, what, ErrCharset, "character "+quoteByte(prim[i])+" is not allowed: only letters and digits")
		}
	}
	uom := prim[len(prim)-1]
	if !isDigit(uom) {
		return at.err(off+len(prim)-1, "HIBC unit of measure", ErrSyntax, "must be a digit, found "+quoteByte(uom))
	}
	if n := len(prim) - 5; n > hibcMaxField {
		return at.err(off+4, "HIBC product", ErrTooLong, "number is "+strconv.Itoa(n)+" characters, at most 18 are allowed")
	}
	h.Labeler = prim[:4]
	h.Product = prim[4 : len(prim)-1]
	h.UnitOfMeasure = uom
	return nil
}

// hibcTail reads the secondary data and supplemental fields separated by
// '/'; off is tail's offset.
func (p *Parser) hibcTail(c *Code, h *HIBC, tail string, off int, at src, now time.Time) *Error {
	first := true
	for len(tail) > 0 || first {
		part := tail
		next := ""
		if i := strings.IndexByte(tail, '/'); i >= 0 {
			part, next = tail[:i], tail[i+1:]
			if next == "" {
				return at.err(off+i, "HIBC", ErrSyntax, "empty field after '/'")
			}
		}
		if part == "" {
			return at.err(off, "HIBC", ErrSyntax, "empty field")
		}
		var e *Error
		switch {
		case first && part[0] == '$':
			e = p.hibcSecondary(c, h, part, off, at, now)
		case first && len(part) >= 5 && isDigits(part[:5]):
			// Older secondary form: YYJJJ expiry, then the lot.
			d, de := yyjjj(part[:5], now)
			if de != nil {
				return at.err(off+de.off, "HIBC expiry", ErrDate, de.reason)
			}
			h.Secondary = true
			c.Expiry, h.ExpiryFormat = d, "YYJJJ"
			e = hibcField(&c.Lot, part[5:], off+5, "HIBC lot", true, at)
		default:
			e = p.hibcSupplemental(c, h, part, off, at)
		}
		if e != nil {
			return e
		}
		first = false
		off += len(part) + 1
		tail = next
	}
	return nil
}

// hibcField stores a lot or serial after checking its length.
func hibcField(dst *string, v string, off int, what string, emptyOK bool, at src) *Error {
	if v == "" && !emptyOK {
		return at.err(off, what, ErrSyntax, "is empty")
	}
	if len(v) > hibcMaxField {
		return at.err(off, what, ErrTooLong, "is "+strconv.Itoa(len(v))+" characters, at most 18 are allowed")
	}
	*dst = v
	return nil
}

// hibcSecondary reads "$lot", "$+serial", "$$<date>lot", "$$+<date>serial"
// with the quantity forms $$8QQ and $$9QQQQQ before the date.
func (p *Parser) hibcSecondary(c *Code, h *HIBC, part string, off int, at src, now time.Time) *Error {
	h.Secondary = true
	switch {
	case strings.HasPrefix(part, "$$+"):
		return p.hibcDated(c, h, part[3:], off+3, &c.Serial, "HIBC serial", at, now)
	case strings.HasPrefix(part, "$$"):
		return p.hibcDated(c, h, part[2:], off+2, &c.Lot, "HIBC lot", at, now)
	case strings.HasPrefix(part, "$+"):
		return hibcField(&c.Serial, part[2:], off+2, "HIBC serial", false, at)
	}
	return hibcField(&c.Lot, part[1:], off+1, "HIBC lot", false, at)
}

// hibcDated reads [quantity] date-form field: x follows "$$" or "$$+".
func (p *Parser) hibcDated(c *Code, h *HIBC, x string, off int, dst *string, what string, at src, now time.Time) *Error {
	if x == "" {
		return at.err(off, "HIBC", ErrTruncated, "data ends where the expiry date format was expected")
	}
	if x[0] == '8' || x[0] == '9' {
		n := 2
		if x[0] == '9' {
			n = 5
		}
		if len(x) < 1+n {
			return at.err(off, "HIBC quantity", ErrTruncated, "needs "+strconv.Itoa(n)+" digits after $$"+x[:1])
		}
		for i := 1; i <= n; i++ {
			if !isDigit(x[i]) {
				return at.err(off+i, "HIBC quantity", ErrCharset, "character "+quoteByte(x[i])+" is not a digit")
			}
		}
		h.Quantity = atoi(x[1 : 1+n])
		x = x[1+n:]
		off += 1 + n
		if x == "" {
			return at.err(off, "HIBC", ErrTruncated, "data ends where the expiry date format was expected")
		}
	}
	var form string
	var start, n int
	switch x[0] {
	case '0', '1':
		form, start, n = "MMYY", 0, 4
	case '2':
		form, start, n = "MMDDYY", 1, 6
	case '3':
		form, start, n = "YYMMDD", 1, 6
	case '4':
		form, start, n = "YYMMDDHH", 1, 8
	case '5':
		form, start, n = "YYJJJ", 1, 5
	case '6':
		form, start, n = "YYJJJHH", 1, 7
	case '7':
		form, start, n = "", 1, 0
	default:
		return at.err(off, "HIBC expiry", ErrSyntax, "format flag "+quoteByte(x[0])+" is not one of 0-7")
	}
	if len(x) < start+n {
		return at.err(off, "HIBC expiry", ErrTruncated, "date in form "+form+" needs "+strconv.Itoa(n)+" digits")
	}
	ds := x[start : start+n]
	for i := 0; i < len(ds); i++ {
		if !isDigit(ds[i]) {
			return at.err(off+start+i, "HIBC expiry", ErrCharset, "character "+quoteByte(ds[i])+" is not a digit in a "+form+" date")
		}
	}
	var d Date
	var de *dateErr
	switch form {
	case "MMYY":
		m := atoi(ds[:2])
		if de = checkMonth(m, 0); de == nil {
			y := fullYear(atoi(ds[2:]), now)
			d = Date{Year: y, Month: time.Month(m), Day: daysIn(y, time.Month(m)), Hour: -1}
		}
	case "MMDDYY":
		m, dd, y := atoi(ds[:2]), atoi(ds[2:4]), fullYear(atoi(ds[4:]), now)
		if de = checkMonth(m, 0); de == nil {
			if de = checkDay(y, time.Month(m), dd, 2); de == nil {
				d = Date{Year: y, Month: time.Month(m), Day: dd, Hour: -1}
			}
		}
	case "YYMMDD", "YYMMDDHH":
		if d, de = yymmdd(ds[:6], false, now); de == nil && form == "YYMMDDHH" {
			d.Hour = atoi(ds[6:])
			de = checkHour(d.Hour, 6)
		}
	case "YYJJJ", "YYJJJHH":
		if d, de = yyjjj(ds[:5], now); de == nil && form == "YYJJJHH" {
			d.Hour = atoi(ds[5:])
			de = checkHour(d.Hour, 5)
		}
	}
	if de != nil {
		return at.err(off+start+de.off, "HIBC expiry", ErrDate, de.reason)
	}
	c.Expiry, h.ExpiryFormat = d, form
	return hibcField(dst, x[start+n:], off+start+n, what, true, at)
}

// hibcSupplemental reads one supplemental field: 14D expiry, 16D
// manufacture date (both YYYYMMDD), S serial, Q quantity. Others are kept
// in h.Extra.
func (p *Parser) hibcSupplemental(c *Code, h *HIBC, part string, off int, at src) *Error {
	switch {
	case strings.HasPrefix(part, "14D"), strings.HasPrefix(part, "16D"):
		what := "HIBC expiry"
		if part[1] == '6' {
			what = "HIBC manufacture date"
		}
		v := part[3:]
		if len(v) != 8 || !isDigits(v) {
			return at.err(off+3, what, ErrSyntax, "must be 8 digits YYYYMMDD after /"+part[:3])
		}
		d, de := yyyymmdd(v)
		if de != nil {
			return at.err(off+3+de.off, what, ErrDate, de.reason)
		}
		if part[1] == '6' {
			c.Production = d
		} else if c.Expiry.IsZero() {
			c.Expiry, h.ExpiryFormat = d, "YYYYMMDD"
		}
	case part[0] == 'S':
		var s string
		if e := hibcField(&s, part[1:], off+1, "HIBC serial", false, at); e != nil {
			return e
		}
		if c.Serial != "" && c.Serial != s {
			return at.err(off, "HIBC serial", ErrSyntax, "two different serial numbers in one code")
		}
		c.Serial = s
	case part[0] == 'Q':
		v := part[1:]
		if v == "" || len(v) > 9 || !isDigits(v) {
			return at.err(off+1, "HIBC quantity", ErrSyntax, "must be digits after /Q")
		}
		h.Quantity = atoi(v)
	default:
		h.Extra = append(h.Extra, part)
	}
	return nil
}

// JoinHIBC combines an HIBC primary code with a secondary code printed as a
// separate symbol, after checking that the secondary's link character is
// the primary's check character. The result is a copy of primary with the
// secondary's lot, serial, dates and quantity.
func JoinHIBC(primary, secondary *Code) (*Code, error) {
	if primary == nil || secondary == nil || primary.HIBC == nil || secondary.HIBC == nil ||
		primary.HIBC.Labeler == "" || secondary.HIBC.Labeler != "" {
		return nil, &Error{Pos: -1, AI: "HIBC", Err: ErrSyntax, Reason: "join needs an HIBC primary code and a secondary code printed on its own"}
	}
	if primary.HIBC.Secondary {
		return nil, &Error{Input: primary.Data, Pos: -1, AI: "HIBC", Err: ErrSyntax, Reason: "primary code already carries secondary data"}
	}
	if l, ck := secondary.HIBC.Link, primary.HIBC.Check; l != ck {
		return nil, &Error{Input: secondary.Data, Pos: len(secondary.Data) - 2, AI: "HIBC link", Err: ErrHIBCCheck,
			Reason: "character " + quoteByte(l) + " does not match the primary code's check character '" + string(ck) + "': the two labels belong to different items"}
	}
	out := *primary
	h := *primary.HIBC
	sh := secondary.HIBC
	h.Secondary = true
	h.ExpiryFormat = sh.ExpiryFormat
	if sh.Quantity != 0 {
		h.Quantity = sh.Quantity
	}
	h.Extra = append(append([]string(nil), h.Extra...), sh.Extra...)
	out.HIBC = &h
	out.Data = primary.Data + "\n" + secondary.Data
	out.Lot, out.Serial = secondary.Lot, secondary.Serial
	out.Expiry, out.Production = secondary.Expiry, secondary.Production
	return &out, nil
}
