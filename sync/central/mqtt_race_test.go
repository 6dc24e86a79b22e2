package central_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
	"github.com/udi-edge/udi-edge/sync/internal/mosquitto"
	"github.com/udi-edge/udi-edge/sync/uplink"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// memOutbox is a gateway's ledger for sync/uplink, held in memory: the
// records of a testkit.Ledger and a sync cursor.
type memOutbox struct {
	l *testkit.Ledger

	mu     sync.Mutex
	cursor uint64
}

var _ uplink.Outbox = (*memOutbox)(nil)

func (o *memOutbox) ReadRecords(from uint64, maxCount, maxBytes int) ([][]byte, error) {
	var recs [][]byte
	size := 0
	for seq := max(from, 1); seq <= o.LastSeq() && len(recs) < maxCount; seq++ {
		r := o.l.Records[seq-1]
		if len(recs) > 0 && size+len(r) > maxBytes {
			break
		}
		recs, size = append(recs, r), size+len(r)
	}
	return recs, nil
}

// Changed never fires: every movement is in the ledger from the start.
func (o *memOutbox) Changed() <-chan struct{} { return nil }
func (o *memOutbox) LastSeq() uint64          { return uint64(len(o.l.Records)) }
func (o *memOutbox) Gateway() string          { return o.l.Gateway }
func (o *memOutbox) Created() time.Time       { return time.Unix(0, o.l.Created) }

func (o *memOutbox) SyncCursor() (uint64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.cursor, nil
}

func (o *memOutbox) SetSyncCursor(seq uint64) error {
	if seq > o.LastSeq() {
		return fmt.Errorf("cursor %d beyond the last movement %d", seq, o.LastSeq())
	}
	o.mu.Lock()
	o.cursor = max(o.cursor, seq)
	o.mu.Unlock()
	return nil
}

// TestIntegrationBrokerKilledUnderLoad kills the broker (every session
// and retained ack lost) several times while gateways running the real
// uplink stream to the centre in small batches, so that the centre is
// publishing acks whenever its connection drops and comes back. Run with
// -race: paho's own reconnect used to resume its stored publishes on a
// new connection while that connection's writer was sending them (a data
// race inside paho), and to publish stale acks again. Every gateway's
// stream must complete, each movement stored once, and the centre must
// come back after every kill.
func TestIntegrationBrokerKilledUnderLoad(t *testing.T) {
	const (
		gateways = 4
		n        = 400 // movements per gateway
		kills    = 4
		// streamWait bounds each wait for acks. A gateway whose publish
		// is caught by the broker's death can stall for paho's 30 s
		// publish timeout before it reconnects (sync/uplink sets no
		// write timeout), so it is well above that.
		streamWait = 90 * time.Second
	)
	broker := mosquitto.Start(t, mosquitto.Config{})
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "central.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	logs := &syncBuffer{}
	in := startInstance(t, broker, store, "udi-central-1", false, logs)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("service log:\n%s", logs.String())
		}
	})

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	outs := make([]*memOutbox, gateways)
	for i := range outs {
		l := testkit.NewLedger(site, fmt.Sprintf("gw-%d", i), created)
		l.AddN(t, n)
		outs[i] = &memOutbox{l: l}
		conn, err := uplink.NewMQTT(uplink.MQTTConfig{Brokers: []string{broker.Addr()}, ClientID: wire.ClientID(site, l.Gateway), ConnectTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		up, err := uplink.New(uplink.Config{Site: site, Gateway: l.Gateway, BatchMax: 4, Window: 4,
			AckTimeout: time.Second, PublishTimeout: 2 * time.Second, BackoffMin: 50 * time.Millisecond, BackoffMax: 500 * time.Millisecond}, outs[i], conn)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			if err := up.Run(ctx); err != nil {
				t.Errorf("uplink of %s: %v", l.Gateway, err)
			}
		})
	}
	// More of the centre's publishing, all the time, and at once whenever
	// the connection comes back: what is published the moment a
	// connection is up is what paho's resume raced with.
	for i := range 2 {
		wg.Go(func() {
			topic := wire.AckTopic(site, fmt.Sprintf("load-%d", i))
			for ctx.Err() == nil {
				pctx, pcancel := context.WithTimeout(ctx, time.Second)
				err := in.mq.Publish(pctx, topic, false, []byte("load"))
				pcancel()
				if err != nil {
					runtime.Gosched()
					continue
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	acked := func() (sum uint64) {
		for _, o := range outs {
			c, _ := o.SyncCursor()
			sum += c
		}
		return sum
	}

	for k := 1; k <= kills; k++ {
		mark := uint64(k) * gateways * n / (kills + 2)
		testkit.WaitFor(t, streamWait, fmt.Sprintf("%d movements acknowledged before kill %d", mark, k), func() bool { return acked() >= mark })
		broker.Kill()
		testkit.WaitFor(t, wait, "the centre to notice the broker gone", func() bool { return !in.mq.Connected() })
		broker.Restart()
		testkit.WaitFor(t, wait, fmt.Sprintf("the centre to reconnect after kill %d", k), in.mq.Connected)
	}
	testkit.WaitFor(t, streamWait, "every gateway's stream acknowledged", func() bool { return acked() == gateways*n })
	// The store holds every gateway's whole chain, each movement stored
	// once (the store keeps a ledger's chain contiguous from 1, so its
	// head and hash say it all).
	gs, err := in.svc.Gateways(context.Background())
	if err != nil || len(gs) != gateways {
		t.Fatalf("gateways %+v, %v; want %d", gs, err, gateways)
	}
	for i, g := range gs {
		l := outs[i].l
		if g.Gateway != l.Gateway || g.Seq != n || g.Hash != wire.HashHex(l.Hash(n)) || g.Counters.Stored != n {
			t.Errorf("%s: held to %d (hash %s), %d movements stored; want %s held to %d, %d stored",
				g.Gateway, g.Seq, g.Hash, g.Counters.Stored, l.Gateway, n, n)
		}
	}
}

// TestMQTTBlockedHandlerKeepsConnection blocks the handler of the first
// of several messages: the connection must go on reading (the broker's
// PUBACK of a publish made meanwhile arrives), and once the handler is
// released every message is handled, in order.
func TestMQTTBlockedHandlerKeepsConnection(t *testing.T) {
	broker := mosquitto.Start(t, mosquitto.Config{})
	mq, err := central.NewMQTT(central.MQTTConfig{Brokers: []string{broker.Addr()}, ClientID: "udi-central-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer mq.Close()
	release := make(chan struct{})
	var mu sync.Mutex
	var got []string
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	err = mq.Subscribe(ctx, "test/in", func(_ string, p []byte) {
		mu.Lock()
		got = append(got, string(p))
		first := len(got) == 1
		mu.Unlock()
		if first {
			<-release
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := mq.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.Addr()).SetClientID("publisher").SetAutoReconnect(false))
	if tok := pub.Connect(); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	defer pub.Disconnect(50)
	want := []string{"1", "2", "3", "4", "5"}
	for _, p := range want {
		if tok := pub.Publish("test/in", 1, false, p); !tok.WaitTimeout(wait) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", p, tok.Error())
		}
	}
	testkit.WaitFor(t, wait, "the first message to be handled", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) > 0 })

	pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
	err = mq.Publish(pctx, "test/out", false, []byte("while the handler is blocked"))
	pcancel()
	close(release)
	if err != nil {
		t.Errorf("publish while a handler is blocked: %v", err)
	}
	testkit.WaitFor(t, wait, "every message handled", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == len(want) })
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Errorf("handled %v, want %v", got, want)
	}
}
