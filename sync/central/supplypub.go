package central

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/wire"
	bolt "go.etcd.io/bbolt"
)

// Leaves of a supplier's topics (SupplyTopic).
const (
	SupplyLeafConsumption = "consumption"
	SupplyLeafRequests    = "requests"
)

// SupplyTopic returns the topic a supplier's records of one kind are
// published on: udi/supply/{id}/consumption or udi/supply/{id}/requests,
// id being the supplier's id (its broker user name).
func SupplyTopic(id, leaf string) string { return "udi/supply/" + id + "/" + leaf }

// Defaults of SupplyPublisherConfig.
const (
	// DefaultSupplyInterval is how often the publisher looks for movements
	// stored since its last pass.
	DefaultSupplyInterval = 2 * time.Second
	// supplyChunk bounds the movements of one ledger read in one pass
	// before their records are published and the cursor moved.
	supplyChunk = 1000
)

// SupplyPublisherConfig configures a SupplyPublisher.
type SupplyPublisherConfig struct {
	// Store is read, never written; Conn publishes. Both required; the
	// publisher closes neither.
	Store Store
	Conn  Publisher
	// Suppliers maps each supplier's id, the level of its topics and its
	// broker user name (wire.ValidID), to the supplier's name as
	// movements and the catalogue write it. A supplier without an id is
	// not published (logged once at WARN). At least one.
	Suppliers map[string]string
	// Catalogue prices the consumption records and names the suppliers
	// of requests whose flags name none; nil for none.
	Catalogue *master.Data
	// Cursor is the path of the publisher's own bbolt file, which holds
	// how far it has published each ledger (created with mode 0600).
	Cursor string
	// Interval is DefaultSupplyInterval when zero; PublishTimeout,
	// DefaultPublishTimeout.
	Interval, PublishTimeout time.Duration
	// Logger receives the publisher's log; nil discards it.
	Logger *slog.Logger
}

// SupplyPublisher publishes, to each supplier's topics, the consumption
// records and replenishment requests of the movements the Store holds,
// once they are stored. It follows the Store, not the Service: a pass
// reads every ledger's head and ranges the movements stored since its
// cursor (its own bbolt file, one sequence number per ledger and branch),
// publishes their records in order at QoS 1 (not retained), waiting for
// each PUBACK, and moves the cursor past them. So storing never waits
// for it, nothing is published before it is durable, and whatever was
// stored while the broker was away is published on the next pass: the
// cursor moves only past what the broker took. A crash between a publish
// and the cursor's move publishes those records again (QoS 1 is at least
// once; a record's site, gateway, ledger, branch and seq identify it).
//
// On its first start (a new cursor file) it publishes from the heads the
// store holds then: what was stored before is exported (udi-central
// supply), not published. Several instances sharing a store each
// publish everything: run it on one of them.
type SupplyPublisher struct {
	cfg    SupplyPublisherConfig
	log    *slog.Logger
	db     *bolt.DB
	ids    map[string]string // supplier name → id
	fresh  bool              // the cursor file was new
	wake   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	closeOnce sync.Once
	closeErr  error

	mu        sync.Mutex
	warned    map[string]bool // suppliers without an id, logged
	published uint64
}

var bucketSupplyCursor = []byte("supply-cursor")

// NewSupplyPublisher opens (or creates) the cursor file and returns a
// publisher, not started. A config without store, connection, supplier
// or cursor, with a supplier id that is not a valid topic level, or two
// ids for one supplier, is an error wrapping ErrInvalid.
func NewSupplyPublisher(cfg SupplyPublisherConfig) (*SupplyPublisher, error) {
	if cfg.Store == nil || cfg.Conn == nil || cfg.Cursor == "" {
		return nil, fmt.Errorf("%w: a supply publisher needs a store, an MQTT connection and a cursor file", ErrInvalid)
	}
	if len(cfg.Suppliers) == 0 {
		return nil, fmt.Errorf("%w: no supplier to publish to", ErrInvalid)
	}
	ids := map[string]string{}
	for _, id := range slices.Sorted(maps.Keys(cfg.Suppliers)) {
		name := cfg.Suppliers[id]
		if err := wire.ValidID(id); err != nil {
			return nil, fmt.Errorf("%w: supplier id %q: %w", ErrInvalid, id, err)
		}
		if name == "" {
			return nil, fmt.Errorf("%w: supplier id %q names no supplier", ErrInvalid, id)
		}
		if other, dup := ids[name]; dup {
			return nil, fmt.Errorf("%w: supplier %q has two ids, %q and %q", ErrInvalid, name, other, id)
		}
		ids[name] = id
	}
	cfg.Interval = orDefault(cfg.Interval, DefaultSupplyInterval)
	cfg.PublishTimeout = orDefault(cfg.PublishTimeout, DefaultPublishTimeout)
	db, err := bolt.Open(cfg.Cursor, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("supply cursor %s: %w", cfg.Cursor, err)
	}
	p := &SupplyPublisher{cfg: cfg, log: cfg.Logger, db: db, ids: ids, wake: make(chan struct{}, 1), warned: map[string]bool{}}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		p.fresh = tx.Bucket(bucketSupplyCursor) == nil
		_, err := tx.CreateBucketIfNotExists(bucketSupplyCursor)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("supply cursor %s: %w", cfg.Cursor, err)
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	return p, nil
}

// Start runs passes every Interval and whenever Wake is called, until
// Close.
func (p *SupplyPublisher) Start() {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(p.cfg.Interval)
		defer t.Stop()
		for {
			if err := p.Pass(p.ctx); err != nil && p.ctx.Err() == nil {
				p.log.Warn("supply records not all published; trying again", "err", err)
			}
			select {
			case <-p.ctx.Done():
				return
			case <-t.C:
			case <-p.wake:
			}
		}
	}()
}

// Wake makes the next pass start now (after a connection to the broker,
// say). It never blocks.
func (p *SupplyPublisher) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Published returns how many records were published since the start.
func (p *SupplyPublisher) Published() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.published
}

// Close stops the passes and closes the cursor file. It is safe to call
// more than once.
func (p *SupplyPublisher) Close() error {
	p.closeOnce.Do(func() {
		p.cancel()
		p.wg.Wait()
		p.closeErr = p.db.Close()
	})
	return p.closeErr
}

// cursorKey names one branch of one ledger in the cursor file.
func cursorKey(h Head) []byte {
	k := binary.BigEndian.AppendUint64([]byte(h.Gateway+"\x00"), uint64(h.Created))
	return binary.BigEndian.AppendUint32(k, uint32(h.Branch))
}

// cursors returns how far each branch of heads is published; on a fresh
// cursor file, it first records every head as published.
func (p *SupplyPublisher) cursors(heads []Head) (map[string]uint64, error) {
	out := map[string]uint64{}
	err := p.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSupplyCursor)
		for _, h := range heads {
			k := cursorKey(h)
			if v := b.Get(k); len(v) == 8 {
				out[string(k)] = binary.BigEndian.Uint64(v)
				continue
			}
			at := h.Fork - 1 // a branch's parent's movements are the parent's
			if p.fresh {
				at = h.Seq
				if err := b.Put(k, binary.BigEndian.AppendUint64(nil, at)); err != nil {
					return err
				}
			}
			out[string(k)] = at
		}
		return nil
	})
	if err == nil && p.fresh {
		p.fresh = false
		p.log.Info("supply publisher started on a new cursor: movements stored before are exported, not published", "ledgers", len(heads))
	}
	return out, err
}

// setCursor records that h's branch is published up to seq.
func (p *SupplyPublisher) setCursor(h Head, seq uint64) error {
	return p.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSupplyCursor).Put(cursorKey(h), binary.BigEndian.AppendUint64(nil, seq))
	})
}

// Pass publishes the records of every movement stored since the cursor,
// ledger by ledger, and moves the cursor. It returns the first error
// (the broker not taking a record, the store not read), the cursor left
// at the last record the broker took.
func (p *SupplyPublisher) Pass(ctx context.Context) error {
	heads, err := p.cfg.Store.Ledgers(ctx)
	if err != nil {
		return err
	}
	at, err := p.cursors(heads)
	if err != nil {
		return err
	}
	for _, h := range heads {
		for from := max(at[string(cursorKey(h))]+1, h.Fork); from <= h.Seq; {
			last, err := p.publishFrom(ctx, h, from)
			if err != nil {
				return err
			}
			if last < from {
				break // nothing more held: read again next pass
			}
			from = last + 1
		}
	}
	return nil
}

// publishFrom publishes the records of up to supplyChunk movements of h's
// branch from from on, then moves its cursor, and returns the last
// sequence number read.
func (p *SupplyPublisher) publishFrom(ctx context.Context, h Head, from uint64) (uint64, error) {
	var ms []Traced
	last := from - 1
	full := errors.New("chunk full")
	err := p.cfg.Store.RangeBranch(ctx, h.Gateway, h.Created, h.Branch, from, func(seq uint64, rec []byte) error {
		if seq > h.Seq || seq >= from+supplyChunk {
			return full
		}
		m, err := record.Decode(seq, rec)
		if err != nil {
			return fmt.Errorf("gateway %s ledger %d movement %d: %w", h.Gateway, h.Created, seq, err)
		}
		if len(SupplyKeys(&m)) > 0 && m.Kind != agent.KindReceive {
			ms = append(ms, Traced{Site: h.Site, Created: h.Created, Branch: h.Branch, Movement: m})
		}
		last = seq
		return nil
	})
	if err != nil && err != full {
		return last, err
	}
	for _, x := range ms {
		if err := p.publish(ctx, x); err != nil {
			if x.Movement.Seq > from {
				if cerr := p.setCursor(h, x.Movement.Seq-1); cerr != nil {
					return last, cerr
				}
			}
			return last, err
		}
	}
	return last, p.setCursor(h, last)
}

// publish publishes the record of x, if it is one for a supplier with an
// id.
func (p *SupplyPublisher) publish(ctx context.Context, x Traced) error {
	var (
		supplier, leaf string
		v              any
	)
	if r, ok := NewConsumptionRecord(x, p.cfg.Catalogue); ok {
		supplier, leaf, v = r.Supplier, SupplyLeafConsumption, r
	} else if r, ok := NewRequestRecord(x, p.cfg.Catalogue); ok {
		supplier, leaf, v = r.Supplier, SupplyLeafRequests, r
	} else if r, ok, err := p.cancelledUse(ctx, x); err != nil {
		return err
	} else if ok {
		supplier, leaf, v = r.Supplier, SupplyLeafConsumption, r
	} else if r, ok, err := p.closedRequest(ctx, x); err != nil {
		return err
	} else if ok {
		supplier, leaf, v = r.Supplier, SupplyLeafRequests, r
	} else {
		return nil
	}
	id, ok := p.ids[supplier]
	if !ok {
		p.mu.Lock()
		say := !p.warned[supplier]
		p.warned[supplier] = true
		p.mu.Unlock()
		if say {
			p.log.Warn("supply records of a supplier without an id are not published; map an id to it (suppliers)",
				"supplier", cmp.Or(supplier, Unassigned))
		}
		return nil
	}
	payload, err := json.Marshal(v)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, p.cfg.PublishTimeout)
	defer cancel()
	if err := p.cfg.Conn.Publish(pctx, SupplyTopic(id, leaf), false, payload); err != nil {
		return err
	}
	p.mu.Lock()
	p.published++
	p.mu.Unlock()
	return nil
}

// closedRequest returns the record of the request x closes, Open false,
// when x says a replenishment request was met or withdrawn: the supplier
// who was asked learns that no delivery is due for it (a withdrawn one:
// why).
func (p *SupplyPublisher) closedRequest(ctx context.Context, x Traced) (RequestRecord, bool, error) {
	seq, arrived, ok := agent.ReadMet(x.Movement)
	if !ok || seq == 0 || seq >= x.Movement.Seq {
		return RequestRecord{}, false, nil
	}
	var req agent.Movement
	found := errors.New("found")
	err := p.cfg.Store.RangeBranch(ctx, x.Movement.Gateway, x.Created, x.Branch, seq, func(got uint64, rec []byte) error {
		if got != seq {
			return found // not held: nothing to say
		}
		m, err := record.Decode(got, rec)
		if err != nil {
			return fmt.Errorf("gateway %s ledger %d movement %d: %w", x.Movement.Gateway, x.Created, got, err)
		}
		req = m
		return found
	})
	if err != nil && err != found {
		return RequestRecord{}, false, err
	}
	r, ok := NewRequestRecord(Traced{Site: x.Site, Created: x.Created, Branch: x.Branch, Movement: req}, p.cfg.Catalogue)
	if !ok {
		return RequestRecord{}, false, nil
	}
	r.Open, r.Received = false, arrived
	r.Withdrawn, _ = agent.ReadWithdrawn(x.Movement)
	return r, true, nil
}

// cancelledUse returns the consumption record of the use x cancels,
// Cancelled set, when x is the cancellation of a supplier's use.
func (p *SupplyPublisher) cancelledUse(ctx context.Context, x Traced) (ConsumptionRecord, bool, error) {
	k, seq, ok := agent.Cancelled(x.Movement)
	if !ok || k != agent.KindUse || x.Movement.Item == "" {
		return ConsumptionRecord{}, false, nil
	}
	ts, err := p.cfg.Store.Trace(ctx, x.Movement.Item)
	if err != nil {
		return ConsumptionRecord{}, false, err
	}
	for _, u := range ts {
		if u.Movement.Gateway == x.Movement.Gateway && u.Created == x.Created && u.Movement.Seq == seq {
			r, ok := NewConsumptionRecord(u, p.cfg.Catalogue)
			r.Cancelled = true
			return r, ok, nil
		}
	}
	return ConsumptionRecord{}, false, nil
}
