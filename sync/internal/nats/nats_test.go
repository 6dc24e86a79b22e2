package nats

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/udi-edge/udi-edge/sync/internal/mosquitto"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// wait bounds every wait for something that should happen.
const wait = 10 * time.Second

var users = map[string]string{"gw-a": "pw-gw-a", "gw-b": "pw-gw-b", "udi-central": "pw-central"}

// client connects user with client id id to the brokers at urls (tried
// in order), MQTT 3.1.1 over TLS, no automatic reconnect; lost, when not
// nil, receives the reason of a lost connection.
func client(t *testing.T, certs *mosquitto.Certs, urls []string, user, id string, clean bool, lost chan<- error) mqtt.Client {
	t.Helper()
	c, err := tryClient(t, certs, urls, user, id, clean, lost)
	if err != nil {
		t.Fatalf("connect %s as %s: %v", id, user, err)
	}
	return c
}

func tryClient(t *testing.T, certs *mosquitto.Certs, urls []string, user, id string, clean bool, lost chan<- error) (mqtt.Client, error) {
	t.Helper()
	o := mqtt.NewClientOptions().SetClientID(id).SetUsername(user).SetPassword(users[user]).
		SetTLSConfig(certs.ClientTLSConfig("")).SetProtocolVersion(4).SetCleanSession(clean).
		SetAutoReconnect(false).SetConnectTimeout(wait).SetWriteTimeout(wait)
	for _, u := range urls {
		o.AddBroker(u)
	}
	if lost != nil {
		o.SetConnectionLostHandler(func(_ mqtt.Client, err error) { lost <- err })
	}
	c := mqtt.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(2 * wait) {
		t.Fatalf("connect %s: no CONNACK within %v", id, 2*wait)
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c, nil
}

// subscribe subscribes c to filter at QoS 1 and returns what arrives, and
// the code the broker granted.
func subscribe(t *testing.T, c mqtt.Client, filter string) (<-chan mqtt.Message, byte) {
	t.Helper()
	msgs := make(chan mqtt.Message, 64)
	tok := c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		select {
		case msgs <- m:
		default:
			t.Errorf("subscription %s: too many messages", filter)
		}
	})
	if !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", filter, tok.Error())
	}
	key := filter
	if rest, ok := strings.CutPrefix(filter, "$share/"); ok {
		_, key, _ = strings.Cut(rest, "/")
	}
	return msgs, tok.(*mqtt.SubscribeToken).Result()[key]
}

func mustSubscribe(t *testing.T, c mqtt.Client, filter string) <-chan mqtt.Message {
	t.Helper()
	msgs, code := subscribe(t, c, filter)
	if code != 1 {
		t.Fatalf("subscribe %s: granted %#x, want QoS 1", filter, code)
	}
	return msgs
}

func publish(t *testing.T, c mqtt.Client, topic string, payload []byte, retained bool) {
	t.Helper()
	tok := c.Publish(topic, 1, retained, payload)
	if !tok.WaitTimeout(wait) {
		t.Fatalf("publish %s: no PUBACK within %v", topic, wait)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
}

func expect(t *testing.T, msgs <-chan mqtt.Message, topic string, payload []byte) mqtt.Message {
	t.Helper()
	select {
	case m := <-msgs:
		if m.Topic() != topic || !bytes.Equal(m.Payload(), payload) {
			t.Fatalf("got %d bytes %.40q on %s, want %d bytes %.40q on %s", len(m.Payload()), m.Payload(), m.Topic(), len(payload), payload, topic)
		}
		return m
	case <-time.After(wait):
		t.Fatalf("nothing on %s within %v (want %.40q)", topic, wait, payload)
		return nil
	}
}

func expectNone(t *testing.T, msgs <-chan mqtt.Message, d time.Duration) {
	t.Helper()
	select {
	case m := <-msgs:
		t.Fatalf("unexpected message %.40q on %s", m.Payload(), m.Topic())
	case <-time.After(d):
	}
}

// TestCluster starts three nodes with deploy/nats as shipped and checks,
// through real MQTT clients over TLS, what sync relies on: messages cross
// nodes, the users' permissions hold, a batch of the largest size passes,
// retained messages and the centre's persistent session survive the death
// of the node that had them; and it shows what does not work on NATS.
func TestCluster(t *testing.T) {
	certs := mosquitto.NewCerts(t)
	cl := StartCluster(t, Config{Users: users, Certs: certs})
	n := cl.Nodes()
	if len(n) != 3 {
		t.Fatalf("%d nodes", len(n))
	}
	one := func(i int) []string { return []string{n[i].Addr()} }
	// A "." in a topic level: NATS turns it into "//" in the subject. In
	// a client id NATS refuses it (see the last subtest), so the clients
	// here have ids of their own.
	const site = "st.marys"
	id := func(gw string) string { return "udi-edge-stmarys-" + gw }
	movements := wire.Prefix + site + "/+/movements"
	topic := func(gw, leaf string) string { return wire.Prefix + site + "/" + gw + "/" + leaf }

	centre := client(t, certs, one(0), "udi-central", "udi-central-1", false, nil)
	inbox := mustSubscribe(t, centre, movements)
	gwA := client(t, certs, one(1), "gw-a", id("gw-a"), true, nil)

	t.Run("a batch crosses nodes; one forged for another gateway is dropped", func(t *testing.T) {
		publish(t, gwA, topic("gw-b", "movements"), []byte("forged by gw-a"), false)
		publish(t, gwA, topic("gw-a", "movements"), []byte("batch 1"), false)
		expect(t, inbox, topic("gw-a", "movements"), []byte("batch 1"))
		expectNone(t, inbox, 300*time.Millisecond)
	})

	t.Run("a batch of the largest size passes (max_payload)", func(t *testing.T) {
		big := bytes.Repeat([]byte{0xA5}, wire.MaxBatchSize)
		publish(t, gwA, topic("gw-a", "movements"), big, false)
		expect(t, inbox, topic("gw-a", "movements"), big)
	})

	t.Run("retained acks outlive the node they were published on", func(t *testing.T) {
		publish(t, centre, topic("gw-a", "ack"), []byte(`{"seq":1}`), true)
		publish(t, centre, topic("gw-b", "ack"), []byte(`{"seq":2}`), true)
		// gw-b reads its own ack, not gw-a's, from another node.
		gwB := client(t, certs, one(2), "gw-b", id("gw-b"), true, nil)
		// Unlike Mosquitto, NATS checks a subscription's filter against
		// the permissions: a filter wider than gw-b's own acks is refused.
		if _, code := subscribe(t, gwB, wire.Prefix+site+"/+/ack"); code != 0x80 {
			t.Errorf("gw-b subscribing to every gateway's acks: granted %#x, want 0x80", code)
		}
		acks := mustSubscribe(t, gwB, topic("gw-b", "ack"))
		if m := expect(t, acks, topic("gw-b", "ack"), []byte(`{"seq":2}`)); !m.Retained() {
			t.Error("gw-b's ack is not flagged retained")
		}
		expectNone(t, acks, 300*time.Millisecond)
		gwB.Disconnect(50)

		n[0].Kill()
		late := client(t, certs, one(2), "gw-a", id("gw-a-late"), true, nil)
		own := mustSubscribe(t, late, topic("gw-a", "ack"))
		if m := expect(t, own, topic("gw-a", "ack"), []byte(`{"seq":1}`)); !m.Retained() {
			t.Error("gw-a's ack is not flagged retained")
		}
		late.Disconnect(50)
		n[0].Restart()
	})

	t.Run("the centre's queued batches outlive the node it was on", func(t *testing.T) {
		// The centre's first connection (node 1) died with node 1 above;
		// what gw-a publishes meanwhile is queued for its session.
		publish(t, gwA, topic("gw-a", "movements"), []byte("batch while away"), false)
		back := make(chan mqtt.Message, 64)
		o := mqtt.NewClientOptions().AddBroker(n[2].Addr()).SetClientID("udi-central-1").
			SetUsername("udi-central").SetPassword(users["udi-central"]).SetTLSConfig(certs.ClientTLSConfig("")).
			SetProtocolVersion(4).SetCleanSession(false).SetAutoReconnect(false).SetConnectTimeout(wait).
			SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) { back <- m })
		again := mqtt.NewClient(o)
		if tok := again.Connect(); !tok.WaitTimeout(2*wait) || tok.Error() != nil {
			t.Fatalf("the centre connecting again on %s: %v", n[2].Name(), tok.Error())
		}
		defer again.Disconnect(50)
		expect(t, back, topic("gw-a", "movements"), []byte("batch while away"))
	})

	t.Run("NATS has no shared subscriptions: the centre's $share/ filter is refused", func(t *testing.T) {
		// NATS takes $share/GROUP/FILTER for a plain filter, the subject
		// $share.GROUP.udi.v1...., which the centre's permissions do not
		// allow: the SUBACK refuses it, and udi-central run --shared,
		// refused a subscription, connects again and again.
		shared := client(t, certs, one(1), "udi-central", "udi-central-shared", true, nil)
		if _, code := subscribe(t, shared, wire.SharedMovementsFilter(site)); code != 0x80 {
			t.Fatalf("the shared subscription: granted %#x, want 0x80 (NATS learned shared subscriptions? update deploy/nats/README.md)", code)
		}
	})

	t.Run("NATS cannot bind client ids to users: one gateway disconnects another", func(t *testing.T) {
		lost := make(chan error, 4)
		owner := client(t, certs, one(1), "gw-a", id("gw-a-owner"), true, lost)
		thief, err := tryClient(t, certs, one(2), "gw-b", id("gw-a-owner"), true, nil)
		if err != nil {
			t.Fatalf("gw-b taking gw-a's client id: %v (refused: NATS learned to bind client ids; update deploy/nats/README.md)", err)
		}
		select {
		case err := <-lost:
			t.Logf("gw-a lost its connection to gw-b's CONNECT with its client id: %v", err)
		case <-time.After(wait):
			t.Fatalf("gw-a kept its connection (connected %v): NATS learned to bind client ids; update deploy/nats/README.md", owner.IsConnectionOpen())
		}
		thief.Disconnect(50)
	})

	t.Run("NATS refuses a client id with a dot: a gateway of a site with one cannot connect", func(t *testing.T) {
		_, err := tryClient(t, certs, one(1), "gw-a", wire.ClientID(site, "gw-a"), true, nil)
		if !errors.Is(err, packets.ErrorRefusedIDRejected) {
			t.Fatalf("client id %s: %v, want identifier rejected (accepted: update deploy/nats/README.md)", wire.ClientID(site, "gw-a"), err)
		}
	})
}

// TestUsersScript checks deploy/nats/make-users.sh's refusals.
func TestUsersScript(t *testing.T) {
	root := mosquitto.RepoRoot(t)
	for _, tc := range []struct{ in, want string }{
		{"master pw\n", "bad user name"},
		{"gw/a pw\n", "bad user name"},
		{"gw-a\n", "want NAME PASSWORD"},
		{"gw-a pw extra\n", "want NAME PASSWORD"},
		{"gw-a pw\"x\n", "holds"},
		{strings.Repeat("g", 65) + " pw\n", "longer than 64"},
	} {
		_, err := makeUsers(root, tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("make-users.sh < %q: %v, want %q", tc.in, err, tc.want)
		}
	}
	b, err := makeUsers(root, "# comment\n\nor.3 $2a$11$abc\nudi-central-2 pw\n")
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, want := range []string{`"udi.v1.*.or//3.movements"`, `password: "$2a$11$abc"`, `user: "udi-central-2"`, `"udi.v1.*.*.ack"`} {
		if !strings.Contains(out, want) {
			t.Errorf("make-users.sh output lacks %s:\n%s", want, out)
		}
	}
}
