package uplink

import (
	"crypto/ed25519"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/udi-edge/udi-edge/sync/wire"
)

// Defaults for Config.
const (
	// DefaultBatchBytes is the largest batch published, unless it holds one
	// larger movement.
	DefaultBatchBytes = 1 << 20
	// DefaultBatchMax is the most movements in one batch.
	DefaultBatchMax = 4096
	// DefaultWindow is how many batches may await the centre's ack.
	DefaultWindow = 8
	// DefaultAckTimeout is how long the uplink waits for ack progress,
	// with batches in flight, before it resends from its cursor.
	DefaultAckTimeout = 30 * time.Second
	// DefaultPublishTimeout is how long one publish may wait for its
	// PUBACK before the connection is given up.
	DefaultPublishTimeout = 10 * time.Second
	// DefaultStatusInterval is how often a connected gateway publishes its
	// status.
	DefaultStatusInterval = 30 * time.Second
	// DefaultBackoffMin is the first reconnect delay's ceiling.
	DefaultBackoffMin = 500 * time.Millisecond
	// DefaultBackoffMax is the largest reconnect delay.
	DefaultBackoffMax = 60 * time.Second
)

// Config configures an Uplink. Zero values take the Default* constants.
type Config struct {
	// Site is the gateway's site id. Required.
	Site string
	// Gateway is the gateway's id; it must be the ledger's. Required.
	Gateway string
	// BatchBytes bounds a batch's encoded size, unless the batch holds a
	// single larger movement. At most wire.MaxBatchSize.
	BatchBytes int
	// BatchMax is the most movements in a batch, at most
	// wire.MaxBatchCount.
	BatchMax int
	// Window is how many batches may be published and not yet
	// acknowledged by the centre.
	Window int
	// AckTimeout is how long the uplink waits for the centre's ack to make
	// progress while batches are in flight before it sends again from the
	// cursor + 1.
	AckTimeout time.Duration
	// PublishTimeout is how long one publish may wait for the broker's
	// PUBACK, and a subscription for its SUBACK; on timeout the connection
	// is dropped and made anew.
	PublishTimeout time.Duration
	// StatusInterval is how often the status (last movement, cursor) is
	// published while connected, besides at every connect, so that the
	// centre's list of gateways is current.
	StatusInterval time.Duration
	// BackoffMin and BackoffMax bound the delay before a reconnect: the
	// ceiling doubles from BackoffMin to BackoffMax with every failure in
	// a row, and the delay is uniform between 0 and the ceiling. Progress
	// (a batch published, the cursor moved) and a connection that held
	// longer than the ceiling before it start it over.
	BackoffMin time.Duration
	BackoffMax time.Duration
	// Clock is the time source; nil means the wall clock.
	Clock Clock
	// Rand draws the backoff jitter; nil means a random seed. It is used
	// by Run's goroutine only.
	Rand *rand.Rand
	// Logger receives the uplink's log lines; nil discards them.
	Logger *slog.Logger
	// Apply applies a master data set of the centre: it is called, one
	// call at a time, with each set whose parts are all received and
	// whose digest matches, when its version is newer than the one the
	// gateway holds (see Held) and not more than wire.MaxMasterAhead ahead
	// of the clock (versions are publication times in milliseconds). data
	// is the file, UTF-8, in format; it is not used by the uplink after
	// the call. Apply must check every row and store the set before using
	// it; its error is logged and the version is not taken as held, so
	// the set is tried again when it is next received. core.Gateway's
	// ApplyCentral is such a function. Nil means master data is not
	// subscribed to.
	Apply func(set, format string, data []byte, version uint64) error
	// Held returns the version of set the gateway holds, 0 for none: what
	// Apply stored, before a restart too, and 0 again after a set was
	// imported locally. Nil means what was applied since start. It is
	// called for every part received, from the connection's goroutine,
	// also while Apply runs, and must be cheap and safe for that.
	Held func(set string) uint64
	// Version is the gateway's software version, for its status.
	Version string
	// Key signs every batch (wire.Batch.Sign), so that the centre can
	// tell the gateway's movements from anyone else's. Nil sends unsigned
	// batches, which a centre that enrolled the gateway refuses.
	Key ed25519.PrivateKey
	// CentreKey is the centre's pinned public key: acks and master data
	// that it did not sign are refused. Nil takes them unsigned.
	CentreKey ed25519.PublicKey
}

// withDefaults returns c with zero values replaced by the defaults.
func (c Config) withDefaults() Config {
	set := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	setD := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	set(&c.BatchBytes, DefaultBatchBytes)
	set(&c.BatchMax, DefaultBatchMax)
	set(&c.Window, DefaultWindow)
	setD(&c.AckTimeout, DefaultAckTimeout)
	setD(&c.PublishTimeout, DefaultPublishTimeout)
	setD(&c.StatusInterval, DefaultStatusInterval)
	setD(&c.BackoffMin, DefaultBackoffMin)
	setD(&c.BackoffMax, DefaultBackoffMax)
	if c.Clock == nil {
		c.Clock = wallClock{}
	}
	if c.Rand == nil {
		c.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// minBatchBytes leaves room for a batch header and a few records.
const minBatchBytes = 1 << 10

// Validate returns a *ConfigError naming the first invalid field of c
// after defaults.
func (c Config) Validate() error {
	c = c.withDefaults()
	bad := func(field, reason string) error { return &ConfigError{Field: field, Reason: reason} }
	switch {
	case wire.ValidID(c.Site) != nil:
		return bad("Site", wire.ValidID(c.Site).Error())
	case wire.ValidGateway(c.Gateway) != nil:
		return bad("Gateway", wire.ValidGateway(c.Gateway).Error())
	case c.BatchBytes < minBatchBytes || c.BatchBytes > wire.MaxBatchSize:
		return bad("BatchBytes", "out of range 1 KiB to wire.MaxBatchSize")
	case c.BatchMax < 1 || c.BatchMax > wire.MaxBatchCount:
		return bad("BatchMax", "out of range 1 to 65535")
	case c.Window < 1 || c.Window > 1024:
		return bad("Window", "out of range 1 to 1024")
	case c.AckTimeout < 0:
		return bad("AckTimeout", "negative")
	case c.PublishTimeout < 0:
		return bad("PublishTimeout", "negative")
	case c.StatusInterval < 0:
		return bad("StatusInterval", "negative")
	case c.BackoffMin < 0:
		return bad("BackoffMin", "negative")
	case c.BackoffMax < c.BackoffMin:
		return bad("BackoffMax", "below BackoffMin")
	case c.Key != nil && len(c.Key) != ed25519.PrivateKeySize:
		return bad("Key", "not an Ed25519 private key")
	case c.CentreKey != nil && len(c.CentreKey) != ed25519.PublicKeySize:
		return bad("CentreKey", "not an Ed25519 public key")
	case len(c.Version) > wire.MaxVersionLen:
		return bad("Version", "longer than 64 bytes")
	}
	return nil
}
