package bolt

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"
)

// Defaults of Retention.
const (
	// DefaultRetention is the horizon past which acknowledged movements
	// leave the ledger: 400 days. The stock keeps 366 days of uses for
	// the forecasts (agent/stock DemandDays), which a cut at 400 days
	// leaves whole, and a month more keeps last year's same month on the
	// gateway for an audit made a few weeks after it. The ledger is not
	// the archive: the centre keeps every movement.
	DefaultRetention = 400 * 24 * time.Hour
	// DefaultCompactFree is the share of the file bbolt holds free at
	// which the ledger is compacted.
	DefaultCompactFree = 0.25
	// DefaultBudgetWarn is the share of the disk budget at which the
	// ledger warns.
	DefaultBudgetWarn = 0.8
	// DefaultMaintainEvery is how often the ledger looks at its size,
	// its free pages and its horizon.
	DefaultMaintainEvery = 10 * time.Minute
	// retainMinShare is the share of the movements kept in sequence a
	// cut by age must take out to be worth a compaction (a busy gateway
	// at a 400-day horizon: about every 20 days).
	retainMinShare = 0.05
	// compactMinFree is the least free space worth a compaction.
	compactMinFree = 4 << 20
)

// Retention configures the ledger's own maintenance (see Anchor and
// Compact): every Every it looks at its file and, when due, compacts it,
// cutting what retention lets go.
//
// A cut by age is due once the movements that are older than Horizon
// and acknowledged by the centre (the sync cursor) make up 5% of those
// kept in sequence; compaction alone once bbolt holds CompactFree of the
// file free. Past BudgetWarn of MaxBytes the ledger warns (log, Budget);
// at MaxBytes it cuts sooner: acknowledged movements leave whatever
// their age, the oldest first, until the file would be back under
// BudgetWarn. Movements the centre has not acknowledged never leave: a
// gateway cut off from its centre goes on recording past its budget,
// saying so at error level, rather than refuse a scan.
type Retention struct {
	// Horizon is the age past which acknowledged movements leave; 0
	// keeps them (but for the disk budget).
	Horizon time.Duration
	// MaxBytes is the disk budget of the ledger file; 0 is none.
	MaxBytes int64
	// BudgetWarn is the share of MaxBytes at which the ledger warns; 0
	// is DefaultBudgetWarn.
	BudgetWarn float64
	// CompactFree is the share of the file free in bbolt at which it is
	// compacted; 0 is DefaultCompactFree, below 0 never.
	CompactFree float64
	// Every is how often the ledger looks; 0 is DefaultMaintainEvery.
	Every time.Duration
	// Folds says what a cut must carry (see Folds): the agent's is
	// agent/bolt/carry's.
	Folds Folds
	// Now replaces the wall clock in tests.
	Now func() time.Time
}

func (r Retention) withDefaults() Retention {
	if r.BudgetWarn <= 0 || r.BudgetWarn >= 1 {
		r.BudgetWarn = DefaultBudgetWarn
	}
	if r.CompactFree == 0 {
		r.CompactFree = DefaultCompactFree
	}
	if r.Every <= 0 {
		r.Every = DefaultMaintainEvery
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	return r
}

// Budget is what the ledger knows of its size against its disk budget.
type Budget struct {
	// Size is the file's size in bytes, Free how many of them bbolt holds
	// free, MaxBytes the budget (0: none).
	Size, Free, MaxBytes int64
	// Warn is set past the budget's warning share, Over at or past the
	// budget.
	Warn, Over bool
}

// maintenance is the loop of a ledger opened with Options.Retention.
type maintenance struct {
	cfg    Retention
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// warned limits the budget's log lines to one an hour.
	warned rateLog
}

// startMaintenance starts the loop.
func (l *Ledger) startMaintenance(r Retention) {
	ctx, cancel := context.WithCancel(context.Background())
	m := &maintenance{cfg: r.withDefaults(), cancel: cancel}
	m.warned.interval = time.Hour
	l.maint = m
	m.wg.Go(func() {
		t := time.NewTicker(m.cfg.Every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := l.Maintain(ctx); err != nil && ctx.Err() == nil {
				l.log.Error("ledger maintenance failed", "path", l.path, "err", err)
			}
		}
	})
}

// stopMaintenance ends the loop and waits for it (a compaction under
// way is cancelled).
func (l *Ledger) stopMaintenance() {
	if l.maint != nil && l.maint.cancel != nil {
		l.maint.cancel()
		l.maint.wg.Wait()
	}
}

// MaintainReport is what one look of the maintenance found and did.
type MaintainReport struct {
	Budget Budget
	// Compacted is set when it compacted the file, with what it did.
	Compacted *CompactSummary
	// Why says why it compacted: "horizon", "budget", "free pages".
	Why string
}

// Maintain looks at the ledger once as its maintenance loop does (see
// Retention) and compacts it when due. The loop calls it every
// Retention.Every; tests and commands may call it at any time. It does
// nothing on a ledger opened without Options.Retention.
func (l *Ledger) Maintain(ctx context.Context) (MaintainReport, error) {
	var rep MaintainReport
	if l.maint == nil || l.readOnly || l.refused != nil || l.gone.Load() != nil {
		return rep, nil
	}
	cfg := l.maint.cfg
	b, err := l.budget(cfg)
	if err != nil {
		return rep, err
	}
	rep.Budget = b
	l.logBudget(b, cfg)

	cut, why, err := l.dueCut(cfg, b, retainMinShare)
	if err != nil {
		return rep, err
	}
	if why == "" && cfg.CompactFree > 0 && b.Free >= compactMinFree && float64(b.Free) >= cfg.CompactFree*float64(b.Size) {
		why = "free pages"
	}
	if why == "" {
		return rep, nil
	}
	opt := CompactOptions{Cut: cut, Reason: cutReason(cfg, why), Folds: cfg.Folds, Now: cfg.Now()}
	sum, err := l.Compact(ctx, opt)
	if err != nil {
		return rep, err
	}
	rep.Compacted, rep.Why = &sum, why
	if b, err = l.budget(cfg); err == nil {
		rep.Budget = b
		if b.Over {
			l.log.Error("ledger over its disk budget after compaction: what is left is not acknowledged by the centre, or needed by the stock; every scan is still recorded",
				"path", l.path, "bytes", b.Size, "max_bytes", b.MaxBytes)
		}
	}
	return rep, nil
}

// cutReason is the anchor's Reason of a cut made for why.
func cutReason(cfg Retention, why string) string {
	switch why {
	case "horizon":
		return fmt.Sprintf("older than %s and acknowledged by the centre", formatHorizon(cfg.Horizon))
	case "budget":
		return fmt.Sprintf("the ledger reached its disk budget of %d MiB: acknowledged by the centre, taken out before their horizon", cfg.MaxBytes>>20)
	}
	return why
}

// RetainNow returns the cut retention r allows now on the ledger, and
// why ("horizon" or "budget"), 0 and "" when none: what `udi-edge
// compact` cuts. Unlike the maintenance loop it cuts however little is
// due.
func (l *Ledger) RetainNow(r Retention) (CompactOptions, error) {
	r = r.withDefaults()
	b, err := l.budget(r)
	if err != nil {
		return CompactOptions{}, err
	}
	cut, why, err := l.dueCut(r, b, 0)
	if err != nil || why == "" {
		return CompactOptions{}, err
	}
	return CompactOptions{Cut: cut, Reason: cutReason(r, why), Folds: r.Folds, Now: r.Now()}, nil
}

// budget measures the file.
func (l *Ledger) budget(cfg Retention) (Budget, error) {
	fi, err := os.Stat(l.path)
	if err != nil {
		return Budget{}, fmt.Errorf("bolt: maintain: %w", err)
	}
	b := Budget{Size: fi.Size(), MaxBytes: cfg.MaxBytes}
	l.swap.RLock()
	st, page := l.db.Stats(), l.db.Info().PageSize
	l.swap.RUnlock()
	b.Free = int64(st.FreePageN+st.PendingPageN) * int64(page)
	if cfg.MaxBytes > 0 {
		b.Warn = float64(b.Size) >= cfg.BudgetWarn*float64(cfg.MaxBytes)
		b.Over = b.Size >= cfg.MaxBytes
	}
	return b, nil
}

// logBudget warns, at most once an hour, past the budget's warning share.
func (l *Ledger) logBudget(b Budget, cfg Retention) {
	if !b.Warn {
		return
	}
	if ok, _ := l.maint.warned.allow(time.Now()); !ok {
		return
	}
	if b.Over {
		l.log.Error("ledger at its disk budget: acknowledged movements leave before their horizon", "path", l.path,
			"bytes", b.Size, "max_bytes", b.MaxBytes, "free_in_file", b.Free)
		return
	}
	l.log.Warn("ledger nearing its disk budget", "path", l.path, "bytes", b.Size, "max_bytes", b.MaxBytes,
		"percent", int(100*float64(b.Size)/float64(b.MaxBytes)), "free_in_file", b.Free)
}

// dueCut returns where a cut is due and why ("horizon", "budget"), ""
// when none is: a cut by age is due when it takes at least minShare of
// the movements kept in sequence.
func (l *Ledger) dueCut(cfg Retention, b Budget, minShare float64) (uint64, string, error) {
	cursor, err := l.SyncCursor()
	if err != nil || cursor == 0 {
		return 0, "", err
	}
	first, err := l.FirstSeq()
	if err != nil {
		return 0, "", err
	}
	last := l.last.Load()
	kept := last - first + 1
	// The movement the centre acknowledged last stays: its ack is
	// checked against it.
	limit := cursor
	var at uint64
	if cfg.Horizon > 0 {
		if at, err = l.firstAfter(first, last, cfg.Now().Add(-cfg.Horizon)); err != nil {
			return 0, "", err
		}
		at = min(at, limit)
	}
	if b.Over && limit > first {
		// Sooner: enough to bring the file back under the warning share,
		// at the bytes a movement takes in it now.
		per := float64(b.Size-b.Free) / float64(kept)
		need := uint64((float64(b.Size-b.Free) - cfg.BudgetWarn*float64(cfg.MaxBytes)) / per)
		if over := min(first+max(need, 1), limit); over > at {
			return over, "budget", nil
		}
	}
	if at > first && float64(at-first) >= minShare*float64(kept) {
		return at, "horizon", nil
	}
	return 0, "", nil
}

// firstAfter returns the first movement from first to last recorded at
// or after t, last+1 when none is: a binary search, the movements' times
// taken to grow with their sequence numbers (a clock set back makes a
// few movements leave a little early or late, never one unacknowledged).
func (l *Ledger) firstAfter(first, last uint64, t time.Time) (uint64, error) {
	lo, hi := first, last+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		m, err := l.Get(mid)
		if err != nil {
			return 0, err
		}
		if m.Time.Before(t) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// formatHorizon writes a horizon in days when it is whole days.
func formatHorizon(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// Budget measures the ledger file against its disk budget (MaxBytes of
// Options.Retention; none when the ledger was opened without it): for
// the status and the metrics.
func (l *Ledger) Budget() (Budget, error) {
	var cfg Retention
	if l.maint != nil {
		cfg = l.maint.cfg
	}
	return l.budget(cfg.withDefaults())
}
