package central

import (
	"context"
	"errors"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// stuckClient is a paho client whose Publish does not return until
// released, as paho's does for up to its write timeout when the
// connection has just gone down.
type stuckClient struct {
	mqtt.Client // the rest is not called
	release     chan struct{}
}

func (c stuckClient) IsConnectionOpen() bool { return true }

func (c stuckClient) Publish(string, byte, bool, any) mqtt.Token {
	<-c.release
	return &mqtt.DummyToken{}
}

// TestPostNotHeldByALostConnection: a post or publish whose message paho
// has not taken yet ends as soon as its connection is lost, not when
// paho gives up (its write timeout, 10 s): an ack posted as the broker
// went down held a gateway's acks that long.
func TestPostNotHeldByALostConnection(t *testing.T) {
	for name, send := range map[string]func(*MQTT) error{
		"post":    func(m *MQTT) error { return m.Post(context.Background(), "udi/v1/s/g/ack", false, []byte("ack")) },
		"publish": func(m *MQTT) error { return m.Publish(context.Background(), "udi/v1/s/master/x", true, []byte("m")) },
	} {
		t.Run(name, func(t *testing.T) {
			c := stuckClient{release: make(chan struct{})}
			defer close(c.release)
			s := &session{c: c, ready: make(chan struct{}), lost: make(chan struct{})}
			close(s.ready)
			m := &MQTT{cur: s}
			done := make(chan error, 1)
			go func() { done <- send(m) }()
			s.end(errors.New("connection reset by peer"))
			select {
			case err := <-done:
				if !errors.Is(err, ErrNotConnected) {
					t.Fatalf("%s on a lost connection: %v, want ErrNotConnected", name, err)
				}
			case <-time.After(30 * time.Second): // a hang guard, far beyond any answer
				t.Fatalf("%s still waits for paho after its connection was lost", name)
			}
		})
	}
}
