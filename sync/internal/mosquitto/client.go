package mosquitto

import (
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// ClientWait bounds every wait of the client helpers below for something
// that should happen.
const ClientWait = 10 * time.Second

// The client helpers: paho clients of the brokers of tests (this
// package's and sync/internal/nats's), each call failing the test when
// what it waits for does not come.

// TryConnect connects a client with opts and returns it with the error.
func TryConnect(t testing.TB, opts *mqtt.ClientOptions) (mqtt.Client, error) {
	t.Helper()
	c := mqtt.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(2 * ClientWait) {
		t.Fatalf("connect %s: no answer within %v", opts.ClientID, 2*ClientWait)
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c, nil
}

// Connect connects a client with opts or fails the test.
func Connect(t testing.TB, opts *mqtt.ClientOptions) mqtt.Client {
	t.Helper()
	c, err := TryConnect(t, opts)
	if err != nil {
		t.Fatalf("connect %s: %v", opts.ClientID, err)
	}
	return c
}

// Subscribe subscribes c to filter with QoS 1 and returns the messages it
// receives and the return code the broker granted (0x80 for a refusal).
func Subscribe(t testing.TB, c mqtt.Client, filter string) (<-chan mqtt.Message, byte) {
	t.Helper()
	msgs := make(chan mqtt.Message, 64)
	return msgs, SubscribeInto(t, c, filter, msgs)
}

// SubscribeInto subscribes c to filter with QoS 1, sending the messages to
// msgs (in the order they arrive, even from several subscriptions), and
// returns the return code the broker granted.
func SubscribeInto(t testing.TB, c mqtt.Client, filter string, msgs chan mqtt.Message) byte {
	t.Helper()
	tok := c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		select {
		case msgs <- m:
		default:
			t.Errorf("subscription %s: too many messages", filter)
		}
	})
	if !tok.WaitTimeout(ClientWait) {
		t.Fatalf("subscribe %s: no SUBACK within %v", filter, ClientWait)
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

// MustSubscribe subscribes and fails the test unless the broker grants it.
func MustSubscribe(t testing.TB, c mqtt.Client, filter string) <-chan mqtt.Message {
	t.Helper()
	msgs, code := Subscribe(t, c, filter)
	if code != 1 {
		t.Fatalf("subscribe %s: broker granted %#x, want QoS 1", filter, code)
	}
	return msgs
}

// Publish publishes payload to topic with QoS 1 and ClientWaits for the PUBACK.
func Publish(t testing.TB, c mqtt.Client, topic, payload string, retained bool) {
	t.Helper()
	tok := c.Publish(topic, 1, retained, payload)
	if !tok.WaitTimeout(ClientWait) {
		t.Fatalf("publish %s: no PUBACK within %v", topic, ClientWait)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
}

// Expect ClientWaits for the next message on msgs and checks it.
func Expect(t testing.TB, msgs <-chan mqtt.Message, topic, payload string) mqtt.Message {
	t.Helper()
	select {
	case m := <-msgs:
		if m.Topic() != topic || string(m.Payload()) != payload {
			t.Fatalf("got %d bytes %.40q on %s, want %d bytes %.40q on %s", len(m.Payload()), m.Payload(), m.Topic(), len(payload), payload, topic)
		}
		return m
	case <-time.After(ClientWait):
		t.Fatalf("no message %.40q on %s within %v", payload, topic, ClientWait)
		return nil
	}
}

// ExpectNone checks that nothing more arrives on msgs for d.
func ExpectNone(t testing.TB, msgs <-chan mqtt.Message, d time.Duration) {
	t.Helper()
	select {
	case m := <-msgs:
		t.Fatalf("unexpected message %.40q on %s", m.Payload(), m.Topic())
	case <-time.After(d):
	}
}
