package central

import (
	"context"
	"fmt"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/audit"
	"github.com/udi-edge/udi-edge/agent/master"
)

// siteAuditor feeds every movement of site's gateways, read as one life
// (siteMovements), to an auditor over data.
func siteAuditor(ctx context.Context, st Store, site string, data *master.Data) (*audit.Auditor, error) {
	if data == nil || data.Counts().Catalogue == 0 {
		return nil, fmt.Errorf("%w: no catalogue to price and describe the items with", ErrInvalid)
	}
	a := &audit.Auditor{Data: data}
	if err := siteMovements(ctx, st, site, func(m agent.Movement) { a.Add(m) }); err != nil {
		return nil, err
	}
	return a, nil
}

// SiteCaseCost returns what a case's consumables cost, their uses read on
// every gateway of site (audit.Auditor.CaseCost), priced from data's
// catalogue, against the payment standard of data's schedules.
func SiteCaseCost(ctx context.Context, st Store, site, caseID string, data *master.Data) (audit.CaseCost, error) {
	a, err := siteAuditor(ctx, st, site, data)
	if err != nil {
		return audit.CaseCost{}, err
	}
	return a.CaseCost(caseID), nil
}

// SiteImplants returns the implant record of patient ("" every patient)
// across every gateway of site (audit.Auditor.Implants).
func SiteImplants(ctx context.Context, st Store, site, patient string, data *master.Data) ([]audit.ImplantRecord, error) {
	a, err := siteAuditor(ctx, st, site, data)
	if err != nil {
		return nil, err
	}
	return a.Implants(patient), nil
}
