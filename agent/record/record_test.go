package record

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
)

func sample() agent.Movement {
	return agent.Movement{
		Gateway: "or-3", Time: time.Date(2026, 11, 25, 10, 5, 0, 7, time.FixedZone("CST", 8*3600)),
		Kind: agent.KindUse, Item: "(01)09520123456788(21)00042", GTIN: "09520123456788", Serial: "00042",
		Lot: "21A-77", Expiry: "2028-05-31", Location: "OR-3", Station: "or3-1", Symbology: "]d2",
		Raw: []byte("]d20109520123456788172805311021A-77\x1d2100042"), Case: "K1", Patient: "004217",
		Decision: "accepted", Flags: []string{"case-link"},
	}
}

// seal chains rec as movement seq after prev, as a ledger's writer does.
func seal(seq uint64, rec []byte, prev [HashSize]byte) [HashSize]byte {
	body := Body(rec)
	digest := sha256.Sum256(body)
	h := ChainHash(seq, &prev, &digest)
	Seal(rec, crc32.Checksum(body, castagnoli), &prev, &h)
	return h
}

// TestEncodeDecodeCheck: a sealed record decodes to the movement it was
// made of, checks, links to the one before, and is the same bytes as
// Encode gives for the movement with its hashes.
func TestEncodeDecodeCheck(t *testing.T) {
	prev := Genesis("or-3", 1_764_028_800_000_000_000)
	var recs [][]byte
	for seq := uint64(1); seq <= 3; seq++ {
		m := sample()
		m.Serial = string(rune('0' + seq))
		rec, err := EncodeUnsealed(&m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(rec[len(rec)-Tail:], make([]byte, Tail)) {
			t.Fatal("unsealed record has a tail")
		}
		h := seal(seq, rec, prev)
		p, got, err := Check(seq, rec)
		if err != nil || p != prev || got != h {
			t.Fatalf("Check %d: %v", seq, err)
		}
		d, err := Decode(seq, rec)
		if err != nil {
			t.Fatal(err)
		}
		if d.Seq != seq || d.Serial != m.Serial || d.Patient != "004217" || !d.Time.Equal(m.Time) || !bytes.Equal(d.Hash, h[:]) || !bytes.Equal(d.PrevHash, prev[:]) {
			t.Fatalf("decoded %+v", d)
		}
		if _, off := d.Time.Zone(); off != 8*3600 {
			t.Errorf("zone offset %d", off)
		}
		again, err := Encode(&d)
		if err != nil || !bytes.Equal(again, rec) {
			t.Fatalf("Encode of the decoded movement differs from the sealed record: %v", err)
		}
		prev = h
		recs = append(recs, rec)
	}
	// Any change to the content, the sequence number or the hashes is
	// caught, even with the checksum made right again.
	rec := bytes.Clone(recs[1])
	i := bytes.Index(rec, []byte("OR-3"))
	rec[i+3] = '4'
	fixCRC(rec)
	if _, _, err := Check(2, rec); !errors.Is(err, ErrHash) {
		t.Errorf("changed content: %v", err)
	}
	if _, _, err := Check(3, recs[1]); !errors.Is(err, ErrHash) {
		t.Errorf("wrong sequence number: %v", err)
	}
	rec = bytes.Clone(recs[1])
	rec[len(rec)-Tail] ^= 1 // PrevHash
	fixCRC(rec)
	if _, _, err := Check(2, rec); !errors.Is(err, ErrHash) {
		t.Errorf("changed PrevHash: %v", err)
	}
	rec = bytes.Clone(recs[1])
	rec[5] ^= 0x40
	var ce *CorruptError
	if _, _, err := Check(2, rec); !errors.As(err, &ce) || ce.Seq != 2 {
		t.Errorf("bad checksum: %v", err)
	}
	if _, err := Decode(2, rec); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Decode of a bad checksum: %v", err)
	}
}

func fixCRC(rec []byte) {
	n := len(rec) - CRCSize
	binary.BigEndian.PutUint32(rec[n:], crc32.Checksum(rec[:n], castagnoli))
}

// TestEncodeRefuses checks the movements the encoding cannot hold.
func TestEncodeRefuses(t *testing.T) {
	m := sample()
	m.Hash = []byte{1, 2, 3}
	if _, err := Encode(&m); !errors.Is(err, ErrInvalid) {
		t.Errorf("short hash: %v", err)
	}
	m = sample()
	m.Hash = make([]byte, HashSize)
	if _, err := EncodeUnsealed(&m); !errors.Is(err, ErrInvalid) {
		t.Errorf("unsealed with a hash: %v", err)
	}
	m = sample()
	m.Time = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := Encode(&m); !errors.Is(err, ErrInvalid) {
		t.Errorf("year 3000: %v", err)
	}
	m = sample()
	m.Raw = make([]byte, MaxSize)
	if _, err := Encode(&m); !errors.Is(err, ErrTooLarge) {
		t.Errorf("too large: %v", err)
	}
}

// TestGenesis: the genesis hash depends on the gateway and the creation
// time, and is stable (a change would break every chain written).
func TestGenesis(t *testing.T) {
	a, b, c := Genesis("or-3", 1), Genesis("or-4", 1), Genesis("or-3", 2)
	if a == b || a == c {
		t.Fatal("genesis does not depend on gateway and created")
	}
	want := sha256.Sum256(append([]byte("udi-edge genesis v1\x00\x04or-3"), 0, 0, 0, 0, 0, 0, 0, 1))
	if a != want {
		t.Fatalf("genesis %x, want %x", a, want)
	}
}
