package bolt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"reflect"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // zones for round trips on machines without a zone database

	"github.com/udi-edge/udi-edge/agent"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load zone %s: %v", name, err)
	}
	return loc
}

// sampleMovement is a fully populated use of an implant.
func sampleMovement(t testing.TB) agent.Movement {
	return agent.Movement{
		Gateway:    "or-3",
		Time:       time.Date(2026, 5, 14, 9, 30, 12, 123456789, mustZone(t, "Asia/Shanghai")),
		Kind:       agent.KindUse,
		Item:       "(01)09520123456788(21)SN0001",
		GTIN:       "09520123456788",
		Serial:     "SN0001",
		Lot:        "L2405A",
		Expiry:     "2028-05-31",
		Production: "2025-05-01",
		Location:   "OR-3",
		Station:    "scanner-or3-a",
		Antenna:    2,
		From:       "cabinet-3",
		Actor:      "badge-0042",
		Case:       "case-2026-1124-07",
		Patient:    "patient-x",
		Settlement: "st-991",
		Decision:   "warned",
		Flags:      []string{"expiring", "imported-unjustified"},
		Tag:        "urn:epc:raw:96.xE2801160600002054CC2096F",
		Symbology:  "]d2",
		Raw:        []byte("]d201095201234567881728053110L2405A\x1d21SN0001"),
		PrevHash:   bytes.Repeat([]byte{0xa5}, hashSize),
		Hash:       bytes.Repeat([]byte{0x5a}, hashSize),
	}
}

// sameMovement reports whether a and b are equal, times compared as
// instants with their zone name, abbreviation and offset. The hashes are
// left out: the ledger fills them, so a movement read back differs from
// the one submitted there (sameHashes compares them).
func sameMovement(a, b agent.Movement) bool {
	if !a.Time.Equal(b.Time) || a.Time.Location().String() != b.Time.Location().String() {
		return false
	}
	an, ao := a.Time.Zone()
	bn, bo := b.Time.Zone()
	if an != bn || ao != bo || !bytes.Equal(a.Raw, b.Raw) {
		return false
	}
	a.Time, b.Time, a.Raw, b.Raw = time.Time{}, time.Time{}, nil, nil
	a.PrevHash, b.PrevHash, a.Hash, b.Hash = nil, nil, nil, nil
	return reflect.DeepEqual(a, b)
}

// sameHashes reports whether a and b have the same hashes, an empty hash
// taken as 32 zero bytes (what the record holds for it).
func sameHashes(a, b agent.Movement) bool {
	norm := func(h []byte) []byte {
		if len(h) == 0 {
			return make([]byte, hashSize)
		}
		return h
	}
	return bytes.Equal(norm(a.PrevHash), norm(b.PrevHash)) && bytes.Equal(norm(a.Hash), norm(b.Hash))
}

func TestRecordRoundTrip(t *testing.T) {
	base := sampleMovement(t)
	tests := []struct {
		name string
		edit func(m *agent.Movement)
	}{
		{"full", func(*agent.Movement) {}},
		{"utc", func(m *agent.Movement) { m.Time = m.Time.UTC() }},
		{"local", func(m *agent.Movement) { m.Time = m.Time.Local() }},
		{"new york dst", func(m *agent.Movement) { m.Time = m.Time.In(mustZone(t, "America/New_York")) }},
		{"new york winter", func(m *agent.Movement) {
			m.Time = time.Date(2026, 1, 10, 8, 0, 0, 0, mustZone(t, "America/New_York"))
		}},
		{"fixed zone", func(m *agent.Movement) { m.Time = m.Time.In(time.FixedZone("CST", 8*3600)) }},
		{"unnamed fixed zone", func(m *agent.Movement) { m.Time = m.Time.In(time.FixedZone("", -3*3600-1800)) }},
		{"zero time", func(m *agent.Movement) { m.Time = time.Time{} }},
		{"before 1970", func(m *agent.Movement) { m.Time = time.Date(1969, 7, 20, 20, 17, 0, 1, time.UTC) }},
		{"reject without item", func(m *agent.Movement) {
			*m = agent.Movement{Gateway: "or-3", Time: m.Time, Kind: agent.KindReject,
				Station: "scanner-or3-a", Raw: []byte{0xff, 0x00, 0x1d}, Reason: "no AIM identifier"}
		}},
		{"empty raw", func(m *agent.Movement) { m.Raw = nil }},
		{"long fields", func(m *agent.Movement) {
			m.Reason = strings.Repeat("r", 300)
			m.Raw = bytes.Repeat([]byte{0x1d}, 20000)
		}},
	}
	for _, kind := range agent.Kinds {
		tests = append(tests, struct {
			name string
			edit func(m *agent.Movement)
		}{"kind " + string(kind), func(m *agent.Movement) { m.Kind = kind }})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base
			tt.edit(&m)
			if err := checkMovement(&m); err != nil {
				t.Fatalf("checkMovement: %v", err)
			}
			rec, err := encodeRecord(&m)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if len(rec) != cap(rec) {
				t.Errorf("record len %d cap %d: size computed wrongly", len(rec), cap(rec))
			}
			got, err := decodeRecord(42, rec)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			want := m
			want.Seq = 42
			if !sameMovement(got, want) || !sameHashes(got, want) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
			}
			if len(got.PrevHash) != hashSize || len(got.Hash) != hashSize {
				t.Errorf("hashes of %d and %d bytes", len(got.PrevHash), len(got.Hash))
			}
		})
	}
}

func TestRecordCompact(t *testing.T) {
	m := sampleMovement(t)
	rec, err := encodeRecord(&m)
	if err != nil {
		t.Fatal(err)
	}
	fields := len(m.Gateway) + len(m.Item) + len(m.GTIN) + len(m.Serial) + len(m.Lot) + len(m.Expiry) +
		len(m.Production) + len(m.Location) + len(m.Station) + len(m.Symbology) + len(m.Raw) + len(m.Tag) +
		len(m.Reason) + len(m.From) + len(m.Actor) + len(m.Case) + len(m.Patient) + len(m.Settlement) + len(m.Decision)
	for _, f := range m.Flags {
		fields += len(f)
	}
	// 22 one-byte lengths, the antenna, the flag count, version, kind,
	// tag, time and zone, the two hashes, crc.
	if overhead := len(rec) - fields; overhead > 62+2*hashSize {
		t.Errorf("record %d bytes for %d bytes of fields: overhead %d", len(rec), fields, overhead)
	}
}

func TestRecordAllocations(t *testing.T) {
	m := sampleMovement(t)
	rec, err := encodeRecord(&m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeRecord(1, rec); err != nil { // warm the zone cache
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = encodeRecord(&m) }); n > 1 {
		t.Errorf("encode: %v allocations, want 1", n)
	}
	// The string copy, Raw, and the flags slice when there are flags.
	if n := testing.AllocsPerRun(100, func() { _, _ = decodeRecord(1, rec) }); n > 3 {
		t.Errorf("decode: %v allocations, want at most 3", n)
	}
}

func TestCheckMovement(t *testing.T) {
	tests := []struct {
		name string
		edit func(m *agent.Movement)
	}{
		{"unknown kind", func(m *agent.Movement) { m.Kind = "borrow" }},
		{"no kind", func(m *agent.Movement) { m.Kind = "" }},
		{"use without item", func(m *agent.Movement) { m.Item = "" }},
		{"nul in item", func(m *agent.Movement) { m.Item = "(01)0952\x00" }},
		{"item too long", func(m *agent.Movement) { m.Item = strings.Repeat("9", maxItemKey+1) }},
		{"time too late", func(m *agent.Movement) { m.Time = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"time too early", func(m *agent.Movement) { m.Time = time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := sampleMovement(t)
			tt.edit(&m)
			if err := checkMovement(&m); !errors.Is(err, ErrInvalidMovement) {
				t.Errorf("checkMovement = %v, want ErrInvalidMovement", err)
			}
		})
	}
	t.Run("record too large", func(t *testing.T) {
		m := sampleMovement(t)
		m.Raw = make([]byte, maxRecordSize)
		if _, err := encodeRecord(&m); !errors.Is(err, ErrInvalidMovement) {
			t.Errorf("encode = %v, want ErrInvalidMovement", err)
		}
	})
}

func wantCorrupt(t *testing.T, err error, seq uint64) {
	t.Helper()
	var ce *CorruptError
	if !errors.Is(err, ErrCorrupt) || !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a CorruptError", err)
	}
	if ce.Seq != seq {
		t.Errorf("CorruptError.Seq = %d, want %d", ce.Seq, seq)
	}
	if !strings.Contains(err.Error(), "movement 7 ") && seq == 7 {
		t.Errorf("error %q does not name the movement", err)
	}
}

// withCRC returns body followed by its checksum: structurally broken
// records that pass the checksum.
func withCRC(body []byte) []byte {
	return binary.BigEndian.AppendUint32(body, crc32.Checksum(body, castagnoli))
}

func TestDecodeCorrupt(t *testing.T) {
	m := sampleMovement(t)
	rec, err := encodeRecord(&m)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("every truncation", func(t *testing.T) {
		for n := 0; n < len(rec); n++ {
			if _, err := decodeRecord(7, rec[:n]); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("truncated to %d bytes: err = %v", n, err)
			}
		}
	})
	t.Run("every bit flip", func(t *testing.T) {
		for i := range rec {
			for bit := range 8 {
				b := bytes.Clone(rec)
				b[i] ^= 1 << bit
				_, err := decodeRecord(7, b)
				wantCorrupt(t, err, 7)
			}
		}
	})
	body := rec[:len(rec)-crcSize]
	tests := map[string][]byte{
		"unknown version":   append([]byte{9}, rec[1:]...),
		"trailing byte":     withCRC(append(bytes.Clone(body), 0)),
		"unknown kind code": withCRC(append([]byte{recordVersion, 200}, body[2:]...)),
		"unknown time tag":  withCRC(append([]byte{recordVersion, 1, 9}, body[3:]...)),
		"length overrun":    withCRC([]byte{recordVersion, 1, 0 /* zero time */, 0x7f, 'a'}),
		"varint overflow":   withCRC(append([]byte{recordVersion, 1, 1 /* UTC */}, bytes.Repeat([]byte{0xff}, 11)...)),
		"empty":             nil,
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := decodeRecord(7, b)
			wantCorrupt(t, err, 7)
		})
	}
}

func FuzzDecode(f *testing.F) {
	m := sampleMovement(f)
	for _, edit := range []func(*agent.Movement){
		func(*agent.Movement) {},
		func(m *agent.Movement) { m.Time = m.Time.UTC() },
		func(m *agent.Movement) { m.Time = time.Time{}; m.Kind = agent.KindReject; m.Item = "" },
		func(m *agent.Movement) { m.Time = m.Time.In(time.FixedZone("X", 3600)) },
	} {
		mm := m
		edit(&mm)
		rec, err := encodeRecord(&mm)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(rec)
	}
	f.Add(withCRC([]byte{recordVersion, 0, 3, 'a', 'b', 'c', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecode(t, b)
		// With its checksum made right, the input reaches the field parser.
		if len(b) > crcSize {
			checkDecode(t, withCRC(bytes.Clone(b[:len(b)-crcSize])))
		}
	})
}

// checkDecode decodes b and, when it decodes, checks that the movement
// encodes and decodes to itself.
func checkDecode(t *testing.T, b []byte) {
	m, err := decodeRecord(3, b)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v does not wrap ErrCorrupt", err)
		}
		return
	}
	if m.Seq != 3 {
		t.Fatalf("seq %d", m.Seq)
	}
	rec, err := encodeRecord(&m)
	if err != nil {
		return // a kind the ledger would not write; decoding it is still fine
	}
	m2, err := decodeRecord(3, rec)
	if err != nil {
		t.Fatalf("re-decode: %v", err)
	}
	if !sameMovement(m, m2) || !sameHashes(m, m2) {
		t.Fatalf("re-encode changed the movement:\n%+v\n%+v", m, m2)
	}
}
