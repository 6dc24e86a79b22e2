package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/code"
	"github.com/udi-edge/udi-edge/agent/master"
)

func traceCmd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "trace", "[flags] CODE",
		"Print the movements of one item, oldest first. CODE is any form of the item's code:\n"+
			"as a scanner sends it (AIM prefix, GS as the byte or as \\x1d), the human-readable\n"+
			"form (01)...(21)..., a GS1 Digital Link URI, an HIBC code, or the EPC of the item's\n"+
			"RFID tag (hex, with or without its PC word, or urn:epc:id:sgtin:... / urn:epc:tag:...). A code without a serial\n"+
			"(a bare GTIN) lists every item of that product. Works on a running agent (through its\n"+
			"control socket) and on a stopped agent's ledger file. The settlement lines that bill\n"+
			"the item follow its movements (with --json, as {\"settlement_line\": {...}} objects).")
	var cf configFlags
	cf.register(fs, false)
	asJSON := fs.Bool("json", false, "one JSON object per movement")
	isKey := fs.Bool("key", false, "CODE is an item key exactly as stored")
	limit := fs.Int("limit", 1000, "at most this many movements when listing a product")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want exactly one CODE, got %d arguments", fs.NArg())
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	key, prefix, err := traceKey(fs.Arg(0), *isKey)
	if err != nil {
		return err
	}
	ms, lines, err := traceLedger(cfg, key, prefix, *limit)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		for _, m := range ms {
			if err := enc.Encode(movementJSON(m)); err != nil {
				return err
			}
		}
		for _, s := range lines {
			if err := enc.Encode(map[string]settlementJSON{"settlement_line": toSettlementJSON(s)}); err != nil {
				return err
			}
		}
		return nil
	}
	printTrace(env.Stdout, key, ms)
	printSettlements(env.Stdout, lines)
	if len(ms) == 0 {
		return fmt.Errorf("no movement of %s in %s", key, cfg.Store)
	}
	return nil
}

// traceKey turns any form of a code into the ledger key to look up, and
// whether it is a prefix (a product rather than one item).
func traceKey(s string, isKey bool) (key string, prefix bool, err error) {
	if isKey {
		return s, false, nil
	}
	ic, err := parseItemCode(code.Parser{}, s)
	if err != nil {
		return "", false, fmt.Errorf("cannot read CODE: %w", err)
	}
	key = ic.Key()
	if key == "" {
		return "", false, fmt.Errorf("CODE is a %s code, not an item code", ic.Barcode.Kind)
	}
	if c := ic.Barcode; c != nil && c.Serial == "" && c.Lot == "" {
		return key, true, nil
	}
	return key, false, nil
}

// traceLedger asks the running agent, or reads the ledger file when no
// agent runs, for the movements of key and the settlement lines that bill
// them.
func traceLedger(cfg Config, key string, prefix bool, limit int) ([]agent.Movement, []master.Settlement, error) {
	resp, err := askAgent(cfg.SocketPath(), controlRequest{Op: "trace", Key: key, Prefix: prefix, Limit: limit})
	if err == nil {
		return resp.Movements, resp.Settlements, nil
	}
	if !errors.Is(err, errNoAgent) {
		return nil, nil, err
	}
	l, err := bolt.OpenReadOnly(cfg.Store, 2*time.Second)
	if err != nil {
		if errors.Is(err, bolt.ErrLocked) {
			return nil, nil, fmt.Errorf("ledger %s is held by a running agent whose control socket %s does not answer: %w", cfg.Store, cfg.SocketPath(), err)
		}
		return nil, nil, err
	}
	defer l.Close()
	ms, err := traceMovements(context.Background(), l, key, prefix, limit)
	if err != nil {
		return nil, nil, err
	}
	var st master.Store
	if err := loadMaster(l, &st); err != nil {
		return nil, nil, err
	}
	return ms, settlementsFor(st.Load(), ms), nil
}

// settlementsFor returns the settlement lines that bill the uses among
// ms: lines naming the item, and lines naming its GTIN (and lot) in the
// use's case. Each line once, in the order met.
func settlementsFor(d *master.Data, ms []agent.Movement) []master.Settlement {
	var out []master.Settlement
	seen := map[string]bool{}
	add := func(s master.Settlement) {
		if !seen[s.ID] {
			seen[s.ID] = true
			out = append(out, s)
		}
	}
	for _, m := range ms {
		if m.Kind != agent.KindUse || m.Decision == agent.DecisionBlocked {
			continue
		}
		for _, s := range d.SettlementsForItem(m.Item) {
			add(s)
		}
		if m.Case == "" {
			continue
		}
		for _, s := range d.SettlementsFor(m.Case) {
			if s.Item == "" && s.GTIN == m.GTIN && (s.Lot == "" || s.Lot == m.Lot) {
				add(s)
			}
		}
	}
	return out
}

// settlementJSON is a settlement line as trace --json prints it.
type settlementJSON struct {
	ID            string `json:"id"`
	Case          string `json:"case"`
	Patient       string `json:"patient"`
	InsuranceCode string `json:"insurance_code,omitempty"`
	Item          string `json:"item,omitempty"`
	GTIN          string `json:"gtin,omitempty"`
	Lot           string `json:"lot,omitempty"`
	Quantity      int    `json:"quantity"`
	Amount        string `json:"amount"`
}

func toSettlementJSON(s master.Settlement) settlementJSON {
	return settlementJSON{ID: s.ID, Case: s.Case, Patient: s.Patient, InsuranceCode: s.InsuranceCode,
		Item: s.Item, GTIN: s.GTIN, Lot: s.Lot, Quantity: s.Quantity, Amount: s.Amount.String()}
}

func printSettlements(w io.Writer, lines []master.Settlement) {
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(w, "settlement line(s): %d\n", len(lines))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCASE\tPATIENT\tINSURANCE CODE\tBILLED\tQTY\tAMOUNT")
	for _, s := range lines {
		what := s.Item
		if what == "" {
			what = s.GTIN + " lot " + dash(s.Lot)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", s.ID, s.Case, s.Patient, dash(s.InsuranceCode), what, s.Quantity, s.Amount)
	}
	tw.Flush()
}

// tracer is what a trace needs of a ledger.
type tracer interface {
	Trace(ctx context.Context, key string) ([]agent.Movement, error)
	TracePrefix(ctx context.Context, prefix string, limit int) ([]agent.Movement, error)
}

// traceMovements returns the movements of key, oldest first: of every item
// of a product when prefix is set; for a tag commissioned to an item, the
// tag's movements and then all of the item's.
func traceMovements(ctx context.Context, l tracer, key string, prefix bool, limit int) ([]agent.Movement, error) {
	if prefix {
		return l.TracePrefix(ctx, key, limit)
	}
	ms, err := l.Trace(ctx, key)
	if err != nil {
		return nil, err
	}
	seen := map[uint64]bool{}
	for _, m := range ms {
		seen[m.Seq] = true
	}
	items := map[string]bool{}
	for _, m := range ms {
		if m.Kind == agent.KindCommission && m.Tag == key && m.Item != key && !items[m.Item] {
			items[m.Item] = true
			more, err := l.Trace(ctx, m.Item)
			if err != nil {
				return nil, err
			}
			for _, x := range more {
				if !seen[x.Seq] {
					seen[x.Seq] = true
					ms = append(ms, x)
				}
			}
		}
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Seq < ms[j].Seq })
	return ms, nil
}

// jsonMovement is a movement as trace --json prints it.
type jsonMovement struct {
	Gateway    string   `json:"gateway"`
	Seq        uint64   `json:"seq"`
	Time       string   `json:"time"`
	Kind       string   `json:"kind"`
	Item       string   `json:"item,omitempty"`
	GTIN       string   `json:"gtin,omitempty"`
	Serial     string   `json:"serial,omitempty"`
	Lot        string   `json:"lot,omitempty"`
	Expiry     string   `json:"expiry,omitempty"`
	Production string   `json:"production,omitempty"`
	Location   string   `json:"location,omitempty"`
	Station    string   `json:"station,omitempty"`
	Symbology  string   `json:"symbology,omitempty"`
	Antenna    int      `json:"antenna,omitempty"`
	Tag        string   `json:"tag,omitempty"`
	Raw        string   `json:"raw"`
	RawHex     string   `json:"raw_hex"`
	Reason     string   `json:"reason,omitempty"`
	From       string   `json:"from,omitempty"`
	Actor      string   `json:"actor,omitempty"`
	Case       string   `json:"case,omitempty"`
	Patient    string   `json:"patient,omitempty"`
	Settlement string   `json:"settlement,omitempty"`
	Decision   string   `json:"decision,omitempty"`
	Flags      []string `json:"flags,omitempty"`
}

func movementJSON(m agent.Movement) jsonMovement {
	return jsonMovement{
		Gateway: m.Gateway, Seq: m.Seq, Time: m.Time.Format(time.RFC3339Nano), Kind: string(m.Kind),
		Item: m.Item, GTIN: m.GTIN, Serial: m.Serial, Lot: m.Lot, Expiry: m.Expiry, Production: m.Production,
		Location: m.Location, Station: m.Station, Symbology: m.Symbology,
		Antenna: m.Antenna, Tag: m.Tag, Raw: asRead(m), RawHex: hex.EncodeToString(m.Raw), Reason: m.Reason,
		From: m.From, Actor: m.Actor, Case: m.Case, Patient: m.Patient, Settlement: m.Settlement,
		Decision: m.Decision, Flags: m.Flags,
	}
}

// asRead shows the code as read: an RFID tag's PC word and EPC in hex, a
// barcode as printable text.
func asRead(m agent.Movement) string {
	if m.Symbology == "EPC" {
		return fmt.Sprintf("EPC %X", m.Raw)
	}
	return printable(m.Raw)
}

// printable shows raw bytes with GS as <GS> and other control or invalid
// bytes as \xNN, so a label's bytes can be read and compared.
func printable(b []byte) string {
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == 0x1d:
			sb.WriteString("<GS>")
		case r == utf8.RuneError && n == 1, r < 0x20, r == 0x7f:
			fmt.Fprintf(&sb, "\\x%02x", b[0])
		default:
			sb.Write(b[:n])
		}
		b = b[n:]
	}
	return sb.String()
}

func printTrace(w io.Writer, key string, ms []agent.Movement) {
	fmt.Fprintf(w, "item %s: %d movement(s)\n", key, len(ms))
	if len(ms) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tKIND\tLOCATION\tSTATION\tLOT\tEXPIRY\tCASE\tPATIENT\tACTOR\tAS READ\tNOTE")
	for _, m := range ms {
		note := m.Reason
		if len(m.Flags) > 0 {
			note = strings.TrimSpace("[" + strings.Join(m.Flags, " ") + "] " + note)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			m.Gateway+"/"+strconv.FormatUint(m.Seq, 10), m.Time.Format("2006-01-02 15:04:05 MST"), m.Kind,
			m.Location, m.Station, dash(m.Lot), dash(m.Expiry), dash(m.Case), dash(m.Patient), dash(m.Actor), asRead(m), note)
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
