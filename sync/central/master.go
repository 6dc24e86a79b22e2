package central

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/udi-edge/udi-edge/sync/wire"
)

// MaxMasterSize bounds the data of one master data publication.
const MaxMasterSize = 16 << 20

// Versioner is what publishing master data needs of a Store.
type Versioner interface {
	// NextMasterVersion durably increases the version of set of site by
	// one and returns it (see Store).
	NextMasterVersion(ctx context.Context, site, set string) (uint64, error)
}

// Publisher is what publishing master data needs of an MQTT client.
type Publisher interface {
	// Publish publishes payload at QoS 1 (see Conn).
	Publish(ctx context.Context, topic string, retained bool, payload []byte) error
}

// PublishMaster publishes data as the next version of master data set of
// site: it checks the set name, the format ("csv": a CSV file with a
// header row and rows of the same width; "json": a JSON array), takes the
// version from v (one more than the last published, durably) and publishes
// the payload retained at QoS 1 on udi/v1/{site}/master/{set}. It returns
// the version published, or an error wrapping ErrInvalid for a bad site,
// set, format or data. A version taken but not published (the broker
// failed) is skipped: versions only need to increase.
func PublishMaster(ctx context.Context, v Versioner, p Publisher, site, set, format string, data []byte) (uint64, error) {
	if err := validMaster(site, set, format, data); err != nil {
		return 0, err
	}
	version, err := v.NextMasterVersion(ctx, site, set)
	if err != nil {
		return 0, fmt.Errorf("central: master data %s of site %s: %w", set, site, err)
	}
	payload, err := wire.EncodeMaster(wire.NewMaster(set, version, format, data))
	if err != nil {
		return 0, fmt.Errorf("%w: master data %s: %w", ErrInvalid, set, err)
	}
	if err := p.Publish(ctx, wire.MasterTopic(site, set), true, payload); err != nil {
		return 0, fmt.Errorf("central: master data %s version %d of site %s: %w", set, version, site, err)
	}
	return version, nil
}

// PublishMaster publishes master data with the service's store and
// connection; see the function PublishMaster.
func (s *Service) PublishMaster(ctx context.Context, site, set, format string, data []byte) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.PublishTimeout)
	defer cancel()
	v, err := PublishMaster(ctx, s.store, s.conn, site, set, format, data)
	if err != nil {
		return 0, err
	}
	s.log.Info("master data published", "site", site, "set", set, "version", v, "bytes", len(data))
	return v, nil
}

// validMaster checks what PublishMaster publishes.
func validMaster(site, set, format string, data []byte) error {
	if err := wire.ValidID(site); err != nil {
		return fmt.Errorf("%w: site: %w", ErrInvalid, err)
	}
	if err := wire.ValidSet(set); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	switch {
	case len(data) == 0:
		return fmt.Errorf("%w: master data %s is empty", ErrInvalid, set)
	case len(data) > MaxMasterSize:
		return fmt.Errorf("%w: master data %s of %d bytes exceeds %d", ErrInvalid, set, len(data), MaxMasterSize)
	case !utf8.Valid(data):
		return fmt.Errorf("%w: master data %s is not UTF-8", ErrInvalid, set)
	}
	switch format {
	case wire.FormatCSV:
		r := csv.NewReader(bytes.NewReader(data))
		r.ReuseRecord = true
		rows := 0
		for {
			_, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("%w: master data %s: %w", ErrInvalid, set, err)
			}
			rows++
		}
		if rows == 0 {
			return fmt.Errorf("%w: master data %s: no header row", ErrInvalid, set)
		}
	case wire.FormatJSON:
		var rows []json.RawMessage
		if err := json.Unmarshal(data, &rows); err != nil {
			return fmt.Errorf("%w: master data %s is not a JSON array: %w", ErrInvalid, set, err)
		}
	default:
		return fmt.Errorf("%w: master data format %q; want %q or %q", ErrInvalid, format, wire.FormatCSV, wire.FormatJSON)
	}
	return nil
}
