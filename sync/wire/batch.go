package wire

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"

	"github.com/udi-edge/udi-edge/agent/record"
)

// Batch encoding, versions 1 and 2 (see sync/PROTOCOL.md):
//
//	magic    4 bytes "UDIB"
//	version  1 byte: BatchVersion (unsigned) or BatchVersionSigned
//	gateway  uvarint length, then the bytes
//	site     uvarint length, then the bytes
//	created  8 bytes big-endian Unix nanoseconds
//	first    uvarint
//	count    uvarint, 1 to MaxBatchCount
//	records  count times: uvarint length, then the record
//	sig      version 2 only: 64 bytes, the Ed25519 signature of HeadMessage
//	crc      4 bytes big-endian CRC-32C of everything before
//
// Every uvarint is in its shortest form, so one batch has exactly one
// encoding.
const (
	// BatchMagic opens every batch.
	BatchMagic = "UDIB"
	// BatchVersion is the version byte of an unsigned batch.
	BatchVersion = 1
	// BatchVersionSigned is the version byte of a batch that carries the
	// gateway's signature of its head.
	BatchVersionSigned = 2
	// MaxBatchCount is the most movements one batch carries.
	MaxBatchCount = 65535
	// MaxBatchSize is the largest batch the centre accepts: 1 MiB plus
	// room for the header, so that a batch of one record of the largest
	// size (record.MaxSize) always fits.
	MaxBatchSize = 1<<20 + 1<<10
	// MinRecordSize is the smallest record a batch carries: a version and
	// a kind byte, then record.Tail.
	MinRecordSize = 2 + record.Tail
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Batch is one message of movements from a gateway: the records of
// movements First to First+len(Records)-1 of the ledger Created at.
type Batch struct {
	// Gateway is the id of the gateway whose ledger the records are from.
	Gateway string
	// Site is the gateway's site.
	Site string
	// Created is the ledger's creation time, Unix nanoseconds: it names the
	// ledger and seeds its genesis hash.
	Created int64
	// First is the sequence number of Records[0], 1 or more.
	First uint64
	// Records are the movements in the agent/record encoding, consecutive.
	// After DecodeBatch they alias the payload.
	Records [][]byte
	// Sig is the gateway's Ed25519 signature of the batch's head (see
	// HeadMessage), or nil for an unsigned batch. The head's hash covers
	// every movement before it through the chain, so one signature
	// vouches for the whole batch once the records are checked.
	Sig []byte
}

// Last returns the sequence number of the last record, First-1 for a
// batch without records.
func (b *Batch) Last() uint64 { return b.First + uint64(len(b.Records)) - 1 }

// Size returns the size of b encoded.
func (b *Batch) Size() int {
	n := len(BatchMagic) + 1 + strLen(b.Gateway) + strLen(b.Site) + 8 + uvarintLen(b.First) +
		uvarintLen(uint64(len(b.Records))) + len(b.Sig) + crc32.Size
	for _, r := range b.Records {
		n += RecordSize(len(r))
	}
	return n
}

// RecordSize returns what one record of n bytes adds to a batch.
func RecordSize(n int) int { return uvarintLen(uint64(n)) + n }

// AppendBatch appends b encoded to dst. It returns a *FieldError wrapping
// ErrMalformed for invalid ids, a First of 0, a sequence number overflow
// or a record shorter than MinRecordSize, and ErrTooLarge for more than
// MaxBatchCount records or a batch over MaxBatchSize. On error dst
// is returned unchanged.
func AppendBatch(dst []byte, b *Batch) ([]byte, error) {
	const p = "batch"
	if err := ValidGateway(b.Gateway); err != nil {
		return dst, fieldErr(ErrMalformed, p, "gateway", "%v", err)
	}
	if err := ValidID(b.Site); err != nil {
		return dst, fieldErr(ErrMalformed, p, "site", "%v", err)
	}
	n := len(b.Records)
	switch {
	case n == 0:
		return dst, fieldErr(ErrMalformed, p, "count", "no records")
	case n > MaxBatchCount:
		return dst, fieldErr(ErrTooLarge, p, "count", "%d records, at most %d", n, MaxBatchCount)
	case b.First == 0:
		return dst, fieldErr(ErrMalformed, p, "first", "sequence numbers start at 1")
	case b.First+uint64(n-1) < b.First:
		return dst, fieldErr(ErrMalformed, p, "first", "sequence number overflow")
	case b.Sig != nil && len(b.Sig) != ed25519.SignatureSize:
		return dst, fieldErr(ErrMalformed, p, "sig", "%d bytes, want %d", len(b.Sig), ed25519.SignatureSize)
	}
	for i, r := range b.Records {
		if len(r) < MinRecordSize || len(r) > record.MaxSize {
			return dst, fieldErr(ErrMalformed, p, "record", "movement %d: %d bytes, want %d to %d", b.First+uint64(i), len(r), MinRecordSize, record.MaxSize)
		}
	}
	size := b.Size()
	if size > MaxBatchSize {
		return dst, fieldErr(ErrTooLarge, p, "records", "batch of %d bytes, at most %d", size, MaxBatchSize)
	}
	version := byte(BatchVersion)
	if b.Sig != nil {
		version = BatchVersionSigned
	}
	dst, start := beginFrame(dst, size, BatchMagic, version)
	dst = appendStr(dst, b.Gateway)
	dst = appendStr(dst, b.Site)
	dst = binary.BigEndian.AppendUint64(dst, uint64(b.Created))
	dst = binary.AppendUvarint(dst, b.First)
	dst = binary.AppendUvarint(dst, uint64(n))
	for _, r := range b.Records {
		dst = binary.AppendUvarint(dst, uint64(len(r)))
		dst = append(dst, r...)
	}
	dst = append(dst, b.Sig...)
	return endFrame(dst, start), nil
}

// DecodeBatch decodes a batch. It checks the framing only: magic, version,
// ids, lengths, count, the CRC and that every record has a plausible size;
// the records' own checksums and hashes are for agent/record.Check. The
// records alias p. It returns a *FieldError wrapping ErrMalformed,
// ErrVersion, ErrChecksum or ErrTooLarge.
func DecodeBatch(p []byte) (*Batch, error) {
	const pl = "batch"
	if len(p) > MaxBatchSize {
		return nil, fieldErr(ErrTooLarge, pl, "size", "%d bytes, at most %d", len(p), MaxBatchSize)
	}
	body, version, err := unframe(p, pl, BatchMagic, BatchVersion, BatchVersionSigned)
	if err != nil {
		return nil, err
	}
	var sig []byte
	if version == BatchVersionSigned {
		if len(body) < len(BatchMagic)+1+ed25519.SignatureSize {
			return nil, fieldErr(ErrMalformed, pl, "sig", "truncated")
		}
		sig = body[len(body)-ed25519.SignatureSize : len(body) : len(body)]
		body = body[:len(body)-ed25519.SignatureSize]
	}
	d := reader{b: body, off: len(BatchMagic) + 1}
	b := &Batch{}
	b.Gateway = d.str("gateway", MaxIDLen)
	b.Site = d.str("site", MaxIDLen)
	b.Created = int64(d.u64("created"))
	b.First = d.uvarint("first")
	count := d.uvarint("count")
	if d.err != nil {
		return nil, d.err
	}
	if err := ValidGateway(b.Gateway); err != nil {
		return nil, fieldErr(ErrMalformed, pl, "gateway", "%v", err)
	}
	if err := ValidID(b.Site); err != nil {
		return nil, fieldErr(ErrMalformed, pl, "site", "%v", err)
	}
	switch {
	case b.First == 0:
		return nil, fieldErr(ErrMalformed, pl, "first", "sequence numbers start at 1")
	case count == 0:
		return nil, fieldErr(ErrMalformed, pl, "count", "no records")
	case count > MaxBatchCount:
		return nil, fieldErr(ErrTooLarge, pl, "count", "%d records, at most %d", count, MaxBatchCount)
	case b.First+count-1 < b.First:
		return nil, fieldErr(ErrMalformed, pl, "first", "sequence number overflow")
	case count > uint64(len(body)-d.off)/(1+MinRecordSize):
		// Checked before allocating: the payload must hold count records.
		return nil, fieldErr(ErrMalformed, pl, "count", "%d records cannot fit in %d bytes", count, len(body)-d.off)
	}
	b.Records = make([][]byte, count)
	for i := range b.Records {
		n := d.uvarint("record length")
		if d.err != nil {
			return nil, d.err
		}
		if n < MinRecordSize || n > record.MaxSize {
			return nil, fieldErr(ErrMalformed, pl, "record", "movement %d: %d bytes, want %d to %d", b.First+uint64(i), n, MinRecordSize, record.MaxSize)
		}
		if n > uint64(len(body)-d.off) {
			return nil, fieldErr(ErrMalformed, pl, "record", "movement %d: length %d exceeds the batch", b.First+uint64(i), n)
		}
		b.Records[i] = body[d.off : d.off+int(n) : d.off+int(n)]
		d.off += int(n)
	}
	if d.off != len(body) {
		return nil, fieldErr(ErrMalformed, pl, "crc", "%d bytes after the last record", len(body)-d.off)
	}
	b.Sig = sig
	return b, nil
}

// beginFrame makes room for a binary payload of size bytes at the end of
// dst and appends its magic and version byte. It returns dst and where the
// payload starts, for endFrame.
func beginFrame(dst []byte, size int, magic string, version byte) ([]byte, int) {
	start := len(dst)
	if cap(dst)-start < size {
		grown := make([]byte, start, start+size)
		copy(grown, dst)
		dst = grown
	}
	dst = append(dst, magic...)
	return append(dst, version), start
}

// endFrame appends the CRC-32C of the payload that starts at start.
func endFrame(dst []byte, start int) []byte {
	return binary.BigEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// unframe checks the frame of a binary payload: its magic, its version
// byte (one of versions) and the CRC-32C at its end. It returns the
// payload without the CRC, and its version.
func unframe(p []byte, payload, magic string, versions ...byte) ([]byte, byte, error) {
	if len(p) < len(magic)+1 || string(p[:len(magic)]) != magic {
		return nil, 0, fieldErr(ErrMalformed, payload, "magic", "not %q", magic)
	}
	v := p[len(magic)]
	if !slices.Contains(versions, v) {
		want := fmt.Sprint(versions[0])
		for _, o := range versions[1:] {
			want += fmt.Sprintf(" or %d", o)
		}
		return nil, 0, fieldErr(ErrVersion, payload, "version", "%d, want %s", v, want)
	}
	if len(p) < len(magic)+1+crc32.Size {
		return nil, 0, fieldErr(ErrMalformed, payload, "crc", "truncated")
	}
	body := p[:len(p)-crc32.Size]
	if want, got := binary.BigEndian.Uint32(p[len(body):]), crc32.Checksum(body, castagnoli); want != got {
		return nil, 0, fieldErr(ErrChecksum, payload, "crc", "%08x, want %08x", got, want)
	}
	return body, v, nil
}

// reader walks a binary payload, failing on the first error.
type reader struct {
	b   []byte
	off int
	err error
	// payload names the payload in errors; "batch" when empty.
	payload string
}

func (d *reader) fail(field, format string, args ...any) {
	if d.err == nil {
		p := d.payload
		if p == "" {
			p = "batch"
		}
		d.err = fieldErr(ErrMalformed, p, field, format, args...)
	}
}

// uvarint reads a uvarint in its shortest form.
func (d *reader) uvarint(field string) uint64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Uvarint(d.b[d.off:])
	switch {
	case n == 0:
		d.fail(field, "truncated")
		return 0
	case n < 0:
		d.fail(field, "varint overflow")
		return 0
	case n != uvarintLen(x):
		d.fail(field, "varint not in its shortest form")
		return 0
	}
	d.off += n
	return x
}

func (d *reader) u64(field string) uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.b)-d.off < 8 {
		d.fail(field, "truncated")
		return 0
	}
	x := binary.BigEndian.Uint64(d.b[d.off:])
	d.off += 8
	return x
}

func (d *reader) str(field string, maxLen int) string {
	n := d.uvarint(field)
	if d.err != nil {
		return ""
	}
	if n > uint64(maxLen) || n > uint64(len(d.b)-d.off) {
		d.fail(field, "length %d out of range", n)
		return ""
	}
	s := string(d.b[d.off : d.off+int(n)])
	d.off += int(n)
	return s
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

func strLen(s string) int { return uvarintLen(uint64(len(s))) + len(s) }

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}
