package wire

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"hash/crc32"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Master data part encoding, versions 1 and 2 (see sync/PROTOCOL.md). A set is
// published as Count parts, each retained on a topic of its own
// (MasterPartTopic), so that no MQTT packet exceeds what the broker
// accepts:
//
//	magic    4 bytes "UDIP"
//	version  1 byte: MasterPartVersion, or MasterPartVersionSigned
//	set      uvarint length, then the bytes: one of Sets
//	format   uvarint length, then the bytes: FormatCSV or FormatJSON
//	mversion uvarint, the set's version, 1 or more
//	size     uvarint, the bytes of the whole data, at most MaxMasterSize
//	chunk    uvarint, the bytes of every part but the last, 1 to MaxMasterSize
//	count    uvarint, the number of parts: size/chunk rounded up, 1 for no data
//	index    uvarint, this part's number, 0 to count-1
//	sha256   32 bytes, the SHA-256 of the whole data
//	sig      version 2 only: 64 bytes, the centre's Ed25519 signature of
//	         MasterMessage (site, set, version, format, size, sha256)
//	data     the whole data's bytes index·chunk up to (index+1)·chunk or size
//	crc      4 bytes big-endian CRC-32C of everything before
//
// Every uvarint is in its shortest form; a receiver rejects any other.
const (
	// MasterPartMagic opens every part of master data.
	MasterPartMagic = "UDIP"
	// MasterPartVersion is the version byte of an unsigned part.
	MasterPartVersion = 1
	// MasterPartVersionSigned is the version byte of a part that carries
	// the centre's signature of its set's header.
	MasterPartVersionSigned = 2
	// MaxMasterSize is the largest master data set, in bytes: what a
	// gateway's import reads (agent/master MaxFileSize).
	MaxMasterSize = 64 << 20
	// MaxMasterParts is the most parts one set is published in.
	MaxMasterParts = 1024
	// MaxMasterAhead is how far ahead of a gateway's clock a master data
	// version may be: versions are publication times in Unix
	// milliseconds, and a later one is refused (VersionAhead).
	MaxMasterAhead = 24 * time.Hour
)

// MasterPart is one part of a publication of a master data set: the
// header every part carries, and its own bytes of the data.
type MasterPart struct {
	// Set is the set's name, one of Sets.
	Set string
	// Format is FormatCSV or FormatJSON.
	Format string
	// Version is the set's version, 1 or more.
	Version uint64
	// Size is the number of bytes of the whole data, at most
	// MaxMasterSize.
	Size int
	// Chunk is the number of bytes of every part but the last.
	Chunk int
	// Count is the number of parts: Size/Chunk rounded up, 1 for no data.
	Count int
	// Index is this part's number, 0 to Count-1.
	Index int
	// SHA256 is the SHA-256 of the whole data.
	SHA256 [sha256.Size]byte
	// Sig is the centre's Ed25519 signature of the publication's header
	// (MasterMessage), the same in every part; nil for an unsigned part.
	// It is checked before anything is allocated for the set.
	Sig []byte
	// Data is the part's bytes of the data, from Index·Chunk. After
	// DecodeMasterPart it aliases the payload; after SplitMaster, the data.
	Data []byte
}

// MasterSet is a whole master data set: what SplitMaster splits and
// MasterAssembler reassembles.
type MasterSet struct {
	// Set is the set's name, one of Sets.
	Set string
	// Format is FormatCSV or FormatJSON.
	Format string
	// Version is the set's version.
	Version uint64
	// Data is the file, UTF-8.
	Data []byte
}

// partCount returns the number of parts of size bytes in chunks of
// chunk bytes.
func partCount(size, chunk int) int {
	if size == 0 {
		return 1
	}
	return (size-1)/chunk + 1
}

// span returns where part index of p's set lies in the whole data.
func (p *MasterPart) span(index int) (from, to int) {
	from = index * p.Chunk
	return from, min(p.Size, from+p.Chunk)
}

// sameHeader reports whether p and q are parts of the same publication.
func (p *MasterPart) sameHeader(q *MasterPart) bool {
	return p.Set == q.Set && p.Format == q.Format && p.Version == q.Version && p.Size == q.Size &&
		p.Chunk == q.Chunk && p.Count == q.Count && p.SHA256 == q.SHA256 && bytes.Equal(p.Sig, q.Sig)
}

const partPayload = "master part"

// check returns an error for a part that is not consistent: a field out of
// range, or Data not as long as its place in the whole.
func (p *MasterPart) check() error {
	bad := func(err error, field, format string, args ...any) error {
		return fieldErr(err, partPayload, field, format, args...)
	}
	switch {
	case ValidSet(p.Set) != nil:
		return bad(ErrMalformed, "set", "%v", ValidSet(p.Set))
	case p.Format != FormatCSV && p.Format != FormatJSON:
		return bad(ErrMalformed, "format", "want %q or %q", FormatCSV, FormatJSON)
	case p.Version == 0:
		return bad(ErrMalformed, "version", "0; versions start at 1")
	case p.Size < 0 || p.Size > MaxMasterSize:
		return bad(ErrTooLarge, "size", "%d bytes, at most %d", p.Size, MaxMasterSize)
	case p.Chunk < 1 || p.Chunk > MaxMasterSize:
		return bad(ErrMalformed, "chunk", "%d bytes, want 1 to %d", p.Chunk, MaxMasterSize)
	case p.Sig != nil && len(p.Sig) != ed25519.SignatureSize:
		return bad(ErrMalformed, "sig", "%d bytes, want %d", len(p.Sig), ed25519.SignatureSize)
	}
	if want := partCount(p.Size, p.Chunk); p.Count != want {
		if want > MaxMasterParts {
			return bad(ErrTooLarge, "count", "%d bytes in chunks of %d make %d parts, at most %d", p.Size, p.Chunk, want, MaxMasterParts)
		}
		return bad(ErrMalformed, "count", "%d, but %d bytes in chunks of %d make %d parts", p.Count, p.Size, p.Chunk, want)
	}
	if p.Count > MaxMasterParts {
		return bad(ErrTooLarge, "count", "%d parts, at most %d", p.Count, MaxMasterParts)
	}
	if p.Index < 0 || p.Index >= p.Count {
		return bad(ErrMalformed, "index", "%d, want 0 to %d", p.Index, p.Count-1)
	}
	if from, to := p.span(p.Index); len(p.Data) != to-from {
		return bad(ErrMalformed, "data", "%d bytes, want %d for part %d of %d", len(p.Data), to-from, p.Index, p.Count)
	}
	return nil
}

// partHeaderMax is the most bytes a part of set in format adds to its
// data: its header at the largest values, and the CRC.
func partHeaderMax(set, format string) int {
	return len(MasterPartMagic) + 1 + strLen(set) + strLen(format) + uvarintLen(1<<64-1) +
		2*uvarintLen(MaxMasterSize) + 2*uvarintLen(MaxMasterParts) + sha256.Size + ed25519.SignatureSize + crc32.Size
}

// MasterChunk returns the largest chunk that keeps every part of a set of
// set in format within maxPayload bytes, 0 when none does.
func MasterChunk(maxPayload int, set, format string) int {
	return min(max(maxPayload-partHeaderMax(set, format), 0), MaxMasterSize)
}

// EncodedSize returns the size of p encoded.
func (p *MasterPart) EncodedSize() int {
	return len(MasterPartMagic) + 1 + strLen(p.Set) + strLen(p.Format) + uvarintLen(p.Version) +
		uvarintLen(uint64(p.Size)) + uvarintLen(uint64(p.Chunk)) + uvarintLen(uint64(p.Count)) +
		uvarintLen(uint64(p.Index)) + sha256.Size + len(p.Sig) + len(p.Data) + crc32.Size
}

// SplitMaster returns data, version of set in format, as the parts to
// publish, each with at most chunk bytes of it; their Data alias data. It
// returns a *FieldError wrapping ErrMalformed for an invalid set, format,
// version, chunk or data that is not UTF-8, and ErrTooLarge for data over
// MaxMasterSize or that needs more than MaxMasterParts parts.
func SplitMaster(set string, version uint64, format string, data []byte, chunk int) ([]MasterPart, error) {
	switch {
	case len(data) > MaxMasterSize:
		return nil, fieldErr(ErrTooLarge, partPayload, "size", "%d bytes, at most %d", len(data), MaxMasterSize)
	case chunk < 1 || chunk > MaxMasterSize:
		return nil, fieldErr(ErrMalformed, partPayload, "chunk", "%d bytes, want 1 to %d", chunk, MaxMasterSize)
	case partCount(len(data), chunk) > MaxMasterParts:
		return nil, fieldErr(ErrTooLarge, partPayload, "count", "%d bytes in chunks of %d make %d parts, at most %d",
			len(data), chunk, partCount(len(data), chunk), MaxMasterParts)
	case !utf8.Valid(data):
		return nil, fieldErr(ErrMalformed, partPayload, "data", "not UTF-8")
	}
	h := MasterPart{Set: set, Format: format, Version: version, Size: len(data), Chunk: chunk,
		Count: partCount(len(data), chunk), SHA256: sha256.Sum256(data)}
	parts := make([]MasterPart, h.Count)
	for i := range parts {
		parts[i] = h
		parts[i].Index = i
		from, to := h.span(i)
		parts[i].Data = data[from:to:to]
		if err := parts[i].check(); err != nil {
			return nil, err
		}
	}
	return parts, nil
}

// AppendMasterPart appends p encoded to dst. It returns a *FieldError
// wrapping ErrMalformed or ErrTooLarge for a part that is not consistent
// (see MasterPart), with dst unchanged.
func AppendMasterPart(dst []byte, p *MasterPart) ([]byte, error) {
	if err := p.check(); err != nil {
		return dst, err
	}
	version := byte(MasterPartVersion)
	if p.Sig != nil {
		version = MasterPartVersionSigned
	}
	dst, start := beginFrame(dst, p.EncodedSize(), MasterPartMagic, version)
	dst = appendStr(dst, p.Set)
	dst = appendStr(dst, p.Format)
	for _, x := range []uint64{p.Version, uint64(p.Size), uint64(p.Chunk), uint64(p.Count), uint64(p.Index)} {
		dst = binary.AppendUvarint(dst, x)
	}
	dst = append(dst, p.SHA256[:]...)
	dst = append(dst, p.Sig...)
	dst = append(dst, p.Data...)
	return endFrame(dst, start), nil
}

// DecodeMasterPart decodes one part of master data and checks it: magic,
// version, CRC, the header's fields and the length of its data. Data
// aliases p. It returns a *FieldError wrapping ErrVersion for an unknown
// version byte, ErrChecksum for a CRC that does not match, ErrTooLarge for
// a set over MaxMasterSize or in more than MaxMasterParts parts and
// ErrMalformed for anything else.
func DecodeMasterPart(p []byte) (*MasterPart, error) {
	body, version, err := unframe(p, partPayload, MasterPartMagic, MasterPartVersion, MasterPartVersionSigned)
	if err != nil {
		return nil, err
	}
	d := reader{b: body, off: len(MasterPartMagic) + 1, payload: partPayload}
	m := &MasterPart{}
	m.Set = d.str("set", len(SetSettlements))
	m.Format = d.str("format", len(FormatJSON))
	m.Version = d.uvarint("mversion")
	size := d.uvarint("size")
	chunk := d.uvarint("chunk")
	count := d.uvarint("count")
	index := d.uvarint("index")
	if d.err != nil {
		return nil, d.err
	}
	// Each is checked against its range before it is an int.
	switch {
	case size > MaxMasterSize:
		return nil, fieldErr(ErrTooLarge, partPayload, "size", "%d bytes, at most %d", size, MaxMasterSize)
	case chunk < 1 || chunk > MaxMasterSize:
		return nil, fieldErr(ErrMalformed, partPayload, "chunk", "%d bytes, want 1 to %d", chunk, MaxMasterSize)
	case count > MaxMasterParts:
		return nil, fieldErr(ErrTooLarge, partPayload, "count", "%d parts, at most %d", count, MaxMasterParts)
	case index >= count:
		return nil, fieldErr(ErrMalformed, partPayload, "index", "%d of %d parts", index, count)
	}
	m.Size, m.Chunk, m.Count, m.Index = int(size), int(chunk), int(count), int(index)
	if len(body)-d.off < sha256.Size {
		return nil, fieldErr(ErrMalformed, partPayload, "sha256", "truncated")
	}
	copy(m.SHA256[:], body[d.off:])
	d.off += sha256.Size
	if version == MasterPartVersionSigned {
		if len(body)-d.off < ed25519.SignatureSize {
			return nil, fieldErr(ErrMalformed, partPayload, "sig", "truncated")
		}
		m.Sig = body[d.off : d.off+ed25519.SignatureSize : d.off+ed25519.SignatureSize]
		d.off += ed25519.SignatureSize
	}
	m.Data = body[d.off:len(body):len(body)]
	if err := m.check(); err != nil {
		return nil, err
	}
	return m, nil
}

// MasterPartTopic returns the topic of part index of master data set of
// site: udi/v1/{site}/master/{set}/{index}, the index in decimal.
func MasterPartTopic(site, set string, index int) string {
	return MasterTopic(site, set) + "/" + strconv.Itoa(index)
}

// ParseMasterTopic splits a master data topic into its site, set and part
// index: udi/v1/{site}/master/{set}/{index} gives the index, and the
// whole-set topic udi/v1/{site}/master/{set} of the single-message
// format (DecodeMaster) gives -1. The index is decimal without leading
// zeros, below MaxMasterParts. It returns a *TopicError for any other
// topic.
func ParseMasterTopic(topic string) (site, set string, index int, err error) {
	bad := func(reason string) (string, string, int, error) {
		return "", "", 0, &TopicError{Topic: cut(topic, 200), Reason: reason}
	}
	rest, ok := strings.CutPrefix(topic, Prefix)
	if !ok {
		return bad("does not start with " + Prefix)
	}
	parts := strings.Split(rest, "/")
	if len(parts) == 3 {
		site, gw, leaf, err := ParseTopic(topic)
		if err != nil {
			return "", "", 0, err
		}
		if gw != MasterSegment {
			return bad("not a master data topic")
		}
		return site, leaf, -1, nil
	}
	if len(parts) != 4 || parts[1] != MasterSegment {
		return bad("want udi/v1/{site}/master/{set}/{part}")
	}
	site, _, set, err = ParseTopic(Prefix + strings.Join(parts[:3], "/"))
	if err != nil {
		return "", "", 0, err
	}
	n := parts[3]
	i, perr := strconv.Atoi(n)
	if perr != nil || i < 0 || i >= MaxMasterParts || strconv.Itoa(i) != n {
		return bad("part not a number from 0 to " + strconv.Itoa(MaxMasterParts-1))
	}
	return site, set, i, nil
}

// VersionAhead reports whether master data version v is more than
// MaxMasterAhead ahead of now: versions are publication times in Unix
// milliseconds, so such a version was not published by a centre whose
// clock agrees with the receiver's.
func VersionAhead(v uint64, now time.Time) bool {
	limit := now.Add(MaxMasterAhead).UnixMilli()
	return limit < 0 || v > uint64(limit)
}

// SignMasterParts signs the header of parts, the parts of one publication
// of a set on site (SplitMaster), with priv: every part carries the same
// signature.
func SignMasterParts(site string, parts []MasterPart, priv ed25519.PrivateKey) {
	if len(parts) == 0 {
		return
	}
	sig := ed25519.Sign(priv, parts[0].message(site))
	for i := range parts {
		parts[i].Sig = sig
	}
}

// message returns what the centre signs for p's publication on site.
func (p *MasterPart) message(site string) []byte {
	return MasterMessage(site, p.Set, p.Version, p.Format, p.Size, p.SHA256)
}

// Verify checks p.Sig, for a part received on site, against pub, the
// centre's key. It returns a *FieldError wrapping ErrSignature for an
// unsigned part or a signature that does not verify. It reads the header
// only: call it before keeping anything of the part.
func (p *MasterPart) Verify(site string, pub ed25519.PublicKey) error {
	if p.Sig == nil {
		return fieldErr(ErrSignature, partPayload, "sig", "unsigned; the centre's key is pinned")
	}
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, p.message(site), p.Sig) {
		return fieldErr(ErrSignature, partPayload, "sig", "%s version %d: not signed by the centre's pinned key", p.Set, p.Version)
	}
	return nil
}
