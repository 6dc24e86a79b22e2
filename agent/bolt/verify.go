package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/udi-edge/udi-edge/agent"
)

// maxVerifyErrors bounds how many problems Verify collects.
const maxVerifyErrors = 20

// Verify checks the whole file: first the page structure of the bbolt
// file itself, read without bbolt (pagecheck.go), so that no damage can
// make the check panic; then, in the buckets whose pages are whole, every
// batch: its header is whole (checksum, count, record bounds), it starts
// right after the previous one (no gap, no overlap, the first at 1) and
// every record in it decodes and names the file's gateway; the last
// movement is the meta bucket's last_seq, and the rejected reads its
// count; the file holds the ledger's buckets and meta keys and nothing
// else; the item index is whole (every block, run and merge in progress
// well formed, the next run id past every run) and holds exactly one
// entry per key of every movement, and nothing else; the hash chain (see
// VerifyChain), whose first break is one *ChainError among the problems;
// and last the tip file (tip.go): a *Loss when the file lost committed
// movements. It returns nil, ctx's error, or the problems found joined
// (at most 20), each wrapping ErrCorrupt. On a writable ledger (a running
// agent's) it runs beside the writer, in a read transaction, and leaves
// out the page check that reads the file around bbolt (the one Open ran
// stands; a warning says so).
func (l *Ledger) Verify(ctx context.Context) error {
	_, err := l.VerifyAll(ctx)
	return err
}

// VerifyAll is Verify, and returns beside its problems the chain's summary
// as VerifyChain does, from the same single walk of the chain: the
// summary is whole when no *ChainError is among the problems. Its
// Warnings list what was found that loses nothing (a damaged meta page
// bbolt does not use, a damaged or missing tip file); they are set
// whatever the problems.
func (l *Ledger) VerifyAll(ctx context.Context) (ChainSummary, error) {
	var sum ChainSummary
	if l.dbClosed.Load() {
		return sum, ErrClosed
	}
	// A read transaction: a running agent goes on recording while its
	// ledger is verified (a write transaction would hold every scan's
	// answer for the whole walk). What the transaction reads stays as it
	// was when it began.
	l.swap.RLock()
	defer l.swap.RUnlock()
	tx, err := l.db.Begin(false)
	if err != nil {
		return sum, fmt.Errorf("bolt: verify: %w", err)
	}
	defer func() { _ = tx.Rollback() }()

	v := &verifier{l: l, ctx: ctx, tx: tx}
	var warnings []string
	rep := &pageReport{unsafe: l.unsafe}
	if l.readOnly {
		// The file's own page check reads the file around bbolt: only
		// while no writer changes its pages.
		fi, err := l.file.Stat()
		if err != nil {
			return sum, fmt.Errorf("bolt: verify: %w", err)
		}
		if rep, err = checkPages(ctx, l.file, fi.Size(), false); err != nil {
			return sum, err
		}
	} else {
		warnings = append(warnings, "the ledger is being written (a running agent): its pages were checked when it was opened; stop the agent and verify again for the full page check")
	}
	warnings = append(warnings, rep.warnings...)
	for _, err := range rep.problems {
		v.add(err)
	}
	// bbolt reads no bucket whose branches are damaged: it could go round
	// a loop no recover can stop. Other damage it meets makes it panic at
	// worst, and each section below stops there.
	whole := func(names ...[]byte) bool {
		if rep.unsafe[""] {
			return false
		}
		for _, n := range names {
			if rep.unsafe[string(n)] {
				return false
			}
		}
		return true
	}
	var skipped []string
	section := func(what string, buckets [][]byte, fn func() error) {
		if v.full() {
			return
		}
		if !whole(buckets...) {
			skipped = append(skipped, what)
			return
		}
		if err := guard(v.p, fn); err != nil {
			v.add(err)
		}
	}
	v.p = &place{bucket: "meta"}
	section("the ledger's buckets", nil, v.buckets)
	v.p = &place{bucket: "movements"}
	section("the movements", [][]byte{bucketMovements, bucketMeta, bucketCarried, bucketRetained}, v.movements)
	v.p = &place{bucket: "item index"}
	section("the item index", [][]byte{bucketMovements, bucketMeta, bucketRuns, bucketIndex, bucketItems}, func() error {
		for _, err := range l.verifyIndex(ctx, tx, v.seeds, v.want, v.wantSet) {
			if !v.add(err) {
				break
			}
		}
		return nil
	})
	v.p = &place{bucket: "movements"}
	section("the hash chain", [][]byte{bucketMovements, bucketMeta, bucketCarried}, func() error {
		var err error
		sum, err = verifyChain(ctx, tx, v.p)
		return err
	})
	if err := ctx.Err(); err != nil {
		return ChainSummary{}, err
	}
	if len(skipped) > 0 {
		v.add(corruptf(0, "not checked, bbolt's pages they are read through being damaged: %s", strings.Join(skipped, ", ")))
	}
	if loss := l.Loss(); loss != nil && loss.Recorded == 0 {
		v.add(loss)
	}
	sum.Warnings = append(warnings, l.tipWarnings()...)
	return sum, errors.Join(v.errs...)
}

// verifier is one run of VerifyAll: its transaction, the problems found,
// and what the walk of the movements hands the index check.
type verifier struct {
	l    *Ledger
	ctx  context.Context
	tx   *bolt.Tx
	p    *place
	errs []error
	// seeds and want are the digest of the index entries the movements'
	// keys make; wantSet is set once the walk of the movements filled them.
	seeds   entrySeeds
	want    entrySum
	wantSet bool
}

// add records a problem and reports whether there is room for more.
func (v *verifier) add(err error) bool {
	if len(v.errs) < maxVerifyErrors {
		v.errs = append(v.errs, err)
	}
	return len(v.errs) < maxVerifyErrors
}

func (v *verifier) full() bool { return len(v.errs) >= maxVerifyErrors }

// Top-level buckets and meta keys a ledger file holds; anything else is
// damage (a changed name) or not the ledger's.
var (
	ledgerBuckets = [][]byte{bucketMeta, bucketMovements, bucketRuns, bucketIndex, bucketItems, bucketMaster, bucketSync, bucketRebuild, bucketCarried, bucketRetained}
	ledgerMeta    = [][]byte{metaVersion, metaGateway, metaCreated, metaLastSeq, metaRejected, metaLastHash, []byte("run"), []byte("merge"), metaAnchor}
)

// buckets checks the names of the top-level buckets and of the meta keys.
func (v *verifier) buckets() error {
	err := v.tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		if !slices.ContainsFunc(ledgerBuckets, func(b []byte) bool { return bytes.Equal(b, name) }) {
			v.add(corruptf(0, "a bucket named %q is not the ledger's", printable(name)))
		}
		return nil
	})
	if err != nil {
		return err
	}
	meta := v.tx.Bucket(bucketMeta)
	if meta == nil {
		v.add(corruptf(0, "meta bucket missing"))
		return nil
	}
	if sb := v.tx.Bucket(bucketSync); sb != nil {
		// The sync cursor: acknowledged movements are committed ones.
		c, last := sb.Get(syncCursor), meta.Get(metaLastSeq)
		if c != nil && (len(c) != 8 || len(last) == 8 && binary.BigEndian.Uint64(c) > binary.BigEndian.Uint64(last)) {
			v.add(corruptf(0, "sync cursor %s is not a movement of the ledger", hexKey(c)))
		}
	}
	return meta.ForEach(func(k, _ []byte) error {
		if !slices.ContainsFunc(ledgerMeta, func(b []byte) bool { return bytes.Equal(b, k) }) {
			v.add(corruptf(0, "meta key %q is not the ledger's", printable(k)))
		}
		return nil
	})
}

// movements walks every batch; see Verify.
func (v *verifier) movements() error {
	l, tx, ctx := v.l, v.tx, v.ctx
	mb, meta := tx.Bucket(bucketMovements), tx.Bucket(bucketMeta)
	if mb == nil || meta == nil {
		return corruptf(0, "meta or movements bucket missing")
	}
	var lastSeq, rejectedMeta uint64
	if b := meta.Get(metaLastSeq); len(b) == 8 {
		lastSeq = binary.BigEndian.Uint64(b)
	} else {
		v.add(corruptf(0, "meta last_seq has %d bytes, want 8", len(b)))
	}
	rejectedKnown := true
	if b := meta.Get(metaRejected); len(b) == 8 {
		rejectedMeta = binary.BigEndian.Uint64(b)
	} else {
		v.add(corruptf(0, "meta rejected has %d bytes, want 8", len(b)))
		rejectedKnown = false
	}

	var (
		next     uint64 = 1 // where the next batch must start
		known           = true
		batches  int
		rejected uint64
		ik       []byte
	)
	v.seeds = newEntrySeeds()
	first, err := firstLive(tx)
	if err != nil {
		v.add(err)
	}
	next = first
	if err := v.carried(first, &rejected); err != nil {
		return err
	}
	c := mb.Cursor()
	for k, val := c.First(); k != nil; k, val = c.Next() {
		if batches++; batches%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if len(k) != 8 {
			if !v.add(corruptf(0, "movement key of %d bytes", len(k))) {
				return nil
			}
			known, rejectedKnown = false, false
			continue
		}
		first := binary.BigEndian.Uint64(k)
		v.p.at("movements", first, 0)
		switch {
		case !known:
		case first > next:
			if !v.add(corruptf(first, "sequence gap: movements %d to %d missing", next, first-1)) {
				return nil
			}
		case first < next:
			if !v.add(corruptf(first, "batch overlaps the previous one, which ends at %d", next-1)) {
				return nil
			}
		}
		b, err := parseBatch(first, val)
		if err == nil {
			err = b.check()
		}
		if err != nil {
			// Where the next batch should start is not known: take it
			// from its key.
			if !v.add(err) {
				return nil
			}
			known, rejectedKnown = false, false
			continue
		}
		v.p.at("movements", first, b.Last())
		next, known = b.Last()+1, true
		for i := range b.N {
			seq := first + uint64(i)
			rec, _ := b.Record(i) // in bounds: check passed
			m, err := decodeRecord(seq, rec)
			if err != nil {
				if !v.add(err) {
					return nil
				}
				rejectedKnown = false
				continue
			}
			if m.Gateway != l.gateway {
				if !v.add(corruptf(seq, "gateway differs from the file's")) {
					return nil
				}
			}
			if m.Kind == agent.KindReject {
				rejected++
			}
			for _, key := range m.TraceKeys() {
				ik = appendIndexEntry(ik[:0], key, seq)
				v.want.add(v.seeds, ik)
			}
		}
		v.p.at("movements", next, 0)
	}
	v.wantSet = true
	if known && next-1 != lastSeq {
		v.add(corruptf(0, "last movement %d but last_seq %d", next-1, lastSeq))
	}
	if rejectedKnown && rejected != rejectedMeta {
		v.add(corruptf(0, "meta rejected counts %d rejected reads, the movements hold %d", rejectedMeta, rejected))
	}
	return nil
}

// verifyIndex checks the item index against want, the entries of the
// movements' keys: it must be well formed and hold exactly those. When it
// does not, a second pass looks up each movement's entries to name the
// movements whose entries are missing. When the movements could not be
// walked (compare false) it checks only that the index is well formed.
func (l *Ledger) verifyIndex(ctx context.Context, tx *bolt.Tx, seeds entrySeeds, want entrySum, compare bool) []error {
	if err := checkNextRun(tx); err != nil {
		return []error{err}
	}
	var got entrySum
	if ib := tx.Bucket(bucketItems); ib != nil {
		var prev []byte
		err := ib.ForEach(func(k, v []byte) error {
			if v == nil || len(v) != 0 || bytes.Compare(k, prev) <= 0 {
				return corruptf(0, "items bucket entry of %d bytes is not an index entry", len(k))
			}
			prev = k
			got.add(seeds, k)
			return nil
		})
		if err != nil {
			return []error{err}
		}
	}
	if tx.Bucket(bucketRuns) != nil {
		err := l.index(tx, nil).Check(func(e []byte) error {
			got.add(seeds, e)
			return nil
		})
		if err != nil {
			return []error{indexErr(err)}
		}
	}
	if got == want || !compare {
		return nil
	}
	// Damaged batches and records were reported by the first pass.
	var errs []error
	var ik []byte
	c := tx.Bucket(bucketMovements).Cursor()
walk:
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if err := ctx.Err(); err != nil {
			return []error{err}
		}
		b, err := nextBatch(k, v)
		if err != nil || b.check() != nil {
			continue
		}
		for i := range b.N {
			seq := b.First + uint64(i)
			rec, _ := b.Record(i)
			m, err := decodeRecord(seq, rec)
			if err != nil {
				continue
			}
			for _, key := range m.TraceKeys() {
				ik = appendIndexEntry(ik[:0], key, seq)
				found := false
				err := l.lookupIndex(tx, ik, func(e []byte) error {
					found = found || bytes.Equal(e, ik)
					return nil
				})
				if err != nil {
					errs = append(errs, err)
					break walk
				}
				if !found {
					if errs = append(errs, corruptf(seq, "index entry missing")); len(errs) >= maxVerifyErrors {
						break walk
					}
				}
			}
		}
	}
	if len(errs) == 0 {
		errs = append(errs, corruptf(0, "index holds %d entries for %d keys of movements, or other entries", got.n, want.n))
	}
	return errs
}

// checkNextRun checks that the item index's next run id (meta "run") is
// past every run's: a smaller one would make the next transaction fail
// to create its run.
func checkNextRun(tx *bolt.Tx) error {
	ib := tx.Bucket(bucketIndex)
	if ib == nil {
		return nil
	}
	k, _ := ib.Cursor().Last()
	if k == nil {
		return nil
	}
	next := tx.Bucket(bucketMeta).Get([]byte("run"))
	if len(next) != 8 || len(k) != 8 || binary.BigEndian.Uint64(next) <= binary.BigEndian.Uint64(k) {
		return corruptf(0, "item index: the next run id (meta run, %s) is not past the last run, %s", hexKey(next), hexKey(k))
	}
	return nil
}

// carried checks, after retention, the carried movements (each decodes,
// names the file's gateway and comes before the anchor at first; their
// keys go into the index's expected entries, their rejected reads into
// the count) and the tombstones of the keys retained away. The carried
// records' hashes are checked with the chain (verifyCarried).
func (v *verifier) carried(first uint64, rejected *uint64) error {
	var ik []byte
	if cb := v.tx.Bucket(bucketCarried); cb != nil {
		c := cb.Cursor()
		for k, val := c.First(); k != nil; k, val = c.Next() {
			if err := v.ctx.Err(); err != nil {
				return err
			}
			if len(k) != 8 || binary.BigEndian.Uint64(k) >= first {
				if !v.add(corruptf(0, "carried movement under key %s, not a movement before the anchor %d", hexKey(k), first)) {
					return nil
				}
				continue
			}
			seq := binary.BigEndian.Uint64(k)
			v.p.at("carried", seq, 0)
			m, err := decodeRecord(seq, val)
			if err != nil {
				if !v.add(err) {
					return nil
				}
				continue
			}
			if m.Gateway != v.l.gateway {
				v.add(corruptf(seq, "carried, but its gateway differs from the file's"))
			}
			if m.Kind == agent.KindReject {
				*rejected++
			}
			for _, key := range m.TraceKeys() {
				ik = appendIndexEntry(ik[:0], key, seq)
				v.want.add(v.seeds, ik)
			}
		}
	}
	if rb := v.tx.Bucket(bucketRetained); rb != nil {
		err := rb.ForEach(func(k, val []byte) error {
			if _, err := parseTombstone(k, val); err != nil {
				v.add(err)
				return errors.New("stop")
			}
			return nil
		})
		_ = err // the first bad tombstone is enough
	}
	return nil
}
