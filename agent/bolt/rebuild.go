package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/udi-edge/udi-edge/agent/runindex"
)

// bucketRebuild holds an item index being rebuilt (its own "runs",
// "index" and the runindex state), out of the way of the live one until
// the last transaction of the rebuild puts it in its place.
var bucketRebuild = []byte("rebuild")

// rebuildChunk is about how many movements one transaction of a rebuild
// indexes: a few megabytes of entries and blocks.
const rebuildChunk = 1 << 16

// RebuildSummary is what RebuildIndex did.
type RebuildSummary struct {
	// Movements is how many movements were read, Entries how many index
	// entries they gave.
	Movements, Entries uint64
	// Unreadable are the movements whose batch or record could not be
	// read: they are not in the index (Verify names them).
	Unreadable []uint64
	// Upgraded is set when the file was of format 3.
	Upgraded bool
}

// RebuildIndex builds the item index of the ledger file at path afresh
// from its movements and puts it in place of the old one (and of a
// format 3 file's B+tree, upgrading the file to format 4): the remedy for
// an index Verify finds damaged. The movements are only read. The file
// must not be in use: like Open it waits up to timeout for another
// process's lock and then fails with ErrLocked.
//
// The new index is built in transactions of about 65,536 movements in a
// bucket of its own; the old one stays in use until the last transaction
// swaps them, so a crash or a cancelled ctx leaves the file as it was
// (the next rebuild starts again). A movement that cannot be read is
// left out and listed in the summary.
func RebuildIndex(ctx context.Context, path string, timeout time.Duration, log *slog.Logger) (RebuildSummary, error) {
	var sum RebuildSummary
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if _, err := os.Stat(path); err != nil {
		return sum, fmt.Errorf("bolt: rebuild index: %w", err)
	}
	abs, err := absPath(path)
	if err != nil {
		return sum, err
	}
	lock, err := lockPath(abs, max(timeout, time.Nanosecond))
	if err != nil {
		return sum, err
	}
	defer lock.release()
	db, file, err := openDB(path, &bolt.Options{Timeout: max(timeout, time.Nanosecond), FreelistType: bolt.FreelistMapType})
	if err != nil {
		return sum, err
	}
	defer db.Close()
	l := &Ledger{db: db, file: file, path: path, log: log}
	// Rebuilding deletes the old index's buckets, a walk of every page of
	// them: not where bbolt could go round for ever.
	if err := l.checkStructure(); err != nil {
		return sum, err
	}
	if len(l.unsafe) > 0 {
		return sum, fmt.Errorf("bolt: rebuild index: %w", l.unsafeError())
	}
	l.batchSize = batchValueSize(db.Info().PageSize)
	var last, first uint64
	var cut bool
	p := &place{bucket: "meta"}
	err = l.update(p, func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return fmt.Errorf("%w: %s has no meta bucket", ErrNotLedger, path)
		}
		version, err := l.readMeta(tx, meta)
		if err != nil {
			return err
		}
		sum.Upgraded = version == formatIndexTree
		last = l.last.Load()
		// After retention the movements start at the anchor, and those
		// carried from before it are indexed too (retention.go).
		if first, err = firstLive(tx); err != nil {
			return err
		}
		cut = first > 1
		if tx.Bucket(bucketRebuild) != nil { // left by a rebuild that did not finish
			if err := tx.DeleteBucket(bucketRebuild); err != nil {
				return err
			}
		}
		rb, err := tx.CreateBucket(bucketRebuild)
		if err != nil {
			return err
		}
		for _, name := range [][]byte{bucketRuns, bucketIndex} {
			if _, err := rb.CreateBucket(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return sum, fmt.Errorf("bolt: rebuild index: %w", err)
	}
	start := time.Now()
	var a runindex.Arena
	if cut {
		p.at("carried", 0, 0)
		err := l.update(p, func(tx *bolt.Tx) error {
			var entries [][]byte
			if cb := tx.Bucket(bucketCarried); cb != nil {
				err := cb.ForEach(func(k, v []byte) error {
					seq := binary.BigEndian.Uint64(k)
					m, err := decodeRecord(seq, v)
					if err != nil {
						sum.Unreadable = append(sum.Unreadable, seq)
						return nil
					}
					sum.Movements++
					entries = indexEntries(entries, &m, seq, &a)
					return nil
				})
				if err != nil {
					return err
				}
			}
			slices.SortFunc(entries, bytes.Compare)
			sum.Entries += uint64(len(entries))
			rb := tx.Bucket(bucketRebuild)
			return runindex.In(rb, rb.Bucket(bucketRuns), rb.Bucket(bucketIndex), indexConfigFor(l.batchSize), &a).Add(entries)
		})
		if err != nil {
			return sum, fmt.Errorf("bolt: rebuild index: %w", indexErr(err))
		}
	}
	for next := first; next <= last; {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		a.Reset()
		p.at("movements", next, 0)
		err := l.update(p, func(tx *bolt.Tx) error {
			var entries [][]byte
			unreadable := func(from, to uint64) {
				for seq := from; seq <= to; seq++ {
					sum.Unreadable = append(sum.Unreadable, seq)
				}
			}
			c := tx.Bucket(bucketMovements).Cursor()
			k, v := seekBatch(c, next)
			for ; k != nil && len(entries) < rebuildChunk; k, v = c.Next() {
				b, err := nextBatch(k, v)
				if err == nil {
					err = b.check()
				}
				if err != nil || b.Last() < next {
					// A damaged batch: the gap it leaves shows at the next
					// good one, or at the end.
					continue
				}
				p.at("movements", b.First, b.Last())
				unreadable(next, b.First-1)
				for seq := max(next, b.First); seq <= b.Last(); seq++ {
					rec, _ := b.Record(int(seq - b.First)) // in bounds: check passed
					m, err := decodeRecord(seq, rec)
					if err != nil {
						sum.Unreadable = append(sum.Unreadable, seq)
						continue
					}
					sum.Movements++
					entries = indexEntries(entries, &m, seq, &a)
				}
				next = b.Last() + 1
			}
			if k == nil {
				unreadable(next, last)
				next = last + 1
			}
			slices.SortFunc(entries, bytes.Compare)
			sum.Entries += uint64(len(entries))
			rb := tx.Bucket(bucketRebuild)
			x := runindex.In(rb, rb.Bucket(bucketRuns), rb.Bucket(bucketIndex), indexConfigFor(l.batchSize), &a)
			return x.Add(entries)
		})
		if err != nil {
			return sum, fmt.Errorf("bolt: rebuild index: %w", indexErr(err))
		}
	}
	p.at("item index", 0, 0)
	err = l.update(p, func(tx *bolt.Tx) error {
		meta, rb := tx.Bucket(bucketMeta), tx.Bucket(bucketRebuild)
		for _, name := range [][]byte{bucketRuns, bucketIndex, bucketItems} {
			if tx.Bucket(name) != nil {
				if err := tx.DeleteBucket(name); err != nil {
					return err
				}
			}
			if !bytes.Equal(name, bucketItems) {
				if err := tx.MoveBucket(name, rb, nil); err != nil {
					return fmt.Errorf("move the new %s: %w", name, err)
				}
			}
		}
		for _, k := range [][]byte{[]byte("run"), []byte("merge")} {
			if err := meta.Delete(k); err != nil {
				return err
			}
			if v := rb.Get(k); v != nil {
				if err := meta.Put(k, bytes.Clone(v)); err != nil {
					return err
				}
			}
		}
		if err := tx.DeleteBucket(bucketRebuild); err != nil {
			return err
		}
		version := uint64(FormatVersion)
		if cut {
			version = formatRetained
		}
		return meta.Put(metaVersion, binary.BigEndian.AppendUint64(nil, version))
	})
	if err != nil {
		return sum, fmt.Errorf("bolt: rebuild index: %w", err)
	}
	log.Info("item index rebuilt", "path", path, "movements", sum.Movements, "entries", sum.Entries,
		"unreadable", len(sum.Unreadable), "took", time.Since(start).Round(time.Millisecond))
	return sum, nil
}
