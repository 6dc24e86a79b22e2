package uplink

import (
	"context"
	"time"
)

// Outbox is the gateway's ledger as the uplink sees it: the movements in
// their canonical record encoding, and the sync cursor. *bolt.Ledger
// implements it.
type Outbox interface {
	// ReadRecords returns the records of the movements from sequence
	// number from on, in order: at most maxCount, and after the first no
	// more than maxBytes in all. It returns none when from is past the last
	// movement, and an error for a damaged ledger.
	ReadRecords(from uint64, maxCount, maxBytes int) ([][]byte, error)
	// Changed returns a channel closed when a transaction commits after the
	// call.
	Changed() <-chan struct{}
	// LastSeq returns the sequence number of the last committed movement.
	LastSeq() uint64
	// SyncCursor returns the highest sequence number the centre has
	// acknowledged, 0 before the first, or an error reading it.
	SyncCursor() (uint64, error)
	// SetSyncCursor durably records that the centre has acknowledged every
	// movement up to seq; a smaller seq than the stored one is ignored. It
	// returns an error when seq is beyond the last movement or the write
	// fails.
	SetSyncCursor(seq uint64) error
	// Gateway returns the gateway id the ledger belongs to.
	Gateway() string
	// Created returns when the ledger file was created.
	Created() time.Time
}

// Will is the message the broker publishes for the client when its
// connection is lost without a DISCONNECT: the gateway's offline status.
type Will struct {
	// Topic is the will's topic, the gateway's status topic.
	Topic string
	// Payload is the offline status.
	Payload []byte
	// Retained makes the broker keep the will as the topic's retained
	// message.
	Retained bool
}

// Conn is one gateway's MQTT client, QoS 1 throughout. MQTT implements it
// with paho; tests use fakes. Its methods are safe for concurrent use.
type Conn interface {
	// Connect opens a new session with a clean state, registering will,
	// and returns when the broker has accepted it. lost is called once,
	// from any goroutine, when that connection is lost later (not after
	// Disconnect). It returns an error when the broker cannot be reached
	// or refuses the connection, or ctx ends first.
	Connect(ctx context.Context, will Will, lost func(error)) error
	// Publish publishes payload to topic and returns when the broker has
	// acknowledged it (PUBACK), or with an error when it fails, the
	// connection is lost or ctx ends first. A PUBACK is not delivery.
	Publish(ctx context.Context, topic string, payload []byte, retained bool) error
	// Subscribe subscribes to filter and returns when the broker has
	// granted it; handle is then called for each message, one at a time,
	// and must not block. It returns ErrRefused when the broker refuses.
	Subscribe(ctx context.Context, filter string, handle func(topic string, payload []byte)) error
	// Disconnect ends the session cleanly (so that the will is not
	// published), if there is one.
	Disconnect()
}

// Clock is the time source of the uplink's timeouts and backoff.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After returns a channel that receives the time once d has passed.
	After(d time.Duration) <-chan time.Time
}

// wallClock is the real Clock.
type wallClock struct{}

func (wallClock) Now() time.Time                         { return time.Now() }
func (wallClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
