package central

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Conn is what the Service needs of an MQTT client. MQTT implements it
// with paho; tests may use anything that delivers and records messages.
type Conn interface {
	// Subscribe subscribes to filter at QoS 1 and calls fn with every
	// message matching it, one at a time, in the order they arrive. The
	// subscription is kept across reconnects. fn must not block for
	// long. It returns an error when the broker refuses the subscription
	// or ctx ends first; a Conn not yet connected records the
	// subscription and makes it on connect.
	Subscribe(ctx context.Context, filter string, fn func(topic string, payload []byte)) error
	// Publish publishes payload to topic at QoS 1 and waits for the
	// broker's acknowledgement. It returns an error when the client is
	// not connected, the broker does not acknowledge, or ctx ends first.
	Publish(ctx context.Context, topic string, retained bool, payload []byte) error
}

// Defaults of MQTTConfig.
const (
	DefaultKeepAlive      = 30 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultMaxReconnect   = 30 * time.Second
)

// ErrNotConnected is returned by MQTT.Publish while the client has no
// connection to a broker.
var ErrNotConnected = errors.New("central: not connected to the broker")

// MQTTConfig configures the paho client of MQTT.
type MQTTConfig struct {
	// Brokers are the broker URLs, tried in order: tcp://host:1883,
	// ssl://host:8883 (TLS), ws://, wss://. At least one.
	Brokers []string
	// ClientID is the MQTT client id; required. With a persistent session
	// (CleanSession false) the broker queues QoS 1 messages for it while
	// it is away, so every instance needs its own, stable id.
	ClientID string
	// Username and Password authenticate to the broker; optional.
	Username, Password string
	// TLS is the TLS configuration for ssl:// and wss:// brokers: the
	// broker's CA in RootCAs (the server is always verified), and a
	// client certificate where the broker wants one.
	TLS *tls.Config
	// CleanSession starts a fresh session on every connect. When false
	// (the default), the broker keeps the subscriptions and queues QoS 1
	// messages while the service is away.
	CleanSession bool
	// KeepAlive, ConnectTimeout and MaxReconnect default to the Default*
	// constants when zero.
	KeepAlive, ConnectTimeout, MaxReconnect time.Duration
	// Logger receives connection events; nil discards them.
	Logger *slog.Logger
}

// MQTT is a Conn over paho.mqtt.golang (MQTT 3.1.1). It reconnects by
// itself and subscribes again on every connect.
type MQTT struct {
	client mqtt.Client
	log    *slog.Logger

	mu     sync.Mutex
	routes []route
	onUp   []func() // called after every (re)connect, subscriptions made
}

type route struct {
	filter string // as subscribed, perhaps $share/group/...
	match  string // without the $share/group/ prefix
	fn     func(topic string, payload []byte)
}

var _ Conn = (*MQTT)(nil)

// NewMQTT returns an MQTT client for cfg, not yet connected: subscribe
// first (Service.Start does), then Connect, so that no message of a
// persistent session arrives before its handler. It returns an error
// wrapping ErrInvalid for a config without brokers or client id.
func NewMQTT(cfg MQTTConfig) (*MQTT, error) {
	if len(cfg.Brokers) == 0 {
		return nil, fmt.Errorf("%w: no broker URL", ErrInvalid)
	}
	if cfg.ClientID == "" {
		return nil, fmt.Errorf("%w: no MQTT client id", ErrInvalid)
	}
	m := &MQTT{log: cfg.Logger}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	opts := mqtt.NewClientOptions()
	for _, b := range cfg.Brokers {
		opts.AddBroker(b)
	}
	opts.SetClientID(cfg.ClientID)
	opts.SetUsername(cfg.Username)
	opts.SetPassword(cfg.Password)
	if cfg.TLS != nil {
		opts.SetTLSConfig(cfg.TLS)
	}
	opts.SetProtocolVersion(4)
	opts.SetCleanSession(cfg.CleanSession)
	opts.SetOrderMatters(true)
	opts.SetAutoReconnect(true)
	opts.SetConnectRetry(true)
	opts.SetKeepAlive(orDefault(cfg.KeepAlive, DefaultKeepAlive))
	opts.SetConnectTimeout(orDefault(cfg.ConnectTimeout, DefaultConnectTimeout))
	opts.SetMaxReconnectInterval(orDefault(cfg.MaxReconnect, DefaultMaxReconnect))
	opts.SetConnectRetryInterval(time.Second)
	opts.SetDefaultPublishHandler(func(_ mqtt.Client, msg mqtt.Message) { m.deliver(msg.Topic(), msg.Payload()) })
	opts.SetOnConnectHandler(func(mqtt.Client) { m.onConnect() })
	opts.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		m.log.Warn("mqtt connection lost", "err", err)
	})
	opts.SetReconnectingHandler(func(_ mqtt.Client, o *mqtt.ClientOptions) {
		m.log.Info("mqtt reconnecting")
	})
	m.client = mqtt.NewClient(opts)
	return m, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Connect connects to the first broker that answers and waits until it is
// connected or ctx ends. After ctx ends the client keeps trying in the
// background until Close.
func (m *MQTT) Connect(ctx context.Context) error {
	tok := m.client.Connect()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("central: mqtt connect: %w", err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("central: mqtt connect: %w", ctx.Err())
	}
}

// Connected reports whether the client is connected now.
func (m *MQTT) Connected() bool { return m.client.IsConnectionOpen() }

// Close disconnects, waiting up to a quarter of a second for work in
// flight.
func (m *MQTT) Close() { m.client.Disconnect(250) }

// onConnect makes every recorded subscription.
// OnConnect registers f to run after every connection, once the
// subscriptions are made again (see Service: it asks every gateway it
// knows to send again what it has not acknowledged).
func (m *MQTT) OnConnect(f func()) {
	m.mu.Lock()
	m.onUp = append(m.onUp, f)
	m.mu.Unlock()
}

func (m *MQTT) onConnect() {
	m.log.Info("mqtt connected")
	m.mu.Lock()
	filters := make([]string, len(m.routes))
	for i, r := range m.routes {
		filters[i] = r.filter
	}
	up := append([]func(){}, m.onUp...)
	m.mu.Unlock()
	defer func() {
		for _, f := range up {
			go f()
		}
	}()
	for _, f := range filters {
		ctx, cancel := context.WithTimeout(context.Background(), DefaultConnectTimeout)
		if err := m.subscribe(ctx, f); err != nil {
			m.log.Error("mqtt subscribe failed", "filter", f, "err", err)
		}
		cancel()
	}
}

// Subscribe implements Conn.
func (m *MQTT) Subscribe(ctx context.Context, filter string, fn func(topic string, payload []byte)) error {
	match := filter
	if rest, ok := strings.CutPrefix(filter, "$share/"); ok {
		_, match, ok = strings.Cut(rest, "/")
		if !ok {
			return fmt.Errorf("%w: shared subscription %q without a filter", ErrInvalid, filter)
		}
	}
	m.mu.Lock()
	m.routes = append(m.routes, route{filter: filter, match: match, fn: fn})
	m.mu.Unlock()
	if !m.client.IsConnectionOpen() {
		return nil // made on connect
	}
	return m.subscribe(ctx, filter)
}

func (m *MQTT) subscribe(ctx context.Context, filter string) error {
	tok := m.client.Subscribe(filter, 1, nil) // messages go to deliver
	if err := wait(ctx, tok); err != nil {
		return fmt.Errorf("central: subscribe %s: %w", filter, err)
	}
	if st, ok := tok.(*mqtt.SubscribeToken); ok {
		for f, code := range st.Result() {
			if code == 0x80 {
				return fmt.Errorf("central: subscribe %s: refused by the broker", f)
			}
		}
	}
	return nil
}

// deliver passes a message to the handler of the first route it matches.
func (m *MQTT) deliver(topic string, payload []byte) {
	m.mu.Lock()
	var fn func(string, []byte)
	for _, r := range m.routes {
		if topicMatch(r.match, topic) {
			fn = r.fn
			break
		}
	}
	m.mu.Unlock()
	if fn == nil {
		m.log.Warn("mqtt message on a topic not subscribed", "topic", topic)
		return
	}
	fn(topic, payload)
}

// Publish implements Conn.
func (m *MQTT) Publish(ctx context.Context, topic string, retained bool, payload []byte) error {
	if !m.client.IsConnectionOpen() {
		return fmt.Errorf("central: publish %s: %w", topic, ErrNotConnected)
	}
	if err := wait(ctx, m.client.Publish(topic, 1, retained, payload)); err != nil {
		return fmt.Errorf("central: publish %s: %w", topic, err)
	}
	return nil
}

func wait(ctx context.Context, tok mqtt.Token) error {
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// topicMatch reports whether topic matches the MQTT subscription filter
// (with + and # wildcards; not a $share/ filter).
func topicMatch(filter, topic string) bool {
	for {
		f, frest, fmore := strings.Cut(filter, "/")
		if f == "#" {
			return true
		}
		t, trest, tmore := strings.Cut(topic, "/")
		if f != "+" && f != t {
			return false
		}
		if !fmore || !tmore {
			return fmore == tmore || (fmore && frest == "#")
		}
		filter, topic = frest, trest
	}
}
