package mosquitto

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// wait bounds every wait for something that should happen.
const wait = ClientWait

// options are paho options for one client of b: no automatic reconnect,
// short timeouts.
func options(b *Broker, id string) *mqtt.ClientOptions {
	return mqtt.NewClientOptions().
		AddBroker(b.Addr()).
		SetClientID(id).
		SetConnectTimeout(wait).
		SetWriteTimeout(wait).
		SetAutoReconnect(false)
}

// waitFor waits for a signal on ch.
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(2 * wait):
		t.Fatalf("%s: not within %v", what, 2*wait)
	}
}

func TestPublishSubscribe(t *testing.T) {
	b := Start(t, Config{})
	if !strings.HasPrefix(b.Addr(), "tcp://127.0.0.1:") || !b.Running() {
		t.Fatalf("Addr %s, Running %v", b.Addr(), b.Running())
	}
	sub := Connect(t, options(b, "sub"))
	msgs := MustSubscribe(t, sub, "t/#")
	pub := Connect(t, options(b, "pub"))
	Publish(t, pub, "t/1", "hello", false)
	Expect(t, msgs, "t/1", "hello")
}

func TestUsersAndACL(t *testing.T) {
	b := Start(t, Config{
		Users: map[string]string{"alice": "secret-a", "bob": "secret-b"},
		ACL:   "user alice\ntopic readwrite a/#\n\nuser bob\ntopic read a/#\n",
	})
	if _, err := TryConnect(t, options(b, "anon")); err == nil {
		t.Fatal("an anonymous client connected to a broker with users")
	}
	if _, err := TryConnect(t, options(b, "alice-wrong").SetUsername("alice").SetPassword("secret-b")); err == nil {
		t.Fatal("alice connected with bob's password")
	}
	alice := Connect(t, options(b, "alice").SetUsername("alice").SetPassword("secret-a"))
	bob := Connect(t, options(b, "bob").SetUsername("bob").SetPassword("secret-b"))
	msgs := MustSubscribe(t, alice, "a/#")
	Publish(t, bob, "a/forged", "from bob", false) // bob may only read: dropped
	Publish(t, alice, "a/1", "from alice", false)
	Expect(t, msgs, "a/1", "from alice")
}

func TestKillRestartReconnect(t *testing.T) {
	b := Start(t, Config{})
	port := b.Port()
	down := make(chan struct{}, 4)
	// No paho auto-reconnect: its resume races its own writer
	// (eclipse/paho.mqtt.golang #657, #703; firmware-notes/mqtt.md), as
	// the race detector shows. A client connects again as udi-central's
	// does: a new client on the same address.
	opts := options(b, "survivor").
		SetConnectionLostHandler(func(mqtt.Client, error) { down <- struct{}{} })
	Connect(t, opts)

	b.Kill()
	if b.Running() {
		t.Fatal("Running after Kill")
	}
	waitFor(t, down, "connection lost after Kill")

	b.Restart()
	if !b.Running() || b.Port() != port {
		t.Fatalf("after Restart: Running %v, port %d, want %d", b.Running(), b.Port(), port)
	}
	c := Connect(t, options(b, "survivor"))
	msgs := MustSubscribe(t, c, "back/#")
	Publish(t, c, "back/1", "again", false)
	Expect(t, msgs, "back/1", "again")
	if n := strings.Count(b.Log(), "mosquitto version 2"); n < 2 {
		t.Errorf("log shows %d broker starts, want 2 or more", n)
	}
}

func TestPersistenceAcrossStop(t *testing.T) {
	b := Start(t, Config{Persistence: true, MaxQueued: 5000})
	pub := Connect(t, options(b, "pub"))
	Publish(t, pub, "r/ack", "kept", true)
	b.Stop()
	if b.Running() {
		t.Fatal("Running after Stop")
	}
	b.Restart()
	sub := Connect(t, options(b, "sub"))
	msgs := MustSubscribe(t, sub, "r/#")
	if m := Expect(t, msgs, "r/ack", "kept"); !m.Retained() {
		t.Error("the message came back without the retained flag")
	}
}

func TestTLSServerVerification(t *testing.T) {
	certs := NewCerts(t)
	b := Start(t, Config{TLS: certs.ServerTLS()})
	if !strings.HasPrefix(b.Addr(), "ssl://127.0.0.1:") {
		t.Fatalf("Addr %s, want ssl://", b.Addr())
	}
	c := Connect(t, options(b, "verifying").SetTLSConfig(certs.ClientTLSConfig("")))
	msgs := MustSubscribe(t, c, "s/#")
	Publish(t, c, "s/1", "over tls", false)
	Expect(t, msgs, "s/1", "over tls")

	untrusting := &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "127.0.0.1"}
	_, err := TryConnect(t, options(b, "untrusting").SetTLSConfig(untrusting))
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("connect with an empty root pool: %v, want x509.UnknownAuthorityError", err)
	}
}

func TestTLSClientCertificate(t *testing.T) {
	certs := NewCerts(t, "gw-a")
	server := certs.ServerTLS()
	server.RequireCertificate = true
	server.UseIdentityAsUsername = true
	// Only a client whose user name (its certificate's CN) is gw-a may
	// use cn/gw-a/#.
	b := Start(t, Config{TLS: server, ACL: "pattern readwrite cn/%u/#\n"})

	// Refused in the TLS handshake (its alert or a reset), not with an
	// MQTT CONNACK code.
	_, err := TryConnect(t, options(b, "no-cert").SetTLSConfig(certs.ClientTLSConfig("")))
	if err == nil || errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword) || errors.Is(err, packets.ErrorRefusedNotAuthorised) {
		t.Fatalf("a client without a certificate, on a listener that requires one: %v, want a TLS failure", err)
	}
	c := Connect(t, options(b, "with-cert").SetTLSConfig(certs.ClientTLSConfig("gw-a")))
	msgs := MustSubscribe(t, c, "cn/gw-a/#")
	Publish(t, c, "cn/gw-a/x", "identity", false)
	Expect(t, msgs, "cn/gw-a/x", "identity")
	if _, err := tls.LoadX509KeyPair(certs.ClientCert("gw-a"), certs.ClientKey("gw-a")); err != nil {
		t.Errorf("client certificate files: %v", err)
	}
}
