package core_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/master"
)

// openCore opens a ledger at path and the core over it.
func openCore(t *testing.T, path string) (*core.Gateway, *bolt.Ledger) {
	t.Helper()
	l, err := bolt.Open(bolt.Options{Path: path, Gateway: "gw-1"})
	if err != nil {
		t.Fatal(err)
	}
	g, err := core.New(core.Config{}, core.Deps{Store: l, Master: l})
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	return g, l
}

// TestApplyCentral applies master data as the centre publishes it: a newer
// set is stored in the ledger file before it is used and survives a
// restart; a payload with one bad row, or one not newer than the set held,
// changes nothing.
func TestApplyCentral(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	g, l := openCore(t, path)
	recalls := "gtin,lots,reason,date\n06901234200010,B1;B2,sterile barrier,2026-11-01\n"
	if err := g.ApplyCentral("recalls", "csv", []byte(recalls), 3); err != nil {
		t.Fatal(err)
	}
	if _, ok := g.Master().Recalled("06901234200010", "B2", ""); !ok || g.Master().SetVersion("recalls") != 3 {
		t.Fatalf("recall not applied: version %d", g.Master().SetVersion("recalls"))
	}
	bad := recalls + "06901234200011,B3,typo in the check digit,2026-11-02\n"
	err := g.ApplyCentral("recalls", "csv", []byte(bad), 4)
	if err == nil || !strings.Contains(err.Error(), "1 of 2 rows bad, the file is refused whole") || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("a payload with a bad row: %v", err)
	}
	if g.Master().SetVersion("recalls") != 3 || g.Master().Counts().Recalls != 1 {
		t.Fatal("a rejected payload changed the data held")
	}
	if err := g.ApplyCentral("recalls", "csv", nil, 3); !errors.Is(err, core.ErrStaleMaster) {
		t.Fatalf("same version again: %v", err)
	}
	sched := `[{"case":"C-1","room":"OR-3","start":"2026-11-25T08:00:00+08:00","end":"2026-11-25T10:00:00+08:00"}]`
	if err := g.ApplyCentral("schedules", "json", []byte(sched), 1); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// A gateway restarted offline has its last known data.
	g, l = openCore(t, path)
	defer l.Close()
	d := g.Master()
	if d.SetVersion("recalls") != 3 || d.SetVersion("schedules") != 1 || d.Counts().Schedules != 1 {
		t.Fatalf("after a restart: recalls v%d, schedules v%d (%d)", d.SetVersion("recalls"), d.SetVersion("schedules"), d.Counts().Schedules)
	}
	if _, ok := d.Recalled("06901234200010", "B1", ""); !ok {
		t.Fatal("the recall did not survive a restart")
	}
}

// The ledger is the core's store and keeps its master data.
var (
	_ core.Store       = (*bolt.Ledger)(nil)
	_ core.MasterStore = (*bolt.Ledger)(nil)
)

// TestApplyCentralVersionAhead: versions are the centre's publication
// times in milliseconds. One more than a day ahead of the gateway's clock
// is refused; one held that far ahead (forged, or applied before the
// rule) is replaced by a real one, which is then held as any other.
func TestApplyCentralVersionAhead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	ms := uint64(now.UnixMilli())
	recalls := "gtin,lots,reason,date\n06901234200010,B1;B2,sterile barrier,2026-11-01\n"

	// A ledger holding recalls at the largest version, as a forged
	// publication left it before the rule.
	l, err := bolt.Open(bolt.Options{Path: path, Gateway: "gw-1"})
	if err != nil {
		t.Fatal(err)
	}
	forged, _, err := (*master.Data)(nil).Import("recalls", strings.NewReader(recalls), master.ImportOptions{Format: "csv", SetVersion: 1<<63 - 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SaveMaster(forged, "recalls"); err != nil {
		t.Fatal(err)
	}
	l.Close()

	l, err = bolt.Open(bolt.Options{Path: path, Gateway: "gw-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	g, err := core.New(core.Config{Now: func() time.Time { return now }}, core.Deps{Store: l, Master: l})
	if err != nil {
		t.Fatal(err)
	}
	if v := g.Master().SetVersion("recalls"); v != 1<<63-1 {
		t.Fatalf("held version %d", v)
	}
	day := uint64(24 * time.Hour / time.Millisecond)
	for _, v := range []uint64{ms + day + 1, 1<<63 - 1} {
		if err := g.ApplyCentral("lots", "csv", []byte("gtin,lot,status\n"), v); !errors.Is(err, core.ErrFutureMaster) {
			t.Fatalf("version %d: %v", v, err)
		}
	}
	if err := g.ApplyCentral("recalls", "csv", []byte(recalls), ms); err != nil {
		t.Fatalf("a real version over a held one ahead of the clock: %v", err)
	}
	if v := g.Master().SetVersion("recalls"); v != ms {
		t.Fatalf("held version %d, want %d", v, ms)
	}
	if err := g.ApplyCentral("recalls", "csv", []byte(recalls), ms-1); !errors.Is(err, core.ErrStaleMaster) {
		t.Fatalf("an older version after it: %v", err)
	}
	if err := g.ApplyCentral("recalls", "csv", []byte(recalls), ms+day); err != nil {
		t.Fatalf("a version a day ahead: %v", err)
	}
}
