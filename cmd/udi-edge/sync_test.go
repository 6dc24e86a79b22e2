package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// TestApplyMaster applies master data as the centre publishes it: a newer
// set is stored in the ledger file before it is used and survives a
// restart; a payload with one bad row, or one not newer than the set held,
// changes nothing.
func TestApplyMaster(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := bolt.Open(bolt.Options{Path: path, Gateway: "gw-1"})
	if err != nil {
		t.Fatal(err)
	}
	var st master.Store
	recalls := "gtin,lots,reason,date\n06901234200010,B1;B2,sterile barrier,2026-11-01\n"
	if err := applyMaster(l, &st, wire.NewMaster("recalls", 3, "csv", []byte(recalls))); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Load().Recalled("06901234200010", "B2", ""); !ok || st.Load().SetVersion("recalls") != 3 {
		t.Fatalf("recall not applied: version %d", st.Load().SetVersion("recalls"))
	}
	bad := recalls + "06901234200011,B3,typo in the check digit,2026-11-02\n"
	err = applyMaster(l, &st, wire.NewMaster("recalls", 4, "csv", []byte(bad)))
	if err == nil || !strings.Contains(err.Error(), "1 bad row(s), first line 3") {
		t.Fatalf("a payload with a bad row: %v", err)
	}
	if st.Load().SetVersion("recalls") != 3 || st.Load().Counts().Recalls != 1 {
		t.Fatal("a rejected payload changed the data held")
	}
	if err := applyMaster(l, &st, wire.NewMaster("recalls", 3, "csv", []byte(""))); !errors.Is(err, ErrStaleMaster) {
		t.Fatalf("same version again: %v", err)
	}
	sched := `[{"case":"C-1","room":"OR-3","start":"2026-11-25T08:00:00+08:00","end":"2026-11-25T10:00:00+08:00"}]`
	if err := applyMaster(l, &st, wire.NewMaster("schedules", 1, "json", []byte(sched))); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// A gateway restarted offline has its last known data.
	l, err = bolt.Open(bolt.Options{Path: path, Gateway: "gw-1"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var again master.Store
	if err := loadMaster(l, &again); err != nil {
		t.Fatal(err)
	}
	d := again.Load()
	if d.SetVersion("recalls") != 3 || d.SetVersion("schedules") != 1 || d.Counts().Schedules != 1 {
		t.Fatalf("after a restart: recalls v%d, schedules v%d (%d)", d.SetVersion("recalls"), d.SetVersion("schedules"), d.Counts().Schedules)
	}
	if _, ok := d.Recalled("06901234200010", "B1", ""); !ok {
		t.Fatal("the recall did not survive a restart")
	}
}
