package central_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
	"github.com/udi-edge/udi-edge/sync/internal/mosquitto"
	"github.com/udi-edge/udi-edge/sync/wire"
)

const wait = 10 * time.Second

// instance is one central service process: MQTT client, service, and its
// store (owned, or shared with another instance).
type instance struct {
	mq  *central.MQTT
	svc *central.Service
}

func startInstance(t *testing.T, broker *mosquitto.Broker, store central.Store, clientID string, shared bool, logs *syncBuffer) *instance {
	t.Helper()
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("instance", clientID)
	mq, err := central.NewMQTT(central.MQTTConfig{Brokers: []string{broker.Addr()}, ClientID: clientID, Logger: log, MaxReconnect: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := central.NewService(central.Config{Sites: []string{site}, Store: store, Conn: mq, Shared: shared, Logger: log, ResendTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := mq.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	in := &instance{mq: mq, svc: svc}
	t.Cleanup(in.stop)
	return in
}

// stop closes the connection first, then the service, as an embedder must.
func (in *instance) stop() {
	in.mq.Close()
	_ = in.svc.Close()
}

// gateway is a gateway's MQTT side, by hand: it publishes batches and
// records the acks and resends it gets.
type gateway struct {
	t      *testing.T
	l      *testkit.Ledger
	c      mqtt.Client
	mu     sync.Mutex
	acks   []uint64
	resend []uint64
	notify chan struct{}
}

func newGateway(t *testing.T, broker *mosquitto.Broker, l *testkit.Ledger) *gateway {
	t.Helper()
	g := &gateway{t: t, l: l, notify: make(chan struct{}, 1)}
	opts := mqtt.NewClientOptions().AddBroker(broker.Addr()).SetClientID("udi-edge-" + l.Site + "-" + l.Gateway).
		SetConnectTimeout(wait).SetAutoReconnect(false).SetOrderMatters(true)
	g.c = mqtt.NewClient(opts)
	if tok := g.c.Connect(); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("gateway connect: %v", tok.Error())
	}
	t.Cleanup(func() { g.c.Disconnect(50) })
	sub := func(topic string, fn func(p []byte)) {
		tok := g.c.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) {
			fn(m.Payload())
			select {
			case g.notify <- struct{}{}:
			default:
			}
		})
		if !tok.WaitTimeout(wait) || tok.Error() != nil {
			t.Fatalf("gateway subscribe %s: %v", topic, tok.Error())
		}
	}
	sub(wire.AckTopic(l.Site, l.Gateway), func(p []byte) {
		a, err := wire.DecodeAck(p)
		if err != nil || a.Created != l.Created || a.Hash != wire.HashHex(l.Hash(a.Seq)) {
			t.Errorf("bad ack %s: %v", p, err)
			return
		}
		g.mu.Lock()
		g.acks = append(g.acks, a.Seq)
		g.mu.Unlock()
	})
	sub(wire.ResendTopic(l.Site, l.Gateway), func(p []byte) {
		r, err := wire.DecodeResend(p)
		if err != nil || r.Created != l.Created {
			t.Errorf("bad resend %s: %v", p, err)
			return
		}
		g.mu.Lock()
		g.resend = append(g.resend, r.From)
		g.mu.Unlock()
	})
	return g
}

func (g *gateway) publish(first, last uint64) {
	g.t.Helper()
	tok := g.c.Publish(wire.MovementsTopic(g.l.Site, g.l.Gateway), 1, false, g.l.Payload(g.t, first, last))
	if !tok.WaitTimeout(wait) || tok.Error() != nil {
		g.t.Fatalf("publish %d-%d: %v", first, last, tok.Error())
	}
}

// seen returns copies of the acks and resends received.
func (g *gateway) seen() (acks, resends []uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.acks), slices.Clone(g.resend)
}

// waitAcks waits until n acks arrived.
func (g *gateway) waitAcks(n int) {
	g.t.Helper()
	testkit.WaitFor(g.t, wait, fmt.Sprintf("%d acks", n), func() bool { a, _ := g.seen(); return len(a) >= n })
}

// wantExactlyOnce checks that the store holds movements 1 to n of l, each
// once, in order, byte for byte as sent.
func wantExactlyOnce(t *testing.T, store central.Store, l *testkit.Ledger, n uint64) {
	t.Helper()
	var next uint64 = 1
	err := store.Range(context.Background(), l.Gateway, l.Created, 1, func(seq uint64, rec []byte) error {
		if seq != next || !bytes.Equal(rec, l.Records[seq-1]) {
			return fmt.Errorf("movement %d found where %d was expected, or it differs from the one sent", seq, next)
		}
		next++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if next-1 != n {
		t.Fatalf("store holds movements 1 to %d, want 1 to %d", next-1, n)
	}
	for i := 1; i <= int(n); i++ {
		ts, err := store.Trace(context.Background(), testkit.ItemKey(i))
		if err != nil || len(ts) != 1 || ts[0].Movement.Seq != uint64(i) {
			t.Fatalf("trace of movement %d's item: %d movements, %v", i, len(ts), err)
		}
	}
}

// TestIntegrationOutOfOrderDuplicatedAndRestart publishes batches through
// a real broker out of order and duplicated, restarts the service in the
// middle while the gateway keeps publishing, and checks the store and
// what the gateway saw on the wire.
func TestIntegrationOutOfOrderDuplicatedAndRestart(t *testing.T) {
	broker := mosquitto.Start(t, mosquitto.Config{})
	path := filepath.Join(t.TempDir(), "central.db")
	logs := &syncBuffer{}
	store, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	in := startInstance(t, broker, store, "udi-central-1", false, logs)
	l := testkit.NewLedger(site, "or-3", created)
	l.AddN(t, 100)
	g := newGateway(t, broker, l)

	for _, b := range [][2]uint64{{1, 10}, {21, 30}, {11, 20}, {11, 20}, {21, 30}, {41, 50}, {31, 40}, {41, 50}} {
		g.publish(b[0], b[1])
	}
	g.waitAcks(6)

	// Restart: the gateway publishes while the service is down; the
	// broker keeps the batches for the service's persistent session.
	in.stop()
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	g.publish(51, 60)
	g.publish(61, 70)
	if store, err = boltstore.Open(path); err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	startInstance(t, broker, store, "udi-central-1", false, logs)
	for _, b := range [][2]uint64{{65, 80}, {81, 90}, {91, 100}, {91, 100}} {
		g.publish(b[0], b[1])
	}
	g.waitAcks(12)
	time.Sleep(100 * time.Millisecond) // nothing more may come

	acks, resends := g.seen()
	if want := []uint64{10, 20, 20, 30, 40, 50, 60, 70, 80, 90, 100, 100}; !slices.Equal(acks, want) {
		t.Errorf("acks %v, want %v", acks, want)
	}
	// Two answer the gaps; the restarted service asks once more, as it
	// does after every connection, from whatever it held at that moment.
	if len(resends) != 3 || !slices.Equal(resends[:2], []uint64{11, 31}) || resends[2] < 51 || resends[2] > 71 {
		t.Errorf("resends %v, want [11 31] and one from 51 to 71 after the restart", resends)
	}
	wantExactlyOnce(t, store, l, 100)
	if bytes.Contains([]byte(logs.String()), []byte(secret)) {
		t.Error("a patient identifier reached the log")
	}
	if t.Failed() {
		t.Logf("service log:\n%s", logs.String())
	}
}

// TestIntegrationSharedSubscription runs two instances on one store with
// a shared subscription: the broker deals the gateway's batches out
// between them, and a gateway that answers resends (as sync/uplink does)
// gets every movement stored exactly once.
func TestIntegrationSharedSubscription(t *testing.T) {
	broker := mosquitto.Start(t, mosquitto.Config{})
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "central.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	logs := &syncBuffer{}
	a := startInstance(t, broker, store, "udi-central-a", true, logs)
	b := startInstance(t, broker, store, "udi-central-b", true, logs)
	l := testkit.NewLedger(site, "or-3", created)
	const n = 200
	l.AddN(t, n)
	g := newGateway(t, broker, l)

	// The gateway: everything in batches of 10, then from wherever the
	// centre asks, until the centre acknowledges the last movement.
	sendFrom := func(from uint64) {
		for first := from; first <= n; first += 10 {
			g.publish(first, min(first+9, n))
		}
	}
	sendFrom(1)
	deadline := time.Now().Add(wait)
	handled := 0
	for {
		acks, resends := g.seen()
		if slices.Contains(acks, n) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ack of %d; acks %v resends %v\n%s", n, acks, resends, logs.String())
		}
		if handled < len(resends) {
			from := resends[len(resends)-1]
			handled = len(resends)
			sendFrom(from)
			continue
		}
		select {
		case <-g.notify:
		case <-time.After(500 * time.Millisecond):
			// No answer: resend from the highest ack, as a gateway's retry does.
			hi := uint64(0)
			for _, x := range acks {
				hi = max(hi, x)
			}
			sendFrom(hi + 1)
		}
	}
	wantExactlyOnce(t, store, l, n)
	count := func(in *instance) central.Counters {
		gs, err := in.svc.Gateways(context.Background())
		if err != nil || len(gs) != 1 {
			t.Fatalf("gateways %v, %v", gs, err)
		}
		return gs[0].Counters
	}
	ca, cb := count(a), count(b)
	if ca.Batches == 0 || cb.Batches == 0 {
		t.Fatalf("batches not shared: instance a %+v, b %+v", ca, cb)
	}
	if ca.Stored != n || cb.Stored != n {
		t.Fatalf("instances list %d and %d movements held, want %d, the shared store's", ca.Stored, cb.Stored, n)
	}
}

// TestIntegrationBrokerRestart kills the broker (losing every session and
// subscription) and starts it again: the service reconnects, subscribes
// again and goes on acknowledging.
func TestIntegrationBrokerRestart(t *testing.T) {
	broker := mosquitto.Start(t, mosquitto.Config{})
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "central.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	logs := &syncBuffer{}
	in := startInstance(t, broker, store, "udi-central-1", false, logs)
	l := testkit.NewLedger(site, "or-3", created)
	l.AddN(t, 20)
	g := newGateway(t, broker, l)
	g.publish(1, 10)
	g.waitAcks(1)

	broker.Kill()
	broker.Restart()
	testkit.WaitFor(t, wait, "the service to reconnect", in.mq.Connected)
	g = newGateway(t, broker, l)
	// The retained ack did not survive the broker (no persistence); the
	// gateway sends from its cursor + 1 and gets the next one.
	var acks []uint64
	testkit.WaitFor(t, wait, "an ack after the restart", func() bool {
		g.publish(11, 20) // until the service's subscription is back
		time.Sleep(50 * time.Millisecond)
		acks, _ = g.seen()
		return len(acks) > 0
	})
	if acks[0] != 20 {
		t.Fatalf("acks after the restart %v, want 20 first", acks)
	}
	wantExactlyOnce(t, store, l, 20)
}
