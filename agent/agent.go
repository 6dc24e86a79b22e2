// Package agent is the domain of udi-edge: the types every part speaks in
// (a scanner's read, a reader's tag read, a movement of an individually
// coded item and its kinds, a station, a point-of-use decision and the
// verdict a station hears), the ports the core needs of its adapters (a
// ledger), the vocabulary of recorded movements (how a cancellation, a
// case link and a justification are written and read back), and the two
// rules every face shares: the id of a site, gateway, scanner, reader or
// zone (CheckID), and the verdict a recorded movement stands for
// (OutcomeOf).
//
// It holds no application logic and imports no other package of the
// project: the gateway's core and its rules are in agent/core and the
// packages beside it (station, cabinet, lifecycle, audit, ident, master),
// the adapters in agent/bolt, agent/api, reader/ and sync/. Nothing in
// this package may log a patient identifier.
package agent

import (
	"context"
	"time"
)

// Read is one frame received from a scanner: a barcode as the scanner sent
// it, before any interpretation.
type Read struct {
	// Source is the configured id of the scanner that produced the read.
	Source string
	// Time is when the frame's last byte arrived.
	Time time.Time
	// Raw is the frame exactly as received (AIM identifier and data), without
	// the configured suffix. GS (0x1D) bytes are kept.
	Raw []byte
	// Symbology is the AIM symbology identifier ("]d2", "]C1", ...), or ""
	// when the frame carried none.
	Symbology string
	// Data is Raw without the AIM identifier.
	Data []byte
	// Err is set when the frame could not be taken as a whole (for example a
	// line longer than the bound without a terminator). Such a read is
	// recorded as rejected, never dropped.
	Err error
}

// TagRead is one sighting of an RFID tag by a reader's antenna, as the RFID
// drivers hand it to the core (a barcode scanner hands it a Read).
type TagRead struct {
	// Reader is the configured id of the reader.
	Reader string
	// Antenna is the antenna port that read the tag, from 1.
	Antenna int
	// RSSI is the signal strength in dBm.
	RSSI int
	// PC is the tag's protocol-control word; EPC its EPC bank as read.
	PC  uint16
	EPC []byte
	// Time is when the tag was read.
	Time time.Time
}

// SymbologyEPC is the Symbology of a movement made from an RFID tag read:
// its Raw is the tag's PC word and EPC.
const SymbologyEPC = "EPC"

// Kind is the kind of a movement.
type Kind string

// Movement kinds. KindReject records an input that could not be understood.
const (
	KindReceive    Kind = "receive"
	KindCommission Kind = "commission"
	KindStock      Kind = "stock"
	KindIssue      Kind = "issue"
	KindTransfer   Kind = "transfer"
	KindUse        Kind = "use"
	KindReturn     Kind = "return"
	KindWaste      Kind = "waste"
	KindQuarantine Kind = "quarantine"
	KindDispose    Kind = "dispose"
	KindCount      Kind = "count"
	KindAdjust     Kind = "adjust"
	KindReject     Kind = "reject"
)

// Kinds lists every movement kind, in lifecycle order, then KindContext
// and KindReject, which move no item.
var Kinds = []Kind{
	KindReceive, KindCommission, KindStock, KindIssue, KindTransfer, KindUse,
	KindReturn, KindWaste, KindQuarantine, KindDispose, KindCount, KindAdjust,
	KindContext, KindReject,
}

// MovesItem reports whether movements of kind k name an item: every kind
// but KindContext and KindReject.
func (k Kind) MovesItem() bool { return k != KindContext && k != KindReject }

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// Movement is one entry of the ledger: something happened to one item (or a
// read that could not be understood was rejected). Movements are append-only:
// once durable, a movement is never changed.
type Movement struct {
	// Gateway is the id of the gateway that recorded the movement.
	Gateway string
	// Seq is the movement's sequence number, monotonic per gateway, from 1.
	// The ledger assigns it.
	Seq uint64
	// Time is the wall time of the read, with its zone.
	Time time.Time
	// Kind is what happened.
	Kind Kind
	// Item is the item key (see code.Code.Key): "(01)GTIN(21)SERIAL" for GS1,
	// "+LICPCNUOM/SSERIAL" for HIBC. Empty for a rejected read.
	Item string
	// GTIN, Serial, Lot are the item's identification as read ("" if absent).
	GTIN   string
	Serial string
	Lot    string
	// Expiry and Production are ISO dates ("2026-05-31"), "" if absent.
	Expiry     string
	Production string
	// Location is where the movement took place (the station's location).
	Location string
	// Station is the scanner or reader that read the code.
	Station string
	// Antenna is the reader's antenna port that read the tag; 0 for a
	// barcode scanner.
	Antenna int
	// Symbology is the AIM identifier of the read, "" if none.
	Symbology string
	// Raw is the code exactly as read: AIM identifier and data, GS kept.
	Raw []byte
	// Tag is the key of the RFID tag involved (see epc.Key): the tag that
	// was read, or the tag a commission movement binds to Item. Empty for
	// barcode-only movements. The ledger indexes it like Item, so a tag
	// whose EPC is not an SGTIN leads to the item it was commissioned to.
	Tag string
	// Reason says why a read was rejected, or notes what the movement
	// means (an unknown tag, a tag gone from a cabinet); empty otherwise.
	Reason string
	// From is where the item came from, for movements between locations
	// (issue, transfer); Location is where it went.
	From string
	// Actor is the staff member (badge) who made the movement, where known.
	Actor string
	// Case and Patient link a use to a surgical case and its patient, where
	// known. Patient identifiers never appear in logs.
	Case    string
	Patient string
	// Settlement is the insurance settlement record the movement is
	// matched to, where linked.
	Settlement string
	// Decision is what the point-of-use checks decided ("accepted",
	// "warned", "blocked", "pending"); empty where no check ran.
	Decision string
	// Flags name what the lifecycle did not expect or the checks found
	// (for example "expired", "recalled", "used-twice", "never-received",
	// "unknown-item", "imported-unjustified").
	Flags []string
	// PrevHash and Hash chain the gateway's movements: Hash covers the
	// movement's canonical encoding and PrevHash, which is the Hash of the
	// movement before it. The ledger fills both.
	PrevHash []byte
	Hash     []byte
}

// TraceKeys returns the keys m is traced under: its item key and its tag
// key, each when set, once when they are equal. The gateway's ledger and
// the central store index movements by these keys.
func (m *Movement) TraceKeys() []string {
	switch {
	case m.Item == "" && m.Tag == "":
		return nil
	case m.Tag == "" || m.Tag == m.Item:
		return []string{m.Item}
	case m.Item == "":
		return []string{m.Tag}
	}
	return []string{m.Item, m.Tag}
}

// Ledger is the durable, append-only record of movements.
type Ledger interface {
	// Submit queues m for the next transaction. done is called exactly once:
	// after the transaction holding m is fsynced, with m's Gateway and Seq
	// filled in; or with the error and m as submitted, when m is refused or
	// its transaction failed. It runs on the ledger's writer goroutine, or on
	// the caller's when the ledger is closed. Movements are written in the
	// order they were submitted. done must not block.
	Submit(m Movement, done func(Movement, error))
	// Trace returns the movements of the item with the given key, oldest
	// first. A key that names no item returns an empty slice.
	Trace(ctx context.Context, key string) ([]Movement, error)
}
