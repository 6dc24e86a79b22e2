package nats

import (
	"errors"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/udi-edge/udi-edge/sync/internal/mosquitto"
	"github.com/udi-edge/udi-edge/sync/wire"
)

var users = map[string]string{"gw-a": "pw-gw-a", "gw-b": "pw-gw-b", "udi-central": "pw-central"}

// options are the paho options of user with client id id for the
// brokers at urls (tried in order): MQTT 3.1.1 over TLS, no automatic
// reconnect.
func options(certs *mosquitto.Certs, urls []string, user, id string, clean bool) *mqtt.ClientOptions {
	o := mqtt.NewClientOptions().SetClientID(id).SetUsername(user).SetPassword(users[user]).
		SetTLSConfig(certs.ClientTLSConfig("")).SetProtocolVersion(4).SetCleanSession(clean).
		SetAutoReconnect(false).SetConnectTimeout(mosquitto.ClientWait).SetWriteTimeout(mosquitto.ClientWait)
	for _, u := range urls {
		o.AddBroker(u)
	}
	return o
}

// failoverConnect connects a client as a real one does after a node's
// death: again and again until it succeeds. For a few seconds, until the
// cluster has a new JetStream meta leader, connections time out.
func failoverConnect(t *testing.T, opts *mqtt.ClientOptions) mqtt.Client {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := mosquitto.TryConnect(t, opts)
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("connect %s: %v", opts.ClientID, err)
		}
		t.Logf("connect %s: %v; again", opts.ClientID, err)
	}
}

// failoverSubscribe connects and subscribes to filter at QoS 1 as a real
// client does after a node's death: again and again until the broker
// grants it. With a node down, the JetStream consumer behind a QoS 1
// subscription may wait for a raft election of 4 to 9 s
// (deploy/nats/README.md), longer on a loaded machine.
func failoverSubscribe(t *testing.T, opts *mqtt.ClientOptions, filter string) (mqtt.Client, <-chan mqtt.Message) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		c := failoverConnect(t, opts)
		msgs := make(chan mqtt.Message, 64)
		tok := c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
			select {
			case msgs <- m:
			default:
				t.Errorf("subscription %s: too many messages", filter)
			}
		})
		if tok.WaitTimeout(30*time.Second) && tok.Error() == nil && tok.(*mqtt.SubscribeToken).Result()[filter] == 1 {
			return c, msgs
		}
		c.Disconnect(50)
		if time.Now().After(deadline) {
			t.Fatalf("subscribe %s: not granted within a minute of connections: %v", filter, tok.Error())
		}
		t.Logf("subscribe %s: %v; again", filter, tok.Error())
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

	centre := mosquitto.Connect(t, options(certs, one(0), "udi-central", "udi-central-1", false))
	inbox := mosquitto.MustSubscribe(t, centre, movements)
	gwA := mosquitto.Connect(t, options(certs, one(1), "gw-a", id("gw-a"), true))

	t.Run("a batch crosses nodes; one forged for another gateway is dropped", func(t *testing.T) {
		mosquitto.Publish(t, gwA, topic("gw-b", "movements"), "forged by gw-a", false)
		mosquitto.Publish(t, gwA, topic("gw-a", "movements"), "batch 1", false)
		mosquitto.Expect(t, inbox, topic("gw-a", "movements"), "batch 1")
		mosquitto.ExpectNone(t, inbox, 300*time.Millisecond)
	})

	t.Run("a batch of the largest size passes (max_payload)", func(t *testing.T) {
		big := strings.Repeat("\xa5", wire.MaxBatchSize)
		mosquitto.Publish(t, gwA, topic("gw-a", "movements"), big, false)
		mosquitto.Expect(t, inbox, topic("gw-a", "movements"), big)
	})

	t.Run("retained acks outlive the node they were published on", func(t *testing.T) {
		mosquitto.Publish(t, centre, topic("gw-a", "ack"), `{"seq":1}`, true)
		mosquitto.Publish(t, centre, topic("gw-b", "ack"), `{"seq":2}`, true)
		// gw-b reads its own ack, not gw-a's, from another node.
		gwB := mosquitto.Connect(t, options(certs, one(2), "gw-b", id("gw-b"), true))
		// Unlike Mosquitto, NATS checks a subscription's filter against
		// the permissions: a filter wider than gw-b's own acks is refused.
		if _, code := mosquitto.Subscribe(t, gwB, wire.Prefix+site+"/+/ack"); code != 0x80 {
			t.Errorf("gw-b subscribing to every gateway's acks: granted %#x, want 0x80", code)
		}
		acks := mosquitto.MustSubscribe(t, gwB, topic("gw-b", "ack"))
		if m := mosquitto.Expect(t, acks, topic("gw-b", "ack"), `{"seq":2}`); !m.Retained() {
			t.Error("gw-b's ack is not flagged retained")
		}
		mosquitto.ExpectNone(t, acks, 300*time.Millisecond)
		gwB.Disconnect(50)

		n[0].Kill()
		late, own := failoverSubscribe(t, options(certs, one(2), "gw-a", id("gw-a-late"), true), topic("gw-a", "ack"))
		if m := mosquitto.Expect(t, own, topic("gw-a", "ack"), `{"seq":1}`); !m.Retained() {
			t.Error("gw-a's ack is not flagged retained")
		}
		late.Disconnect(50)
		n[0].Restart()
	})

	t.Run("the centre's queued batches outlive the node it was on", func(t *testing.T) {
		// The centre's first connection (node 1) died with node 1 above;
		// what gw-a publishes meanwhile is queued for its session.
		mosquitto.Publish(t, gwA, topic("gw-a", "movements"), "batch while away", false)
		back := make(chan mqtt.Message, 64)
		failoverConnect(t, options(certs, one(2), "udi-central", "udi-central-1", false).
			SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) { back <- m }))
		mosquitto.Expect(t, back, topic("gw-a", "movements"), "batch while away")
	})

	t.Run("NATS has no shared subscriptions: the centre's $share/ filter is refused", func(t *testing.T) {
		// NATS takes $share/GROUP/FILTER for a plain filter, the subject
		// $share.GROUP.udi.v1...., which the centre's permissions do not
		// allow: the SUBACK refuses it, and udi-central run --shared,
		// refused a subscription, connects again and again.
		shared := mosquitto.Connect(t, options(certs, one(1), "udi-central", "udi-central-shared", true))
		if _, code := mosquitto.Subscribe(t, shared, wire.SharedMovementsFilter(site)); code != 0x80 {
			t.Fatalf("the shared subscription: granted %#x, want 0x80 (NATS learned shared subscriptions? update deploy/nats/README.md)", code)
		}
	})

	t.Run("NATS cannot bind client ids to users: one gateway disconnects another", func(t *testing.T) {
		lost := make(chan error, 4)
		owner := mosquitto.Connect(t, options(certs, one(1), "gw-a", id("gw-a-owner"), true).
			SetConnectionLostHandler(func(_ mqtt.Client, err error) { lost <- err }))
		thief, err := mosquitto.TryConnect(t, options(certs, one(2), "gw-b", id("gw-a-owner"), true))
		if err != nil {
			t.Fatalf("gw-b taking gw-a's client id: %v (refused: NATS learned to bind client ids; update deploy/nats/README.md)", err)
		}
		select {
		case err := <-lost:
			t.Logf("gw-a lost its connection to gw-b's CONNECT with its client id: %v", err)
		case <-time.After(mosquitto.ClientWait):
			t.Fatalf("gw-a kept its connection (connected %v): NATS learned to bind client ids; update deploy/nats/README.md", owner.IsConnectionOpen())
		}
		thief.Disconnect(50)
	})

	t.Run("NATS refuses a client id with a dot: a gateway of a site with one cannot connect", func(t *testing.T) {
		_, err := mosquitto.TryConnect(t, options(certs, one(1), "gw-a", wire.ClientID(site, "gw-a"), true))
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
	for _, want := range []string{`"udi.v1.*.or//3.movements"`, `password: "$2a$11$abc"`, `user: "udi-central-2"`, `"udi.v1.*.*.ack"`, `"udi.v1.*.master.>"`} {
		if !strings.Contains(out, want) {
			t.Errorf("make-users.sh output lacks %s:\n%s", want, out)
		}
	}
}
