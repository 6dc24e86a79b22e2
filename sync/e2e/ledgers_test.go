package e2e_test

// Ledgers: filled before a gateway starts, read after it stopped, and
// compared movement by movement with what the centre stored.

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
)

// backlogGTIN is the GTIN of the items in filled ledgers.
const backlogGTIN = "09506000134352"

// backlogItem is the key of item i of gateway's backlog.
func backlogItem(gateway string, i int) string {
	return fmt.Sprintf("(01)%s(21)%s-%06d", backlogGTIN, gateway, i)
}

// backlogMovement is movement i of gateway's backlog: a receipt at the
// dock, as recorded days ago.
func backlogMovement(gateway string, i int) agent.Movement {
	serial := fmt.Sprintf("%s-%06d", gateway, i)
	return agent.Movement{
		Time:     time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
		Kind:     agent.KindReceive,
		Item:     backlogItem(gateway, i),
		GTIN:     backlogGTIN,
		Serial:   serial,
		Lot:      "L2026-11",
		Expiry:   "2028-05-31",
		Location: "DOCK",
		Station:  "dock-1",
		Raw:      []byte("]d201" + backlogGTIN + "10L2026-11\x1d21" + serial),
		Decision: "accepted",
	}
}

// fillLedger adds n movements made by mk (backlogMovement when nil) to
// the gateway's ledger file, creating it, while the gateway is stopped.
// extra are appended after them.
func fillLedger(t testing.TB, g *gateway, n int, mk func(gateway string, i int) agent.Movement, extra ...agent.Movement) {
	t.Helper()
	if mk == nil {
		mk = backlogMovement
	}
	l, err := bolt.Open(bolt.Options{Path: g.store, Gateway: g.id})
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		first  error
		before = l.LastSeq()
	)
	done := func(_ agent.Movement, err error) {
		if err != nil {
			mu.Lock()
			if first == nil {
				first = err
			}
			mu.Unlock()
		}
		wg.Done()
	}
	wg.Add(n + len(extra))
	for i := 1; i <= n; i++ {
		l.Submit(mk(g.id, i), done)
	}
	for _, m := range extra {
		l.Submit(m, done)
	}
	wg.Wait()
	if got, want := l.LastSeq(), before+uint64(n+len(extra)); first != nil || got != want {
		t.Fatalf("filling %s: %v; last movement %d, want %d", g.store, first, got, want)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

// ledgerCopy is what a stopped gateway's ledger file holds.
type ledgerCopy struct {
	gateway string
	created int64
	last    uint64
	cursor  uint64
	recs    [][]byte // recs[i] is movement i+1, as the ledger seals it
	hashes  [][]byte // hashes[i] is movement i+1's Hash, from Range
	items   []string // items[i] is movement i+1's item key
}

// readLedger reads a stopped gateway's ledger file.
func readLedger(t testing.TB, g *gateway) ledgerCopy {
	t.Helper()
	l, err := bolt.OpenReadOnly(g.store, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	lc := ledgerCopy{gateway: l.Gateway(), created: l.Created().UnixNano(), last: l.LastSeq()}
	if lc.cursor, err = l.SyncCursor(); err != nil {
		t.Fatal(err)
	}
	for next := uint64(1); next <= lc.last; {
		recs, err := l.ReadRecords(next, 4096, 4<<20)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			t.Fatalf("%s: no record from %d on, last %d", g.store, next, lc.last)
		}
		lc.recs = append(lc.recs, recs...)
		next += uint64(len(recs))
	}
	err = l.Range(1, func(m agent.Movement) error {
		if m.Seq != uint64(len(lc.hashes))+1 {
			return fmt.Errorf("Range gave movement %d after %d", m.Seq, len(lc.hashes))
		}
		lc.hashes = append(lc.hashes, m.Hash)
		lc.items = append(lc.items, m.Item)
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", g.store, err)
	}
	if uint64(len(lc.recs)) != lc.last || uint64(len(lc.hashes)) != lc.last {
		t.Fatalf("%s: %d records and %d movements, last %d", g.store, len(lc.recs), len(lc.hashes), lc.last)
	}
	return lc
}

// verifyDelivered stops nothing: c and every gateway must be stopped. It
// checks, from their files, that each gateway's cursor reached its last
// movement and that the centre holds every movement of each gateway's
// ledger exactly once, in order, byte for byte, each record checking and
// linking to the one before it (movement 1 to the genesis hash), and
// nothing else. It returns the ledgers read.
func verifyDelivered(t testing.TB, c *centre, gws ...*gateway) []ledgerCopy {
	t.Helper()
	if c.running() {
		t.Fatal("verifyDelivered: the centre is running")
	}
	st, err := boltstore.OpenReadOnly(c.store, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	return verifyStored(t, st, gws...)
}

// verifyStored is verifyDelivered on the centre's store st.
func verifyStored(t testing.TB, st central.Store, gws ...*gateway) []ledgerCopy {
	t.Helper()
	ctx := context.Background()
	heads, err := st.Ledgers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(heads) != len(gws) {
		t.Errorf("the centre holds %d ledgers, want %d: %+v", len(heads), len(gws), heads)
	}
	var out []ledgerCopy
	for _, g := range gws {
		if g.running() {
			t.Fatalf("verifyDelivered: %s is running", g.name)
		}
		lc := readLedger(t, g)
		out = append(out, lc)
		if lc.cursor != lc.last {
			t.Errorf("%s: sync cursor %d, last movement %d", g.id, lc.cursor, lc.last)
		}
		var head *central.Head
		for i := range heads {
			if heads[i].Gateway == g.id {
				if head != nil {
					t.Errorf("%s: the centre holds two ledgers of it: created %d and %d", g.id, head.Created, heads[i].Created)
				}
				head = &heads[i]
			}
		}
		switch {
		case head == nil:
			t.Errorf("%s: the centre holds no ledger of it", g.id)
			continue
		case head.Created != lc.created || head.Site != g.site || head.Seq != lc.last || !bytes.Equal(head.Hash[:], lc.hashes[lc.last-1]):
			t.Errorf("%s: centre head %s/%d seq %d hash %x; gateway ledger created %d, last %d, hash %x",
				g.id, head.Site, head.Created, head.Seq, head.Hash[:4], lc.created, lc.last, lc.hashes[lc.last-1][:4])
		}
		prev := record.Genesis(g.id, uint64(lc.created))
		var n uint64
		err := st.Range(ctx, g.id, lc.created, 0, func(seq uint64, rec []byte) error {
			n++
			if seq != n {
				return fmt.Errorf("the centre's movement #%d has seq %d: a gap, a duplicate or disorder", n, seq)
			}
			if seq > lc.last {
				return fmt.Errorf("the centre holds movement %d beyond the gateway's last %d", seq, lc.last)
			}
			p, h, err := record.Check(seq, rec)
			if err != nil {
				return fmt.Errorf("movement %d does not check: %w", seq, err)
			}
			if p != prev {
				return fmt.Errorf("movement %d: PrevHash %x is not the Hash %x of the movement before", seq, p[:4], prev[:4])
			}
			if !bytes.Equal(h[:], lc.hashes[seq-1]) {
				return fmt.Errorf("movement %d: Hash %x at the centre, %x at the gateway", seq, h[:4], lc.hashes[seq-1][:4])
			}
			if !bytes.Equal(rec, lc.recs[seq-1]) {
				return fmt.Errorf("movement %d: the centre's record differs from the gateway's", seq)
			}
			prev = h
			return nil
		})
		if err != nil {
			t.Errorf("%s: %v", g.id, err)
		} else if n != lc.last {
			t.Errorf("%s: the centre holds %d movements, the gateway %d", g.id, n, lc.last)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return out
}
