package central

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/udi-edge/udi-edge/sync/internal/backoff"
)

// Conn is what the Service needs of an MQTT client. MQTT implements it
// with paho; tests may use anything that delivers and records messages.
type Conn interface {
	// Subscribe subscribes to filter at QoS 1 and calls fn with every
	// message matching it, one at a time, in the order they arrive. The
	// subscription is kept across reconnects. fn may block (the Service's
	// does while its budget of pending bytes is spent): the Conn then
	// acknowledges the message only once fn has returned, and holds no
	// more than a bounded number of bytes of messages beyond it, leaving
	// the rest to the broker (MQTT stops reading the connection). It
	// returns an error when the broker refuses the subscription or ctx
	// ends first; a Conn not yet connected records the subscription and
	// makes it on connect.
	Subscribe(ctx context.Context, filter string, fn func(topic string, payload []byte)) error
	// Publish publishes payload to topic at QoS 1 and waits for the
	// broker's acknowledgement. It returns an error when the client is
	// not connected, the broker does not acknowledge, or ctx ends first.
	Publish(ctx context.Context, topic string, retained bool, payload []byte) error
}

// Poster is a Conn that can also publish without waiting for the
// broker's acknowledgement. The Service posts its acks and resend
// requests through it, when its Conn is one: a gateway that misses one
// asks again after its ack timeout, and a worker that waited for the
// broker's PUBACK would wait behind every message the broker sent
// before it, which the Conn may not be reading while the Service's
// budget is spent.
type Poster interface {
	// Post publishes payload to topic at QoS 1 and returns once the
	// client has taken it, without waiting for the broker's PUBACK. It
	// returns an error when the client is not connected, or ctx ends
	// before the client takes the message.
	Post(ctx context.Context, topic string, retained bool, payload []byte) error
}

// Defaults of MQTTConfig.
const (
	DefaultKeepAlive      = 30 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultMaxReconnect   = 30 * time.Second
	// DefaultMaxInbox is the default of MQTTConfig.MaxInbox.
	DefaultMaxInbox = 16 << 20
)

// ErrNotConnected is wrapped by the error of MQTT.Publish while the
// client has no connection to a broker, and when the connection is lost
// before the broker acknowledged the message.
var ErrNotConnected = errors.New("central: not connected to the broker")

// NotSentError is the error of a publish refused before anything was
// written, the client having no connection; it wraps ErrNotConnected.
type NotSentError struct{}

func (NotSentError) Error() string { return ErrNotConnected.Error() }

// Unwrap returns ErrNotConnected.
func (NotSentError) Unwrap() error { return ErrNotConnected }

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
	// MaxInbox bounds the bytes of the messages received and not yet
	// handed to their handler; 0 means DefaultMaxInbox. Beyond it MQTT
	// stops reading the connection until the handler takes one, so that
	// the broker holds the rest, whether or not it keeps to its in-flight
	// window (Mosquitto 2.0.11 does not under load).
	MaxInbox int
	// KeepAlive is the MQTT keepalive interval. ConnectTimeout bounds a
	// connection attempt to one broker, a subscription and a write.
	// MaxReconnect is the longest wait between two connection attempts:
	// after a lost connection the wait is drawn at random below a ceiling
	// that starts at a quarter of a second and doubles with every failed
	// attempt, up to MaxReconnect; a connection that held (longer than
	// the delays of the connections lost before it) starts it over
	// (sync/internal/backoff, the gateways' rule too). All three default
	// to the Default* constants when zero.
	KeepAlive, ConnectTimeout, MaxReconnect time.Duration
	// Logger receives connection events; nil discards them.
	Logger *slog.Logger
}

// reconnectMin is the ceiling of the first reconnect delay after a lost
// connection; it doubles with every failed attempt up to MaxReconnect.
const reconnectMin = 250 * time.Millisecond

// MQTT is a Conn over paho.mqtt.golang (MQTT 3.1.1). After Connect it
// keeps one connection to a broker at a time: when the connection is
// lost, it waits a random delay (growing with every failed attempt up to
// MaxReconnect), connects again with a new paho client, subscribes again
// and calls the OnConnect functions. paho's own reconnect is off: it
// would send again, on the new connection, what it had stored from the
// old one (stale acks), racing the new connection's writer while doing
// so (eclipse/paho.mqtt.golang issues #657, #703). Messages are handed to
// the handlers by a goroutine of MQTT, so that a handler that blocks
// holds up paho's reading of the connection (its pings and PUBACKs) only
// once MaxInbox bytes of messages wait for it.
type MQTT struct {
	cfg MQTTConfig
	log *slog.Logger
	// rand draws the jitter of reconnect delays: uniform in [0, n).
	rand func(n int64) int64

	ctx    context.Context // MQTT's life, ended by Close
	cancel context.CancelFunc
	loops  sync.WaitGroup // the connection loop and the delivery goroutine

	mu      sync.Mutex
	routes  []route
	onUp    []func() // called after every (re)connect, subscriptions made
	started bool
	closed  bool
	cur     *session      // the connection being made or made; nil between
	live    *session      // cur once its subscriptions are being made
	up      chan struct{} // closed while live is set and subscribed
	lastErr error         // why the last connection attempt failed

	in inbox
}

type route struct {
	filter string // as subscribed, perhaps $share/group/...
	match  string // without the $share/group/ prefix
	fn     func(topic string, payload []byte)
}

// session is one connection: one paho client, never reconnected.
type session struct {
	c      mqtt.Client
	tok    mqtt.Token    // the client's connect
	ready  chan struct{} // closed when the connect has succeeded
	lost   chan struct{} // closed when the connection is lost or ended
	once   sync.Once
	reason error // why the connection was lost, nil when MQTT ended it
}

// end closes s.lost, once, recording why.
func (s *session) end(why error) {
	s.once.Do(func() {
		s.reason = why
		close(s.lost)
	})
}

// gone returns the error of a publish or subscription on s cut short by
// the end of its connection; call it once s.lost is closed.
func (s *session) gone() error {
	if s.reason == nil {
		return ErrNotConnected
	}
	return fmt.Errorf("%w: connection lost: %w", ErrNotConnected, s.reason)
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
	cfg.KeepAlive = orDefault(cfg.KeepAlive, DefaultKeepAlive)
	cfg.ConnectTimeout = orDefault(cfg.ConnectTimeout, DefaultConnectTimeout)
	cfg.MaxReconnect = orDefault(cfg.MaxReconnect, DefaultMaxReconnect)
	if cfg.MaxInbox <= 0 {
		cfg.MaxInbox = DefaultMaxInbox
	}
	m := &MQTT{cfg: cfg, log: cfg.Logger, rand: rand.Int64N, up: make(chan struct{})}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.in.init(cfg.MaxInbox)
	return m, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// newClient returns a paho client for one connection of s: no reconnect
// and no resending of its own, a new memory store, messages acknowledged
// by MQTT once handled.
func (m *MQTT) newClient(s *session) mqtt.Client {
	opts := mqtt.NewClientOptions()
	for _, b := range m.cfg.Brokers {
		opts.AddBroker(b)
	}
	opts.SetClientID(m.cfg.ClientID)
	opts.SetUsername(m.cfg.Username)
	opts.SetPassword(m.cfg.Password)
	if m.cfg.TLS != nil {
		opts.SetTLSConfig(m.cfg.TLS)
	}
	opts.SetProtocolVersion(4)
	opts.SetCleanSession(m.cfg.CleanSession)
	opts.SetAutoReconnect(false)
	opts.SetConnectRetry(false)
	opts.SetResumeSubs(false)
	opts.SetStore(mqtt.NewMemoryStore())
	opts.SetOrderMatters(true)
	opts.SetAutoAckDisabled(true)
	opts.SetKeepAlive(m.cfg.KeepAlive)
	opts.SetConnectTimeout(m.cfg.ConnectTimeout)
	// A write that blocks this long means a dead connection; it also
	// bounds how long paho's Publish waits for its writer (30 s unset).
	opts.SetWriteTimeout(m.cfg.ConnectTimeout)
	opts.SetDefaultPublishHandler(func(_ mqtt.Client, msg mqtt.Message) { m.in.put(msg, s.lost, m.ctx.Done()) })
	opts.SetConnectionLostHandler(func(_ mqtt.Client, err error) { s.end(err) })
	return mqtt.NewClient(opts)
}

// Connect starts connecting to the first broker that answers and waits
// until the client is connected and subscribed, or ctx ends. After ctx
// ends the client keeps trying in the background until Close. It returns
// an error wrapping ErrClosed after Close, and ctx's error (with the last
// attempt's) when ctx ends first.
func (m *MQTT) Connect(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return fmt.Errorf("central: mqtt connect: %w", ErrClosed)
	}
	if !m.started {
		m.started = true
		m.loops.Add(2)
		go m.run()
		go m.in.run(m.ctx, &m.loops, m.deliver)
	}
	up := m.up
	m.mu.Unlock()
	select {
	case <-up:
		return nil
	case <-m.ctx.Done():
		return fmt.Errorf("central: mqtt connect: %w", ErrClosed)
	case <-ctx.Done():
		m.mu.Lock()
		last := m.lastErr
		m.mu.Unlock()
		if last != nil {
			return fmt.Errorf("central: mqtt connect: %w (last attempt: %w)", ctx.Err(), last)
		}
		return fmt.Errorf("central: mqtt connect: %w", ctx.Err())
	}
}

// run makes one connection after another until Close.
func (m *MQTT) run() {
	defer m.loops.Done()
	delays := backoff.Backoff{Min: reconnectMin, Max: m.cfg.MaxReconnect, Rand: m.rand}
	for {
		s, err := m.dial()
		if err == nil {
			began := time.Now()
			err = m.serve(s)
			delays.Held(time.Since(began)) // one that held starts the delays over
		}
		m.hangUp(s, err)
		if m.ctx.Err() != nil {
			return
		}
		delay := delays.Next()
		m.log.Warn("mqtt connection ended; reconnecting", "err", err, "delay", delay)
		t := time.NewTimer(delay)
		select {
		case <-m.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// dial makes a new client and connects it, as m.cur.
func (m *MQTT) dial() (*session, error) {
	s := &session{ready: make(chan struct{}), lost: make(chan struct{})}
	s.c = m.newClient(s)
	m.mu.Lock()
	m.cur = s
	m.mu.Unlock()
	s.tok = s.c.Connect()
	select {
	case <-s.tok.Done():
		if err := s.tok.Error(); err != nil {
			return s, fmt.Errorf("connect: %w", err)
		}
	case <-m.ctx.Done():
		return s, m.ctx.Err()
	}
	// Only now may anything be published: until its connect completes,
	// paho goes through its store (empty: a new client) to send again
	// what it holds, marking each as a duplicate.
	close(s.ready)
	return s, nil
}

// serve subscribes on s, calls the OnConnect functions and waits until s
// is lost or MQTT closed. It returns why s ended.
func (m *MQTT) serve(s *session) error {
	m.log.Info("mqtt connected")
	m.mu.Lock()
	m.live = s // from now on Subscribe subscribes on s itself
	filters := make([]string, len(m.routes))
	for i, r := range m.routes {
		filters[i] = r.filter
	}
	m.mu.Unlock()
	for _, f := range filters {
		ctx, cancel := context.WithTimeout(m.ctx, m.cfg.ConnectTimeout)
		err := m.subscribe(ctx, s, f)
		cancel()
		if err != nil {
			if !errors.Is(err, ErrNotConnected) {
				m.log.Error("mqtt subscribe failed", "filter", f, "err", err)
			}
			return err // deaf to a subscription: connect again
		}
	}
	m.mu.Lock()
	up := append([]func(){}, m.onUp...)
	close(m.up)
	m.mu.Unlock()
	for _, f := range up {
		go f()
	}
	select {
	case <-s.lost:
		return fmt.Errorf("connection lost: %w", s.reason)
	case <-m.ctx.Done():
		return m.ctx.Err()
	}
}

// hangUp ends s: nothing is published on it any more, and its client is
// disconnected (cleanly, if it is still connected).
func (m *MQTT) hangUp(s *session, why error) {
	m.mu.Lock()
	if m.live == s {
		m.live = nil
		select {
		case <-m.up:
			m.up = make(chan struct{})
		default:
		}
	}
	if m.cur == s {
		m.cur = nil
	}
	if why != nil && !errors.Is(why, context.Canceled) {
		m.lastErr = why
	}
	m.mu.Unlock()
	defer s.end(nil)
	select {
	case <-s.tok.Done():
		s.c.Disconnect(uint(disconnectQuiesce / time.Millisecond))
	default:
		// Close while connecting: should the connect still succeed,
		// end that connection too.
		go func() {
			if s.tok.Wait() && s.tok.Error() == nil {
				s.c.Disconnect(0)
			}
		}()
	}
}

// disconnectQuiesce is how long Close lets work in flight finish.
const disconnectQuiesce = 250 * time.Millisecond

// Connected reports whether the client is connected now, its
// subscriptions made.
func (m *MQTT) Connected() bool {
	m.mu.Lock()
	s, up := m.live, m.up
	m.mu.Unlock()
	if s == nil {
		return false
	}
	select {
	case <-up:
		return s.c.IsConnectionOpen()
	default:
		return false
	}
}

// WaitConnected waits until the client is connected, its subscriptions
// made (Connected), or ctx ends, or MQTT is closed.
func (m *MQTT) WaitConnected(ctx context.Context) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if m.Connected() {
			return nil
		}
		m.mu.Lock()
		closed := m.closed
		m.mu.Unlock()
		if closed {
			return fmt.Errorf("central: mqtt: %w", ErrClosed)
		}
		// The lost connection's up may still be closed until hangUp
		// replaces it, so Connected is asked again on each tick.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Close disconnects, waiting up to a quarter of a second for work in
// flight, and stops reconnecting; no handler is called after it returns.
// It is safe to call more than once.
func (m *MQTT) Close() {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.cancel()
	m.loops.Wait()
}

// OnConnect registers f to run after every connection, once the
// subscriptions are made again (see Service: it asks every gateway it
// knows to send again what it has not acknowledged).
func (m *MQTT) OnConnect(f func()) {
	m.mu.Lock()
	m.onUp = append(m.onUp, f)
	m.mu.Unlock()
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
	s := m.live
	m.mu.Unlock()
	if s == nil {
		return nil // made on connect
	}
	if err := m.subscribe(ctx, s, filter); !errors.Is(err, ErrNotConnected) {
		return err
	}
	return nil // lost meanwhile: made on the next connect
}

func (m *MQTT) subscribe(ctx context.Context, s *session, filter string) error {
	tok := s.c.Subscribe(filter, 1, nil) // messages go to deliver
	if err := wait(ctx, s, tok); err != nil {
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

// Publish implements Conn. A publish whose connection is lost before the
// broker's PUBACK, or whose write fails, returns an error wrapping
// ErrNotConnected, and is not sent again on the next connection.
func (m *MQTT) Publish(ctx context.Context, topic string, retained bool, payload []byte) error {
	m.mu.Lock()
	s := m.cur
	m.mu.Unlock()
	if s == nil || !s.c.IsConnectionOpen() {
		return fmt.Errorf("central: publish %s: %w", topic, NotSentError{})
	}
	select { // connected, but paho may still be going through its store
	case <-s.ready:
	case <-s.lost:
		return fmt.Errorf("central: publish %s: %w", topic, s.gone())
	case <-ctx.Done():
		return fmt.Errorf("central: publish %s: %w", topic, ctx.Err())
	}
	tok, err := handOver(ctx, s, topic, retained, payload)
	if err == nil {
		if err = wait(ctx, s, tok); err != nil && ctx.Err() == nil && !errors.Is(err, ErrNotConnected) {
			// The token's own error is the connection's: a write to a
			// socket the broker closed ("use of closed network
			// connection"), or paho's "connection lost".
			err = fmt.Errorf("%w: %w", ErrNotConnected, err)
		}
	}
	if err != nil {
		return fmt.Errorf("central: publish %s: %w", topic, err)
	}
	return nil
}

// handOver gives paho the message to publish on s at QoS 1 and returns
// its token once paho's writer has taken it. paho's Publish itself blocks
// until then, up to its write timeout (10 s) when the connection has just
// gone down: it is not waited for past ctx or the connection's end, so
// that an ack is not held up that long behind a connection already lost
// (a broker restart in the kills campaign held a gateway's acks 10 s).
func handOver(ctx context.Context, s *session, topic string, retained bool, payload []byte) (mqtt.Token, error) {
	toks := make(chan mqtt.Token, 1)
	go func() { toks <- s.c.Publish(topic, 1, retained, payload) }()
	select {
	case tok := <-toks:
		return tok, nil
	case <-s.lost:
		return nil, s.gone()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Post implements Poster: it publishes at QoS 1 without waiting for the
// broker's PUBACK. A message posted on a connection lost before the
// broker had it is not sent again on the next connection.
func (m *MQTT) Post(ctx context.Context, topic string, retained bool, payload []byte) error {
	m.mu.Lock()
	s := m.cur
	m.mu.Unlock()
	if s == nil || !s.c.IsConnectionOpen() {
		return fmt.Errorf("central: post %s: %w", topic, ErrNotConnected)
	}
	select {
	case <-s.ready:
	case <-s.lost:
		return fmt.Errorf("central: post %s: %w", topic, s.gone())
	case <-ctx.Done():
		return fmt.Errorf("central: post %s: %w", topic, ctx.Err())
	}
	// The PUBACK completes the token later.
	tok, err := handOver(ctx, s, topic, retained, payload)
	if err != nil {
		return fmt.Errorf("central: post %s: %w", topic, err)
	}
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("central: post %s: %w", topic, err)
		}
	default:
	}
	return nil
}

var _ Poster = (*MQTT)(nil)

// wait waits for tok, the end of s's connection or ctx.
func wait(ctx context.Context, s *session, tok mqtt.Token) error {
	select {
	case <-tok.Done():
		return tok.Error()
	case <-s.lost:
		select {
		case <-tok.Done(): // both ready: the token tells
			return tok.Error()
		default:
		}
		return s.gone()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// inbox holds the messages received and not yet handled, in arrival
// order, for the one goroutine that hands them to their handlers: paho's
// handler only queues them, and waits only while they hold max bytes.
type inbox struct {
	mu     sync.Mutex
	msgs   []mqtt.Message
	bytes  int
	max    int
	signal chan struct{} // holds a token while msgs is not empty
	room   chan struct{} // holds a token after a message is taken
}

func (in *inbox) init(max int) {
	in.max = max
	in.signal = make(chan struct{}, 1)
	in.room = make(chan struct{}, 1)
}

// put queues msg, first waiting while the messages queued hold max bytes
// and more (a message larger than that goes alone). Meanwhile paho reads
// nothing more from the connection, and the broker holds what follows.
// It drops msg, unacknowledged, when lost or done is closed first: the
// broker sends it again on the next connection of a persistent session.
func (in *inbox) put(msg mqtt.Message, lost, done <-chan struct{}) {
	n := len(msg.Payload())
	for {
		in.mu.Lock()
		if len(in.msgs) == 0 || in.bytes+n <= in.max {
			in.msgs = append(in.msgs, msg)
			in.bytes += n
			in.mu.Unlock()
			select {
			case in.signal <- struct{}{}:
			default:
			}
			return
		}
		in.mu.Unlock()
		select {
		case <-in.room:
		case <-lost:
			return
		case <-done:
			return
		}
	}
}

// held returns the bytes of the messages queued.
func (in *inbox) held() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.bytes
}

// run hands the queued messages to handle one at a time, acknowledging
// each after it, until ctx ends. What is still queued then is not
// acknowledged: the broker sends it again to a persistent session.
func (in *inbox) run(ctx context.Context, wg *sync.WaitGroup, handle func(topic string, payload []byte)) {
	defer wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-in.signal:
		}
		for ctx.Err() == nil {
			in.mu.Lock()
			if len(in.msgs) == 0 {
				in.mu.Unlock()
				break
			}
			msg := in.msgs[0]
			in.msgs[0] = nil
			in.msgs = in.msgs[1:]
			in.bytes -= len(msg.Payload())
			in.mu.Unlock()
			select {
			case in.room <- struct{}{}:
			default:
			}
			handle(msg.Topic(), msg.Payload())
			msg.Ack()
		}
	}
}

// Inbox returns the bytes of the messages received and not yet handed to
// their handler: at most MaxInbox, or one larger message.
func (m *MQTT) Inbox() int { return m.in.held() }

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
