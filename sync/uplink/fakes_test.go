package uplink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/testkit"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/wire"
)

const (
	testSite    = "st-marys"
	testGateway = "or-3"
	// patientSecret is in every test movement; no log line may show it.
	patientSecret = "PATIENT-7f3a"
)

// wait is how long a test waits for something that should happen.
const wait = 10 * time.Second

// checkFor polls cond until it holds or d passes.
var checkFor = testkit.Eventually

// openLedger opens a ledger in a temp dir, closed when the test ends.
// Its writer waits 50 ms after a transaction's first movement for more
// (the agent's does not wait): the movements a fill submits together are
// committed together, so that the tests know the batches the uplink will
// find.
func openLedger(t testing.TB, path string) *bolt.Ledger {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "ledger.db")
	}
	l, err := bolt.Open(bolt.Options{Path: path, Gateway: testGateway, MaxDelay: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// fill appends n movements, all committed when it returns.
func fill(t testing.TB, l *bolt.Ledger, n int) {
	t.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	start := l.LastSeq()
	for i := range n {
		wg.Add(1)
		l.Submit(agent.Movement{
			Time:     time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC).Add(time.Duration(start+uint64(i)) * time.Second),
			Kind:     agent.KindUse,
			Item:     fmt.Sprintf("(01)04012345678901(21)S%07d", start+uint64(i)+1),
			Location: "or-3",
			Case:     "case-1",
			Patient:  patientSecret,
		}, func(_ agent.Movement, err error) {
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
			wg.Done()
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
}

// hashOf returns the ledger's Hash of movement seq.
func hashOf(t testing.TB, l *bolt.Ledger, seq uint64) [record.HashSize]byte {
	t.Helper()
	recs, err := l.ReadRecords(seq, 1, 0)
	if err != nil || len(recs) != 1 {
		t.Fatalf("read movement %d: %v", seq, err)
	}
	_, h := record.Hashes(recs[0])
	return h
}

// logBuffer collects log lines for the check that no patient data is
// logged.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testLogger returns a debug logger whose lines are checked, when the test
// ends, for patient data.
func testLogger(t testing.TB) (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	t.Cleanup(func() {
		if s := b.String(); strings.Contains(s, patientSecret) {
			t.Errorf("patient data in the log:\n%s", s)
		}
		if t.Failed() {
			t.Logf("uplink log:\n%s", b.String())
		}
	})
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// fakeClock is a Clock that moves only when told.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
	afters  []time.Duration // every After's duration, in order
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.afters = append(c.afters, d)
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{c.now.Add(d), ch})
	return ch
}

// Advance moves the clock by d and fires the timers due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.now
	}
	c.waiters = kept
}

// waitAfter waits until a timer of d is pending: a test advances the
// clock past a timer only once the code under test is waiting on it, or
// the advance is lost on it.
func (c *fakeClock) waitAfter(t testing.TB, d time.Duration) {
	t.Helper()
	checkFor(t, wait, fmt.Sprintf("a timer of %v", d), func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return slices.ContainsFunc(c.waiters, func(w fakeWaiter) bool { return w.at.Sub(c.now) == d })
	})
}

// Afters returns the durations After was called with.
func (c *fakeClock) Afters() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.afters...)
}

// pub is one publish a fakeConn saw.
type pub struct {
	topic    string
	payload  []byte
	retained bool
}

var errFake = errors.New("fake failure")

// fakeConn is a Conn without a broker: it records publishes, and the test
// delivers messages and drops the connection.
type fakeConn struct {
	mu         sync.Mutex
	connected  bool
	connects   int
	wills      []Will
	lost       func(error)
	subs       map[string]func(string, []byte)
	subCount   map[string]int // Subscribes of each filter, over every connection
	connectErr int            // how many Connects fail from now on
	publishErr int            // how many movement publishes fail from now on
	pubs       chan pub
}

func newFakeConn() *fakeConn { return &fakeConn{pubs: make(chan pub, 100000)} }

func (f *fakeConn) Connect(_ context.Context, will Will, lost func(error)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.connectErr > 0 {
		f.connectErr--
		return fmt.Errorf("connect: %w", errFake)
	}
	f.connected, f.lost, f.subs = true, lost, make(map[string]func(string, []byte))
	f.connects++
	f.wills = append(f.wills, will)
	return nil
}

func (f *fakeConn) Publish(_ context.Context, topic string, payload []byte, retained bool) error {
	f.mu.Lock()
	if !f.connected {
		f.mu.Unlock()
		return ErrNotConnected
	}
	if f.publishErr > 0 && strings.HasSuffix(topic, "/movements") {
		f.publishErr--
		f.mu.Unlock()
		return fmt.Errorf("publish: %w", errFake)
	}
	f.mu.Unlock()
	f.pubs <- pub{topic, bytes.Clone(payload), retained}
	return nil
}

func (f *fakeConn) Subscribe(_ context.Context, filter string, handle func(string, []byte)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.connected {
		return ErrNotConnected
	}
	f.subs[filter] = handle
	if f.subCount == nil {
		f.subCount = map[string]int{}
	}
	f.subCount[filter]++
	return nil
}

// subscribes returns how many times filter was subscribed to.
func (f *fakeConn) subscribes(filter string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.subCount[filter]
}

func (f *fakeConn) Disconnect() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.connected, f.lost, f.subs = false, nil, nil
}

// subscribed reports whether filter is subscribed to.
func (f *fakeConn) subscribed(filter string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.subs[filter]
	return ok
}

// deliver hands a message to the subscription matching topic.
func (f *fakeConn) deliver(t testing.TB, topic string, payload []byte) {
	t.Helper()
	f.mu.Lock()
	var h func(string, []byte)
	for filter, fh := range f.subs {
		if filter == topic || strings.HasSuffix(filter, "/#") && strings.HasPrefix(topic, strings.TrimSuffix(filter, "#")) {
			h = fh
		}
	}
	f.mu.Unlock()
	if h == nil {
		t.Fatalf("no subscription for %s", topic)
	}
	h(topic, payload)
}

// drop loses the connection.
func (f *fakeConn) drop() {
	f.mu.Lock()
	lost := f.lost
	f.connected, f.lost = false, nil
	f.mu.Unlock()
	if lost != nil {
		lost(errFake)
	}
}

// rig runs an Uplink over a real ledger, a fakeConn and a fakeClock.
type rig struct {
	t      *testing.T
	l      *bolt.Ledger
	conn   *fakeConn
	clock  *fakeClock
	u      *Uplink
	logs   *logBuffer
	cancel context.CancelFunc
	done   chan error
	status []wire.Status
}

// newRig fills a new ledger with n movements and starts an Uplink on it.
func newRig(t *testing.T, cfg Config, n int) *rig {
	t.Helper()
	r := &rig{t: t, l: openLedger(t, ""), conn: newFakeConn(), clock: newFakeClock()}
	fill(t, r.l, n)
	r.start(cfg)
	return r
}

// start starts an Uplink with cfg (site, gateway, clock and logger filled
// in) on r's ledger and connection.
func (r *rig) start(cfg Config) {
	r.t.Helper()
	cfg.Site, cfg.Gateway = testSite, testGateway
	if cfg.Clock == nil {
		cfg.Clock = r.clock
	}
	cfg.Logger, r.logs = testLogger(r.t)
	u, err := New(cfg, r.l, r.conn)
	if err != nil {
		r.t.Fatal(err)
	}
	r.u = u
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan error, 1)
	go func() { r.done <- u.Run(ctx) }()
	r.t.Cleanup(func() { r.stop() })
}

// stop stops the Uplink and returns Run's result.
func (r *rig) stop() error {
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err // for a second stop
		return err
	case <-time.After(wait):
		r.t.Fatal("Run did not return")
		return nil
	}
}

// next returns the next publish to the movements topic, decoded; the
// status publishes before it are kept in r.status.
func (r *rig) next() *wire.Batch {
	r.t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case p := <-r.conn.pubs:
			if p.topic == wire.StatusTopic(testSite, testGateway) {
				s, err := wire.DecodeStatus(p.payload)
				if err != nil || !p.retained {
					r.t.Fatalf("status %s (retained %v): %v", p.payload, p.retained, err)
				}
				r.status = append(r.status, s)
				continue
			}
			if p.topic != wire.MovementsTopic(testSite, testGateway) || p.retained {
				r.t.Fatalf("publish to %s, retained %v", p.topic, p.retained)
			}
			b, err := wire.DecodeBatch(p.payload)
			if err != nil {
				r.t.Fatalf("published batch: %v", err)
			}
			return b
		case <-timeout:
			r.t.Fatalf("no batch published within %v", wait)
			return nil
		}
	}
}

// quiet fails if a batch is published within d.
func (r *rig) quiet(d time.Duration) {
	r.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case p := <-r.conn.pubs:
			if p.topic == wire.MovementsTopic(testSite, testGateway) {
				b, _ := wire.DecodeBatch(p.payload)
				r.t.Fatalf("unexpected batch %d to %d", b.First, b.Last())
			}
		case <-timeout:
			return
		}
	}
}

// expect fails unless the next batch holds first to last.
func (r *rig) expect(first, last uint64) *wire.Batch {
	r.t.Helper()
	b := r.next()
	if b.First != first || b.Last() != last {
		r.t.Fatalf("batch %d to %d, want %d to %d", b.First, b.Last(), first, last)
	}
	return b
}

// ack delivers the centre's valid ack of seq.
// drainAcked expects movements 1 to last in batches of batch and acks
// each, then waits for the cursor to reach last with nothing in flight.
func (r *rig) drainAcked(last, batch uint64) {
	r.t.Helper()
	for first := uint64(1); first <= last; first += batch {
		r.expect(first, min(first+batch-1, last))
		r.ack(min(first+batch-1, last))
	}
	checkFor(r.t, wait, fmt.Sprintf("cursor %d", last), func() bool { return r.cursor() == last && r.u.Stats().InFlight == 0 })
}

func (r *rig) ack(seq uint64) {
	r.t.Helper()
	r.deliverAck(wire.NewAck(testGateway, r.l.Created().UnixNano(), seq, hashOf(r.t, r.l, seq)))
}

func (r *rig) deliverAck(a wire.Ack) {
	r.t.Helper()
	p, err := wire.EncodeAck(a)
	if err != nil {
		r.t.Fatal(err)
	}
	r.conn.deliver(r.t, wire.AckTopic(testSite, testGateway), p)
}

func (r *rig) resend(from uint64) {
	r.t.Helper()
	p, err := wire.EncodeResend(wire.NewResend(testGateway, r.l.Created().UnixNano(), from, "test"))
	if err != nil {
		r.t.Fatal(err)
	}
	r.conn.deliver(r.t, wire.ResendTopic(testSite, testGateway), p)
}

// cursor returns the ledger's persisted sync cursor.
func (r *rig) cursor() uint64 {
	r.t.Helper()
	c, err := r.l.SyncCursor()
	if err != nil {
		r.t.Fatal(err)
	}
	return c
}

// waitConnected waits for the uplink's connection count to reach n.
func (r *rig) waitConnected(n uint64) {
	r.t.Helper()
	checkFor(r.t, wait, fmt.Sprintf("connection %d", n), func() bool {
		s := r.u.Stats()
		return s.Connected && s.Connects >= n
	})
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
