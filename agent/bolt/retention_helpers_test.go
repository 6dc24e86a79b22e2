package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt/carry"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/agent/stock"
)

// orStart is the first day of the simulated operating rooms.
var orStart = time.Date(2025, 1, 1, 7, 0, 0, 0, time.FixedZone("CST", 8*3600))

// orSim writes the movements of a store and an operating room, day by
// day, through a ledger: every life the folds know (units received,
// stocked, issued, used, wasted, quarantined and disposed of; units left
// on the shelf; lots scanned unit by unit; tags commissioned to items
// and read in a cabinet; consigned items used and refilled;
// replenishment requests and their meeting; rejected reads and context
// scans), so that what a cut must keep is all there.
type orSim struct {
	t   testing.TB
	l   *Ledger
	rnd *rand.Rand
	day int
	n   int // serials handed out
	// shelf holds the units received and not used yet, by key.
	shelf []string
	open  map[string]uint64 // product → open request's seq
	// perDay scales the day: units received a day.
	perDay int
	// st is the gateway's stock, which says when a request is met (the
	// core records it, as here).
	st  *stock.Stock
	wg  sync.WaitGroup
	mu  sync.Mutex
	err error
}

func newORSim(t testing.TB, l *Ledger, perDay int) *orSim {
	return &orSim{t: t, l: l, rnd: rand.New(rand.NewPCG(1, 2)), open: map[string]uint64{}, perDay: perDay, st: stock.New()}
}

const (
	simGTIN     = "09520123456788"
	simLotGTIN  = "06901234567892"
	simConsGTIN = "04012345678901"
)

func (s *orSim) at(minute int) time.Time {
	return orStart.AddDate(0, 0, s.day).Add(time.Duration(minute) * time.Minute)
}

func unitKey(gtin, serial string) string { return "(01)" + gtin + "(21)" + serial }

// add submits m; flush waits for every movement submitted.
func (s *orSim) add(m agent.Movement) {
	if m.Station == "" {
		m.Station = "scanner-or3"
	}
	s.wg.Add(1)
	s.l.Submit(m, func(got agent.Movement, err error) {
		defer s.wg.Done()
		if err != nil {
			s.mu.Lock()
			s.err = fmt.Errorf("day %d: %s %s: %w", s.day, m.Kind, m.Item, err)
			s.mu.Unlock()
			return
		}
		s.st.Apply(got) // the writer calls back in order
	})
}

// flush waits for the movements submitted and fails the test on an
// error.
func (s *orSim) flush() {
	s.t.Helper()
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		s.t.Fatal(s.err)
	}
}

// runDays simulates days more days.
func (s *orSim) runDays(days int) {
	for range days {
		s.oneDay()
		s.flush()
		s.day++
	}
}

func (s *orSim) oneDay() {
	minute := 0
	next := func() time.Time { minute++; return s.at(minute) }
	// Receipts at the store, put away into the OR.
	for range s.perDay {
		s.n++
		serial := fmt.Sprintf("S%07d", s.n)
		gtin := simGTIN
		var flags []string
		if s.n%7 == 0 {
			gtin, flags = simConsGTIN, []string{agent.ConsignedFlag("ACME")}
		}
		key := unitKey(gtin, serial)
		exp := orStart.AddDate(2, 0, s.day).Format("2006-01-02")
		s.add(agent.Movement{Time: next(), Kind: agent.KindReceive, Item: key, GTIN: gtin, Serial: serial, Lot: fmt.Sprintf("L%d", s.day/30), Expiry: exp, Location: "store", Flags: flags})
		s.add(agent.Movement{Time: next(), Kind: agent.KindStock, Item: key, GTIN: gtin, Serial: serial, Location: "OR-3", Flags: flags})
		if s.n%11 == 0 { // a tag for the cabinet
			tag := fmt.Sprintf("urn:epc:id:sgtin:952012.345678.%d", s.n)
			s.add(agent.Movement{Time: next(), Kind: agent.KindCommission, Item: key, Tag: tag, Location: "OR-3"})
			s.add(agent.Movement{Time: next(), Kind: agent.KindCount, Item: tag, Location: "OR-3", Symbology: agent.SymbologyEPC})
		}
		s.shelf = append(s.shelf, key)
		if s.rnd.IntN(4) == 0 && s.open[gtin] == 0 && s.day > 0 {
			r := agent.Request{Quantity: 3, Urgency: agent.UrgencyRoutine, OnHand: 1, ReorderPoint: 2, Max: 4}
			s.add(agent.Movement{Time: next(), Kind: agent.KindContext, Item: gtin, Location: "OR-3", Reason: agent.RequestReason(r), Flags: []string{agent.FlagReplenish}})
			s.open[gtin] = 1
		}
	}
	// A case: uses of units that came days ago, a lot scanned unit by
	// unit, now and then a waste, a quarantine and its disposal, an
	// issue never used.
	s.add(agent.Movement{Time: next(), Kind: agent.KindContext, Location: "OR-3", Case: fmt.Sprintf("C%d", s.day), Reason: "case open"})
	uses, done := s.perDay-1+s.rnd.IntN(3), 0
	for i := 0; i < len(s.shelf) && done < uses; i++ {
		if s.rnd.IntN(10) == 0 { // stays on the shelf a while longer
			continue
		}
		done++
		key := s.shelf[i]
		var flags []string
		if gtinOf(key) == simConsGTIN {
			flags = []string{agent.ConsignedFlag("ACME")}
		}
		switch s.rnd.IntN(20) {
		case 0:
			s.add(agent.Movement{Time: next(), Kind: agent.KindWaste, Item: key, Location: "OR-3", Reason: "dropped"})
		case 1:
			s.add(agent.Movement{Time: next(), Kind: agent.KindQuarantine, Item: key, Location: "OR-3"})
			if s.rnd.IntN(2) == 0 {
				s.add(agent.Movement{Time: next(), Kind: agent.KindDispose, Item: key, Location: "OR-3"})
			}
		case 2:
			s.add(agent.Movement{Time: next(), Kind: agent.KindIssue, Item: key, Location: "OR-3"})
		default:
			s.add(agent.Movement{Time: next(), Kind: agent.KindUse, Item: key, Location: "OR-3", Case: fmt.Sprintf("C%d", s.day), Flags: flags})
		}
		s.shelf[i] = ""
	}
	kept := s.shelf[:0]
	for _, k := range s.shelf {
		if k != "" {
			kept = append(kept, k)
		}
	}
	s.shelf = kept
	lot := fmt.Sprintf("(01)%s(10)B%d", simLotGTIN, s.day/20)
	for range 3 {
		s.add(agent.Movement{Time: next(), Kind: agent.KindReceive, Item: lot, GTIN: simLotGTIN, Lot: fmt.Sprintf("B%d", s.day/20), Location: "OR-3"})
	}
	for range 2 + s.rnd.IntN(2) {
		s.add(agent.Movement{Time: next(), Kind: agent.KindUse, Item: lot, GTIN: simLotGTIN, Location: "OR-3", Case: fmt.Sprintf("C%d", s.day)})
	}
	s.add(agent.Movement{Time: next(), Kind: agent.KindReject, Station: "scanner-or3", Raw: []byte("garbage"), Reason: "unreadable"})
	// Requests met by what arrived: the gateway records the meeting.
	s.flush()
	for _, r := range s.st.Met() {
		s.add(agent.Movement{Time: next(), Kind: agent.KindContext, Item: r.Product, Location: r.Location, Reason: agent.MetReason(r.Seq, r.Arrived), Flags: []string{agent.FlagMet}})
		delete(s.open, r.Product)
	}
	// A request for the consigned product clears its refills.
	if s.day%3 == 2 {
		r := agent.Request{Quantity: 2, Urgency: agent.UrgencyRefill, Max: 2}
		s.add(agent.Movement{Time: next(), Kind: agent.KindContext, Item: simConsGTIN, Location: "OR-3", Reason: agent.RequestReason(r),
			Flags: []string{agent.FlagReplenish, agent.ConsignedFlag("ACME")}})
	}
}

func gtinOf(key string) string {
	if len(key) >= 18 {
		return key[4:18]
	}
	return ""
}

// stockFolds is the gateway's Folds (agent/bolt/carry), as the agent
// hands them to its ledger.
var stockFolds = Folds{Needed: carry.Needed, Proof: func(d *master.Data) Proof { return carry.NewProof(d) }}

// stockOf folds the ledger's movements as the gateway's stock keeper
// does.
func stockOf(t testing.TB, l *Ledger) *stock.Stock {
	t.Helper()
	k := stock.NewKeeper(l.Range, nil)
	st, err := k.Stock(context.Background())
	if err != nil {
		t.Fatalf("stock: %v", err)
	}
	return st
}

// openRetention opens a ledger in a temporary directory for the
// retention tests, verified on cleanup.
func openRetention(t testing.TB) *Ledger {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := Open(Options{Path: path, Gateway: testGateway})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if tt, ok := t.(*testing.T); ok {
			checkFile(tt, path)
		}
	})
	return l
}

// fileSize returns the size of the file at path.
func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// copyLedger copies the ledger file at path into a new temporary
// directory and returns the copy's path.
func copyLedger(t *testing.T, path string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "copy.db")
	copyFile(t, path, out)
	return out
}

// boltTx is a write transaction of a ledger file edited behind the
// ledger's back.
type boltTx struct{ tx *bolt.Tx }

// editFile runs fn in a write transaction of the bbolt file at path.
func editFile(t *testing.T, path string, fn func(t *testing.T, tx *boltTx)) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error { fn(t, &boltTx{tx}); return nil }); err != nil {
		t.Fatal(err)
	}
}

// firstCarried returns the key and record of the first carried movement.
func (b *boltTx) firstCarried(t *testing.T) ([]byte, []byte) {
	cb := b.tx.Bucket(bucketCarried)
	if cb == nil {
		t.Fatal("no carried movement")
	}
	k, v := cb.Cursor().First()
	if k == nil {
		t.Fatal("no carried movement")
	}
	return bytes.Clone(k), bytes.Clone(v)
}

// flipCarried changes a byte of the first carried movement's location
// (its CRC fixed, so that only its hash tells).
func (b *boltTx) flipCarried(t *testing.T) {
	k, v := b.firstCarried(t)
	i := bytes.Index(v, []byte("store"))
	if i < 0 {
		t.Fatal("carried record holds no location store")
	}
	v[i] = 'S'
	resealCRC(v)
	if err := b.tx.Bucket(bucketCarried).Put(k, v); err != nil {
		t.Fatal(err)
	}
}

func (b *boltTx) deleteCarried(t *testing.T) {
	k, _ := b.firstCarried(t)
	if err := b.tx.Bucket(bucketCarried).Delete(k); err != nil {
		t.Fatal(err)
	}
}

// changeAnchorHash changes the anchor's PrevHash, the anchor kept
// otherwise well formed.
func (b *boltTx) changeAnchorHash(t *testing.T) {
	meta := b.tx.Bucket(bucketMeta)
	a, err := parseAnchor(meta.Get(metaAnchor))
	if err != nil {
		t.Fatal(err)
	}
	a.PrevHash[0] ^= 1
	if err := meta.Put(metaAnchor, appendAnchor(nil, &a)); err != nil {
		t.Fatal(err)
	}
}

// resealCRC recomputes a record's trailing CRC-32C.
func resealCRC(rec []byte) {
	n := len(rec) - crcSize
	binary.BigEndian.PutUint32(rec[n:], crc32.Checksum(rec[:n], castagnoli))
}

// dataSize returns the bytes of the ledger's file bbolt uses: its high
// water mark, without the room it grew the file by ahead.
func dataSize(t testing.TB, l *Ledger) int64 {
	t.Helper()
	var n int64
	if err := l.view(func(tx *bolt.Tx) error { n = tx.Size(); return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}
