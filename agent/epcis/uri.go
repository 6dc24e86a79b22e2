package epcis

import (
	"net/url"
	"strings"

	"github.com/udi-edge/udi-edge/agent/code"
)

// Namespace is the IRI of the udi-edge extension vocabulary. The document's
// @context binds it to the prefix "udi", so "udi:flags" stands for
// urn:udi-edge:epcis:flags. Custom business transaction and
// source/destination types live under it too.
const Namespace = "urn:udi-edge:epcis:"

// URIs of the custom types this package writes.
const (
	// TypeSettlement is the business transaction type of an insurance
	// settlement record.
	TypeSettlement = Namespace + "btt:settlement"
	// TypeSurgicalCase is the business transaction type of a surgical case
	// (written only with Options.IncludePatient).
	TypeSurgicalCase = Namespace + "btt:surgicalCase"
	// TypePatient is the destination type of the patient an item was used
	// on (written only with Options.IncludePatient).
	TypePatient = Namespace + "sdt:patient"
)

// URN prefixes of identifiers that have no GS1 form. Each is followed by
// percent-encoded fields separated by ':'; see firmware-notes/epcis.md.
const (
	urnHIBC       = "urn:udi-edge:hibc:"
	urnMA         = "urn:udi-edge:ma:"
	urnAHM        = "urn:udi-edge:ahm:"
	urnLocation   = "urn:udi-edge:loc:"
	urnSettlement = "urn:udi-edge:settlement:"
	urnCase       = "urn:udi-edge:case:"
	urnPatient    = "urn:udi-edge:patient:"
	urnActor      = "urn:udi-edge:staff:"
	urnEvent      = "urn:udi-edge:event:"
	digitalLink   = "https://id.gs1.org/"
)

// DefaultLocationURI returns the location naming used when
// Options.LocationURI is nil: a location that is already an absolute URI
// (urn:, http:, https:, for example an SGLN urn:epc:id:sgln:…) is kept as
// it is; any other name becomes urn:udi-edge:loc:SITE:NAME, or
// urn:udi-edge:loc:NAME when site is empty, with SITE and NAME
// percent-encoded. An empty location has no URI.
func DefaultLocationURI(site string) func(location string) string {
	return func(location string) string {
		if location == "" {
			return ""
		}
		if isURI(location) {
			return location
		}
		return string(appendURN(nil, urnLocation, site, location))
	}
}

// isURI reports whether s is an absolute urn:, http: or https: URI.
func isURI(s string) bool {
	i := strings.IndexByte(s, ':')
	if i <= 0 {
		return false
	}
	switch strings.ToLower(s[:i]) {
	case "urn", "http", "https":
	default:
		return false
	}
	return absURI(s)
}

// absURI reports whether s parses as an absolute URI made only of the
// ASCII characters RFC 3986 allows, so that it can also be written into
// JSON as it is.
func absURI(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c <= ' ' || c >= 0x7f:
			return false
		case c == '"' || c == '\\' || c == '<' || c == '>' || c == '{' || c == '}' || c == '|' || c == '^' || c == '`':
			return false
		}
	}
	u, err := url.Parse(s)
	return err == nil && u.IsAbs()
}

// appendURN appends prefix, then site and local percent-encoded and joined
// by ':' (site left out when empty).
func appendURN(b []byte, prefix, site, local string) []byte {
	b = append(b, prefix...)
	if site != "" {
		b = appendPct(b, site)
		b = append(b, ':')
	}
	return appendPct(b, local)
}

// appendRef appends ref when it is already an absolute URI, else the URN
// prefix:site:ref.
func appendRef(b []byte, prefix, site, ref string) []byte {
	if isURI(ref) {
		return append(b, ref...)
	}
	return appendURN(b, prefix, site, ref)
}

const upperHex = "0123456789ABCDEF"

// appendPct appends s with every byte outside the URI unreserved set
// (ALPHA, DIGIT, '-', '.', '_', '~') percent-encoded, which is what both
// GS1 Digital Link (for AI values) and RFC 8141 (for a URN's NSS) accept.
func appendPct(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', upperHex[c>>4], upperHex[c&15])
	}
	return b
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// appendItem appends the URI of the item key key and reports whether it
// names one instance. It returns ok false for a key it cannot name.
//
//	(01)GTIN(21)SERIAL   https://id.gs1.org/01/GTIN/21/SERIAL   instance
//	(01)GTIN(10)LOT      https://id.gs1.org/01/GTIN/10/LOT      class
//	(01)GTIN             https://id.gs1.org/01/GTIN             class
//	+LIC…/SSERIAL        urn:udi-edge:hibc:%2BLIC…%2FSSERIAL    instance
//	+LIC…/$LOT, +LIC…    urn:udi-edge:hibc:…                    class
//	DI.SSERIAL (MA)      urn:udi-edge:ma:MA.156.….SSERIAL       instance
//	DI.LLOT, DI (MA)     urn:udi-edge:ma:…                      class
//	MF… (AHM)            urn:udi-edge:ahm:MF…                   instance
//	urn:epc:…            unchanged                              instance
//
// MA and AHM have no GS1 key, no Digital Link and no EPC scheme: like
// HIBC, they get a udi-edge URN keeping the whole key percent-encoded. An
// MA key is itself an MA code, so the URN's tail is the code a partner
// reads on the label.
func appendItem(b []byte, key string) (out []byte, instance, ok bool) {
	switch {
	case strings.HasPrefix(key, "(01)"):
		rest := key[4:]
		gtin := rest
		if i := strings.IndexByte(rest, '('); i >= 0 {
			gtin = rest[:i]
			rest = rest[i:]
		} else {
			rest = ""
		}
		if !validGTIN(gtin) {
			return b, false, false
		}
		b = append(b, digitalLink...)
		b = append(b, "01/"...)
		b = appendGTIN14(b, gtin)
		switch {
		case rest == "":
			return b, false, true
		case strings.HasPrefix(rest, "(21)") && len(rest) > 4:
			b = append(b, "/21/"...)
			return appendPct(b, rest[4:]), true, true
		case strings.HasPrefix(rest, "(10)") && len(rest) > 4:
			b = append(b, "/10/"...)
			return appendPct(b, rest[4:]), false, true
		}
		return b, false, false
	case strings.HasPrefix(key, "+") && len(key) > 1:
		instance = false
		if i := strings.IndexByte(key, '/'); i >= 0 && i+1 < len(key) && key[i+1] == 'S' {
			instance = true
		}
		b = append(b, urnHIBC...)
		return appendPct(b, key), instance, true
	case strings.HasPrefix(key, "MA."):
		k := code.SplitKey(key)
		if k.Kind != code.KindMA || strings.Count(k.Product, ".") != 4 {
			return b, false, false
		}
		b = append(b, urnMA...)
		return appendPct(b, key), k.Serial != "", true
	case strings.HasPrefix(key, "MF"):
		if code.SplitKey(key).Kind != code.KindAHM {
			return b, false, false
		}
		// The key is the code as read: whatever it names, the lifecycle
		// takes it as one item, and so does the export.
		b = append(b, urnAHM...)
		return appendPct(b, key), true, true
	case strings.HasPrefix(key, "urn:epc:") && absURI(key):
		return append(b, key...), true, true
	}
	return b, false, false
}

// validGTIN reports whether g is a GTIN-8, -12, -13 or -14 of digits.
func validGTIN(g string) bool {
	switch len(g) {
	case 8, 12, 13, 14:
	default:
		return false
	}
	for i := 0; i < len(g); i++ {
		if g[i] < '0' || g[i] > '9' {
			return false
		}
	}
	return true
}

// appendGTIN14 appends g padded on the left with zeros to 14 digits, the
// form GS1 Digital Link requires.
func appendGTIN14(b []byte, g string) []byte {
	for i := len(g); i < 14; i++ {
		b = append(b, '0')
	}
	return append(b, g...)
}

// gsrn returns the 18-digit GSRN carried by a patient identifier, "" if it
// carries none. It accepts the bare 18 digits or the element string
// "(8018)" + 18 digits, and checks the GS1 check digit.
func gsrn(p string) string {
	p = strings.TrimPrefix(p, "(8018)")
	if len(p) != 18 {
		return ""
	}
	cd, err := code.CheckDigit(p[:17])
	if err != nil || byte('0'+cd) != p[17] {
		return ""
	}
	return p
}

// srin reports whether c can be a GS1 service relation instance number
// (AI 8019: 1 to 10 digits).
func srin(c string) bool {
	if c == "" || len(c) > 10 {
		return false
	}
	for i := 0; i < len(c); i++ {
		if c[i] < '0' || c[i] > '9' {
			return false
		}
	}
	return true
}
