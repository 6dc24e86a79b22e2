package bolt

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/agent/testkit"
)

// openMaintained opens a ledger with its maintenance configured by r
// (the loop itself idle: the tests call Maintain), logging into the
// returned buffer.
func openMaintained(t *testing.T, r Retention) (*Ledger, *testkit.LogBuffer) {
	t.Helper()
	var buf testkit.LogBuffer
	if r.Every == 0 {
		r.Every = time.Hour
	}
	r.Folds = stockFolds
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := Open(Options{Path: path, Gateway: testGateway, Retention: &r, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		checkFile(t, path)
	})
	return l, &buf
}

// TestMaintainHorizon: movements older than the horizon and acknowledged
// leave at the next look, with the horizon as the anchor's reason; a cut
// is not made again for a few movements.
func TestMaintainHorizon(t *testing.T) {
	now := orStart.AddDate(0, 0, 60)
	l, _ := openMaintained(t, Retention{Horizon: 30 * 24 * time.Hour, CompactFree: -1, Now: func() time.Time { return now }})
	sim := newORSim(t, l, 8)
	sim.runDays(60)
	ctx := context.Background()
	if rep, err := l.Maintain(ctx); err != nil || rep.Compacted != nil {
		t.Fatalf("nothing acknowledged, yet: %+v %v", rep, err)
	}
	if err := l.SetSyncCursor(l.LastSeq()); err != nil {
		t.Fatal(err)
	}
	rep, err := l.Maintain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Why != "horizon" || rep.Compacted == nil || rep.Compacted.Anchor == nil {
		t.Fatalf("Maintain: %+v", rep)
	}
	a := rep.Compacted.Anchor
	first, err := l.Get(a.Seq)
	if err != nil || first.Time.Before(now.AddDate(0, 0, -30)) || !strings.Contains(a.Reason, "older than 30d") {
		t.Fatalf("anchor %+v: its movement recorded %s, %v", a, first.Time, err)
	}
	if rep, err := l.Maintain(ctx); err != nil || rep.Compacted != nil {
		t.Fatalf("a second look cut again: %+v %v", rep, err)
	}
}

// TestMaintainBudget: past 80% of the disk budget the ledger warns; at
// the budget it cuts acknowledged movements sooner than their horizon;
// with nothing acknowledged it says so at error level and goes on
// recording every scan.
func TestMaintainBudget(t *testing.T) {
	l, logs := openMaintained(t, Retention{CompactFree: -1})
	submitBurst(t, l, "s", 0, 30000)
	ctx := context.Background()
	size := fileSize(t, l.Path())

	l.maint.cfg.MaxBytes = size * 11 / 10 // past 80%, under 100%
	rep, err := l.Maintain(ctx)
	if err != nil || !rep.Budget.Warn || rep.Budget.Over || rep.Compacted != nil {
		t.Fatalf("at %d of %d: %+v %v", size, l.maint.cfg.MaxBytes, rep.Budget, err)
	}
	if !strings.Contains(logs.String(), "level=WARN msg=\"ledger nearing its disk budget\"") {
		t.Fatalf("no warning near the budget:\n%s", logs)
	}

	// At the budget, nothing acknowledged: nothing leaves, every scan
	// is still recorded, and the log says why at error level.
	l.maint.cfg.MaxBytes = size * 9 / 10
	l.maint.warned = rateLog{interval: time.Hour}
	rep, err = l.Maintain(ctx)
	if err != nil || !rep.Budget.Over || rep.Compacted != nil {
		t.Fatalf("over the budget with nothing acknowledged: %+v %v", rep, err)
	}
	if _, err := l.Append(ctx, movementN("after", 0)); err != nil {
		t.Fatalf("a scan over the budget: %v", err)
	}
	if !strings.Contains(logs.String(), "level=ERROR msg=\"ledger at its disk budget") {
		t.Fatalf("no error at the budget:\n%s", logs)
	}

	// Acknowledged: they leave, before any horizon, the movement
	// acknowledged last and all after it staying.
	cursor := uint64(25000)
	if err := l.SetSyncCursor(cursor); err != nil {
		t.Fatal(err)
	}
	rep, err = l.Maintain(ctx)
	if err != nil || rep.Why != "budget" || rep.Compacted == nil || rep.Compacted.Anchor == nil {
		t.Fatalf("over the budget, acknowledged: %+v %v", rep, err)
	}
	if a := rep.Compacted.Anchor; a.Seq > cursor || rep.Compacted.Removed == 0 || !strings.Contains(a.Reason, "disk budget") {
		t.Fatalf("budget cut: %+v", rep.Compacted)
	}
	for seq := cursor; seq <= l.LastSeq(); seq++ {
		if _, err := l.Get(seq); err != nil {
			t.Fatalf("movement %d gone after a budget cut: %v", seq, err)
		}
	}
	if used := dataSize(t, l); used >= size {
		t.Fatalf("%d bytes in use after the budget cut, the file was %d", used, size)
	}
}

// TestMaintainFreePages: once bbolt holds a quarter of the file free,
// the ledger compacts it.
func TestMaintainFreePages(t *testing.T) {
	l, _ := openMaintained(t, Retention{})
	submitBurst(t, l, "s", 0, 1000)
	ctx := context.Background()
	if rep, err := l.Maintain(ctx); err != nil || rep.Compacted != nil {
		t.Fatalf("compacted with few free pages: %+v %v", rep, err)
	}
	saveBigCatalogue(t, l, 100000)
	if err := l.SaveMaster(new(master.Data)); err != nil {
		t.Fatal(err)
	}
	before := fileSize(t, l.Path())
	rep, err := l.Maintain(ctx)
	if err != nil || rep.Why != "free pages" || rep.Compacted == nil || rep.Compacted.After >= before {
		t.Fatalf("Maintain with %d of %d bytes free: %+v %v", rep.Budget.Free, before, rep, err)
	}
}

// TestMaintenanceLoop: a ledger opened with Retention looks after itself
// every Every, and Close stops it.
func TestMaintenanceLoop(t *testing.T) {
	now := orStart.AddDate(0, 0, 40)
	l, _ := openMaintained(t, Retention{Horizon: 10 * 24 * time.Hour, Every: 20 * time.Millisecond, Now: func() time.Time { return now }})
	sim := newORSim(t, l, 4)
	sim.runDays(40)
	if err := l.SetSyncCursor(l.LastSeq()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the maintenance loop cut the ledger", func() bool {
		_, ok, _ := l.Anchor()
		return ok
	})
}

// TestMapLimit: on a 32-bit machine a ledger file bbolt cannot map is
// refused at open with what to do, and one past 1 GiB is warned about.
func TestMapLimit(t *testing.T) {
	for _, c := range []struct {
		size       int64
		is32, warn bool
		refused    bool
	}{
		{100 << 20, true, false, false},
		{1<<30 + 1, true, true, false},
		{2 << 30, true, true, true},
		{8 << 30, false, false, false},
	} {
		warn, err := checkMapLimit("ledger.db", c.size, c.is32)
		if warn != c.warn || errors.Is(err, ErrMapLimit) != c.refused {
			t.Errorf("size %d, 32-bit %v: warn %v, err %v", c.size, c.is32, warn, err)
		}
	}
	if !Is32Bit() {
		return
	}
	// This build is 32-bit (GOARCH=arm under qemu in CI): Open itself.
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := Open(Options{Path: path, Gateway: testGateway})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(context.Background(), movementN("a", 0)); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if err := os.Truncate(path, 2<<30); err != nil { // sparse
		t.Fatal(err)
	}
	_, err = Open(Options{Path: path, Gateway: testGateway})
	var me *MapLimitError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "compact it with retention") {
		t.Fatalf("Open of a 2 GiB ledger on 32-bit: %v", err)
	}
	t.Logf("32-bit: Open of a 2 GiB ledger refused: %v", err)
}
