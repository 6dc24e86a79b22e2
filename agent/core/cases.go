package core

import (
	"context"
	"errors"
	"time"

	"github.com/udi-edge/udi-edge/agent/audit"
)

// CaseCost returns what a case's consumables cost against its case
// payment (audit.Auditor.CaseCost), from the whole ledger.
func (g *Gateway) CaseCost(ctx context.Context, caseID string) (audit.CaseCost, error) {
	if caseID == "" {
		return audit.CaseCost{}, errors.New("no case given")
	}
	a, err := g.auditor(ctx, 0)
	if err != nil {
		return audit.CaseCost{}, err
	}
	return a.CaseCost(caseID), nil
}

// Implants returns the implant record of patient, or of every patient
// when patient is "" (audit.Auditor.Implants).
func (g *Gateway) Implants(ctx context.Context, patient string) ([]audit.ImplantRecord, error) {
	a, err := g.auditor(ctx, 0)
	if err != nil {
		return nil, err
	}
	return a.Implants(patient), nil
}

// Procurement returns the agreed against the used volumes of the
// products selected in volume-based procurement, and the use of the
// products not selected that share their generic names, over the uses
// recorded from from to to (audit.Auditor.Procurement).
func (g *Gateway) Procurement(ctx context.Context, from, to time.Time) ([]audit.VolumeLine, error) {
	a, err := g.auditor(ctx, 0)
	if err != nil {
		return nil, err
	}
	return a.Procurement(from, to), nil
}
