package loadgen

import (
	"cmp"
	"crypto/sha256"
	"fmt"
	"hash/crc32"
	"slices"
	"sync"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/uplink"
)

// ledger is one simulated gateway's ledger as its uplink sees it
// (uplink.Outbox): the records of its movements in the agent/record
// encoding, chained from the genesis hash of (gateway, created) as a
// gateway's bbolt ledger holds them, and the sync cursor. A record is
// made when the uplink first reads it and dropped once acknowledged, so
// that a backlog of any length costs the generator only what is in
// flight, and no gateway's fsync competes with the centre's for this
// machine's one disk (a fleet has a disk per gateway).
type ledger struct {
	gateway string
	index   int // the gateway's number, in its items' serials
	created time.Time
	tl      *timeline

	mu      sync.Mutex
	last    uint64   // the last movement committed
	base    uint64   // the sequence number of made[0]
	made    [][]byte // records made and not yet acknowledged
	prev    [record.HashSize]byte
	cursor  uint64
	read    uint64   // the highest movement the uplink has read
	live    []commit // movements committed live, not yet acknowledged
	changed chan struct{}
	// heads holds the records of the last keptHeads cursors: an ack
	// repeated (the centre acknowledges a batch sent again) is checked
	// against its movement, which the generator no longer holds else.
	heads map[uint64][]byte
	order []uint64 // the keys of heads, oldest first
}

// keptHeads is how many acknowledged movements a ledger keeps the record
// of, for acks repeated.
const keptHeads = 16

// commit is when a movement committed live was committed.
type commit struct {
	seq uint64
	at  time.Time
}

var _ uplink.Outbox = (*ledger)(nil)

func newLedger(gateway string, index int, created time.Time, tl *timeline) *ledger {
	return &ledger{gateway: gateway, index: index, created: created, tl: tl, base: 1,
		prev: record.Genesis(gateway, uint64(created.UnixNano())), changed: make(chan struct{}), heads: map[uint64][]byte{}}
}

// commitBacklog commits n movements at once, as a gateway's ledger holds
// them after days offline: they count for throughput, not for lag.
func (l *ledger) commitBacklog(n int) {
	l.mu.Lock()
	l.last += uint64(n)
	l.signal()
	l.mu.Unlock()
}

// commitLive commits one movement at at, whose lag to its ack counts.
func (l *ledger) commitLive(at time.Time) {
	l.mu.Lock()
	l.last++
	l.live = append(l.live, commit{seq: l.last, at: at})
	l.signal()
	l.mu.Unlock()
}

// signal closes the channel Changed returned. Call with l.mu held.
func (l *ledger) signal() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// ReadRecords implements uplink.Outbox.
func (l *ledger) ReadRecords(from uint64, maxCount, maxBytes int) ([][]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	from = max(from, 1)
	if from < l.base {
		if rec, ok := l.heads[from]; ok && maxCount == 1 {
			return [][]byte{rec}, nil // an ack repeated, checked
		}
		return nil, fmt.Errorf("loadgen: %s: movement %d asked again after its ack (the generator keeps only the last acknowledged ones)", l.gateway, from)
	}
	var out [][]byte
	size := 0
	for seq := from; seq <= l.last && len(out) < maxCount; seq++ {
		for l.base+uint64(len(l.made)) <= seq {
			rec, err := l.make(l.base + uint64(len(l.made)))
			if err != nil {
				return nil, err
			}
			l.made = append(l.made, rec)
		}
		rec := l.made[seq-l.base]
		if len(out) > 0 && size+len(rec) > maxBytes {
			break
		}
		out, size = append(out, rec), size+len(rec)
	}
	if n := len(out); n > 0 {
		if high := from + uint64(n) - 1; high > l.read {
			l.tl.read(int64(high - l.read))
			l.read = high
		}
	}
	return out, nil
}

// make makes the record of movement seq, the one after the last made.
func (l *ledger) make(seq uint64) ([]byte, error) {
	m := movement(l.gateway, l.index, seq)
	rec, err := record.EncodeUnsealed(&m)
	if err != nil {
		return nil, fmt.Errorf("loadgen: %s: movement %d: %w", l.gateway, seq, err)
	}
	body := record.Body(rec)
	digest := sha256.Sum256(body)
	hash := record.ChainHash(seq, &l.prev, &digest)
	record.Seal(rec, crc32.Checksum(body, castagnoli), &l.prev, &hash)
	l.prev = hash
	return rec, nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// kinds is the life of an item: four movements, in this order.
var kinds = [...]agent.Kind{agent.KindReceive, agent.KindStock, agent.KindIssue, agent.KindUse}

// movement returns movement seq of gateway number index: items of one
// GTIN with serials of their own ("one item, one code"), each received,
// stocked, issued and used on a patient in a case, one after another,
// as a carton is; so an item's trace finds four movements.
func movement(gateway string, index int, seq uint64) agent.Movement {
	item := (seq - 1) / uint64(len(kinds))
	serial := fmt.Sprintf("G%04dS%010d", index, item)
	m := template // a gateway's ledger's typical movement
	m.Gateway, m.Seq = gateway, seq
	m.Time = m.Time.Add(time.Duration(seq) * time.Second)
	m.Kind = kinds[(seq-1)%uint64(len(kinds))]
	m.Item, m.Serial = "(01)"+m.GTIN+"(21)"+serial, serial
	m.Raw = []byte("]d201" + m.GTIN + "17280531" + "10" + m.Lot + "\x1d21" + serial)
	if m.Kind == agent.KindUse {
		m.Case = fmt.Sprintf("C%04d-%08d", index, item)
		m.Patient = fmt.Sprintf("P%04d-%08d", index, item)
	}
	return m
}

// template is the movement every movement of the fleet is made from.
var template = bolt.BenchMovement()

// nextStored commits and returns the next n movements of l as the
// centre stores them, for the ceiling: the same rows as the run's. It
// keeps none of them.
func (l *ledger) nextStored(n int) ([]central.Stored, error) {
	out := make([]central.Stored, 0, n)
	for range n {
		l.last++
		prev := l.prev
		rec, err := l.make(l.last)
		if err != nil {
			return nil, err
		}
		m := movement(l.gateway, l.index, l.last)
		out = append(out, central.NewStored(l.last, prev, l.prev, &m, rec))
	}
	return out, nil
}

// Changed implements uplink.Outbox.
func (l *ledger) Changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed
}

// LastSeq implements uplink.Outbox.
func (l *ledger) LastSeq() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// SyncCursor implements uplink.Outbox.
func (l *ledger) SyncCursor() (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cursor, nil
}

// SetSyncCursor implements uplink.Outbox: it drops the records up to seq
// and counts the ack (and the lag of every live movement it covers).
func (l *ledger) SetSyncCursor(seq uint64) error {
	now := time.Now()
	l.mu.Lock()
	if seq > l.last {
		l.mu.Unlock()
		return fmt.Errorf("loadgen: %s: cursor %d beyond the last movement %d", l.gateway, seq, l.last)
	}
	if seq <= l.cursor {
		l.mu.Unlock()
		return nil
	}
	was := l.cursor
	l.cursor = seq
	if seq >= l.base && seq-l.base < uint64(len(l.made)) {
		l.heads[seq] = l.made[seq-l.base]
		if l.order = append(l.order, seq); len(l.order) > keptHeads {
			delete(l.heads, l.order[0])
			l.order = slices.Delete(l.order, 0, 1)
		}
	}
	drop := min(seq-l.base+1, uint64(len(l.made)))
	clear(l.made[:drop])
	l.made = l.made[drop:]
	l.base += drop
	if l.base <= seq { // acknowledged without being read: never made
		l.base = seq + 1
	}
	var lags []time.Duration
	n := 0
	for n < len(l.live) && l.live[n].seq <= seq {
		lags = append(lags, now.Sub(l.live[n].at))
		n++
	}
	l.live = slices.Delete(l.live, 0, n)
	read := int64(min(seq, l.read)) - int64(min(was, l.read))
	l.mu.Unlock()
	l.tl.ack(now, read, lags)
	return nil
}

// Gateway implements uplink.Outbox.
func (l *ledger) Gateway() string { return l.gateway }

// Created implements uplink.Outbox.
func (l *ledger) Created() time.Time { return l.created }

// sent returns the highest movement the uplink has read to send.
func (l *ledger) sent() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.read
}

// acked returns the cursor and the last movement.
func (l *ledger) acked() (cursor, last uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cursor, l.last
}

// timeline gathers what every gateway's ledger sees of the centre: when
// batches were read to be sent and when acks came, and the lags of live
// movements; or, fed by stretch alone, the stretches without storing.
type timeline struct {
	mu          sync.Mutex
	outstanding int64     // movements read by an uplink and not yet acknowledged
	since       time.Time // the last ack, or when work became outstanding after none was
	longest     time.Duration
	worst       []stretch // the longest stretches, longest first
	lags        []time.Duration
}

// stretch is a time without an ack while work was outstanding.
type stretch struct {
	end time.Time
	d   time.Duration
}

// worstKept is how many of the longest stretches a timeline keeps.
const worstKept = 5

// read counts n movements read to be sent.
func (t *timeline) read(n int64) {
	t.mu.Lock()
	if t.outstanding == 0 {
		t.since = time.Now()
	}
	t.outstanding += n
	t.mu.Unlock()
}

// ack counts an ack at now of read movements read before, and the lags
// of the live movements it covers. The time since the ack before (or
// since work became outstanding) is a stretch in which the centre stored
// nothing while it had work.
func (t *timeline) ack(now time.Time, read int64, lags []time.Duration) {
	t.mu.Lock()
	if t.outstanding > 0 {
		t.record(now, now.Sub(t.since))
	}
	t.since = now
	t.outstanding -= read
	t.lags = append(t.lags, lags...)
	t.mu.Unlock()
}

// stretch records a stretch of d that ended at end.
func (t *timeline) stretch(end time.Time, d time.Duration) {
	t.mu.Lock()
	t.record(end, d)
	t.mu.Unlock()
}

// record records a stretch. Call with t.mu held.
func (t *timeline) record(end time.Time, d time.Duration) {
	t.longest = max(t.longest, d)
	i, _ := slices.BinarySearchFunc(t.worst, d, func(s stretch, d time.Duration) int { return cmp.Compare(d, s.d) })
	if i < worstKept {
		t.worst = slices.Insert(t.worst, i, stretch{end: end, d: d})[:min(len(t.worst)+1, worstKept)]
	}
}

// reset forgets the longest stretch and the lags so far.
func (t *timeline) reset() {
	t.mu.Lock()
	t.longest, t.worst, t.lags = 0, nil, nil
	t.mu.Unlock()
}

// figures returns the longest stretch without an ack while work was
// outstanding, and the lags' 50th and 99th percentiles with their count.
func (t *timeline) figures() (longest, p50, p99 time.Duration, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	lags := slices.Clone(t.lags)
	slices.Sort(lags)
	if n = len(lags); n > 0 {
		p50, p99 = lags[n/2], lags[min(n-1, n*99/100)]
	}
	return t.longest, p50, p99, n
}

// worstSince describes the longest stretches: how long, and when they
// ended after start.
func (t *timeline) worstSince(start time.Time) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, s := range t.worst {
		out = append(out, fmt.Sprintf("%v at %v", s.d.Round(time.Millisecond), s.end.Sub(start).Round(100*time.Millisecond)))
	}
	return out
}
