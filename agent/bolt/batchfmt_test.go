package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/udi-edge/udi-edge/agent"
)

// testRecords returns the records of n movements of a test stream, as the
// ledger of testGateway stores them.
func testRecords(t testing.TB, n int) ([]agent.Movement, [][]byte) {
	t.Helper()
	var ms []agent.Movement
	var recs [][]byte
	for i := range n {
		m := movementN("rec", i)
		m.Gateway = testGateway
		rec, err := encodeRecord(&m)
		if err != nil {
			t.Fatal(err)
		}
		ms, recs = append(ms, m), append(recs, rec)
	}
	return ms, recs
}

// rawBatches returns the values of the movements bucket of a closed
// ledger file by their first sequence number.
func rawBatches(t testing.TB, path string) map[uint64][]byte {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := make(map[uint64][]byte)
	err = db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMovements).ForEach(func(k, v []byte) error {
			out[binary.BigEndian.Uint64(k)] = bytes.Clone(v)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBatchRoundTrip(t *testing.T) {
	for _, n := range []int{1, 2, 17, 300} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			ms, recs := testRecords(t, n)
			v := appendBatch([]byte("prefix"), recs)[len("prefix"):]
			size := batchHeaderSize(n)
			for _, r := range recs {
				size += len(r)
			}
			if len(v) != size {
				t.Fatalf("batch of %d bytes, want %d", len(v), size)
			}
			const first = 1000
			b, err := parseBatch(first, v)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.check(); err != nil {
				t.Fatal(err)
			}
			if b.N != n || b.Last() != first+uint64(n)-1 {
				t.Fatalf("n %d last %d", b.N, b.Last())
			}
			got, err := decodeBatch(first, v)
			if err != nil {
				t.Fatal(err)
			}
			for i := range n {
				want := ms[i]
				want.Seq = first + uint64(i)
				if !sameMovement(got[i], want) {
					t.Fatalf("record %d: %+v, want %+v", i, got[i], want)
				}
				m, err := b.movement(want.Seq)
				if err != nil || !sameMovement(m, want) {
					t.Fatalf("movement(%d) = %+v, %v", want.Seq, m, err)
				}
			}
		})
	}
}

// Two values of batchValueSize and their keys fill whole leaf pages.
func TestBatchValueSize(t *testing.T) {
	for _, ps := range []int{4096, 8192, 16384, 65536} {
		size := batchValueSize(ps)
		leaf := 16 + 2*(16+8+size)
		if leaf%ps != 0 || leaf < 16<<10 {
			t.Errorf("page size %d: values of %d make leaves of %d bytes", ps, size, leaf)
		}
	}
}

func TestBatchCorrupt(t *testing.T) {
	_, recs := testRecords(t, 5)
	v := appendBatch(nil, recs)
	const first = 7
	hdr := batchHeaderSize(len(recs))

	t.Run("every truncation", func(t *testing.T) {
		for n := 0; n < len(v); n++ {
			if _, err := decodeBatch(first, v[:n]); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("truncated to %d bytes: err = %v", n, err)
			}
		}
	})
	t.Run("every bit flip in the header", func(t *testing.T) {
		for i := range hdr {
			for bit := range 8 {
				b := bytes.Clone(v)
				b[i] ^= 1 << bit
				_, err := decodeBatch(first, b)
				wantCorrupt(t, err, first)
			}
		}
	})
	t.Run("every bit flip in a record", func(t *testing.T) {
		start := hdr
		for r, rec := range recs {
			for i := range rec {
				b := bytes.Clone(v)
				b[start+i] ^= 1 << (i % 8)
				seq := first + uint64(r)
				_, err := decodeBatch(first, b)
				wantCorrupt(t, err, seq)
				// The constant-time lookup names the same movement, and
				// leaves the batch's other records readable.
				pb, err := parseBatch(first, b)
				if err != nil {
					t.Fatal(err)
				}
				_, err = pb.movement(seq)
				wantCorrupt(t, err, seq)
				other := first + uint64((r+1)%len(recs))
				if _, err := pb.movement(other); err != nil {
					t.Fatalf("record %d damaged, movement %d: %v", r, other, err)
				}
			}
			start += len(rec)
		}
	})
	t.Run("damaged end is put down to the header", func(t *testing.T) {
		b := bytes.Clone(v)
		b[1+4+batchEntry*2+3] ^= 0x01 // record 2 ends a byte off
		pb, err := parseBatch(first, b)
		if err != nil {
			t.Fatal(err)
		}
		_, err = pb.movement(first + 2)
		wantCorrupt(t, err, first)
		if m, err := pb.movement(first); err != nil || m.Seq != first {
			t.Errorf("undamaged record 0: %v", err)
		}
	})
	withHeaderCRC := func(b []byte) []byte {
		return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	}
	ends := func(es ...uint32) []byte {
		b := binary.BigEndian.AppendUint32([]byte{batchVersion}, uint32(len(es)))
		for _, e := range es {
			b = binary.BigEndian.AppendUint32(b, e)
		}
		return b
	}
	r0 := recs[0]
	tests := map[string][]byte{
		"empty":              nil,
		"unknown version":    append([]byte{9}, v[1:]...),
		"count zero":         withHeaderCRC(ends()),
		"count too large":    append(withHeaderCRC(ends(uint32(len(r0)))[:5]), make([]byte, 8)...),
		"ends backwards":     append(withHeaderCRC(ends(uint32(len(r0)), 3)), r0...),
		"ends past the end":  append(withHeaderCRC(ends(uint32(len(r0)+1))), r0...),
		"ends short of end":  append(withHeaderCRC(ends(uint32(len(r0)-1))), r0...),
		"record too short":   append(withHeaderCRC(ends(2, uint32(len(r0)))), r0...),
		"header crc damaged": append(append(ends(uint32(len(r0))), 0, 0, 0, 0), r0...),
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := decodeBatch(first, b)
			wantCorrupt(t, err, first)
		})
	}
	if _, err := parseBatch(1<<64-1, appendBatch(nil, recs)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("batch past the end of the sequence: %v", err)
	}
}

// A transaction's records are split into batches that stay under the
// value size; a record larger than that is a batch of its own.
func TestTransactionSplitsIntoBatches(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := Open(Options{Path: path, Gateway: testGateway, MaxBatch: 1000, MaxDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	o := newOutcomes()
	const n = 1000
	for i := range n {
		m := movementN("s", i)
		if i == 500 {
			m.Raw = bytes.Repeat([]byte{'x'}, 3*l.batchSize)
		}
		l.Submit(m, o.done(i))
	}
	o.wg.Wait()
	if s := l.Stats(); s.Transactions != 1 || s.Movements != n {
		t.Fatalf("Stats %+v, want one transaction", s)
	}
	size := l.batchSize
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	batches := rawBatches(t, path)
	if len(batches) < 3 {
		t.Fatalf("%d batches for %d movements", len(batches), n)
	}
	var next uint64 = 1
	for len(batches) > 0 {
		v, ok := batches[next]
		if !ok {
			t.Fatalf("no batch starts at %d", next)
		}
		delete(batches, next)
		b, err := parseBatch(next, v)
		if err != nil {
			t.Fatal(err)
		}
		if len(v) > size && b.N > 1 {
			t.Errorf("batch at %d: %d records in %d bytes, over %d", next, b.N, len(v), size)
		}
		if next <= 501 && 501 <= b.Last() && b.N != 1 {
			t.Errorf("the large record shares its batch with %d others", b.N-1)
		}
		next = b.Last() + 1
	}
	if next != n+1 {
		t.Errorf("batches end at %d", next-1)
	}
	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	for seq := uint64(0); seq <= n+1; seq++ {
		m, err := ro.Get(seq)
		switch {
		case seq == 0 || seq == n+1:
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("Get(%d) = %v, want ErrNotFound", seq, err)
			}
		case err != nil || m.Seq != seq || m.Station != "s":
			t.Fatalf("Get(%d) = %+v, %v", seq, m, err)
		}
	}
	if err := ro.Verify(context.Background()); err != nil {
		t.Error(err)
	}
}

// realBatches returns batch values as a ledger writes them: one-record
// batches from a trickle and a larger one from a burst, with a rejected
// read and several zones among them.
func realBatches(t testing.TB) [][]byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := Open(Options{Path: path, Gateway: "or-3", MaxBatch: 6})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sample := sampleMovement(t)
	sample.Gateway, sample.PrevHash, sample.Hash = "", nil, nil
	for _, m := range []agent.Movement{sample, movementN("t", 16)} {
		if _, err := l.Append(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	o := newOutcomes()
	for i := range 6 {
		m := movementN("b", i+13)
		if i == 2 {
			m.Time = m.Time.In(time.FixedZone("X", 3600))
		}
		l.Submit(m, o.done(i))
	}
	o.wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, v := range rawBatches(t, path) {
		out = append(out, v)
	}
	return out
}

func FuzzDecodeBatch(f *testing.F) {
	for _, v := range realBatches(f) {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		checkBatchDecode(t, v)
		// With its header checksum made right, the input reaches the checks
		// of the count and the ends.
		if len(v) >= batchFixed {
			n := int(min(binary.BigEndian.Uint32(v[1:5]), uint32(len(v))))
			if hdr := batchHeaderSize(n); hdr <= len(v) {
				b := bytes.Clone(v)
				binary.BigEndian.PutUint32(b[hdr-crcSize:], crc32.Checksum(b[:hdr-crcSize], castagnoli))
				checkBatchDecode(t, b)
			}
		}
	})
}

// checkBatchDecode decodes v as the batch of movements from 100 on. An
// error must be a *CorruptError naming a movement of the batch; a batch that
// decodes must give the same movements through the constant-time lookup, and
// re-encoded must decode to itself.
func checkBatchDecode(t *testing.T, v []byte) {
	const first uint64 = 100
	ms, err := decodeBatch(first, v)
	if err != nil {
		var ce *CorruptError
		if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v is not a CorruptError", err)
		}
		if ce.Seq < first {
			t.Fatalf("error names movement %d, before the batch", ce.Seq)
		}
		if b, err := parseBatch(first, v); err == nil {
			for seq := first; seq <= b.Last(); seq++ {
				_, _ = b.movement(seq) // must not panic
			}
		}
		return
	}
	b, err := parseBatch(first, v)
	if err != nil || b.N != len(ms) {
		t.Fatalf("decodeBatch gave %d movements, parseBatch %v", len(ms), err)
	}
	recs := make([][]byte, 0, len(ms))
	for i, m := range ms {
		seq := first + uint64(i)
		got, err := b.movement(seq)
		if err != nil || m.Seq != seq || !sameMovement(got, m) {
			t.Fatalf("movement %d: %+v, %v; decodeBatch gave %+v", seq, got, err, m)
		}
		rec, err := encodeRecord(&m)
		if err != nil {
			return // a kind the ledger would not write; decoding it is still fine
		}
		recs = append(recs, rec)
	}
	again, err := decodeBatch(first, appendBatch(nil, recs))
	if err != nil {
		t.Fatalf("re-encoded batch: %v", err)
	}
	for i := range ms {
		if !sameMovement(ms[i], again[i]) {
			t.Fatalf("re-encoding changed movement %d:\n%+v\n%+v", ms[i].Seq, ms[i], again[i])
		}
	}
}
