package main

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"

	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/insurance"
	"github.com/udi-edge/udi-edge/cmd/internal/fees"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// reconcileFees runs reconcile --fees: the service (its API) or the
// store's movements reconciled with the fee-detail file.
func reconcileFees(ctx context.Context, env *Env, sf *sourceFlags, site string, masters map[string]string, ff *fees.Flags, asJSON bool) error {
	catalogue, ok := masters[wire.SetCatalogue]
	if !ok {
		return usagef("--fees needs the catalogue: --master catalogue=FILE")
	}
	files, err := ff.Open()
	if err != nil {
		return err
	}
	defer files.Close()
	var found []insurance.Finding
	if sf.httpURL != "" {
		if len(masters) > 1 {
			return usagef("the service's API reconciles fees against the catalogue only: no other --master")
		}
		if _, err := formatOf(catalogue); err != nil {
			return err
		}
		cat, err := os.Open(catalogue)
		if err != nil {
			return err
		}
		defer cat.Close()
		parts := []api.Part{{Field: central.FieldCatalogue, File: filepath.Base(catalogue), Body: cat}}
		for _, t := range files.Tables {
			parts = append(parts, api.Part{Field: t.Kind, File: t.Name, Body: t.File})
		}
		parts = append(parts, api.Part{Field: api.FieldFees, File: files.Name, Body: files.Fees})
		body, ctype := api.FormBody(parts)
		defer body.Close()
		var r central.FeeFindingsResponse
		q := url.Values{"site": {site}, "format": {files.Format}}
		if err := sf.callType(ctx, http.MethodPost, "/v1/reconcile/fees?"+q.Encode(), ctype, body, &r); err != nil {
			return err
		}
		found = r.Findings
	} else {
		data, err := readMasterFiles(masters)
		if err != nil {
			return err
		}
		lines, mapCode, err := core.ReadFeeFiles(ctx, files.Fees, files.Name, files.Format, core.FeeOptions{Tables: files.Tables})
		if err != nil {
			return fees.Refused(env.Stderr, err)
		}
		st, err := sf.openStore()
		if err != nil {
			return err
		}
		defer st.Close()
		if found, err = central.SiteReconcileFees(ctx, st, site, data, lines, mapCode); err != nil {
			return err
		}
	}
	return fees.Print(env.Stdout, found, asJSON)
}
