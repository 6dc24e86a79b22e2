package barcode

import (
	"errors"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/udi-edge/udi-edge/reader"
)

// missLogInterval is the least time between two log lines about missed
// answers: a burst of misses (a ledger group commit answered while the
// scanner was away) makes one line with its count.
const missLogInterval = time.Second

// drainTime is how long the answers queued when Run is stopped may take
// to reach a scanner that is still there, before they are counted missed.
const drainTime = 500 * time.Millisecond

// Why answers were missed, for the log.
const (
	missOffline = iota // given while the scanner was not connected
	missStale          // for a scan read over an earlier connection
	missFull           // beyond Config.AnswerBuffer
	missLost           // queued, or being written, when the connection ended
	missReasons
)

var missWhy = [missReasons]string{
	missOffline: "scanner not connected",
	missStale:   "scan read before the scanner reconnected",
	missFull:    "answer buffer full",
	missLost:    "connection lost before they were written",
}

// answerQueue holds the answers given to Scanner.Answer until the writer
// of the current connection sends them, in order, as few writes as it
// can. Answers belong to one connection: those queued when it ends are
// counted missed, never written to the next one.
type answerQueue struct {
	limit int
	log   *slog.Logger
	wake  chan struct{} // has room for one signal: answers were queued

	mu       sync.Mutex
	open     bool      // a connection takes answers
	since    time.Time // when it was opened
	buf      []byte    // queued answers, back to back
	lens     []int     // the length of each queued answer
	inFlight int       // bytes being written now
	flying   int       // answers being written now
	stats    Stats
	unlogged [missReasons]uint64 // misses not yet logged, by reason
	timer    *time.Timer         // logs the misses; nil when none wait
}

func newAnswerQueue(limit int, log *slog.Logger) *answerQueue {
	return &answerQueue{limit: limit, log: log, wake: make(chan struct{}, 1)}
}

// add queues b, an answer to the scan read at scanned (zero: to no scan
// in particular), or counts it missed.
func (q *answerQueue) add(scanned time.Time, b []byte) {
	if len(b) == 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case !q.open:
		q.missLocked(missOffline, 1, len(b))
	case !scanned.IsZero() && scanned.Before(q.since):
		q.missLocked(missStale, 1, len(b))
	case q.inFlight+len(q.buf)+len(b) > q.limit:
		q.missLocked(missFull, 1, len(b))
	default:
		q.buf = append(q.buf, b...)
		q.lens = append(q.lens, len(b))
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// missLocked counts n answers of size bytes missed for why, and makes
// sure a log line will tell. q.mu is held.
func (q *answerQueue) missLocked(why, n, size int) {
	if n == 0 {
		return
	}
	q.stats.Missed += uint64(n)
	q.stats.MissedBytes += uint64(size)
	q.unlogged[why] += uint64(n)
	if q.timer == nil {
		q.timer = time.AfterFunc(missLogInterval, q.logMisses)
	}
}

// logMisses logs the misses counted since the last line, one line per
// reason.
func (q *answerQueue) logMisses() {
	q.mu.Lock()
	counts := q.unlogged
	q.unlogged = [missReasons]uint64{}
	if q.timer != nil {
		q.timer.Stop()
		q.timer = nil
	}
	q.mu.Unlock()
	for why, n := range counts {
		if n > 0 {
			q.log.Warn("barcode answers missed", "answers", n, "reason", missWhy[why])
		}
	}
}

// snapshot returns the counts, with the answers waiting now.
func (q *answerQueue) snapshot() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := q.stats
	s.Queued = len(q.lens) + q.flying
	return s
}

// connect starts taking answers for a connection on p opened at since,
// and the writer that sends them. The returned function ends it: answers
// are no longer taken, the writer sends what is queued (until drain
// passes, or at once when the connection was lost) and stops, and what
// it could not send is counted missed. It must be called before p is
// closed.
func (q *answerQueue) connect(p reader.Port, since time.Time) (end func(drain bool)) {
	q.mu.Lock()
	q.open, q.since = true, since
	q.mu.Unlock()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		q.write(p, stop)
	}()
	return func(drain bool) {
		q.mu.Lock()
		q.open = false
		q.mu.Unlock()
		deadline := time.Now()
		if drain {
			deadline = deadline.Add(drainTime)
		}
		if err := p.SetWriteDeadline(deadline); err != nil && !errors.Is(err, errors.ErrUnsupported) {
			q.log.Debug("barcode answers: write deadline", "err", err)
		}
		close(stop)
		<-done
		q.mu.Lock()
		q.missLocked(missLost, len(q.lens), len(q.buf))
		q.buf, q.lens = q.buf[:0], q.lens[:0]
		q.mu.Unlock()
	}
}

// write sends the queued answers to p whenever some are queued, until
// stop is closed, then once more, and returns; or returns when a write
// fails.
func (q *answerQueue) write(p reader.Port, stop <-chan struct{}) {
	var out []byte // the answers being written; swapped with q.buf
	var lens []int
	for {
		stopping := false
		select {
		case <-q.wake:
		case <-stop:
			stopping = true
		}
		for {
			q.mu.Lock()
			if len(q.lens) == 0 {
				q.mu.Unlock()
				break
			}
			out, q.buf = q.buf, out[:0]
			lens, q.lens = q.lens, lens[:0]
			q.inFlight, q.flying = len(out), len(lens)
			q.mu.Unlock()

			n, err := p.Write(out)

			q.mu.Lock()
			q.inFlight, q.flying = 0, 0
			whole := 0
			for _, l := range lens {
				if n < l {
					break
				}
				n -= l
				whole++
				q.stats.Answers++
				q.stats.AnswerBytes += uint64(l)
			}
			if err != nil {
				rest := 0
				for _, l := range lens[whole:] {
					rest += l
				}
				q.missLocked(missLost, len(lens)-whole, rest)
				q.open = false
			}
			q.mu.Unlock()
			if err != nil {
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					q.log.Debug("barcode answers: write failed", "err", err)
				}
				return
			}
		}
		if stopping {
			return
		}
	}
}
