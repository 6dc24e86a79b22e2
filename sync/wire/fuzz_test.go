package wire

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeBatch checks that DecodeBatch never panics, and that whatever
// it accepts encodes back to the same bytes: a batch has one encoding.
func FuzzDecodeBatch(f *testing.F) {
	for _, s := range batchSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		b, err := DecodeBatch(p)
		if err != nil {
			if b != nil {
				t.Fatal("a batch with an error")
			}
			return
		}
		q, err := AppendBatch(nil, b)
		if err != nil {
			t.Fatalf("accepted batch does not encode: %v", err)
		}
		if !bytes.Equal(p, q) {
			t.Fatalf("re-encoded differs:\n%x\n%x", p, q)
		}
	})
}

// FuzzDecodeMaster checks that DecodeMaster never panics, and that
// whatever it accepts encodes and decodes back to the same value.
func FuzzDecodeMaster(f *testing.F) {
	for _, s := range masterSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := DecodeMaster(p)
		if err != nil {
			return
		}
		q, err := EncodeMaster(m)
		if err != nil {
			t.Fatalf("accepted master does not encode: %v", err)
		}
		m2, err := DecodeMaster(q)
		if err != nil || m2 != m {
			t.Fatalf("round trip: %+v, %v; want %+v", m2, err, m)
		}
	})
}

// FuzzDecodeMasterPart checks that DecodeMasterPart never panics, that
// whatever it accepts encodes back to the same bytes (a part has one
// encoding), and that a part that is a whole set assembles to its own
// data, digest checked, or is refused.
func FuzzDecodeMasterPart(f *testing.F) {
	for _, s := range masterPartSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		m, err := DecodeMasterPart(p)
		if err != nil {
			if m != nil {
				t.Fatal("a part with an error")
			}
			return
		}
		q, err := AppendMasterPart(nil, m)
		if err != nil {
			t.Fatalf("accepted part does not encode: %v", err)
		}
		if !bytes.Equal(p, q) {
			t.Fatalf("re-encoded differs:\n%x\n%x", p, q)
		}
		if m.Count > 1 {
			return
		}
		// A part that is the whole set: assembled at once, or refused.
		var a MasterAssembler
		s, err := a.Add(m)
		if (s == nil) == (err == nil) || s != nil && (!bytes.Equal(s.Data, m.Data) || sha256.Sum256(s.Data) != m.SHA256) {
			t.Fatalf("a part of one: %v, %v", s, err)
		}
	})
}

func batchSeeds(tb testing.TB) map[string][]byte {
	good, err := AppendBatch(nil, testBatch(tb, 1, 3))
	if err != nil {
		tb.Fatal(err)
	}
	later, _ := AppendBatch(nil, testBatch(tb, 300, 2))
	rec := chain(tb, 1, 1)[0]
	v2 := bytes.Clone(good[:len(good)-4])
	v2[4] = 2
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x10
	return map[string][]byte{
		"three":          good,
		"later":          later,
		"truncated":      good[:len(good)/2],
		"flipped":        flipped,
		"count-zero":     header(1).uv(0).crc(),
		"count-huge":     header(1).uv(MaxBatchCount).uv(uint64(len(rec))).bytes(rec...).crc(),
		"non-minimal":    header(1).bytes(0x81, 0x00).uv(uint64(len(rec))).bytes(rec...).crc(),
		"version-2":      raw(v2).crc(),
		"master-gateway": raw("UDIB\x01").str("master").str(testSite).u64(1).uv(1).uv(1).uv(uint64(len(rec))).bytes(rec...).crc(),
	}
}

func masterSeeds() map[string][]byte {
	good, _ := EncodeMaster(NewMaster(SetRecalls, 17, FormatCSV, []byte("gtin,lot,serial,reason,date\n04012345678901,L1,,recall,2026-11-25\n")))
	js, _ := EncodeMaster(NewMaster(SetCatalogue, 1, FormatJSON, []byte(`[{"gtin":"04012345678901","name":"Stent \u00e9"}]`)))
	return map[string][]byte{
		"csv":       good,
		"json":      js,
		"checksum":  bytes.Replace(good, []byte(`"version":17`), []byte(`"version":18,"x":1`), 1),
		"v2":        bytes.Replace(good, []byte(`"v":1`), []byte(`"v":2`), 1),
		"escaped":   []byte(`{"v":1,"set":"par","version":1,"format":"csv","sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","data":""}`),
		"truncated": good[:len(good)/2],
	}
}

func masterPartSeeds() map[string][]byte {
	data := []byte("gtin,name,unit_price\n06901234100013,髋关节假体 股骨柄,6850.00\n")
	parts, _ := SplitMaster(SetCatalogue, 1_764_028_800_000, FormatCSV, data, 16)
	first, _ := AppendMasterPart(nil, &parts[0])
	mid, _ := AppendMasterPart(nil, &parts[2])
	last, _ := AppendMasterPart(nil, &parts[len(parts)-1])
	whole, _ := SplitMaster(SetRecalls, 3, FormatJSON, []byte(`[]`), 1<<20)
	one, _ := AppendMasterPart(nil, &whole[0])
	empty, _ := SplitMaster(SetPar, 1, FormatCSV, nil, 1)
	none, _ := AppendMasterPart(nil, &empty[0])
	flipped := bytes.Clone(mid)
	flipped[len(flipped)/2] ^= 0x20
	sum := sha256.Sum256(data)
	return map[string][]byte{
		"first":       first,
		"middle":      mid,
		"last":        last,
		"one":         one,
		"empty":       none,
		"flipped":     flipped,
		"truncated":   mid[:len(mid)-3],
		"count-wrong": rawPart(SetCatalogue, FormatCSV, 9, 40, 16, 4, 0, sum, "0123456789abcdef").crc(),
		"index-out":   rawPart(SetCatalogue, FormatCSV, 9, 40, 16, 3, 3, sum, "01234567").crc(),
		"huge":        rawPart(SetCatalogue, FormatCSV, 9, MaxMasterSize, 1, MaxMasterSize, 0, sum, "0").crc(),
		"non-minimal": raw(MasterPartMagic).bytes(MasterPartVersion).str(SetPar).str(FormatCSV).bytes(0x81, 0x00).uv(0).uv(1).uv(1).uv(0).bytes(sum[:]...).crc(),
	}
}

// TestWriteFuzzCorpus writes the seed corpus under testdata/fuzz when
// UPDATE_CORPUS is set: go test -run WriteFuzzCorpus ./sync/wire/ with
// UPDATE_CORPUS=1.
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("UPDATE_CORPUS") == "" {
		t.Skip("set UPDATE_CORPUS=1 to rewrite testdata/fuzz")
	}
	write := func(fuzz string, seeds map[string][]byte) {
		dir := filepath.Join("testdata", "fuzz", fuzz)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, p := range seeds {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", p)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("FuzzDecodeBatch", batchSeeds(t))
	write("FuzzDecodeMaster", masterSeeds())
	write("FuzzDecodeMasterPart", masterPartSeeds())
}
