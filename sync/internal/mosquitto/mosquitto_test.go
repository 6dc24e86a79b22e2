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
const wait = 5 * time.Second

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

// tryConnect connects a client with opts and returns it with the error.
func tryConnect(t *testing.T, opts *mqtt.ClientOptions) (mqtt.Client, error) {
	t.Helper()
	c := mqtt.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(2 * wait) {
		t.Fatalf("connect %s: no answer within %v", opts.ClientID, 2*wait)
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c, nil
}

// connect connects a client with opts or fails the test.
func connect(t *testing.T, opts *mqtt.ClientOptions) mqtt.Client {
	t.Helper()
	c, err := tryConnect(t, opts)
	if err != nil {
		t.Fatalf("connect %s: %v", opts.ClientID, err)
	}
	return c
}

// subscribe subscribes c to filter with QoS 1 and returns the messages it
// receives and the return code the broker granted (0x80 for a refusal).
func subscribe(t *testing.T, c mqtt.Client, filter string) (<-chan mqtt.Message, byte) {
	t.Helper()
	msgs := make(chan mqtt.Message, 64)
	return msgs, subscribeInto(t, c, filter, msgs)
}

// subscribeInto subscribes c to filter with QoS 1, sending the messages to
// msgs (in the order they arrive, even from several subscriptions), and
// returns the return code the broker granted.
func subscribeInto(t *testing.T, c mqtt.Client, filter string, msgs chan mqtt.Message) byte {
	t.Helper()
	tok := c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		select {
		case msgs <- m:
		default:
			t.Errorf("subscription %s: too many messages", filter)
		}
	})
	if !tok.WaitTimeout(wait) {
		t.Fatalf("subscribe %s: no SUBACK within %v", filter, wait)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("subscribe %s: %v", filter, err)
	}
	// paho reports a shared subscription under its filter without the
	// $share/GROUP/ prefix.
	key := filter
	if rest, ok := strings.CutPrefix(filter, "$share/"); ok {
		if _, f, ok := strings.Cut(rest, "/"); ok {
			key = f
		}
	}
	code, ok := tok.(*mqtt.SubscribeToken).Result()[key]
	if !ok {
		t.Fatalf("subscribe %s: no return code in the SUBACK", filter)
	}
	return code
}

// mustSubscribe subscribes and fails the test unless the broker grants it.
func mustSubscribe(t *testing.T, c mqtt.Client, filter string) <-chan mqtt.Message {
	t.Helper()
	msgs, code := subscribe(t, c, filter)
	if code != 1 {
		t.Fatalf("subscribe %s: broker granted %#x, want QoS 1", filter, code)
	}
	return msgs
}

// publish publishes payload to topic with QoS 1 and waits for the PUBACK.
func publish(t *testing.T, c mqtt.Client, topic, payload string, retained bool) {
	t.Helper()
	tok := c.Publish(topic, 1, retained, payload)
	if !tok.WaitTimeout(wait) {
		t.Fatalf("publish %s: no PUBACK within %v", topic, wait)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
}

// expect waits for the next message on msgs and checks it.
func expect(t *testing.T, msgs <-chan mqtt.Message, topic, payload string) mqtt.Message {
	t.Helper()
	select {
	case m := <-msgs:
		if m.Topic() != topic || string(m.Payload()) != payload {
			t.Fatalf("got %q on %s, want %q on %s", m.Payload(), m.Topic(), payload, topic)
		}
		return m
	case <-time.After(wait):
		t.Fatalf("no message %q on %s within %v", payload, topic, wait)
		return nil
	}
}

// expectNone checks that nothing more arrives on msgs for a short while.
func expectNone(t *testing.T, msgs <-chan mqtt.Message) {
	t.Helper()
	select {
	case m := <-msgs:
		t.Fatalf("unexpected message %q on %s", m.Payload(), m.Topic())
	case <-time.After(200 * time.Millisecond):
	}
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
	sub := connect(t, options(b, "sub"))
	msgs := mustSubscribe(t, sub, "t/#")
	pub := connect(t, options(b, "pub"))
	publish(t, pub, "t/1", "hello", false)
	expect(t, msgs, "t/1", "hello")
}

func TestUsersAndACL(t *testing.T) {
	b := Start(t, Config{
		Users: map[string]string{"alice": "secret-a", "bob": "secret-b"},
		ACL:   "user alice\ntopic readwrite a/#\n\nuser bob\ntopic read a/#\n",
	})
	if _, err := tryConnect(t, options(b, "anon")); err == nil {
		t.Fatal("an anonymous client connected to a broker with users")
	}
	if _, err := tryConnect(t, options(b, "alice-wrong").SetUsername("alice").SetPassword("secret-b")); err == nil {
		t.Fatal("alice connected with bob's password")
	}
	alice := connect(t, options(b, "alice").SetUsername("alice").SetPassword("secret-a"))
	bob := connect(t, options(b, "bob").SetUsername("bob").SetPassword("secret-b"))
	msgs := mustSubscribe(t, alice, "a/#")
	publish(t, bob, "a/forged", "from bob", false) // bob may only read: dropped
	publish(t, alice, "a/1", "from alice", false)
	expect(t, msgs, "a/1", "from alice")
}

func TestKillRestartReconnect(t *testing.T) {
	b := Start(t, Config{})
	port := b.Port()
	up := make(chan struct{}, 4)
	down := make(chan struct{}, 4)
	opts := options(b, "survivor").
		SetAutoReconnect(true).
		SetMaxReconnectInterval(100 * time.Millisecond).
		SetOnConnectHandler(func(mqtt.Client) { up <- struct{}{} }).
		SetConnectionLostHandler(func(mqtt.Client, error) { down <- struct{}{} })
	c := connect(t, opts)
	waitFor(t, up, "first connection")

	b.Kill()
	if b.Running() {
		t.Fatal("Running after Kill")
	}
	waitFor(t, down, "connection lost after Kill")

	b.Restart()
	if !b.Running() || b.Port() != port {
		t.Fatalf("after Restart: Running %v, port %d, want %d", b.Running(), b.Port(), port)
	}
	waitFor(t, up, "reconnection after Restart")
	msgs := mustSubscribe(t, c, "back/#")
	publish(t, c, "back/1", "again", false)
	expect(t, msgs, "back/1", "again")
	if n := strings.Count(b.Log(), "mosquitto version 2"); n < 2 {
		t.Errorf("log shows %d broker starts, want 2 or more", n)
	}
}

func TestPersistenceAcrossStop(t *testing.T) {
	b := Start(t, Config{Persistence: true, MaxQueued: 5000})
	pub := connect(t, options(b, "pub"))
	publish(t, pub, "r/ack", "kept", true)
	b.Stop()
	if b.Running() {
		t.Fatal("Running after Stop")
	}
	b.Restart()
	sub := connect(t, options(b, "sub"))
	msgs := mustSubscribe(t, sub, "r/#")
	if m := expect(t, msgs, "r/ack", "kept"); !m.Retained() {
		t.Error("the message came back without the retained flag")
	}
}

func TestTLSServerVerification(t *testing.T) {
	certs := NewCerts(t)
	b := Start(t, Config{TLS: certs.ServerTLS()})
	if !strings.HasPrefix(b.Addr(), "ssl://127.0.0.1:") {
		t.Fatalf("Addr %s, want ssl://", b.Addr())
	}
	c := connect(t, options(b, "verifying").SetTLSConfig(certs.ClientTLSConfig("")))
	msgs := mustSubscribe(t, c, "s/#")
	publish(t, c, "s/1", "over tls", false)
	expect(t, msgs, "s/1", "over tls")

	untrusting := &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "127.0.0.1"}
	_, err := tryConnect(t, options(b, "untrusting").SetTLSConfig(untrusting))
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
	_, err := tryConnect(t, options(b, "no-cert").SetTLSConfig(certs.ClientTLSConfig("")))
	if err == nil || errors.Is(err, packets.ErrorRefusedBadUsernameOrPassword) || errors.Is(err, packets.ErrorRefusedNotAuthorised) {
		t.Fatalf("a client without a certificate, on a listener that requires one: %v, want a TLS failure", err)
	}
	c := connect(t, options(b, "with-cert").SetTLSConfig(certs.ClientTLSConfig("gw-a")))
	msgs := mustSubscribe(t, c, "cn/gw-a/#")
	publish(t, c, "cn/gw-a/x", "identity", false)
	expect(t, msgs, "cn/gw-a/x", "identity")
	if _, err := tls.LoadX509KeyPair(certs.ClientCert("gw-a"), certs.ClientKey("gw-a")); err != nil {
		t.Errorf("client certificate files: %v", err)
	}
}
