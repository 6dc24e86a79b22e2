package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/runindex"
)

// Compaction writes the ledger anew, live data only, and puts the new
// file in place of the old: bbolt never gives the pages it frees back to
// the file system, and a cut (retention.go) frees many.
//
// The new file is written beside the ledger under PATH.compact-PID, with
// bbolt's fsyncs off (it is nobody's until it is renamed): the small
// buckets (meta, sync cursor, master data), the carried movements and
// tombstones, then the movements from the anchor on, batch values copied
// as they are, each in a few read transactions of the ledger that do not
// hold up its writer, and an item index built afresh from the copied
// movements. After each copying transaction the new file's meta bucket
// names its last movement and hash, so that the copy is a whole ledger
// at every commit; it is verified (Verify) once the bulk is copied.
// Movements committed meanwhile are copied after it, round after round,
// until few are left. Then, with every transaction of the ledger held
// off (the writer's scans wait in its queue), the last ones are copied,
// the sync cursor and master data again if they changed, the new file is
// committed with fsync, renamed over the ledger's path and the directory
// fsynced; the ledger goes on in the new file and closes the old one.
//
// A crash at any moment leaves the path naming either the old file,
// untouched by compaction, or the new one, complete and fsynced before
// its rename; the next Open removes a temporary file a crash left.

// Compaction tuning.
const (
	// compactChunk is about how many bytes of batch values one copying
	// transaction holds.
	compactChunk = 4 << 20
	// compactCatchUp is how many movements may be left for the final
	// step, done with the ledger's transactions held off; compactRounds
	// bounds the rounds of catching up before it.
	compactCatchUp = 4096
	compactRounds  = 16
	// compactTempInfix names the temporary file: PATH.compact-PID.
	compactTempInfix = ".compact-"
)

// CompactOptions say what a compaction does besides copying.
type CompactOptions struct {
	// Cut, when above the current anchor (FirstSeq), makes the
	// compaction a retention cut there (see Anchor): it must be at most
	// the sync cursor. 0 copies without a cut.
	Cut uint64
	// Reason is the anchor's Reason for a cut.
	Reason string
	// Folds says which movements before the cut stay (see Folds).
	Folds Folds
	// Now is the time of the cut; zero is the wall clock.
	Now time.Time
	// Retain, when set and Cut is 0, makes the cut the one it allows
	// now (RetainNow): acknowledged movements past its horizon, or
	// sooner past its disk budget.
	Retain *Retention
}

// CompactSummary is what a compaction did.
type CompactSummary struct {
	// Before and After are the file's sizes in bytes.
	Before, After int64
	// Movements is how many movements the file holds from the anchor on.
	Movements uint64
	// Removed, Carried and Tombstones are the cut's: movements taken
	// out, movements before the anchor kept, item keys retained away.
	Removed, Carried, Tombstones uint64
	// Anchor is the file's anchor after the compaction, nil for none.
	Anchor *Anchor
	// NotCut says why a cut asked for was not made (the file was still
	// compacted), "" when it was or none was asked for.
	NotCut string
	// Took is how long it took; Paused how long the ledger's
	// transactions were held off at its end.
	Took, Paused time.Duration
}

// Compact writes the ledger anew while it runs (see above) and returns
// what it did. Movements submitted meanwhile are recorded as always:
// into the old file until the last step, after it into the new one. It
// refuses a ledger opened read-only or found damaged (Verify and
// RebuildIndex first) and waits for a compaction already running. On an
// error the ledger goes on in its file as it was.
func (l *Ledger) Compact(ctx context.Context, opt CompactOptions) (CompactSummary, error) {
	if l.readOnly || l.refused != nil {
		return CompactSummary{}, fmt.Errorf("bolt: compact %s: %w", l.path, ErrReadOnly)
	}
	if loss := l.Loss(); loss != nil && loss.Recorded == 0 {
		// The loss goes into the ledger first, as its next movement.
		return CompactSummary{}, fmt.Errorf("bolt: compact %s: %w", l.path, loss)
	}
	l.compactMu.Lock()
	defer l.compactMu.Unlock()
	if l.dbClosed.Load() {
		return CompactSummary{}, ErrClosed
	}
	return l.compact(ctx, opt, true)
}

// CompactFile compacts the ledger file at path, which no agent has open
// (it waits up to timeout for another process's lock and then fails with
// ErrLocked), as Compact does. log, when not nil, receives a line at the
// end.
func CompactFile(ctx context.Context, path string, timeout time.Duration, opt CompactOptions, log *slog.Logger) (CompactSummary, error) {
	if _, err := os.Stat(path); err != nil {
		return CompactSummary{}, fmt.Errorf("bolt: compact: %w", err)
	}
	abs, err := absPath(path)
	if err != nil {
		return CompactSummary{}, err
	}
	lock, err := lockPath(abs, max(timeout, time.Nanosecond))
	if err != nil {
		return CompactSummary{}, err
	}
	defer lock.release()
	removeCompactTemps(path)
	l, err := OpenReadOnly(path, timeout)
	if err != nil {
		return CompactSummary{}, err
	}
	defer l.Close()
	if log != nil {
		l.log = log
	}
	if len(l.unsafe) > 0 {
		return CompactSummary{}, fmt.Errorf("bolt: compact %s: %w", path, l.unsafeError())
	}
	if err := l.checkCompactable(); err != nil {
		return CompactSummary{}, err
	}
	return l.compact(ctx, opt, false)
}

// checkCompactable refuses a file Open would refuse to write: its meta
// at odds with its movements, a loss not recorded.
func (l *Ledger) checkCompactable() error {
	if l.loss != nil && l.loss.Recorded == 0 {
		return fmt.Errorf("bolt: compact %s: %w (open the ledger for writing first: it records the loss)", l.path, l.loss)
	}
	return l.view(func(tx *bolt.Tx) error { return l.checkLastHash(tx) })
}

// compact is Compact and CompactFile once the ledger is theirs: live
// says the writer runs and the new file must be swapped in under it.
func (l *Ledger) compact(ctx context.Context, opt CompactOptions, live bool) (CompactSummary, error) {
	start := time.Now()
	var sum CompactSummary
	if len(l.unsafe) > 0 || l.Stats().IndexDamaged {
		return sum, fmt.Errorf("bolt: compact %s: the file is damaged; run udi-edge verify (and reindex) first", l.path)
	}
	if fi, err := os.Stat(l.path); err == nil {
		sum.Before = fi.Size()
	}
	if opt.Retain != nil && opt.Cut == 0 {
		o, err := l.RetainNow(*opt.Retain)
		if err != nil {
			return sum, err
		}
		opt.Cut, opt.Reason, opt.Folds, opt.Now = o.Cut, o.Reason, o.Folds, o.Now
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	first, err := l.FirstSeq()
	if err != nil {
		return sum, err
	}
	var plan *cutPlan
	if opt.Cut > first {
		var why string
		if plan, why, err = l.planCut(ctx, opt.Cut, opt.Reason, opt.Folds, opt.Now); err != nil {
			return sum, err
		}
		sum.NotCut = why
	}
	c, err := l.newCopier(plan)
	if err != nil {
		return sum, err
	}
	defer c.abort()
	if err := c.copyStatic(); err != nil {
		return sum, err
	}
	if err := c.copyCarried(); err != nil {
		return sum, err
	}
	if err := c.copyLive(ctx, max(l.last.Load(), c.seen)); err != nil {
		return sum, err
	}
	if err := c.verify(ctx); err != nil {
		return sum, err
	}
	for round := 0; live && round < compactRounds && l.last.Load() > c.copied+compactCatchUp; round++ {
		if err := c.copyLive(ctx, l.last.Load()); err != nil {
			return sum, err
		}
	}
	if live {
		paused, err := c.swapIn(ctx)
		sum.Paused = paused
		if err != nil {
			return sum, err
		}
	} else if err := c.finishFile(); err != nil {
		return sum, err
	}
	if fi, err := os.Stat(l.path); err == nil {
		sum.After = fi.Size()
	}
	sum.Movements = c.copied - c.first + 1
	if c.copied < c.first {
		sum.Movements = 0
	}
	sum.Carried, sum.Tombstones = c.anchor.Carried, c.anchor.Retained
	if plan != nil {
		sum.Removed = plan.removed
	}
	if c.cut {
		a := c.anchor
		sum.Anchor = &a
	}
	sum.Took = time.Since(start)
	l.log.Info("ledger compacted", "path", l.path, "before_bytes", sum.Before, "after_bytes", sum.After,
		"movements", sum.Movements, "removed", sum.Removed, "carried", sum.Carried, "tombstones", sum.Tombstones,
		"anchor", c.anchor.Seq, "took", sum.Took.Round(time.Millisecond), "paused", sum.Paused.Round(time.Microsecond))
	if sum.NotCut != "" {
		l.log.Warn("retention cut not made; the ledger was compacted without it", "path", l.path, "cut", opt.Cut, "why", sum.NotCut)
	}
	return sum, nil
}

// copier writes the new file of one compaction.
type copier struct {
	l       *Ledger
	plan    *cutPlan // nil: no new cut
	tmp     string
	dst     *bolt.DB
	file    *os.File
	done    bool // the new file is the ledger's
	held    bool // the ledger's transactions are held off: read without the lock
	cut     bool // the new file has an anchor
	anchor  Anchor
	first   uint64 // the first movement kept in sequence
	copied  uint64 // the last movement copied (first-1 before any)
	lastRec []byte // the record of movement copied, for its hash
	side    uint64 // l.sideWrites when the side buckets were copied
	seen    uint64 // the last movement the meta copied named (see copyStatic)
	rejects uint64 // rejected reads copied (carried ones included)
	arena   runindex.Arena
	entries [][]byte
	buf     []byte
}

// newCopier creates the temporary file and its buckets.
func (l *Ledger) newCopier(plan *cutPlan) (*copier, error) {
	c := &copier{l: l, plan: plan, tmp: fmt.Sprintf("%s%s%d", l.path, compactTempInfix, os.Getpid())}
	_ = os.Remove(c.tmp)
	var err error
	c.dst, c.file, err = openDB(c.tmp, &bolt.Options{Timeout: time.Second, NoSync: true, NoGrowSync: true, InitialMmapSize: initialMmapSize, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("bolt: compact: %w", err)
	}
	err = c.dst.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketMovements, bucketRuns, bucketIndex} {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		c.abort()
		return nil, fmt.Errorf("bolt: compact: %w", err)
	}
	return c, nil
}

// read runs fn in a read transaction of the ledger.
func (c *copier) read(p *place, fn func(tx *bolt.Tx) error) error {
	if c.held {
		return c.l.viewHeld(p, fn)
	}
	return c.l.viewAt(p, fn)
}

// abort removes the temporary file unless it became the ledger.
func (c *copier) abort() {
	if c.done {
		return
	}
	if c.dst != nil {
		_ = c.dst.Close()
	}
	_ = os.Remove(c.tmp)
}

// removeCompactTemps removes the temporary files a compaction of the
// ledger at path left when its process died (their pid no longer runs
// or is this process, which holds the path's lock).
func removeCompactTemps(path string) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if rest, ok := strings.CutPrefix(e.Name(), base+compactTempInfix); ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// copyStatic copies the meta bucket (but the item index's state, which
// is the new index's), the sync cursor and the master data, and
// remembers the count of side writes it saw.
func (c *copier) copyStatic() error {
	c.side = c.l.sideWrites.Load()
	err := c.read(nil, func(src *bolt.Tx) error {
		return c.dst.Update(func(dst *bolt.Tx) error {
			if err := copyMeta(src, dst); err != nil {
				return err
			}
			a, cut, err := anchorIn(src)
			if err != nil {
				return err
			}
			c.first, c.cut, c.anchor = 1, cut, a
			if cut {
				c.first = a.Seq
			}
			if c.plan != nil {
				c.first, c.cut, c.anchor = c.plan.anchor.Seq, true, c.plan.anchor
			}
			c.copied = c.first - 1
			// The meta copied names the source's last movement, which
			// the ledger's tip (l.last) may not show yet: the writer
			// stores it after its commit. The first copy goes at least
			// that far, or the new file's meta would name movements it
			// does not hold.
			if v := src.Bucket(bucketMeta).Get(metaLastSeq); len(v) == 8 {
				c.seen = binary.BigEndian.Uint64(v)
			}
			return copySide(src, dst)
		})
	})
	if err != nil {
		return fmt.Errorf("bolt: compact: copy meta, sync cursor and master data: %w", err)
	}
	return nil
}

// copyMeta copies the meta bucket of src into dst's, but the item
// index's state.
func copyMeta(src, dst *bolt.Tx) error {
	sm, dm := src.Bucket(bucketMeta), dst.Bucket(bucketMeta)
	if sm == nil {
		return corruptf(0, "meta bucket missing")
	}
	return sm.ForEach(func(k, v []byte) error {
		if v == nil || bytes.Equal(k, []byte("run")) || bytes.Equal(k, []byte("merge")) {
			return nil
		}
		return dm.Put(bytes.Clone(k), bytes.Clone(v))
	})
}

// copySide replaces the sync and master buckets of dst with copies of
// src's.
func copySide(src, dst *bolt.Tx) error {
	for _, name := range [][]byte{bucketSync, bucketMaster} {
		if dst.Bucket(name) != nil {
			if err := dst.DeleteBucket(name); err != nil {
				return err
			}
		}
		sb := src.Bucket(name)
		if sb == nil {
			continue
		}
		db, err := dst.CreateBucket(name)
		if err != nil {
			return err
		}
		if err := copyBucket(sb, db); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// copyBucket copies every key, value and nested bucket of src into dst.
func copyBucket(src, dst *bolt.Bucket) error {
	dst.FillPercent = 1.0
	return src.ForEach(func(k, v []byte) error {
		if v != nil {
			return dst.Put(bytes.Clone(k), bytes.Clone(v))
		}
		sub, err := dst.CreateBucket(bytes.Clone(k))
		if err != nil {
			return err
		}
		return copyBucket(src.Bucket(k), sub)
	})
}

// copyCarried writes the carried movements and the tombstones: the
// plan's, or the file's as they are when there is no new cut.
func (c *copier) copyCarried() error {
	d := newCarriedDigest()
	var tombstones func(put func(k, v []byte) error) error
	if c.plan == nil {
		tombstones = func(put func(k, v []byte) error) error {
			return c.read(nil, func(tx *bolt.Tx) error {
				if rb := tx.Bucket(bucketRetained); rb != nil {
					return rb.ForEach(func(k, v []byte) error { return put(bytes.Clone(k), bytes.Clone(v)) })
				}
				return nil
			})
		}
	} else {
		tombstones = func(put func(k, v []byte) error) error {
			keys := make([]string, 0, len(c.plan.tombstones))
			for k := range c.plan.tombstones {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			seen := map[string]bool{}
			for _, k := range keys {
				seen[k] = true
				if err := put([]byte(k), appendTombstone(nil, c.plan.tombstones[k])); err != nil {
					return err
				}
			}
			// The file's other tombstones stay as they are.
			return c.read(nil, func(tx *bolt.Tx) error {
				if rb := tx.Bucket(bucketRetained); rb != nil {
					return rb.ForEach(func(k, v []byte) error {
						if seen[string(k)] {
							return nil
						}
						return put(bytes.Clone(k), bytes.Clone(v))
					})
				}
				return nil
			})
		}
	}
	// The carried movements, in chunks of one read and one write
	// transaction each.
	var seqs []uint64
	if c.plan != nil {
		seqs = c.plan.carry
	} else {
		err := c.read(nil, func(tx *bolt.Tx) error {
			if cb := tx.Bucket(bucketCarried); cb != nil {
				return cb.ForEach(func(k, _ []byte) error {
					if len(k) != 8 {
						return corruptf(0, "carried movement key of %d bytes", len(k))
					}
					seqs = append(seqs, binary.BigEndian.Uint64(k))
					return nil
				})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("bolt: compact: %w", err)
		}
	}
	for chunk := range slices.Chunk(seqs, rangeChunk*8) {
		recs := make([][]byte, 0, len(chunk))
		err := c.read(nil, func(tx *bolt.Tx) error {
			for _, seq := range chunk {
				rec, err := recordAt(tx, seq)
				if err != nil {
					return err
				}
				recs = append(recs, bytes.Clone(rec))
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("bolt: compact: read carried movements: %w", err)
		}
		err = c.dst.Update(func(tx *bolt.Tx) error {
			cb, err := tx.CreateBucketIfNotExists(bucketCarried)
			if err != nil {
				return err
			}
			cb.FillPercent = 1.0
			c.arena.Reset()
			c.entries = c.entries[:0]
			for i, seq := range chunk {
				m, err := decodeRecord(seq, recs[i])
				if err != nil {
					return err
				}
				if err := cb.Put(seqKey(seq), recs[i]); err != nil {
					return err
				}
				_, hash := recordHashes(recs[i])
				d.add(seq, hash)
				if m.Kind == agent.KindReject {
					c.rejects++
				}
				c.entries = indexEntries(c.entries, &m, seq, &c.arena)
			}
			return c.index(tx)
		})
		if err != nil {
			return fmt.Errorf("bolt: compact: write carried movements: %w", err)
		}
	}
	err := c.dst.Update(func(tx *bolt.Tx) error {
		var rb *bolt.Bucket
		var n uint64
		err := tombstones(func(k, v []byte) error {
			if rb == nil {
				var err error
				if rb, err = tx.CreateBucket(bucketRetained); err != nil {
					return err
				}
				rb.FillPercent = 1.0
			}
			n++
			return rb.Put(k, v)
		})
		if c.plan != nil {
			c.anchor.Retained = n
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("bolt: compact: write tombstones: %w", err)
	}
	if c.plan != nil {
		c.anchor.Carried, c.anchor.CarriedDigest = d.n, d.digest()
	}
	return nil
}

// recordAt returns the stored record of movement seq: from its batch, or
// carried.
func recordAt(tx *bolt.Tx, seq uint64) ([]byte, error) {
	b, ok, err := findBatch(tx.Bucket(bucketMovements).Cursor(), seq)
	if err != nil {
		return nil, err
	}
	if ok && seq <= b.Last() {
		if err := b.check(); err != nil {
			return nil, err
		}
		rec, _ := b.Record(int(seq - b.First))
		return rec, nil
	}
	if cb := tx.Bucket(bucketCarried); cb != nil {
		if rec := cb.Get(seqKey(seq)); rec != nil {
			return rec, nil
		}
	}
	return nil, corruptf(seq, "not in the file, neither in a batch nor carried")
}

// recordHashes returns a sealed record's PrevHash and Hash.
func recordHashes(rec []byte) (prev, hash []byte) {
	n := len(rec)
	return rec[n-recordTail : n-recordTail+hashSize], rec[n-recordTail+hashSize : n-crcSize]
}

// index adds the entries gathered, sorted, as a run of the new file's
// item index in tx.
func (c *copier) index(tx *bolt.Tx) error {
	if len(c.entries) == 0 {
		return nil
	}
	slices.SortFunc(c.entries, bytes.Compare)
	x := runindex.In(tx.Bucket(bucketMeta), tx.Bucket(bucketRuns), tx.Bucket(bucketIndex), indexConfigFor(c.l.batchSizeOf(c.dst)), &c.arena)
	return indexErr(x.Add(c.entries))
}

// batchSizeOf is the batch value size of db's pages.
func (l *Ledger) batchSizeOf(db *bolt.DB) int { return batchValueSize(db.Info().PageSize) }

// copyLive copies the movements after c.copied up to to, batch values as
// they are (the one the anchor falls in cut at the anchor), in
// transactions of about compactChunk bytes, each ending with the new
// file's meta naming its last movement and hash.
func (c *copier) copyLive(ctx context.Context, to uint64) error {
	for c.copied < to {
		if err := ctx.Err(); err != nil {
			return err
		}
		type value struct {
			first uint64
			v     []byte
		}
		var vals []value
		size := 0
		from := c.copied + 1
		err := c.read(&place{bucket: "movements"}, func(tx *bolt.Tx) error {
			cur := tx.Bucket(bucketMovements).Cursor()
			k, v := seekBatch(cur, from)
			next := from
			for ; k != nil && size < compactChunk && next <= to; k, v = cur.Next() {
				b, err := nextBatch(k, v)
				if err == nil {
					err = b.check()
				}
				if err != nil {
					return err
				}
				if b.Last() < next {
					continue
				}
				if b.First > next {
					return corruptf(next, "missing: the next batch starts at %d", b.First)
				}
				last := min(b.Last(), to)
				var val []byte
				if b.First == next && last == b.Last() {
					val = bytes.Clone(v)
				} else { // the batch the anchor or the end falls in
					recs := make([][]byte, 0, last-next+1)
					for seq := next; seq <= last; seq++ {
						rec, _ := b.Record(int(seq - b.First))
						recs = append(recs, rec)
					}
					val = appendBatch(nil, recs)
				}
				vals = append(vals, value{next, val})
				size += len(val)
				next = last + 1
			}
			if next == from {
				return corruptf(from, "missing from the file although the last movement is %d", to)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("bolt: compact: read movements from %d: %w", from, err)
		}
		err = c.dst.Update(func(tx *bolt.Tx) error {
			mb := tx.Bucket(bucketMovements)
			mb.FillPercent = 1.0
			c.arena.Reset()
			c.entries = c.entries[:0]
			for _, val := range vals {
				b, err := parseBatch(val.first, val.v)
				if err != nil {
					return err
				}
				for i := range b.N {
					seq := val.first + uint64(i)
					rec, _ := b.Record(i)
					m, err := decodeRecord(seq, rec)
					if err != nil {
						return err
					}
					c.entries = indexEntries(c.entries, &m, seq, &c.arena)
					c.lastRec = rec
					if m.Kind == agent.KindReject {
						c.rejects++
					}
				}
				if err := mb.Put(seqKey(val.first), val.v); err != nil {
					return err
				}
				c.copied = b.Last()
			}
			if err := c.index(tx); err != nil {
				return err
			}
			return c.putTip(tx)
		})
		if err != nil {
			return fmt.Errorf("bolt: compact: write movements from %d: %w", from, err)
		}
	}
	return nil
}

// putTip writes into the new file's meta what makes it a whole ledger
// up to c.copied: last_seq, last_hash, the rejected count, the anchor,
// the format version.
func (c *copier) putTip(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if c.copied >= c.first && c.lastRec != nil {
		_, hash := recordHashes(c.lastRec)
		if err := meta.Put(metaLastSeq, seqKey(c.copied)); err != nil {
			return err
		}
		if err := meta.Put(metaLastHash, bytes.Clone(hash)); err != nil {
			return err
		}
	}
	if err := meta.Put(metaRejected, binary.BigEndian.AppendUint64(nil, c.rejects)); err != nil {
		return err
	}
	version := uint64(FormatVersion)
	if c.cut {
		version = formatRetained
		if err := meta.Put(metaAnchor, appendAnchor(nil, &c.anchor)); err != nil {
			return err
		}
	}
	return meta.Put(metaVersion, binary.BigEndian.AppendUint64(nil, version))
}

// verify checks the new file as it stands (Verify), before anything
// more is copied into it.
func (c *copier) verify(ctx context.Context) error {
	v := &Ledger{db: c.dst, file: c.file, path: c.tmp, gateway: c.l.gateway, readOnly: true, log: c.l.log, stopped: make(chan struct{})}
	if err := v.Verify(ctx); err != nil {
		return fmt.Errorf("bolt: compact: the new file does not verify, the ledger stays as it was: %w", err)
	}
	return nil
}

// finish copies what is left up to last, and the side buckets again if
// they changed, and commits the new file with fsync.
func (c *copier) finish(ctx context.Context, last uint64) error {
	if err := c.copyLive(ctx, last); err != nil {
		return err
	}
	if c.l.sideWrites.Load() != c.side {
		err := c.read(nil, func(src *bolt.Tx) error {
			return c.dst.Update(func(dst *bolt.Tx) error { return copySide(src, dst) })
		})
		if err != nil {
			return fmt.Errorf("bolt: compact: copy the sync cursor and master data again: %w", err)
		}
	}
	// The copy wrote without fsyncs and without growing the file ahead
	// (NoGrowSync: the file ends where its data does, not up to 16 MiB
	// beyond); from the last commit on, the writer's settings.
	c.dst.NoSync, c.dst.NoGrowSync = false, false
	// A last commit with fsync, then the whole file once more: the
	// commits before it were not fsynced.
	if err := c.dst.Update(c.putTip); err != nil {
		return fmt.Errorf("bolt: compact: %w", err)
	}
	if err := c.dst.Sync(); err != nil {
		return fmt.Errorf("bolt: compact: sync %s: %w", c.tmp, err)
	}
	return nil
}

// rename puts the new file in place of the ledger's and makes it
// durable.
func (c *copier) rename() error {
	if err := os.Rename(c.tmp, c.l.path); err != nil {
		return fmt.Errorf("bolt: compact: put the new file in place: %w", err)
	}
	c.done = true
	if err := syncDir(filepath.Dir(c.l.path)); err != nil {
		return fmt.Errorf("bolt: compact: sync the directory of %s: %w", c.l.path, err)
	}
	return nil
}

// finishFile ends the compaction of a stopped agent's file.
func (c *copier) finishFile() error {
	if err := c.finish(context.Background(), c.l.last.Load()); err != nil {
		return err
	}
	if err := c.rename(); err != nil {
		return err
	}
	return c.dst.Close()
}

// swapIn ends the compaction of a running ledger: it holds off every
// transaction of the ledger, copies the rest, puts the new file in
// place and makes the ledger go on in it. It returns how long the
// transactions were held off.
func (c *copier) swapIn(ctx context.Context) (time.Duration, error) {
	l := c.l
	// Wait for a moment with no transaction open rather than queue behind
	// a long one (a verify) while holding off every new one; after a
	// while, queue.
	deadline := time.Now().Add(2 * time.Second)
	for !l.swap.TryLock() {
		if time.Now().After(deadline) {
			l.swap.Lock()
			break
		}
		time.Sleep(200 * time.Microsecond)
	}
	start := time.Now()
	c.held = true
	defer func() { c.held = false; l.swap.Unlock() }()
	if g := l.gone.Load(); g != nil {
		return 0, g
	}
	if err := c.finish(ctx, l.last.Load()); err != nil {
		return time.Since(start), err
	}
	if err := c.rename(); err != nil {
		if !c.done {
			return time.Since(start), err
		}
		// Renamed, but the directory not synced: the new file is the
		// ledger's path now, so the ledger must go on in it.
		l.log.Error("compaction: the directory was not synced after the rename", "path", l.path, "err", err)
	}
	fi, err := c.file.Stat()
	if err != nil {
		return time.Since(start), fmt.Errorf("bolt: compact: %w", err)
	}
	old := l.db
	l.db, l.file, l.fileInfo = c.dst, c.file, fi
	l.statsMu.Lock()
	l.rejected, l.stats.RejectedTotal = c.rejects, c.rejects
	l.noMerge, l.stats.IndexDamaged = false, false
	l.statsMu.Unlock()
	l.batchSize = l.batchSizeOf(c.dst)
	paused := time.Since(start)
	if err := old.Close(); err != nil && !errors.Is(err, fs.ErrClosed) {
		l.log.Warn("compaction: closing the old file", "path", l.path, "err", err)
	}
	return paused, nil
}
