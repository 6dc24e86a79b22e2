// Package record is the canonical encoding of a movement, and the hash
// chain built over it. The ledger stores movements in this encoding, sync
// carries them to the central service in it, and the central service checks
// every movement's hash against it: one movement has exactly one body, so
// a hash computed on the gateway can be recomputed anywhere.
//
// It never changes an encoding in place: a change to a code or to the field
// order is a new Version.
package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"sync"
	"time"

	"github.com/udi-edge/udi-edge/agent"
)

// Errors of this package; test for them with errors.Is.
var (
	// ErrInvalid is returned by Encode for a movement the encoding cannot
	// hold.
	ErrInvalid = errors.New("record: movement cannot be encoded")
	// ErrTooLarge is returned by Encode for a record over MaxSize.
	ErrTooLarge = errors.New("record: too large")
	// ErrCorrupt is wrapped by a CorruptError.
	ErrCorrupt = errors.New("record: corrupt")
	// ErrHash is wrapped by the error Check returns for a record whose Hash
	// is not the chain hash of its content.
	ErrHash = errors.New("record: hash mismatch")
)

// CorruptError reports a record that is not well formed. Seq is the
// movement's sequence number as the caller gave it.
type CorruptError struct {
	Seq    uint64
	Reason string
}

// Error implements error.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("record: movement %d corrupt: %s", e.Seq, e.Reason)
}

// Unwrap returns ErrCorrupt.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

func corruptf(seq uint64, format string, args ...any) error {
	return &CorruptError{Seq: seq, Reason: fmt.Sprintf(format, args...)}
}

// Record encoding, version 2. A record is one movement as the ledger stores
// it and as sync carries it; the movement's sequence number is not part of
// the record (the ledger derives it from the record's place, a sync batch
// from its header).
//
//	version   1 byte, Version
//	kind      1 byte: a code from kindCodes, or 0 followed by the kind as a string
//	time      1 byte zone tag, then
//	            tagZero:  nothing (the zero time.Time)
//	            tagUTC:   varint Unix nanoseconds
//	            tagZone:  varint Unix nanoseconds, string location name,
//	                      string zone abbreviation, varint offset in seconds
//	strings   Gateway, Item, GTIN, Serial, Lot, Expiry, Production,
//	          Location, Station; each a uvarint length then the bytes
//	antenna   uvarint
//	strings   Symbology, Raw, Tag, Reason, From, Actor, Case, Patient,
//	          Settlement, Decision
//	flags     uvarint count, then each flag as a string
//	prevhash  32 bytes: the Hash of the movement before (see chain.go)
//	hash      32 bytes: this movement's Hash
//	crc       4 bytes, big-endian CRC-32C (Castagnoli) of everything before
//
// Everything from the version byte to the last flag is the record's body:
// the canonical encoding of the movement's content, which the hash chain
// covers through its digest. Integers are written in their shortest form,
// so one movement has exactly one body. Codes and field order are fixed for
// version 2: a change to either is a new version. Version 1 (the same
// without the two hashes) occurs only in files of format version 2, which
// Open refuses.
const Version = 2

// Zone tags of the time field.
const (
	tagZero = 0
	tagUTC  = 1
	tagZone = 2
)

const (
	// MaxSize bounds one encoded movement.
	MaxSize = 1 << 20
	// CRCSize is the size of a record's checksum.
	CRCSize = 4
	// HashSize is the size of PrevHash and of Hash.
	HashSize = 32
	// Tail is what follows a record's body: PrevHash, Hash and the
	// checksum.
	Tail = 2*HashSize + CRCSize
)

// kindCodes maps a one-byte code to a movement kind. Index 0 means "the
// kind follows as a string". The table is part of the file format: append
// only, never reorder.
var kindCodes = [...]agent.Kind{
	1:  agent.KindReceive,
	2:  agent.KindCommission,
	3:  agent.KindStock,
	4:  agent.KindIssue,
	5:  agent.KindTransfer,
	6:  agent.KindUse,
	7:  agent.KindReturn,
	8:  agent.KindWaste,
	9:  agent.KindQuarantine,
	10: agent.KindDispose,
	11: agent.KindCount,
	12: agent.KindAdjust,
	13: agent.KindReject,
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Unix nanoseconds in an int64 cover 1677-09-21 to 2262-04-11.
var (
	// MinTime is the earliest movement time the encoding holds.
	MinTime = time.Unix(0, math.MinInt64)
	// MaxTime is the latest movement time the encoding holds.
	MaxTime = time.Unix(0, math.MaxInt64)
)

func kindCode(k agent.Kind) byte {
	for i := 1; i < len(kindCodes); i++ {
		if kindCodes[i] == k {
			return byte(i)
		}
	}
	return 0
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

func varintLen(x int64) int {
	ux := uint64(x) << 1
	if x < 0 {
		ux = ^ux
	}
	return uvarintLen(ux)
}

func strLen(s string) int { return uvarintLen(uint64(len(s))) + len(s) }

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// timeParts splits t into what the encoding stores.
func timeParts(t time.Time) (tag byte, name, abbrev string, offset int) {
	if t.IsZero() {
		return tagZero, "", "", 0
	}
	loc := t.Location()
	if loc == time.UTC {
		return tagUTC, "", "", 0
	}
	abbrev, offset = t.Zone()
	return tagZone, loc.String(), abbrev, offset
}

// Encode encodes m into a new slice of exactly the record's size. PrevHash
// and Hash are written as m has them, 32 zero bytes each when empty; a
// writer that chains fills them in place with Seal. Seq is not encoded.
// It returns an error wrapping ErrTooLarge for a record over MaxSize, and
// ErrInvalid for hashes of the wrong size or a time outside MinTime to
// MaxTime.
func Encode(m *agent.Movement) ([]byte, error) {
	b, err := encode(m)
	if err != nil {
		return nil, err
	}
	n := len(b) - CRCSize
	binary.BigEndian.PutUint32(b[n:], crc32.Checksum(b[:n], castagnoli))
	return b, nil
}

// EncodeUnsealed is Encode for a writer that chains: the record's tail
// (PrevHash, Hash and checksum) is left zero, for Seal to fill. m's own
// hashes must be empty.
func EncodeUnsealed(m *agent.Movement) ([]byte, error) {
	if len(m.Hash) != 0 || len(m.PrevHash) != 0 {
		return nil, fmt.Errorf("%w: hashes set on a movement to be sealed", ErrInvalid)
	}
	return encode(m)
}

// encode encodes m with its hashes and a zero checksum.
func encode(m *agent.Movement) ([]byte, error) {
	if n, p := len(m.Hash), len(m.PrevHash); (n != 0 && n != HashSize) || (p != 0 && p != HashSize) {
		return nil, fmt.Errorf("%w: hashes of %d and %d bytes; want %d or none", ErrInvalid, p, n, HashSize)
	}
	if !m.Time.IsZero() && (m.Time.Before(MinTime) || m.Time.After(MaxTime)) {
		return nil, fmt.Errorf("%w: time %s is outside the years 1678 to 2262", ErrInvalid, m.Time.UTC().Format(time.RFC3339))
	}
	tag, name, abbrev, offset := timeParts(m.Time)
	var nanos int64
	if tag != tagZero {
		nanos = m.Time.UnixNano()
	}
	code := kindCode(m.Kind)

	size := 2 // version, kind code
	if code == 0 {
		size += strLen(string(m.Kind))
	}
	size++ // zone tag
	switch tag {
	case tagUTC:
		size += varintLen(nanos)
	case tagZone:
		size += varintLen(nanos) + strLen(name) + strLen(abbrev) + varintLen(int64(offset))
	}
	size += strLen(m.Gateway) + strLen(m.Item) + strLen(m.GTIN) + strLen(m.Serial) +
		strLen(m.Lot) + strLen(m.Expiry) + strLen(m.Production) + strLen(m.Location) +
		strLen(m.Station) + uvarintLen(uint64(m.Antenna)) + strLen(m.Symbology) + uvarintLen(uint64(len(m.Raw))) + len(m.Raw) +
		strLen(m.Tag) + strLen(m.Reason) + strLen(m.From) + strLen(m.Actor) + strLen(m.Case) +
		strLen(m.Patient) + strLen(m.Settlement) + strLen(m.Decision) + uvarintLen(uint64(len(m.Flags)))
	for _, f := range m.Flags {
		size += strLen(f)
	}
	size += Tail
	if size > MaxSize {
		return nil, fmt.Errorf("%w: record of %d bytes exceeds %d", ErrTooLarge, size, MaxSize)
	}

	b := make([]byte, 0, size)
	b = append(b, Version, code)
	if code == 0 {
		b = appendStr(b, string(m.Kind))
	}
	b = append(b, tag)
	switch tag {
	case tagUTC:
		b = binary.AppendVarint(b, nanos)
	case tagZone:
		b = binary.AppendVarint(b, nanos)
		b = appendStr(b, name)
		b = appendStr(b, abbrev)
		b = binary.AppendVarint(b, int64(offset))
	}
	b = appendStr(b, m.Gateway)
	b = appendStr(b, m.Item)
	b = appendStr(b, m.GTIN)
	b = appendStr(b, m.Serial)
	b = appendStr(b, m.Lot)
	b = appendStr(b, m.Expiry)
	b = appendStr(b, m.Production)
	b = appendStr(b, m.Location)
	b = appendStr(b, m.Station)
	b = binary.AppendUvarint(b, uint64(m.Antenna))
	b = appendStr(b, m.Symbology)
	b = binary.AppendUvarint(b, uint64(len(m.Raw)))
	b = append(b, m.Raw...)
	b = appendStr(b, m.Tag)
	b = appendStr(b, m.Reason)
	b = appendStr(b, m.From)
	b = appendStr(b, m.Actor)
	b = appendStr(b, m.Case)
	b = appendStr(b, m.Patient)
	b = appendStr(b, m.Settlement)
	b = appendStr(b, m.Decision)
	b = binary.AppendUvarint(b, uint64(len(m.Flags)))
	for _, f := range m.Flags {
		b = appendStr(b, f)
	}
	b = appendHash(b, m.PrevHash)
	b = appendHash(b, m.Hash)
	return b[:len(b)+CRCSize], nil // the capacity is exact; zeroed by make
}

// appendHash appends h, or 32 zero bytes when h is empty.
func appendHash(b, h []byte) []byte {
	if len(h) == 0 {
		var zero [HashSize]byte
		return append(b, zero[:]...)
	}
	return append(b, h...)
}

// Body returns the body of a record at least Tail bytes long: everything
// before PrevHash, the canonical encoding of the movement's content.
func Body(rec []byte) []byte { return rec[:len(rec)-Tail] }

// Seal writes prev and hash into rec, a record Encode made, and its
// checksum. bodyCRC is the CRC-32C of recordBody(rec), so that only the
// 64 hash bytes are read again.
func Seal(rec []byte, bodyCRC uint32, prev, hash *[HashSize]byte) {
	tail := rec[len(rec)-Tail : len(rec)-CRCSize]
	copy(tail[:HashSize], prev[:])
	copy(tail[HashSize:], hash[:])
	binary.BigEndian.PutUint32(rec[len(rec)-CRCSize:], crc32.Update(bodyCRC, castagnoli, tail))
}

// decoder walks a record. All strings are cut from one string copy of the
// record, so a decoded movement costs two allocations (that copy and Raw).
type decoder struct {
	seq uint64
	s   string
	off int
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = corruptf(d.seq, format, args...)
	}
}

func (d *decoder) byte1(what string) byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.s) {
		d.fail("truncated at %s", what)
		return 0
	}
	c := d.s[d.off]
	d.off++
	return c
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	var x uint64
	var shift uint
	for i := 0; ; i++ {
		if d.off >= len(d.s) {
			d.fail("truncated at %s", what)
			return 0
		}
		c := d.s[d.off]
		d.off++
		if i == binary.MaxVarintLen64-1 && c > 1 || i >= binary.MaxVarintLen64 {
			d.fail("varint overflow at %s", what)
			return 0
		}
		if c < 0x80 {
			return x | uint64(c)<<shift
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
}

func (d *decoder) varint(what string) int64 {
	ux := d.uvarint(what)
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}

func (d *decoder) str(what string) string {
	n := d.uvarint(what)
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.s)-d.off) {
		d.fail("%s length %d exceeds record", what, n)
		return ""
	}
	v := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return v
}

// Decode decodes the record of movement seq, checking its checksum (not
// its hash: see Check). It returns a *CorruptError naming seq for anything
// that is not a well-formed record.
func Decode(seq uint64, b []byte) (agent.Movement, error) {
	var m agent.Movement
	if len(b) < 2+Tail {
		return m, corruptf(seq, "record of %d bytes is too short", len(b))
	}
	if b[0] != Version {
		return m, corruptf(seq, "record version %d unknown", b[0])
	}
	if want, got := binary.BigEndian.Uint32(b[len(b)-CRCSize:]), crc32.Checksum(b[:len(b)-CRCSize], castagnoli); want != got {
		return m, corruptf(seq, "checksum %08x, want %08x", got, want)
	}
	body := Body(b)
	hashes := b[len(body) : len(b)-CRCSize]
	d := decoder{seq: seq, s: string(body), off: 1}

	code := d.byte1("kind")
	switch {
	case code == 0:
		m.Kind = agent.Kind(d.str("kind"))
	case int(code) < len(kindCodes):
		m.Kind = kindCodes[code]
	default:
		d.fail("kind code %d unknown", code)
	}

	switch tag := d.byte1("time"); tag {
	case tagZero:
	case tagUTC:
		m.Time = time.Unix(0, d.varint("time")).UTC()
	case tagZone:
		nanos := d.varint("time")
		name := d.str("zone name")
		abbrev := d.str("zone abbreviation")
		offset := d.varint("zone offset")
		if d.err == nil {
			if offset < -24*3600 || offset > 24*3600 {
				d.fail("zone offset %d out of range", offset)
				break
			}
			m.Time = time.Unix(0, nanos).In(zone(name, abbrev, int(offset), nanos))
		}
	default:
		d.fail("time tag %d unknown", tag)
	}

	m.Gateway = d.str("gateway")
	m.Item = d.str("item")
	m.GTIN = d.str("gtin")
	m.Serial = d.str("serial")
	m.Lot = d.str("lot")
	m.Expiry = d.str("expiry")
	m.Production = d.str("production")
	m.Location = d.str("location")
	m.Station = d.str("station")
	m.Antenna = int(d.uvarint("antenna"))
	m.Symbology = d.str("symbology")
	// Raw and the two hashes share one allocation.
	raw := d.str("raw")
	buf := make([]byte, len(raw)+len(hashes))
	if raw != "" {
		m.Raw = buf[:copy(buf, raw):len(raw)]
	}
	copy(buf[len(raw):], hashes)
	m.PrevHash = buf[len(raw) : len(raw)+HashSize : len(raw)+HashSize]
	m.Hash = buf[len(raw)+HashSize:]
	m.Tag = d.str("tag")
	m.Reason = d.str("reason")
	m.From = d.str("from")
	m.Actor = d.str("actor")
	m.Case = d.str("case")
	m.Patient = d.str("patient")
	m.Settlement = d.str("settlement")
	m.Decision = d.str("decision")
	if n := d.uvarint("flags"); n > 0 {
		if n > uint64(len(d.s)-d.off) {
			d.fail("%d flags in %d bytes", n, len(d.s)-d.off)
		} else {
			m.Flags = make([]string, n)
			for i := range m.Flags {
				m.Flags[i] = d.str("flag")
			}
		}
	}
	if d.err == nil && d.off != len(d.s) {
		d.fail("%d bytes after the last field", len(d.s)-d.off)
	}
	if d.err != nil {
		return agent.Movement{}, d.err
	}
	m.Seq = seq
	return m, nil
}

// zones caches locations: by name (nil when the name does not load) and
// fixed zones by abbreviation and offset. Both are bounded.
var zones struct {
	sync.Mutex
	named map[string]*time.Location
	fixed map[fixedKey]*time.Location
}

type fixedKey struct {
	abbrev string
	offset int
}

const maxCachedZones = 64

// zone returns the location to show an instant in: the named location when
// it loads and gives that instant the stored abbreviation and offset, a
// fixed zone with them otherwise.
func zone(name, abbrev string, offset int, nanos int64) *time.Location {
	zones.Lock()
	loc, ok := zones.named[name]
	zones.Unlock()
	if !ok {
		if l, err := time.LoadLocation(name); err == nil && name != "" {
			loc = l
		}
		zones.Lock()
		if zones.named == nil {
			zones.named = make(map[string]*time.Location)
		}
		if len(zones.named) < maxCachedZones {
			zones.named[name] = loc
		}
		zones.Unlock()
	}
	if loc != nil {
		if a, o := time.Unix(0, nanos).In(loc).Zone(); a == abbrev && o == offset {
			return loc
		}
	}
	key := fixedKey{abbrev, offset}
	zones.Lock()
	defer zones.Unlock()
	if fz, ok := zones.fixed[key]; ok {
		return fz
	}
	fz := time.FixedZone(abbrev, offset)
	if zones.fixed == nil {
		zones.fixed = make(map[fixedKey]*time.Location)
	}
	if len(zones.fixed) < maxCachedZones {
		zones.fixed[key] = fz
	}
	return fz
}
