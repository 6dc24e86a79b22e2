package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/udi-edge/udi-edge/agent/master"
)

// ErrStaleMaster is returned by ApplyCentral for a set no newer than the
// one the gateway holds.
var ErrStaleMaster = errors.New("master data set not newer than the one held")

// ErrReadOnly is returned for a change asked of a core that serves a
// ledger opened read-only.
var ErrReadOnly = errors.New("the ledger is open read-only")

// BadRowsError refuses a master data file with bad rows, listing every
// one; nothing was imported.
type BadRowsError struct {
	Set  string
	Rows []string
}

func (e *BadRowsError) Error() string {
	return fmt.Sprintf("%s: %d bad row(s): nothing imported (fix them, or import the good rows only with --partial)", e.Set, len(e.Rows))
}

// ImportOptions say how a master data file is read.
type ImportOptions struct {
	// Format is "csv" or "json".
	Format string
	// Name is the file's name, part of the new data's version.
	Name string
	// Partial keeps the good rows of a file that has bad ones (they are
	// listed); by default such a file is refused whole.
	Partial bool
}

// ImportResult reports an import.
type ImportResult struct {
	Set string `json:"set"`
	// Rows is the size of the set now held.
	Rows int `json:"rows"`
	// RowErrors lists every bad row, by line.
	RowErrors []string `json:"row_errors,omitempty"`
	// Version is the new master data version.
	Version string `json:"version,omitempty"`
}

// setSize returns the number of entries of one set of d.
func setSize(d *master.Data, set string) int {
	c := d.Counts()
	return map[string]int{"catalogue": c.Catalogue, "recalls": c.Recalls, "lots": c.LotStatuses,
		"settlements": c.Settlements, "schedules": c.Schedules, "par": c.ParLevels}[set]
}

// Import replaces one set of the master data with the rows read from r,
// storing the whole new data beside the ledger before using it: a failed
// import leaves both as they were. It and ApplyCentral are the one way
// master data change, one at a time.
func (g *Gateway) Import(ctx context.Context, set string, r io.Reader, opt ImportOptions) (ImportResult, error) {
	res := ImportResult{Set: set}
	version := g.cfg.Now().UTC().Format("20060102T150405Z") + "-" + set
	if opt.Name != "" {
		version += "-" + filepath.Base(opt.Name)
	}
	_, err := g.changeMaster(set, func(cur *master.Data) (*master.Data, error) {
		d, rowErrs, err := cur.WithSet(version, set, opt.Format, r, 0)
		for i := range rowErrs {
			res.RowErrors = append(res.RowErrors, rowErrs[i].Error())
		}
		if err != nil {
			return nil, err
		}
		if len(rowErrs) > 0 && !opt.Partial {
			return nil, &BadRowsError{Set: set, Rows: res.RowErrors}
		}
		res.Rows = setSize(d, set)
		return d, nil
	})
	if err != nil {
		return res, err
	}
	res.Version = version
	return res, nil
}

// ApplyCentral applies one master data set published by the central
// service: every row must parse (a payload with one bad row is rejected
// whole: the centre's data must not be half-applied), the version must be
// newer than the one held, and the new set is stored before it is used.
func (g *Gateway) ApplyCentral(set, format string, data []byte, version uint64) error {
	_, err := g.changeMaster(set, func(cur *master.Data) (*master.Data, error) {
		if held := cur.SetVersion(set); version <= held {
			return nil, fmt.Errorf("%w: %s version %d, holding %d", ErrStaleMaster, set, version, held)
		}
		name := fmt.Sprintf("central %s v%d", set, version)
		d, rowErrs, err := cur.WithSet(name, set, format, strings.NewReader(string(data)), version)
		if err != nil {
			return nil, fmt.Errorf("master data %s version %d rejected: %w", set, version, err)
		}
		if len(rowErrs) > 0 {
			return nil, fmt.Errorf("master data %s version %d rejected: %d bad row(s), first %s", set, version, len(rowErrs), rowErrs[0].Error())
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
	if err := g.masters.SaveMaster(d); err != nil {
		return nil, err
	}
	g.master.Replace(d)
	g.damaged = slices.DeleteFunc(g.damaged, func(s string) bool { return s == set })
	return d, nil
}

// MasterVersion returns the master data's version, the size of each set,
// and the sets found damaged when the data were loaded.
func (g *Gateway) MasterVersion() (version string, counts master.Counts, damaged []string) {
	d := g.master.Load()
	g.importMu.Lock()
	damaged = append(damaged, g.damaged...)
	g.importMu.Unlock()
	return d.Version, d.Counts(), damaged
}
