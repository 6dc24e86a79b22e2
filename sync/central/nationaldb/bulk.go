package nationaldb

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"path/filepath"

	"github.com/udi-edge/udi-edge/agent/national"
	"github.com/udi-edge/udi-edge/agent/runindex"
	"github.com/udi-edge/udi-edge/agent/udid"
	bolt "go.etcd.io/bbolt"
)

// Sizes of a first import.
const (
	// defaultRunBytes is the memory a first import gathers records in
	// before it sorts them and writes them to a temporary file.
	defaultRunBytes = 16 << 20
	// bulkBatch is the number of devices the reading of a first import
	// hands at a time to the goroutine that sorts them.
	bulkBatch = 1000
	// loadTxBytes is about how much memory the keys and values a
	// transaction of a first import writes take before the commit.
	loadTxBytes = 8 << 20
)

// The first byte of a version's entry among a first import's devices.
const (
	versionKeyed   = 1 // then the version, the device record
	versionUnkeyed = 2 // then the version, the problem to note ("" none)
)

// The first byte of an index entry of a first import, which orders them
// as they are written: the codes bucket, then the keys bucket.
const (
	indexCode = 'c' // then a key of the codes bucket
	indexKey  = 'k' // then a product key; the payload is an event
)

// The first byte of the payload of a product key's event (appendEvent),
// then the key's place among the version's keys and the re-import's
// transaction (uvarints), then the device key.
const (
	keyClaim   = 'c' // a version of the device gives the key
	keyRelease = 'r' // a later version of the device no longer does
)

// bulk is a UDID import that sorts the file's devices (read) and then
// writes them as putDevice would, one device after another in the order
// of the file: a first import, of a file into an index that holds no
// device (write), or a re-import (reimport, reimport.go).
//
// A first import writes in one pass over each bucket in the order of its
// keys, which bbolt appends to full pages, where random inserts would
// dirty a page a key in every transaction.
//
// Reading, each version of a device goes to a sorter by device key (then
// order in the file). Merged, the versions of a device are applied in
// the order of the file (versions): a version an earlier one is later
// than is stale, a version without a product key drops the device, else
// it replaces. The device held at the end is written; the product keys
// each applied version gives (a claim) and those of the version it
// replaced it no longer gives (a release) go to a second sorter, with the
// codes of the devices written. Merged, that sorter's entries give the
// codes bucket, then for each product key its events in the order of the
// file, which decide who holds it (replay) as putDevice would. Problems
// are kept in the order of the file (noteList).
//
// The devices are written before the keys that lead to them: an import
// stopped half way has written whole devices that no key leads to yet,
// and no key that leads nowhere; run again, the import replaces each of
// them (the same version) and writes their keys.
type bulk struct {
	db    *DB
	ctx   context.Context
	opt   Options
	st    *Stats
	devs  *runSorter
	index *runSorter
	// dir is where the sorters' runs go; runBytes their memory.
	dir      string
	runBytes int

	notes noteList // the problems of the writing

	// Of the reading (read).
	seq          uint64
	rec          deviceRecord
	key, payload []byte
}

// newBulk starts a first import into db; its sorted runs go to
// opt.TempDir, else beside the index.
func newBulk(ctx context.Context, db *DB, st *Stats, opt Options) *bulk {
	b := &bulk{db: db, ctx: ctx, opt: opt, st: st, dir: cmp.Or(opt.TempDir, filepath.Dir(db.path)), runBytes: cmp.Or(opt.runBytes, defaultRunBytes)}
	b.devs, b.index = b.sorter(), b.sorter()
	return b
}

// sorter returns a sorter of the import's run size and directory.
func (b *bulk) sorter() *runSorter { return newRunSorter(b.dir, b.runBytes) }

// close removes the sorters' files.
func (b *bulk) close() {
	b.devs.close()
	b.index.close()
}

// read takes a batch of devices read from the file (in a goroutine of its
// own, while the file is read on).
func (b *bulk) read(batch []udid.Device) error {
	for i := range batch {
		d := &batch[i]
		b.seq++
		es, skipped := national.Entries(*d)
		b.st.SkippedDIs += int64(len(skipped))
		deviceKeys(&b.rec, es)
		e := encoder{b: append(b.payload[:0], versionKeyed)}
		e.time(d.VersionTime)
		e.uint(uint64(d.Version))
		if len(b.rec.keys) == 0 {
			e.b[0] = versionUnkeyed
			e.str(unkeyedNote(b.st.File, d, skipped))
		} else {
			b.rec.d = *d
			e.b = appendDevice(e.b, &b.rec)
		}
		b.payload = e.b
		b.key = append(b.key[:0], national.Key(d.DI)...)
		if err := b.devs.add(b.key, b.seq, b.payload); err != nil {
			return fmt.Errorf("nationaldb: %s: %w", b.db.path, err)
		}
	}
	return nil
}

// write writes what was read: the devices, then the index entries.
func (b *bulk) write() error {
	l := &loader{db: b.db, ctx: b.ctx, txBytes: cmp.Or(b.opt.txBytes, loadTxBytes), committed: b.opt.committed}
	defer l.rollback()
	err := b.writeDevices(l)
	if err == nil {
		err = b.writeIndex(l)
	}
	if err == nil {
		err = l.commit()
	}
	b.notes.flush(b.st, 0)
	if err != nil {
		return fmt.Errorf("nationaldb: %s: %w", b.db.path, err)
	}
	return nil
}

// writeDevices writes each device as the last version of it applied
// leaves it, and hands the index entries to b.index.
func (b *bulk) writeDevices(l *loader) error {
	m, err := b.devs.merge()
	if err != nil {
		return err
	}
	var entry, event []byte
	v := &versions{note: b.note}
	v.event = func(kind byte, k []byte, seq uint64, sub int) error {
		entry = append(append(entry[:0], indexKey), k...)
		event = appendEvent(event[:0], kind, sub, 0, v.key)
		return b.index.add(entry, seq, event)
	}
	return eachDevice(m, v, func(key []byte) (bool, error) {
		v.start(key, nil)
		return true, nil
	}, func() error {
		b.st.Kept, b.st.Stale, b.st.Unkeyed = b.st.Kept+v.kept, b.st.Stale+v.stale, b.st.Unkeyed+v.unkeyed
		if !v.isHeld {
			return nil
		}
		if err := l.put(bucketDevices, v.key, v.held); err != nil {
			return err
		}
		for _, c := range v.heldCodes {
			entry = appendPair(append(entry[:0], indexCode), c, v.key)
			if err := b.index.add(entry, 0, nil); err != nil {
				return err
			}
		}
		return nil
	})
}

// note keeps a problem of the writing, placed in the file.
func (b *bulk) note(seq uint64, sub int, text string) {
	b.notes.add(placedNote{seq: seq, sub: sub, text: text})
}

// conflict counts and notes a conflict: the claim c of product key k by
// event ev, which device held holds.
func (b *bulk) conflict(k []byte, ev *keyEvent, c claim, held []byte) {
	b.st.Conflicts++
	b.notes.conflict(b.st.File, k, ev, c, held)
}

// writeIndex writes the codes bucket, then the keys bucket: each product
// key held by the device its events leave it to.
func (b *bulk) writeIndex(l *loader) error {
	m, err := b.index.merge()
	if err != nil {
		return err
	}
	var g keyGroup
	put := func(k []byte, evs []keyEvent) error {
		if holder, _ := replay(k, nil, evs, 0, b.conflict); len(holder) > 0 {
			return l.put(bucketKeys, k, holder)
		}
		return nil
	}
	err = m.each(func(ikey []byte, seq uint64, payload []byte) error {
		switch {
		case len(ikey) > 0 && ikey[0] == indexCode:
			return l.put(bucketCodes, ikey[1:], nil)
		case len(ikey) > 0 && ikey[0] == indexKey:
			return g.add(ikey[1:], seq, payload, put)
		}
		return fmt.Errorf("sorted run: %w: index entry %q", ErrCorrupt, ikey)
	})
	if err != nil {
		return err
	}
	return g.flush(put)
}

func containsBytes(list [][]byte, b []byte) bool {
	for _, x := range list {
		if bytes.Equal(x, b) {
			return true
		}
	}
	return false
}

// loader writes keys in ascending order into the empty buckets of an
// index, in transactions of about txBytes, each counting what it
// adds. Its buckets fill their pages to the end (FillPercent 1): keys
// come in order, so no page is split later.
type loader struct {
	db  *DB
	ctx context.Context

	writeTx
	buckets         map[string]*bolt.Bucket
	bytes           int
	nDevices, nKeys int64
	txBytes         int          // about the most a transaction writes
	committed       func([]byte) // called after each commit (tests)
}

// put puts k and v in bucket, committing the transaction when it is
// large enough.
func (l *loader) put(bucket, k, v []byte) error {
	if began, err := l.begin(l.ctx, l.db); err != nil {
		return err
	} else if began {
		l.buckets = map[string]*bolt.Bucket{}
	}
	bk := l.buckets[string(bucket)]
	if bk == nil {
		bk = l.tx.Bucket(bucket)
		bk.FillPercent = 1
		l.buckets[string(bucket)] = bk
	}
	if err := bk.Put(k, l.value(v)); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	switch {
	case bytes.Equal(bucket, bucketDevices):
		l.nDevices++
	case bytes.Equal(bucket, bucketKeys):
		l.nKeys++
	}
	// bbolt holds a copy of the key and a node entry of some 64 bytes.
	if l.bytes += 2*len(k) + len(v) + 96; l.bytes >= l.txBytes {
		return l.commit()
	}
	return nil
}

// commit commits the transaction, if one is open, with its counts.
func (l *loader) commit() error {
	if l.tx == nil {
		return nil
	}
	err := l.writeTx.commit(l.nDevices, l.nKeys)
	l.bytes, l.nDevices, l.nKeys = 0, 0, 0
	if err != nil {
		return err
	}
	if l.committed != nil {
		l.committed(nil)
	}
	return nil
}

// writeTx is a write transaction of an import, if one is open, and the
// values it puts: bbolt keeps the values put, not copies, until the
// commit.
type writeTx struct {
	tx    *bolt.Tx
	arena runindex.Arena
}

// begin begins a transaction unless one is open, unless ctx has ended;
// it reports whether it began one.
func (w *writeTx) begin(ctx context.Context, db *DB) (bool, error) {
	if w.tx != nil {
		return false, nil
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	tx, err := db.db.Begin(true)
	if err != nil {
		return false, fmt.Errorf("write: %w", err)
	}
	w.tx = tx
	return true, nil
}

// value returns a copy of v valid until the transaction ends.
func (w *writeTx) value(v []byte) []byte { return append(w.arena.Alloc(len(v)), v...) }

// commit commits the transaction with the changes of the counts of
// devices and keys.
func (w *writeTx) commit(nDevices, nKeys int64) error {
	t := txn{meta: w.tx.Bucket(bucketMeta), nDevices: nDevices, nKeys: nKeys}
	err := t.commitCounts()
	if err == nil {
		err = w.tx.Commit()
	} else {
		_ = w.tx.Rollback()
	}
	w.tx = nil
	w.arena.Reset()
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

// rollback drops the transaction, if one is open.
func (w *writeTx) rollback() {
	if w.tx != nil {
		_ = w.tx.Rollback()
		w.tx = nil
		w.arena.Reset()
	}
}
