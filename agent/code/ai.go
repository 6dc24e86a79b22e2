package code

import "strconv"

//go:generate go run gen_ai.go

// The AI table (ai_table.go) is generated from the GS1 Barcode Syntax
// Dictionary in testdata/ by gen_ai.go and internal/aigen; see
// firmware-notes/gs1-syntax.md. Each dictionary entry names an AI or a range
// of AIs, its components (character set N digits, X GS1 CSET 82, Y CSET 39,
// Z base64url; a fixed or a maximum length; optional components last), the
// checks ("linters") each component must pass, and the pairing rules.

// Flags of a dictionary entry.
const (
	// flagPredefined is the dictionary's "*": the AI has a predefined
	// length and is never followed by a separator.
	flagPredefined uint8 = 1 << iota
	// flagDLAttr is the dictionary's "?": the AI may be a Digital Link
	// data attribute (a query parameter).
	flagDLAttr
	// flagDLKey is the dictionary's "dlpkey": the AI may be the primary
	// key of a Digital Link URI.
	flagDLKey
	// flagPersonal marks an AI whose value may identify a person; its value
	// is never quoted in a message. The dictionary has no such mark: the
	// generator adds it from its own list.
	flagPersonal
)

// dictEntry is one entry of the generated dictionary table.
type dictEntry struct {
	lo, hi string // the AI, or the first and last AI of a range
	flags  uint8
	title  string
	format string // the components as written: "N13+[X..17]"
	comps  []comp
	req    []reqRule
	ex     []string
}

// reqRule is one "req=" rule: at least one of its groups must be present
// in full. A group is a list of AI patterns ("01", "35nn": n is any digit).
type reqRule [][]string

// comp is one component of an AI's value.
type comp struct {
	cset     byte // 'N', 'X', 'Y' or 'Z'
	min, max int
	optional bool
	lints    []lintID
}

// aiSpec describes one Application Identifier.
type aiSpec struct {
	ai       string
	title    string
	comps    []comp
	format   string // "N14", "N13+[X..17]"
	fixed    int    // value length for a predefined-length AI, else 0
	personal bool
	dlKey    bool
	dlAttr   bool
	req      []reqRule
	ex       []string
	pairing  *pairing // req and ex compiled; nil when there are none
	maxLen   int
}

// Lookup tables indexed by the AI's numeric value, one per AI length. GS1
// AIs are prefix-free, so at most one of them matches a given input.
var (
	ai2 [100]*aiSpec
	ai3 [1000]*aiSpec
	ai4 [10000]*aiSpec
)

// predefined is GS1 General Specifications figure 7.8.5-2: element strings
// whose total length (AI plus value) is fixed by the first two digits of the
// AI. Only these may be followed by another element without a separator.
// Indexed by the two-digit prefix; 0 means not predefined. The parser uses
// it for AIs the dictionary lacks (the figure reserves prefixes 04, 14, 18
// and 19); for the others the dictionary's "*" says the same, as a test
// checks.
var predefined = [100]uint8{
	0: 20, 1: 16, 2: 16, 3: 16, 4: 18,
	11: 8, 12: 8, 13: 8, 14: 8, 15: 8, 16: 8, 17: 8, 18: 8, 19: 8,
	20: 4,
	31: 10, 32: 10, 33: 10, 34: 10, 35: 10, 36: 10,
	41: 16,
}

// aiLenByPrefix gives the number of digits of an AI from its first two
// digits, for AIs not in the table.
func aiLenByPrefix(p int) int {
	switch {
	case p >= 23 && p <= 25, p >= 40 && p <= 42, p == 71:
		return 3
	case p >= 31 && p <= 36, p == 39, p == 43, p == 70, p >= 72 && p <= 89:
		return 4
	}
	return 2
}

func init() {
	for i := range dictionary {
		e := &dictionary[i]
		maxLen := 0
		for _, c := range e.comps {
			maxLen += c.max
		}
		pairing := compilePairing(e.req, e.ex)
		lo, hi := atoi(e.lo), atoi(e.hi)
		for n := lo; n <= hi; n++ {
			ai := e.lo
			if n != lo {
				ai = strconv.Itoa(n)
				for len(ai) < len(e.lo) {
					ai = "0" + ai
				}
			}
			s := &aiSpec{
				ai: ai, title: e.title, comps: e.comps, format: e.format,
				personal: e.flags&flagPersonal != 0,
				dlKey:    e.flags&flagDLKey != 0,
				dlAttr:   e.flags&flagDLAttr != 0,
				req:      e.req, ex: e.ex, pairing: pairing, maxLen: maxLen,
			}
			if e.flags&flagPredefined != 0 {
				s.fixed = maxLen
			}
			switch len(ai) {
			case 2:
				ai2[n] = s
			case 3:
				ai3[n] = s
			default:
				ai4[n] = s
			}
		}
	}
}

// lookupAI finds the known AI at the start of b, or nil.
func lookupAI(b string) *aiSpec {
	if len(b) < 2 || !isDigit(b[0]) || !isDigit(b[1]) {
		return nil
	}
	n := int(b[0]-'0')*10 + int(b[1]-'0')
	if s := ai2[n]; s != nil {
		return s
	}
	if len(b) < 3 || !isDigit(b[2]) {
		return nil
	}
	n = n*10 + int(b[2]-'0')
	if s := ai3[n]; s != nil {
		return s
	}
	if len(b) < 4 || !isDigit(b[3]) {
		return nil
	}
	return ai4[n*10+int(b[3]-'0')]
}

// specFor returns the spec of ai (2 to 4 digits), or nil when unknown.
func specFor(ai string) *aiSpec {
	if len(ai) < 2 || len(ai) > 4 || !isDigits(ai) {
		return nil
	}
	s := lookupAI(ai)
	if s == nil || s.ai != ai {
		return nil
	}
	return s
}

// predefinedLen returns the value length of a predefined-length AI (0 if
// the AI is not one).
func predefinedLen(ai string) int {
	if len(ai) < 2 || !isDigit(ai[0]) || !isDigit(ai[1]) {
		return 0
	}
	l := int(predefined[int(ai[0]-'0')*10+int(ai[1]-'0')])
	if l == 0 || l <= len(ai) {
		return 0
	}
	return l - len(ai)
}

// AITitle returns the short GS1 data title of ai ("GTIN", "BATCH/LOT",
// "USE BY or EXPIRY"), or "" for an AI this package does not know.
func AITitle(ai string) string {
	if s := specFor(ai); s != nil {
		return s.title
	}
	return ""
}

// KnownAI reports whether ai is a GS1 Application Identifier in this
// package's table.
func KnownAI(ai string) bool { return specFor(ai) != nil }
