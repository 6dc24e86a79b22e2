// Package testkit builds what the central service's tests feed it: hash
// chained records exactly as a gateway's ledger seals them, batches of
// them, and an in-memory MQTT connection that records what is published.
// It is for tests only and must never be imported by non-test code.
package testkit

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash/crc32"
	"sync"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/wire"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Ledger is a gateway's ledger in memory: movements sealed into records
// the way agent/bolt seals them.
type Ledger struct {
	Gateway, Site string
	Created       int64
	Records       [][]byte // Records[i] is movement i+1
	Movements     []agent.Movement
	prev          [record.HashSize]byte
}

// NewLedger returns an empty ledger of gateway at site created at
// created (Unix nanoseconds).
func NewLedger(site, gateway string, created int64) *Ledger {
	return &Ledger{Gateway: gateway, Site: site, Created: created, prev: record.Genesis(gateway, uint64(created))}
}

// Movement returns a plausible movement number i of an item.
func Movement(i int, item string) agent.Movement {
	return agent.Movement{
		Time:     time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
		Kind:     agent.KindUse,
		Item:     item,
		GTIN:     "09506000134352",
		Serial:   fmt.Sprintf("SN%d", i),
		Lot:      "L1",
		Location: "OR-3",
		Station:  "scanner-1",
		Raw:      []byte("]d201095060001343522" + fmt.Sprint(i)),
		Case:     "case-7",
		Patient:  "PATIENT-SECRET-42",
		Decision: "accepted",
	}
}

// Add seals m as the next movement and returns its sequence number. m's
// Gateway is the ledger's unless set.
func (l *Ledger) Add(t testing.TB, m agent.Movement) uint64 {
	t.Helper()
	if m.Gateway == "" {
		m.Gateway = l.Gateway
	}
	m.PrevHash, m.Hash = nil, nil
	rec, err := record.Encode(&m)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	seq := uint64(len(l.Records) + 1)
	body := record.Body(rec)
	digest := sha256.Sum256(body)
	hash := record.ChainHash(seq, &l.prev, &digest)
	record.Seal(rec, crc32.Checksum(body, castagnoli), &l.prev, &hash)
	l.prev = hash
	m.Seq = seq
	m.PrevHash, m.Hash = rec[len(rec)-record.Tail:len(rec)-record.Tail+record.HashSize], rec[len(rec)-record.Tail+record.HashSize:len(rec)-record.CRCSize]
	l.Records = append(l.Records, rec)
	l.Movements = append(l.Movements, m)
	return seq
}

// AddN adds n movements, each of its own item key "(01)09506000134352(21)SN{seq}".
func (l *Ledger) AddN(t testing.TB, n int) {
	t.Helper()
	for range n {
		i := len(l.Records) + 1
		l.Add(t, Movement(i, ItemKey(i)))
	}
}

// ItemKey returns the item key AddN gives movement i.
func ItemKey(i int) string { return fmt.Sprintf("(01)09506000134352(21)SN%d", i) }

// Hash returns the Hash of movement seq.
func (l *Ledger) Hash(seq uint64) [record.HashSize]byte {
	_, h := record.Hashes(l.Records[seq-1])
	return h
}

// Batch returns the batch of movements first to last.
func (l *Ledger) Batch(first, last uint64) *wire.Batch {
	return &wire.Batch{Gateway: l.Gateway, Site: l.Site, Created: l.Created, First: first, Records: l.Records[first-1 : last]}
}

// Payload returns the batch of movements first to last, encoded.
func (l *Ledger) Payload(t testing.TB, first, last uint64) []byte {
	t.Helper()
	p, err := wire.AppendBatch(nil, l.Batch(first, last))
	if err != nil {
		t.Fatalf("batch %d-%d: %v", first, last, err)
	}
	return p
}

// Message is one message published on a Conn.
type Message struct {
	Topic    string
	Retained bool
	Payload  []byte
}

// Conn is an in-memory central.Conn: Deliver calls the handler whose
// filter matches, Publish records the message.
type Conn struct {
	mu        sync.Mutex
	subs      map[string]func(topic string, payload []byte)
	published []Message
	fail      error
	onUp      []func()
}

// OnConnect records f, to be run by Reconnect.
func (c *Conn) OnConnect(f func()) {
	c.mu.Lock()
	c.onUp = append(c.onUp, f)
	c.mu.Unlock()
}

// Reconnect runs what OnConnect recorded, as a real connection does after
// every (re)connect, and returns when it is done.
func (c *Conn) Reconnect() {
	c.mu.Lock()
	up := append([]func(){}, c.onUp...)
	c.mu.Unlock()
	for _, f := range up {
		f()
	}
}

// SetFail makes Publish return err (nil: succeed again).
func (c *Conn) SetFail(err error) {
	c.mu.Lock()
	c.fail = err
	c.mu.Unlock()
}

// NewConn returns an empty Conn.
func NewConn() *Conn { return &Conn{subs: map[string]func(string, []byte){}} }

// Subscribe records fn for filter.
func (c *Conn) Subscribe(_ context.Context, filter string, fn func(topic string, payload []byte)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.subs[filter] = fn
	return nil
}

// Filters returns the filters subscribed to.
func (c *Conn) Filters() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for f := range c.subs {
		out = append(out, f)
	}
	return out
}

// Publish records the message.
func (c *Conn) Publish(_ context.Context, topic string, retained bool, payload []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return c.fail
	}
	c.published = append(c.published, Message{topic, retained, append([]byte(nil), payload...)})
	return nil
}

// Take returns the messages published since the last Take (or the
// start) and forgets them.
func (c *Conn) Take() []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.published
	c.published = nil
	return out
}

// Published returns the messages published so far.
func (c *Conn) Published() []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Message(nil), c.published...)
}

// Deliver hands a message to the handler subscribed with filter.
func (c *Conn) Deliver(t testing.TB, filter, topic string, payload []byte) {
	t.Helper()
	c.mu.Lock()
	fn := c.subs[filter]
	c.mu.Unlock()
	if fn == nil {
		t.Fatalf("nothing subscribed to %s", filter)
	}
	fn(topic, payload)
}

// WaitFor polls cond every few milliseconds until it holds, failing the
// test with what after timeout.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
