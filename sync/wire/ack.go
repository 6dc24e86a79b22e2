package wire

import (
	"time"

	"github.com/udi-edge/udi-edge/agent/record"
)

// Ack is the centre's application acknowledgement to a gateway (retained):
// it holds every movement of the ledger Created up to Seq, each checked,
// and Hash is the Hash of movement Seq.
type Ack struct {
	// V is JSONVersion.
	V int `json:"v"`
	// Gateway is the acknowledged gateway.
	Gateway string `json:"gateway"`
	// Created names the gateway's ledger: its creation time, Unix
	// nanoseconds.
	Created int64 `json:"created"`
	// Seq is the highest sequence number up to which the centre holds every
	// movement, 1 or more.
	Seq uint64 `json:"seq"`
	// Hash is the Hash of movement Seq, 64 lowercase hex digits.
	Hash string `json:"hash"`
	// Sig is the centre's Ed25519 signature of AckMessage, standard
	// base64; empty from a centre that has no key.
	Sig string `json:"sig,omitempty"`
}

// NewAck returns the ack of movements up to seq of the ledger of gateway
// created at created, whose movement seq has hash.
func NewAck(gateway string, created int64, seq uint64, hash [record.HashSize]byte) Ack {
	return Ack{V: JSONVersion, Gateway: gateway, Created: created, Seq: seq, Hash: HashHex(hash)}
}

// Sum returns the hash a as bytes. It returns an error for an Ack that
// did not pass validation.
func (a Ack) Sum() ([record.HashSize]byte, error) { return ParseHash(a.Hash) }

func (a *Ack) validate() error {
	const p = "ack"
	if err := checkV(p, a.V); err != nil {
		return err
	}
	if err := ValidGateway(a.Gateway); err != nil {
		return fieldErr(ErrMalformed, p, "gateway", "%v", err)
	}
	if a.Seq == 0 {
		return fieldErr(ErrMalformed, p, "seq", "0; sequence numbers start at 1")
	}
	if err := validHex(p, "hash", a.Hash, record.HashSize); err != nil {
		return err
	}
	return validSig(p, a.Sig)
}

// EncodeAck returns a as JSON. It returns a *FieldError for an invalid
// ack.
func EncodeAck(a Ack) ([]byte, error) {
	if err := a.validate(); err != nil {
		return nil, err
	}
	return marshal("ack", a)
}

// DecodeAck decodes an ack. Every field is required; it returns a
// *FieldError wrapping ErrVersion for an unknown "v" and ErrMalformed for
// anything else that is wrong, naming the field.
func DecodeAck(p []byte) (Ack, error) {
	o, err := parseObject("ack", p)
	if err != nil {
		return Ack{}, err
	}
	a := Ack{V: JSONVersion}
	o.field("gateway", true, &a.Gateway)
	o.field("created", true, &a.Created)
	o.field("seq", true, &a.Seq)
	o.field("hash", true, &a.Hash)
	o.field("sig", false, &a.Sig)
	if err := o.done(); err != nil {
		return Ack{}, err
	}
	if err := a.validate(); err != nil {
		return Ack{}, err
	}
	return a, nil
}

// Resend is the centre's request that a gateway send everything from From
// on again.
type Resend struct {
	// V is JSONVersion.
	V int `json:"v"`
	// Gateway is the gateway asked.
	Gateway string `json:"gateway"`
	// Created names the gateway's ledger.
	Created int64 `json:"created"`
	// From is the first sequence number wanted; 0 and 1 both ask for
	// everything.
	From uint64 `json:"from"`
	// Reason says why, for the log; optional.
	Reason string `json:"reason,omitempty"`
	// Sig is the centre's Ed25519 signature of ResendMessage, standard
	// base64; empty from a centre that has no key. A gateway that pins the
	// centre's key acts on no resend request without it.
	Sig string `json:"sig,omitempty"`
}

// NewResend returns a request to gateway to resend the movements of its
// ledger created at created from from on.
func NewResend(gateway string, created int64, from uint64, reason string) Resend {
	return Resend{V: JSONVersion, Gateway: gateway, Created: created, From: from, Reason: reason}
}

// MaxReasonLen is the longest Reason of a resend.
const MaxReasonLen = 1024

func (r *Resend) validate() error {
	const p = "resend"
	if err := checkV(p, r.V); err != nil {
		return err
	}
	if err := ValidGateway(r.Gateway); err != nil {
		return fieldErr(ErrMalformed, p, "gateway", "%v", err)
	}
	if len(r.Reason) > MaxReasonLen {
		return fieldErr(ErrMalformed, p, "reason", "%d bytes, at most %d", len(r.Reason), MaxReasonLen)
	}
	return validSig(p, r.Sig)
}

// EncodeResend returns r as JSON. It returns a *FieldError for an invalid
// resend.
func EncodeResend(r Resend) ([]byte, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	return marshal("resend", r)
}

// DecodeResend decodes a resend request. gateway, created and from are
// required, reason optional; errors as DecodeAck's.
func DecodeResend(p []byte) (Resend, error) {
	o, err := parseObject("resend", p)
	if err != nil {
		return Resend{}, err
	}
	r := Resend{V: JSONVersion}
	o.field("gateway", true, &r.Gateway)
	o.field("created", true, &r.Created)
	o.field("from", true, &r.From)
	o.field("reason", false, &r.Reason)
	o.field("sig", false, &r.Sig)
	if err := o.done(); err != nil {
		return Resend{}, err
	}
	if err := r.validate(); err != nil {
		return Resend{}, err
	}
	return r, nil
}

// States of a gateway in its status.
const (
	// StateOnline is published (retained) on connect.
	StateOnline = "online"
	// StateOffline is the last will.
	StateOffline = "offline"
)

// Status is a gateway's state (retained), and its last will.
type Status struct {
	// V is JSONVersion.
	V int `json:"v"`
	// Gateway is the gateway's id.
	Gateway string `json:"gateway"`
	// Site is its site.
	Site string `json:"site"`
	// State is StateOnline or StateOffline.
	State string `json:"state"`
	// Time is when the gateway composed the status (for the last will: when
	// it connected). Encoded in UTC.
	Time time.Time `json:"time"`
	// LastSeq is the sequence number of the ledger's last movement:
	// always present in an online status (0 for an empty ledger), absent
	// in the last will.
	LastSeq uint64 `json:"last_seq,omitempty"`
	// AckedSeq is the gateway's sync cursor: always present in an online
	// status, absent in the last will.
	AckedSeq uint64 `json:"acked_seq,omitempty"`
	// Version is the gateway's software version; optional.
	Version string `json:"version,omitempty"`
	// Sig is the gateway's Ed25519 signature of StatusMessage, standard
	// base64; empty from a gateway that has no key. A centre that has the
	// gateway enrolled with a key refuses a status without it.
	Sig string `json:"sig,omitempty"`
}

// MaxVersionLen is the longest Version of a status.
const MaxVersionLen = 64

func (s *Status) validate() error {
	const p = "status"
	if err := checkV(p, s.V); err != nil {
		return err
	}
	if err := ValidGateway(s.Gateway); err != nil {
		return fieldErr(ErrMalformed, p, "gateway", "%v", err)
	}
	if err := ValidID(s.Site); err != nil {
		return fieldErr(ErrMalformed, p, "site", "%v", err)
	}
	if s.State != StateOnline && s.State != StateOffline {
		return fieldErr(ErrMalformed, p, "state", "want %q or %q", StateOnline, StateOffline)
	}
	if s.Time.IsZero() {
		return fieldErr(ErrMalformed, p, "time", "zero")
	}
	if s.AckedSeq > s.LastSeq {
		return fieldErr(ErrMalformed, p, "acked_seq", "beyond last_seq")
	}
	if len(s.Version) > MaxVersionLen {
		return fieldErr(ErrMalformed, p, "version", "%d bytes, at most %d", len(s.Version), MaxVersionLen)
	}
	return validSig(p, s.Sig)
}

// EncodeStatus returns s as JSON, its time in UTC. It returns a
// *FieldError for an invalid status.
func EncodeStatus(s Status) ([]byte, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	s.Time = s.Time.UTC()
	if s.State == StateOnline {
		// The sequence numbers are always there, zeros too: a gateway
		// with an empty ledger says so rather than saying nothing.
		return marshal("status", struct {
			V        int       `json:"v"`
			Gateway  string    `json:"gateway"`
			Site     string    `json:"site"`
			State    string    `json:"state"`
			Time     time.Time `json:"time"`
			LastSeq  uint64    `json:"last_seq"`
			AckedSeq uint64    `json:"acked_seq"`
			Version  string    `json:"version,omitempty"`
			Sig      string    `json:"sig,omitempty"`
		}{s.V, s.Gateway, s.Site, s.State, s.Time, s.LastSeq, s.AckedSeq, s.Version, s.Sig})
	}
	return marshal("status", s)
}

// DecodeStatus decodes a status. gateway, site, state and time are
// required, and so are last_seq and acked_seq in an online status; the
// rest is optional. Errors as DecodeAck's.
func DecodeStatus(p []byte) (Status, error) {
	o, err := parseObject("status", p)
	if err != nil {
		return Status{}, err
	}
	s := Status{V: JSONVersion}
	o.field("gateway", true, &s.Gateway)
	o.field("site", true, &s.Site)
	o.field("state", true, &s.State)
	o.field("time", true, &s.Time)
	online := s.State == StateOnline
	o.field("last_seq", online, &s.LastSeq)
	o.field("acked_seq", online, &s.AckedSeq)
	o.field("version", false, &s.Version)
	o.field("sig", false, &s.Sig)
	if err := o.done(); err != nil {
		return Status{}, err
	}
	if err := s.validate(); err != nil {
		return Status{}, err
	}
	return s, nil
}
