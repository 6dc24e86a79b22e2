package core

import (
	"context"
	"errors"

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
