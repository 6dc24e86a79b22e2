package e2e_test

import (
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/udi-edge/udi-edge/sync/internal/mosquitto"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// TestClientIDTakeover runs the shipped Mosquitto configuration
// (deploy/mosquitto, TLS and passwords): while gateway gw-a drains its
// backlog, a client holding gateway gw-b's password connects with gw-a's
// client id, then with the centre's, again and again. MQTT has a second
// CONNECT with a client id in use disconnect the first; the shipped
// broker binds client ids to user names, so neither gw-a nor the centre
// loses its connection, and every movement arrives once.
func TestClientIDTakeover(t *testing.T) {
	start := time.Now()
	const site, backlog = "site-takeover", 20000
	certs := mosquitto.NewCerts(t)
	users := map[string]string{"gw-a": "pw-gw-a", "gw-b": "pw-gw-b", "udi-central": "pw-central"}
	broker := mosquitto.StartDeployed(t, mosquitto.Deployed{Users: users, Certs: certs})
	pwFile := passwordFiles(t, users)
	c := startCentre(t, site, broker.Addr(), "--username", "udi-central", "--password-file", pwFile("udi-central"), "--ca", certs.CAFile)
	c.waitConnected()
	g := newGateway(t, site, "gw-a", broker.Addr(), nil, gatewayConfig{BatchBytes: slowDrain.BatchBytes, Window: slowDrain.Window,
		Sync: map[string]any{"password_file": pwFile("gw-a"), "ca_file": certs.CAFile}})
	fillLedger(t, g, backlog, nil)
	g.start()
	acked, last := g.waitMidDrain(1)
	logf(t, start, "gw-a draining: acked %d of %d", acked, last)

	// gw-b's password, the owners' client ids, each in turn while gw-a
	// drains; each thief holds its connection until the next one.
	for round := range 5 {
		for _, id := range []string{wire.ClientID(site, "gw-a"), c.clientID} {
			opts := paho.NewClientOptions().AddBroker(broker.Addr()).SetClientID(id).
				SetUsername("gw-b").SetPassword(users["gw-b"]).SetTLSConfig(certs.ClientTLSConfig("")).
				SetAutoReconnect(false).SetConnectTimeout(startWait)
			thief := paho.NewClient(opts)
			tok := thief.Connect()
			if !tok.WaitTimeout(startWait) {
				t.Fatalf("gw-b connecting as %s: no CONNACK within %v", id, startWait)
			}
			if round == 0 {
				t.Logf("gw-b connecting as %s: %v", id, tok.Error())
			}
			time.Sleep(100 * time.Millisecond)
			thief.Disconnect(0)
		}
	}
	logf(t, start, "takeover attempts done")

	waitDrained(t, c, g, backlog)
	st, err := g.status()
	if err != nil {
		t.Fatal(err)
	}
	if st.Sync.Connects != 1 || !st.Sync.Connected {
		t.Errorf("gw-a connected %d times (connected now: %v), want once: another client took its client id", st.Sync.Connects, st.Sync.Connected)
	}
	if n := strings.Count(c.output(), `msg="mqtt connected"`); n != 1 || strings.Contains(c.output(), "mqtt connection ended") {
		t.Errorf("the centre connected %d times, want once: another client took its client id", n)
	}
	g.stop()
	c.stop()
	verifyDelivered(t, c, g)
	logf(t, start, "verified")
}
