package storetest

import (
	"crypto/sha256"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/central"
)

// Gen produces, quickly, the movements of one gateway's ledger as a
// hospital's backlog holds them, for benchmarks (agent/bolt
// BenchFillItems): Items items, each received and stocked in cartons
// (consecutive serials), then issued and used in no order; beyond that,
// counts of random items. So an item's index entries are scattered
// through a store, as they will be, and each item has four movements
// once 4*Items are made.
type Gen struct {
	Gateway string
	Created int64
	Items   int
	// Seq is the last movement made.
	Seq   uint64
	prev  [record.HashSize]byte
	issue []int
	use   []int
	rng   *rand.Rand
	base  agent.Movement
}

// NewGen returns a generator of gateway's ledger (created Created) of
// items items.
func NewGen(gateway string, items int) *Gen {
	r := rand.New(rand.NewPCG(1, 2))
	serial := "SN2405000001"
	return &Gen{
		Gateway: gateway, Created: Created, Items: items,
		prev:  record.Genesis(gateway, Created),
		issue: r.Perm(items), use: r.Perm(items), rng: r,
		base: agent.Movement{
			Gateway:    gateway,
			Time:       time.Date(2026, 5, 14, 9, 30, 12, 123456789, time.FixedZone("CST", 8*3600)),
			Item:       "(01)09520123456788(21)" + serial,
			GTIN:       "09520123456788",
			Serial:     serial,
			Lot:        "L2405A",
			Expiry:     "2028-05-31",
			Production: "2025-05-01",
			Location:   "OR-3",
			Station:    "scanner-or3-a",
			Symbology:  "]d2",
			Raw:        []byte("]d201095201234567881728053110L2405A\x1d21" + serial),
		},
	}
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ItemKey returns the key of item i.
func (g *Gen) ItemKey(i int) string { return fmt.Sprintf("(01)09520123456788(21)SN24%08d", i) }

// Next returns the next movement, as the service's checks make it.
func (g *Gen) Next(tb testing.TB) central.Stored {
	i, n := int(g.Seq), g.Items
	g.Seq++
	m := g.base
	switch phase := i / n; phase {
	case 0, 1:
		m.Kind, i = []agent.Kind{agent.KindReceive, agent.KindStock}[phase], i%n
	case 2:
		m.Kind, i = agent.KindIssue, g.issue[i%n]
	case 3:
		m.Kind, i = agent.KindUse, g.use[i%n]
	default:
		m.Kind, i = agent.KindCount, g.rng.IntN(n)
	}
	serial := fmt.Sprintf("SN24%08d", i)
	m.Item, m.Serial = "(01)09520123456788(21)"+serial, serial
	m.Raw = []byte("]d201095201234567881728053110L2405A\x1d21" + serial)
	rec, err := record.EncodeUnsealed(&m)
	if err != nil {
		tb.Fatal(err)
	}
	body := record.Body(rec)
	digest := sha256.Sum256(body)
	hash := record.ChainHash(g.Seq, &g.prev, &digest)
	record.Seal(rec, crc32.Checksum(body, castagnoli), &g.prev, &hash)
	s := central.NewStored(g.Seq, g.prev, hash, &m, rec)
	g.prev = hash
	return s
}

// Batch returns the next n movements.
func (g *Gen) Batch(tb testing.TB, n int) []central.Stored {
	out := make([]central.Stored, n)
	for i := range out {
		out[i] = g.Next(tb)
	}
	return out
}
