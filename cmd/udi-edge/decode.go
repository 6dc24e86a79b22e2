package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/code"
	"github.com/udi-edge/udi-edge/agent/ident"
	"github.com/udi-edge/udi-edge/cmd/internal/cli"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"
	"github.com/udi-edge/udi-edge/reader"
	"github.com/udi-edge/udi-edge/reader/barcode"
)

func decodeCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "decode", "[flags] [CODE...]",
		"Show how the agent understands codes, exactly as a scanner sends them (AIM prefix,\n"+
			"GS bytes; in arguments GS may be written \\x1d or <GS>), or in human-readable,\n"+
			"Digital Link or HIBC form, China's MA codes (MA.156.…, <UDI IAC=\"MA\">, or in a URL)\n"+
			"and AHM codes (MF…), an item key as trace prints it, or an RFID tag's EPC (hex,\n"+
			"optionally with its PC word; urn:epc:id:sgtin, urn:epc:tag:sgtin-96/-198 and urn:epc:raw\n"+
			"URIs). trace and udi-central trace accept every form decode reads. Without arguments,\n"+
			"reads one code per line on stdin. Exits 1 if any code is in error.")
	asJSON := fs.Bool("json", false, "one JSON object per code")
	device := fs.String("device", "", "read live scans from this serial scanner instead (until Ctrl-C); a port a running agent reads is refused")
	var cf configFlags
	cf.register(fs, false)
	baud := fs.Int("baud", 9600, "with --device: line speed")
	suffix := fs.String("suffix", "CR", "with --device: CR, LF, CRLF or none")
	if err := parse(fs, args); err != nil {
		return err
	}
	bad := 0
	one := func(in string) error {
		c, err := ident.Parse(in)
		if err != nil {
			bad++
		}
		if *asJSON {
			return json.NewEncoder(env.Stdout).Encode(decodedJSON(in, c, err))
		}
		printDecoded(env.Stdout, in, c, err)
		return nil
	}
	if *device != "" {
		if fs.NArg() > 0 {
			return usagef("--device reads the scanner; give no CODE arguments")
		}
		cfg, err := cf.load()
		if err != nil {
			return err
		}
		return decodeDevice(ctx, env, cfg, *device, *baud, *suffix, func(raw []byte) { _ = one(string(raw)) })
	}
	if fs.NArg() > 0 {
		for _, a := range fs.Args() {
			if err := one(a); err != nil {
				return err
			}
		}
	} else {
		sc := bufio.NewScanner(env.Stdin)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sc.Split(scanCodes)
		for sc.Scan() {
			line := sc.Text()
			if line == "" {
				continue
			}
			if err := one(line); err != nil {
				return err
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("reading stdin: %w", err)
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d code(s) in error", bad)
	}
	return nil
}

// decoded is one code as decode --json prints it.
type decoded struct {
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

// decodedMA is the MA part of a decoded code: the DI's parts, the checks,
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

// decodedEPC is the EPC part of a decoded code.
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

func decodedJSON(in string, ic ident.Code, err error) decoded {
	d := decoded{Input: api.Printable([]byte(in)), OK: err == nil}
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

func decodedEPCJSON(d decoded, ic ident.Code) decoded {
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

// decodeDevice opens a scanner through the agent's own serial driver, with
// the same framing the agent would use, and decodes each scan until ctx
// ends. A port a running agent reads is refused (asked of the agent, and
// by the device's lock, which every opener of the project takes): decode
// must never take a scan away from the agent.
func decodeDevice(ctx context.Context, env *Env, agentCfg edge.Config, dev string, baud int, suffix string, one func([]byte)) error {
	cfg := barcode.Config{ID: "decode", Serial: reader.Settings{Device: dev, Baud: baud}, Suffix: barcode.Suffix(suffix)}.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return cli.UsageError{Err: err}
	}
	if id, ok := agentReads(ctx, agentCfg, dev); ok {
		return fmt.Errorf("%s is the port of %s, read by the running agent (%s): decode would take its scans; "+
			"see what it reads with udi-edge status, trace and rejects, or stop the agent first", dev, id, agentCfg.SocketPath())
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	busy := make(chan error, 1)
	s := barcode.New(cfg, nil)
	s.OnState = func(connected bool, err error) {
		switch {
		case connected:
			fmt.Fprintf(env.Stderr, "%s open: scan labels, Ctrl-C to stop\n", dev)
		case errors.Is(err, reader.ErrDeviceBusy):
			select {
			case busy <- err:
			default:
			}
			cancel()
		case err != nil:
			fmt.Fprintf(env.Stderr, "%s: %v (retrying)\n", dev, err)
		}
	}
	reads := make(chan agent.Read, 64)
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx, func(r agent.Read) { reads <- r }) }()
	for {
		select {
		case r := <-reads:
			if r.Err != nil {
				fmt.Fprintf(env.Stdout, "%s\n  %-11s %v\n\n", api.Printable(r.Raw), "error", r.Err)
				continue
			}
			one(r.Raw)
		case err := <-errc:
			select {
			case b := <-busy:
				return fmt.Errorf("%w: another process reads it; decode would take its scans", b)
			default:
			}
			return err
		}
	}
}

// agentReads reports whether the agent of cfg runs and reads dev, and as
// which scanner or reader.
func agentReads(ctx context.Context, cfg edge.Config, dev string) (string, bool) {
	st, err := api.NewClient(cfg.SocketPath()).Status(ctx)
	if err != nil {
		return "", false
	}
	want := canonical(dev)
	for _, d := range st.Devices {
		if canonical(d.Path) == want {
			return d.Kind + " " + d.ID, true
		}
	}
	return "", false
}

// canonical is a device path with its symbolic links resolved
// (/dev/serial/by-id/… names the same port as /dev/ttyACM0).
func canonical(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return filepath.Clean(p)
}

// scanCodes splits stdin at CR, LF or CRLF, the suffixes scanners send.
func scanCodes(data []byte, atEOF bool) (advance int, token []byte, err error) {
	for i, b := range data {
		if b == '\r' || b == '\n' {
			return i + 1, data[:i], nil
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
