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

// GoalTraceP99 is the most the 99th percentile of one item's trace may
// take in a ledger of GoalTraceMovements movements.
const (
	GoalTraceP99       = time.Millisecond
	GoalTraceMovements = 10_000_000
)

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
// one, checks that each has its four movements, and returns the median
// and 99th percentile of a trace. Beside them, measured in the same run on
// the same file, baseline is the 99th percentile of the least a trace
// must do: one bare bbolt Get of the batch holding a random movement.
func BenchTrace(path string, items, lookups int) (p50, p99, baseline time.Duration, err error) {
	l, err := OpenReadOnly(path, time.Second)
	if err != nil {
		return 0, 0, 0, err
	}
	defer l.Close()
	r := rand.New(rand.NewPCG(3, 4))
	ctx := context.Background()
	times := make([]time.Duration, lookups)
	for k := range times {
		key := BenchItemKey(r.IntN(items))
		start := time.Now()
		ms, err := l.Trace(ctx, key)
		times[k] = time.Since(start)
		if err != nil {
			return 0, 0, 0, err
		}
		if len(ms) != len(benchLife) {
			return 0, 0, 0, fmt.Errorf("bolt: bench: trace of %s found %d movements, want %d", key, len(ms), len(benchLife))
		}
	}
	slices.Sort(times)
	p50, p99 = percentileOf(times, 0.50), percentileOf(times, 0.99)

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
			return 0, 0, 0, err
		}
	}
	slices.Sort(times)
	return p50, p99, percentileOf(times, 0.99), nil
}

// percentileOf returns the p-th quantile of sorted durations.
func percentileOf(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
