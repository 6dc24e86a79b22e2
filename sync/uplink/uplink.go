package uplink

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/internal/backoff"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// statusTimeout bounds the offline status published on shutdown.
const statusTimeout = 2 * time.Second

// maxInbox bounds the acks and resend requests waiting for the loop; the
// oldest are dropped beyond it (acks are retained and resends repeated,
// so nothing is lost for good).
const maxInbox = 1024

// Stats are counters of an Uplink.
type Stats struct {
	// LastSeq is the ledger's last movement.
	LastSeq uint64
	// Acked is the sync cursor: every movement up to it is acknowledged.
	Acked uint64
	// InFlight is how many batches await the centre's ack.
	InFlight int
	// Batches is how many batches were published (PUBACK received).
	Batches uint64
	// Movements is how many movements those batches carried.
	Movements uint64
	// Resends is how many times the uplink started again from an earlier
	// movement: on a resend request, an ack timeout or an ack mismatch.
	Resends uint64
	// Connects is how many connections were made.
	Connects uint64
	// Connected says whether the uplink is connected now.
	Connected bool
	// Refused is how many acks, resend requests and master data payloads
	// were refused for a signature that is not the pinned centre key's.
	Refused uint64
}

// Uplink delivers a gateway's movements to the central service. Create it
// with New and start it with Run.
type Uplink struct {
	cfg     Config
	out     Outbox
	conn    Conn
	log     *slog.Logger
	clock   Clock
	created int64

	topicMovements, topicAck, topicResend, topicStatus string

	inbox   inbox
	masters masterBox
	running atomic.Bool

	mu    sync.Mutex
	stats Stats

	// The loop's state, owned by Run's goroutine.
	cursor   uint64 // acknowledged
	next     uint64 // the next movement to publish
	inflight []span // published, not yet acknowledged, oldest first
	progress time.Time
	backoff  backoff.Backoff
	// lastResend is the resend request acted on last, to ignore its
	// repetitions.
	lastResend struct {
		from, cursor uint64
		at           time.Time
	}
	lastMismatch time.Time
}

// span is a published batch.
type span struct{ first, last uint64 }

// New returns an Uplink for the ledger out over conn. It returns a
// *ConfigError for an invalid cfg, or when out belongs to another gateway.
func New(cfg Config, out Outbox, conn Conn) (*Uplink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if out == nil || conn == nil {
		return nil, &ConfigError{Field: "Outbox", Reason: "outbox and connection are required"}
	}
	if gw := out.Gateway(); gw != cfg.Gateway {
		return nil, &ConfigError{Field: "Gateway", Reason: fmt.Sprintf("%q, but the ledger belongs to %q", cfg.Gateway, gw)}
	}
	rnd := cfg.Rand
	u := &Uplink{
		cfg:            cfg,
		out:            out,
		conn:           conn,
		log:            cfg.Logger,
		clock:          cfg.Clock,
		created:        out.Created().UnixNano(),
		topicMovements: wire.MovementsTopic(cfg.Site, cfg.Gateway),
		topicAck:       wire.AckTopic(cfg.Site, cfg.Gateway),
		topicResend:    wire.ResendTopic(cfg.Site, cfg.Gateway),
		topicStatus:    wire.StatusTopic(cfg.Site, cfg.Gateway),
		backoff:        backoff.Backoff{Min: cfg.BackoffMin, Max: cfg.BackoffMax, Rand: rnd.Int64N},
	}
	u.inbox.signal = make(chan struct{}, 1)
	u.masters.init()
	return u, nil
}

// Stats returns the uplink's counters.
func (u *Uplink) Stats() Stats {
	u.mu.Lock()
	s := u.stats
	u.mu.Unlock()
	s.LastSeq = u.out.LastSeq()
	return s
}

func (u *Uplink) update(f func(s *Stats)) {
	u.mu.Lock()
	f(&u.stats)
	u.mu.Unlock()
}

// Run delivers movements until ctx ends: it connects, publishes from the
// cursor + 1, follows acks and resend requests, and reconnects with
// backoff when the connection fails. It returns nil when ctx ends (after
// publishing the offline status), an error wrapping ErrOutbox when the
// ledger fails, and ErrRunning when Run is already running.
func (u *Uplink) Run(ctx context.Context) error {
	if !u.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer u.running.Store(false)
	cursor, err := u.out.SyncCursor()
	if err != nil {
		return fmt.Errorf("%w: read the sync cursor: %w", ErrOutbox, err)
	}
	u.cursor = cursor
	u.update(func(s *Stats) { s.Acked = cursor })

	var wg sync.WaitGroup
	defer wg.Wait()
	mctx, stopMasters := context.WithCancel(ctx)
	defer stopMasters()
	if u.cfg.Apply != nil {
		wg.Go(func() { u.applyMasters(mctx) })
	}

	for {
		err := u.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrOutbox) {
			u.log.Error("uplink: stopped", "err", err)
			return err
		}
		delay := u.backoff.Next()
		u.log.Warn("uplink: connection ended; reconnecting", "err", err, "delay", delay)
		select {
		case <-ctx.Done():
			return nil
		case <-u.clock.After(delay):
		}
	}
}

// session runs one connection: it returns why it ended.
func (u *Uplink) session(parent context.Context) error {
	lost := make(chan error, 1)
	will, err := u.status(wire.StateOffline)
	if err != nil {
		return err
	}
	// The session's context ends when the connection is lost, so that a
	// publish in flight to a broker that died returns at once instead of
	// at its timeout.
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	err = u.conn.Connect(ctx, Will{Topic: u.topicStatus, Payload: will, Retained: true}, func(err error) {
		select {
		case lost <- err:
		default:
		}
		cancel()
	})
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	connected := u.clock.Now()
	defer func() { u.backoff.Held(u.clock.Now().Sub(connected)) }()
	defer u.disconnect(parent)
	u.inbox.reset()

	if err := u.subscribe(ctx, u.topicAck, u.inbox.handler(kindAck)); err != nil {
		return fmt.Errorf("subscribe to acks: %w", err)
	}
	if err := u.subscribe(ctx, u.topicResend, u.inbox.handler(kindResend)); err != nil {
		return fmt.Errorf("subscribe to resend requests: %w", err)
	}
	if u.cfg.Apply != nil {
		if err := u.subscribe(ctx, wire.MasterFilter(u.cfg.Site), u.onMaster); err != nil {
			return fmt.Errorf("subscribe to master data: %w", err)
		}
	}
	online, err := u.status(wire.StateOnline)
	if err != nil {
		return err
	}
	if err := u.publish(ctx, u.topicStatus, online, true); err != nil {
		return fmt.Errorf("publish status: %w", err)
	}
	statusAt := u.clock.Now()
	u.update(func(s *Stats) { s.Connected = true; s.Connects++ })
	u.log.Info("uplink: connected", "acked", u.cursor, "last_seq", u.out.LastSeq())

	// After every (re)connect: from the cursor + 1, at once.
	u.next, u.inflight = u.cursor+1, nil
	u.setInflight()
	// The master subscription is made again with the first two statuses
	// after connecting: a broker whose retained messages reach its nodes
	// asynchronously (a NATS cluster after a node's loss) can miss, in a
	// subscription made just after a publication, the retained parts
	// published, and a node that lost a peer as it came back was seen to
	// take more than one status interval to have them; a SUBSCRIBE of the
	// same filter replaces the subscription and has the broker send the
	// retained messages again (MQTT 3.1.1 3.8.4). The versions held come
	// again and are passed over silently: two replays a connection.
	renew := 0
	if u.cfg.Apply != nil {
		renew = 2
	}
	for {
		if err := u.handleInbox(); err != nil {
			return err
		}
		select {
		case err := <-lost:
			return fmt.Errorf("connection lost: %w", err)
		case <-ctx.Done():
			return sessionEnd(parent, lost)
		default:
		}
		now := u.clock.Now()
		if now.Sub(statusAt) >= u.cfg.StatusInterval {
			p, err := u.status(wire.StateOnline)
			if err != nil {
				return err
			}
			if err := u.publish(ctx, u.topicStatus, p, true); err != nil {
				return fmt.Errorf("publish status: %w", err)
			}
			statusAt = now
			if renew > 0 {
				renew--
				if err := u.subscribe(ctx, wire.MasterFilter(u.cfg.Site), u.onMaster); err != nil {
					return fmt.Errorf("subscribe to master data again: %w", err)
				}
			}
		}
		if len(u.inflight) > 0 && now.Sub(u.progress) >= u.cfg.AckTimeout {
			u.log.Warn("uplink: no ack progress; sending again from the cursor", "acked", u.cursor, "in_flight", len(u.inflight), "timeout", u.cfg.AckTimeout)
			u.rewind(u.cursor + 1)
		}
		if len(u.inflight) < u.cfg.Window {
			sent, err := u.sendNext(ctx)
			if err != nil {
				return err
			}
			if sent {
				continue
			}
		}
		var changed <-chan struct{}
		if len(u.inflight) < u.cfg.Window {
			changed = u.out.Changed()
			if u.out.LastSeq() >= u.next {
				continue // committed before Changed was called
			}
		}
		var timeout <-chan time.Time
		if len(u.inflight) > 0 {
			timeout = u.clock.After(u.progress.Add(u.cfg.AckTimeout).Sub(now))
		}
		select {
		case err := <-lost:
			return fmt.Errorf("connection lost: %w", err)
		case <-ctx.Done():
			return sessionEnd(parent, lost)
		case <-u.inbox.signal:
		case <-changed:
		case <-timeout:
		case <-u.clock.After(statusAt.Add(u.cfg.StatusInterval).Sub(now)):
		}
	}
}

// sessionEnd says why a session's context ended: the uplink stops
// (parent's error), or the connection was lost.
func sessionEnd(parent context.Context, lost <-chan error) error {
	if err := parent.Err(); err != nil {
		return err
	}
	select {
	case err := <-lost:
		return fmt.Errorf("connection lost: %w", err)
	default:
		return errors.New("connection lost")
	}
}

// disconnect ends a session: with the offline status when the uplink
// stops, since a clean disconnect does not publish the will.
func (u *Uplink) disconnect(ctx context.Context) {
	u.update(func(s *Stats) { s.Connected = false })
	if ctx.Err() != nil {
		if p, err := u.status(wire.StateOffline); err == nil {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), statusTimeout)
			if err := u.conn.Publish(sctx, u.topicStatus, p, true); err != nil {
				u.log.Warn("uplink: publish offline status", "err", err)
			}
			cancel()
		}
	}
	u.conn.Disconnect()
}

// subscribe subscribes within the publish timeout.
func (u *Uplink) subscribe(ctx context.Context, filter string, handle func(string, []byte)) error {
	sctx, cancel := context.WithTimeout(ctx, u.cfg.PublishTimeout)
	defer cancel()
	return u.conn.Subscribe(sctx, filter, handle)
}

// publish publishes within the publish timeout.
func (u *Uplink) publish(ctx context.Context, topic string, p []byte, retained bool) error {
	pctx, cancel := context.WithTimeout(ctx, u.cfg.PublishTimeout)
	defer cancel()
	return u.conn.Publish(pctx, topic, p, retained)
}

// status returns the gateway's status payload, signed with the gateway's
// key when it has one; the offline one (the will) carries no sequence
// numbers.
func (u *Uplink) status(state string) ([]byte, error) {
	s := wire.Status{V: wire.JSONVersion, Gateway: u.cfg.Gateway, Site: u.cfg.Site, State: state, Time: u.clock.Now(), Version: u.cfg.Version}
	if state == wire.StateOnline {
		s.LastSeq, s.AckedSeq = u.out.LastSeq(), u.cursor
		s.AckedSeq = min(s.AckedSeq, s.LastSeq)
	}
	if u.cfg.Key != nil {
		s.Sign(u.cfg.Key)
	}
	p, err := wire.EncodeStatus(s)
	if err != nil {
		return nil, fmt.Errorf("uplink: encode status: %w", err)
	}
	return p, nil
}

// sendNext publishes the next batch, if there are movements to send. It
// reports whether it published one.
func (u *Uplink) sendNext(ctx context.Context) (bool, error) {
	if u.next > u.out.LastSeq() {
		return false, nil
	}
	b := &wire.Batch{Gateway: u.cfg.Gateway, Site: u.cfg.Site, Created: u.created, First: u.next}
	if u.cfg.Key != nil {
		b.Sig = make([]byte, ed25519.SignatureSize) // counted in the size; signed below
	}
	header := b.Size() + 2 // the count grows to at most 3 bytes
	recs, err := u.out.ReadRecords(u.next, u.cfg.BatchMax, max(u.cfg.BatchBytes-header, 0))
	if err != nil {
		return false, fmt.Errorf("%w: read movements from %d: %w", ErrOutbox, u.next, err)
	}
	if len(recs) == 0 {
		return false, nil
	}
	b.Records = recs
	// The ledger counts record bytes only; a batch adds a length to each.
	size := b.Size()
	for len(b.Records) > 1 && size > u.cfg.BatchBytes {
		size -= wire.RecordSize(len(b.Records[len(b.Records)-1]))
		b.Records = b.Records[:len(b.Records)-1]
	}
	if u.cfg.Key != nil {
		b.Sign(u.cfg.Key)
	}
	p, err := wire.AppendBatch(nil, b)
	if err != nil {
		return false, fmt.Errorf("%w: movements %d to %d: %w", ErrOutbox, b.First, b.Last(), err)
	}
	if err := u.publish(ctx, u.topicMovements, p, false); err != nil {
		return false, fmt.Errorf("publish movements %d to %d: %w", b.First, b.Last(), err)
	}
	if len(u.inflight) == 0 {
		u.progress = u.clock.Now()
	}
	u.inflight = append(u.inflight, span{b.First, b.Last()})
	u.next = b.Last() + 1
	u.backoff.Reset()
	u.update(func(s *Stats) {
		s.Batches++
		s.Movements += uint64(len(b.Records))
		s.InFlight = len(u.inflight)
	})
	u.log.Debug("uplink: published", "first", b.First, "last", b.Last(), "bytes", len(p))
	return true, nil
}

// rewind discards the window and sends again from from.
func (u *Uplink) rewind(from uint64) {
	u.next, u.inflight = from, u.inflight[:0]
	u.progress = u.clock.Now()
	u.update(func(s *Stats) { s.Resends++; s.InFlight = 0 })
}

func (u *Uplink) setInflight() {
	n := len(u.inflight)
	u.update(func(s *Stats) { s.InFlight = n })
}

// handleInbox handles the acks and resend requests received.
func (u *Uplink) handleInbox() error {
	for _, m := range u.inbox.take() {
		switch m.kind {
		case kindAck:
			if err := u.onAck(m.payload); err != nil {
				return err
			}
		case kindResend:
			u.onResend(m.payload)
		}
	}
	return nil
}

// onAck advances the cursor on a valid ack: one for this ledger whose
// hash is the ledger's own hash of movement seq. A mismatch is logged and
// answered by sending again from the cursor + 1, at most once per ack
// timeout. The hash is proof that the centre holds the movement, so an
// ack for a movement not sent in this session (a retained ack after a
// restart) is as good as any.
func (u *Uplink) onAck(p []byte) error {
	if len(p) == 0 {
		return nil // a cleared retained ack
	}
	a, err := wire.DecodeAck(p)
	if err != nil {
		u.log.Warn("uplink: ack rejected", "err", err)
		return nil
	}
	if a.Gateway != u.cfg.Gateway {
		u.log.Warn("uplink: ack for another gateway ignored", "ack_gateway", a.Gateway)
		return nil
	}
	if u.cfg.CentreKey != nil {
		if err := a.Verify(u.cfg.Site, u.cfg.CentreKey); err != nil {
			// Not the centre's: it proves nothing and moves nothing.
			u.log.Warn("uplink: ack refused", "seq", a.Seq, "err", err)
			u.update(func(s *Stats) { s.Refused++ })
			return nil
		}
	}
	mismatch := func(reason string) {
		now := u.clock.Now()
		again := u.lastMismatch.IsZero() || now.Sub(u.lastMismatch) >= u.cfg.AckTimeout
		u.log.Warn("uplink: ack does not match the ledger", "reason", reason, "seq", a.Seq, "created", a.Created, "acked", u.cursor, "send_again", again)
		if again {
			u.lastMismatch = now
			u.rewind(u.cursor + 1)
		}
	}
	if a.Created != u.created {
		mismatch("another ledger (created differs)")
		return nil
	}
	if a.Seq > u.out.LastSeq() {
		mismatch("beyond the last movement")
		return nil
	}
	recs, err := u.out.ReadRecords(a.Seq, 1, 0)
	if err != nil {
		return fmt.Errorf("%w: read movement %d: %w", ErrOutbox, a.Seq, err)
	}
	if len(recs) != 1 || len(recs[0]) < record.Tail {
		return fmt.Errorf("%w: movement %d missing", ErrOutbox, a.Seq)
	}
	want, _ := a.Sum()
	if _, hash := record.Hashes(recs[0]); hash != want {
		mismatch("hash differs")
		return nil
	}
	progressed := false
	if a.Seq > u.cursor {
		if err := u.out.SetSyncCursor(a.Seq); err != nil {
			return fmt.Errorf("%w: set the sync cursor to %d: %w", ErrOutbox, a.Seq, err)
		}
		u.cursor = a.Seq
		progressed = true
		u.backoff.Reset()
		u.update(func(s *Stats) { s.Acked = a.Seq })
		u.log.Debug("uplink: acknowledged", "seq", a.Seq)
	}
	n := len(u.inflight)
	u.inflight = slices.DeleteFunc(u.inflight, func(s span) bool { return s.last <= a.Seq })
	if len(u.inflight) < n {
		progressed = true
	}
	if a.Seq >= u.next {
		// The centre holds more than was sent on this connection (a
		// retained ack after a restart): go on from there. An ack below
		// the cursor, after a resend request from below it, does not
		// skip what was asked for.
		u.next, u.inflight = a.Seq+1, u.inflight[:0]
	}
	if progressed {
		u.progress = u.clock.Now()
	}
	u.setInflight()
	return nil
}

// firstSeq returns the first movement the outbox still holds (1 unless
// retention cut the ledger: an Outbox with FirstSeq says).
func (u *Uplink) firstSeq() uint64 {
	f, ok := u.out.(interface{ FirstSeq() (uint64, error) })
	if !ok {
		return 1
	}
	first, err := f.FirstSeq()
	if err != nil || first == 0 {
		return 1
	}
	return first
}

// onResend sends again from the requested movement. A request that
// repeats the last one acted on, within the ack timeout and with the
// cursor unmoved, is ignored: it answers a batch sent before the first
// was acted on, and the ack timeout covers its loss.
func (u *Uplink) onResend(p []byte) {
	r, err := wire.DecodeResend(p)
	if err != nil {
		u.log.Warn("uplink: resend request rejected", "err", err)
		return
	}
	if r.Gateway != u.cfg.Gateway || r.Created != u.created {
		u.log.Warn("uplink: resend request for another ledger ignored", "req_gateway", r.Gateway, "created", r.Created)
		return
	}
	if u.cfg.CentreKey != nil {
		if err := r.Verify(u.cfg.Site, u.cfg.CentreKey); err != nil {
			// Not the centre's: whoever can publish on the topic would
			// have the whole ledger sent again.
			u.log.Warn("uplink: resend request refused", "from", r.From, "err", err)
			u.update(func(s *Stats) { s.Refused++ })
			return
		}
	}
	from := max(r.From, 1)
	if last := u.out.LastSeq(); from > last+1 {
		u.log.Warn("uplink: resend request beyond the last movement", "from", from, "last_seq", last)
		from = u.cursor + 1
	}
	if first := u.firstSeq(); from < first {
		// The centre asks for movements it acknowledged and that have
		// since left the ledger (retention): they are not here to send.
		// What is here is sent; the centre's loss is its own to repair
		// (its backup), and it is said once a request.
		u.log.Error("uplink: the centre asks again for movements retained away after it acknowledged them: sending from the first one kept; restore the centre's store from its backup",
			"from", from, "first_kept", first)
		from = first
	}
	now := u.clock.Now()
	lr := &u.lastResend
	if lr.from == from && lr.cursor == u.cursor && !lr.at.IsZero() && now.Sub(lr.at) < u.cfg.AckTimeout {
		u.log.Debug("uplink: repeated resend request ignored", "from", from)
		return
	}
	lr.from, lr.cursor, lr.at = from, u.cursor, now
	u.log.Info("uplink: resend requested", "from", from, "reason", r.Reason, "acked", u.cursor)
	u.rewind(from)
}

// Inbound messages for the loop.
const (
	kindAck = iota
	kindResend
)

type message struct {
	kind    int
	payload []byte
}

// inbox queues acks and resend requests from the connection's handlers,
// which must not block, for the loop.
type inbox struct {
	mu      sync.Mutex
	q       []message
	dropped int
	signal  chan struct{}
}

func (b *inbox) handler(kind int) func(topic string, payload []byte) {
	return func(_ string, payload []byte) { b.push(message{kind, payload}) }
}

func (b *inbox) push(m message) {
	b.mu.Lock()
	if len(b.q) >= maxInbox {
		b.q = b.q[1:]
		b.dropped++
	}
	b.q = append(b.q, m)
	b.mu.Unlock()
	select {
	case b.signal <- struct{}{}:
	default:
	}
}

func (b *inbox) take() []message {
	b.mu.Lock()
	defer b.mu.Unlock()
	q := b.q
	b.q = nil
	return q
}

// reset drops what an earlier connection left.
func (b *inbox) reset() { b.take() }
