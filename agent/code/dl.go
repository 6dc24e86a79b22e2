package code

import (
	"strings"
	"time"
)

// seg is a path segment or query value and its offset in the URI.
type seg struct {
	s   string
	pos int
}

// parseDL reads a GS1 Digital Link URI into c.Elements. It reports false
// (and no error) for a URI whose path has no GS1 primary key with a
// plausible value: such a URI is a plain code. Once a primary key is found
// the URI is taken as a Digital Link and any fault is an error.
func (p *Parser) parseDL(c *Code, s string, at src, now time.Time) (bool, *Error) {
	u := s
	if i := strings.IndexByte(u, '#'); i >= 0 {
		u = u[:i]
	}
	query, qpos := "", -1
	if i := strings.IndexByte(u, '?'); i >= 0 {
		query, qpos = u[i+1:], i+1
		u = u[:i]
	}
	hs := strings.Index(u, "://")
	if hs < 0 {
		return false, nil
	}
	ps := strings.IndexByte(u[hs+3:], '/')
	if ps < 0 {
		return false, nil
	}
	ps += hs + 3
	var segs []seg
	for i := ps; i < len(u); {
		j := strings.IndexByte(u[i+1:], '/')
		end := len(u)
		if j >= 0 {
			end = i + 1 + j
		}
		if end > i+1 {
			segs = append(segs, seg{u[i+1 : end], i + 1})
		}
		i = end
	}
	start := -1
	for i := 0; i+1 < len(segs); i++ {
		if (len(segs)-i)%2 != 0 || !isDLKey(segs[i].s) {
			continue
		}
		v, bad := pctDecode(segs[i+1].s)
		if bad >= 0 || !dlKeyShape(segs[i].s, v) {
			continue
		}
		start = i
		break
	}
	if start < 0 {
		return false, nil
	}
	// A URI is printable ASCII (RFC 3986); anything else is a misread.
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7F {
			return false, at.err(i, "", ErrCharset, "character "+quoteByte(c)+" is not allowed in a Digital Link URI")
		}
	}
	var els []Element
	var dups dupSet
	for i := start; i < len(segs); i += 2 {
		ai, vs := segs[i], segs[i+1]
		spec := specFor(ai.s)
		if spec == nil {
			return false, at.err(ai.pos, "", ErrUnknownAI, "path segment '"+ai.s+"' is not a GS1 Application Identifier this reader knows")
		}
		v, bad := pctDecode(vs.s)
		if bad >= 0 {
			return false, at.err(vs.pos+bad, ai.s, ErrSyntax, "bad percent-escape in the URI")
		}
		if i == start && ai.s == "01" && len(v) < 14 {
			v = "00000000000000"[:14-len(v)] + v
		}
		if e := p.validate(spec, v, vs.pos, at, false, now); e != nil {
			return false, atSegment(e, v != vs.s, vs.pos, at)
		}
		if e := dups.check(els, ai.s, v, ai.pos, at); e != nil {
			return false, e
		}
		els = append(els, Element{AI: ai.s, Value: v})
	}
	for i := 0; i < len(query); {
		j := strings.IndexByte(query[i:], '&')
		end := len(query)
		if j >= 0 {
			end = i + j
		}
		param := query[i:end]
		ppos := qpos + i
		i = end + 1
		eq := strings.IndexByte(param, '=')
		if eq < 0 {
			continue
		}
		key := param[:eq]
		if len(key) < 2 || len(key) > 4 || !isDigits(key) {
			continue // linkType and other non-AI parameters
		}
		v, bad := pctDecode(param[eq+1:])
		vpos := ppos + eq + 1
		if bad >= 0 {
			return false, at.err(vpos+bad, key, ErrSyntax, "bad percent-escape in the URI")
		}
		if spec := specFor(key); spec != nil {
			if e := p.validate(spec, v, vpos, at, false, now); e != nil {
				return false, atSegment(e, v != param[eq+1:], vpos, at)
			}
		} else if e := checkUnknown(key, v, ppos, vpos, at); e != nil {
			return false, e
		}
		if e := dups.check(els, key, v, ppos, at); e != nil {
			return false, e
		}
		els = append(els, Element{AI: key, Value: v})
	}
	c.Elements = els
	return true, nil
}

// atSegment points e at the start of the URI segment when the value was
// changed (percent-decoded, padded) and offsets inside it do not map back.
func atSegment(e *Error, changed bool, pos int, at src) *Error {
	if changed {
		e.Pos = at.base + pos
	}
	return e
}

// isDLKey reports whether ai may be the primary key of a Digital Link URI
// (the dictionary's "dlpkey").
func isDLKey(ai string) bool {
	s := specFor(ai)
	return s != nil && s.dlKey
}

// dlKeyShape reports whether v looks like a value of primary key ai, enough
// to take the URI as a Digital Link.
func dlKeyShape(ai, v string) bool {
	if ai == "01" {
		switch len(v) {
		case 8, 12, 13, 14:
			return isDigits(v)
		}
		return false
	}
	s := specFor(ai)
	if s == nil || len(v) < s.comps[0].min {
		return false
	}
	c := s.comps[0]
	n := min(len(v), c.max)
	for i := 0; i < n; i++ {
		if c.cset == 'N' && !isDigit(v[i]) {
			return false
		}
	}
	return true
}

// pctDecode undoes URI percent-encoding. It returns the offset of a bad
// escape, or -1.
func pctDecode(s string) (string, int) {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s, -1
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", i
		}
		h, l := unhex(s[i+1]), unhex(s[i+2])
		if h < 0 || l < 0 {
			return "", i
		}
		b = append(b, byte(h<<4|l))
		i += 2
	}
	return string(b), -1
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
