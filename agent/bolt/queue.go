package bolt

import (
	"sync"
	"time"
)

// queue holds submitted movements until the writer takes them, in chunks
// of at most maxBatch. Submitters append to the last chunk under a mutex;
// the writer takes the first chunk whole, so that handing a movement over
// costs one short critical section, nothing is copied, and the writer is
// woken once per batch, not once per movement.
type queue struct {
	mu       sync.Mutex
	notFull  sync.Cond // signalled when the writer makes room, and on close
	chunks   [][]request
	free     [][]request // emptied chunks for reuse
	count    int         // movements in chunks
	size     int         // most movements waiting before put blocks
	maxBatch int
	closed   bool
	// wake holds a token when the writer should look again: the queue
	// went from empty to not empty, a chunk filled up, or it closed.
	wake chan struct{}
}

// maxFreeChunks bounds the chunks kept for reuse.
const maxFreeChunks = 4

// maxChunkCap bounds the room a new chunk is made with: a chunk of the
// default MaxBatch is made whole, so that it never grows (copying every
// request) while submitters wait for the mutex.
const maxChunkCap = 16384

func (q *queue) init(size, maxBatch int) {
	q.notFull.L = &q.mu
	q.size, q.maxBatch = size, maxBatch
	q.wake = make(chan struct{}, 1)
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// put appends r, waiting while the queue is full. It reports false when
// the queue is closed, and then has not taken r.
func (q *queue) put(r request, clk clock) bool {
	q.mu.Lock()
	for q.count >= q.size && !q.closed {
		q.notFull.Wait()
	}
	if q.closed {
		q.mu.Unlock()
		return false
	}
	last := len(q.chunks) - 1
	if last < 0 || len(q.chunks[last]) >= q.maxBatch {
		var c []request
		if n := len(q.free); n > 0 {
			c, q.free = q.free[n-1], q.free[:n-1]
		} else {
			c = make([]request, 0, min(q.maxBatch, maxChunkCap))
		}
		q.chunks = append(q.chunks, c)
		last++
	}
	if len(q.chunks[last]) == 0 {
		// Only a chunk's first movement is timed (take waits from it).
		r.queued = clk.Now()
	}
	q.chunks[last] = append(q.chunks[last], r)
	q.count++
	wake := q.count == 1 || len(q.chunks[last]) == q.maxBatch
	q.mu.Unlock()
	if wake {
		q.signal()
	}
	return true
}

func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.count
}

// close makes put refuse from now on and lets the writer drain what is
// queued.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.notFull.Broadcast()
	q.mu.Unlock()
	q.signal()
}

// ready reports whether the first chunk should be taken without waiting.
// q.mu is held.
func (q *queue) ready() bool {
	return q.closed || len(q.chunks) > 1 || len(q.chunks[0]) >= q.maxBatch
}

// take waits for a batch and returns it: the first chunk, taken when it is
// full or when maxDelay has passed since its first movement was queued (at
// once when maxDelay is negative or has passed already, as after a long
// commit). It returns false when the queue is closed and empty. The caller
// hands the batch back with recycle.
func (q *queue) take(maxDelay time.Duration, clk clock) ([]request, bool) {
	q.mu.Lock()
	for q.count == 0 {
		if q.closed {
			q.mu.Unlock()
			return nil, false
		}
		q.mu.Unlock()
		<-q.wake
		q.mu.Lock()
	}
	if !q.ready() && maxDelay > 0 {
		if wait := maxDelay - clk.Now().Sub(q.chunks[0][0].queued); wait > 0 {
			q.mu.Unlock()
			t := clk.NewTimer(wait)
		waiting:
			for {
				select {
				case <-q.wake:
					q.mu.Lock()
					ready := q.ready()
					q.mu.Unlock()
					if ready {
						break waiting
					}
				case <-t.C():
					break waiting
				}
			}
			t.Stop()
			q.mu.Lock()
		}
	}
	batch := q.chunks[0]
	n := copy(q.chunks, q.chunks[1:])
	q.chunks[n] = nil
	q.chunks = q.chunks[:n]
	q.count -= len(batch)
	q.notFull.Broadcast()
	q.mu.Unlock()
	return batch, true
}

// recycle keeps a batch the writer is done with for reuse.
func (q *queue) recycle(batch []request) {
	clear(batch)
	q.mu.Lock()
	if len(q.free) < maxFreeChunks {
		q.free = append(q.free, batch[:0])
	}
	q.mu.Unlock()
}
