package ident

import (
	"strings"

	"github.com/udi-edge/udi-edge/agent/code"
)

// hibcKey reads t as an HIBC item key, +LICPCNUOM[/SSERIAL|/$LOT], and
// returns the fields it names, or nil when t is not one. The key form is
// exactly the text whose code.Code.Key is itself once its check character
// is appended, so package code remains the one judge of HIBC syntax.
func (p Parser) hibcKey(t string) *code.Code {
	chk, err := code.HIBCCheck(t)
	if err != nil {
		return nil
	}
	c, err := p.Barcode.Parse("", []byte(t+string(chk)))
	if err != nil || c.Kind != code.KindHIBC || c.HIBC == nil || c.Key() != t {
		return nil
	}
	h := c.HIBC
	return &code.Code{Kind: code.KindHIBC, Data: t, Serial: c.Serial, Lot: c.Lot,
		HIBC: &code.HIBC{Labeler: h.Labeler, Product: h.Product, UnitOfMeasure: h.UnitOfMeasure,
			Secondary: c.Serial != "" || c.Lot != ""}}
}

// gs1Key reads t as a GS1 item key, (01)GTIN[(21)SERIAL|(10)LOT], whose
// serial or lot the human-readable form cannot hold, and returns the fields
// it names, or nil when t is not one. The serial or lot is checked as
// package code checks it in an element string.
func (p Parser) gs1Key(t string) *code.Code {
	rest, ok := strings.CutPrefix(t, "(01)")
	if !ok || len(rest) < 14 {
		return nil
	}
	data := "01" + rest[:14]
	switch rest = rest[14:]; {
	case rest == "":
	case strings.HasPrefix(rest, "(21)"):
		data += "21" + rest[4:]
	case strings.HasPrefix(rest, "(10)"):
		data += "10" + rest[4:]
	default:
		return nil
	}
	c, err := p.Barcode.Parse("]C1", []byte(data))
	if err != nil || c.Key() != t {
		return nil
	}
	return &code.Code{Kind: code.KindGS1, Data: t, GTIN: c.GTIN, Serial: c.Serial, Lot: c.Lot, Elements: c.Elements}
}
