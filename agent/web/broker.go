package web

import (
	"sync"
	"sync/atomic"
)

// DefaultClientBuffer is how many events a live client may have waiting
// before it is dropped (its browser reconnects and is sent the whole
// state again).
const DefaultClientBuffer = 64

// DefaultMaxClients bounds the live clients at once; one more is refused
// (503) until one leaves.
const DefaultMaxClients = 32

// event says that something was recorded at a station.
type event struct {
	station string
	seq     uint64
}

// client is one live browser (GET /events).
type client struct {
	// station, if set, is the only station whose events it gets.
	station string
	ch      chan event
	// gone is closed when the client is dropped for falling behind.
	gone chan struct{}
	once sync.Once
}

func (c *client) drop() { c.once.Do(func() { close(c.gone) }) }

// broker fans the core's outcomes out to the live clients. publish runs
// on the ledger's writer goroutine: it takes no lock and never blocks; a
// client whose buffer is full is dropped instead.
type broker struct {
	// clients is replaced whole (copy on write) under mu; publish only
	// loads it.
	clients atomic.Pointer[[]*client]
	mu      sync.Mutex
	max     int
	buffer  int
	// dropped counts the clients dropped for falling behind.
	dropped atomic.Uint64
}

func newBroker(maxClients, buffer int) *broker {
	b := &broker{max: maxClients, buffer: buffer}
	b.clients.Store(&[]*client{})
	return b
}

// publish hands ev to every client that wants it, without waiting.
func (b *broker) publish(ev event) {
	for _, c := range *b.clients.Load() {
		if c.station != "" && c.station != ev.station {
			continue
		}
		select {
		case c.ch <- ev:
		default:
			b.dropped.Add(1)
			c.drop()
		}
	}
}

// subscribe adds a client for station ("" for every station); false when
// there are already max clients.
func (b *broker) subscribe(station string) (*client, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := *b.clients.Load()
	if len(cur) >= b.max {
		return nil, false
	}
	c := &client{station: station, ch: make(chan event, b.buffer), gone: make(chan struct{})}
	next := append(append(make([]*client, 0, len(cur)+1), cur...), c)
	b.clients.Store(&next)
	return c, true
}

// unsubscribe removes c.
func (b *broker) unsubscribe(c *client) {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := *b.clients.Load()
	next := make([]*client, 0, len(cur))
	for _, x := range cur {
		if x != c {
			next = append(next, x)
		}
	}
	b.clients.Store(&next)
}

// count returns how many clients are live.
func (b *broker) count() int { return len(*b.clients.Load()) }
