package insurance

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/udi-edge/udi-edge/agent"
)

// MaxTraceCode is the longest trace code the platform takes
// (drug_trac_codg in the drugtracinfo list: 100 characters).
const MaxTraceCode = 100

// gs is the GS1 group separator, FNC1 in a transmitted element string.
const gs = 0x1D

// TraceOptions say how trace codes are written.
type TraceOptions struct {
	// DropGS removes the group separators (GS, 0x1D) from the codes, as a
	// keyboard-wedge scanner's text loses them. By default they are kept:
	// without them the end of a variable-length field cannot be told.
	DropGS bool
}

// TraceCode returns the trace code (追溯码) of the item m moved: the code
// as scanned (Raw without its AIM symbology identifier, and without a
// leading GS, which only stands for FNC1 in first position). For a
// movement read from an RFID tag, which has no scanned code, it is the
// GS1 element string of the tag's SGTIN: "01", the GTIN, "21", the
// serial. The error wraps ErrTraceCode when there is no such code, or
// when it is empty, longer than MaxTraceCode characters, not UTF-8, or
// holds control characters other than GS.
func TraceCode(m agent.Movement, o TraceOptions) (string, error) {
	fail := func(why string) (string, error) {
		return "", fmt.Errorf("insurance: movement %s/%d of %s: %w: %s", m.Gateway, m.Seq, m.Item, ErrTraceCode, why)
	}
	var data []byte
	if m.Symbology == agent.SymbologyEPC {
		if m.GTIN == "" || m.Serial == "" {
			return fail("read from an RFID tag that carries no GTIN and serial")
		}
		data = []byte("01" + m.GTIN + "21" + m.Serial)
	} else {
		data = m.Raw
		if m.Symbology != "" {
			data = bytes.TrimPrefix(data, []byte(m.Symbology))
		}
		data = bytes.TrimPrefix(data, []byte{gs})
	}
	if o.DropGS {
		data = bytes.ReplaceAll(data, []byte{gs}, nil)
	}
	switch {
	case len(data) == 0:
		return fail("no code was scanned")
	case !utf8.Valid(data):
		return fail("the code scanned is not UTF-8 text")
	case utf8.RuneCount(data) > MaxTraceCode:
		return fail(fmt.Sprintf("the code scanned has %d characters, the platform takes at most %d", utf8.RuneCount(data), MaxTraceCode))
	}
	for _, c := range data {
		if c < 0x20 && c != gs || c == 0x7f {
			return fail("the code scanned holds control character " + strconv.QuoteRune(rune(c)))
		}
	}
	return string(data), nil
}

// Skipped is a movement an export or a trace list leaves out, and why.
type Skipped struct {
	Gateway string     `json:"gateway"`
	Seq     uint64     `json:"seq"`
	Kind    agent.Kind `json:"kind"`
	Item    string     `json:"item,omitempty"`
	Reason  string     `json:"reason"`
}

func skip(m agent.Movement, reason string) Skipped {
	return Skipped{Gateway: m.Gateway, Seq: m.Seq, Kind: m.Kind, Item: m.Item, Reason: reason}
}

// coded returns the product of m's item, or why it has none with a
// national code: not in the catalogue, or without a code.
func coded(cat Catalogue, m agent.Movement) (Product, string) {
	p, ok := cat.Product(m.Item)
	switch {
	case !ok:
		return p, "not in the catalogue"
	case p.NationalCode == "":
		return p, fmt.Sprintf("product %s has no national code", p.Key)
	}
	return p, ""
}

// Traces is the trace codes of a settlement: what its uses upload.
type Traces struct {
	// Codes are the trace codes to upload, one per consumable item used,
	// in the order of the uses.
	Codes []string `json:"codes"`
	// Uses is the number of consumable items used: items whose product has
	// a consumable national code, each counted once.
	Uses int `json:"uses"`
	// Skipped lists the uses left out: an item not in the catalogue,
	// without a consumable national code, or without a trace code.
	Skipped []Skipped `json:"skipped,omitempty"`
}

// SettlementTraces returns the trace codes of a settlement from its
// case's standing uses (a use the checks blocked is left out; a use
// cancelled must not be given). An item used twice uploads one code.
func SettlementTraces(uses []agent.Movement, cat Catalogue, o TraceOptions) Traces {
	var t Traces
	seen := map[string]bool{}
	for _, m := range uses {
		if m.Kind != agent.KindUse || m.Decision == agent.DecisionBlocked || seen[m.Item] {
			continue
		}
		seen[m.Item] = true
		p, why := coded(cat, m)
		if why == "" && !Consumable(p.NationalCode) {
			why = fmt.Sprintf("national code %s is not a consumable code", p.NationalCode)
		}
		if why != "" {
			t.Skipped = append(t.Skipped, skip(m, why))
			continue
		}
		t.Uses++
		c, err := TraceCode(m, o)
		if err != nil {
			t.Skipped = append(t.Skipped, skip(m, err.Error()))
			continue
		}
		t.Codes = append(t.Codes, c)
	}
	return t
}

// CheckTraceCount compares the count of consumable trace codes a
// settlement requires (mcs_trac_cnt, 本次结算应上传耗材追溯码数量) with the
// case's uses: a TraceCountMismatch finding when the consumable items
// used, or the codes they yield, are not that many.
func CheckTraceCount(caseID string, required int, t Traces) (Finding, bool) {
	if required == t.Uses && required == len(t.Codes) {
		return Finding{}, false
	}
	return Finding{Kind: TraceCountMismatch, Case: caseID, Detail: fmt.Sprintf(
		"the settlement requires %d consumable trace codes; the case used %d consumable items, %d of which yield a code",
		required, t.Uses, len(t.Codes))}, true
}
