package bolt

import (
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/record"
)

// The record encoding is agent/record's; these names keep the ledger's code
// short.
const (
	recordVersion = record.Version
	maxRecordSize = record.MaxSize
	crcSize       = record.CRCSize
	hashSize      = record.HashSize
	recordTail    = record.Tail
	// maxItemKey bounds an item key (the index key adds 9 bytes; bbolt's
	// own limit is 32 KiB).
	maxItemKey = 1024
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// RecordSize returns the size in bytes of m's record as the ledger stores
// it, with m.Gateway as given (the ledger stamps its own); the 8-byte key
// and the index entry are extra. It returns 0 for a movement the ledger
// would refuse.
func RecordSize(m agent.Movement) int {
	if checkMovement(&m) != nil {
		return 0
	}
	b, err := encodeRecord(&m)
	if err != nil {
		return 0
	}
	return len(b)
}

// checkMovement reports whether the record encoding and the index can hold
// m. It does not look at Gateway or Seq, which belong to the ledger.
func checkMovement(m *agent.Movement) error {
	if !m.Kind.Valid() {
		return fmt.Errorf("%w: kind %q is not a movement kind", ErrInvalidMovement, m.Kind)
	}
	if m.Item == "" && m.Kind.MovesItem() {
		return fmt.Errorf("%w: a %s movement needs an item key", ErrInvalidMovement, m.Kind)
	}
	for _, k := range []struct{ what, key string }{{"item key", m.Item}, {"tag key", m.Tag}} {
		if len(k.key) > maxItemKey {
			return fmt.Errorf("%w: %s of %d bytes exceeds %d", ErrInvalidMovement, k.what, len(k.key), maxItemKey)
		}
		if strings.IndexByte(k.key, 0) >= 0 {
			return fmt.Errorf("%w: %s contains a NUL byte", ErrInvalidMovement, k.what)
		}
	}
	if m.Antenna < 0 || m.Antenna > 0xffff {
		return fmt.Errorf("%w: antenna %d out of range", ErrInvalidMovement, m.Antenna)
	}
	if n, p := len(m.Hash), len(m.PrevHash); (n != 0 && n != hashSize) || (p != 0 && p != hashSize) {
		return fmt.Errorf("%w: hashes of %d and %d bytes; want %d or none", ErrInvalidMovement, p, n, hashSize)
	}
	if !m.Time.IsZero() && (m.Time.Before(record.MinTime) || m.Time.After(record.MaxTime)) {
		return fmt.Errorf("%w: time %s is outside the years 1678 to 2262", ErrInvalidMovement, m.Time.UTC().Format(time.RFC3339))
	}
	return nil
}

// encodeRecord encodes m (which checkMovement accepted); see record.Encode.
func encodeRecord(m *agent.Movement) ([]byte, error) {
	b, err := record.Encode(m)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidMovement, err)
	}
	return b, nil
}

// encodeUnsealed encodes m, whose hashes are empty, for the writer to seal;
// see record.EncodeUnsealed.
func encodeUnsealed(m *agent.Movement) ([]byte, error) {
	b, err := record.EncodeUnsealed(m)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidMovement, err)
	}
	return b, nil
}

func recordBody(rec []byte) []byte { return record.Body(rec) }

func sealRecord(rec []byte, bodyCRC uint32, prev, hash *[hashSize]byte) {
	record.Seal(rec, bodyCRC, prev, hash)
}

// decodeRecord decodes the record stored under seq. It returns a
// *CorruptError naming seq for anything that is not a well-formed record.
func decodeRecord(seq uint64, b []byte) (agent.Movement, error) {
	m, err := record.Decode(seq, b)
	return m, recordCorrupt(seq, err)
}

// recordCorrupt turns agent/record's error about the record of movement
// seq into a *CorruptError naming seq; nil stays nil.
func recordCorrupt(seq uint64, err error) error {
	if err == nil {
		return nil
	}
	var ce *record.CorruptError
	if errors.As(err, &ce) {
		return corruptf(seq, "%s", ce.Reason)
	}
	return corruptf(seq, "%v", err)
}
