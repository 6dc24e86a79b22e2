package code

import "strings"

// AHM holds what a tentative reading finds in an Alibaba Health (AHM)
// code, the third UDI issuing agency China's NMPA recognises. No standard
// of the format is public: the only description is one integrator's code
// comment, "MF" + DI (at most 13 characters), then BA lot, SN serial, MD
// production date, BD best-before date, ED expiry date (6 digits each), PL
// packaging level, '*' seemingly ending variable values (the NMPA names
// the lot BN). So an AHM code is kept as read, its key is the code itself,
// every read carries the warning WarnAHMUnverified, and none of these
// fields reaches Code.Serial, Lot or Expiry, which the point-of-use checks
// act on.
type AHM struct {
	// DI is the text between "MF" and the first field.
	DI string
	// Lot (BA or BN), Serial (SN), Production (MD), BestBefore (BD),
	// Expiry (ED) and PackagingLevel (PL) are the values as read, "" when
	// the reading found none. Dates are not interpreted.
	Lot, Serial                    string
	Production, BestBefore, Expiry string
	PackagingLevel                 string
	// Rest is what the reading could not place, from the first field it
	// did not understand to the end; "" when it placed everything.
	Rest string
}

// ahmMaxDI is the longest DI after "MF" the description gives.
const ahmMaxDI = 13

// ahmField reports whether s starts with a field tag of the description.
func ahmField(s string) bool {
	if len(s) < 2 {
		return false
	}
	switch s[:2] {
	case "BA", "BN", "SN", "MD", "BD", "ED", "PL":
		return true
	}
	return false
}

// ahmStart returns the offset of the first field of an AHM code, or -1
// when b is not one: "MF", a DI of 1 to 13 letters or digits, then a field
// tag, every byte printable ASCII without space. A code with no field
// after its DI cannot be told from a plain code and is left plain.
func ahmStart(b []byte) int {
	if len(b) < 5 || b[0] != 'M' || b[1] != 'F' {
		return -1
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7F {
			return -1
		}
	}
	s := string(b)
	for i := 3; i <= 2+ahmMaxDI && i+2 <= len(s); i++ {
		if !isAlnum(s[i-1]) {
			return -1
		}
		if ahmField(s[i:]) {
			return i
		}
	}
	return -1
}

// parseAHM reads s, an AHM code whose first field is at offset first,
// into c. It never fails: what it cannot place goes to AHM.Rest.
func parseAHM(c *Code, s string, first int) {
	a := &AHM{DI: s[2:first]}
	i := first
	for i < len(s) {
		dst, n := a.field(s[i:])
		if dst == nil || *dst != "" {
			break
		}
		v := s[i+2:]
		if n > 0 {
			if len(v) < n || (n == 6 && !isDigits(v[:n])) {
				break
			}
			v = v[:n]
		} else if j := strings.IndexByte(v, '*'); j >= 0 {
			v = v[:j]
		}
		if v == "" {
			break
		}
		*dst = v
		i += 2 + len(v)
		if i < len(s) && s[i] == '*' {
			i++
		}
	}
	a.Rest = s[i:]
	c.Kind, c.AHM = KindAHM, a
	c.Warnings = []Warning{{Code: WarnAHMUnverified, AI: "AHM",
		Text: "Alibaba Health (AHM) code: no standard of its format is public, so it is kept as read and its fields are unverified"}}
}

// field returns where the value of the field tag at the start of s goes
// and its length (0: runs to '*' or the end); nil for no known tag.
func (a *AHM) field(s string) (*string, int) {
	if !ahmField(s) {
		return nil, 0
	}
	switch s[:2] {
	case "BA", "BN":
		return &a.Lot, 0
	case "SN":
		return &a.Serial, 0
	case "MD":
		return &a.Production, 6
	case "BD":
		return &a.BestBefore, 6
	case "ED":
		return &a.Expiry, 6
	}
	return &a.PackagingLevel, 1
}

func isAlnum(c byte) bool { return isUpperAlnum(c) || (c >= 'a' && c <= 'z') }
