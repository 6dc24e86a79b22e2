package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"time"

	"github.com/udi-edge/udi-edge/agent/master"
)

// ErrStaleMaster is returned by ApplyCentral for a set no newer than the
// one the gateway holds.
var ErrStaleMaster = errors.New("master data set not newer than the one held")

// ErrFutureMaster is returned by ApplyCentral for a version more than a
// day ahead of the gateway's clock.
var ErrFutureMaster = errors.New("master data version ahead of the clock")

// ErrReadOnly is returned for a change asked of a core that serves a
// ledger opened read-only.
var ErrReadOnly = errors.New("the ledger is open read-only")

// ImportOptions say how a master data file is read.
type ImportOptions struct {
	// Format is "csv" or "json".
	Format string
	// Name is the file's name, part of the new data's version.
	Name string
	// Partial keeps the good rows of a file that has bad ones (they are
	// listed); by default such a file is refused whole
	// (*master.BadRowsError naming every bad row).
	Partial bool
	// AllowEmpty accepts a file with no rows, which empties the set; by
	// default it is refused (master.ErrEmpty).
	AllowEmpty bool
	// Encoding forces the file's character encoding ("utf-8", "gb18030",
	// "utf-16"); "" detects it.
	Encoding string
}

// ImportResult reports an import.
type ImportResult struct {
	Set string `json:"set"`
	// Rows is the size of the set now held.
	Rows int `json:"rows"`
	// RowErrors lists the bad rows left out (a partial import), by line,
	// at most master.MaxRejected problems.
	RowErrors []string `json:"row_errors,omitempty"`
	// Version is the new master data version.
	Version string `json:"version,omitempty"`
	// Encoding is the encoding the file was read in; Converted says it
	// was converted to UTF-8 (a GBK export, a UTF-16 one).
	Encoding  string `json:"encoding,omitempty"`
	Converted bool   `json:"converted,omitempty"`
	// Duplicates lists the keys two entries of the file had, the later
	// kept (a catalogue's product, a recall's lot or serial; the other
	// sets refuse two different rows of one key).
	Duplicates []string `json:"duplicates,omitempty"`
}

// setSize returns the number of entries of one set of d.
func setSize(d *master.Data, set string) int {
	c := d.Counts()
	return map[string]int{"catalogue": c.Catalogue, "recalls": c.Recalls, "lots": c.LotStatuses,
		"settlements": c.Settlements, "schedules": c.Schedules, "par": c.ParLevels, "codes": c.Codes}[set]
}

// Import replaces one set of the master data with the rows read from r,
// storing the new set beside the ledger before using it: a failed import
// leaves both as they were. A file with a bad row is refused whole unless
// opt.Partial (every bad row named, *master.BadRowsError); an empty file
// unless opt.AllowEmpty. It and ApplyCentral are the one way master data
// change, one at a time.
func (g *Gateway) Import(ctx context.Context, set string, r io.Reader, opt ImportOptions) (ImportResult, error) {
	res := ImportResult{Set: set}
	version := g.cfg.Now().UTC().Format("20060102T150405Z") + "-" + set
	if opt.Name != "" {
		version += "-" + filepath.Base(opt.Name)
	}
	mopt := master.ImportOptions{Format: opt.Format, Partial: opt.Partial, AllowEmpty: opt.AllowEmpty,
		Encoding: opt.Encoding, Version: version}
	// A codes file may be one of the NHSA's own release tables: held to
	// be read again as one.
	var file []byte
	if set == "codes" {
		var err error
		if file, err = io.ReadAll(io.LimitReader(r, master.MaxFileSize+1)); err != nil {
			return res, err
		}
	}
	_, err := g.changeMaster(set, func(cur *master.Data) (*master.Data, error) {
		var (
			d   *master.Data
			rep master.Report
			err error
		)
		if set == "codes" {
			d, rep, err = cur.ImportBytes(set, file, mopt)
		} else {
			d, rep, err = cur.Import(set, r, mopt)
		}
		if set == "codes" && errors.Is(err, master.ErrHeader) && opt.Format != master.FormatJSON {
			rows, terr := master.AddReleaseTable(cur.Codes(), file, opt.Name)
			if terr != nil {
				return nil, fmt.Errorf("%w; read as the NHSA's withdrawn-codes or old→new table: %w", err, terr)
			}
			d, rep, err = cur.ImportBytes(set, master.CodesCSV(rows), master.ImportOptions{Format: master.FormatCSV, Version: version})
		}
		for i := range rep.Rejected {
			res.RowErrors = append(res.RowErrors, rep.Rejected[i].Error())
		}
		res.Encoding, res.Converted = rep.Encoding, rep.Converted()
		if err != nil {
			return nil, err
		}
		res.Rows = setSize(d, set)
		for _, x := range d.DuplicatesOf(set) {
			res.Duplicates = append(res.Duplicates, x.String())
		}
		return d, nil
	})
	if err != nil {
		return res, err
	}
	res.Version = version
	return res, nil
}

// ApplyCentral applies one master data set published by the central
// service: every row must be good (a payload with one bad row is refused
// whole: the centre's data is never half-applied; an empty set is what the
// centre published), the version must be newer than the one held, and the
// new set is stored before it is used. Versions are the centre's
// publication times in Unix milliseconds: a version more than a day ahead
// of the gateway's clock is refused (ErrFutureMaster), and a version held
// that is that far ahead (forged, or applied before this rule) does not
// block a real one, which replaces it. data is not kept.
func (g *Gateway) ApplyCentral(set, format string, data []byte, version uint64) error {
	// As sync/wire's MaxMasterAhead.
	const ahead = 24 * time.Hour
	now := g.cfg.Now()
	limit := now.Add(ahead).UnixMilli()
	if limit < 0 || version > uint64(limit) {
		return fmt.Errorf("%w: %s version %d is more than %v ahead of the clock (%d)", ErrFutureMaster, set, version, ahead, now.UnixMilli())
	}
	_, err := g.changeMaster(set, func(cur *master.Data) (*master.Data, error) {
		if held := cur.SetVersion(set); version <= held && held <= uint64(limit) {
			return nil, fmt.Errorf("%w: %s version %d, holding %d", ErrStaleMaster, set, version, held)
		}
		// Read in place: the set is not copied, and nothing keeps data.
		d, _, err := cur.ImportBytes(set, data, master.ImportOptions{Format: format, AllowEmpty: true,
			Version: fmt.Sprintf("central %s v%d", set, version), SetVersion: version})
		if err != nil {
			return nil, fmt.Errorf("master data %s version %d rejected: %w", set, version, err)
		}
		return d, nil
	})
	return err
}

// changeMaster builds new master data from the current with change, which
// replaces set, stores it, then makes it current: one change at a time.
func (g *Gateway) changeMaster(set string, change func(cur *master.Data) (*master.Data, error)) (*master.Data, error) {
	if g.masters == nil {
		return nil, errors.New("master data are not kept by this gateway")
	}
	g.importMu.Lock()
	defer g.importMu.Unlock()
	d, err := change(g.master.Load())
	if err != nil {
		return nil, err
	}
	if err := g.masters.SaveMaster(d, set); err != nil {
		return nil, err
	}
	g.master.Replace(d)
	g.damageMu.Lock()
	g.damaged = slices.DeleteFunc(g.damaged, func(s string) bool { return s == set })
	g.damageMu.Unlock()
	if set == "par" || set == "catalogue" {
		// Requests to raise or withdraw, at once rather than at the
		// next sweep.
		g.supply.sweepSoon()
	}
	return d, nil
}

// MasterVersion returns the master data's version, the size of each set,
// and the sets found damaged when the data were loaded.
func (g *Gateway) MasterVersion() (version string, counts master.Counts, damaged []string) {
	d := g.master.Load()
	g.damageMu.Lock()
	damaged = append(damaged, g.damaged...)
	g.damageMu.Unlock()
	return d.Version, d.Counts(), damaged
}
