package central

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/audit"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/insurance"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// SiteReconcileFees reconciles the fee detail of a site's visits
// (interface 2301, as core.ReadFeeFiles reads it) with the uses recorded
// on every gateway of site, read as SiteAnomalies reads them: a visit's
// lines (mdtrt_id) with the uses that stand in the case of that id on
// any gateway (audit.Auditor.ReconcileFees). data must hold the
// catalogue: the national code of an item used is the catalogue's.
// mapCode applies the code release tables; nil compares codes as billed.
func SiteReconcileFees(ctx context.Context, st Store, site string, data *master.Data, lines []insurance.FeeLine, mapCode insurance.CodeMapper) ([]insurance.Finding, error) {
	if data == nil || data.Counts().Catalogue == 0 {
		return nil, fmt.Errorf("%w: no catalogue: the national codes of the items used are unknown", ErrInvalid)
	}
	a := &audit.Auditor{Data: data}
	if err := siteMovements(ctx, st, site, func(m agent.Movement) { a.Add(m) }); err != nil {
		return nil, err
	}
	return a.ReconcileFees(lines, mapCode), nil
}

// FeeFindingsResponse is the body of POST /v1/reconcile/fees: what
// differs between a fee-detail file and the uses of the site's
// gateways.
type FeeFindingsResponse struct {
	Site     string              `json:"site"`
	Findings []insurance.Finding `json:"findings"`
}

// FieldCatalogue is the form field of the catalogue in POST
// /v1/reconcile/fees: a file of the catalogue set, .csv or .json.
const FieldCatalogue = wire.SetCatalogue

func (s *Service) serveReconcileFees(w http.ResponseWriter, r *http.Request) {
	site, ok := s.auditSite(w, r)
	if !ok {
		return
	}
	var data *master.Data
	var tables []core.ReleaseTable
	var found []insurance.Finding
	err := api.ReadForm(r, api.FieldFees, "fees", func(p api.Part) error {
		switch p.Field {
		case FieldCatalogue:
			format := strings.ToLower(strings.TrimPrefix(filepath.Ext(p.File), "."))
			if format != wire.FormatCSV && format != wire.FormatJSON {
				return fmt.Errorf("%w: the catalogue's file name %q: want .csv or .json", ErrInvalid, p.File)
			}
			var err error
			if data, _, err = (*master.Data)(nil).Import(wire.SetCatalogue, p.Body, master.ImportOptions{Format: format}); err != nil {
				return fmt.Errorf("%w: catalogue %s: %w", ErrInvalid, p.File, err)
			}
			return nil
		case core.TableWithdrawn, core.TableTranscode:
			tables = append(tables, core.ReleaseTable{Kind: p.Field, Name: p.File, File: p.Body})
			return nil
		case api.FieldFees:
			lines, mapCode, err := core.ReadFeeFiles(r.Context(), p.Body, p.File, r.URL.Query().Get("format"), core.FeeOptions{Tables: tables})
			if err != nil {
				return err
			}
			found, err = SiteReconcileFees(r.Context(), s.store, site, data, lines, mapCode)
			return err
		}
		return fmt.Errorf("%w: form field %q: want %s, %s, %s or %s", ErrInvalid, p.Field, FieldCatalogue, core.TableWithdrawn, core.TableTranscode, api.FieldFees)
	})
	var ae *api.Error
	var bad *master.BadRowsError
	var mbe *http.MaxBytesError
	fe := api.FeeError(err)
	switch {
	case err == nil:
		if found == nil {
			found = []insurance.Finding{}
		}
		writeJSON(w, http.StatusOK, FeeFindingsResponse{Site: site, Findings: found})
	case errors.As(err, &bad):
		writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: err.Error(), Rows: rowStrings(bad.Rows)})
	case fe != nil:
		writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: fe.ErrorResponse.Error, Rows: fe.RowErrors})
	case errors.As(err, &ae), errors.Is(err, ErrInvalid):
		writeError(w, http.StatusBadRequest, err)
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("the files are larger than %d bytes", mbe.Limit))
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, errors.New("the reconciliation did not complete within the request's deadline"))
	default:
		s.log.Error("reconciliation of fees failed", "site", site, "err", err)
		writeError(w, http.StatusInternalServerError, errors.New("the reconciliation failed"))
	}
}
