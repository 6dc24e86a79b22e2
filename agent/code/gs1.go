package code

import (
	"strconv"
	"strings"
	"time"
)

// GS is the ASCII group separator a scanner sends for a separator FNC1.
const GS = 0x1D

// cset82 marks the characters of GS1 AI encodable character set 82
// (GS1 General Specifications figure 7.11-1); cset39 those of set 39.
var cset82, cset39, cset64 [256]bool

func init() {
	for _, c := range []byte(`!"%&'()*+,-./:;<=>?_`) {
		cset82[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		cset82[c], cset39[c], cset64[c] = true, true, true
	}
	for c := 'A'; c <= 'Z'; c++ {
		cset82[c], cset39[c], cset64[c] = true, true, true
		cset82[c+32], cset64[c+32] = true, true
	}
	cset39['#'], cset39['-'], cset39['/'] = true, true, true
	cset64['-'], cset64['_'], cset64['='] = true, true, true
}

// validate checks the value v of AI s against its components: length,
// character set and the dictionary's checks. vpos is the offset of v in the
// parsed bytes; es is true for a GS1 element string, where an overlong
// value means a missing separator.
func (p *Parser) validate(s *aiSpec, v string, vpos int, at src, es bool, now time.Time) *Error {
	if v == "" {
		return at.err(vpos, s.ai, ErrSyntax, "value is empty")
	}
	if len(v) > s.maxLen {
		what := "value '" + v + "'"
		if s.personal {
			what = "value"
		}
		reason := what + " is " + strconv.Itoa(len(v)) + " chars > " + s.format
		if es {
			if s.fixed == 0 && !allFixed(s) {
				reason += ": separator missing after variable-length AI"
			} else {
				reason += ": separator missing after this AI"
			}
		}
		return at.err(vpos, s.ai, ErrTooLong, reason)
	}
	off := 0
	for ci := range s.comps {
		c := &s.comps[ci]
		rem := len(v) - off
		if rem == 0 && c.optional {
			break
		}
		n := min(rem, c.max)
		if n < c.min {
			return at.err(vpos, s.ai, ErrTruncated, shortReason(s, c, len(v), off, es))
		}
		part := v[off : off+n]
		if i := badChar(c.cset, part); i >= 0 {
			return at.err(vpos+off+i, s.ai, ErrCharset, charsetReason(c.cset, part[i]))
		}
		for _, id := range c.lints {
			if le := linters[id](part, now); le != nil {
				return at.err(vpos+off+le.off, s.ai, le.err, le.text(s.personal))
			}
		}
		off += n
	}
	return nil
}

// shortReason explains a value that ends inside component c, which starts
// at offset off.
func shortReason(s *aiSpec, c *comp, n, off int, es bool) string {
	reason := "value is " + strconv.Itoa(n) + " chars, " + s.format + " needs "
	switch {
	case c.optional:
		return reason + strconv.Itoa(off+c.min) + " or must stop after " + strconv.Itoa(off) + ": an optional part is incomplete"
	case c.min != c.max:
		return reason + "at least " + strconv.Itoa(off+c.min) + ": the part after the first " + strconv.Itoa(off) + " is missing"
	}
	reason += strconv.Itoa(off + c.max)
	if es && s.fixed == 0 {
		reason += ": a separator or the end of the data came too early"
	}
	return reason
}

// badChar returns the offset of the first character of v outside the
// character set cset, or -1.
func badChar(cset byte, v string) int {
	var set *[256]bool
	switch cset {
	case 'N':
		for i := 0; i < len(v); i++ {
			if !isDigit(v[i]) {
				return i
			}
		}
		return -1
	case 'Y':
		set = &cset39
	case 'Z':
		set = &cset64
	default:
		set = &cset82
	}
	for i := 0; i < len(v); i++ {
		if !set[v[i]] {
			return i
		}
	}
	return -1
}

func charsetReason(cset, ch byte) string {
	var set string
	switch cset {
	case 'N':
		return "character " + quoteByte(ch) + " is not a digit: this field takes digits only"
	case 'Y':
		set = "only 0-9, A-Z, # - /"
	case 'Z':
		set = "only 0-9, A-Z, a-z, - _ ="
	default:
		set = "only letters, digits and ! \" % & ' ( ) * + , - . / : ; < = > ? _"
	}
	return "character " + quoteByte(ch) + " is not allowed here: this field takes " + set
}

func allFixed(s *aiSpec) bool {
	for _, c := range s.comps {
		if c.min != c.max || c.optional {
			return false
		}
	}
	return true
}

// parseElementString reads a GS1 element string (leading FNC1 not sent,
// separator FNC1 as GS) into c.Elements.
func (p *Parser) parseElementString(c *Code, b string, at src, now time.Time) *Error {
	els := make([]Element, 0, 6)
	var dups dupSet
	i := 0
	for i < len(b) && b[i] == GS {
		i++
	}
	if i == len(b) {
		return at.err(0, "", ErrEmpty, "no GS1 data after the symbology identifier")
	}
	for i < len(b) {
		if b[i] == GS {
			i++
			continue
		}
		start := i
		s := lookupAI(b[i:])
		var ai string
		if s != nil {
			ai = s.ai
		} else {
			if !isDigit(b[i]) || (i+1 < len(b) && !isDigit(b[i+1])) {
				bad := i
				if isDigit(b[i]) {
					bad = i + 1
				}
				return at.err(bad, "", ErrSyntax, "expected an Application Identifier (digits) but found "+quoteByte(b[bad]))
			}
			if i+1 >= len(b) {
				return at.err(i, "", ErrTruncated, "data ends inside an Application Identifier")
			}
			n := aiLenByPrefix(int(b[i]-'0')*10 + int(b[i+1]-'0'))
			if i+n > len(b) {
				return at.err(i, "", ErrTruncated, "data ends inside an Application Identifier")
			}
			for k := i; k < i+n; k++ {
				if !isDigit(b[k]) {
					return at.err(k, "", ErrSyntax, "expected an Application Identifier (digits) but found "+quoteByte(b[k]))
				}
			}
			ai = b[i : i+n]
		}
		i += len(ai)
		vstart := i
		var v string
		fixed := predefinedLen(ai)
		if s != nil {
			fixed = s.fixed // the dictionary's "*"; a test shows the two agree
		}
		if fixed > 0 {
			end := i + fixed
			lim := min(end, len(b))
			if g := strings.IndexByte(b[i:lim], GS); g >= 0 || end > len(b) {
				got := lim - i
				if g >= 0 {
					got = g
				}
				return at.err(vstart, ai, ErrTruncated,
					"value ends after "+strconv.Itoa(got)+" of its "+strconv.Itoa(fixed)+" characters")
			}
			v = b[i:end]
			i = end
		} else {
			g := strings.IndexByte(b[i:], GS)
			if g < 0 {
				g = len(b) - i
			}
			v = b[i : i+g]
			i += g
		}
		val := v
		if s != nil {
			if e := p.validate(s, val, vstart, at, true, now); e != nil {
				return e
			}
		} else if e := checkRaw(ai, val, vstart, at); e != nil {
			return e
		}
		if e := dups.check(els, ai, val, start, at); e != nil {
			return e
		}
		els = append(els, Element{AI: ai, Value: val})
	}
	c.Elements = els
	return nil
}

// checkRaw checks the value of an AI this package does not know: it must
// not be empty and may hold only printable ASCII without spaces, as every
// GS1 character set.
func checkRaw(ai, v string, pos int, at src) *Error {
	if v == "" {
		return at.err(pos, ai, ErrSyntax, "value is empty")
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c >= 0x7F {
			return at.err(pos+i, ai, ErrCharset, "character "+quoteByte(c)+" is not allowed in a GS1 value")
		}
	}
	return nil
}

// checkUnknown checks an AI this package does not know, given in brackets
// or as a Digital Link query key: its length must fit its first two digits
// and its value must be well-formed (checkRaw, predefined length), so that
// the element string written from it reads back the same.
func checkUnknown(ai, v string, aipos, vpos int, at src) *Error {
	if n := aiLenByPrefix(atoi(ai[:2])); len(ai) != n {
		return at.err(aipos, ai, ErrUnknownAI, "is not a GS1 Application Identifier: AIs starting with "+ai[:2]+" have "+strconv.Itoa(n)+" digits")
	}
	if e := checkRaw(ai, v, vpos, at); e != nil {
		return e
	}
	if f := predefinedLen(ai); f > 0 && len(v) != f {
		return at.err(vpos, ai, ErrSyntax, "value is "+strconv.Itoa(len(v))+" chars, this AI takes exactly "+strconv.Itoa(f))
	}
	return nil
}

// dupSet rejects an AI that occurs twice with different values. It scans
// the few elements of a normal code and switches to a map for long inputs.
type dupSet struct{ m map[string]string }

func (d *dupSet) check(els []Element, ai, v string, pos int, at src) *Error {
	if d.m == nil && len(els) < 16 {
		for _, e := range els {
			if e.AI == ai && e.Value != v {
				return at.err(pos, ai, ErrSyntax, "appears twice with different values")
			}
		}
		return nil
	}
	if d.m == nil {
		d.m = make(map[string]string, 2*len(els))
		for _, e := range els {
			d.m[e.AI] = e.Value
		}
	}
	if old, ok := d.m[ai]; ok && old != v {
		return at.err(pos, ai, ErrSyntax, "appears twice with different values")
	} else if !ok {
		d.m[ai] = v
	}
	return nil
}

// isAIOpen reports whether s starts with "(" 2 to 4 digits ")".
func isAIOpen(s string) int {
	if len(s) < 4 || s[0] != '(' {
		return 0
	}
	j := 1
	for j < len(s) && j <= 5 && isDigit(s[j]) {
		j++
	}
	if n := j - 1; n < 2 || n > 4 || j >= len(s) || s[j] != ')' {
		return 0
	}
	return j + 1
}

// parseHRI reads the human-readable form "(01)09520123456788(10)AB".
func (p *Parser) parseHRI(c *Code, s string, at src, now time.Time) *Error {
	var els []Element
	var dups dupSet
	i := 0
	for i < len(s) {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i == len(s) {
			break
		}
		n := isAIOpen(s[i:])
		if n == 0 {
			return at.err(i, "", ErrSyntax, "expected an Application Identifier in brackets, like (01), but found "+quoteByte(s[i]))
		}
		ai := s[i+1 : i+n-1]
		start := i
		i += n
		k := i
		for k < len(s) && (s[k] != '(' || isAIOpen(s[k:]) == 0) {
			k++
		}
		vs, ve := i, k
		for vs < ve && s[vs] == ' ' {
			vs++
		}
		for ve > vs && s[ve-1] == ' ' {
			ve--
		}
		v := s[vs:ve]
		if spec := specFor(ai); spec != nil {
			if e := p.validate(spec, v, vs, at, false, now); e != nil {
				return e
			}
		} else if specStart := lookupAI(ai); specStart != nil {
			return at.err(start+1, ai, ErrUnknownAI, "is not a GS1 Application Identifier (did you mean ("+specStart.ai+")?)")
		} else if e := checkUnknown(ai, v, start+1, vs, at); e != nil {
			return e
		}
		if e := dups.check(els, ai, v, start, at); e != nil {
			return e
		}
		els = append(els, Element{AI: ai, Value: v})
		i = k
	}
	if len(els) == 0 {
		return at.err(0, "", ErrEmpty, "no elements")
	}
	c.Elements = els
	return nil
}

// fill sets the item fields of c from its elements, and its warnings.
func (p *Parser) fill(c *Code, now time.Time) {
	c.Warnings = pairingWarnings(c.Elements)
	has01 := false
	for _, e := range c.Elements {
		switch e.AI {
		case "01":
			c.GTIN, has01 = e.Value, true
		case "02":
			// (02) names the content of a logistic unit; an (01) wins.
			if !has01 {
				c.GTIN = e.Value
			}
		case "21":
			c.Serial = e.Value
		case "10":
			c.Lot = e.Value
		case "17":
			if len(e.Value) == 6 && isDigits(e.Value) {
				c.Expiry, _ = yymmdd(e.Value, true, now)
			}
		case "11":
			if len(e.Value) == 6 && isDigits(e.Value) {
				c.Production, _ = yymmdd(e.Value, true, now)
			}
		}
	}
}
