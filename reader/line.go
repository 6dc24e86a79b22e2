package reader

import (
	"context"
	"time"
)

// The helpers in this file are the parts of a framed protocol's session
// that do not depend on the protocol: reading the line into a decoder,
// waiting for a condition while reading, the time that marks a frame cut
// off, keeping the bytes of emitted reads, and rate-limited logging.

// QuietTime returns how long a line at baud bits per second must stay
// silent before a frame in progress is known to be cut off: the time a
// frame of frameLen bytes takes on the line (10 bits a byte), with a
// quarter more for scheduling, and never less than 5ms.
func QuietTime(frameLen, baud int) time.Duration {
	frame := time.Duration(frameLen*10) * time.Second / time.Duration(baud)
	return max(frame+frame/4, 5*time.Millisecond)
}

// FrameDecoder is what a Pump needs of a protocol's frame decoder: it is
// fed bytes and calls emit once per whole frame, holding a partial frame
// until more bytes come or it is flushed.
type FrameDecoder[F any] interface {
	// Feed decodes p, calling emit for each frame it completes.
	Feed(p []byte, emit func(F))
	// Flush declares the line idle: a partial frame held is abandoned
	// and the bytes after it are scanned again, emitting the whole
	// frames among them.
	Flush(emit func(F))
	// Buffered returns the number of bytes held.
	Buffered() int
}

// Pump reads an open line into a FrameDecoder, one read at a time. Set
// its exported fields before the first Read.
type Pump[F any] struct {
	// Dec decodes the bytes read.
	Dec FrameDecoder[F]
	// Handle takes each frame Dec completes.
	Handle func(F)
	// Now stamps Arrival.
	Now func() time.Time
	// Buf receives each read; its length is the most one read takes.
	Buf []byte
	// Arrival is when the bytes being decoded were read. It is set
	// before they are fed to Dec, so Handle may stamp frames with it.
	Arrival time.Time
}

// Read reads p once and feeds what came to Dec. A read that returns
// nothing and no error timed out: the line was quiet, so a partial frame
// held is cut off and flushed. Read returns the read's error.
func (pm *Pump[F]) Read(p Port) error {
	n, err := p.Read(pm.Buf)
	if n > 0 {
		pm.Arrival = pm.Now()
		pm.Dec.Feed(pm.Buf[:n], pm.Handle)
	} else if err == nil && pm.Dec.Buffered() > 0 {
		pm.Dec.Flush(pm.Handle)
	}
	return err
}

// Await calls pump until cond holds (true), timeout has passed by now
// (false), or ctx is done or pump fails (the error). cond is checked
// first, so Await returns true at once when it holds already.
func Await(ctx context.Context, now func() time.Time, timeout time.Duration, cond func() bool, pump func() error) (bool, error) {
	deadline := now().Add(timeout)
	for !cond() {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		if !now().Before(deadline) {
			return false, nil
		}
		if err := pump(); err != nil {
			return false, err
		}
	}
	return true, nil
}

// arenaBlock is the size of the blocks an Arena copies into: one
// allocation per a few hundred reads.
const arenaBlock = 4096

// Arena copies short byte slices (the EPCs and data of tag reads) out of
// a decoder's buffer into shared blocks. The copies are never reused: a
// block is freed by the collector once nothing refers to it. Its zero
// value is ready; it is not safe for concurrent use.
type Arena struct {
	block []byte
}

// Keep returns a copy of b, nil when b is empty. The copy's capacity
// ends with it, so appending to it cannot touch its neighbours.
func (a *Arena) Keep(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	if len(b) > cap(a.block)-len(a.block) {
		a.block = make([]byte, 0, max(arenaBlock, len(b)))
	}
	i := len(a.block)
	a.block = append(a.block, b...)
	return a.block[i:len(a.block):len(a.block)]
}

// LogLimit rate-limits log lines per key (a module's status or error
// code): the first event of a key is due to be logged, and then the
// first one at least Interval after the last logged. Its zero value with
// Interval set is ready; it is not safe for concurrent use.
type LogLimit[K comparable] struct {
	// Interval is the least time between two lines for one key.
	Interval time.Duration
	last     map[K]time.Time
	count    map[K]uint64
}

// Note counts an event of k at now and reports whether it is due to be
// logged, with the number of events of k since the last one logged, this
// one included. When it is due the count starts again.
func (l *LogLimit[K]) Note(k K, now time.Time) (times uint64, due bool) {
	if l.count == nil {
		l.last, l.count = map[K]time.Time{}, map[K]uint64{}
	}
	l.count[k]++
	if at, ok := l.last[k]; ok && now.Sub(at) < l.Interval {
		return l.count[k], false
	}
	times = l.count[k]
	l.last[k] = now
	l.count[k] = 0
	return times, true
}
