package code

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"time"
)

// maXMLUnits maps the elements of the XML form to the units of the
// dotted form.
var maXMLUnits = map[string]byte{"SN": 'S', "MFG": 'M', "LOT": 'L', "EXP": 'E', "VAL": 'V'}

// isMAXML reports whether b may be the XML form of an MA code: it starts
// with "<UDI" or an XML declaration. parseMAXML decides.
func isMAXML(b []byte) bool {
	return len(b) >= 4 && b[0] == '<' && (string(b[:4]) == "<UDI" || len(b) >= 5 && string(b[:5]) == "<?xml")
}

// parseMAXML reads the XML form of an MA code,
//
//	<UDI IAC="MA"><DI>…</DI><SN>…</SN><MFG>…</MFG><LOT>…</LOT><EXP>…</EXP><VAL>…</VAL></UDI>
//
// into c. It reports false, and no error, when s is not an element UDI
// with IAC="MA" (other XML is a plain code); once it is, any fault is an
// error. Elements other than those above are kept in MA.Units under their
// name; an empty element is left out; white space around values is
// ignored.
func (p *Parser) parseMAXML(c *Code, s string, at src, now time.Time) (bool, *Error) {
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = true
	root := false
	for !root {
		tok, err := d.Token()
		if err != nil {
			return false, nil
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "UDI" || t.Name.Space != "" || attr(t.Attr, "IAC") != "MA" {
				return false, nil
			}
			root = true
		case xml.CharData:
			if strings.TrimSpace(string(t)) != "" {
				return false, nil
			}
		}
	}
	m := &MA{Form: MAFormXML}
	// pos clamps a decoder offset into the input.
	pos := func(off int64) int { return min(int(off), len(s)) }
	fail := func(off int64, err error) (bool, *Error) {
		var se *xml.SyntaxError
		reason := "the XML is malformed"
		switch {
		case errors.Is(err, io.EOF) || errors.As(err, &se) && se.Msg == "unexpected EOF":
			reason = "the XML ends before </UDI>"
		case se != nil:
			reason += ": " + se.Msg
		}
		return false, at.err(pos(off), "MA XML", ErrSyntax, reason)
	}
	done := false
	for !done {
		start := d.InputOffset()
		tok, err := d.Token()
		if err != nil {
			return fail(start, err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			done = true
		case xml.CharData:
			if strings.TrimSpace(string(t)) != "" {
				return false, at.err(pos(start), "MA XML", ErrSyntax, "text directly inside <UDI>: every value is in an element")
			}
		case xml.StartElement:
			name := t.Name.Local
			vstart := d.InputOffset()
			var val []byte
		elem:
			for {
				tstart := d.InputOffset()
				tok, err := d.Token()
				if err != nil {
					return fail(tstart, err)
				}
				switch x := tok.(type) {
				case xml.CharData:
					val = append(val, x...)
				case xml.StartElement:
					return false, at.err(pos(vstart), "MA XML", ErrSyntax, "element <"+name+"> holds another element")
				case xml.EndElement:
					break elem
				}
			}
			if e := p.maXMLElement(c, m, name, string(val), pos(vstart), at, now); e != nil {
				return false, e
			}
		}
	}
	for {
		start := d.InputOffset()
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(start, err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			if strings.TrimSpace(string(t)) == "" {
				continue
			}
		case xml.Comment, xml.ProcInst:
			continue
		}
		return false, at.err(pos(start), "MA XML", ErrSyntax, "data after </UDI>")
	}
	if m.DI == "" {
		return false, at.err(len(s), "MA XML", ErrTruncated, "no <DI> element: the code names no device")
	}
	maFill(c, m)
	return true, nil
}

// maXMLElement records the element name with value raw, whose text starts
// at offset vpos.
func (p *Parser) maXMLElement(c *Code, m *MA, name, raw string, vpos int, at src, now time.Time) *Error {
	v := strings.TrimSpace(raw)
	if v == "" {
		return nil
	}
	// Entities and CDATA only make a value shorter than its source, so
	// offsets into v stay inside the input, if not always on the byte.
	vpos += strings.Index(raw, v)
	for i := 0; i < len(v); i++ {
		if maValue[v[i]] == 0 {
			return at.err(vpos+i, "MA <"+name+">", ErrCharset, "character "+quoteByte(v[i])+" is not in the MA character set ("+maCharset+")")
		}
	}
	if name == "DI" {
		if m.DI != "" && m.DI != v {
			return at.err(vpos, "MA DI", ErrSyntax, "two different <DI> elements")
		}
		if !isMA([]byte(v)) {
			return at.err(vpos, "MA DI", ErrSyntax, "must start with MA., three digits and a dot (MA.156.…)")
		}
		return maDI(c, m, v, vpos, at)
	}
	if id, ok := maXMLUnits[name]; ok {
		return p.maUnit(c, m, id, v, vpos, at, now)
	}
	for _, u := range m.Units {
		if u.ID == name && u.Value != v {
			return at.err(vpos, "MA <"+name+">", ErrSyntax, "appears twice with different values")
		}
	}
	m.Units = append(m.Units, MAUnit{ID: name, Value: v})
	return nil
}

// attr returns the value of the attribute named name, or "".
func attr(as []xml.Attr, name string) string {
	for _, a := range as {
		if a.Name.Local == name && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}
