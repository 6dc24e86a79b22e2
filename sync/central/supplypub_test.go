package central_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
	"github.com/udi-edge/udi-edge/sync/internal/mosquitto"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// supplierACL returns deploy/mosquitto/supplier-acl's block for each of
// ids, as an operator appends it to udi-acl.
func supplierACL(t *testing.T, ids ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(mosquitto.RepoRoot(t), "deploy", "mosquitto", "supplier-acl"))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, id := range ids {
		out.WriteString(strings.ReplaceAll(string(b), "SUPPLIER", id) + "\n")
	}
	return out.String()
}

// supplyRecord is a record as a supplier receives it.
type supplyRecord struct {
	topic string
	rec   map[string]any
}

func (r supplyRecord) String() string {
	return r.topic + " " + r.rec["type"].(string) + " " + jsonField(r.rec, "seq") + jsonField(r.rec, "cancelled") + jsonField(r.rec, "withdrawn")
}

func jsonField(m map[string]any, k string) string {
	v, ok := m[k]
	if !ok {
		return ""
	}
	b, _ := json.Marshal(v)
	return map[string]string{"seq": "", "cancelled": " cancelled=", "withdrawn": " withdrawn="}[k] + string(b)
}

// records reads n messages of ch, failing past wait.
func records(t *testing.T, ch <-chan mqtt.Message, n int) []string {
	t.Helper()
	var out []string
	for range n {
		select {
		case m := <-ch:
			var rec map[string]any
			if err := json.Unmarshal(m.Payload(), &rec); err != nil {
				t.Fatalf("%s: %v: %s", m.Topic(), err, m.Payload())
			}
			if m.Retained() {
				t.Errorf("%s came retained", m.Topic())
			}
			if strings.Contains(string(m.Payload()), secret) {
				t.Errorf("%s holds the patient: %s", m.Topic(), m.Payload())
			}
			if rec["version"] != float64(central.SupplySchema) {
				t.Errorf("%s: version %v", m.Topic(), rec["version"])
			}
			out = append(out, supplyRecord{m.Topic(), rec}.String())
		case <-time.After(wait):
			t.Fatalf("%d records of %d within %v: %q", len(out), n, wait, out)
		}
	}
	return out
}

// TestSupplierTopics runs the centre with the supply publisher behind the
// shipped broker configuration and ACL: a gateway's batch is stored, and
// each supplier receives the records of its id, in order (a use, then
// its cancellation republished as cancelled), none of another's; records
// of suppliers without an id are not published and logged once. The
// supplier cannot read another's topic or a gateway's, nor publish
// anywhere. Records stored while the broker is down are published once
// it is back, none skipped.
func TestSupplierTopics(t *testing.T) {
	certs := mosquitto.NewCerts(t)
	users := map[string]string{"udi-central": "pw-c", "udi-central-2": "pw-c2", "or-3": "pw-g", "acme": "pw-a", "beta": "pw-b"}
	b := mosquitto.StartDeployed(t, mosquitto.Deployed{Users: users, Certs: certs,
		MoreACL: mosquitto.CentreACL(t, "udi-central-2") + supplierACL(t, "acme", "beta")})
	as := func(user string) *mqtt.ClientOptions {
		return mqtt.NewClientOptions().AddBroker(b.Addr()).SetClientID(user).SetUsername(user).SetPassword(users[user]).
			SetTLSConfig(certs.ClientTLSConfig("")).SetConnectTimeout(wait).SetWriteTimeout(wait)
	}

	st, err := boltstore.Open(filepath.Join(t.TempDir(), "central.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mq, err := central.NewMQTT(central.MQTTConfig{Brokers: []string{b.Addr()}, ClientID: "udi-central", Username: "udi-central",
		Password: users["udi-central"], TLS: certs.ClientTLSConfig(""), Logger: log, MaxReconnect: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer mq.Close()
	svc, err := central.NewService(central.Config{Sites: []string{site}, Store: st, Conn: mq, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	pub, err := central.NewSupplyPublisher(central.SupplyPublisherConfig{Store: st, Conn: mq, Catalogue: supplyCatalogue(t),
		Suppliers: map[string]string{"acme": "ACME", "beta": "BETA"}, Cursor: filepath.Join(t.TempDir(), "supply.cursor"),
		Interval: 100 * time.Millisecond, PublishTimeout: time.Second, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := mq.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	if err := pub.Pass(ctx); err != nil { // the first pass, on an empty store: publish from its start
		t.Fatal(err)
	}
	mq.OnConnect(pub.Wake)
	pub.Start()

	// The suppliers keep persistent sessions: what is published while
	// they are away waits for them.
	received := func(user string) (mqtt.Client, chan mqtt.Message) {
		ch := make(chan mqtt.Message, 64)
		c := mosquitto.Connect(t, as(user).SetCleanSession(false).SetAutoReconnect(true).
			SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) { ch <- m }))
		return c, ch
	}
	acme, acmeGot := received("acme")
	mosquitto.SubscribeInto(t, acme, "udi/supply/acme/#", acmeGot)
	mosquitto.SubscribeInto(t, acme, "udi/supply/beta/#", acmeGot) // granted, never delivered
	mosquitto.SubscribeInto(t, acme, "udi/v1/#", acmeGot)          // the gateways' tree: never delivered
	beta, betaGot := received("beta")
	mosquitto.SubscribeInto(t, beta, "udi/supply/beta/#", betaGot)

	gw := mosquitto.Connect(t, as("or-3"))
	l := supplyLedger(t)
	mosquitto.Publish(t, gw, wire.MovementsTopic(site, "or-3"), string(l.Payload(t, 1, uint64(len(l.Records)))), false)

	got := records(t, acmeGot, 5)
	want := []string{
		"udi/supply/acme/consumption consumption 3",
		"udi/supply/acme/consumption consumption 4",
		"udi/supply/acme/consumption consumption 4 cancelled=true",
		"udi/supply/acme/requests request 9",
		"udi/supply/acme/consumption consumption 16",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("acme received:\n got %q\nwant %q", got, want)
	}
	if got := records(t, betaGot, 1); got[0] != "udi/supply/beta/consumption consumption 7" {
		t.Errorf("beta received %q", got)
	}
	// The gateway's retained ack exists by now: acme's subscription to
	// udi/v1/# must not deliver it, nor beta's record.
	mosquitto.ExpectNone(t, acmeGot, 300*time.Millisecond)
	warned := strings.Count(logs.String(), "supply records of a supplier without an id are not published")
	if warned != 2 || !strings.Contains(logs.String(), "supplier=GAMMA") || !strings.Contains(logs.String(), "supplier=unassigned") {
		t.Errorf("%d warnings of suppliers without an id, want 2 (GAMMA, unassigned), once each:\n%s", warned, logs.String())
	}

	t.Run("a supplier publishes nowhere", func(t *testing.T) {
		observer := mosquitto.Connect(t, as("udi-central-2"))
		movements := mosquitto.MustSubscribe(t, observer, "udi/v1/+/+/movements")
		mosquitto.Publish(t, acme, "udi/supply/acme/consumption", `{"version":1,"type":"consumption","forged":true}`, false)
		mosquitto.Publish(t, acme, "udi/supply/beta/requests", `{"forged":true}`, false)
		mosquitto.Publish(t, acme, "udi/v1/"+site+"/acme/movements", "forged batch", false)
		mosquitto.Publish(t, acme, "udi/v1/"+site+"/or-3/movements", "forged batch", false)
		mosquitto.Publish(t, gw, "udi/v1/"+site+"/or-3/movements", "the gateway's", false)
		mosquitto.Expect(t, movements, "udi/v1/"+site+"/or-3/movements", "the gateway's")
		mosquitto.ExpectNone(t, movements, 300*time.Millisecond)
		mosquitto.ExpectNone(t, acmeGot, 300*time.Millisecond)
		mosquitto.ExpectNone(t, betaGot, 100*time.Millisecond)
	})

	t.Run("records stored while the broker is down are published after", func(t *testing.T) {
		b.Stop()
		// Stored meanwhile (as another instance sharing the store would).
		l2 := testkitLedger(t, "or-3", created+1)
		feed(t, st, l2)
		time.Sleep(300 * time.Millisecond) // passes fail meanwhile
		b.Restart()
		got := records(t, acmeGot, 3)
		want := []string{"udi/supply/acme/consumption consumption 1", "udi/supply/acme/requests request 2",
			`udi/supply/acme/requests request 2 withdrawn="the par level was removed"`}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("after the broker came back, acme received:\n got %q\nwant %q", got, want)
		}
		mosquitto.ExpectNone(t, acmeGot, 300*time.Millisecond)
	})
}

// testkitLedger is a ledger of gateway with a consigned use and a refill
// request of ACME's.
func testkitLedger(t *testing.T, gateway string, created int64) *testkit.Ledger {
	l := testkit.NewLedger(site, gateway, created)
	acme := agent.ConsignedFlag("ACME")
	l.Add(t, supplyMovement(agent.KindUse, gtinStent, "S9", "OR-3", 40, acme))
	l.Add(t, supplyRequest(gtinStent, "OR-3", 41, agent.Request{Quantity: 1, Urgency: agent.UrgencyRefill, Max: 1}, acme))
	// The request withdrawn: its supplier hears that no delivery is due.
	l.Add(t, agent.Movement{Time: day0.Add(42 * time.Minute), Kind: agent.KindContext, Item: gtinStent, Location: "OR-3",
		Flags: []string{agent.FlagMet}, Reason: agent.WithdrawnReason(2, 0, "the par level was removed")})
	return l
}
