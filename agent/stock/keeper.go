package stock

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/master"
)

// RangeFunc reads a ledger: fn for every movement from sequence number
// from on, in order, until fn returns an error, which it returns; the
// movements committed while it runs may be included. agent/bolt's
// Ledger.Range is one.
type RangeFunc func(from uint64, fn func(agent.Movement) error) error

// Keeper keeps a Stock current beside a ledger being written. Written is
// told every movement the ledger writes; the first call of Stock (or
// Start) rebuilds the stock from the whole ledger through Range, and the
// movements written while it runs are folded once it is done, so that
// the stock ends as the fold of every movement, each once. Until a
// build has started, Written keeps nothing: the build will read it.
type Keeper struct {
	rangeFn   RangeFunc
	catalogue func() *master.Data
	history   HistoryFunc

	ready atomic.Pointer[Stock]

	mu       sync.Mutex
	building chan struct{} // closed when the build in progress ends; nil when none runs
	pending  []agent.Movement
	err      error // why the last build failed
}

// NewKeeper returns a Keeper over the ledger read by rangeFn; catalogue,
// when not nil, is the stock's (Stock.SetCatalogue).
func NewKeeper(rangeFn RangeFunc, catalogue func() *master.Data) *Keeper {
	return &Keeper{rangeFn: rangeFn, catalogue: catalogue}
}

// SetHistory has the stocks the keeper builds forget the items gone for
// good and read them back through fn when they move again
// (Stock.SetHistory). Call it before the first build.
func (k *Keeper) SetHistory(fn HistoryFunc) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.history = fn
}

// Written folds m, a movement the ledger has just written, into the
// stock; while a build runs, it keeps m for the build to fold. It never
// waits for a build or a query to end: it may run on the ledger's writer
// goroutine.
func (k *Keeper) Written(m agent.Movement) {
	if st := k.ready.Load(); st != nil {
		st.Apply(m)
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if st := k.ready.Load(); st != nil {
		st.Apply(m)
		return
	}
	if k.building != nil {
		k.pending = append(k.pending, m)
	}
}

// Start begins the build in the background, unless the stock is built
// or being built.
func (k *Keeper) Start() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.startLocked()
}

func (k *Keeper) startLocked() chan struct{} {
	if k.building == nil && k.ready.Load() == nil {
		k.building = make(chan struct{})
		go k.build(k.building)
	}
	return k.building
}

// build folds the whole ledger into a new Stock, then the movements
// written meanwhile, and makes it the kept one.
func (k *Keeper) build(done chan struct{}) {
	st := New()
	k.mu.Lock()
	st.catalogue, st.history = k.catalogue, k.history
	k.mu.Unlock()
	err := k.rangeFn(1, func(m agent.Movement) error {
		st.apply(m) // st is not shared yet
		return nil
	})
	k.mu.Lock()
	if err == nil {
		slices.SortFunc(k.pending, func(a, b agent.Movement) int { return cmp.Compare(a.Seq, b.Seq) })
		for _, m := range k.pending {
			st.apply(m)
		}
		k.ready.Store(st)
		k.err = nil
	} else {
		k.err = fmt.Errorf("stock: reading the ledger: %w", err)
	}
	k.pending, k.building = nil, nil
	k.mu.Unlock()
	close(done)
}

// Ready returns the stock kept, or nil while it is not built yet (a
// build running, or none started): it never waits, for the callers that
// must answer at once (the point-of-use checks).
func (k *Keeper) Ready() *Stock { return k.ready.Load() }

// Stock returns the stock kept, building it first when it is not built
// (or the last build failed): it waits for the build until ctx ends. A
// build that fails returns its error; the next call tries again.
func (k *Keeper) Stock(ctx context.Context) (*Stock, error) {
	if st := k.ready.Load(); st != nil {
		return st, nil
	}
	k.mu.Lock()
	done := k.startLocked()
	k.mu.Unlock()
	if done == nil { // built between the two looks
		return k.ready.Load(), nil
	}
	select {
	case <-done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if st := k.ready.Load(); st != nil {
		return st, nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return nil, k.err
}
