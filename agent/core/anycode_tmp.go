package core

import (
	"fmt"
	"strings"

	"github.com/udi-edge/udi-edge/agent/code"
	"github.com/udi-edge/udi-edge/agent/epc"
)

// itemCode is any form of code a person may type or paste: a barcode as a
// scanner sends it, its human-readable or Digital Link form, HIBC, or the
// EPC of an RFID tag (hex, optionally with its PC word, or a URI).
type itemCode struct {
	Barcode *code.Code // set for barcode forms
	EPC     *epcCode   // set for EPC forms
}

// epcCode is an RFID tag's EPC as given.
type epcCode struct {
	PC     uint16
	HasPC  bool
	Bytes  []byte     // nil when given as a pure-identity URI
	SGTIN  *epc.SGTIN // nil when the EPC is not an SGTIN
	RawKey string     // the key of a tag that is not an SGTIN
}

// Key returns the ledger item key, "" for a plain code.
func (c itemCode) Key() string {
	if c.EPC != nil {
		if c.EPC.SGTIN != nil {
			return "(01)" + c.EPC.SGTIN.GTIN + "(21)" + c.EPC.SGTIN.Serial
		}
		return c.EPC.RawKey
	}
	return c.Barcode.Key()
}

// looksLikeEPCHex reports whether s is plausibly an EPC in hex: only hex
// digits, whole 16-bit words, at least 64 bits.
func looksLikeEPCHex(s string) bool {
	s = strings.ReplaceAll(s, " ", "")
	if len(s) < 16 || len(s)%4 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// parseItemCode reads any form of code.
func parseItemCode(s string) (itemCode, error) {
	if strings.HasPrefix(strings.ToLower(s), "urn:epc:") {
		sg, err := epc.ParseURI(s)
		if err != nil {
			return itemCode{}, fmt.Errorf("EPC URI: %w", err)
		}
		return itemCode{EPC: &epcCode{SGTIN: &sg}}, nil
	}
	c, err := code.Any(s)
	if (err != nil || c.Kind == code.KindPlain) && looksLikeEPCHex(s) {
		pc, hasPC, b, herr := epc.ParseHex(strings.ReplaceAll(s, " ", ""))
		if herr != nil {
			return itemCode{}, fmt.Errorf("EPC hex: %w", herr)
		}
		e := &epcCode{PC: pc, HasPC: hasPC, Bytes: b}
		if sg, derr := epc.Decode(b); derr == nil && !(hasPC && pc&epc.PCToggle != 0) {
			e.SGTIN = &sg
		} else if hasPC {
			e.RawKey = epc.KeyWithPC(pc, b)
		} else {
			e.RawKey = epc.Key(b)
		}
		return itemCode{EPC: e}, nil
	}
	if err != nil {
		return itemCode{}, err
	}
	return itemCode{Barcode: c}, nil
}
