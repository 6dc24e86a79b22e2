package nationaldb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/agent/national"
	"github.com/udi-edge/udi-edge/agent/nhsa"
	"github.com/udi-edge/udi-edge/agent/udid"
	bolt "go.etcd.io/bbolt"
)

// DefaultBatch is the number of records an import writes in one
// transaction.
const DefaultBatch = 2_500

// MaxProblems bounds the problems an import lists (it counts them all).
const MaxProblems = 20

// Options say how a file is imported.
type Options struct {
	// Batch is the number of records written in one transaction (0 means
	// DefaultBatch). Each transaction is fsynced; an import stopped half
	// way keeps the transactions committed, each device whole.
	Batch int
	// TempDir is where the UDID reader copies nested ZIPs too large for
	// memory ("" means os.TempDir()).
	TempDir string
	// Encoding names an NHSA file's character encoding ("" detects it;
	// see nhsa.Options).
	Encoding string
}

func (o Options) batch() int {
	if o.Batch > 0 {
		return o.Batch
	}
	return DefaultBatch
}

// Stats say what an import did.
type Stats struct {
	// File is the file imported.
	File string `json:"file"`
	// Read is the number of records read, bad ones included.
	Read int64 `json:"read"`
	// Kept is the number of records written to the index.
	Kept int64 `json:"kept"`
	// Bad is the number of bad records, reported and not written (the
	// record they would have replaced stays).
	Bad int64 `json:"bad"`
	// Stale counts devices not written because the index holds a later
	// version of them (VersionTime, then Version).
	Stale int64 `json:"stale,omitempty"`
	// Unkeyed counts devices none of whose DIs can be a product key (an
	// AHM code, a GTIN with a wrong check digit): nothing can look them
	// up, and they are not written. SkippedDIs counts every DI, of any
	// device, left out for that reason.
	Unkeyed    int64 `json:"unkeyed,omitempty"`
	SkippedDIs int64 `json:"skipped_dis,omitempty"`
	// Conflicts counts DIs of a device that another device gives too: the
	// device whose sales unit the DI is holds it, else the device written
	// last.
	Conflicts int64 `json:"conflicts,omitempty"`
	// Damaged is the number of documents (XML parts, JSON files, ZIP
	// entries) that could not be read to their end: the records after the
	// fault are missing from the import.
	Damaged int `json:"damaged,omitempty"`
	// Matched is the number of NHSA rows that name a product of the index,
	// by one of its DIs or by the national code its UDID record carries.
	Matched int64 `json:"matched,omitempty"`
	// Problems lists the first MaxProblems problems, each naming the
	// file, the record (or line) and the field.
	Problems []string `json:"problems,omitempty"`
	// Elapsed is how long the import took.
	Elapsed time.Duration `json:"elapsed_ns"`
}

// PerSecond returns the records read per second.
func (s *Stats) PerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Read) / s.Elapsed.Seconds()
}

func (s *Stats) note(format string, args ...any) {
	if len(s.Problems) < MaxProblems {
		s.Problems = append(s.Problems, fmt.Sprintf(format, args...))
	}
}

// ImportUDID imports the UDID export at path (a ZIP of the bulk download,
// an XML part or JSON pages: udid.Reader.Open) into the index, streaming.
// Each device replaces the device of the same sales-unit DI, unless the
// index holds a later version of it (Stats.Stale); a device whose DIs
// cannot be product keys is left out (Stats.Unkeyed). A bad record is
// counted, the first MaxProblems named, and passed over; so is a
// document that cannot be read to its end (Stats.Damaged): the import
// goes on with the next. It returns an error for a file that cannot be
// opened or is not a UDID export, for a write that fails, and ctx's
// error when ctx ends; what was committed before stays.
func (db *DB) ImportUDID(ctx context.Context, path string, opt Options) (Stats, error) {
	st := Stats{File: path}
	if db.readOnly {
		return st, ErrReadOnly
	}
	start := time.Now()
	w := &writer{db: db, st: Stats{File: path}}
	p := startPipe(opt.batch(), w.devices)
	r := udid.Reader{TempDir: opt.TempDir, Problem: func(err error) error {
		var re *udid.RecordError
		if errors.As(err, &re) {
			st.Bad++
		} else {
			st.Damaged++
		}
		st.note("%v", err)
		return nil
	}}
	n := 0
	rs, err := r.Open(path, func(d udid.Device) error {
		if n++; n%opt.batch() == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return p.add(d)
	})
	if werr := p.close(ctx.Err() != nil); err == nil {
		err = werr
	}
	st.Read = rs.Records + rs.Bad
	st.merge(&w.st)
	st.Elapsed = time.Since(start)
	return st, err
}

// ImportNHSA imports the NHSA consumables catalogue file at path
// (interface 1306: nhsa.ReadCatalogue) into the index, streaming. Each
// row replaces the row of the same national code. A bad row is counted,
// the first MaxProblems named, and passed over (nhsa.Options.SkipBadRows:
// the centre's file is too large to refuse whole for one row). It
// returns an error for a file that cannot be read (its header, its
// encoding, a record without end, no good row), for a write that fails,
// and ctx's error when ctx ends; what was committed before stays.
func (db *DB) ImportNHSA(ctx context.Context, path string, opt Options) (Stats, error) {
	st := Stats{File: path}
	if db.readOnly {
		return st, ErrReadOnly
	}
	start := time.Now()
	f, err := os.Open(path)
	if err != nil {
		return st, fmt.Errorf("nationaldb: %w", err)
	}
	defer f.Close()
	w := &writer{db: db, st: Stats{File: path}}
	p := startPipe(opt.batch(), w.rows)
	n := 0
	sum, err := nhsa.ReadCatalogue(f, path, nhsa.Options{Encoding: opt.Encoding, SkipBadRows: true}, func(it nhsa.Item) error {
		if n++; n%opt.batch() == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return p.add(it)
	})
	if werr := p.close(ctx.Err() != nil); err == nil {
		err = werr
	}
	st.Read, st.Bad = int64(sum.Rows), int64(sum.RejectedRows)
	rejected := sum.Rejected
	if bad := (*nhsa.BadRowsError)(nil); errors.As(err, &bad) {
		// No good row: the file is refused, each bad row listed.
		st.Bad, rejected = int64(bad.Bad), bad.Errors
	}
	for _, re := range rejected {
		st.note("%v", &re)
	}
	st.merge(&w.st)
	st.Elapsed = time.Since(start)
	return st, err
}

// merge adds what the writer counted and noted to s.
func (s *Stats) merge(w *Stats) {
	s.Kept, s.Stale, s.Unkeyed, s.SkippedDIs, s.Conflicts, s.Matched = w.Kept, w.Stale, w.Unkeyed, w.SkippedDIs, w.Conflicts, w.Matched
	for _, p := range w.Problems {
		s.note("%s", p)
	}
}

// writer writes batches of records in one transaction each, counting
// and noting in st what it did (it runs in a goroutine of its own).
type writer struct {
	db *DB
	st Stats
}

// devices writes a batch of devices, in the order of their keys (the
// bbolt pages they touch written together); of two versions of one
// device in the batch, the later in the file is written last.
func (w *writer) devices(batch []udid.Device) error {
	if len(batch) == 0 {
		return nil
	}
	type item struct {
		key string
		d   *udid.Device
	}
	items := make([]item, len(batch))
	for i := range batch {
		items[i] = item{national.Key(batch[i].DI), &batch[i]}
	}
	slices.SortStableFunc(items, func(a, b item) int { return strings.Compare(a.key, b.key) })
	return w.update(func(tx *bolt.Tx) error {
		t := newTxn(tx)
		for _, it := range items {
			if err := t.putDevice(it.key, it.d, &w.st); err != nil {
				return err
			}
		}
		return t.commitCounts()
	})
}

// update runs fn in a write transaction; its error says what failed.
func (w *writer) update(fn func(tx *bolt.Tx) error) error {
	if err := w.db.db.Update(fn); err != nil {
		return fmt.Errorf("nationaldb: %s: write: %w", w.db.path, err)
	}
	return nil
}

// rows writes a batch of NHSA rows, in the order of their codes.
func (w *writer) rows(batch []nhsa.Item) error {
	if len(batch) == 0 {
		return nil
	}
	items := make([]*nhsa.Item, len(batch))
	for i := range batch {
		items[i] = &batch[i]
	}
	slices.SortStableFunc(items, func(a, b *nhsa.Item) int { return strings.Compare(string(a.Code), string(b.Code)) })
	return w.update(func(tx *bolt.Tx) error {
		t := newTxn(tx)
		for _, it := range items {
			if err := t.putRow(it, &w.st); err != nil {
				return err
			}
		}
		return t.commitCounts()
	})
}

// txn is one write transaction with its buckets and the changes of the
// counters.
type txn struct {
	tx                                   *bolt.Tx
	meta, devices, keys, codes, rows, di *bolt.Bucket
	nDevices, nKeys, nRows               int64
}

func newTxn(tx *bolt.Tx) *txn {
	return &txn{tx: tx, meta: tx.Bucket(bucketMeta), devices: tx.Bucket(bucketDevices), keys: tx.Bucket(bucketKeys),
		codes: tx.Bucket(bucketCodes), rows: tx.Bucket(bucketNHSA), di: tx.Bucket(bucketNHSADI)}
}

func (t *txn) commitCounts() error {
	for _, c := range []struct {
		name  []byte
		delta int64
	}{{metaDevices, t.nDevices}, {metaKeys, t.nKeys}, {metaRows, t.nRows}} {
		if err := addCount(t.meta, c.name, c.delta); err != nil {
			return err
		}
	}
	return nil
}

// pair returns a 0x00 b, the key of the codes and nhsadi buckets.
func pair(a, b string) []byte {
	k := make([]byte, 0, len(a)+1+len(b))
	k = append(k, a...)
	k = append(k, 0)
	return append(k, b...)
}

// putDevice writes device d under key, replacing the device held there
// and the index entries it no longer has.
func (t *txn) putDevice(key string, d *udid.Device, st *Stats) error {
	es, skipped := national.Entries(*d)
	st.SkippedDIs += int64(len(skipped))
	var old deviceRecord
	oldValue := t.devices.Get([]byte(key))
	if oldValue != nil {
		var err error
		if old, err = decodeDevice(oldValue); err != nil {
			return fmt.Errorf("device %s: %w", key, err)
		}
		if later(&old.d, d) {
			st.Stale++
			return nil
		}
	}
	rec := deviceRecord{d: *d}
	for i := range es {
		if k := es[i].Product(); !slices.Contains(rec.keys, k) {
			rec.keys = append(rec.keys, k)
		}
		if c := es[i].InsuranceCode; c != "" && !slices.Contains(rec.codes, c) {
			rec.codes = append(rec.codes, c)
		}
	}
	for _, k := range old.keys {
		if !slices.Contains(rec.keys, k) && string(t.keys.Get([]byte(k))) == key {
			if err := t.keys.Delete([]byte(k)); err != nil {
				return err
			}
			t.nKeys--
		}
	}
	for _, c := range old.codes {
		if !slices.Contains(rec.codes, c) {
			if err := t.codes.Delete(pair(c, key)); err != nil {
				return err
			}
		}
	}
	if len(rec.keys) == 0 {
		st.Unkeyed++
		if d.Coding != udid.CodingAHM { // AHM codes are never product keys: counted, not listed
			st.note("%s: device %s: no DI can be a product key (%s): left out", st.File, d.DI, strings.Join(skipped, ", "))
		}
		if oldValue != nil {
			t.nDevices--
			return t.devices.Delete([]byte(key))
		}
		return nil
	}
	for _, k := range rec.keys {
		switch held := string(t.keys.Get([]byte(k))); {
		case held == "":
			t.nKeys++
		case held == key:
		case held == k:
			// k is the sales unit of the device that holds it: a package
			// or unit of use of another never takes it.
			st.Conflicts++
			st.note("%s: device %s: DI %s is the sales unit of device %s, which keeps it", st.File, key, k, held)
			continue
		case k == key:
			st.Conflicts++
			st.note("%s: device %s: its sales unit was a DI of device %s; it is the sales unit's now", st.File, key, held)
		default:
			st.Conflicts++
			st.note("%s: device %s: DI %s is also a DI of device %s; device %s, written last, holds it", st.File, key, k, held, key)
		}
		if err := t.keys.Put([]byte(k), []byte(key)); err != nil {
			return err
		}
	}
	for _, c := range rec.codes {
		if err := t.codes.Put(pair(c, key), nil); err != nil {
			return err
		}
	}
	if oldValue == nil {
		t.nDevices++
	}
	st.Kept++
	return t.devices.Put([]byte(key), encodeDevice(&rec))
}

// later reports whether held is a later version of the device than d:
// by VersionTime when both have one and they differ, else by Version.
// The same version replaces (a re-import, a corrected record).
func later(held, d *udid.Device) bool {
	if !held.VersionTime.IsZero() && !d.VersionTime.IsZero() && !held.VersionTime.Equal(d.VersionTime) {
		return held.VersionTime.After(d.VersionTime)
	}
	return held.Version > d.Version
}

// putRow writes NHSA row it under its code, replacing the row held there
// and the DI index entries it no longer has.
func (t *txn) putRow(it *nhsa.Item, st *Stats) error {
	code := string(it.Code)
	var dis []string
	for _, di := range it.UDIDI {
		if k := national.Key(di); k != "" && !slices.Contains(dis, k) {
			dis = append(dis, k)
		}
	}
	if v := t.rows.Get([]byte(code)); v != nil {
		old, err := decodeRow(v)
		if err != nil {
			return fmt.Errorf("nhsa row %s: %w", code, err)
		}
		for _, di := range old.UDIDI {
			if k := national.Key(di); k != "" && !slices.Contains(dis, k) {
				if err := t.di.Delete(pair(k, code)); err != nil {
					return err
				}
			}
		}
	} else {
		t.nRows++
	}
	matched := t.hasCode(code) || it.Code.Len() == nhsa.LongLen && t.hasCode(string(it.Code.Short()))
	for _, k := range dis {
		if err := t.di.Put(pair(k, code), nil); err != nil {
			return err
		}
		matched = matched || t.keys.Get([]byte(k)) != nil
	}
	if matched {
		st.Matched++
	}
	st.Kept++
	return t.rows.Put([]byte(code), encodeRow(it))
}

// hasCode reports whether a device's record carries national code code.
func (t *txn) hasCode(code string) bool {
	prefix := pair(code, "")
	k, _ := t.codes.Cursor().Seek(prefix)
	return k != nil && bytes.HasPrefix(k, prefix)
}
