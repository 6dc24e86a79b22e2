package epc

import (
	"strconv"
	"strings"
)

// serialChar reports whether c is in the GS1 AI encodable character set 82
// (TDS Table A-1), the characters an SGTIN serial may hold: digits,
// letters and !"%&'()*+,-./:;<=>?_.
func serialChar(c byte) bool {
	switch {
	case c >= '0' && c <= '9', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		return true
	}
	return strings.IndexByte(`!"%&'()*+,-./:;<=>?_`, c) >= 0
}

// uriEscaped reports whether c must be written %HH in an EPC URI (TDS
// Table A-1, URI form).
func uriEscaped(c byte) bool {
	switch c {
	case '"', '%', '&', '/', '<', '>', '?':
		return true
	}
	return false
}

// uriPlain reports whether c may stand for itself in an EPC URI component
// (digits, letters and the TDS "OtherChar" set).
func uriPlain(c byte) bool {
	return serialChar(c) && !uriEscaped(c)
}

// escapeSerial writes a serial for an EPC URI: the characters
// " % & / < > ? as %22 %25 %26 %2F %3C %3E %3F, all others as they are.
func escapeSerial(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if uriEscaped(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		if c := s[i]; uriEscaped(c) {
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}

// escapePath percent-encodes every byte of s except the RFC 3986 unreserved
// characters, as a GS1 Digital Link path value requires.
func escapePath(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c == '-', c == '.', c == '_', c == '~':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// ParseURI parses an SGTIN EPC URI:
//
//	urn:epc:id:sgtin:CompanyPrefix.ItemRef.Serial          (pure identity)
//	urn:epc:tag:sgtin-96:Filter.CompanyPrefix.ItemRef.Serial
//	urn:epc:tag:sgtin-198:Filter.CompanyPrefix.ItemRef.Serial
//
// Control fields in a tag URI ("urn:epc:tag:[umi=1]sgtin-96:…") are
// accepted and dropped: they are not part of the identity. The serial is
// unescaped (%HH, upper or lower case hex); characters that TDS requires
// escaped must be. A pure-identity URI gives Scheme "" and Filter 0. The
// serial must suit the scheme: for sgtin-96 decimal without leading zeros
// up to 2^38-1, for sgtin-198 and pure identities 1 to 20 characters of the
// GS1 AI character set. Other EPC URIs (sscc, sgln, raw, …) give an error
// wrapping ErrNotSGTIN.
func ParseURI(s string) (SGTIN, error) {
	var out SGTIN
	var rest string
	switch {
	case strings.HasPrefix(s, "urn:epc:id:"):
		body := s[len("urn:epc:id:"):]
		var ok bool
		if rest, ok = strings.CutPrefix(body, "sgtin:"); !ok {
			return SGTIN{}, fail(ErrNotSGTIN, "EPC URI "+quoteShort(s)+" is not an SGTIN")
		}
	case strings.HasPrefix(s, "urn:epc:tag:"):
		body := s[len("urn:epc:tag:"):]
		for strings.HasPrefix(body, "[") {
			end := strings.IndexByte(body, ']')
			if end < 0 {
				return SGTIN{}, fail(ErrSyntax, "control field in "+quoteShort(s)+" has no closing ]")
			}
			body = body[end+1:]
		}
		scheme, r, ok := strings.Cut(body, ":")
		if !ok || (scheme != Scheme96 && scheme != Scheme198) {
			return SGTIN{}, fail(ErrNotSGTIN, "EPC tag URI "+quoteShort(s)+" is not sgtin-96 or sgtin-198")
		}
		f, r, ok := strings.Cut(r, ".")
		if !ok || len(f) != 1 || f[0] < '0' || f[0] > '7' {
			return SGTIN{}, fail(ErrFilter, "filter "+quoteShort(f)+" in tag URI is not a digit 0..7")
		}
		out.Scheme, out.Filter, rest = scheme, int(f[0]-'0'), r
	default:
		return SGTIN{}, fail(ErrSyntax, quoteShort(s)+" is not an EPC URI (urn:epc:id:… or urn:epc:tag:…)")
	}

	cp, rest, ok1 := strings.Cut(rest, ".")
	ir, esc, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 {
		return SGTIN{}, fail(ErrSyntax, "SGTIN URI "+quoteShort(s)+" needs company prefix, item reference and serial separated by dots")
	}
	if len(cp) < 6 || len(cp) > 12 || !allDigits(cp) {
		return SGTIN{}, fail(ErrPartition, "company prefix "+quoteShort(cp)+" is not 6 to 12 digits")
	}
	if len(cp)+len(ir) != 13 || !allDigits(ir) {
		return SGTIN{}, fail(ErrPartition, "item reference "+quoteShort(ir)+" must be "+strconv.Itoa(13-len(cp))+" digits after a "+strconv.Itoa(len(cp))+"-digit company prefix")
	}
	serial, err := unescapeSerial(esc)
	if err != nil {
		return SGTIN{}, err
	}
	if out.Scheme == Scheme96 {
		err = serial96(serial)
	} else {
		err = serial198(serial)
	}
	if err != nil {
		return SGTIN{}, err
	}

	g := make([]byte, 0, 14)
	g = append(g, ir[0])
	g = append(g, cp...)
	g = append(g, ir[1:]...)
	g = append(g, checkDigit(g))
	out.Partition = 12 - len(cp)
	out.CompanyPrefix, out.ItemRef, out.Serial, out.GTIN = cp, ir, serial, string(g)
	return out, nil
}

// unescapeSerial decodes the serial component of an EPC URI.
func unescapeSerial(s string) (string, error) {
	if s == "" {
		return "", fail(ErrSerial, "serial is empty")
	}
	if !strings.Contains(s, "%") {
		for i := 0; i < len(s); i++ {
			if !uriPlain(s[i]) {
				return "", badURIChar(s[i], i)
			}
		}
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) {
				return "", fail(ErrSyntax, "escape at serial position "+strconv.Itoa(i+1)+" needs two hex digits")
			}
			hi, lo := unhex(s[i+1]), unhex(s[i+2])
			if hi < 0 || lo < 0 {
				return "", fail(ErrSyntax, "escape "+quoteShort(s[i:i+3])+" in serial is not %HH")
			}
			c = byte(hi<<4 | lo)
			if !serialChar(c) {
				return "", fail(ErrSerial, "escape "+s[i:i+3]+" in serial is not a GS1 AI character")
			}
			i += 2
		} else if !uriPlain(c) {
			return "", badURIChar(c, i)
		}
		b = append(b, c)
	}
	return string(b), nil
}

func badURIChar(c byte, i int) error {
	if uriEscaped(c) {
		return fail(ErrSyntax, "serial character "+charName(c)+" at position "+strconv.Itoa(i+1)+" must be escaped as %"+hex2(c)+" in an EPC URI")
	}
	return fail(ErrSerial, "serial character "+charName(c)+" at position "+strconv.Itoa(i+1)+" is not in the GS1 AI character set")
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return -1
}

// quoteShort quotes s for an error message, cut to 64 bytes.
func quoteShort(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + "…"
	}
	return strconv.Quote(s)
}
