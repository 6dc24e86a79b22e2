package central

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// MaxMasterSize bounds the data of one master data publication.
const MaxMasterSize = 16 << 20

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
// may be published; see master.ImportOptions, whose rules every gateway
// applies to what it receives.
type MasterOptions struct {
	Format     string
	Encoding   string
	Partial    bool
	AllowEmpty bool
}

// Published reports a master data publication.
type Published struct {
	// Version is the version the set was published as.
	Version uint64
	// Bytes is the size of the data published (UTF-8).
	Bytes int
	// Report says how the file was read: its encoding, its rows, and with
	// Partial the bad rows left out.
	Report master.Report
}

// PublishMaster publishes data as the next version of master data set of
// site, retained at QoS 1 on udi/v1/{site}/master/{set}. It first reads
// the data as every gateway will (master.PrepareSet): a file with a bad
// row is refused whole, naming every bad row (a *master.BadRowsError),
// unless opt.Partial is set, in which case only the good rows are
// published; a file with no rows is refused unless opt.AllowEmpty is
// set; a file in GBK, GB18030 or UTF-16 is published converted to UTF-8.
// Only then does it take the version from v (one more than the last
// published, durably) and publish, so that nothing a gateway would refuse
// ever replaces the retained good version. It returns an error wrapping
// ErrInvalid for a bad site, set, format or data. A version taken but not
// published (the broker failed) is skipped: versions only need to
// increase.
func PublishMaster(ctx context.Context, v Versioner, p Publisher, site, set string, data []byte, opt MasterOptions) (Published, error) {
	var pub Published
	if err := validMaster(site, set, data); err != nil {
		return pub, err
	}
	prepared, rep, err := master.PrepareSet(set, bytes.NewReader(data), master.ImportOptions{
		Format: opt.Format, Encoding: opt.Encoding, Partial: opt.Partial, AllowEmpty: opt.AllowEmpty,
	})
	pub.Report = rep
	if err != nil {
		return pub, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	format := strings.ToLower(strings.TrimPrefix(opt.Format, "."))
	version, err := v.NextMasterVersion(ctx, site, set, 0)
	if err != nil {
		return pub, fmt.Errorf("central: master data %s of site %s: %w", set, site, err)
	}
	payload, err := wire.EncodeMaster(wire.NewMaster(set, version, format, prepared))
	if err != nil {
		return pub, fmt.Errorf("%w: master data %s: %w", ErrInvalid, set, err)
	}
	if err := p.Publish(ctx, wire.MasterTopic(site, set), true, payload); err != nil {
		return pub, fmt.Errorf("central: master data %s version %d of site %s: %w", set, version, site, err)
	}
	pub.Version, pub.Bytes = version, len(prepared)
	return pub, nil
}

// PublishMaster publishes master data with the service's store and
// connection; see the function PublishMaster.
func (s *Service) PublishMaster(ctx context.Context, site, set string, data []byte, opt MasterOptions) (Published, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.PublishTimeout)
	defer cancel()
	pub, err := PublishMaster(ctx, s.store, s.conn, site, set, data, opt)
	if err != nil {
		return pub, err
	}
	s.log.Info("master data published", "site", site, "set", set, "version", pub.Version, "bytes", pub.Bytes,
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
