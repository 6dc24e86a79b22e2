package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/agent/national"
	"github.com/udi-edge/udi-edge/agent/nhsa"
	"github.com/udi-edge/udi-edge/agent/udid"
)

// National sources ImportNational reads.
const (
	// SourceUDID is the NMPA UDI database: its bulk download (ZIP, nested
	// ZIPs, XML parts) or the data-sharing API's JSON pages saved as files.
	SourceUDID = "udid"
	// SourceNHSA is the NHSA consumables catalogue (interface 1306, tab
	// separated, with or without its header), or a code release workbook
	// saved as CSV (national code ↔ UDI-DI, old code → 27-character code).
	SourceNHSA = "nhsa"
)

// Catalogue returns the catalogue the gateway holds.
func (g *Gateway) Catalogue(context.Context) ([]master.CatalogueEntry, error) {
	return g.master.Load().Catalogue(), nil
}

// Cataloguer is what ImportNational needs of a gateway: its catalogue and
// the import of a new one. A Gateway and the local API's client both are.
type Cataloguer interface {
	Catalogue(ctx context.Context) ([]master.CatalogueEntry, error)
	Import(ctx context.Context, set string, r io.Reader, opt ImportOptions) (ImportResult, error)
}

// NationalOptions say how ImportNational joins a national file.
type NationalOptions struct {
	// All adds every product the file describes (at most
	// national.DefaultMaxEntries); by default only the products of the
	// gateway's catalogue are brought up to date, with their packages and
	// units of use.
	All bool
	// Partial keeps going past a bad record of a product the gateway
	// stocks (a UDID record) or past bad rows (an NHSA file); by default
	// either refuses the file, naming the record or row.
	Partial bool
	// TempDir is where nested ZIPs too large for memory are unpacked
	// ("" the system's).
	TempDir string
}

// NationalResult reports ImportNational.
type NationalResult struct {
	ImportResult
	// Join says what the join read and did.
	Join national.JoinStats `json:"join"`
	// Repairs counts the XML dirt repaired (UDID).
	Repairs int64 `json:"repairs,omitempty"`
}

// ImportNational reads a national file (SourceUDID or SourceNHSA) at path
// on this machine, streaming it in bounded memory, joins it with g's
// catalogue (national.Join: the hospital's fields stay, the national ones
// are refreshed) and imports the result as g's catalogue, through the one
// path every catalogue takes (Import: the same checks, stored before it
// is used). g may be a running agent's API client: the file is read here,
// and only the catalogue crosses to the agent.
func ImportNational(ctx context.Context, g Cataloguer, source, path string, opt NationalOptions) (NationalResult, error) {
	var res NationalResult
	if st, err := os.Stat(path); err != nil {
		return res, err
	} else if !st.Mode().IsRegular() {
		return res, fmt.Errorf("%s is not a regular file", path)
	}
	cur, err := g.Catalogue(ctx)
	if err != nil {
		return res, err
	}
	j := national.NewJoin(cur)
	j.All, j.Partial = opt.All, opt.Partial
	switch source {
	case SourceUDID:
		r := &udid.Reader{Problem: j.Problem, TempDir: opt.TempDir}
		st, err := r.Open(path, func(d udid.Device) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return j.Device(d)
		})
		res.Repairs = st.Repairs.Total()
		if err != nil {
			return res, err
		}
	case SourceNHSA:
		f, err := os.Open(path)
		if err != nil {
			return res, err
		}
		defer f.Close()
		// A 1306 catalogue, or a code release workbook saved as CSV: the
		// workbook's header is no catalogue's.
		_, err = nhsa.ReadCatalogue(f, filepath.Base(path), nhsa.Options{SkipBadRows: opt.Partial}, j.NHSA)
		if errors.Is(err, nhsa.ErrHeader) {
			if _, serr := f.Seek(0, io.SeekStart); serr != nil {
				return res, serr
			}
			j = national.NewJoin(cur)
			j.All, j.Partial = opt.All, opt.Partial
			if _, err2 := nhsa.ReadSpecs(f, filepath.Base(path), nhsa.Options{SkipBadRows: opt.Partial}, j.Spec); err2 != nil {
				return res, fmt.Errorf("%w; read as a code release workbook: %w", err, err2)
			}
			err = nil
		}
		if err != nil {
			return res, err
		}
	default:
		return res, fmt.Errorf("%q: want a national source, %s or %s", source, SourceUDID, SourceNHSA)
	}
	res.Join = j.Stats()
	entries := j.Entries()
	if len(entries) == 0 {
		return res, errors.New(source + ": the catalogue would be empty: import the hospital's catalogue first, or add every product with all")
	}
	var b bytes.Buffer
	if err := master.WriteCatalogueJSON(&b, entries); err != nil {
		return res, err
	}
	res.ImportResult, err = g.Import(ctx, "catalogue", &b, ImportOptions{Format: master.FormatJSON, Name: source + "-" + filepath.Base(path)})
	return res, err
}
