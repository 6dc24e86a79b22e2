package lifecycle

import (
	"testing"
	"time"
)

// TestUnitReadsKeysAsSplitKey: a key names one item by the rule of
// code.SplitKey, for MA keys too: an MA lot or a bare DI names many items.
func TestUnitReadsKeysAsSplitKey(t *testing.T) {
	const di = "MA.156.M0.100761.21234561"
	for key, want := range map[string]bool{
		"(01)09506000134352(21)1": true, "(01)09506000134352(10)L1": false, "(01)09506000134352": false,
		"+A123BJC5D61/S77": true, "+A123BJC5D61/$L1": false, "+A123BJC5D61": false,
		di + ".Sx00008": true, di + ".L2201": false, di: false,
		"urn:epc:raw:96.xE28011600000000000000001": true, "": false,
	} {
		if got := Unit(key); got != want {
			t.Errorf("Unit(%q) = %v, want %v", key, got, want)
		}
	}
}

// TestDaysLeft: calendar days in now's zone, expired from the end of the
// day (or of the hour a label gives); what is not a date is not read.
func TestDaysLeft(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	now := time.Date(2026, 11, 24, 16, 30, 0, 0, cst)
	for _, c := range []struct {
		expiry  string
		days    int
		expired bool
		ok      bool
	}{
		{"2026-11-24", 0, false, true},
		{"2026-11-23", -1, true, true},
		{"2026-12-24", 30, false, true},
		{"2026-11-24T16", 0, false, true},
		{"2026-11-24T15", 0, true, true},
		{"2026-02-30", 0, false, false},
		{"", 0, false, false},
	} {
		days, expired, ok := DaysLeft(c.expiry, now)
		if days != c.days || expired != c.expired || ok != c.ok {
			t.Errorf("DaysLeft(%q) = %d %v %v, want %d %v %v", c.expiry, days, expired, ok, c.days, c.expired, c.ok)
		}
	}
	// The same instant is already the 25th in Shanghai, still the 24th in UTC.
	if days, expired, _ := DaysLeft("2026-11-24", time.Date(2026, 11, 24, 17, 0, 0, 0, time.UTC).In(cst)); days != -1 || !expired {
		t.Errorf("Shanghai: %d %v", days, expired)
	}
}
