package uplink

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/url"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Defaults for MQTTConfig.
const (
	// DefaultKeepAlive is the MQTT keepalive interval.
	DefaultKeepAlive = 30 * time.Second
	// DefaultConnectTimeout bounds a connection attempt.
	DefaultConnectTimeout = 10 * time.Second
	// disconnectQuiesce is how long Disconnect lets work in progress end.
	disconnectQuiesce = 250 * time.Millisecond
)

// MQTTConfig configures MQTT. Zero values take the Default* constants.
type MQTTConfig struct {
	// Brokers are the broker URLs (tcp://, ssl://, tls://, ws://, wss://),
	// tried in order. Required.
	Brokers []string
	// ClientID is the MQTT client id: wire.ClientID(site, gateway).
	// Required.
	ClientID string
	// Username and Password authenticate to the broker; the user name is
	// the gateway id.
	Username string
	Password string
	// TLS configures TLS for ssl:// and tls:// brokers.
	TLS *tls.Config
	// KeepAlive is the MQTT keepalive interval.
	KeepAlive time.Duration
	// ConnectTimeout bounds a connection attempt.
	ConnectTimeout time.Duration
}

// MQTT is the Conn of a gateway over paho.mqtt.golang (MQTT 3.1.1). Every
// Connect makes a new paho client with a clean session, paho's automatic
// reconnect off and its memory store empty: paho never resends anything
// on its own, so nothing it does can reorder movements; the Uplink sends
// again from the ledger after every reconnect.
type MQTT struct {
	cfg MQTTConfig

	mu     sync.Mutex
	client paho.Client
}

var _ Conn = (*MQTT)(nil)

// NewMQTT returns an MQTT connection, not yet connected. It returns a
// *ConfigError for a missing or invalid field.
func NewMQTT(cfg MQTTConfig) (*MQTT, error) {
	if len(cfg.Brokers) == 0 {
		return nil, &ConfigError{Field: "Brokers", Reason: "none"}
	}
	for _, b := range cfg.Brokers {
		u, err := url.Parse(b)
		if err != nil || u.Host == "" {
			return nil, &ConfigError{Field: "Brokers", Reason: fmt.Sprintf("%q is not a broker URL", b)}
		}
	}
	if cfg.ClientID == "" {
		return nil, &ConfigError{Field: "ClientID", Reason: "empty"}
	}
	if cfg.KeepAlive < 0 || cfg.ConnectTimeout < 0 {
		return nil, &ConfigError{Field: "KeepAlive", Reason: "negative duration"}
	}
	if cfg.KeepAlive == 0 {
		cfg.KeepAlive = DefaultKeepAlive
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	return &MQTT{cfg: cfg}, nil
}

// Connect implements Conn. It disconnects an earlier session first.
func (m *MQTT) Connect(ctx context.Context, will Will, lost func(error)) error {
	m.Disconnect()
	o := paho.NewClientOptions()
	for _, b := range m.cfg.Brokers {
		o.AddBroker(b)
	}
	o.SetClientID(m.cfg.ClientID)
	o.SetUsername(m.cfg.Username)
	o.SetPassword(m.cfg.Password)
	if m.cfg.TLS != nil {
		o.SetTLSConfig(m.cfg.TLS)
	}
	o.SetProtocolVersion(4) // 3.1.1, no fallback to 3.1
	o.SetKeepAlive(m.cfg.KeepAlive)
	o.SetPingTimeout(min(m.cfg.KeepAlive, 10*time.Second))
	o.SetConnectTimeout(m.cfg.ConnectTimeout)
	o.SetCleanSession(true)
	o.SetAutoReconnect(false)
	o.SetConnectRetry(false)
	o.SetResumeSubs(false)
	o.SetStore(paho.NewMemoryStore())
	o.SetOrderMatters(true)
	if will.Topic != "" {
		o.SetBinaryWill(will.Topic, will.Payload, 1, will.Retained)
	}
	var once sync.Once
	o.SetConnectionLostHandler(func(_ paho.Client, err error) {
		once.Do(func() {
			if lost != nil {
				lost(err)
			}
		})
	})
	c := paho.NewClient(o)
	tok := c.Connect()
	if err := waitToken(ctx, tok); err != nil {
		if ctx.Err() != nil {
			// Abandoned: should it still succeed, close it.
			go func() {
				if tok.Wait() && tok.Error() == nil {
					c.Disconnect(0)
				}
			}()
		}
		return fmt.Errorf("mqtt: %w", err)
	}
	m.mu.Lock()
	m.client = c
	m.mu.Unlock()
	return nil
}

// Publish implements Conn, with QoS 1.
func (m *MQTT) Publish(ctx context.Context, topic string, payload []byte, retained bool) error {
	c := m.current()
	if c == nil {
		return ErrNotConnected
	}
	// paho's Publish itself blocks while its writer does not take the
	// packet (up to 30 s once the broker is gone and before paho sees
	// it): it runs on a goroutine of its own, so that ctx (which the
	// Uplink cancels when the connection is lost) bounds the wait.
	tokc := make(chan paho.Token, 1)
	go func() { tokc <- c.Publish(topic, 1, retained, payload) }()
	select {
	case tok := <-tokc:
		if err := waitToken(ctx, tok); err != nil {
			return fmt.Errorf("mqtt: %w", err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mqtt: %w", ctx.Err())
	}
}

// Subscribe implements Conn, with QoS 1.
func (m *MQTT) Subscribe(ctx context.Context, filter string, handle func(topic string, payload []byte)) error {
	c := m.current()
	if c == nil {
		return ErrNotConnected
	}
	tok := c.Subscribe(filter, 1, func(_ paho.Client, msg paho.Message) {
		handle(msg.Topic(), msg.Payload())
	})
	if err := waitToken(ctx, tok); err != nil {
		return fmt.Errorf("mqtt: %w", err)
	}
	if st, ok := tok.(*paho.SubscribeToken); ok {
		if code, ok := st.Result()[filter]; ok && code == 0x80 {
			return fmt.Errorf("%w: %s", ErrRefused, filter)
		}
	}
	return nil
}

// Disconnect implements Conn.
func (m *MQTT) Disconnect() {
	m.mu.Lock()
	c := m.client
	m.client = nil
	m.mu.Unlock()
	if c != nil {
		c.Disconnect(uint(disconnectQuiesce / time.Millisecond))
	}
}

func (m *MQTT) current() paho.Client {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.client
}

// waitToken waits for tok or ctx.
func waitToken(ctx context.Context, tok paho.Token) error {
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}
