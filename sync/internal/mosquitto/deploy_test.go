package mosquitto

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// TestDeployConfig starts mosquitto with deploy/mosquitto/mosquitto.conf
// and udi-acl and checks, over TLS with passwords, what each user may do.
func TestDeployConfig(t *testing.T) {
	certs := NewCerts(t)
	users := map[string]string{"gw-a": "pw-gw-a", "gw-b": "pw-gw-b", "udi-central": "pw-central", "udi-central-2": "pw-central-2"}
	// A second instance of the central service has a user of its own,
	// with a copy of udi-central's ACL block (README.md).
	b := StartDeployed(t, Deployed{Users: users, Certs: certs, MoreACL: CentreACL(t, "udi-central-2")})

	as := func(user, id string) *mqtt.ClientOptions {
		return options(b, id).SetUsername(user).SetPassword(users[user]).SetTLSConfig(certs.ClientTLSConfig(""))
	}
	central := Connect(t, as("udi-central", "udi-central-1"))
	central2 := Connect(t, as("udi-central-2", "udi-central-2"))
	gwA := Connect(t, as("gw-a", "udi-edge-site-1-gw-a"))
	gwB := Connect(t, as("gw-b", "udi-edge-site-1-gw-b"))
	top := t // the late clients of c outlive it

	t.Run("a: the centre receives a gateway's movements", func(t *testing.T) {
		plain := MustSubscribe(t, central, "udi/v1/site-1/+/movements")
		shared := MustSubscribe(t, central2, "$share/udi-central/udi/v1/site-1/+/movements")
		Publish(t, gwA, "udi/v1/site-1/gw-a/movements", "batch 1 of gw-a", false)
		Expect(t, plain, "udi/v1/site-1/gw-a/movements", "batch 1 of gw-a")
		Expect(t, shared, "udi/v1/site-1/gw-a/movements", "batch 1 of gw-a")

		t.Run("b: but not movements a gateway forges for another", func(t *testing.T) {
			// MQTT 3.1.1 cannot refuse a publish: the broker acknowledges
			// the forged batch and drops it. gw-a's next batch, sent
			// after it, must be the next thing the centre receives.
			Publish(t, gwA, "udi/v1/site-1/gw-b/movements", "forged by gw-a", false)
			Publish(t, gwA, "udi/v1/site-1/gw-a/movements", "batch 2 of gw-a", false)
			Expect(t, plain, "udi/v1/site-1/gw-a/movements", "batch 2 of gw-a")
			Expect(t, shared, "udi/v1/site-1/gw-a/movements", "batch 2 of gw-a")
			ExpectNone(t, plain, 200*time.Millisecond)
			ExpectNone(t, shared, 200*time.Millisecond)
			// The client id in the log is the user name (use_username_as_clientid).
			if !strings.Contains(b.Log(), "Denied PUBLISH from gw-a ") {
				t.Error("the broker's log does not show the forged publish denied")
			}
		})
	})

	t.Run("c: a gateway reads only its own acks", func(t *testing.T) {
		// gw-a listens to gw-b's acks and then its own, in one stream: if
		// gw-b's ack reached it, it would come before gw-a's.
		spyA := make(chan mqtt.Message, 64)
		// Mosquitto 2.0.11 grants the subscription (0x01) and filters
		// each message; a refusal (0x80) would do as well.
		code := SubscribeInto(t, gwA, "udi/v1/site-1/gw-b/ack", spyA)
		t.Logf("gw-a subscribing to gw-b's acks: SUBACK %#x", code)
		SubscribeInto(t, gwA, "udi/v1/site-1/gw-a/ack", spyA)
		ownB := MustSubscribe(t, gwB, "udi/v1/site-1/gw-b/ack")
		Publish(t, central, "udi/v1/site-1/gw-b/ack", `{"seq":2}`, true)
		Publish(t, central, "udi/v1/site-1/gw-a/ack", `{"seq":1}`, true)
		Expect(t, ownB, "udi/v1/site-1/gw-b/ack", `{"seq":2}`)
		Expect(t, spyA, "udi/v1/site-1/gw-a/ack", `{"seq":1}`)
		ExpectNone(t, spyA, 200*time.Millisecond)

		// The acks are retained: a gateway subscribing later gets its own
		// and not the other's. (A second connection of one user replaces
		// the first, the client id being the user name: the late ones
		// are gw-a and gw-b from now on.)
		late := Connect(top, as("gw-a", "udi-edge-site-1-gw-a-late"))
		gwA = late
		retained := make(chan mqtt.Message, 64)
		SubscribeInto(t, late, "udi/v1/site-1/gw-b/ack", retained)
		SubscribeInto(t, late, "udi/v1/site-1/gw-a/ack", retained)
		if m := Expect(t, retained, "udi/v1/site-1/gw-a/ack", `{"seq":1}`); !m.Retained() {
			t.Error("the late subscriber's ack is not flagged retained")
		}
		ExpectNone(t, retained, 200*time.Millisecond)
		lateB := Connect(top, as("gw-b", "udi-edge-site-1-gw-b-late"))
		gwB = lateB
		if m := Expect(t, MustSubscribe(t, lateB, "udi/v1/site-1/gw-b/ack"), "udi/v1/site-1/gw-b/ack", `{"seq":2}`); !m.Retained() {
			t.Error("gw-b's late ack is not flagged retained")
		}
	})

	t.Run("a gateway cannot forge another's status", func(t *testing.T) {
		status := MustSubscribe(t, central, "udi/v1/site-1/+/status")
		Publish(t, gwA, "udi/v1/site-1/gw-b/status", `{"state":"offline"}`, true)
		Publish(t, gwA, "udi/v1/site-1/gw-a/status", `{"state":"online"}`, true)
		Expect(t, status, "udi/v1/site-1/gw-a/status", `{"state":"online"}`)
		ExpectNone(t, status, 200*time.Millisecond)
	})

	t.Run("master data is written by the centre only", func(t *testing.T) {
		masterB := MustSubscribe(t, gwB, "udi/v1/site-1/master/#")
		Publish(t, gwA, "udi/v1/site-1/master/recalls", "forged recalls", false)
		Publish(t, central, "udi/v1/site-1/master/recalls", "recalls v1", false)
		Expect(t, masterB, "udi/v1/site-1/master/recalls", "recalls v1")
		ExpectNone(t, masterB, 200*time.Millisecond)
	})

	t.Run("d: a wrong password or none is refused", func(t *testing.T) {
		_, err := TryConnect(t, as("gw-a", "udi-edge-site-1-gw-a-wrong").SetPassword(users["gw-b"]))
		if !errors.Is(err, packets.ErrorRefusedNotAuthorised) && !errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword) {
			t.Errorf("gw-a with gw-b's password: %v, want refused", err)
		}
		_, err = TryConnect(t, options(b, "anonymous").SetTLSConfig(certs.ClientTLSConfig("")))
		if !errors.Is(err, packets.ErrorRefusedNotAuthorised) && !errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword) {
			t.Errorf("anonymous: %v, want refused", err)
		}
	})

	t.Run("e: a client that does not trust the CA cannot connect", func(t *testing.T) {
		// The system's roots, which do not hold the test CA.
		untrusting := &tls.Config{ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
		_, err := TryConnect(t, as("gw-a", "udi-edge-site-1-gw-a-untrusting").SetTLSConfig(untrusting))
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Errorf("connect without the CA: %v, want x509.UnknownAuthorityError", err)
		}
	})

	t.Run("f: a client cannot take over another's client id", func(t *testing.T) {
		takeover(t, b, func(user, id string) *mqtt.ClientOptions { return as(user, id) })
	})
}

// TestDeployConfigClientCertificates runs the shipped configuration with
// its two commented lines for client certificates turned on: the
// certificate's CN is the user name the ACL sees, and the client id.
func TestDeployConfigClientCertificates(t *testing.T) {
	certs := NewCerts(t, "gw-a", "gw-b", "udi-central")
	// The password file stays in the configuration; with
	// use_identity_as_username mosquitto does not consult it.
	b := StartDeployed(t, Deployed{Users: map[string]string{"unused": "unused"}, Certs: certs, ClientCertificates: true})
	as := func(user, id string) *mqtt.ClientOptions {
		return options(b, id).SetTLSConfig(certs.ClientTLSConfig(user))
	}

	t.Run("the certificate's CN is the user name, whatever the client says", func(t *testing.T) {
		central := Connect(t, as("udi-central", "udi-central-1"))
		movements := MustSubscribe(t, central, "udi/v1/site-1/+/movements")
		liar := Connect(t, as("gw-b", "udi-edge-site-1-gw-b").SetUsername("gw-a").SetPassword("anything"))
		Publish(t, liar, "udi/v1/site-1/gw-a/movements", "forged by gw-b", false)
		Publish(t, liar, "udi/v1/site-1/gw-b/movements", "batch of gw-b", false)
		Expect(t, movements, "udi/v1/site-1/gw-b/movements", "batch of gw-b")
		ExpectNone(t, movements, 200*time.Millisecond)
	})
	t.Run("a client cannot take over another's client id", func(t *testing.T) {
		takeover(t, b, as)
	})
}

// takeover checks that a client logged in as gw-b and connecting with the
// client id of gw-a, then with the centre's, disconnects neither: both
// owners stay connected and gw-a's movements keep reaching the centre.
// as returns the options of a client of user with client id id.
func takeover(t *testing.T, b *Broker, as func(user, id string) *mqtt.ClientOptions) {
	t.Helper()
	lost := make(chan string, 8)
	owner := func(user, id string) mqtt.Client {
		return Connect(t, as(user, id).SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			lost <- fmt.Sprintf("%s lost its connection: %v", id, err)
		}))
	}
	gwA := owner("gw-a", "udi-edge-site-1-gw-a")
	central := owner("udi-central", "udi-central-1")
	movements := MustSubscribe(t, central, "udi/v1/site-1/+/movements")

	for i, id := range []string{"udi-edge-site-1-gw-a", "udi-central-1"} {
		// Refused or accepted under a client id of its own: either way
		// the owner keeps its connection.
		thief, err := TryConnect(t, as("gw-b", id))
		t.Logf("gw-b connecting as %s: %v", id, err)
		select {
		case why := <-lost:
			t.Fatalf("gw-b connecting with client id %s: %s", id, why)
		case <-time.After(200 * time.Millisecond):
		}
		Publish(t, gwA, "udi/v1/site-1/gw-a/movements", fmt.Sprintf("batch %d of gw-a", i), false)
		Expect(t, movements, "udi/v1/site-1/gw-a/movements", fmt.Sprintf("batch %d of gw-a", i))
		if thief != nil {
			thief.Disconnect(50)
		}
	}
	if !gwA.IsConnectionOpen() || !central.IsConnectionOpen() {
		t.Fatalf("connected: gw-a %v, centre %v", gwA.IsConnectionOpen(), central.IsConnectionOpen())
	}
}
