package bolt

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
)

// TestWriteFuzzCorpus rewrites the stored seed corpora of FuzzDecode and
// FuzzDecodeBatch from the current encoders, so that the seeds exercise
// the record and batch formats this build writes. It runs only with
// UDI_UPDATE_CORPUS=1 (after a format change); otherwise it checks that
// every stored seed of FuzzDecode is a record of the current version.
func TestWriteFuzzCorpus(t *testing.T) {
	m := sampleMovement(t)
	rec := func(edit func(*agent.Movement)) []byte {
		mm := m
		edit(&mm)
		b, err := encodeRecord(&mm)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	gs1 := rec(func(*agent.Movement) {})
	flipped := bytes.Clone(gs1)
	flipped[len(flipped)/2] ^= 0x20
	unknown := withCRC(append([]byte{recordVersion + 1}, gs1[1:len(gs1)-crcSize]...))
	records := map[string][]byte{
		"gs1-use-shanghai": gs1,
		"utc-receive": rec(func(m *agent.Movement) {
			m.Time, m.Kind = m.Time.UTC(), agent.KindReceive
		}),
		"new-york-transfer": rec(func(m *agent.Movement) {
			m.Kind = agent.KindTransfer
			if ny, err := time.LoadLocation("America/New_York"); err == nil {
				m.Time = m.Time.In(ny)
			}
		}),
		"fixed-zone-hibc": rec(func(m *agent.Movement) {
			m.Time = m.Time.In(time.FixedZone("CST", 8*3600))
			m.Item, m.GTIN, m.Serial = "+H123ORTHO551/SSN000193", "", "SN000193"
		}),
		"literal-kind": rec(func(m *agent.Movement) { m.Kind = "lend" }),
		"reject-no-item": rec(func(m *agent.Movement) {
			m.Kind, m.Item, m.GTIN, m.Time, m.Flags = agent.KindReject, "", "", time.Time{}, nil
		}),
		"zero-time-count": rec(func(m *agent.Movement) { m.Time, m.Kind = time.Time{}, agent.KindCount }),
		"flipped":         flipped,
		"truncated":       gs1[:len(gs1)/2],
		"unknown-version": unknown,
	}
	batches := realBatches(t)
	one := batches[0]
	burst := batches[len(batches)-1]
	headerFlipped := bytes.Clone(burst)
	headerFlipped[6] ^= 0x10
	recordFlipped := bytes.Clone(burst)
	recordFlipped[len(recordFlipped)-10] ^= 0x01
	countZero := bytes.Clone(one)
	countZero[1], countZero[2], countZero[3], countZero[4] = 0, 0, 0, 0
	batchSeeds := map[string][]byte{
		"one-record":     one,
		"burst-six":      burst,
		"header-flipped": headerFlipped,
		"record-flipped": recordFlipped,
		"count-zero":     countZero,
		"truncated":      burst[:len(burst)*2/3],
	}
	dirs := map[string]map[string][]byte{"FuzzDecode": records, "FuzzDecodeBatch": batchSeeds}
	if os.Getenv("UDI_UPDATE_CORPUS") != "1" {
		entries, err := os.ReadDir(filepath.Join("testdata", "fuzz", "FuzzDecode"))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzDecode", e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if want, ok := records[e.Name()]; !ok || !bytes.Equal(b, corpusFile(want)) {
				t.Errorf("seed %s is not what the current encoder writes: run UDI_UPDATE_CORPUS=1 go test -run TestWriteFuzzCorpus ./agent/bolt/", e.Name())
			}
		}
		return
	}
	for dir, seeds := range dirs {
		path := filepath.Join("testdata", "fuzz", dir)
		if err := os.RemoveAll(path); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(path, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range seeds {
			if err := os.WriteFile(filepath.Join(path, name), corpusFile(b), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// corpusFile is b in the go test fuzz corpus file format.
func corpusFile(b []byte) []byte {
	return fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b)
}
