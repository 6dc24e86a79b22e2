package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/core"
)

// TestCasesOverTheAPI: a case's cost, the implant record, the
// procurement report and the catalogue through the local API, asked as
// the commands ask a running agent.
func TestCasesOverTheAPI(t *testing.T) {
	s := serve(t, api.Limits{})
	ctx := context.Background()
	cat := "gtin,name,unit_price,implant,generic_name,procurement,agreed_volume\n" +
		"09520123456788,hip stem,6850.00,true,髋关节,true,40\n"
	if _, err := s.client.Import(ctx, "catalogue", strings.NewReader(cat), core.ImportOptions{Format: "csv"}); err != nil {
		t.Fatal(err)
	}
	sched := "case,patient,room,start,end,group,payment_standard,surgeon,record_no\n" +
		"K1,P1,OR-3,2026-12-06T08:00:00Z,2026-12-06T12:00:00Z,IC29,52000.00,Dr Li,BA-1\n"
	if _, err := s.client.Import(ctx, "schedules", strings.NewReader(sched), core.ImportOptions{Format: "csv"}); err != nil {
		t.Fatal(err)
	}
	// No use yet: an empty case, no implant, nothing used.
	c, err := s.client.CaseCost(ctx, "K1")
	if err != nil || len(c.Lines) != 0 || c.Group != "IC29" || c.Standard != 5200000 {
		t.Fatalf("cost %+v %v", c, err)
	}
	rs, err := s.client.Implants(ctx, "P1")
	if err != nil || len(rs) != 0 {
		t.Fatalf("implants %+v %v", rs, err)
	}
	ls, err := s.client.Procurement(ctx, time.Time{}, time.Time{})
	if err != nil || len(ls) != 1 || ls[0].Agreed != 40 || ls[0].Used != 0 {
		t.Fatalf("procurement %+v %v", ls, err)
	}
	entries, err := s.client.Catalogue(ctx)
	if err != nil || len(entries) != 1 || entries[0].GenericName != "髋关节" || !entries[0].Procurement || entries[0].AgreedVolume != 40 {
		t.Fatalf("catalogue %+v %v", entries, err)
	}
	if _, err := s.client.CaseCost(ctx, ""); err == nil {
		t.Error("a case cost without a case")
	}
}
