package api

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/master"
)

// Movement is the one JSON form of a movement, in udi-edge's local API,
// in `udi-edge trace --json` and in udi-central's API: snake_case keys,
// times in RFC 3339 with the zone of the read, the code as read both
// printable (Raw) and exactly (RawHex), hashes in hex.
type Movement struct {
	// Site and Created name the ledger a movement belongs to at the centre
	// (a gateway's ledger is its gateway id and creation time), and Branch
	// the history of that ledger, when its gateway wrote two (0 for the
	// first; a ledger restored from a backup and written on); a gateway
	// leaves them out.
	Site       string   `json:"site,omitempty"`
	Gateway    string   `json:"gateway"`
	Created    int64    `json:"created,omitempty"`
	Branch     int      `json:"branch,omitempty"`
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
	From       string   `json:"from,omitempty"`
	Station    string   `json:"station,omitempty"`
	Antenna    int      `json:"antenna,omitempty"`
	Symbology  string   `json:"symbology,omitempty"`
	Raw        string   `json:"raw"`
	RawHex     string   `json:"raw_hex"`
	Tag        string   `json:"tag,omitempty"`
	Reason     string   `json:"reason,omitempty"`
	Actor      string   `json:"actor,omitempty"`
	Case       string   `json:"case,omitempty"`
	Patient    string   `json:"patient,omitempty"`
	Settlement string   `json:"settlement,omitempty"`
	Decision   string   `json:"decision,omitempty"`
	Flags      []string `json:"flags,omitempty"`
	PrevHash   string   `json:"prev_hash,omitempty"`
	Hash       string   `json:"hash,omitempty"`
}

// FromMovement returns m in its JSON form.
func FromMovement(m agent.Movement) Movement {
	return Movement{
		Gateway: m.Gateway, Seq: m.Seq, Time: m.Time.Format(time.RFC3339Nano), Kind: string(m.Kind),
		Item: m.Item, GTIN: m.GTIN, Serial: m.Serial, Lot: m.Lot, Expiry: m.Expiry, Production: m.Production,
		Location: m.Location, From: m.From, Station: m.Station, Antenna: m.Antenna, Symbology: m.Symbology,
		Raw: AsRead(m), RawHex: hex.EncodeToString(m.Raw), Tag: m.Tag, Reason: m.Reason, Actor: m.Actor,
		Case: m.Case, Patient: m.Patient, Settlement: m.Settlement, Decision: m.Decision, Flags: m.Flags,
		PrevHash: hex.EncodeToString(m.PrevHash), Hash: hex.EncodeToString(m.Hash),
	}
}

// Movement returns the movement j is the JSON form of.
func (j Movement) Movement() (agent.Movement, error) {
	t, err := time.Parse(time.RFC3339Nano, j.Time)
	if err != nil {
		return agent.Movement{}, fmt.Errorf("movement %d: time: %w", j.Seq, err)
	}
	m := agent.Movement{
		Gateway: j.Gateway, Seq: j.Seq, Time: t, Kind: agent.Kind(j.Kind), Item: j.Item, GTIN: j.GTIN,
		Serial: j.Serial, Lot: j.Lot, Expiry: j.Expiry, Production: j.Production, Location: j.Location,
		From: j.From, Station: j.Station, Antenna: j.Antenna, Symbology: j.Symbology, Tag: j.Tag,
		Reason: j.Reason, Actor: j.Actor, Case: j.Case, Patient: j.Patient, Settlement: j.Settlement,
		Decision: j.Decision, Flags: j.Flags,
	}
	for _, f := range []struct {
		name string
		s    string
		dst  *[]byte
	}{{"raw_hex", j.RawHex, &m.Raw}, {"prev_hash", j.PrevHash, &m.PrevHash}, {"hash", j.Hash, &m.Hash}} {
		if f.s == "" {
			continue
		}
		b, err := hex.DecodeString(f.s)
		if err != nil {
			return agent.Movement{}, fmt.Errorf("movement %d: %s: %w", j.Seq, f.name, err)
		}
		*f.dst = b
	}
	return m, nil
}

// Settlement is the JSON form of a settlement line.
type Settlement struct {
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

// FromSettlement returns s in its JSON form.
func FromSettlement(s master.Settlement) Settlement {
	return Settlement{ID: s.ID, Case: s.Case, Patient: s.Patient, InsuranceCode: s.InsuranceCode,
		Item: s.Item, GTIN: s.GTIN, Lot: s.Lot, Quantity: s.Quantity, Amount: s.Amount.String()}
}

// Settlement returns the settlement line s is the JSON form of.
func (s Settlement) Settlement() (master.Settlement, error) {
	a, err := master.ParseAmount(s.Amount)
	if err != nil {
		return master.Settlement{}, fmt.Errorf("settlement %s: amount %q: %w", s.ID, s.Amount, err)
	}
	return master.Settlement{ID: s.ID, Case: s.Case, Patient: s.Patient, InsuranceCode: s.InsuranceCode,
		Item: s.Item, GTIN: s.GTIN, Lot: s.Lot, Quantity: s.Quantity, Amount: a}, nil
}

// AsRead shows the code of m as read: an RFID tag's PC word and EPC in
// hex, a barcode as printable text (see Printable).
func AsRead(m agent.Movement) string {
	if m.Symbology == agent.SymbologyEPC {
		return fmt.Sprintf("EPC %X", m.Raw)
	}
	return Printable(m.Raw)
}

// Printable shows raw bytes with GS as <GS> and other control or invalid
// bytes as \xNN, so a label's bytes can be read and compared.
func Printable(b []byte) string {
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
