package wire

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"

	"github.com/udi-edge/udi-edge/agent/record"
)

// Signed messages. Each signature covers a message built from the fields
// it vouches for, after a context string naming what it is, so that a
// signature of one kind can never pass for another and a signature made
// for one site or gateway never for another's. Strings are written with a
// uvarint length, integers as 8 bytes big-endian, hashes as their bytes.
const (
	headContext   = "udi-edge sync v1 batch head\x00"
	ackContext    = "udi-edge sync v1 ack\x00"
	masterContext = "udi-edge sync v1 master\x00"
	statusContext = "udi-edge sync v1 status\x00"
	resendContext = "udi-edge sync v1 resend\x00"
)

// HeadMessage returns what a gateway signs for a batch: the head of its
// ledger created at created after movement seq, whose Hash is hash. The
// hash chain makes it vouch for every movement up to seq.
func HeadMessage(site, gateway string, created int64, seq uint64, hash [record.HashSize]byte) []byte {
	b := make([]byte, 0, len(headContext)+2+len(site)+len(gateway)+16+record.HashSize)
	b = append(b, headContext...)
	b = appendStr(b, site)
	b = appendStr(b, gateway)
	b = binary.BigEndian.AppendUint64(b, uint64(created))
	b = binary.BigEndian.AppendUint64(b, seq)
	return append(b, hash[:]...)
}

// Head returns the sequence number and Hash of b's last movement, as its
// record says. The caller checks the records (record.Check) before it
// trusts them.
func (b *Batch) Head() (seq uint64, hash [record.HashSize]byte) {
	if len(b.Records) == 0 {
		return b.Last(), hash
	}
	_, hash = record.Hashes(b.Records[len(b.Records)-1])
	return b.Last(), hash
}

// Sign sets b.Sig to priv's signature of b's head.
func (b *Batch) Sign(priv ed25519.PrivateKey) {
	seq, hash := b.Head()
	b.Sig = ed25519.Sign(priv, HeadMessage(b.Site, b.Gateway, b.Created, seq, hash))
}

// Verify checks b.Sig against pub. It returns a *FieldError wrapping
// ErrSignature for an unsigned batch or a signature that does not verify.
func (b *Batch) Verify(pub ed25519.PublicKey) error {
	if b.Sig == nil {
		return fieldErr(ErrSignature, "batch", "sig", "unsigned; gateway %s/%s is enrolled with a key", b.Site, b.Gateway)
	}
	seq, hash := b.Head()
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, HeadMessage(b.Site, b.Gateway, b.Created, seq, hash), b.Sig) {
		return fieldErr(ErrSignature, "batch", "sig", "movement %d: not signed by the key gateway %s/%s is enrolled with", seq, b.Site, b.Gateway)
	}
	return nil
}

// AckMessage returns what the centre signs for a, an ack sent on site.
func AckMessage(site string, a *Ack) []byte {
	b := make([]byte, 0, len(ackContext)+2+len(site)+len(a.Gateway)+16+len(a.Hash))
	b = append(b, ackContext...)
	b = appendStr(b, site)
	b = appendStr(b, a.Gateway)
	b = binary.BigEndian.AppendUint64(b, uint64(a.Created))
	b = binary.BigEndian.AppendUint64(b, a.Seq)
	return appendStr(b, a.Hash)
}

// MasterMessage returns what the centre signs for version of set on site:
// a file of size bytes in format whose SHA-256 is sum.
func MasterMessage(site, set string, version uint64, format string, size int, sum [32]byte) []byte {
	b := make([]byte, 0, len(masterContext)+3+len(site)+len(set)+len(format)+16+len(sum))
	b = append(b, masterContext...)
	b = appendStr(b, site)
	b = appendStr(b, set)
	b = binary.BigEndian.AppendUint64(b, version)
	b = appendStr(b, format)
	b = binary.BigEndian.AppendUint64(b, uint64(size))
	return append(b, sum[:]...)
}

// Sign sets a.Sig to priv's signature of a, an ack sent on site.
func (a *Ack) Sign(site string, priv ed25519.PrivateKey) {
	a.Sig = base64.StdEncoding.EncodeToString(ed25519.Sign(priv, AckMessage(site, a)))
}

// Verify checks a.Sig, for an ack received on site, against pub, the
// centre's key. It returns a *FieldError wrapping ErrSignature for an
// unsigned ack or a signature that does not verify.
func (a *Ack) Verify(site string, pub ed25519.PublicKey) error {
	return verifyText("ack", a.Sig, pub, AckMessage(site, a), centrePinned)
}

// ResendMessage returns what the centre signs for r, a resend request
// sent on site.
func ResendMessage(site string, r *Resend) []byte {
	b := make([]byte, 0, len(resendContext)+3+len(site)+len(r.Gateway)+16+len(r.Reason))
	b = append(b, resendContext...)
	b = appendStr(b, site)
	b = appendStr(b, r.Gateway)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Created))
	b = binary.BigEndian.AppendUint64(b, r.From)
	return appendStr(b, r.Reason)
}

// Sign sets r.Sig to priv's signature of r, a resend request sent on
// site.
func (r *Resend) Sign(site string, priv ed25519.PrivateKey) {
	r.Sig = base64.StdEncoding.EncodeToString(ed25519.Sign(priv, ResendMessage(site, r)))
}

// Verify checks r.Sig, for a resend request received on site, against
// pub, the centre's key. It returns a *FieldError wrapping ErrSignature
// for an unsigned request or a signature that does not verify.
func (r *Resend) Verify(site string, pub ed25519.PublicKey) error {
	return verifyText("resend", r.Sig, pub, ResendMessage(site, r), centrePinned)
}

// StatusMessage returns what a gateway signs for its status s: every
// field but the signature, its time to the nanosecond.
func StatusMessage(s *Status) []byte {
	b := make([]byte, 0, len(statusContext)+4+len(s.Site)+len(s.Gateway)+len(s.State)+len(s.Version)+24)
	b = append(b, statusContext...)
	b = appendStr(b, s.Site)
	b = appendStr(b, s.Gateway)
	b = appendStr(b, s.State)
	b = binary.BigEndian.AppendUint64(b, uint64(s.Time.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, s.LastSeq)
	b = binary.BigEndian.AppendUint64(b, s.AckedSeq)
	return appendStr(b, s.Version)
}

// Sign sets s.Sig to priv's signature of s, the gateway's key.
func (s *Status) Sign(priv ed25519.PrivateKey) {
	s.Sig = base64.StdEncoding.EncodeToString(ed25519.Sign(priv, StatusMessage(s)))
}

// Verify checks s.Sig against pub, the key the gateway is enrolled with.
// It returns a *FieldError wrapping ErrSignature for an unsigned status or
// a signature that does not verify.
func (s *Status) Verify(pub ed25519.PublicKey) error {
	return verifyText("status", s.Sig, pub, StatusMessage(s), "the key gateway "+s.Site+"/"+s.Gateway+" is enrolled with")
}

// centrePinned names the key a gateway checks the centre's messages with.
const centrePinned = "the centre's pinned key"

// verifyText checks sig, standard base64, as pub's signature of msg; key
// names pub in the error.
func verifyText(payload, sig string, pub ed25519.PublicKey, msg []byte, key string) error {
	if sig == "" {
		return fieldErr(ErrSignature, payload, "sig", "unsigned; it must be signed by %s", key)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(sig)
	if err != nil || len(raw) != ed25519.SignatureSize {
		return fieldErr(ErrSignature, payload, "sig", "not %d bytes of base64", ed25519.SignatureSize)
	}
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, msg, raw) {
		return fieldErr(ErrSignature, payload, "sig", "not signed by %s", key)
	}
	return nil
}

// validSig checks that sig, when present, is a signature's size in
// standard base64.
func validSig(payload, sig string) error {
	if sig == "" {
		return nil
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(sig)
	if err != nil {
		return fieldErr(ErrMalformed, payload, "sig", "not base64")
	}
	if len(raw) != ed25519.SignatureSize {
		return fieldErr(ErrMalformed, payload, "sig", "%d bytes, want %d", len(raw), ed25519.SignatureSize)
	}
	return nil
}
