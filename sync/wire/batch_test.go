package wire

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/agent/record"
)

func TestBatchRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		first uint64
		n     int
	}{{1, 1}, {1, 3}, {42, 100}, {1000, 300}} {
		b := testBatch(t, tc.first, tc.n)
		p, err := AppendBatch(nil, b)
		if err != nil {
			t.Fatalf("AppendBatch(first %d, %d records): %v", tc.first, tc.n, err)
		}
		if len(p) != b.Size() {
			t.Errorf("encoded %d bytes, Size says %d", len(p), b.Size())
		}
		got, err := DecodeBatch(p)
		if err != nil {
			t.Fatalf("DecodeBatch: %v", err)
		}
		if got.Gateway != b.Gateway || got.Site != b.Site || got.Created != b.Created || got.First != b.First ||
			!slices.EqualFunc(got.Records, b.Records, bytes.Equal) {
			t.Fatalf("round trip changed the batch")
		}
		if got.Last() != tc.first+uint64(tc.n)-1 {
			t.Errorf("Last = %d", got.Last())
		}
		// The records decode and chain as agent/record says.
		prev := record.Genesis(testGateway, uint64(testCreated))
		for i, rec := range got.Records {
			seq := got.First + uint64(i)
			p, h, err := record.Check(seq, rec)
			if err != nil {
				t.Fatal(err)
			}
			if seq == 1 && p != prev {
				t.Fatalf("movement 1 does not link to the genesis hash")
			}
			if i > 0 && p != prev {
				t.Fatalf("movement %d does not link", seq)
			}
			prev = h
		}
	}
}

func TestAppendBatchAppends(t *testing.T) {
	b := testBatch(t, 1, 2)
	want, err := AppendBatch(nil, b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := AppendBatch([]byte("prefix"), b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, append([]byte("prefix"), want...)) {
		t.Fatal("AppendBatch did not append")
	}
	// Room enough: no reallocation.
	buf := make([]byte, 0, len(want)+10)
	got, _ = AppendBatch(buf, b)
	if &got[0] != &buf[:1][0] {
		t.Error("AppendBatch reallocated although dst had room")
	}
}

func TestAppendBatchErrors(t *testing.T) {
	recs := chain(t, 1, 2)
	big := make([]byte, record.MaxSize)
	for _, tc := range []struct {
		name  string
		b     Batch
		err   error
		field string
	}{
		{"bad gateway", Batch{Gateway: "a/b", Site: testSite, First: 1, Records: recs}, ErrMalformed, "gateway"},
		{"master gateway", Batch{Gateway: "master", Site: testSite, First: 1, Records: recs}, ErrMalformed, "gateway"},
		{"bad site", Batch{Gateway: testGateway, Site: "", First: 1, Records: recs}, ErrMalformed, "site"},
		{"no records", Batch{Gateway: testGateway, Site: testSite, First: 1}, ErrMalformed, "count"},
		{"too many", Batch{Gateway: testGateway, Site: testSite, First: 1, Records: make([][]byte, MaxBatchCount+1)}, ErrTooLarge, "count"},
		{"first 0", Batch{Gateway: testGateway, Site: testSite, First: 0, Records: recs}, ErrMalformed, "first"},
		{"overflow", Batch{Gateway: testGateway, Site: testSite, First: 1<<64 - 1, Records: recs}, ErrMalformed, "first"},
		{"short record", Batch{Gateway: testGateway, Site: testSite, First: 1, Records: [][]byte{recs[0], recs[1][:MinRecordSize-1]}}, ErrMalformed, "record"},
		{"huge record", Batch{Gateway: testGateway, Site: testSite, First: 1, Records: [][]byte{append(big, 0)}}, ErrMalformed, "record"},
		{"too large", Batch{Gateway: testGateway, Site: testSite, First: 1, Records: [][]byte{big, big}}, ErrTooLarge, "records"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte("keep")
			got, err := AppendBatch(dst, &tc.b)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || fe.Payload != "batch" {
				t.Fatalf("err = %#v, want a *FieldError for %s", err, tc.field)
			}
			if string(got) != "keep" {
				t.Fatalf("dst changed on error")
			}
		})
	}
	// One record of the largest size fits.
	if _, err := AppendBatch(nil, &Batch{Gateway: strings.Repeat("g", 64), Site: strings.Repeat("s", 64), First: 1<<64 - 1, Records: [][]byte{big}}); err != nil {
		t.Fatalf("a batch of one record of record.MaxSize: %v", err)
	}
}

func TestDecodeBatchErrors(t *testing.T) {
	good, err := AppendBatch(nil, testBatch(t, 1, 3))
	if err != nil {
		t.Fatal(err)
	}
	rec := chain(t, 1, 1)[0]
	flip := func(i int) []byte {
		p := bytes.Clone(good)
		p[i] ^= 1
		return p
	}
	recrc := func(p []byte) []byte { return raw(p[:len(p)-4]).crc() }
	for _, tc := range []struct {
		name  string
		p     []byte
		err   error
		field string
	}{
		{"empty", nil, ErrMalformed, "magic"},
		{"short", []byte("UDI"), ErrMalformed, "magic"},
		{"magic", flip(0), ErrMalformed, "magic"},
		{"version", recrc(flip(4)), ErrVersion, "version"},
		{"version 3 short", []byte("UDIB\x03"), ErrVersion, "version"},
		{"version 2 short", raw("UDIB\x02").crc(), ErrMalformed, "sig"},
		{"no crc", []byte("UDIB\x01"), ErrMalformed, "crc"},
		{"crc", flip(len(good) - 1), ErrChecksum, "crc"},
		{"body flipped", flip(len(good) / 2), ErrChecksum, "crc"},
		{"truncated", good[:len(good)-10], ErrChecksum, "crc"},
		{"truncated header", raw("UDIB\x01\x04or").crc(), ErrMalformed, "gateway"},
		{"truncated records", recrc(append(bytes.Clone(good[:len(good)-20]), 0, 0, 0, 0)), ErrMalformed, "record"},
		{"trailing", raw(good[:len(good)-4]).bytes(0).crc(), ErrMalformed, "crc"},
		{"too large", make([]byte, MaxBatchSize+1), ErrTooLarge, "size"},
		{"master gateway", raw("UDIB\x01").str("master").str(testSite).u64(1).uv(1).uv(1).uv(uint64(len(rec))).bytes(rec...).crc(), ErrMalformed, "gateway"},
		{"bad site", raw("UDIB\x01").str(testGateway).str("a/b").u64(1).uv(1).uv(1).uv(uint64(len(rec))).bytes(rec...).crc(), ErrMalformed, "site"},
		{"long gateway", raw("UDIB\x01").str(strings.Repeat("g", 65)).str(testSite).u64(1).uv(1).uv(1).crc(), ErrMalformed, "gateway"},
		{"first 0", header(0).uv(1).uv(uint64(len(rec))).bytes(rec...).crc(), ErrMalformed, "first"},
		{"count 0", header(1).uv(0).crc(), ErrMalformed, "count"},
		{"count too large", header(1).uv(MaxBatchCount + 1).crc(), ErrTooLarge, "count"},
		{"count beyond payload", header(1).uv(MaxBatchCount).uv(uint64(len(rec))).bytes(rec...).crc(), ErrMalformed, "count"},
		{"overflow", header(1<<64 - 1).uv(2).uv(uint64(len(rec))).bytes(rec...).uv(uint64(len(rec))).bytes(rec...).crc(), ErrMalformed, "first"},
		{"non-minimal varint", header(1).bytes(0x81, 0x00).uv(uint64(len(rec))).bytes(rec...).crc(), ErrMalformed, "count"},
		{"varint overflow", header(1).bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f).crc(), ErrMalformed, "count"},
		{"short record", header(1).uv(1).uv(MinRecordSize - 1).bytes(rec[:MinRecordSize-1]...).bytes(make([]byte, 10)...).crc(), ErrMalformed, "record"},
		{"record too long", header(1).uv(1).uv(record.MaxSize + 1).bytes(rec...).crc(), ErrMalformed, "record"},
		{"record beyond batch", header(1).uv(1).uv(uint64(len(rec) + 1)).bytes(rec...).crc(), ErrMalformed, "record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := DecodeBatch(tc.p)
			if !errors.Is(err, tc.err) || b != nil {
				t.Fatalf("DecodeBatch = %v, %v; want nil, %v", b, err, tc.err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("err = %v, want a *FieldError for %s", err, tc.field)
			}
		})
	}
}

// TestDecodeBatchAllocations checks that a header claiming many records
// costs nothing before the claim is checked against the payload.
func TestDecodeBatchAllocations(t *testing.T) {
	rec := chain(t, 1, 1)[0]
	p := header(1).uv(MaxBatchCount).uv(uint64(len(rec))).bytes(rec...).crc()
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := DecodeBatch(p); err == nil {
			t.Fatal("accepted")
		}
	})
	if allocs > 8 {
		t.Errorf("%v allocations for a rejected header", allocs)
	}
	good, _ := AppendBatch(nil, testBatch(t, 1, 100))
	allocs = testing.AllocsPerRun(100, func() {
		if _, err := DecodeBatch(good); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 5 {
		t.Errorf("%v allocations decoding a batch of 100; want the batch, its strings and the record slice", allocs)
	}
}

func TestRecordSize(t *testing.T) {
	b := testBatch(t, 1, 1)
	n := b.Size()
	b.Records = append(b.Records, make([]byte, 200))
	if got := b.Size() - n; got != RecordSize(200) || got != 202 {
		t.Errorf("a record of 200 bytes adds %d, RecordSize says %d", got, RecordSize(200))
	}
	// The uvarints of first and count are sized too.
	b.First = 1 << 40
	b.Records[1] = b.Records[0]
	p, err := AppendBatch(nil, b)
	if err != nil || len(p) != b.Size() {
		t.Errorf("encoded %d bytes (%v), Size says %d", len(p), err, b.Size())
	}
}
