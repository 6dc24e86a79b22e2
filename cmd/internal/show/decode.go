package show

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/code"
	"github.com/udi-edge/udi-edge/agent/ident"
)

// Decoded prints how one code (in, as given) was understood: c, or the
// error that refused it; as aligned lines, or as one JSON object.
func Decoded(w io.Writer, in string, c ident.Code, err error, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(decodedJSON(in, c, err))
	}
	printDecoded(w, in, c, err)
	return nil
}

// DecodedCode is one code as decode --json prints it.
type DecodedCode struct {
	Input      string      `json:"input"`
	OK         bool        `json:"ok"`
	Error      string      `json:"error,omitempty"`
	ErrorAI    string      `json:"error_ai,omitempty"`
	ErrorPos   *int        `json:"error_pos,omitempty"`
	Symbology  string      `json:"symbology,omitempty"`
	SymName    string      `json:"symbology_name,omitempty"`
	Kind       string      `json:"kind,omitempty"`
	Issuer     string      `json:"issuer,omitempty"`
	Key        string      `json:"item_key,omitempty"`
	GTIN       string      `json:"gtin,omitempty"`
	Serial     string      `json:"serial,omitempty"`
	Lot        string      `json:"lot,omitempty"`
	Expiry     string      `json:"expiry,omitempty"`
	Production string      `json:"production,omitempty"`
	HRI        string      `json:"hri,omitempty"`
	Elements   [][2]string `json:"elements,omitempty"`
	HIBC       *code.HIBC  `json:"hibc,omitempty"`
	MA         *decodedMA  `json:"ma,omitempty"`
	AHM        *decodedAHM `json:"ahm,omitempty"`
	EPC        *decodedEPC `json:"epc,omitempty"`
	// Warnings are what is wrong with a code that is read all the same
	// (a GS1 pairing rule).
	Warnings []string `json:"warnings,omitempty"`
	// Also lists the keys of the text's other readings (an ambiguous
	// text, see agent/ident).
	Also []string `json:"also_keys,omitempty"`
}

// decodedMA is the MA part of a DecodedCode: the DI's parts, the checks,
// the PI units and the dates as printed.
type decodedMA struct {
	Form             string `json:"form"`
	DI               string `json:"di"`
	Country          string `json:"country"`
	Industry         string `json:"industry"`
	Registrant       string `json:"registrant"`
	PackagingLevel   string `json:"packaging_level"`
	Category         string `json:"category"`
	DICheck          string `json:"di_check"`
	DICheckOK        bool   `json:"di_check_ok"`
	PICheck          string `json:"pi_check,omitempty"`
	PICheckOK        bool   `json:"pi_check_ok,omitempty"`
	SterilisationLot string `json:"sterilisation_lot,omitempty"`
	// ExpiryDate (E) and ValidUntil (V) are as printed; the decoded
	// code's expiry is the last day of use the checks take from them.
	ExpiryDate string      `json:"expiry_date,omitempty"`
	ValidUntil string      `json:"valid_until,omitempty"`
	Units      [][2]string `json:"units,omitempty"`
}

// decodedAHM is what a tentative reading finds in an AHM code: no
// standard of the format is public, so none of it is verified.
type decodedAHM struct {
	Unverified     bool   `json:"unverified"`
	DI             string `json:"di,omitempty"`
	Lot            string `json:"lot,omitempty"`
	Serial         string `json:"serial,omitempty"`
	Production     string `json:"production,omitempty"`
	BestBefore     string `json:"best_before,omitempty"`
	Expiry         string `json:"expiry,omitempty"`
	PackagingLevel string `json:"packaging_level,omitempty"`
	Rest           string `json:"rest,omitempty"`
}

// issuer names the issuing agency of a code of kind k, "" for none.
func issuer(k code.Kind) string {
	switch k {
	case code.KindGS1, code.KindDigitalLink, code.KindGTIN:
		return "GS1"
	case code.KindHIBC:
		return "HIBCC"
	case code.KindMA:
		return "MA (IDcode, ZIIOT)"
	case code.KindAHM:
		return "AHM (Alibaba Health)"
	}
	return ""
}

func maJSON(m *code.MA) *decodedMA {
	x := &decodedMA{Form: m.Form, DI: m.DI, Country: m.Country, Industry: m.Industry, Registrant: m.Registrant,
		PackagingLevel: string(m.PackagingLevel), Category: m.Category, DICheck: string(m.DICheck), DICheckOK: m.DICheckOK,
		SterilisationLot: m.SterilisationLot, ExpiryDate: m.ExpiryDate.String(), ValidUntil: m.ValidUntil.String()}
	if m.PICheck != 0 {
		x.PICheck, x.PICheckOK = string(m.PICheck), m.PICheckOK
	}
	for _, u := range m.Units {
		x.Units = append(x.Units, [2]string{u.ID, u.Value})
	}
	return x
}

// decodedEPC is the EPC part of a DecodedCode.
type decodedEPC struct {
	PC            string `json:"pc,omitempty"`
	Hex           string `json:"hex,omitempty"`
	Scheme        string `json:"scheme,omitempty"`
	Filter        *int   `json:"filter,omitempty"`
	FilterName    string `json:"filter_name,omitempty"`
	CompanyPrefix string `json:"company_prefix,omitempty"`
	ItemRef       string `json:"item_ref,omitempty"`
	PureURI       string `json:"pure_identity_uri,omitempty"`
	TagURI        string `json:"tag_uri,omitempty"`
	DigitalLink   string `json:"digital_link,omitempty"`
	LengthBits    int    `json:"length_bits,omitempty"`
	PCLengthBits  int    `json:"pc_length_bits,omitempty"`
}

func decodedJSON(in string, ic ident.Code, err error) DecodedCode {
	d := DecodedCode{Input: api.Printable([]byte(in)), OK: err == nil}
	if err != nil {
		d.Error = err.Error()
		var ce *code.Error
		if errors.As(err, &ce) {
			d.ErrorAI = ce.AI
			pos := ce.Pos
			d.ErrorPos = &pos
		}
		return d
	}
	for _, alt := range ic.Candidates()[1:] {
		d.Also = append(d.Also, alt.Key())
	}
	if ic.EPC != nil {
		return decodedEPCJSON(d, ic)
	}
	c := ic.Barcode
	if c == nil {
		d.Kind = ic.Kind.String()
		return d
	}
	d.Symbology, d.SymName, d.Kind, d.Issuer = c.Symbology, c.SymbologyName, c.Kind.String(), issuer(c.Kind)
	if ic.Kind == ident.KindItemKey {
		d.Kind = ic.Kind.String()
	}
	d.Key, d.GTIN, d.Serial, d.Lot = c.Key(), c.GTIN, c.Serial, c.Lot
	d.Expiry, d.Production = c.Expiry.String(), c.Production.String()
	if c.Kind != code.KindPlain {
		d.HRI = c.HRI()
	}
	for _, e := range c.Elements {
		d.Elements = append(d.Elements, [2]string{e.AI, e.Value})
	}
	d.HIBC = c.HIBC
	if c.MA != nil {
		d.MA = maJSON(c.MA)
	}
	if a := c.AHM; a != nil {
		d.AHM = &decodedAHM{Unverified: true, DI: a.DI, Lot: a.Lot, Serial: a.Serial, Production: a.Production,
			BestBefore: a.BestBefore, Expiry: a.Expiry, PackagingLevel: a.PackagingLevel, Rest: a.Rest}
	}
	for _, w := range c.Warnings {
		d.Warnings = append(d.Warnings, w.Text)
	}
	return d
}

func decodedEPCJSON(d DecodedCode, ic ident.Code) DecodedCode {
	e := ic.EPC
	d.Kind = "EPC"
	d.Key = ic.Key()
	if e.SGTIN != nil {
		d.Issuer = "GS1"
	}
	x := &decodedEPC{}
	if e.Bytes != nil {
		x.Hex = e.Hex()
		x.LengthBits = e.LengthBits()
	}
	if e.HasPC {
		x.PC = fmt.Sprintf("%04X", e.PC)
		x.PCLengthBits = e.PCLengthBits()
	}
	if sg := e.SGTIN; sg != nil {
		d.Kind = "EPC SGTIN"
		d.GTIN, d.Serial = sg.GTIN, sg.Serial
		d.HRI = sg.ElementString()
		x.Scheme = sg.Scheme
		if sg.Scheme != "" {
			f := sg.Filter
			x.Filter = &f
			x.FilterName = sg.FilterName()
		}
		x.CompanyPrefix, x.ItemRef = sg.CompanyPrefix, sg.ItemRef
		x.PureURI, x.TagURI, x.DigitalLink = sg.PureURI(), sg.TagURI(), sg.DigitalLink()
	}
	d.EPC = x
	return d
}

func printDecoded(w io.Writer, in string, c ident.Code, err error) {
	d := decodedJSON(in, c, err)
	fmt.Fprintf(w, "%s\n", d.Input)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "  %-11s %s\n", k, v)
		}
	}
	if err != nil {
		row("error", d.Error)
		fmt.Fprintln(w)
		return
	}
	sym := d.Symbology
	if d.SymName != "" {
		sym = strings.TrimSpace(sym + " " + d.SymName)
	}
	row("symbology", sym)
	row("kind", d.Kind)
	row("issuer", d.Issuer)
	row("item key", d.Key)
	row("gtin", d.GTIN)
	row("serial", d.Serial)
	row("lot", d.Lot)
	row("expiry", d.Expiry)
	row("production", d.Production)
	if len(d.Elements) > 0 {
		var parts []string
		for _, e := range d.Elements {
			parts = append(parts, "("+e[0]+")"+e[1])
		}
		row("elements", strings.Join(parts, " "))
	}
	if m := d.MA; m != nil {
		printMA(row, m)
	}
	if a := d.AHM; a != nil {
		row("di?", a.DI)
		row("lot?", a.Lot)
		row("serial?", a.Serial)
		row("made?", a.Production)
		row("best before?", a.BestBefore)
		row("expiry?", a.Expiry)
		row("packaging?", a.PackagingLevel)
		row("not read", a.Rest)
		row("note", "AHM format unverified (no public standard): kept as read, the code is its key; fields marked ? are a guess, not acted on")
	}
	if x := d.EPC; x != nil {
		row("epc hex", x.Hex)
		row("pc word", x.PC)
		if x.PC != "" && x.PCLengthBits != x.LengthBits {
			row("warning", fmt.Sprintf("the PC word says %d EPC bits, %d given", x.PCLengthBits, x.LengthBits))
		}
		row("scheme", x.Scheme)
		if x.Filter != nil {
			row("filter", fmt.Sprintf("%d (%s)", *x.Filter, x.FilterName))
		}
		row("company", x.CompanyPrefix)
		row("item ref", x.ItemRef)
		row("pure uri", x.PureURI)
		row("tag uri", x.TagURI)
		row("dl uri", x.DigitalLink)
		if x.Scheme == "" && x.PureURI == "" {
			row("note", "not an SGTIN: the raw EPC is the tag's key until it is commissioned to an item")
		}
	}
	for _, w := range d.Warnings {
		row("warning", w)
	}
	if c.Kind == ident.KindPlain {
		row("note", "not an item code; configured patterns (wristband, badge, command) may claim it")
	}
	for _, k := range d.Also {
		row("also reads", k+" (trace looks up both)")
	}
	fmt.Fprintln(w)
}

// printMA prints the parts of an MA code.
func printMA(row func(k, v string), m *decodedMA) {
	verified := func(ch string, ok bool) string {
		if ok {
			return ch + " (verified)"
		}
		return ch + " (does not verify: see the warning)"
	}
	row("form", m.Form)
	row("di", m.DI)
	row("country", m.Country)
	row("industry", m.Industry)
	row("registrant", m.Registrant)
	level := m.PackagingLevel
	if level == "0" {
		level += " (use unit)"
	}
	row("packaging", level)
	row("category", m.Category)
	row("di check", verified(m.DICheck, m.DICheckOK))
	if m.PICheck != "" {
		row("pi check", verified(m.PICheck, m.PICheckOK))
	}
	row("steril. lot", m.SterilisationLot)
	row("E expiry", m.ExpiryDate)
	row("V valid to", m.ValidUntil)
	var us []string
	for _, u := range m.Units {
		us = append(us, u[0]+":"+u[1])
	}
	row("pi units", strings.Join(us, " "))
}
