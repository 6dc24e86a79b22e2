package central_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// gatedStore is a store whose Append waits while the gate is shut, so
// that a test can queue batches behind one being stored, and which
// records the movements of every Append and can refuse the next ones.
type gatedStore struct {
	*boltstore.Store
	open    chan struct{} // closed: Append goes ahead
	entered chan struct{} // receives when an Append starts

	mu      sync.Mutex
	appends [][2]uint64 // first and last movement of each Append
	refuse  int         // Appends of more than one movement to refuse
}

func (g *gatedStore) Append(ctx context.Context, site, gateway string, created int64, recs []central.Stored) (central.Head, int, error) {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	<-g.open
	g.mu.Lock()
	g.appends = append(g.appends, [2]uint64{recs[0].Seq, recs[len(recs)-1].Seq})
	refuse := g.refuse > 0 && len(recs) > 10
	if refuse {
		g.refuse--
	}
	g.mu.Unlock()
	if refuse { // as when another instance stored other movements meanwhile
		h, _ := g.Head(ctx, gateway, created)
		return h, 0, central.ConflictErr(gateway, created, recs[0].Seq)
	}
	return g.Store.Append(ctx, site, gateway, created, recs)
}

func (g *gatedStore) calls() [][2]uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([][2]uint64(nil), g.appends...)
}

// newGatedFixture is newFixture on a gatedStore, its gate shut; config,
// when given, adjusts the service's configuration.
func newGatedFixture(t *testing.T, config ...func(c *central.Config)) (*fixture, *gatedStore) {
	f := &fixture{t: t, path: filepath.Join(t.TempDir(), "central.db"), clock: &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}, logs: &syncBuffer{}}
	var err error
	if f.store, err = boltstore.Open(f.path); err != nil {
		t.Fatal(err)
	}
	g := &gatedStore{Store: f.store, open: make(chan struct{}), entered: make(chan struct{}, 1)}
	f.conn = testkit.NewConn()
	cfg := central.Config{
		Sites: []string{site}, Store: g, Conn: f.conn, Now: f.clock.Now, ResendTimeout: time.Minute, Workers: 1,
		Logger: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, c := range config {
		c(&cfg)
	}
	f.svc, err = central.NewService(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		select {
		case <-g.open:
		default:
			close(g.open)
		}
		f.stop()
	})
	return f, g
}

// queueBehind sends the batch first and, once it is held at the gate in
// Append, the others, which queue behind it (the Conn hands a message to
// the service's queue before it returns).
func (f *fixture) queueBehind(g *gatedStore, l *testkit.Ledger, first [2]uint64, rest ...[2]uint64) {
	f.t.Helper()
	f.send(l, first[0], first[1])
	g.waitEntered(f.t)
	for _, r := range rest {
		f.send(l, r[0], r[1])
	}
}

func (g *gatedStore) waitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-g.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("no Append within 5s")
	}
}

func TestServiceStoresQueuedBatchesInOneAppend(t *testing.T) {
	f, g := newGatedFixture(t)
	l := testkit.NewLedger(site, "or-3", created)
	l.AddN(t, 40)
	f.queueBehind(g, l, [2]uint64{1, 10}, [2]uint64{11, 20}, [2]uint64{21, 30}, [2]uint64{31, 40})
	close(g.open)
	ms := f.published(4)
	for i, seq := range []uint64{10, 20, 30, 40} { // every batch acknowledged, in order
		wantAck(t, ms[i], l, seq)
	}
	f.wantStored(l, 40)
	if calls := g.calls(); len(calls) != 2 || calls[1] != [2]uint64{11, 40} {
		t.Fatalf("appends %v, want 1-10 and then 11-40 in one", calls)
	}
	f.waitCounters("or-3", func(c central.Counters) bool { return c.Acks == 4 })
	if c := f.info("or-3").Counters; c.Batches != 4 || c.Stored != 40 || c.Duplicates != 0 || c.Gaps != 0 {
		t.Fatalf("counters %+v", c)
	}
}

// TestServiceGroupEndsWhereOneByOneWouldDiffer queues behind a batch being
// stored a batch that continues it, one after a gap, a duplicate, a bad
// record and a batch of another ledger: what is acknowledged and asked
// again is what handling them one by one gives.
func TestServiceGroupEndsWhereOneByOneWouldDiffer(t *testing.T) {
	f, g := newGatedFixture(t)
	l := testkit.NewLedger(site, "or-3", created)
	l.AddN(t, 60)
	recreated := testkit.NewLedger(site, "or-3", created+1)
	recreated.AddN(t, 5)
	f.send(l, 1, 10)
	g.waitEntered(t)
	f.send(l, 11, 20)       // joins: ack 20
	f.send(l, 31, 40)       // a gap: resend from 21
	f.send(l, 21, 30)       // starts a group again: ack 30
	f.send(l, 21, 30)       // a duplicate: ack 30
	f.send(recreated, 1, 5) // another ledger: ack 5 of it
	f.send(l, 31, 40)       // ack 40
	bad := l.Batch(41, 50)  // movement 45 damaged: 41-44 stored, ack 44, resend 45
	bad.Records = append([][]byte(nil), bad.Records...)
	bad.Records[4] = append([]byte(nil), bad.Records[4]...)
	bad.Records[4][10] ^= 0xff
	f.sendRaw("or-3", mustBatch(t, bad))
	f.send(l, 45, 60) // ack 60
	close(g.open)

	ms := f.published(10)
	wantAck(t, ms[0], l, 10)
	wantAck(t, ms[1], l, 20)
	wantResend(t, ms[2], l, 21)
	wantAck(t, ms[3], l, 30)
	wantAck(t, ms[4], l, 30)
	wantAck(t, ms[5], recreated, 5)
	wantAck(t, ms[6], l, 40)
	wantAck(t, ms[7], l, 44)
	wantResend(t, ms[8], l, 45)
	wantAck(t, ms[9], l, 60)
	f.wantStored(l, 60)
	f.wantStored(recreated, 5)
	if c := f.info("or-3").Counters; c.Stored != 65 || c.Duplicates != 1 || c.Gaps != 1 || c.ChainErrors != 1 || c.Resends != 2 {
		t.Fatalf("counters %+v", c)
	}
}

func TestServiceGroupRefusedIsHandledOneByOne(t *testing.T) {
	f, g := newGatedFixture(t)
	g.refuse = 1
	l := testkit.NewLedger(site, "or-3", created)
	l.AddN(t, 40)
	f.queueBehind(g, l, [2]uint64{1, 10}, [2]uint64{11, 20}, [2]uint64{21, 30}, [2]uint64{31, 40})
	close(g.open)
	ms := f.published(4)
	for i, seq := range []uint64{10, 20, 30, 40} {
		wantAck(t, ms[i], l, seq)
	}
	f.wantStored(l, 40)
	if calls := g.calls(); len(calls) != 5 || calls[1] != [2]uint64{11, 40} || calls[2] != [2]uint64{11, 20} || calls[4] != [2]uint64{31, 40} {
		t.Fatalf("appends %v, want 1-10, 11-40 (refused), then 11-20, 21-30, 31-40", calls)
	}
	if c := f.info("or-3").Counters; c.Stored != 40 || c.ChainErrors != 0 || c.Resends != 0 {
		t.Fatalf("counters %+v", c)
	}
}

func mustBatch(t *testing.T, b *wire.Batch) []byte {
	t.Helper()
	p, err := wire.AppendBatch(nil, b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
