package bolt

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// bbolt trusts the file: a damaged page header, element table or page
// reference makes it panic (an assertion, an index out of range) or
// read outside its memory map (a fault), and a panic inside a
// transaction would end the process. Every transaction of the ledger
// runs through guard, which turns both into a *CorruptError naming
// where the ledger was reading; faults become panics only on a goroutine
// that asked for it (debug.SetPanicOnFault), so guard asks for the
// duration of the call. firmware-notes/ledger.md lists what this cannot
// catch (a page that points back at its own ancestor sends bbolt's
// descent round for ever).

// place is where a transaction is in the file: kept up to date by the
// code that reads, so that a panic inside bbolt is reported naming it.
// The zero place names nothing more precise than the file.
type place struct {
	bucket      string // "movements", "item index", "meta", ...
	first, last uint64 // movements being read; 0 when not known
}

// at sets the movements being read; p may be nil.
func (p *place) at(bucket string, first, last uint64) {
	if p != nil {
		p.bucket, p.first, p.last = bucket, first, last
	}
}

func (p *place) String() string {
	if p == nil || p.bucket == "" {
		return "the file's pages"
	}
	if p.last <= p.first { // the error names the movement
		return "bucket " + p.bucket
	}
	return fmt.Sprintf("bucket %s, movements %d to %d", p.bucket, p.first, p.last)
}

// panicError is the *CorruptError of a panic met at p.
func (p *place) panicError(r any) error {
	var seq uint64
	if p != nil {
		seq = p.first
	}
	return &CorruptError{Seq: seq, Reason: fmt.Sprintf("%s: bbolt failed reading a damaged page (%v)", p, r)}
}

// guard calls fn and returns its error, or a *CorruptError naming p when
// fn panics or faults reading the memory map.
func guard(p *place, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = p.panicError(r)
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return fn()
}

// view runs fn in a read transaction through guard; see viewAt.
func (l *Ledger) view(fn func(tx *bolt.Tx) error) error { return l.viewAt(nil, fn) }

// viewAt runs fn in a read transaction, mapping a closed database to
// ErrClosed and a panic or fault inside bbolt (a damaged page) to a
// *CorruptError naming p, which fn keeps up to date. Every read of the
// ledger goes through here.
func (l *Ledger) viewAt(p *place, fn func(tx *bolt.Tx) error) error {
	if l.dbClosed.Load() {
		return ErrClosed
	}
	l.swap.RLock() // compaction swaps the file in between, never during
	defer l.swap.RUnlock()
	return l.viewHeld(p, fn)
}

// viewHeld is viewAt for a caller that holds l.swap (compaction's last
// step).
func (l *Ledger) viewHeld(p *place, fn func(tx *bolt.Tx) error) error {
	err := l.db.View(func(tx *bolt.Tx) error { return guard(p, func() error { return fn(tx) }) })
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// update runs fn in a write transaction and commits it, through guard:
// a panic inside bbolt rolls the transaction back and returns a
// *CorruptError naming p.
func (l *Ledger) update(p *place, fn func(tx *bolt.Tx) error) error {
	if l.dbClosed.Load() {
		return ErrClosed
	}
	l.swap.RLock()
	defer l.swap.RUnlock()
	l.sideWrites.Add(1)
	err := guard(p, func() error { return l.db.Update(fn) })
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// rateLog logs an error at most once per interval, counting the ones it
// left out, so that a damaged page met by every transaction does not
// flood the log.
type rateLog struct {
	mu       sync.Mutex
	interval time.Duration
	last     time.Time
	skipped  int
}

// allow reports whether to log now, and how many were left out since the
// last line.
func (r *rateLog) allow(now time.Time) (bool, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.last.IsZero() && now.Sub(r.last) < r.interval {
		r.skipped++
		return false, 0
	}
	n := r.skipped
	r.last, r.skipped = now, 0
	return true, n
}

// checkStructure runs the quick page check (pagecheck.go) on the file
// just opened and keeps what it found unsafe to read through bbolt.
func (l *Ledger) checkStructure() error {
	fi, err := l.file.Stat()
	if err != nil {
		return fmt.Errorf("bolt: open %s: %w", l.path, err)
	}
	rep, err := checkPages(context.Background(), l.file, fi.Size(), true)
	if err != nil {
		return fmt.Errorf("bolt: open %s: %w", l.path, err)
	}
	if len(rep.unsafe) > 0 {
		l.unsafe, l.unsafeReasons = rep.unsafe, rep.problems
	}
	return nil
}

// safe returns a *CorruptError when any of the buckets named, or the
// file as a whole, was found unsafe to read through bbolt when the ledger
// was opened.
func (l *Ledger) safe(buckets ...[]byte) error {
	if len(l.unsafe) == 0 {
		return nil
	}
	if l.unsafe[""] {
		return l.unsafeError()
	}
	for _, b := range buckets {
		if l.unsafe[string(b)] {
			return l.unsafeError()
		}
	}
	return nil
}

// unsafeError says which pages made the file unsafe to read.
func (l *Ledger) unsafeError() error {
	var names []string
	for b := range l.unsafe {
		if b == "" {
			b = "the root bucket"
		}
		names = append(names, b)
	}
	slices.Sort(names)
	reason := "bbolt pages damaged where bbolt follows references (" + strings.Join(names, ", ") + "): not read, lest bbolt go round for ever"
	if len(l.unsafeReasons) > 0 {
		reason += "; the first: " + l.unsafeReasons[0].Error()
	}
	return corruptf(0, "%s; run udi-edge verify", reason)
}

// yield lets other goroutines run every 64th call of a long loop of
// reads: a trace or a walk on one of a gateway's two cores must not hold
// off the writer, whose scans wait for their answer, for a scheduler time
// slice (10 ms) at every hand-over.
func yield(i int) {
	if i&63 == 63 {
		runtime.Gosched()
	}
}
