package nationaldb

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/agent/master"
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
	// DefaultBatch) by an NHSA import, and the number read between two
	// looks at the context. Each transaction is fsynced; an import
	// stopped half way keeps the transactions committed. A UDID import
	// (ImportUDID) writes in transactions of its own size.
	Batch int
	// TempDir is where the UDID reader copies nested ZIPs too large for
	// memory ("" means os.TempDir()) and where a UDID import keeps its
	// sorted runs, about 400 bytes a device ("" means the index's
	// directory).
	TempDir string
	// Encoding names an NHSA file's character encoding ("" detects it;
	// see nhsa.Options).
	Encoding string

	// runBytes is the memory of a UDID import's sorted runs (0 means
	// defaultRunBytes), txBytes the size of its transactions (0 means
	// loadTxBytes); tests make them small.
	runBytes, txBytes int
	// incremental has a UDID import written in batches of Batch
	// devices, one device after another in the order of the file
	// (writer.devices): the reference the other ways are tested
	// against.
	incremental bool
	// committed is called after each transaction of a first import or a
	// re-import, with the first device key a re-import has not written
	// yet (none: all, or a first import).
	committed func(next []byte)
	// planned is called when a re-import has planned its writes, before
	// it writes.
	planned func()
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
	// file, the record (or line) and the field: those of the reading
	// first, then those of the writing, in the order of the file.
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
//
// An import reads the whole file before it writes: it sorts the devices
// in runs of bounded memory in opt.TempDir, then applies them in the
// order of their keys, and leaves the index, its counts and the problems
// it names as writing the devices one at a time in the order of the file
// does. Stopped while it reads, it has written nothing.
//
// A first import, into an index that holds no device, writes each bucket
// in the order of its keys, the devices first, then the keys that lead
// to them (bulk.go); stopped while it writes, it keeps whole devices,
// which the DIs lead to once it is run again.
//
// A re-import, into an index that holds devices, plans its writes from
// the index's buckets read in the order of their keys, then writes them
// in transactions of about 8 MiB, each a run of device keys
// (reimport.go): a device and its index entries in one. It writes
// nothing where the index holds a device as the file has it. Stopped
// before it writes, it has written nothing; stopped while it writes, it
// leaves the index as the devices of the file before some device key
// would, whole. Imports into one DB run one at a time.
func (db *DB) ImportUDID(ctx context.Context, path string, opt Options) (Stats, error) {
	st := Stats{File: path}
	if db.readOnly {
		return st, ErrReadOnly
	}
	db.imports.Lock()
	defer db.imports.Unlock()
	start := time.Now()
	first, err := db.noDevices()
	if err != nil {
		return st, err
	}
	w := &writer{db: db, st: Stats{File: path}}
	var (
		b     *bulk
		write = w.devices
		batch = opt.batch()
	)
	if !opt.incremental {
		b = newBulk(ctx, db, &w.st, opt)
		defer b.close()
		write, batch = b.read, bulkBatch
	}
	p := startPipe(batch, write)
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
	// Stopped before the reading ended (and before it looked at ctx, for
	// a file shorter than a batch): nothing more is written, and the
	// import says so.
	stopped := ctx.Err()
	werr := p.close(stopped != nil)
	if b != nil && werr == nil && stopped == nil {
		if first {
			werr = b.write()
		} else {
			werr = b.reimport()
		}
	}
	err = cmp.Or(err, werr, stopped)
	st.Read = rs.Records + rs.Bad
	st.merge(&w.st)
	st.Elapsed = time.Since(start)
	return st, err
}

// noDevices reports whether the index holds no device nor any entry of
// one: an import into it is a first import.
func (db *DB) noDevices() (bool, error) {
	empty := true
	err := db.db.View(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketDevices, bucketKeys, bucketCodes} {
			if k, _ := tx.Bucket(name).Cursor().First(); k != nil {
				empty = false
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("nationaldb: %s: %w", db.path, err)
	}
	return empty, nil
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
	db.imports.Lock()
	defer db.imports.Unlock()
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
	stopped := ctx.Err() // as ImportUDID
	err = cmp.Or(err, p.close(stopped != nil), stopped)
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
// device in the batch, the later in the file is written last. A batch
// two of whose devices give the same DI is written in file order, so
// that the one written last is the later in the file, as a first import
// has it. It writes only a UDID import with Options.incremental: in
// batches of one device it is the reference, putDevice in the order of
// the file, that the sorted imports are tested against (sorting a batch
// does not keep the order of the file when a device drops a DI another
// device of the batch takes).
func (w *writer) devices(batch []udid.Device) error {
	if len(batch) == 0 {
		return nil
	}
	type item struct {
		key     string
		d       *udid.Device
		rec     deviceRecord
		skipped []string
	}
	items := make([]item, len(batch))
	owner := make(map[string]string, 3*len(batch)) // product key → device key
	shared := false
	for i := range batch {
		it := &items[i]
		it.key, it.d = national.Key(batch[i].DI), &batch[i]
		var es []master.CatalogueEntry
		es, it.skipped = national.Entries(batch[i])
		deviceKeys(&it.rec, es)
		for _, k := range it.rec.keys {
			if o, ok := owner[k]; ok && o != it.key {
				shared = true
			}
			owner[k] = it.key
		}
	}
	if !shared {
		slices.SortStableFunc(items, func(a, b item) int { return strings.Compare(a.key, b.key) })
	}
	return w.update(func(tx *bolt.Tx) error {
		t := newTxn(tx)
		for i := range items {
			it := &items[i]
			if err := t.putDevice(it.key, it.d, &it.rec, it.skipped, &w.st); err != nil {
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
	return appendPair(make([]byte, 0, len(a)+1+len(b)), a, b)
}

// appendPair appends pair(a, b) to dst.
func appendPair[S ~string | ~[]byte](dst []byte, a, b S) []byte {
	dst = append(dst, a...)
	dst = append(dst, 0)
	return append(dst, b...)
}

// putDevice writes device d, whose product keys and national codes are
// those of rec, under key, replacing the device held there and the index
// entries it no longer has.
func (t *txn) putDevice(key string, d *udid.Device, rec *deviceRecord, skipped []string, st *Stats) error {
	st.SkippedDIs += int64(len(skipped))
	var old deviceRecord
	oldValue := t.devices.Get([]byte(key))
	if oldValue != nil {
		var err error
		if old, err = decodeDevice(oldValue); err != nil {
			return fmt.Errorf("device %s: %w", key, err)
		}
		if versionOf(&old.d).after(versionOf(d)) {
			st.Stale++
			return nil
		}
	}
	rec.d = *d
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
		if n := unkeyedNote(st.File, d, skipped); n != "" {
			st.note("%s", n)
		}
		if oldValue != nil {
			t.nDevices--
			return t.devices.Delete([]byte(key))
		}
		return nil
	}
	for _, k := range rec.keys {
		held := string(t.keys.Get([]byte(k)))
		c := claimOf(held == "", held == key, held == k, k == key)
		switch c {
		case claimNew:
			t.nKeys++
		case claimSame, claimKept:
			c.note(st, key, k, held)
			continue // nothing to write: a page not written is a page not copied
		default:
			c.note(st, key, k, held)
		}
		if err := t.keys.Put([]byte(k), []byte(key)); err != nil {
			return err
		}
	}
	for _, c := range rec.codes {
		if p := pair(c, key); !has(t.codes, p) {
			if err := t.codes.Put(p, nil); err != nil {
				return err
			}
		}
	}
	st.Kept++
	v := encodeDevice(rec)
	if oldValue == nil {
		t.nDevices++
	} else if bytes.Equal(v, oldValue) {
		return nil // unchanged
	}
	return t.devices.Put([]byte(key), v)
}

// has reports whether b holds key k (whatever its value, empty included).
func has(b *bolt.Bucket, k []byte) bool {
	at, _ := b.Cursor().Seek(k)
	return bytes.Equal(at, k)
}

// deviceKeys sets rec's product keys and national codes to those of the
// catalogue entries es of its device (each once, in the entries' order).
func deviceKeys(rec *deviceRecord, es []master.CatalogueEntry) {
	rec.keys, rec.codes = rec.keys[:0], rec.codes[:0]
	for i := range es {
		if k := es[i].Product(); !slices.Contains(rec.keys, k) {
			rec.keys = append(rec.keys, k)
		}
		if c := es[i].InsuranceCode; c != "" && !slices.Contains(rec.codes, c) {
			rec.codes = append(rec.codes, c)
		}
	}
}

// unkeyedNote returns the problem of device d of file, none of whose DIs
// (skipped) can be a product key: "" for an AHM device (AHM codes are
// never product keys: counted, not listed).
func unkeyedNote(file string, d *udid.Device, skipped []string) string {
	if d.Coding == udid.CodingAHM {
		return ""
	}
	return fmt.Sprintf("%s: device %s: no DI can be a product key (%s): left out", file, d.DI, strings.Join(skipped, ", "))
}

// claim is what becomes of a product key a device gives, by who holds it.
type claim int

const (
	claimNew  claim = iota // nobody: the device takes it
	claimSame              // the device itself
	claimKept              // a device whose sales unit it is, which keeps it
	claimSale              // another device; it is the device's sales unit, so the device takes it
	claimLast              // another device; the device, written last, takes it
)

// claimOf returns what becomes of product key k that a device gives,
// held by another device or none (none), the device itself (self), a
// device whose sales unit it is (heldIsK); sales says that k is the
// device's own sales unit.
func claimOf(none, self, heldIsK, sales bool) claim {
	switch {
	case none:
		return claimNew
	case self:
		return claimSame
	case heldIsK:
		return claimKept
	case sales:
		return claimSale
	}
	return claimLast
}

// note counts and notes a conflict: device key gives product key k,
// which device held holds.
func (c claim) note(st *Stats, key, k, held string) {
	if p := c.problem(st.File, key, k, held); p != "" {
		st.note("%s", p)
		st.Conflicts++
	}
}

// problem returns the problem of file that the claim is when it is a
// conflict (device key gives product key k, which device held holds),
// else "".
func (c claim) problem(file, key, k, held string) string {
	switch c {
	case claimKept:
		return fmt.Sprintf("%s: device %s: DI %s is the sales unit of device %s, which keeps it", file, key, k, held)
	case claimSale:
		return fmt.Sprintf("%s: device %s: its sales unit was a DI of device %s; it is the sales unit's now", file, key, held)
	case claimLast:
		return fmt.Sprintf("%s: device %s: DI %s is also a DI of device %s; device %s, written last, holds it", file, key, k, held, key)
	}
	return ""
}

// version is what orders the versions of a device.
type version struct {
	time   time.Time // versionTime
	number int       // versionNumber
}

func versionOf(d *udid.Device) version { return version{d.VersionTime, d.Version} }

// after reports whether v is a later version of a device than w: by
// time when both have one and they differ, else by number. The same
// version is not later (a re-import, a corrected record, replaces).
func (v version) after(w version) bool {
	if !v.time.IsZero() && !w.time.IsZero() && !v.time.Equal(w.time) {
		return v.time.After(w.time)
	}
	return v.number > w.number
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
	v := encodeRow(it)
	oldValue := t.rows.Get([]byte(code))
	if oldValue != nil {
		old, err := decodeRow(oldValue)
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
		if p := pair(k, code); !has(t.di, p) {
			if err := t.di.Put(p, nil); err != nil {
				return err
			}
		}
		matched = matched || t.keys.Get([]byte(k)) != nil
	}
	if matched {
		st.Matched++
	}
	st.Kept++
	if bytes.Equal(v, oldValue) {
		return nil // unchanged
	}
	return t.rows.Put([]byte(code), v)
}

// hasCode reports whether a device's record carries national code code.
func (t *txn) hasCode(code string) bool {
	prefix := pair(code, "")
	k, _ := t.codes.Cursor().Seek(prefix)
	return k != nil && bytes.HasPrefix(k, prefix)
}
