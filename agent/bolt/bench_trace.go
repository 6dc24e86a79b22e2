package bolt

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/udi-edge/udi-edge/agent"
)

// GoalTrace is the most one item's trace may take (its median) in a
// ledger of GoalTraceMovements movements.
const (
	GoalTrace          = time.Millisecond
	GoalTraceMovements = 10_000_000
)

// TraceFigures are what BenchTrace measured.
type TraceFigures struct {
	// P50 and P99 time traces of random items on a freshly opened file:
	// every page a trace needs is touched for the first time, as when a
	// trace reaches an item nobody looked at since the agent started.
	P50, P99 time.Duration
	// WarmP50 and WarmP99 time the same traces again on the same mapping.
	WarmP50, WarmP99 time.Duration
	// LookupP99 is the floor measured on the same file: one bare bbolt
	// lookup of a random movement's batch, on a freshly opened file.
	LookupP99 time.Duration
}

// benchLife is the life of every benchmark item, one movement each.
var benchLife = [...]agent.Kind{agent.KindReceive, agent.KindStock, agent.KindIssue, agent.KindUse}

// BenchItemKey returns the item key of item i of a ledger BenchFillItems
// wrote.
func BenchItemKey(i int) string {
	return benchVariant(BenchMovement(), i, false).Item
}

// BenchFillItems writes a ledger at path with n movements (rounded down to
// a multiple of four): n/4 items, each received, stocked, issued and used,
// as a hospital's ledger holds them. Receipts and stocking come in
// cartons (consecutive serials); issues and uses come later, in no order,
// so an item's four movements are far apart in the file and its index
// entries are scattered. It returns the number of items.
func BenchFillItems(path string, n int) (items int, err error) {
	items = n / len(benchLife)
	if items <= 0 {
		return 0, errors.New("bolt: bench: n must be at least 4")
	}
	l, err := Open(Options{Path: path, Gateway: benchGateway})
	if err != nil {
		return 0, err
	}
	var (
		wg       sync.WaitGroup
		firstErr atomic.Pointer[error]
	)
	done := func(_ agent.Movement, err error) {
		if err != nil {
			firstErr.CompareAndSwap(nil, &err)
		}
		wg.Done()
	}
	order := rand.New(rand.NewPCG(1, 2)).Perm(items)
	base := BenchMovement()
	for phase, kind := range benchLife {
		wg.Add(items)
		for j := range items {
			i := j
			if phase >= 2 {
				i = order[j]
			}
			m := benchVariant(base, i, false)
			m.Kind = kind
			l.Submit(m, done)
		}
		wg.Wait() // a phase at a time, as the days go by
		if p := firstErr.Load(); p != nil {
			l.Close()
			return 0, *p
		}
	}
	return items, l.Close()
}

// BenchTrace opens the ledger at path (written by BenchFillItems with the
// given number of items) read-only, traces `lookups` random items one by
// one, checks that each has its four movements, then traces them again;
// and, on the file opened afresh, times one bare bbolt lookup of the batch
// of a random movement: the least a trace must do.
func BenchTrace(path string, items, lookups int) (TraceFigures, error) {
	var f TraceFigures
	l, err := OpenReadOnly(path, time.Second)
	if err != nil {
		return f, err
	}
	keys := make([]string, lookups)
	r := rand.New(rand.NewPCG(3, 4))
	for k := range keys {
		keys[k] = BenchItemKey(r.IntN(items))
	}
	ctx := context.Background()
	times := make([]time.Duration, lookups)
	for pass := range 2 {
		for k, key := range keys {
			start := time.Now()
			ms, err := l.Trace(ctx, key)
			times[k] = time.Since(start)
			if err != nil {
				l.Close()
				return f, err
			}
			if len(ms) != len(benchLife) {
				l.Close()
				return f, fmt.Errorf("bolt: bench: trace of %s found %d movements, want %d", key, len(ms), len(benchLife))
			}
		}
		slices.Sort(times)
		if pass == 0 {
			f.P50, f.P99 = percentileOf(times, 0.50), percentileOf(times, 0.99)
		} else {
			f.WarmP50, f.WarmP99 = percentileOf(times, 0.50), percentileOf(times, 0.99)
		}
	}
	if err := l.Close(); err != nil {
		return f, err
	}

	if l, err = OpenReadOnly(path, time.Second); err != nil {
		return f, err
	}
	defer l.Close()
	last := l.LastSeq()
	for k := range times {
		seq := 1 + r.Uint64N(last)
		start := time.Now()
		err := l.view(func(tx *bolt.Tx) error {
			c := tx.Bucket(bucketMovements).Cursor()
			_, ok, err := findBatch(c, seq)
			if err == nil && !ok {
				err = fmt.Errorf("bolt: bench: no batch holds movement %d", seq)
			}
			return err
		})
		times[k] = time.Since(start)
		if err != nil {
			return f, err
		}
	}
	slices.Sort(times)
	f.LookupP99 = percentileOf(times, 0.99)
	return f, nil
}

// percentileOf returns the p-th quantile of sorted durations.
func percentileOf(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
