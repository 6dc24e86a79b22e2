package record

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// The hash chain. Every movement carries the Hash of the movement before it
// (PrevHash) and its own Hash:
//
//	digest(m)  = SHA-256(body of m's record)
//	Hash(m)    = SHA-256("udi-edge chain v1" 0x00 ‖ seq ‖ PrevHash(m) ‖ digest(m))
//	PrevHash(1)= SHA-256("udi-edge genesis v1" 0x00 ‖ uvarint len(gateway) ‖ gateway ‖ created)
//	PrevHash(s)= Hash(s-1)
//
// where seq is the movement's sequence number as 8 bytes big-endian,
// created the ledger's creation time (8 bytes big-endian Unix
// nanoseconds), and the body the canonical encoding of every field of the
// movement except Seq, PrevHash and Hash. So Hash covers every field but
// itself: the content through the digest, Seq and PrevHash directly.

const (
	chainDomain   = "udi-edge chain v1\x00"
	genesisDomain = "udi-edge genesis v1\x00"
)

// Genesis returns the PrevHash of movement 1 of the ledger made for gateway
// at created (Unix nanoseconds).
func Genesis(gateway string, created uint64) [HashSize]byte {
	b := make([]byte, 0, len(genesisDomain)+binary.MaxVarintLen64+len(gateway)+8)
	b = append(b, genesisDomain...)
	b = appendStr(b, gateway)
	b = binary.BigEndian.AppendUint64(b, created)
	return sha256.Sum256(b)
}

// ChainHash returns the Hash of movement seq with PrevHash prev and the
// digest (SHA-256) of its record's body.
func ChainHash(seq uint64, prev, digest *[HashSize]byte) [HashSize]byte {
	var b [len(chainDomain) + 8 + 2*HashSize]byte
	n := copy(b[:], chainDomain)
	binary.BigEndian.PutUint64(b[n:], seq)
	copy(b[n+8:], prev[:])
	copy(b[n+8+HashSize:], digest[:])
	return sha256.Sum256(b[:])
}

// Hashes returns the PrevHash and Hash a record carries. rec must be at
// least Tail bytes long.
func Hashes(rec []byte) (prev, hash [HashSize]byte) {
	t := rec[len(rec)-Tail:]
	return [HashSize]byte(t[:HashSize]), [HashSize]byte(t[HashSize : 2*HashSize])
}

// Parts reads one record of movement seq: it checks the record's version
// and checksum and returns its PrevHash and Hash and the digest of its
// body, without comparing them (see Check). The error wraps ErrCorrupt.
func Parts(seq uint64, rec []byte) (prev, hash, digest [HashSize]byte, err error) {
	n := len(rec)
	switch {
	case n < MinSize:
		return prev, hash, digest, corruptf(seq, "record of %d bytes is too short", n)
	case rec[0] != Version:
		return prev, hash, digest, corruptf(seq, "record version %d unknown", rec[0])
	}
	if want, got := binary.BigEndian.Uint32(rec[n-CRCSize:]), crc32.Checksum(rec[:n-CRCSize], castagnoli); want != got {
		return prev, hash, digest, corruptf(seq, "checksum %08x, want %08x", got, want)
	}
	prev, hash = Hashes(rec)
	return prev, hash, sha256.Sum256(Body(rec)), nil
}

// Check verifies one record of movement seq on its own: its version, its
// checksum, and that its Hash is the chain hash of seq, its PrevHash and
// its body. It returns the record's PrevHash and Hash, so that a caller
// can link records (PrevHash of seq+1 = Hash of seq). The error wraps
// ErrCorrupt or ErrHash.
func Check(seq uint64, rec []byte) (prev, hash [HashSize]byte, err error) {
	prev, hash, digest, err := Parts(seq, rec)
	if err != nil {
		return prev, hash, err
	}
	if ChainHash(seq, &prev, &digest) != hash {
		return prev, hash, fmt.Errorf("%w: movement %d: its hash is not the hash of its content, sequence number and previous hash", ErrHash, seq)
	}
	return prev, hash, nil
}
