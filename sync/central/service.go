package central

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/sync/sign"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// Defaults of Config.
const (
	// DefaultWorkers is how many batches are checked and stored at once,
	// each gateway's always by the same worker, in arrival order.
	DefaultWorkers = 4
	// DefaultMaxPending is the budget, in bytes, of the batches received
	// and not yet handled (Config.MaxPending).
	DefaultMaxPending = 32 << 20
	// DefaultResendTimeout is how long a resend request stands: within it
	// the same request is not repeated to the same gateway.
	DefaultResendTimeout = 30 * time.Second
	// DefaultPublishTimeout bounds the wait for the broker to take an ack,
	// a resend or master data.
	DefaultPublishTimeout = 10 * time.Second
)

// Config configures a Service.
type Config struct {
	// Sites are the sites whose gateways the service serves; at least one.
	Sites []string
	// Store holds the movements; required. The Service does not close it.
	Store Store
	// Conn is the MQTT client; required. The Service does not close it.
	Conn Conn
	// Shared subscribes to movements with the shared subscription
	// $share/udi-central/..., so that several instances share the load.
	// Status is always subscribed by every instance.
	Shared bool
	// Workers, MaxPending, ResendTimeout and PublishTimeout default to
	// the Default* constants when zero.
	Workers int
	// MaxPending bounds the bytes of the batches received and not yet
	// handled (stored and acknowledged, or refused): each counts from the
	// moment the Conn hands it over, with jobOverhead for its
	// bookkeeping, until its worker is done with it. While a batch does
	// not fit, the Conn's handler waits: MQTT leaves the message
	// unacknowledged, holds at most MQTTConfig.MaxInbox bytes more, then
	// stops reading the connection, so that the broker holds the rest. A
	// batch larger than the budget is taken when nothing else is held.
	// Decoded and checked, a group of batches being stored takes about
	// as much again. Workers never wait for the broker (see Poster), so
	// the budget frees as fast as the store stores.
	MaxPending                    int
	ResendTimeout, PublishTimeout time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Logger receives the service's log; nil discards it. No log line
	// holds a movement's content.
	Logger *slog.Logger
	// Enrolment lists the gateways the service accepts movements from,
	// each with the key that must sign its batches (wire.Batch.Verify). A
	// batch from a gateway not enrolled, unsigned or signed by another
	// key is refused and nothing of it stored; the status of a gateway
	// not enrolled is ignored, and such a gateway is never listed. Nil
	// takes every gateway's batches, signed or not (for trials only: then
	// whoever may publish on a gateway's topic can speak for it).
	Enrolment *sign.Enrolment
	// MaxPacket is the largest MQTT packet the broker accepts, for master
	// data published through the service (MasterOptions.MaxPacket); 0
	// means DefaultMaxPacket.
	MaxPacket int
	// Key signs every ack (and master data), so that gateways that pin
	// its public key can tell the centre's from anyone else's. Nil sends
	// them unsigned.
	Key ed25519.PrivateKey
	// CounterFlush is how often the counters are added to the Store's
	// totals (and on Close); DefaultCounterFlush when zero.
	CounterFlush time.Duration
	// Catalogue is the centre's catalogue, which the supply API prices
	// consumption records from and finds requests' suppliers in (see
	// Consumption), and GET /v1/stock resolves packages with; nil for
	// none.
	Catalogue *master.Data
}

// Counters count what the centre did for one gateway. The Store keeps
// the totals, across restarts and, with a shared store, of every
// instance: each Service adds what it counted every CounterFlush and on
// Close, so a crash loses at most that much of them (they are
// statistics: nothing acknowledged depends on them). Stored and
// Conflicts are read from what the Store holds, exact whatever happens.
type Counters struct {
	// Batches is the number of batches received.
	Batches uint64 `json:"batches"`
	// Stored is the number of movements stored: every movement the
	// centre holds of the gateway, each branch's own counted once.
	Stored uint64 `json:"stored"`
	// Conflicts is the number of branches stored after conflicts
	// (GatewayInfo.Conflicts).
	Conflicts uint64 `json:"conflicts"`
	// Duplicates is the number of batches whose movements were all held
	// already (acknowledged again, nothing changed).
	Duplicates uint64 `json:"duplicates"`
	// Gaps is the number of batches that started beyond the next expected
	// movement.
	Gaps uint64 `json:"gaps"`
	// ChainErrors is the number of batches with a bad record, a broken
	// chain or a movement conflicting with a held one.
	ChainErrors uint64 `json:"chain_errors"`
	// Malformed is the number of batches that could not be decoded or did
	// not match their topic or ledger.
	Malformed uint64 `json:"malformed"`
	// BadSignatures is the number of batches refused because they were
	// unsigned or not signed by the gateway's enrolled key.
	BadSignatures uint64 `json:"bad_signatures"`
	// Acks and Resends are the numbers of acks and resend requests
	// published.
	Acks    uint64 `json:"acks"`
	Resends uint64 `json:"resends"`
	// ResendsSuppressed is the number of resend requests not published
	// because the same one was outstanding.
	ResendsSuppressed uint64 `json:"resends_suppressed"`
}

// GatewayInfo is what the service knows of one gateway: its current
// ledger from the store, its state from its status, and its counters.
type GatewayInfo struct {
	// Gateway is the gateway's id; Site the site of its current ledger
	// (or of its last message, for a gateway the store holds nothing of).
	Gateway string `json:"gateway"`
	Site    string `json:"site"`
	// Created names the gateway's current ledger (the one created last)
	// and Branch its current history (the one forked last; 0 unless a
	// conflict was stored); Seq is the highest sequence number up to
	// which the centre holds every movement of it, Hash that movement's
	// Hash in hex.
	Created int64  `json:"created"`
	Branch  int    `json:"branch,omitempty"`
	Seq     uint64 `json:"seq"`
	Hash    string `json:"hash,omitempty"`
	// Ledgers is how many ledgers of the gateway the store holds (more
	// than one when its ledger file was re-created).
	Ledgers int `json:"ledgers"`
	// LastSeen is when the service last received a batch from it; zero
	// when none since the service started.
	LastSeen time.Time `json:"last_seen,omitzero"`
	// State is "online" or "offline" from the gateway's status, "" when no
	// status was seen; StatusTime is the status's time.
	State      string    `json:"state,omitempty"`
	StatusTime time.Time `json:"status_time,omitzero"`
	// LastSeq and AckedSeq are the gateway's own figures from its status.
	LastSeq  uint64 `json:"last_seq,omitempty"`
	AckedSeq uint64 `json:"acked_seq,omitempty"`
	// Version is the gateway's software version from its status.
	Version  string   `json:"version,omitempty"`
	Counters Counters `json:"counters"`
	// Conflicts lists every conflict stored of the gateway's ledgers: two
	// histories of one ledger, both kept (sync/README.md says what to
	// do).
	Conflicts []LedgerConflict `json:"conflicts,omitempty"`
	// Enrolled says whether the gateway is in the service's enrolment;
	// false for every gateway of a service without one, and for a
	// gateway whose movements the store holds from before it was taken
	// out of the enrolment.
	Enrolled bool `json:"enrolled"`
}

// Service is the centre's side of the sync protocol: it receives the
// gateways' batches, checks and stores them, acknowledges them, asks for
// what is missing, tracks the gateways' status and publishes master data.
type Service struct {
	cfg   Config
	store Store
	conn  Conn
	log   *slog.Logger
	now   func() time.Time

	ctx    context.Context // the service's life; ended by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	qmu     sync.RWMutex // guards queues against Close
	queues  []*queue
	started bool
	closed  bool
	pending budget // bytes of the batches queued or being handled

	mu       sync.Mutex
	gateways map[gatewayID]*gatewayState
	// strangers counts the batches and statuses of gateways nobody
	// enrolled; strangerLog limits their warnings.
	strangers   uint64
	strangerLog time.Time
	// untracked counts the batches and statuses of gateways whose state
	// was not kept (maxTracked).
	untracked uint64

	flush flusher
}

// gatewayID names a gateway: its id is unique within its site only.
type gatewayID struct{ site, gateway string }

// job is one batch waiting for its worker.
type job struct {
	site, gateway string
	payload       []byte
}

// cost is what j counts against the budget of pending bytes.
func (j job) cost() int { return len(j.payload) + jobOverhead }

// jobOverhead is what a batch costs besides its payload: the job, the
// MQTT message and its topic. So a flood of tiny batches is bounded too.
const jobOverhead = 512

// gatewayState is the live state of one gateway.
type gatewayState struct {
	site     string
	lastSeen time.Time
	status   wire.Status
	// counters count since the service started; flushed is the part of
	// them added to the Store's totals.
	counters, flushed Counters
	// resends holds the outstanding resend request per ledger (created).
	resends map[int64]resend
}

type resend struct {
	from uint64
	at   time.Time
}

// NewService returns a Service for cfg, not started. It returns an error
// wrapping ErrInvalid for a config without store, connection or valid
// sites.
func NewService(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Conn == nil {
		return nil, fmt.Errorf("%w: a service needs a store and an MQTT connection", ErrInvalid)
	}
	if len(cfg.Sites) == 0 {
		return nil, fmt.Errorf("%w: no site", ErrInvalid)
	}
	for _, site := range cfg.Sites {
		if err := wire.ValidID(site); err != nil {
			return nil, fmt.Errorf("%w: site: %w", ErrInvalid, err)
		}
	}
	cfg.Sites = slices.Compact(slices.Sorted(slices.Values(cfg.Sites)))
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = DefaultMaxPending
	}
	cfg.ResendTimeout = orDefault(cfg.ResendTimeout, DefaultResendTimeout)
	cfg.PublishTimeout = orDefault(cfg.PublishTimeout, DefaultPublishTimeout)
	cfg.CounterFlush = orDefault(cfg.CounterFlush, DefaultCounterFlush)
	if cfg.Key != nil && len(cfg.Key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: the centre's key is not an Ed25519 private key", ErrInvalid)
	}
	s := &Service{cfg: cfg, store: cfg.Store, conn: cfg.Conn, log: cfg.Logger, now: cfg.Now, gateways: map[gatewayID]*gatewayState{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.pending.init(cfg.MaxPending)
	s.startFlusher()
	return s, nil
}

// Start starts the workers and subscribes to every site's movements and
// status. Subscribe before connecting the Conn (see NewMQTT). It returns
// the first subscription error; the service is then closed.
func (s *Service) Start(ctx context.Context) error {
	s.qmu.Lock()
	if s.started || s.closed {
		s.qmu.Unlock()
		return fmt.Errorf("%w: service already started or closed", ErrInvalid)
	}
	s.started = true
	s.queues = make([]*queue, s.cfg.Workers)
	for i := range s.queues {
		s.queues[i] = newQueue()
		s.wg.Add(1)
		go s.work(s.queues[i])
	}
	s.qmu.Unlock()
	for _, site := range s.cfg.Sites {
		filter := wire.MovementsFilter(site)
		if s.cfg.Shared {
			filter = wire.SharedMovementsFilter(site)
		}
		if err := s.conn.Subscribe(ctx, filter, s.onMovements); err != nil {
			s.Close()
			return err
		}
		if err := s.conn.Subscribe(ctx, wire.StatusFilter(site), s.onStatus); err != nil {
			s.Close()
			return err
		}
	}
	if r, ok := s.conn.(connectNotifier); ok {
		r.OnConnect(s.resync)
	}
	if s.cfg.Enrolment == nil {
		s.log.Warn("no enrolment: movements are taken from any gateway id, signed or not; list the gateways and their keys in an enrolment file")
	}
	if s.cfg.Key == nil {
		s.log.Warn("no key: acks and master data are sent unsigned, and gateways that pin the centre's key refuse them")
	}
	s.log.Info("central service started", "sites", s.cfg.Sites, "shared", s.cfg.Shared, "workers", s.cfg.Workers,
		"max_pending_bytes", s.cfg.MaxPending, "enrolled", s.cfg.Enrolment.Len(), "signed", s.cfg.Key != nil)
	return nil
}

// connectNotifier is a Conn that tells when it has (re)connected.
type connectNotifier interface{ OnConnect(f func()) }

// resync runs after every (re)connection to the broker: while the service
// was away, gateways may have published batches that no one received
// (a broker restarted without its sessions drops them), and they would
// wait their ack timeout before sending again. So every gateway's
// current ledger is asked at once for everything after what the centre
// holds. A gateway that has nothing more ignores it.
func (s *Service) resync() {
	heads, err := s.store.Ledgers(s.ctx)
	if err != nil {
		s.log.Warn("resync after connect: ledgers not read", "err", err)
		return
	}
	latest := map[gatewayID]Head{}
	for _, h := range heads {
		id := gatewayID{h.Site, h.Gateway}
		if cur, ok := latest[id]; !ok || h.Created > cur.Created || h.Created == cur.Created && h.Branch > cur.Branch {
			latest[id] = h
		}
	}
	n := 0
	for _, h := range latest {
		if !slices.Contains(s.cfg.Sites, h.Site) {
			continue
		}
		s.resend(h.Site, h, "the central service connected again", true)
		n++
	}
	s.log.Info("resync after connect", "gateways", n)
}

// Close stops taking batches, finishes the ones queued and stops the
// workers. Close the Conn first, so that no batch arrives meanwhile; a
// batch that arrives after Close is dropped (the gateway sends it again,
// since it is never acknowledged). It is safe to call more than once.
func (s *Service) Close() error {
	s.pending.close() // a handler waiting for room drops its batch
	s.qmu.Lock()
	if s.closed {
		s.qmu.Unlock()
		return nil
	}
	s.closed = true
	for _, q := range s.queues {
		q.close()
	}
	s.qmu.Unlock()
	s.wg.Wait()
	s.stopFlusher()
	s.cancel()
	return nil
}

// onMovements queues a batch for the worker of its gateway, once it fits
// in the budget of pending bytes: until then it waits, and the Conn with
// it (see Config.MaxPending).
func (s *Service) onMovements(topic string, payload []byte) {
	site, gateway, leaf, err := wire.ParseTopic(topic)
	if err != nil || leaf != wire.LeafMovements {
		s.log.Warn("batch on an unexpected topic dropped", "topic", topic, "err", err)
		return
	}
	j := job{site: site, gateway: gateway, payload: payload}
	if !s.pending.take(j.cost()) {
		s.log.Warn("batch dropped: service closed", "site", site, "gateway", gateway)
		return
	}
	h := fnv.New32a()
	h.Write([]byte(gateway))
	s.qmu.RLock()
	defer s.qmu.RUnlock()
	if s.closed {
		s.pending.give(j.cost())
		s.log.Warn("batch dropped: service closed", "site", site, "gateway", gateway)
		return
	}
	s.queues[h.Sum32()%uint32(len(s.queues))].put(j)
}

// post publishes an ack or a resend request: posted, when the Conn is a
// Poster, so that a worker never waits for the broker's PUBACK (which
// the Conn may not be reading while the budget is spent: see Poster);
// else published, waiting at most PublishTimeout.
func (s *Service) post(topic string, retained bool, payload []byte) error {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.PublishTimeout)
	defer cancel()
	if p, ok := s.conn.(Poster); ok {
		return p.Post(ctx, topic, retained, payload)
	}
	return s.conn.Publish(ctx, topic, retained, payload)
}

// Pending returns the bytes of the batches received and not yet handled,
// as counted against Config.MaxPending, and whether a batch is waiting
// for room (the broker then holds the rest).
func (s *Service) Pending() (bytes int, waiting bool) { return s.pending.held() }

// work handles the batches of q. It takes every batch queued, then those
// of the first one's gateway (in arrival order, up to maxGroupBytes of
// payload) in one go, then the next gateway's: so a gateway with a backlog
// has its batches stored in few transactions (handleGateway). What it
// holds is within the budget of pending bytes, which it gives back as it
// is done with each group.
func (s *Service) work(q *queue) {
	defer s.wg.Done()
	var pending []job
	for {
		var open bool
		pending, open = q.take(pending, len(pending) == 0)
		if len(pending) == 0 && !open {
			return
		}
		first, size, cost := pending[0], 0, 0
		var mine []job
		rest := pending[:0]
		for _, j := range pending {
			if j.site == first.site && j.gateway == first.gateway && (len(mine) == 0 || size+len(j.payload) <= maxGroupBytes) {
				mine = append(mine, j)
				size += len(j.payload)
				cost += j.cost()
			} else {
				rest = append(rest, j)
			}
		}
		clear(pending[len(rest):])
		pending = rest
		s.handleGateway(mine)
		s.pending.give(cost)
	}
}

// queue holds one worker's batches in arrival order. Its length is
// bounded by the budget of pending bytes, not by a count.
type queue struct {
	mu     sync.Mutex
	jobs   []job
	closed bool
	ready  chan struct{} // holds a token after a put or close
}

func newQueue() *queue { return &queue{ready: make(chan struct{}, 1)} }

// put adds j at the end.
func (q *queue) put(j job) {
	q.mu.Lock()
	q.jobs = append(q.jobs, j)
	q.mu.Unlock()
	q.wake()
}

func (q *queue) wake() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// close ends q: take returns what is left, then reports it closed.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.wake()
}

// take appends to dst every job queued, first waiting for one when wait
// is set, and reports whether q is still open.
func (q *queue) take(dst []job, wait bool) ([]job, bool) {
	for {
		q.mu.Lock()
		n, closed := len(q.jobs), q.closed
		if n > 0 {
			dst = append(dst, q.jobs...)
			clear(q.jobs)
			q.jobs = q.jobs[:0]
		}
		q.mu.Unlock()
		if n > 0 || !wait || closed {
			return dst, !closed
		}
		<-q.ready
	}
}

// budget counts the bytes held by batches received and not yet handled,
// and makes a new batch wait while it would exceed max.
type budget struct {
	mu      sync.Mutex
	room    sync.Cond // signalled when bytes are given back or the budget closes
	max     int
	used    int
	waiting int
	closed  bool
}

func (b *budget) init(max int) {
	b.max = max
	b.room.L = &b.mu
}

// take waits until n more bytes fit, or nothing is held (a batch larger
// than the budget goes alone), and counts them. It returns false, taking
// nothing, once the budget is closed.
func (b *budget) take(n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.waiting++
	for !b.closed && b.used > 0 && b.used+n > b.max {
		b.room.Wait()
	}
	b.waiting--
	if b.closed {
		return false
	}
	b.used += n
	return true
}

// give gives back n bytes taken.
func (b *budget) give(n int) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
	b.room.Broadcast()
}

// close makes every take, waiting or to come, return false.
func (b *budget) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.room.Broadcast()
}

// held returns the bytes counted and whether a take is waiting.
func (b *budget) held() (int, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used, b.waiting > 0
}

// maxGroupBytes bounds the payload of the batches stored in one Append:
// enough for one fsync to serve thousands of movements, small enough
// that an Append takes a fraction of a second and the acks keep coming.
const maxGroupBytes = 4 << 20

// maxTracked bounds the gateways whose live state (counters, status,
// outstanding resends) a service without an enrolment keeps: its
// gateway ids are whatever publishers make up. Beyond it the state of a
// gateway not yet known is not kept: its batches are stored and
// acknowledged as ever, uncounted. With an enrolment only enrolled
// gateways have a state.
const maxTracked = 10_000

// maxResendLedgers bounds the outstanding resend requests kept per
// gateway, one per ledger (created); the oldest is forgotten first.
const maxResendLedgers = 4

// state returns the live state of gateway of site, creating it. Call with
// s.mu held.
func (s *Service) state(site, gateway string) *gatewayState {
	id := gatewayID{site, gateway}
	g := s.gateways[id]
	if g == nil {
		g = &gatewayState{site: site, resends: map[int64]resend{}}
		if s.cfg.Enrolment == nil && len(s.gateways) >= maxTracked {
			if s.untracked++; s.untracked == 1 {
				s.log.Warn("more gateway ids than the service keeps the state of without an enrolment; the others are stored uncounted",
					"tracked", maxTracked)
			}
			return g // not kept
		}
		s.gateways[id] = g
	}
	return g
}

// stranger reports whether gateway of site is not enrolled, counting and,
// at most once a minute, logging what it sent. Nothing is kept of it: a
// flood of made-up ids costs no memory.
func (s *Service) stranger(site, gateway, what string) bool {
	if s.cfg.Enrolment == nil || s.cfg.Enrolment.Enrolled(site, gateway) {
		return false
	}
	s.mu.Lock()
	s.strangers++
	n, now := s.strangers, s.now()
	say := now.Sub(s.strangerLog) >= time.Minute
	if say {
		s.strangerLog = now
	}
	s.mu.Unlock()
	if say {
		s.log.Warn(what+" refused: gateway not enrolled", "site", site, "gateway", gateway, "refused_since_start", n)
	}
	return true
}

// Strangers returns how many batches and statuses came from gateways not
// enrolled since the service started.
func (s *Service) Strangers() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.strangers
}

// count applies fn to gateway's counters.
func (s *Service) count(site, gateway string, fn func(c *Counters)) {
	s.mu.Lock()
	fn(&s.state(site, gateway).counters)
	s.mu.Unlock()
}

// handleGateway handles batches of one gateway, in arrival order. Each
// batch that continues the one before it, with every record checked, is
// stored with it in one Append (one transaction, one fsync) and then
// acknowledged, batch by batch, as if each had been stored on its own. A
// batch that does not (a duplicate, an overlap, a gap, a bad record, a
// broken link, another ledger) ends the group and is handled on its own,
// after the group is stored; so is every batch of a group that the Store
// refuses. Whatever is acknowledged or asked again is what handling the
// batches one by one would give.
func (s *Service) handleGateway(js []job) {
	var (
		group []*wire.Batch
		recs  []Stored
		head  Head // the head group[0] was checked against
	)
	flush := func() {
		switch {
		case len(group) == 1:
			s.handleChecked(group[0], head, recs, nil)
		case len(group) > 1:
			s.storeGroup(group, recs)
		}
		group, recs = nil, nil
	}
	for _, j := range js {
		b, ok := s.receive(j)
		if !ok {
			continue
		}
		if len(group) > 0 {
			last := &recs[len(recs)-1]
			if b.Created == group[0].Created && b.First == last.Seq+1 {
				more, cerr := checkBatch(b, &last.Hash)
				if cerr == nil {
					group, recs = append(group, b), append(recs, more...)
					continue
				}
			}
			flush()
		}
		// A group starts with a batch that checks and brings movements
		// right after the head; anything else is handled on its own.
		h, err := s.store.Head(s.ctx, b.Gateway, b.Created)
		if err != nil {
			s.log.Error("batch not stored: reading the ledger's head failed", "gateway", b.Gateway, "created", b.Created, "err", err)
			continue
		}
		more, cerr := checkBatch(b, nil)
		if cerr == nil && b.First <= h.Seq+1 && b.Last() > h.Seq {
			group, recs, head = []*wire.Batch{b}, more, h
			continue
		}
		s.handleChecked(b, h, more, cerr)
	}
	flush()
}

// storeGroup stores the checked, consecutive recs of the batches of group
// in one Append and acknowledges each batch; when the Store refuses them,
// it handles the batches one by one.
func (s *Service) storeGroup(group []*wire.Batch, recs []Stored) {
	b0, bn := group[0], group[len(group)-1]
	newHead, added, err := s.store.Append(s.ctx, b0.Site, b0.Gateway, b0.Created, recs)
	var ce *CheckError
	switch {
	case errors.As(err, &ce):
		for _, b := range group {
			s.handleBatch(b)
		}
		return
	case err != nil:
		s.log.Error("batches not stored", "gateway", b0.Gateway, "created", b0.Created, "first", b0.First, "last", bn.Last(), "batches", len(group), "err", err)
		return // not acknowledged: the gateway sends them again
	}
	s.noteBranch(newHead, added)
	held := newHead.Seq - uint64(added) // movements held before: those of duplicates
	s.count(b0.Site, b0.Gateway, func(c *Counters) {
		for _, b := range group {
			if b.Last() <= held {
				c.Duplicates++
			}
		}
	})
	if added > 0 {
		s.log.Debug("movements stored", "gateway", b0.Gateway, "created", b0.Created, "added", added, "head", newHead.Seq, "batches", len(group))
	}
	first := recs[0].Seq
	for _, b := range group {
		h := newHead
		if b != bn {
			h.Seq, h.Hash = b.Last(), recs[b.Last()-first].Hash
		}
		s.ack(b.Site, h)
	}
}

// receive counts a batch and decodes it; it returns false, after counting
// and logging why, for a batch that is malformed or does not match its
// topic.
func (s *Service) receive(j job) (*wire.Batch, bool) {
	if s.stranger(j.site, j.gateway, "batch") {
		return nil, false
	}
	s.mu.Lock()
	g := s.state(j.site, j.gateway)
	g.counters.Batches++
	g.lastSeen = s.now()
	s.mu.Unlock()

	b, err := wire.DecodeBatch(j.payload)
	if err != nil {
		s.count(j.site, j.gateway, func(c *Counters) { c.Malformed++ })
		s.log.Warn("batch refused: malformed", "site", j.site, "gateway", j.gateway, "bytes", len(j.payload), "err", err)
		return nil, false
	}
	if b.Gateway != j.gateway || b.Site != j.site {
		s.count(j.site, j.gateway, func(c *Counters) { c.Malformed++ })
		s.log.Warn("batch refused: header does not match topic", "site", j.site, "gateway", j.gateway,
			"batch_site", b.Site, "batch_gateway", b.Gateway, "first", b.First)
		return nil, false
	}
	if key, ok := s.cfg.Enrolment.Key(b.Site, b.Gateway); ok {
		if err := b.Verify(key); err != nil {
			s.count(j.site, j.gateway, func(c *Counters) { c.BadSignatures++ })
			s.log.Error("batch refused: signature", "site", j.site, "gateway", j.gateway, "created", b.Created,
				"first", b.First, "last", b.Last(), "err", err)
			return nil, false
		}
	}
	return b, true
}

// handleBatch checks, stores, acknowledges and, where something is
// missing, asks again for one batch, received.
func (s *Service) handleBatch(b *wire.Batch) {
	head, err := s.store.Head(s.ctx, b.Gateway, b.Created)
	if err != nil {
		s.log.Error("batch not stored: reading the ledger's head failed", "gateway", b.Gateway, "created", b.Created, "err", err)
		return
	}
	recs, cerr := checkBatch(b, nil)
	s.handleChecked(b, head, recs, cerr)
}

// gapRetries is how many times a batch refused for a gap is checked
// again against the head read anew, when another instance of the service
// moved it meanwhile, before the gateway is asked to resend.
const gapRetries = 2

// handleChecked is handleBatch after the checks: head is the head they
// were made against, recs the records that passed, cerr the failure.
func (s *Service) handleChecked(b *wire.Batch, head Head, recs []Stored, cerr *CheckError) {
	s.handleCheckedTry(b, head, recs, cerr, gapRetries)
}

// handleCheckedTry is handleChecked with tries left for a gap: another
// instance sharing the store may store the movements missing right after
// this one's append read the head. So a gap refusal reads the head again
// and, if it moved, handles the batch against it, rather than asking the
// gateway for movements that are held already.
func (s *Service) handleCheckedTry(b *wire.Batch, head Head, recs []Stored, cerr *CheckError, tries int) {
	ctx := s.ctx
	newHead, added := head, 0
	if len(recs) > 0 {
		var err error
		newHead, added, err = s.store.Append(ctx, b.Site, b.Gateway, b.Created, recs)
		var ce *CheckError
		switch {
		case errors.As(err, &ce):
			cerr = ce
		case err != nil:
			s.log.Error("batch not stored", "gateway", b.Gateway, "created", b.Created, "first", b.First, "last", b.Last(), "err", err)
			return // not acknowledged: the gateway sends it again
		}
	}
	if cerr != nil && errors.Is(cerr, ErrGap) && tries > 0 {
		if h, err := s.store.Head(ctx, b.Gateway, b.Created); err == nil && h.Seq > newHead.Seq {
			more, c := checkBatch(b, nil)
			s.handleCheckedTry(b, h, more, c, tries-1)
			return
		}
	}
	s.noteBranch(newHead, added)
	progress := newHead.Seq > head.Seq
	s.count(b.Site, b.Gateway, func(c *Counters) {
		switch {
		case cerr == nil:
			if added == 0 {
				c.Duplicates++
			}
		case errors.Is(cerr, ErrGap):
			c.Gaps++
		case errors.Is(cerr, ErrMismatch):
			c.Malformed++
		default:
			c.ChainErrors++
		}
	})
	if added > 0 {
		s.log.Debug("movements stored", "gateway", b.Gateway, "created", b.Created, "added", added, "head", newHead.Seq)
	}
	if newHead.Seq > 0 && (cerr == nil || progress) {
		s.ack(b.Site, newHead)
	}
	if cerr == nil {
		return
	}
	level := slog.LevelWarn
	if !errors.Is(cerr, ErrGap) {
		level = slog.LevelError
	}
	s.log.Log(ctx, level, "batch refused", "gateway", b.Gateway, "created", b.Created, "first", b.First, "last", b.Last(),
		"seq", cerr.Seq, "reason", cerr.Reason, "stored_to", newHead.Seq)
	if errors.Is(cerr, ErrMismatch) {
		return // sending it again cannot help
	}
	s.resend(b.Site, newHead, cerr.Reason, progress)
}

// ack publishes the retained ack of head.
func (s *Service) ack(site string, head Head) {
	a := wire.NewAck(head.Gateway, head.Created, head.Seq, head.Hash)
	if s.cfg.Key != nil {
		a.Sign(site, s.cfg.Key)
	}
	p, err := wire.EncodeAck(a)
	if err == nil {
		err = s.post(wire.AckTopic(site, head.Gateway), true, p)
	}
	if err != nil {
		s.log.Warn("ack not published", "gateway", head.Gateway, "created", head.Created, "seq", head.Seq, "err", err)
		return
	}
	s.count(site, head.Gateway, func(c *Counters) { c.Acks++ })
}

// resend asks the gateway for everything after head, unless the same
// request is outstanding: made less than ResendTimeout ago with no
// progress since.
func (s *Service) resend(site string, head Head, reason string, progress bool) {
	from, now := head.Seq+1, s.now()
	s.mu.Lock()
	g := s.state(site, head.Gateway)
	if r, ok := g.resends[head.Created]; ok && !progress && r.from == from && now.Sub(r.at) < s.cfg.ResendTimeout {
		g.counters.ResendsSuppressed++
		s.mu.Unlock()
		return
	}
	if _, ok := g.resends[head.Created]; !ok && len(g.resends) >= maxResendLedgers {
		var oldest int64
		first := true
		for c, r := range g.resends {
			if first || r.at.Before(g.resends[oldest].at) {
				oldest, first = c, false
			}
		}
		delete(g.resends, oldest)
	}
	g.resends[head.Created] = resend{from: from, at: now}
	s.mu.Unlock()

	if len(reason) > wire.MaxReasonLen {
		reason = reason[:wire.MaxReasonLen]
	}
	rs := wire.NewResend(head.Gateway, head.Created, from, reason)
	if s.cfg.Key != nil {
		rs.Sign(site, s.cfg.Key)
	}
	p, err := wire.EncodeResend(rs)
	if err == nil {
		err = s.post(wire.ResendTopic(site, head.Gateway), false, p)
	}
	if err != nil {
		s.mu.Lock()
		delete(g.resends, head.Created) // not outstanding: the next batch may ask again
		s.mu.Unlock()
		s.log.Warn("resend not published", "gateway", head.Gateway, "created", head.Created, "from", from, "err", err)
		return
	}
	s.count(site, head.Gateway, func(c *Counters) { c.Resends++ })
	s.log.Info("resend requested", "gateway", head.Gateway, "created", head.Created, "from", from)
}

// onStatus records a gateway's status.
func (s *Service) onStatus(topic string, payload []byte) {
	site, gateway, leaf, err := wire.ParseTopic(topic)
	if err != nil || leaf != wire.LeafStatus {
		s.log.Warn("status on an unexpected topic ignored", "topic", topic, "err", err)
		return
	}
	if len(payload) == 0 {
		return // a cleared retained status
	}
	if s.stranger(site, gateway, "status") {
		return
	}
	st, err := wire.DecodeStatus(payload)
	if err != nil {
		s.log.Warn("status refused: malformed", "site", site, "gateway", gateway, "err", err)
		return
	}
	if st.Gateway != gateway || st.Site != site {
		s.log.Warn("status refused: does not match its topic", "site", site, "gateway", gateway, "status_site", st.Site, "status_gateway", st.Gateway)
		return
	}
	if key, ok := s.cfg.Enrolment.Key(site, gateway); ok {
		if err := st.Verify(key); err != nil {
			s.log.Warn("status refused: signature", "site", site, "gateway", gateway, "state", st.State, "err", err)
			return
		}
	}
	s.mu.Lock()
	g := s.state(site, gateway)
	changed := g.status.State != st.State
	g.status = st
	s.mu.Unlock()
	if changed {
		s.log.Info("gateway status", "site", site, "gateway", gateway, "state", st.State, "last_seq", st.LastSeq, "acked_seq", st.AckedSeq)
	}
}

// GatewaysFromLedgers returns one GatewayInfo per gateway of heads (the
// heads of every branch of every ledger, Store.Ledgers), a gateway being
// its id within its site: its current ledger and branch, the one created
// last and forked last, how many ledgers it has, and the movements held
// of it (Counters.Stored). The live fields are left empty.
func GatewaysFromLedgers(heads []Head) []GatewayInfo {
	heads = slices.Clone(heads)
	slices.SortFunc(heads, func(a, b Head) int {
		return cmp.Or(strings.Compare(a.Site, b.Site), strings.Compare(a.Gateway, b.Gateway), cmp.Compare(a.Created, b.Created), cmp.Compare(a.Branch, b.Branch))
	})
	var out []GatewayInfo
	for _, h := range heads {
		if n := len(out); n == 0 || out[n-1].Gateway != h.Gateway || out[n-1].Site != h.Site {
			out = append(out, GatewayInfo{Gateway: h.Gateway, Site: h.Site})
		}
		gi := &out[len(out)-1]
		if gi.Ledgers == 0 || gi.Created != h.Created {
			gi.Ledgers++
		}
		gi.Counters.Stored += h.Own()
		// Sorted by Created and Branch: the last one is the current one.
		gi.Created, gi.Branch, gi.Seq, gi.Hash = h.Created, h.Branch, h.Seq, wire.HashHex(h.Hash)
	}
	return out
}

// Gateways returns every gateway the store holds anything of, the
// service has heard from or (with an enrolment) is enrolled on one of the
// service's sites, ordered by site and gateway. Counters are the Store's
// totals (GatewaysFromStore) with what this service counted since its
// last flush.
func (s *Service) Gateways(ctx context.Context) ([]GatewayInfo, error) {
	s.flush.mu.Lock()
	defer s.flush.mu.Unlock()
	res, err := GatewaysFromStore(ctx, s.store)
	if err != nil {
		return nil, err
	}
	gl := newGatewayList(res)
	at := gl.at
	if e := s.cfg.Enrolment; e != nil {
		for _, site := range s.cfg.Sites {
			for _, gw := range e.Gateways(site) {
				at(gatewayID{site, gw})
			}
		}
	}
	s.mu.Lock()
	for id, g := range s.gateways {
		gi := at(id)
		gi.LastSeen = g.lastSeen
		gi.Counters.add(g.counters.delta(&g.flushed))
		if g.status.State != "" {
			gi.State, gi.StatusTime = g.status.State, g.status.Time
			gi.LastSeq, gi.AckedSeq, gi.Version = g.status.LastSeq, g.status.AckedSeq, g.status.Version
		}
	}
	s.mu.Unlock()
	res = gl.res
	for i := range res {
		res[i].Enrolled = s.cfg.Enrolment.Enrolled(res[i].Site, res[i].Gateway)
	}
	sortGateways(res)
	return res, nil
}
