package central

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// MaxMasterSize bounds the data of one master data publication.
const MaxMasterSize = 16 << 20

// DefaultMaxPacket is the largest MQTT packet PublishMaster sends unless
// told otherwise: the max_packet_size of the shipped broker
// (deploy/mosquitto/mosquitto.conf).
const DefaultMaxPacket = 1050000

// MinMaxPacket is the smallest MaxPacket PublishMaster works with.
const MinMaxPacket = 4 << 10

// Versioner is what publishing master data needs of a Store.
type Versioner interface {
	// NextMasterVersion durably sets the version of set of site to
	// max(last + 1, atLeast) and returns it (see Store).
	NextMasterVersion(ctx context.Context, site, set string, atLeast uint64) (uint64, error)
}

// Publisher is what publishing master data needs of an MQTT client.
type Publisher interface {
	// Publish publishes payload at QoS 1 (see Conn).
	Publish(ctx context.Context, topic string, retained bool, payload []byte) error
}

// MasterOptions say how a master data file is read before it is
// published: its format, "csv" or "json", its character encoding, and
// whether a file with bad rows (Partial) or with no rows (AllowEmpty)
// may be published (see master.ImportOptions, whose rules every gateway
// applies to what it receives); and how it is published.
type MasterOptions struct {
	Format     string
	Encoding   string
	Partial    bool
	AllowEmpty bool
	// MaxPacket is the largest MQTT packet the broker accepts, whole
	// (Mosquitto's max_packet_size): the set is published in parts that
	// each fit in it. 0 means DefaultMaxPacket; below MinMaxPacket is
	// refused.
	MaxPacket int
	// MinVersion is the least version to publish as. Versions are the
	// publication time in Unix milliseconds (or one more than the last
	// published, when that is later), so it is needed only to publish
	// above a version that gateways hold and that is ahead of the clock
	// (sync/PROTOCOL.md). It may be at most wire.MaxMasterAhead ahead of
	// the clock, or gateways would refuse it.
	MinVersion uint64
	// PublishTimeout bounds each MQTT publish; 0 leaves it to ctx.
	PublishTimeout time.Duration
	// Now is the clock of the versions; time.Now when nil.
	Now func() time.Time
	// Key is the centre's key: every part carries its signature of the
	// publication (wire.SignMasterParts), which gateways that pin the
	// centre's key check before they keep anything. Nil publishes
	// unsigned parts, which such gateways refuse.
	Key ed25519.PrivateKey
}

// Published reports a master data publication.
type Published struct {
	// Version is the version the set was published as.
	Version uint64
	// Bytes is the size of the data published (UTF-8).
	Bytes int
	// Parts is the number of parts (retained messages) it was published
	// in.
	Parts int
	// Report says how the file was read: its encoding, its rows, and with
	// Partial the bad rows left out.
	Report master.Report
}

// publishing lets one publication of master data at a time through
// PublishMaster, so that the parts of two never interleave on the
// broker's retained topics.
var publishing = make(chan struct{}, 1)

// PublishMaster publishes data as the next version of master data set of
// site: split into parts (wire.SplitMaster), each retained at QoS 1 on
// udi/v1/{site}/master/{set}/{index} in one MQTT packet of at most
// opt.MaxPacket bytes. It first reads the data as every gateway will
// (master.PrepareSet): a file with a bad row is refused whole, naming
// every bad row (a *master.BadRowsError), unless opt.Partial is set, in
// which case only the good rows are published; a file with no rows is
// refused unless opt.AllowEmpty is set; a file in GBK, GB18030 or UTF-16
// is published converted to UTF-8. Then it checks that the data fit in
// wire.MaxMasterParts parts of the packet size, and only then takes the
// version from v: the publication time in Unix milliseconds, or one more
// than the last version of the set when that is higher (or opt.MinVersion,
// when higher still), durably, so that versions keep increasing across
// restarts, a re-created store and several instances. So nothing a
// gateway would refuse ever replaces the retained good version. It then
// clears the retained messages that the set's earlier publications may
// have left on part topics beyond this one's, and on the whole-set topic
// of the single-message format, and publishes the parts in order: once it
// has returned, a gateway that subscribes gets this version whole. One
// publication runs at a time in a process. It returns an error wrapping
// ErrInvalid for a bad site, set, format, data or packet size. A version
// taken but not published (the broker failed) is skipped: versions only
// need to increase. When p's connection (MQTT) is up as a publication
// starts and is lost under it, while the stale topics are cleared or
// before a part is sent, it waits up to 30 s for the connection to return
// and publishes again, as a new version, up to three attempts in all; a
// publication that finds no connection fails at once. A gateway never
// applies a publication cut off half way; after an error, publish again.
func PublishMaster(ctx context.Context, v Versioner, p Publisher, site, set string, data []byte, opt MasterOptions) (Published, error) {
	var pub Published
	if err := validMaster(site, set, data); err != nil {
		return pub, err
	}
	if opt.MaxPacket == 0 {
		opt.MaxPacket = DefaultMaxPacket
	}
	if opt.MaxPacket < MinMaxPacket {
		return pub, fmt.Errorf("%w: a maximum MQTT packet of %d bytes; at least %d", ErrInvalid, opt.MaxPacket, MinMaxPacket)
	}
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	prepared, rep, err := master.PrepareSet(set, bytes.NewReader(data), master.ImportOptions{
		Format: opt.Format, Encoding: opt.Encoding, Partial: opt.Partial, AllowEmpty: opt.AllowEmpty,
	})
	pub.Report = rep
	if err != nil {
		return pub, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	format := strings.ToLower(strings.TrimPrefix(opt.Format, "."))
	// The longest part topic, for the packet's room.
	topicRoom := len(wire.MasterPartTopic(site, set, wire.MaxMasterParts-1))
	chunk := wire.MasterChunk(maxPublishPayload(opt.MaxPacket, topicRoom), set, format)
	parts, err := wire.SplitMaster(set, 1, format, prepared, chunk)
	if errors.Is(err, wire.ErrTooLarge) {
		return pub, fmt.Errorf("%w: master data %s of %d bytes: %w (raise the maximum MQTT packet, %d bytes, if the broker accepts more)",
			ErrInvalid, set, len(prepared), err, opt.MaxPacket)
	}
	if err != nil {
		return pub, fmt.Errorf("%w: master data %s: %w", ErrInvalid, set, err)
	}
	t := now()
	if opt.MinVersion > 0 && wire.VersionAhead(opt.MinVersion, t) {
		return pub, fmt.Errorf("%w: version %d is more than %v ahead of the clock (%d): gateways would refuse it",
			ErrInvalid, opt.MinVersion, wire.MaxMasterAhead, t.UnixMilli())
	}
	select {
	case publishing <- struct{}{}:
		defer func() { <-publishing }()
	case <-ctx.Done():
		return pub, fmt.Errorf("central: master data %s of site %s: %w", set, site, ctx.Err())
	}
	w, canWait := p.(reconnectWaiter)
	for attempt := 1; ; attempt++ {
		// A publication that finds no connection fails at once: the
		// broker is down, and the caller hears so. One whose connection
		// is lost under it is made again below.
		up := canWait && w.Connected()
		var again bool
		pub, again, err = publishVersion(ctx, v, p, site, set, parts, prepared, chunk, t, pub, opt)
		if !again || !up || attempt == masterAttempts {
			return pub, err
		}
		// The connection was lost while the stale topics were cleared,
		// or before a part was sent (a broker restarted, a cluster node
		// failed over): the publication is made again, whole and as a
		// new version, once the connection is back, rather than answered
		// as failed.
		wctx, cancel := context.WithTimeout(ctx, masterReconnectWait)
		werr := w.WaitConnected(wctx)
		cancel()
		if werr != nil {
			return pub, fmt.Errorf("%w (and no connection again within %v: %w)", err, masterReconnectWait, werr)
		}
		t = now()
	}
}

// masterAttempts bounds the publications of one PublishMaster whose
// connection is down or lost; masterReconnectWait bounds each wait for
// it to come back.
const (
	masterAttempts      = 3
	masterReconnectWait = 30 * time.Second
)

// reconnectWaiter is a Publisher that says whether it is connected and
// can wait for its connection to be up again (MQTT).
type reconnectWaiter interface {
	Connected() bool
	WaitConnected(ctx context.Context) error
}

// publishVersion takes the next version of set from v and publishes parts
// as it: the stale part topics cleared, then every part in order. It
// reports whether a failure may be tried again once the connection is
// back: the connection was down before a part was sent, or lost while
// only empty messages were in flight. A connection lost while a part was
// in flight is not: MQTT 3.1.1 gives no reason, and a broker closes the
// connection of a client whose packet is over its limit, so the same
// part would only be refused again.
func publishVersion(ctx context.Context, v Versioner, p Publisher, site, set string, parts []wire.MasterPart, prepared []byte, chunk int,
	t time.Time, pub Published, opt MasterOptions) (Published, bool, error) {
	version, err := v.NextMasterVersion(ctx, site, set, max(uint64(max(t.UnixMilli(), 0)), opt.MinVersion))
	if err != nil {
		return pub, false, fmt.Errorf("central: master data %s of site %s: %w", set, site, err)
	}
	if wire.VersionAhead(version, t) {
		return pub, false, fmt.Errorf("central: master data %s of site %s: the next version, %d, is more than %v ahead of the clock (%d) and gateways would refuse it: was the clock set back?",
			set, site, version, wire.MaxMasterAhead, t.UnixMilli())
	}
	failed := func(err error, again bool) (Published, bool, error) {
		return pub, again, fmt.Errorf("central: master data %s version %d of site %s: %w", set, version, site, err)
	}
	if err := clearStale(ctx, p, site, set, len(parts), chunk, opt.PublishTimeout); err != nil {
		return failed(err, errors.Is(err, ErrNotConnected))
	}
	for i := range parts {
		parts[i].Version = version
	}
	if opt.Key != nil {
		wire.SignMasterParts(site, parts, opt.Key)
	}
	for i := range parts {
		payload, err := wire.AppendMasterPart(nil, &parts[i])
		if err != nil {
			return failed(err, false)
		}
		topic := wire.MasterPartTopic(site, set, i)
		if n := mqttPublishSize(topic, len(payload)); n > opt.MaxPacket {
			return failed(fmt.Errorf("part %d is an MQTT packet of %d bytes, over %d", i, n, opt.MaxPacket), false)
		}
		if err := publishWithin(ctx, p, topic, payload, opt.PublishTimeout); err != nil {
			var notSent NotSentError
			return failed(fmt.Errorf("part %d of %d: %w", i+1, len(parts), err), errors.As(err, &notSent))
		}
	}
	pub.Version, pub.Bytes, pub.Parts = version, len(prepared), len(parts)
	return pub, false, nil
}

// clearStale clears, with empty retained messages, the topics a
// publication of count parts does not use and an earlier one of the set
// may have: the part topics from count up to as many as the largest set
// would need in chunks of chunk bytes, and the whole-set topic of the
// single-message format. Old parts left there would be harmless (their
// version is older), but every gateway would receive them again at every
// connection. Up to 16 are in flight at once.
func clearStale(ctx context.Context, p Publisher, site, set string, count, chunk int, timeout time.Duration) error {
	topics := []string{wire.MasterTopic(site, set)}
	for i := count; i < min(wire.MaxMasterParts, (wire.MaxMasterSize+chunk-1)/chunk); i++ {
		topics = append(topics, wire.MasterPartTopic(site, set, i))
	}
	var (
		wg    sync.WaitGroup
		slots = make(chan struct{}, 16)
		errs  = make([]error, len(topics))
	)
	for i, topic := range topics {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			if err := publishWithin(ctx, p, topic, nil, timeout); err != nil {
				errs[i] = fmt.Errorf("clear %s: %w", topic, err)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// publishWithin publishes payload retained on topic within timeout (0:
// ctx alone).
func publishWithin(ctx context.Context, p Publisher, topic string, payload []byte, timeout time.Duration) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return p.Publish(ctx, topic, true, payload)
}

// mqttPublishSize returns the size of the MQTT 3.1.1 PUBLISH packet of
// payload bytes on topic at QoS 1: a byte of packet type and flags, the
// remaining length (1 to 4 bytes), the topic with its 2-byte length, the
// 2-byte packet identifier, the payload.
func mqttPublishSize(topic string, payload int) int {
	rest := 2 + len(topic) + 2 + payload
	n := 1
	for x := rest; x >= 128; x >>= 7 {
		n++
	}
	return 1 + n + rest
}

// maxPublishPayload returns the largest payload that a PUBLISH at QoS 1
// on a topic of topicLen bytes carries within maxPacket bytes.
func maxPublishPayload(maxPacket, topicLen int) int {
	return maxPacket - 1 - 4 - 2 - topicLen - 2
}

// PublishMaster publishes master data with the service's store and
// connection, each MQTT publish within the service's PublishTimeout; see
// the function PublishMaster.
func (s *Service) PublishMaster(ctx context.Context, site, set string, data []byte, opt MasterOptions) (Published, error) {
	if opt.PublishTimeout == 0 {
		opt.PublishTimeout = s.cfg.PublishTimeout
	}
	if opt.Now == nil {
		opt.Now = s.now
	}
	if opt.MaxPacket == 0 {
		opt.MaxPacket = s.cfg.MaxPacket
	}
	if opt.Key == nil {
		opt.Key = s.cfg.Key
	}
	pub, err := PublishMaster(ctx, s.store, s.conn, site, set, data, opt)
	if err != nil {
		return pub, err
	}
	s.log.Info("master data published", "site", site, "set", set, "version", pub.Version, "bytes", pub.Bytes, "parts", pub.Parts,
		"encoding", pub.Report.Encoding, "rows", pub.Report.Kept, "rows_left_out", pub.Report.Records-pub.Report.Kept)
	return pub, nil
}

// validMaster checks the site, the set and the size of what
// PublishMaster publishes; master.PrepareSet checks the rest.
func validMaster(site, set string, data []byte) error {
	if err := wire.ValidID(site); err != nil {
		return fmt.Errorf("%w: site: %w", ErrInvalid, err)
	}
	if err := wire.ValidSet(set); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if len(data) > MaxMasterSize {
		return fmt.Errorf("%w: master data %s of %d bytes exceeds %d", ErrInvalid, set, len(data), MaxMasterSize)
	}
	return nil
}
