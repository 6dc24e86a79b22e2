package bolt

import (
	"sync/atomic"
	"time"

	"github.com/udi-edge/udi-edge/agent"
)

// Commit is one write transaction of the writer as an observer (Observe)
// sees it: how long its commit took and what it held.
type Commit struct {
	// Duration is how long bbolt's commit took: writing the pages and the
	// two fdatasyncs that make the transaction durable. 0 when the
	// transaction failed before it could commit.
	Duration time.Duration
	// Err is why the transaction failed; nil when it committed.
	Err error

	batch []request
}

// Movements calls fn with every movement the transaction committed, in
// order, as recorded; none when it failed. m is valid only during the
// call and must not be changed.
func (c Commit) Movements(fn func(m *agent.Movement)) {
	if c.Err != nil {
		return
	}
	for i := range c.batch {
		if c.batch[i].err == nil {
			fn(&c.batch[i].m)
		}
	}
}

// observation is what the writer tells an observer, and how long it has
// been busy with a transaction.
type observation struct {
	fn atomic.Pointer[func(Commit)]
	// busySince is when the writer took the batch it is flushing, in Unix
	// nanoseconds; 0 while it waits for movements.
	busySince atomic.Int64
}

// Observe sets fn to be told of every write transaction, on the writer
// goroutine, after it committed or failed and before any of its
// movements is answered; nil stops. fn must not block, and must not call
// Submit or Append.
func (l *Ledger) Observe(fn func(Commit)) {
	if fn == nil {
		l.obs.fn.Store(nil)
		return
	}
	l.obs.fn.Store(&fn)
}

// observe tells the observer of one transaction of batch.
func (l *Ledger) observe(batch []request, commit time.Duration, err error) {
	if fn := l.obs.fn.Load(); fn != nil {
		(*fn)(Commit{Duration: commit, Err: err, batch: batch})
	}
}

// flushTimed is flush, the writer marked busy meanwhile (WriterBusy).
func (l *Ledger) flushTimed(batch []request) {
	l.obs.busySince.Store(time.Now().UnixNano())
	defer l.obs.busySince.Store(0)
	l.flush(batch)
}

// WriterBusy returns how long the writer has been writing its current
// transaction (and answering its movements); 0 while it waits for
// movements. A value that keeps growing says the writer is stuck: a
// commit that does not return, a done callback that blocks.
func (l *Ledger) WriterBusy() time.Duration {
	since := l.obs.busySince.Load()
	if since == 0 {
		return 0
	}
	return max(0, time.Since(time.Unix(0, since)))
}
