package code

// WarnPairing is the Code of a Warning about a GS1 pairing rule of the GS1
// Barcode Syntax Dictionary: an AI that needs another AI the code lacks
// ("req="), or two AIs that may not be used together ("ex="). GS1 applies
// these rules to all the barcodes on an item together, so a code can break
// one and still be the item's true identity: it is read, with this warning.
const WarnPairing = "gs1-pairing"

// WarnMACheck is the Code of a Warning about an MA code whose DI check
// character or PI check digit does not match the characters it covers.
// Codes must come from ZIIOT's assignment service since 2021-11, which
// computes them, so a mismatch means a code made elsewhere or misprinted;
// the code is read all the same, never refused for it.
const WarnMACheck = "ma-check"

// WarnAHMUnverified is the Code of the Warning every Alibaba Health (AHM)
// code carries: no standard of the format is public, so the code is kept
// as read and what a tentative reading finds in it is unverified.
const WarnAHMUnverified = "ahm-unverified"

// Warning is a fault of a code that was read all the same.
type Warning struct {
	// Code names the kind of fault for machines, stably: WarnPairing,
	// WarnMACheck or WarnAHMUnverified.
	Code string
	// AI is the Application Identifier the warning is about, or for
	// another kind of code the part: "MA DI", "MA PI", "AHM".
	AI string
	// Text says what is wrong in plain words, for example "(21) SERIAL
	// needs (01) GTIN, (03) MTO GTIN or (8006) ITIP in the same code". It
	// names AIs and check characters only and never quotes a value.
	Text string
}

// String returns the warning's text.
func (w Warning) String() string { return w.Text }

// aiIndexCount is the number of distinct AIs of 2 to 4 digits; aiIndex maps
// each to 0..aiIndexCount-1.
const aiIndexCount = 100 + 1000 + 10000

func aiIndex(ai string) int {
	n := int(ai[0]-'0')*10 + int(ai[1]-'0')
	switch len(ai) {
	case 2:
		return n
	case 3:
		return 100 + n*10 + int(ai[2]-'0')
	}
	return 1100 + n*100 + int(ai[2]-'0')*10 + int(ai[3]-'0')
}

// aiRange is a compiled AI pattern: the aiIndex range [lo, hi) of the AIs
// it matches. The wildcards "n" of a pattern are all at its end ("01",
// "310n", "35nn"), so the range is contiguous.
type aiRange struct{ lo, hi int32 }

func compilePattern(pat string) aiRange {
	width := 1
	base := []byte(pat)
	for i := len(base) - 1; i >= 0 && base[i] == 'n'; i-- {
		base[i] = '0'
		width *= 10
	}
	lo := aiIndex(string(base))
	return aiRange{int32(lo), int32(lo + width)}
}

// pairing is the compiled form of an AI's req= and ex= rules.
type pairing struct {
	req [][][]aiRange // rule, group, pattern
	ex  []aiRange
}

func compilePairing(req []reqRule, ex []string) *pairing {
	if len(req) == 0 && len(ex) == 0 {
		return nil
	}
	p := &pairing{}
	for _, rule := range req {
		var r [][]aiRange
		for _, group := range rule {
			var g []aiRange
			for _, pat := range group {
				g = append(g, compilePattern(pat))
			}
			r = append(r, g)
		}
		p.req = append(p.req, r)
	}
	for _, pat := range ex {
		p.ex = append(p.ex, compilePattern(pat))
	}
	return p
}

// aiSet answers which AIs a code holds. A short code's AIs are listed by
// index; a long one (a fuzzer's or an attacker's) gets a bit set so the
// check stays linear.
type aiSet struct {
	idx  [shortCode]int32
	n    int
	bits []uint64 // nil for a short code
}

const shortCode = 16

func (s *aiSet) init(els []Element) {
	if len(els) <= shortCode {
		for i, e := range els {
			s.idx[i] = int32(aiIndex(e.AI))
		}
		s.n = len(els)
		return
	}
	s.bits = make([]uint64, (aiIndexCount+63)/64)
	for _, e := range els {
		i := aiIndex(e.AI)
		s.bits[i/64] |= 1 << (i % 64)
	}
}

// has reports whether an AI in r is in the set, other than self.
func (s *aiSet) has(r aiRange, self int32) bool {
	if s.bits == nil {
		for _, x := range s.idx[:s.n] {
			if x >= r.lo && x < r.hi && x != self {
				return true
			}
		}
		return false
	}
	for i := r.lo; i < r.hi; i++ {
		if s.bits[i/64]&(1<<(i%64)) != 0 && i != self {
			return true
		}
	}
	return false
}

// others returns the AIs of the set in r other than self; a short code's
// repeated AI is listed again.
func (s *aiSet) others(r aiRange, self int32) []int32 {
	var out []int32
	if s.bits == nil {
		for _, x := range s.idx[:s.n] {
			if x >= r.lo && x < r.hi && x != self {
				out = append(out, x)
			}
		}
		return out
	}
	for i := r.lo; i < r.hi; i++ {
		if s.bits[i/64]&(1<<(i%64)) != 0 && i != self {
			out = append(out, i)
		}
	}
	return out
}

// specAt returns the spec of the AI with index i, or nil.
func specAt(i int32) *aiSpec {
	switch {
	case i < 100:
		return ai2[i]
	case i < 1100:
		return ai3[i-100]
	}
	return ai4[i-1100]
}

// pairingWarnings applies the dictionary's req= and ex= rules to a code's
// elements. A short code's repeated AI is checked again and gives the same
// warnings, which addWarning drops; a long code's is checked once.
func pairingWarnings(els []Element) []Warning {
	var set aiSet
	set.init(els)
	var ws []Warning
	var done []uint64
	if set.bits != nil {
		done = make([]uint64, len(set.bits))
	}
	for i, e := range els {
		var k int32
		if done != nil {
			k = int32(aiIndex(e.AI))
			if done[k/64]&(1<<(k%64)) != 0 {
				continue
			}
			done[k/64] |= 1 << (k % 64)
		} else {
			k = set.idx[i]
		}
		s := specAt(k) // the spec of e.AI itself: k is its index
		if s == nil || s.pairing == nil {
			continue
		}
		for r, rule := range s.pairing.req {
			if !met(&set, rule) {
				ws = addWarning(ws, Warning{Code: WarnPairing, AI: s.ai, Text: name(s.ai) + " needs " + s.req[r].String() + " in the same code"})
			}
		}
		for _, r := range s.pairing.ex {
			if !set.has(r, k) {
				continue
			}
			for _, o := range set.others(r, k) {
				a, b := s.ai, specAt(o).aiOr(o)
				if b < a {
					a, b = b, a
				}
				ws = addWarning(ws, Warning{Code: WarnPairing, AI: a, Text: name(a) + " and " + name(b) + " may not be used together"})
			}
		}
	}
	return ws
}

// aiOr returns s's AI, or the AI with index i when s is nil (an AI the
// table lacks, matched by a pattern).
func (s *aiSpec) aiOr(i int32) string {
	if s != nil {
		return s.ai
	}
	switch {
	case i < 100:
		return pad2(int(i))
	case i < 1100:
		return pad3(int(i - 100))
	}
	return pad3(int(i-1100)/10) + string(rune('0'+(i-1100)%10))
}

func pad3(n int) string {
	return string([]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)})
}

// met reports whether every AI of at least one of the rule's groups is in
// the set.
func met(set *aiSet, rule [][]aiRange) bool {
	for _, group := range rule {
		all := true
		for _, r := range group {
			if !set.has(r, -1) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// String writes the rule as "(01) GTIN, (03) MTO GTIN or (8006) ITIP", a
// group as "(01) GTIN with (21) SERIAL".
func (r reqRule) String() string {
	b := make([]byte, 0, 64)
	for i, group := range r {
		switch {
		case i == 0:
		case i == len(r)-1:
			b = append(b, " or "...)
		default:
			b = append(b, ", "...)
		}
		for j, pat := range group {
			if j > 0 {
				b = append(b, " with "...)
			}
			b = append(b, name(pat)...)
		}
	}
	return string(b)
}

// name writes an AI or AI pattern for a message: "(01) GTIN", "(35nn)".
func name(ai string) string {
	n := "(" + ai + ")"
	if t := AITitle(ai); t != "" {
		n += " " + t
	}
	return n
}

// addWarning appends w unless the same warning is already there.
func addWarning(ws []Warning, w Warning) []Warning {
	for _, x := range ws {
		if x == w {
			return ws
		}
	}
	return append(ws, w)
}
