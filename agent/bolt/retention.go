package bolt

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/udi-edge/udi-edge/agent"
)

// Retention takes movements out of the ledger once the centre has
// acknowledged them and they are older than a horizon, so that the file
// stops growing with the gateway's age. It is a cut: the movements before
// a sequence number, the anchor, leave, and the ledger records where it
// now starts (meta "anchor": the first movement kept in sequence, the
// Hash of the movement before it, when and why), so that the chain from
// the anchor on still verifies and says that nothing after the anchor
// was removed.
//
// A cut must not change what the gateway folds from its ledger: the
// stock, the state of every item the point-of-use checks read, the
// cabinets' inventories. So the movements of the items those folds still
// need are carried: kept, record for record, with their sequence numbers
// and hashes, in the bucket "carried", and read by Get, Trace and Range
// as before. An item is needed while anything of it is open (on hand,
// held, issued, a request not met: Folds, which agent/bolt/carry
// answers for the gateway) or while it has a movement after the cut. Of an item whose life ended, the
// movements leave and a tombstone stays (bucket "retained": the key, how
// many movements, their first and last sequence number and time, the
// kind of the last), so that a trace can say the item was retained away
// rather than unknown.
//
// The cut is made by compaction, which writes the file anew
// (compact.go): that is also how the space comes back, bbolt never
// shrinking its file. Nothing the centre has not acknowledged ever
// leaves: the anchor never passes the sync cursor, and the movement the
// centre last acknowledged stays, so that its acknowledgement can always
// be checked against the ledger.
//
// A file with an anchor is of format version formatRetained (5): a build
// that reads only version 4 refuses it instead of taking the cut for
// damage.

const formatRetained = 5

// Buckets and meta key of retention: part of the file format.
var (
	bucketCarried  = []byte("carried")
	bucketRetained = []byte("retained")
	metaAnchor     = []byte("anchor")
)

// Anchor is where a ledger's chain of movements starts after retention.
type Anchor struct {
	// Seq is the first movement kept in sequence: every movement from Seq
	// to the last is in the ledger, chained from PrevHash. Of those before
	// it, only the carried ones are.
	Seq uint64
	// PrevHash is the Hash of movement Seq-1, which movement Seq's
	// PrevHash must be. The centre, which holds movement Seq-1, can
	// confirm it.
	PrevHash []byte
	// At is when the cut was made, Reason why (the horizon and the
	// acknowledgement, or the disk budget).
	At     time.Time
	Reason string
	// Cursor is the sync cursor when the cut was made: every movement
	// before Seq was acknowledged by the centre.
	Cursor uint64
	// Removed counts the movements retention took out of the file since
	// it was created; Carried the movements before Seq still in it,
	// CarriedDigest the SHA-256 of their sequence numbers and hashes in
	// order (each 8 bytes big-endian then 32), which Verify recomputes;
	// Retained the tombstones of items retained away.
	Removed       uint64
	Carried       uint64
	CarriedDigest []byte
	Retained      uint64
}

// anchorVersion is the version byte of an encoded Anchor.
const anchorVersion = 1

// appendAnchor appends the encoding of a: version, Seq, PrevHash, At
// (Unix nanoseconds), Cursor, Removed, Carried, CarriedDigest, Retained,
// the reason's length (2 bytes) and the reason, then a CRC-32C of all
// that; integers 8 bytes big-endian.
func appendAnchor(dst []byte, a *Anchor) []byte {
	start := len(dst)
	dst = append(dst, anchorVersion)
	dst = binary.BigEndian.AppendUint64(dst, a.Seq)
	dst = append(dst, a.PrevHash...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(a.At.UnixNano()))
	dst = binary.BigEndian.AppendUint64(dst, a.Cursor)
	dst = binary.BigEndian.AppendUint64(dst, a.Removed)
	dst = binary.BigEndian.AppendUint64(dst, a.Carried)
	dst = append(dst, a.CarriedDigest...)
	dst = binary.BigEndian.AppendUint64(dst, a.Retained)
	reason := a.Reason[:min(len(a.Reason), 1024)]
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(reason)))
	dst = append(dst, reason...)
	return binary.BigEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// anchorFixed is the size of an encoded Anchor without its reason.
const anchorFixed = 1 + 8 + hashSize + 8 + 8 + 8 + 8 + hashSize + 8 + 2 + 4

// parseAnchor decodes meta "anchor"; a value that is not one is a
// *CorruptError.
func parseAnchor(v []byte) (Anchor, error) {
	var a Anchor
	if len(v) < anchorFixed || v[0] != anchorVersion {
		return a, corruptf(0, "meta anchor of %d bytes is not an anchor", len(v))
	}
	n := len(v) - 4
	if crc32.Checksum(v[:n], castagnoli) != binary.BigEndian.Uint32(v[n:]) {
		return a, corruptf(0, "meta anchor: checksum mismatch")
	}
	p := v[1:]
	u64 := func() uint64 { x := binary.BigEndian.Uint64(p); p = p[8:]; return x }
	a.Seq = u64()
	a.PrevHash = bytes.Clone(p[:hashSize])
	p = p[hashSize:]
	a.At = time.Unix(0, int64(u64()))
	a.Cursor, a.Removed, a.Carried = u64(), u64(), u64()
	a.CarriedDigest = bytes.Clone(p[:hashSize])
	p = p[hashSize:]
	a.Retained = u64()
	rl := int(binary.BigEndian.Uint16(p))
	if 2+rl != len(p)-4 {
		return Anchor{}, corruptf(0, "meta anchor: reason of %d bytes in a value of %d", rl, len(v))
	}
	a.Reason = string(p[2 : 2+rl])
	if a.Seq < 2 {
		return Anchor{}, corruptf(0, "meta anchor at movement %d: an anchor starts after the first movement", a.Seq)
	}
	return a, nil
}

// anchorIn returns the anchor of the file tx reads, ok false when the
// ledger was never cut.
func anchorIn(tx *bolt.Tx) (Anchor, bool, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return Anchor{}, false, nil
	}
	v := meta.Get(metaAnchor)
	if v == nil {
		return Anchor{}, false, nil
	}
	a, err := parseAnchor(v)
	return a, err == nil, err
}

// firstLive returns the first movement kept in sequence in tx: the
// anchor's, 1 when the ledger was never cut.
func firstLive(tx *bolt.Tx) (uint64, error) {
	a, ok, err := anchorIn(tx)
	if err != nil || !ok {
		return 1, err
	}
	return a.Seq, nil
}

// Anchor returns where the ledger's chain starts after retention, ok
// false when no movement was ever retained away.
func (l *Ledger) Anchor() (a Anchor, ok bool, err error) {
	err = l.viewAt(&place{bucket: "meta"}, func(tx *bolt.Tx) error {
		a, ok, err = anchorIn(tx)
		return err
	})
	return a, ok, err
}

// FirstSeq returns the first movement kept in sequence: 1, or the
// anchor's after retention. ReadRecords serves from there on.
func (l *Ledger) FirstSeq() (uint64, error) {
	var seq uint64
	err := l.viewAt(&place{bucket: "meta"}, func(tx *bolt.Tx) error {
		var err error
		seq, err = firstLive(tx)
		return err
	})
	return seq, err
}

// carriedMovement returns movement seq from the carried bucket of tx, ok
// false when it is not there.
func carriedMovement(tx *bolt.Tx, seq uint64) (agent.Movement, bool, error) {
	cb := tx.Bucket(bucketCarried)
	if cb == nil {
		return agent.Movement{}, false, nil
	}
	rec := cb.Get(seqKey(seq))
	if rec == nil {
		return agent.Movement{}, false, nil
	}
	m, err := decodeRecord(seq, rec)
	return m, true, err
}

// notLive is getMovement's answer for a movement no batch holds: the
// carried record, a *RetainedError when seq is below the anchor, or else
// nil (the caller says what else it is).
func notLive(tx *bolt.Tx, seq uint64) (agent.Movement, bool, error) {
	a, cut, err := anchorIn(tx)
	if err != nil || !cut || seq >= a.Seq {
		return agent.Movement{}, false, err
	}
	m, ok, err := carriedMovement(tx, seq)
	if ok || err != nil {
		return m, true, err
	}
	return agent.Movement{}, true, &RetainedError{Seq: seq, Anchor: a}
}

// rangeCarried calls fn with each carried movement from sequence number
// from up to the anchor, in order, reading rangeChunk of them per read
// transaction, and returns where Range goes on: the anchor, or from when
// the ledger was never cut.
func (l *Ledger) rangeCarried(from uint64, fn func(agent.Movement) error) (uint64, error) {
	var anchor uint64
	chunk := make([]agent.Movement, 0, rangeChunk)
	next := from
	for {
		chunk = chunk[:0]
		p := &place{bucket: "carried"}
		err := l.viewAt(p, func(tx *bolt.Tx) error {
			var err error
			if anchor, err = firstLive(tx); err != nil || next >= anchor {
				return err
			}
			cb := tx.Bucket(bucketCarried)
			if cb == nil {
				return nil
			}
			c := cb.Cursor()
			for k, v := c.Seek(seqKey(next)); k != nil && len(chunk) < rangeChunk; k, v = c.Next() {
				if len(k) != 8 {
					return corruptf(0, "carried movement key of %d bytes", len(k))
				}
				seq := binary.BigEndian.Uint64(k)
				if seq >= anchor {
					return corruptf(seq, "carried, but not before the anchor %d", anchor)
				}
				m, err := decodeRecord(seq, v)
				if err != nil {
					return err
				}
				chunk = append(chunk, m)
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
		for _, m := range chunk {
			if err := fn(m); err != nil {
				return 0, err
			}
		}
		if len(chunk) < rangeChunk {
			return max(from, anchor), nil
		}
		next = chunk[len(chunk)-1].Seq + 1
	}
}

// RetainedKey is the tombstone of an item key whose movements retention
// took out of the ledger.
type RetainedKey struct {
	// Key is the item (or tag) key.
	Key string
	// Movements is how many of its movements left; First and Last are
	// the sequence numbers of the first and the last of them, FirstTime
	// and LastTime when they were recorded, LastKind the kind of the last.
	Movements   uint64
	First, Last uint64
	FirstTime   time.Time
	LastTime    time.Time
	LastKind    agent.Kind
	// At is when they were retained away.
	At time.Time
}

// appendTombstone encodes t without its key (the bucket's key): version,
// uvarints Movements, First, Last, varints FirstTime, LastTime, At (Unix
// nanoseconds), the last kind's length and the kind.
func appendTombstone(dst []byte, t *RetainedKey) []byte {
	dst = append(dst, 1)
	dst = binary.AppendUvarint(dst, t.Movements)
	dst = binary.AppendUvarint(dst, t.First)
	dst = binary.AppendUvarint(dst, t.Last)
	dst = binary.AppendVarint(dst, t.FirstTime.UnixNano())
	dst = binary.AppendVarint(dst, t.LastTime.UnixNano())
	dst = binary.AppendVarint(dst, t.At.UnixNano())
	kind := t.LastKind[:min(len(t.LastKind), 255)]
	dst = append(dst, byte(len(kind)))
	return append(dst, kind...)
}

// parseTombstone decodes the tombstone of key.
func parseTombstone(key, v []byte) (RetainedKey, error) {
	t := RetainedKey{Key: string(key)}
	bad := func() (RetainedKey, error) {
		return RetainedKey{}, corruptf(0, "tombstone of %d bytes of a retained key is not one", len(v))
	}
	if len(v) < 1 || v[0] != 1 {
		return bad()
	}
	p := v[1:]
	uv := func() (uint64, bool) {
		x, n := binary.Uvarint(p)
		if n <= 0 {
			return 0, false
		}
		p = p[n:]
		return x, true
	}
	sv := func() (time.Time, bool) {
		x, n := binary.Varint(p)
		if n <= 0 {
			return time.Time{}, false
		}
		p = p[n:]
		return time.Unix(0, x), true
	}
	var ok [6]bool
	t.Movements, ok[0] = uv()
	t.First, ok[1] = uv()
	t.Last, ok[2] = uv()
	t.FirstTime, ok[3] = sv()
	t.LastTime, ok[4] = sv()
	t.At, ok[5] = sv()
	if ok != [6]bool{true, true, true, true, true, true} || len(p) < 1 || int(p[0]) != len(p)-1 || t.First > t.Last || t.Movements == 0 {
		return bad()
	}
	t.LastKind = agent.Kind(p[1:])
	return t, nil
}

// Retained returns the tombstone of key when retention took the
// movements of that item key out of the ledger, ok false when it did not
// (the key is unknown, or its movements are all in the ledger). A trace
// that finds no movement asks it, to say "retained away" rather than
// "unknown".
func (l *Ledger) Retained(key string) (t RetainedKey, ok bool, err error) {
	if key == "" {
		return t, false, nil
	}
	err = l.viewAt(&place{bucket: "retained"}, func(tx *bolt.Tx) error {
		rb := tx.Bucket(bucketRetained)
		if rb == nil {
			return nil
		}
		v := rb.Get([]byte(key))
		if v == nil {
			return nil
		}
		t, err = parseTombstone([]byte(key), v)
		ok = err == nil
		return err
	})
	return t, ok, err
}

// carriedDigest accumulates Anchor.CarriedDigest.
type carriedDigest struct {
	buf []byte
	n   uint64
	sum hash.Hash
}

func newCarriedDigest() *carriedDigest { return &carriedDigest{sum: sha256.New()} }

// add takes the next carried record, movement seq with hash.
func (d *carriedDigest) add(seq uint64, hash []byte) {
	d.buf = binary.BigEndian.AppendUint64(d.buf[:0], seq)
	d.buf = append(d.buf, hash...)
	_, _ = d.sum.Write(d.buf)
	d.n++
}

func (d *carriedDigest) digest() []byte { return d.sum.Sum(nil) }

// describe says in a line what the anchor means, for verify and logs.
func (a *Anchor) describe() string {
	s := fmt.Sprintf("the chain starts at the retention anchor, movement %d: movements 1 to %d were retained away on %s (%s)",
		a.Seq, a.Seq-1, a.At.UTC().Format("2006-01-02 15:04 MST"), a.Reason)
	if a.Carried > 0 {
		s += fmt.Sprintf("; %d of them are carried, kept for the items still in use", a.Carried)
	}
	if a.Retained > 0 {
		s += fmt.Sprintf("; %d item keys retained away leave a tombstone", a.Retained)
	}
	return s + "; the centre holds every one of them"
}
