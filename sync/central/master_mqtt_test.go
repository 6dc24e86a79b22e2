package central_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
	"github.com/udi-edge/udi-edge/sync/internal/mastertest"
	"github.com/udi-edge/udi-edge/sync/internal/mosquitto"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// shippedLimit is the max_packet_size of deploy/mosquitto/mosquitto.conf.
const shippedLimit = "max_packet_size 1050000"

// retainedNow subscribes to site's master data as a gateway connecting
// now and returns every retained message it gets, as published messages.
func retainedNow(t *testing.T, broker *mosquitto.Broker) []testkit.Message {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.Addr()).SetClientID("late-gateway").SetAutoReconnect(false))
	if tok := c.Connect(); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(0)
	var (
		mu  sync.Mutex
		got []testkit.Message
	)
	tok := c.Subscribe(wire.MasterFilter(site), 1, func(_ mqtt.Client, m mqtt.Message) {
		mu.Lock()
		got = append(got, testkit.Message{Topic: m.Topic(), Retained: m.Retained(), Payload: m.Payload()})
		mu.Unlock()
	})
	if !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	// Retained messages come right after the subscription: wait until
	// they stop coming.
	n := -1
	testkit.WaitFor(t, wait, "the retained messages", func() bool {
		time.Sleep(200 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		done := len(got) == n && n > 0
		n = len(got)
		return done
	})
	mu.Lock()
	defer mu.Unlock()
	return got
}

// shippedInstance starts Mosquitto with the shipped packet limit and one
// instance of the service over a bbolt store, its log in logs.
func shippedInstance(t *testing.T) (*mosquitto.Broker, *instance, central.Store, *syncBuffer) {
	t.Helper()
	broker := mosquitto.Start(t, mosquitto.Config{Extra: shippedLimit})
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "central.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	logs := &syncBuffer{}
	return broker, startInstance(t, broker, store, "udi-central-1", false, logs), store, logs
}

// TestPublishMasterThroughMosquitto publishes through the centre's MQTT
// client to a real Mosquitto with the shipped packet limit: a 40,000-row
// catalogue (3.4 MB, which as one message cut the centre off the broker
// at every reconnect) is published and retained whole. A publication
// told the wrong limit fails once, the broker drops the connection, and
// the oversized packet is never sent again: the client reconnects and
// the next publication succeeds.
func TestPublishMasterThroughMosquitto(t *testing.T) {
	broker, in, _, logs := shippedInstance(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	defer cancel()

	big := mastertest.Catalogue(40_000, "a")
	pub, err := in.svc.PublishMaster(ctx, site, wire.SetCatalogue, big, central.MasterOptions{Format: "csv"})
	if err != nil || pub.Parts != 4 {
		t.Fatalf("%+v, %v", pub, err)
	}
	if m := retainedSet(t, retainedNow(t, broker), site, wire.SetCatalogue); m.Version != pub.Version || !bytes.Equal(m.Data, big) {
		t.Fatalf("retained version %d of %d, %d bytes", m.Version, pub.Version, len(m.Data))
	}
	if strings.Contains(broker.Log(), "oversize") || strings.Contains(logs.String(), "mqtt connection ended") {
		t.Fatal("the broker dropped the centre")
	}

	// Told a limit above the broker's: the first part is refused by the
	// broker, which drops the connection.
	_, err = in.svc.PublishMaster(ctx, site, wire.SetCatalogue, mastertest.Catalogue(40_000, "b"), central.MasterOptions{Format: "csv", MaxPacket: 4 << 20})
	if err == nil || !strings.Contains(err.Error(), "part 1 of 1") {
		t.Fatalf("a packet over the broker's limit: %v", err)
	}
	testkit.WaitFor(t, wait, "the centre to reconnect", in.mq.Connected)
	third := mastertest.Catalogue(1000, "c")
	testkit.WaitFor(t, wait, "a publication after the reconnection", func() bool {
		_, err := in.svc.PublishMaster(ctx, site, wire.SetCatalogue, third, central.MasterOptions{Format: "csv"})
		return err == nil
	})
	if n := strings.Count(broker.Log(), "oversize packet"); n != 1 {
		t.Fatalf("the broker dropped the centre %d times for an oversized packet, want once:\n%s", n, broker.Log())
	}
	if m := retainedSet(t, retainedNow(t, broker), site, wire.SetCatalogue); !bytes.Equal(m.Data, third) {
		t.Fatalf("retained version %d, %d bytes", m.Version, len(m.Data))
	}
}

// TestPublishMasterAcrossBrokerRestart: a broker that dies under a
// publication of master data (killed at its first message, as a failed
// cluster node would be) does not fail it: it is published once the
// centre has connected again, as a version later than the attempt cut
// off, and what stays retained is that version whole. With the broker
// down before it starts, a publication fails at once, naming the lost
// connection, for the caller to hear.
func TestPublishMasterAcrossBrokerRestart(t *testing.T) {
	broker, in, st, _ := shippedInstance(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*wait)
	defer cancel()
	first, err := in.svc.PublishMaster(ctx, site, wire.SetCatalogue, mastertest.Catalogue(10, "a"), central.MasterOptions{Format: "csv"})
	if err != nil {
		t.Fatal(err)
	}

	killed := make(chan struct{})
	p := &killingPublisher{MQTT: in.mq, kill: func() { broker.Kill(); close(killed) }}
	data := mastertest.Catalogue(1000, "b")
	type result struct {
		pub central.Published
		err error
	}
	done := make(chan result, 1)
	go func() {
		pub, err := central.PublishMaster(ctx, st, p, site, wire.SetCatalogue, data, central.MasterOptions{Format: "csv"})
		done <- result{pub, err}
	}()
	<-killed
	time.Sleep(500 * time.Millisecond)
	select {
	case r := <-done:
		t.Fatalf("answered while the broker was down: %+v, %v", r.pub, r.err)
	default:
	}
	broker.Restart()
	r := <-done
	if r.err != nil {
		t.Fatalf("after the broker came back: %v", r.err)
	}
	// The attempt cut off took a version and skipped it: versions only
	// increase.
	if r.pub.Version <= first.Version+1 || r.pub.Parts != 1 {
		t.Fatalf("published as %+v after version %d", r.pub, first.Version)
	}
	if m := retainedSet(t, retainedNow(t, broker), site, wire.SetCatalogue); m.Version != r.pub.Version || !bytes.Equal(m.Data, data) {
		t.Fatalf("retained version %d of %d, %d bytes", m.Version, r.pub.Version, len(m.Data))
	}

	broker.Kill()
	testkit.WaitFor(t, wait, "the centre to see the broker gone", func() bool { return !in.mq.Connected() })
	_, err = in.svc.PublishMaster(ctx, site, wire.SetCatalogue, data, central.MasterOptions{Format: "csv"})
	if !errors.Is(err, central.ErrNotConnected) || strings.Contains(err.Error(), "no connection again") {
		t.Fatalf("with the broker down: %v; want ErrNotConnected at once, with no wait for the broker", err)
	}
}

// killingPublisher is the centre's MQTT client, whose broker is killed as
// the first message is published through it.
type killingPublisher struct {
	*central.MQTT
	once sync.Once
	kill func()
}

func (k *killingPublisher) Publish(ctx context.Context, topic string, retained bool, payload []byte) error {
	k.once.Do(k.kill)
	return k.MQTT.Publish(ctx, topic, retained, payload)
}
