package core_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/code"
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

// centralCatalogue returns a CSV catalogue of n products as the centre
// publishes one, about 85 bytes a row.
func centralCatalogue(t testing.TB, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	b.Grow(90 * (n + 1))
	b.WriteString("gtin,name,model,unit_price,high_value\n")
	for i := range n {
		g := fmt.Sprintf("0690123%06d", i)
		c, err := code.CheckDigit(g)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s%d,髋关节假体 股骨柄 陶瓷头 %06d,规格 %d号,%d.%02d,%s\n", g, c, i, i%40, 100+i%9000, i%100, [2]string{"否", "是"}[i%3/2])
	}
	return b.Bytes()
}

// TestApplyCentralKeepsNoData: the payload is read where it is and not
// kept: the uplink may reuse or drop it as soon as ApplyCentral returns,
// and the set held and stored is unchanged.
func TestApplyCentralKeepsNoData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	g, l := openCore(t, path)
	data := centralCatalogue(t, 300)
	if err := g.ApplyCentral("catalogue", "csv", data, 5); err != nil {
		t.Fatal(err)
	}
	want := g.Master().Catalogue()
	for i := range data {
		data[i] = '0'
	}
	if got := g.Master().Catalogue(); len(got) != 300 || !reflect.DeepEqual(got, want) || got[299].Name != "髋关节假体 股骨柄 陶瓷头 000299" {
		t.Fatalf("the set held changed with the payload's memory: %d entries", len(got))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	g, l = openCore(t, path)
	defer l.Close()
	if got := g.Master().Catalogue(); !reflect.DeepEqual(got, want) || g.Master().SetVersion("catalogue") != 5 {
		t.Fatalf("after a restart: %d entries, version %d", len(got), g.Master().SetVersion("catalogue"))
	}
}

// TestApplyCentralAllocations: applying a 100,000-row catalogue, every
// row checked and the set stored in the ledger before it is used,
// allocates a small multiple of the payload: the set held (about 1.7
// times it, its stored form with its index), one pass of the CSV reader,
// and bbolt's pages for the value it writes; nothing copies the payload,
// the entries or the stored value. The figure is the bytes allocated
// (TotalAlloc), which does not depend on when the collector runs. (The
// build before allocated 20 times the payload.)
func TestApplyCentralAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("applies a 100,000-row catalogue")
	}
	g, l := openCore(t, filepath.Join(t.TempDir(), "ledger.db"))
	defer l.Close()
	data := centralCatalogue(t, master.GoalCatalogue)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := g.ApplyCentral("catalogue", "csv", data, 1); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d rows, %.1f MiB: %.1f MiB allocated", g.Master().Counts().Catalogue, float64(len(data))/(1<<20), float64(alloc)/(1<<20))
	if limit := 4 * uint64(len(data)); alloc > limit {
		t.Errorf("applying %d bytes allocated %d, want at most %d", len(data), alloc, limit)
	}
}

// TestApplyCentralAfterDamagedCatalogue: a ledger whose stored
// catalogue does not decode (here: written in a later format) still
// starts; the catalogue is reported damaged, empty and without a
// central version, so that the centre's retained catalogue, whatever its
// version, is applied at the next connection and repairs it in the file.
func TestApplyCentralAfterDamagedCatalogue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	g, l := openCore(t, path)
	if err := g.ApplyCentral("catalogue", "csv", centralCatalogue(t, 20), 7); err != nil {
		t.Fatal(err)
	}
	values, _, err := l.MasterSets()
	if err != nil {
		t.Fatal(err)
	}
	later := bytes.Clone(values["catalogue"])
	later[4]++ // the format byte after "UDIS"
	if err := l.PutMasterSets(map[string][]byte{"catalogue": later}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	g, l = openCore(t, path)
	_, counts, damaged := g.MasterVersion()
	if !reflect.DeepEqual(damaged, []string{"catalogue"}) || counts.Catalogue != 0 || g.Master().SetVersion("catalogue") != 0 {
		t.Fatalf("a later format loaded: damaged %v, %+v, version %d", damaged, counts, g.Master().SetVersion("catalogue"))
	}
	if err := g.ApplyCentral("catalogue", "csv", centralCatalogue(t, 20), 7); err != nil {
		t.Fatalf("the retained catalogue again: %v", err)
	}
	if _, counts, damaged := g.MasterVersion(); damaged != nil || counts.Catalogue != 20 {
		t.Fatalf("after the centre's catalogue: damaged %v, %+v", damaged, counts)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	g, l = openCore(t, path)
	defer l.Close()
	if _, counts, damaged := g.MasterVersion(); damaged != nil || counts.Catalogue != 20 || g.Master().SetVersion("catalogue") != 7 {
		t.Fatalf("after a restart: damaged %v, %+v", damaged, counts)
	}
}

// TestStatusWhileAnImportReads: the status is answered while an import
// is still reading its file (a client sending it slowly, for up to its
// deadline), and the import then goes on.
func TestStatusWhileAnImportReads(t *testing.T) {
	g, l := openCore(t, filepath.Join(t.TempDir(), "ledger.db"))
	defer l.Close()
	pr, pw := io.Pipe()
	imported := make(chan error, 1)
	go func() {
		_, err := g.Import(context.Background(), "catalogue", pr, core.ImportOptions{Format: "csv"})
		imported <- err
	}()
	// The header is read: the import is under way, and its file is not
	// all there.
	if _, err := io.WriteString(pw, "gtin,name,unit_price\n"); err != nil {
		t.Fatal(err)
	}
	status := make(chan error, 1)
	go func() {
		_, err := g.Status(context.Background())
		status <- err
	}()
	select {
	case err := <-status:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the status waits for an import that is reading its file")
	}
	if _, err := io.WriteString(pw, "09520123456788,hip stem,6850.00\n"); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if err := <-imported; err != nil {
		t.Fatal(err)
	}
	if g.Master().Counts().Catalogue != 1 {
		t.Fatalf("catalogue after the import: %+v", g.Master().Counts())
	}
}
