package central

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/audit"
	"github.com/udi-edge/udi-edge/agent/master"
)

// SiteReconcile returns what differs between the uses recorded on every
// gateway of site and the settlement records of data (the insurance
// settlement lines of the site's cases): a use no line bills, a line
// billing what no gateway saw used, a line billing another product or
// another insurance code than the catalogue's. Uses are read across
// gateways as SiteAnomalies reads them, so an item issued at the store's
// gateway and used at an OR's is one use.
func SiteReconcile(ctx context.Context, st Store, site string, data *master.Data, now time.Time) ([]audit.Finding, error) {
	if data == nil || len(data.Settlements()) == 0 {
		return nil, fmt.Errorf("%w: no settlement records to reconcile the uses with", ErrInvalid)
	}
	a := &audit.Auditor{Data: data, Now: now}
	if err := siteMovements(ctx, st, site, func(m agent.Movement) { a.Add(m) }); err != nil {
		return nil, err
	}
	return a.Reconcile(), nil
}

// ReadMaster reads master data files, one per set, into master data as a
// gateway would import them (agent/master): every row must be good. files
// maps a set's name to its file's bytes; format is "csv" or "json" for
// each file, by set.
func ReadMaster(files map[string][]byte, formats map[string]string) (*master.Data, error) {
	var d *master.Data
	for _, set := range master.SetNames {
		b, ok := files[set]
		if !ok {
			continue
		}
		next, _, err := d.Import(set, bytes.NewReader(b), master.ImportOptions{Format: formats[set]})
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, set, err)
		}
		d = next
	}
	return d, nil
}
