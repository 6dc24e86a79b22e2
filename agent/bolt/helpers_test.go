package bolt

import (
	"context"
	"fmt"
	"github.com/udi-edge/udi-edge/agent/testkit"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
)

const testGateway = "ward-7"

// openTest opens a ledger in a temporary directory and, on cleanup, closes
// it and checks the file's consistency.
func openTest(t *testing.T, opts Options) *Ledger {
	t.Helper()
	if opts.Path == "" {
		opts.Path = filepath.Join(t.TempDir(), "ledger.db")
	}
	if opts.Gateway == "" {
		opts.Gateway = testGateway
	}
	l, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		checkFile(t, opts.Path)
	})
	return l
}

// checkFile opens path read-only and runs Verify on it.
func checkFile(t *testing.T, path string) {
	t.Helper()
	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Errorf("OpenReadOnly for check: %v", err)
		return
	}
	defer ro.Close()
	if err := ro.Verify(context.Background()); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

// movementN is the n-th movement of a test stream: a few items, each
// received, stocked, issued and used, with a rejected read now and then.
func movementN(stream string, n int) agent.Movement {
	if n%17 == 16 {
		return agent.Movement{
			Time:    time.Date(2026, 3, 1, 8, 0, 0, n, time.UTC),
			Kind:    agent.KindReject,
			Station: stream,
			Raw:     fmt.Appendf(nil, "garbage %d", n),
			Reason:  "unreadable",
		}
	}
	kinds := []agent.Kind{agent.KindReceive, agent.KindStock, agent.KindIssue, agent.KindUse}
	serial := fmt.Sprintf("%s-%06d", stream, n/len(kinds))
	gtin := "09520123456788"
	return agent.Movement{
		Time:      time.Date(2026, 3, 1, 8, 0, 0, n, time.UTC),
		Kind:      kinds[n%len(kinds)],
		Item:      "(01)" + gtin + "(21)" + serial,
		GTIN:      gtin,
		Serial:    serial,
		Lot:       "L1",
		Expiry:    "2027-12-31",
		Location:  "store",
		Station:   stream,
		Symbology: "]d2",
		Raw:       []byte("]d201" + gtin + "21" + serial),
	}
}

// waitFor polls cond until it holds or timeout passes.
var waitFor = testkit.Eventually

// outcomes records done callbacks.
type outcomes struct {
	mu    sync.Mutex
	calls map[int]int
	got   map[int]agent.Movement
	errs  map[int]error
	wg    sync.WaitGroup
}

func newOutcomes() *outcomes {
	return &outcomes{calls: map[int]int{}, got: map[int]agent.Movement{}, errs: map[int]error{}}
}

// done returns a done callback for submission id.
func (o *outcomes) done(id int) func(agent.Movement, error) {
	o.wg.Add(1)
	return func(m agent.Movement, err error) {
		o.mu.Lock()
		o.calls[id]++
		first := o.calls[id] == 1
		o.got[id], o.errs[id] = m, err
		o.mu.Unlock()
		if first {
			o.wg.Done()
		}
	}
}

func (o *outcomes) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.calls)
}

// fakeClock is a manual clock for the writer.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	clk     *fakeClock
	c       chan time.Time
	when    time.Time
	stopped bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.clk.mu.Lock()
	defer t.clk.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimer(d time.Duration) timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{clk: c, c: make(chan time.Time, 1), when: c.now.Add(d)}
	c.timers = append(c.timers, t)
	return t
}

// pending returns how many timers wait to fire.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.stopped {
			n++
		}
	}
	return n
}

// Advance moves the clock and fires the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	keep := c.timers[:0]
	for _, t := range c.timers {
		if t.stopped {
			continue
		}
		if !t.when.After(c.now) {
			t.stopped = true
			t.c <- c.now
			continue
		}
		keep = append(keep, t)
	}
	c.timers = keep
}

// submitBurst submits movements from..from+n-1 of stream to l at once and
// waits for their done callbacks, failing on any error.
func submitBurst(t testing.TB, l *Ledger, stream string, from, n int) []agent.Movement {
	t.Helper()
	o := newOutcomes()
	for i := range n {
		l.Submit(movementN(stream, from+i), o.done(i))
	}
	o.wg.Wait()
	out := make([]agent.Movement, n)
	for i := range n {
		if o.errs[i] != nil {
			t.Fatal(o.errs[i])
		}
		out[i] = o.got[i]
	}
	return out
}

// openWriter opens the ledger at path for writing, each movement in a
// transaction of its own, and closes it on cleanup (without checking the
// file, which the test may have damaged).
func openWriter(t testing.TB, path string) *Ledger {
	t.Helper()
	l, err := Open(Options{Path: path, Gateway: testGateway, MaxDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}
