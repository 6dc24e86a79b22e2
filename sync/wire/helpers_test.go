package wire

import (
	"crypto/sha256"
	"encoding/binary"
	"hash/crc32"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/record"
)

const (
	testGateway = "or-3"
	testSite    = "st-marys"
	testCreated = int64(1764028800000000000)
)

// chain returns n sealed records of movements first.. of the ledger of
// testGateway created at testCreated, chained from prev (the genesis hash
// when first is 1).
func chain(t testing.TB, first uint64, n int) [][]byte {
	t.Helper()
	prev := record.Genesis(testGateway, uint64(testCreated))
	recs := make([][]byte, 0, n)
	for seq := uint64(1); seq < first+uint64(n); seq++ {
		m := agent.Movement{
			Gateway:  testGateway,
			Time:     time.Unix(0, testCreated+int64(seq)*int64(time.Second)).UTC(),
			Kind:     agent.KindReceive,
			Item:     "(01)04012345678901(21)S" + string(rune('A'+seq%26)),
			Location: "store",
		}
		rec, err := record.Encode(&m)
		if err != nil {
			t.Fatal(err)
		}
		digest := sha256.Sum256(record.Body(rec))
		hash := record.ChainHash(seq, &prev, &digest)
		record.Seal(rec, crc32.Checksum(record.Body(rec), crc32.MakeTable(crc32.Castagnoli)), &prev, &hash)
		if seq >= first {
			recs = append(recs, rec)
		}
		prev = hash
	}
	return recs
}

func testBatch(t testing.TB, first uint64, n int) *Batch {
	t.Helper()
	return &Batch{Gateway: testGateway, Site: testSite, Created: testCreated, First: first, Records: chain(t, first, n)}
}

// raw builds a batch field by field, without the encoder's checks; crc
// appends the right checksum.
type raw []byte

func (r raw) str(s string) raw    { return append(binary.AppendUvarint(r, uint64(len(s))), s...) }
func (r raw) uv(x uint64) raw     { return binary.AppendUvarint(r, x) }
func (r raw) u64(x uint64) raw    { return binary.BigEndian.AppendUint64(r, x) }
func (r raw) bytes(b ...byte) raw { return append(r, b...) }
func (r raw) crc() []byte {
	return binary.BigEndian.AppendUint32(r, crc32.Checksum(r, crc32.MakeTable(crc32.Castagnoli)))
}

// header returns a raw batch up to and including first.
func header(first uint64) raw {
	return raw(BatchMagic).bytes(BatchVersion).str(testGateway).str(testSite).u64(uint64(testCreated)).uv(first)
}
