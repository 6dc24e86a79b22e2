package central_test

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
	"github.com/udi-edge/udi-edge/sync/internal/mosquitto"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// jobOverhead is what the service counts for a batch besides its payload
// (central's jobOverhead).
const jobOverhead = 512

// TestServicePendingBytesWaitWithinBudget shuts the store while batches
// keep coming: the service takes them until their bytes fill its budget,
// then the Conn's handler waits (so that a real broker holds the rest),
// rather than queueing without bound. Once the store goes on, every batch
// is stored and acknowledged in order.
func TestServicePendingBytesWaitWithinBudget(t *testing.T) {
	const batches, per = 10, 20
	l := testkit.NewLedger(site, "or-3", created)
	l.AddN(t, batches*per)
	cost := len(l.Payload(t, 1, per)) + jobOverhead
	budget := 3*cost + cost/2 // the first batch and two more, not a third
	f, g := newGatedFixture(t, func(c *central.Config) { c.MaxPending = budget })

	f.send(l, 1, per) // held in Append
	g.waitEntered(t)
	var delivered atomic.Int32 // batches after the first whose delivery returned
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := uint64(1); b < batches; b++ {
			f.send(l, b*per+1, (b+1)*per)
			delivered.Add(1)
		}
	}()
	testkit.WaitFor(t, wait, "a delivery to wait for room", func() bool { _, waiting := f.svc.Pending(); return waiting })
	held, _ := f.svc.Pending()
	if n := delivered.Load(); n != 2 || held > budget {
		t.Errorf("with the store shut, %d more batches taken (%d bytes held); want 2, within the budget of %d bytes", n, held, budget)
	}

	close(g.open)
	<-done
	f.waitCounters(l.Gateway, func(c central.Counters) bool { return c.Acks == batches })
	f.wantStored(l, batches*per)
	testkit.WaitFor(t, wait, "the budget given back", func() bool { held, waiting := f.svc.Pending(); return held == 0 && !waiting })
}

// TestServiceBatchLargerThanBudgetGoesAlone: a batch larger than the whole
// budget is taken once nothing else is held, rather than never.
func TestServiceBatchLargerThanBudgetGoesAlone(t *testing.T) {
	l := testkit.NewLedger(site, "or-3", created)
	l.AddN(t, 40)
	f := newFixtureWith(t, func(c *central.Config) { c.MaxPending = 1 })
	f.send(l, 1, 20)
	f.send(l, 21, 40)
	f.waitCounters(l.Gateway, func(c central.Counters) bool { return c.Acks == 2 })
	f.wantStored(l, 40)
}

// TestServiceSpentBudgetKeepsPubacksFlowing runs the centre on a real
// Mosquitto with one gateway's appends held and its batches filling the
// budget, so that the MQTT client's delivery waits: another gateway's
// batch, being stored meanwhile by another worker, must still be
// acknowledged (the broker's PUBACK of that ack read) while the delivery
// waits, and every batch of both once the store goes on.
func TestServiceSpentBudgetKeepsPubacksFlowing(t *testing.T) {
	const workers = 2
	fast, slow := twoWorkerGateways(workers)
	broker := mosquitto.Start(t, mosquitto.Config{})
	bs, err := boltstore.Open(filepath.Join(t.TempDir(), "central.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer bs.Close()
	store := &perGatewayGate{Store: bs, gates: map[string]chan struct{}{fast: make(chan struct{}), slow: make(chan struct{})}, entered: make(chan string, 64)}
	defer store.openAll()

	lf, ls := testkit.NewLedger(site, fast, created), testkit.NewLedger(site, slow, created)
	lf.AddN(t, 10)
	const batches, per = 40, 20
	ls.AddN(t, batches*per)
	svc, _, _ := startGated(t, broker, store, central.MQTTConfig{},
		central.Config{Workers: workers, MaxPending: 4 * (len(ls.Payload(t, 1, per)) + jobOverhead), PublishTimeout: 5 * time.Second})
	gf, gs := newGateway(t, broker, lf), newGateway(t, broker, ls)

	gf.publish(1, 10)
	store.waitEntered(t, fast)
	for b := range uint64(batches) {
		gs.publish(b*per+1, (b+1)*per)
	}
	testkit.WaitFor(t, wait, "the delivery to wait for room", func() bool { _, waiting := svc.Pending(); return waiting })

	close(store.gates[fast])
	gf.waitAcks(1)
	if _, waiting := svc.Pending(); !waiting {
		t.Fatal("the delivery stopped waiting before the slow gateway's store went on: the test proves nothing")
	}
	if acks, _ := gf.seen(); acks[0] != 10 {
		t.Errorf("fast gateway acked to %v, want 10", acks)
	}

	close(store.gates[slow])
	testkit.WaitFor(t, 2*wait, "every batch of the slow gateway acknowledged", func() bool {
		a, _ := gs.seen()
		return len(a) > 0 && a[len(a)-1] == batches*per
	})
	for _, l := range []*testkit.Ledger{lf, ls} {
		if h, err := bs.Head(context.Background(), l.Gateway, l.Created); err != nil || h.Seq != uint64(len(l.Records)) {
			t.Errorf("%s held to %d (%v), want %d", l.Gateway, h.Seq, err, len(l.Records))
		}
	}
}

// startGated starts a centre on broker over store: its MQTT client
// configured by mc and its service by sc, their broker, client id,
// sites, store, connection and logger filled in. Both stop when the test
// ends, the store's gates opened first; the service's log is shown if
// the test failed.
func startGated(t *testing.T, broker *mosquitto.Broker, store *perGatewayGate, mc central.MQTTConfig, sc central.Config) (*central.Service, *central.MQTT, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mc.Brokers, mc.ClientID, mc.Logger = []string{broker.Addr()}, "udi-central-1", log
	mq, err := central.NewMQTT(mc)
	if err != nil {
		t.Fatal(err)
	}
	sc.Sites, sc.Store, sc.Conn, sc.Logger = []string{site}, store, mq, log
	svc, err := central.NewService(sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		store.openAll()
		mq.Close()
		_ = svc.Close()
		if t.Failed() {
			t.Logf("service log:\n%s", logs.String())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := mq.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	return svc, mq, logs
}

// twoWorkerGateways returns two gateway ids that the service hands to
// different ones of its workers (it picks a worker by the FNV-1a hash of
// the id).
func twoWorkerGateways(workers uint32) (string, string) {
	worker := func(id string) uint32 {
		h := fnv.New32a()
		h.Write([]byte(id))
		return h.Sum32() % workers
	}
	a := "gw-fast"
	for i := 0; ; i++ {
		b := fmt.Sprintf("gw-slow-%d", i)
		if worker(b) != worker(a) {
			return a, b
		}
	}
}

// perGatewayGate is a store whose Appends of a gateway wait while that
// gateway's gate is shut.
type perGatewayGate struct {
	*boltstore.Store
	gates   map[string]chan struct{}
	entered chan string
	once    sync.Once
}

func (p *perGatewayGate) Append(ctx context.Context, site, gateway string, created int64, recs []central.Stored) (central.Head, int, error) {
	select {
	case p.entered <- gateway:
	default:
	}
	if g := p.gates[gateway]; g != nil {
		<-g
	}
	return p.Store.Append(ctx, site, gateway, created, recs)
}

func (p *perGatewayGate) waitEntered(t *testing.T, gateway string) {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case g := <-p.entered:
			if g == gateway {
				return
			}
		case <-deadline:
			t.Fatalf("no Append of %s within %v", gateway, wait)
		}
	}
}

// openAll opens every gate still shut.
func (p *perGatewayGate) openAll() {
	p.once.Do(func() {
		for _, g := range p.gates {
			select {
			case <-g:
			default:
				close(g)
			}
		}
	})
}

// TestServiceKeepsBoundedStateWithoutEnrolment: without an enrolment any
// publisher may make up gateway ids; the service keeps the live state of
// a bounded number of them, not one more per id made up.
func TestServiceKeepsBoundedStateWithoutEnrolment(t *testing.T) {
	f := newFixture(t)
	const tracked = 10_000
	for i := range tracked + 50 {
		gw := fmt.Sprintf("made-up-%d", i)
		p, err := wire.EncodeStatus(wire.Status{V: 1, Gateway: gw, Site: site, State: wire.StateOnline, Time: f.clock.Now()})
		if err != nil {
			t.Fatal(err)
		}
		f.conn.Deliver(t, wire.StatusFilter(site), wire.StatusTopic(site, gw), p)
	}
	gs, err := f.svc.Gateways(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != tracked {
		t.Errorf("%d gateways listed after %d made-up ids; want the %d kept", len(gs), tracked+50, tracked)
	}
	if !strings.Contains(f.logs.String(), "more gateway ids than the service keeps") {
		t.Errorf("nothing logged of the ids not kept:\n%.2000s", f.logs.String())
	}
}

// TestServiceForgetsOldestResendLedger: the outstanding resend requests
// kept per gateway are bounded: after gaps in five ledgers of one
// gateway, the first ledger's request is forgotten (asked again at once),
// the last one's still stands (not repeated).
func TestServiceForgetsOldestResendLedger(t *testing.T) {
	f := newFixture(t)
	var ls []*testkit.Ledger
	for i := range 5 {
		l := testkit.NewLedger(site, "or-3", created+int64(i))
		l.AddN(t, 6)
		ls = append(ls, l)
		f.send(l, 5, 6) // a gap: resend from 1
		f.waitCounters(l.Gateway, func(c central.Counters) bool { return c.Resends == uint64(i+1) })
		f.clock.Add(time.Second)
	}
	f.send(ls[4], 5, 6)
	f.waitCounters("or-3", func(c central.Counters) bool { return c.ResendsSuppressed == 1 })
	f.send(ls[0], 5, 6)
	f.waitCounters("or-3", func(c central.Counters) bool { return c.Resends == 6 && c.ResendsSuppressed == 1 })
}

// TestServiceFloodStaysWithinBounds floods the centre on a real Mosquitto
// with far more batches than its budget and its MQTT inbox hold, its
// store shut: Mosquitto sends a subscriber more than its in-flight window
// under such a load, so the centre must stop reading rather than hold
// (or drop) the flood. What it holds stays within the two bounds while
// the broker keeps the rest; once the store goes on, every batch of
// every gateway is stored and acknowledged, none dropped.
func TestServiceFloodStaysWithinBounds(t *testing.T) {
	const (
		gateways = 6
		batches  = 25
		per      = 20
	)
	broker := mosquitto.Start(t, mosquitto.Config{})
	bs, err := boltstore.Open(filepath.Join(t.TempDir(), "central.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer bs.Close()
	store := &perGatewayGate{Store: bs, gates: map[string]chan struct{}{}, entered: make(chan string, 64)}
	defer store.openAll()
	var ls []*testkit.Ledger
	for i := range gateways {
		l := testkit.NewLedger(site, fmt.Sprintf("or-%d", i), created)
		l.AddN(t, batches*per)
		ls = append(ls, l)
		store.gates[l.Gateway] = make(chan struct{})
	}
	size := len(ls[0].Payload(t, 1, per))
	maxInbox, maxPending := 4*size, 4*(size+jobOverhead)
	svc, mq, logs := startGated(t, broker, store, central.MQTTConfig{MaxInbox: maxInbox}, central.Config{MaxPending: maxPending})

	gws := make([]*gateway, gateways)
	var wg sync.WaitGroup
	for i, l := range ls {
		gws[i] = newGateway(t, broker, l)
		wg.Go(func() {
			for b := range uint64(batches) {
				gws[i].publish(b*per+1, (b+1)*per) // the broker's PUBACK: it holds the batch
			}
		})
	}
	var peakInbox, peakPending atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			peakInbox.Store(max(peakInbox.Load(), int64(mq.Inbox())))
			held, _ := svc.Pending()
			peakPending.Store(max(peakPending.Load(), int64(held)))
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	wg.Wait() // every batch is at the broker
	testkit.WaitFor(t, wait, "the service's budget spent", func() bool { _, waiting := svc.Pending(); return waiting })
	testkit.WaitFor(t, wait, "the inbox full", func() bool { return mq.Inbox() > maxInbox-size })
	close(stop)
	<-sampled
	if in, p := peakInbox.Load(), peakPending.Load(); in > int64(maxInbox) || p > int64(maxPending) {
		t.Errorf("held %d bytes in the inbox (bound %d), %d pending (bound %d), of the %d bytes sent",
			in, maxInbox, p, maxPending, gateways*batches*size)
	}

	store.openAll()
	for _, g := range gws {
		testkit.WaitFor(t, 3*wait, "every batch of "+g.l.Gateway+" acknowledged", func() bool {
			a, _ := g.seen()
			return len(a) > 0 && a[len(a)-1] == batches*per
		})
		if h, err := bs.Head(context.Background(), g.l.Gateway, g.l.Created); err != nil || h.Seq != batches*per {
			t.Errorf("%s held to %d (%v), want %d", g.l.Gateway, h.Seq, err, batches*per)
		}
	}
	if strings.Contains(logs.String(), "dropped") {
		t.Errorf("messages dropped:\n%s", logs.String())
	}
}
