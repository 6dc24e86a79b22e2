package runindex_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/bits"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"
	"unsafe"

	bolt "go.etcd.io/bbolt"

	"github.com/udi-edge/udi-edge/agent/runindex"
)

// The buckets the tests keep an index in.
var (
	metaName   = []byte("meta")
	runsName   = []byte("runs")
	blocksName = []byte("blocks")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errRollback makes db.Update roll back a transaction on purpose.
var errRollback = errors.New("roll back")

// openDB opens, creating it if need be, the bbolt file at path with the
// index's three buckets.
func openDB(tb testing.TB, path string, noSync bool) *bolt.DB {
	tb.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, NoSync: noSync})
	if err != nil {
		tb.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{metaName, runsName, blocksName} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		tb.Fatal(err)
	}
	return db
}

// newDB returns a new index file in a temporary directory, closed when the
// test ends.
func newDB(tb testing.TB) *bolt.DB {
	tb.Helper()
	db := openDB(tb, filepath.Join(tb.TempDir(), "index.db"), true)
	tb.Cleanup(func() { db.Close() })
	return db
}

func index(tx *bolt.Tx, cfg runindex.Config, a *runindex.Arena) *runindex.Index {
	return runindex.In(tx.Bucket(metaName), tx.Bucket(runsName), tx.Bucket(blocksName), cfg, a)
}

// add adds entries in a write transaction of their own.
func add(tb testing.TB, db *bolt.DB, cfg runindex.Config, a *runindex.Arena, entries [][]byte) {
	tb.Helper()
	err := db.Update(func(tx *bolt.Tx) error { return index(tx, cfg, a).Add(entries) })
	a.Reset()
	if err != nil {
		tb.Fatalf("add %d entries: %v", len(entries), err)
	}
}

// collect returns a function for Lookup or Check that appends a copy of
// every entry to *out.
func collect(out *[][]byte) func(e []byte) error {
	return func(e []byte) error {
		*out = append(*out, bytes.Clone(e))
		return nil
	}
}

func lookup(db *bolt.DB, cfg runindex.Config, prefix []byte) ([][]byte, error) {
	var got [][]byte
	err := db.View(func(tx *bolt.Tx) error { return index(tx, cfg, nil).Lookup(prefix, collect(&got)) })
	return got, err
}

func check(db *bolt.DB, cfg runindex.Config) ([][]byte, error) {
	var got [][]byte
	err := db.View(func(tx *bolt.Tx) error { return index(tx, cfg, nil).Check(collect(&got)) })
	return got, err
}

func state(tb testing.TB, db *bolt.DB, cfg runindex.Config) runindex.State {
	tb.Helper()
	var st runindex.State
	err := db.View(func(tx *bolt.Tx) error {
		var err error
		st, err = index(tx, cfg, nil).State()
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// sameSet reports whether got, in any order, holds exactly the entries of
// want, which is sorted: duplicates in got are a difference.
func sameSet(got, want [][]byte) bool {
	got = slices.Clone(got)
	slices.SortFunc(got, bytes.Compare)
	return slices.EqualFunc(got, want, bytes.Equal)
}

func sorted(es ...string) [][]byte {
	out := make([][]byte, len(es))
	for i, e := range es {
		out[i] = []byte(e)
	}
	slices.SortFunc(out, bytes.Compare)
	return out
}

// withPrefix returns the entries of sorted set that start with prefix.
func withPrefix(set [][]byte, prefix []byte) [][]byte {
	i := sort.Search(len(set), func(i int) bool { return bytes.Compare(set[i], prefix) >= 0 })
	j := i
	for j < len(set) && bytes.HasPrefix(set[j], prefix) {
		j++
	}
	return set[i:j]
}

// mergeSorted returns the union of sorted sets x and y, which have no
// entry in common.
func mergeSorted(x, y [][]byte) [][]byte {
	out := make([][]byte, 0, len(x)+len(y))
	for len(x) > 0 && len(y) > 0 {
		if bytes.Compare(x[0], y[0]) < 0 {
			out, x = append(out, x[0]), x[1:]
		} else {
			out, y = append(out, y[0]), y[1:]
		}
	}
	return append(append(out, x...), y...)
}

// level is a run's level by the package doc: floor(log8(entries)).
func level(n uint64) int { return (bits.Len64(n) - 1) / 3 }

// decodeBlock decodes a block as the package doc lays it out, from
// scratch, and returns its entries.
func decodeBlock(v []byte) ([][]byte, error) {
	if len(v) < 4+4+1+4 {
		return nil, fmt.Errorf("block of %d bytes", len(v))
	}
	body := v[:len(v)-4]
	if got, want := crc32.Checksum(body, castagnoli), binary.BigEndian.Uint32(v[len(body):]); got != want {
		return nil, fmt.Errorf("crc %08x, stored %08x", got, want)
	}
	n := int(binary.BigEndian.Uint32(body))
	if n < 1 || 4+4*n > len(body) {
		return nil, fmt.Errorf("count %d in %d bytes", n, len(body))
	}
	data := body[4+4*n:]
	out := make([][]byte, n)
	start := 0
	for i := range n {
		end := int(binary.BigEndian.Uint32(body[4+4*i:]))
		if end <= start || end > len(data) {
			return nil, fmt.Errorf("entry %d ends at %d after %d, of %d bytes", i, end, start, len(data))
		}
		out[i] = data[start:end]
		start = end
	}
	if start != len(data) {
		return nil, fmt.Errorf("entries end at %d of %d bytes", start, len(data))
	}
	return out, nil
}

// encodeBlock encodes entries as a block, as the package doc lays it out.
func encodeBlock(entries [][]byte) []byte {
	v := binary.BigEndian.AppendUint32(nil, uint32(len(entries)))
	end := 0
	for _, e := range entries {
		end += len(e)
		v = binary.BigEndian.AppendUint32(v, uint32(end))
	}
	for _, e := range entries {
		v = append(v, e...)
	}
	return binary.BigEndian.AppendUint32(v, crc32.Checksum(v, castagnoli))
}

// layout is what checkLayout found of the merge in progress.
type layout struct {
	merging     bool
	dest, total uint64 // the merge's run and its sources' entries
}

// checkLayout reads the three buckets directly, by the file format in the
// package doc, independently of the package's own checks: the next run id
// is above every run; the merge state names live sources with their
// counts, a run that is not live, and as many entries as State says;
// there is a bucket for every live run and the merge's, and no other; and
// every run is blocks of increasing entries, each stored under its first
// entry, of at most cfg.Block bytes unless it holds one entry, each full
// (the next entry would not have fit), as many as listed.
func checkLayout(t *testing.T, tx *bolt.Tx, cfg runindex.Config, st runindex.State) layout {
	t.Helper()
	meta, runs, blocks := tx.Bucket(metaName), tx.Bucket(runsName), tx.Bucket(blocksName)
	var next uint64
	if v := meta.Get([]byte("run")); v != nil {
		if len(v) != 8 {
			t.Fatalf("next run id of %d bytes", len(v))
		}
		next = binary.BigEndian.Uint64(v)
	}
	live := map[uint64]uint64{}
	err := runs.ForEach(func(k, v []byte) error {
		if len(k) != 8 || len(v) != 8 {
			return fmt.Errorf("run entry %x → %x", k, v)
		}
		id := binary.BigEndian.Uint64(k)
		if id >= next {
			return fmt.Errorf("run %d, next id %d", id, next)
		}
		live[id] = binary.BigEndian.Uint64(v)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var lay layout
	var written uint64
	if v := meta.Get([]byte("merge")); v != nil {
		if len(v) < 32 || len(v)%16 != 0 {
			t.Fatalf("merge state of %d bytes", len(v))
		}
		lay.merging = true
		lay.dest, written = binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:])
		if _, ok := live[lay.dest]; ok || lay.dest >= next {
			t.Fatalf("merge into run %d, live %v, next id %d", lay.dest, ok, next)
		}
		if len(v)/16-1 != runindex.Fan {
			t.Fatalf("merge of %d runs, want %d", len(v)/16-1, runindex.Fan)
		}
		for v = v[16:]; len(v) > 0; v = v[16:] {
			id, n := binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:])
			if live[id] != n {
				t.Fatalf("merge source %d of %d entries, live with %d", id, n, live[id])
			}
			lay.total += n
		}
		if written == 0 || written >= lay.total || int64(written) != st.Merging {
			t.Fatalf("merge wrote %d of %d entries, State says %d", written, lay.total, st.Merging)
		}
	} else if st.Merging != -1 {
		t.Fatalf("no merge state, State says Merging %d", st.Merging)
	}
	seen := 0
	err = blocks.ForEachBucket(func(k []byte) error {
		seen++
		if len(k) != 8 {
			return fmt.Errorf("bucket %x", k)
		}
		id := binary.BigEndian.Uint64(k)
		want, ok := live[id]
		if lay.merging && id == lay.dest {
			want, ok = written, true
		}
		if !ok {
			return fmt.Errorf("bucket of run %d, which is neither live nor merged into", id)
		}
		var n uint64
		var prev []byte // the last entry of the block before
		var prevLen int // the bytes of the block before
		c := blocks.Bucket(k).Cursor()
		for bk, bv := c.First(); bk != nil; bk, bv = c.Next() {
			if bv == nil {
				return fmt.Errorf("run %d holds a bucket", id)
			}
			es, err := decodeBlock(bv)
			if err != nil {
				return fmt.Errorf("run %d, block %x: %v", id, bk, err)
			}
			if !bytes.Equal(bk, es[0]) {
				return fmt.Errorf("run %d: block under %x starts with %x", id, bk, es[0])
			}
			if len(es) > 1 && len(bv) > cfg.Block {
				return fmt.Errorf("run %d: block of %d entries, %d bytes, more than %d", id, len(es), len(bv), cfg.Block)
			}
			if prev != nil && prevLen+4+len(es[0]) <= cfg.Block {
				return fmt.Errorf("run %d: block of %d bytes not full, the next entry of %d bytes fits", id, prevLen, len(es[0]))
			}
			for _, e := range es {
				if prev != nil && bytes.Compare(prev, e) >= 0 {
					return fmt.Errorf("run %d: %x after %x", id, e, prev)
				}
				prev = e
			}
			prevLen = len(bv)
			n += uint64(len(es))
		}
		if n != want {
			return fmt.Errorf("run %d holds %d entries, want %d", id, n, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if lay.merging {
		seen--
	}
	if seen != len(live) {
		t.Fatalf("%d run buckets for %d live runs", seen, len(live))
	}
	return lay
}

// TestModel writes random batches of fresh entries, in hundreds of
// transactions of random sizes, into an index with small blocks and
// merges, so that runs are merged in one go and in steps across
// transactions, and compares it with a sorted model of the set after every
// transaction: lookups of random prefixes (keys, keys that are prefixes of
// others, a key with a NUL, whole entries, parts of entries, bytes that
// match nothing) find exactly the model's entries with that prefix, each
// once; Check visits exactly the model's entries; State counts them; runs
// per level stay bounded; the file's layout follows the package doc. Some
// transactions are rolled back after their Add and must leave no trace.
// When a merge is in progress the file is closed and reopened, and the
// merge must go on from where it was and complete into the run it was
// writing.
func TestModel(t *testing.T) {
	cfg := runindex.Config{Block: 200, Small: 100, MinStep: 8}
	path := filepath.Join(t.TempDir(), "index.db")
	db := openDB(t, path, true)
	t.Cleanup(func() { db.Close() })
	r := rand.New(rand.NewPCG(1, 2))

	keys := []string{"", "a", "ab", "abc", "a\x00b", "a\x00", "b", "ba", "bab", "\x00", "\xff", "\xff\xff", "item-17", "item-1"}
	randKey := func() string {
		if r.IntN(4) > 0 {
			return keys[r.IntN(len(keys))]
		}
		k := make([]byte, r.IntN(5))
		for i := range k {
			k[i] = "ab\x00\xff"[r.IntN(4)]
		}
		return string(k)
	}
	var counter uint64
	entry := func(key string) []byte {
		counter++
		return binary.BigEndian.AppendUint64(append([]byte(key), 0), counter)
	}
	var model [][]byte // sorted
	randPrefix := func() []byte {
		switch r.IntN(9) {
		case 0:
			if r.IntN(5) == 0 {
				return nil // everything
			}
			return []byte{}
		case 1: // a key and every key it starts
			return []byte(keys[r.IntN(len(keys))])
		case 2: // one key exactly
			return append([]byte(keys[r.IntN(len(keys))]), 0)
		case 3: // a key and some of its counters
			k := append([]byte(keys[r.IntN(len(keys))]), 0)
			return binary.BigEndian.AppendUint64(k, counter*uint64(r.IntN(100))/100)[:len(k)+7]
		case 4: // random bytes, mostly matching nothing
			p := make([]byte, 1+r.IntN(12))
			for i := range p {
				p[i] = byte(r.Uint32())
			}
			return p
		}
		if len(model) == 0 {
			return []byte("a")
		}
		e := model[r.IntN(len(model))]
		switch r.IntN(3) {
		case 0: // a whole entry
			return bytes.Clone(e)
		case 1: // a whole entry, one bigger
			p := bytes.Clone(e)
			p[len(p)-1]++
			return p
		}
		return bytes.Clone(e[:1+r.IntN(len(e))])
	}

	// verify compares the index with the model and returns its state.
	maxAtLevel, maxRuns := 0, 0
	verify := func(when string, withLayout bool) (runindex.State, layout) {
		t.Helper()
		var st runindex.State
		var lay layout
		err := db.View(func(tx *bolt.Tx) error {
			x := index(tx, cfg, nil)
			var err error
			if st, err = x.State(); err != nil {
				return err
			}
			if st.Entries != uint64(len(model)) {
				return fmt.Errorf("State counts %d entries, the model %d", st.Entries, len(model))
			}
			var sum uint64
			atLevel := map[int]int{}
			for _, n := range st.Runs {
				sum += n
				atLevel[level(n)]++
				maxAtLevel = max(maxAtLevel, atLevel[level(n)])
			}
			maxRuns = max(maxRuns, len(st.Runs))
			if sum != st.Entries {
				return fmt.Errorf("runs %v sum to %d, State says %d", st.Runs, sum, st.Entries)
			}
			var all [][]byte
			if err := x.Check(collect(&all)); err != nil {
				return fmt.Errorf("check: %w", err)
			}
			if !sameSet(all, model) {
				return fmt.Errorf("check visited %d entries, not the model's %d", len(all), len(model))
			}
			for range 10 {
				p := randPrefix()
				var got [][]byte
				if err := x.Lookup(p, collect(&got)); err != nil {
					return fmt.Errorf("lookup %x: %w", p, err)
				}
				if want := withPrefix(model, p); !sameSet(got, want) {
					return fmt.Errorf("lookup %x found %d entries, want %d", p, len(got), len(want))
				}
			}
			if withLayout {
				lay = checkLayout(t, tx, cfg, st)
			} else if v := tx.Bucket(metaName).Get([]byte("merge")); v != nil {
				lay = layout{merging: true, dest: binary.BigEndian.Uint64(v)}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		return st, lay
	}

	var a runindex.Arena
	merging, rolledBack, reopened, resumed := 0, 0, 0, 0
	var pending *layout // the merge in progress when the file was reopened
	const txs = 300
	for i := range txs {
		n := 1 + r.IntN(40)
		if r.IntN(20) == 0 {
			n = 100 + r.IntN(200)
		}
		batch := make([][]byte, n)
		for j := range batch {
			batch[j] = entry(randKey())
		}
		slices.SortFunc(batch, bytes.Compare)

		if r.IntN(10) == 0 {
			// Add, merge what is due, and roll it all back.
			before := state(t, db, cfg)
			err := db.Update(func(tx *bolt.Tx) error {
				x := index(tx, cfg, &a)
				if err := x.Add(batch); err != nil {
					return err
				}
				if st, err := x.State(); err != nil || st.Entries != before.Entries+uint64(n) {
					return fmt.Errorf("in the transaction of the add: %+v, %v", st, err)
				}
				return errRollback
			})
			a.Reset()
			if !errors.Is(err, errRollback) {
				t.Fatalf("transaction %d: %v", i, err)
			}
			if after := state(t, db, cfg); !reflect.DeepEqual(before, after) {
				t.Fatalf("transaction %d rolled back, state %+v, was %+v", i, after, before)
			}
			rolledBack++
			continue
		}

		add(t, db, cfg, &a, batch)
		model = mergeSorted(model, batch)
		st, lay := verify(fmt.Sprintf("after transaction %d", i), i%8 == 0)

		if pending != nil && (!lay.merging || lay.dest != pending.dest) {
			// The merge under way at the reopen completed into its run.
			got, ok := slices.Clone(st.Runs), false
			err := db.View(func(tx *bolt.Tx) error {
				v := tx.Bucket(runsName).Get(binary.BigEndian.AppendUint64(nil, pending.dest))
				ok = v != nil && binary.BigEndian.Uint64(v) == pending.total
				return nil
			})
			if err != nil || !ok {
				t.Fatalf("after transaction %d: the merge into run %d of %d entries is over, runs %v", i, pending.dest, pending.total, got)
			}
			pending = nil
			resumed++
		}
		if st.Merging < 0 {
			continue
		}
		merging++
		if pending == nil && reopened < 3 && merging%5 == 1 {
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = openDB(t, path, true)
			reopened++
			st2, lay2 := verify(fmt.Sprintf("reopened after transaction %d", i), true)
			if !reflect.DeepEqual(st, st2) || lay.dest != lay2.dest {
				t.Fatalf("reopened after transaction %d: %+v %+v, was %+v %+v", i, st2, lay2, st, lay)
			}
			pending = &lay2
		}
	}
	verify("at the end", true)
	t.Logf("%d entries in runs %v; %d transactions saw a merge in progress, %d rolled back, %d reopened, %d resumed; at most %d runs, %d at a level",
		len(model), state(t, db, cfg).Runs, merging, rolledBack, reopened, resumed, maxRuns, maxAtLevel)
	if merging < 10 || reopened < 2 || resumed < 2 || rolledBack == 0 {
		t.Fatalf("%d transactions saw a merge in progress, %d reopened, %d resumed, %d rolled back: the test misses its cases",
			merging, reopened, resumed, rolledBack)
	}
	// At most Fan-1 runs of a level, but for a level whose runs wait for
	// a merge in progress: its Fan sources and those written meanwhile.
	if maxAtLevel >= 2*runindex.Fan {
		t.Errorf("%d live runs of one level", maxAtLevel)
	}
	if maxRuns > 4*runindex.Fan {
		t.Errorf("%d live runs", maxRuns)
	}
}

// TestLookupEdges checks lookups at the edges: an index whose buckets
// exist but to which nothing was added (an Add of no entries writes
// nothing) finds nothing and passes Check; a prefix that is a whole entry
// finds it and the entries it starts; prefixes before, between and after
// the entries call fn zero times; and an error from fn ends the lookup and
// is returned.
func TestLookupEdges(t *testing.T) {
	cfg := runindex.Config{Block: 40}
	db := newDB(t)
	var a runindex.Arena
	add(t, db, cfg, &a, nil)
	err := db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(metaName).Get([]byte("run")); v != nil {
			return fmt.Errorf("an add of nothing took run id %x", v)
		}
		if k, _ := tx.Bucket(blocksName).Cursor().First(); k != nil {
			return fmt.Errorf("an add of nothing wrote bucket %x", k)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range [][]byte{nil, {}, []byte("a"), {0}, {0xff}} {
		if got, err := lookup(db, cfg, p); err != nil || len(got) != 0 {
			t.Errorf("empty index: lookup %q: %q, %v", p, got, err)
		}
	}
	if got, err := check(db, cfg); err != nil || len(got) != 0 {
		t.Errorf("empty index: check: %q, %v", got, err)
	}
	if st := state(t, db, cfg); !reflect.DeepEqual(st, runindex.State{Merging: -1}) {
		t.Errorf("empty index: state %+v", st)
	}

	// Two runs, of blocks of one to three entries; "app…" spans blocks.
	run1 := sorted("app", "apple", "applesauce", "apply", "b", "banana", "x\x00y", "mango-long-entry-longer-than-a-block-of-forty")
	run2 := sorted("ap", "appl", "apples", "c", "x", "x\x00", "x\x00z")
	add(t, db, cfg, &a, run1)
	add(t, db, cfg, &a, run2)
	all := slices.Concat(run1, run2)
	slices.SortFunc(all, bytes.Compare)

	cases := []struct {
		prefix string
		want   [][]byte
	}{
		{"apple", sorted("apple", "applesauce", "apples")},
		{"applesauce", sorted("applesauce")},
		{"apply", sorted("apply")},
		{"ap", sorted("ap", "app", "appl", "apple", "apples", "applesauce", "apply")},
		{"b", sorted("b", "banana")},
		{"c", sorted("c")},
		{"x", sorted("x", "x\x00", "x\x00y", "x\x00z")},
		{"x\x00", sorted("x\x00", "x\x00y", "x\x00z")},
		{"x\x00y", sorted("x\x00y")},
		{"mango-long-entry-longer-than-a-block-of-forty", sorted("mango-long-entry-longer-than-a-block-of-forty")},
		{"mango-long-entry-longer-than-a-block-of-fortyz", nil},
		{"applesauces", nil},
		{"applf", nil},
		{"a\x00", nil},
		{"0", nil},
		{"bb", nil},
		{"zzz", nil},
		{"\xff", nil},
	}
	for _, c := range cases {
		got, err := lookup(db, cfg, []byte(c.prefix))
		if err != nil || !sameSet(got, c.want) {
			t.Errorf("lookup %q: %q, %v; want %q", c.prefix, got, err, c.want)
		}
	}
	// Every prefix of every entry, and every entry one byte bigger or
	// smaller at its end, against the sorted set.
	for _, e := range all {
		probes := [][]byte{}
		for i := 1; i <= len(e); i++ {
			probes = append(probes, e[:i])
		}
		up, down := bytes.Clone(e), bytes.Clone(e)
		up[len(up)-1]++
		down[len(down)-1]--
		probes = append(probes, up, down, append(bytes.Clone(e), 0))
		for _, p := range probes {
			got, err := lookup(db, cfg, p)
			if want := withPrefix(all, p); err != nil || !sameSet(got, want) {
				t.Errorf("lookup %q: %q, %v; want %q", p, got, err, want)
			}
		}
	}
	if got, err := check(db, cfg); err != nil || !sameSet(got, all) {
		t.Errorf("check: %q, %v; want %q", got, err, all)
	}

	stop := errors.New("stop")
	calls := 0
	err = db.View(func(tx *bolt.Tx) error {
		return index(tx, cfg, nil).Lookup([]byte("ap"), func([]byte) error { calls++; return stop })
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("lookup whose fn fails: %v after %d calls", err, calls)
	}
}

// dump returns every key and value of the index's buckets, nested buckets
// included, as text.
func dump(t *testing.T, db *bolt.DB) string {
	t.Helper()
	var out bytes.Buffer
	var walk func(path string, b *bolt.Bucket) error
	walk = func(path string, b *bolt.Bucket) error {
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				return walk(fmt.Sprintf("%s/%x", path, k), b.Bucket(k))
			}
			fmt.Fprintf(&out, "%s/%x=%x\n", path, k, v)
			return nil
		})
	}
	err := db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error { return walk(string(name), b) })
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// TestAddRefusesUnsortedOrDuplicate checks that Add fails, not as
// corruption, on entries out of order or repeated, and writes nothing: in
// the transaction the index is as it was; after it is rolled back the file
// holds what it held; a good Add afterwards is found.
func TestAddRefusesUnsortedOrDuplicate(t *testing.T) {
	cfg := runindex.Config{Block: 60}
	db := newDB(t)
	var a runindex.Arena
	add(t, db, cfg, &a, sorted("k1", "k2", "k3"))
	before, beforeState := dump(t, db), state(t, db, cfg)

	for _, bad := range [][][]byte{
		{[]byte("b"), []byte("a")},
		{[]byte("a"), []byte("a")},
		{[]byte("a"), []byte("b"), []byte("b")},
		{[]byte("a"), []byte("c"), []byte("b"), []byte("d")},
		{[]byte("ab"), []byte("a")},
	} {
		err := db.Update(func(tx *bolt.Tx) error {
			x := index(tx, cfg, &a)
			err := x.Add(bad)
			if err == nil {
				return fmt.Errorf("add %q succeeded", bad)
			}
			if errors.Is(err, runindex.ErrCorrupt) {
				return fmt.Errorf("add %q: %w, not an error of its input", bad, err)
			}
			if st, serr := x.State(); serr != nil || !reflect.DeepEqual(st, beforeState) {
				return fmt.Errorf("add %q failed but the state became %+v, %v", bad, st, serr)
			}
			if v := tx.Bucket(metaName).Get([]byte("run")); binary.BigEndian.Uint64(v) != 1 {
				return fmt.Errorf("add %q failed but took a run id", bad)
			}
			return err
		})
		a.Reset()
		if err == nil || errors.Is(err, runindex.ErrCorrupt) || !bytes.Contains([]byte(err.Error()), []byte("sort")) {
			t.Errorf("add %q: %v", bad, err)
		}
		if after := dump(t, db); after != before {
			t.Errorf("add %q: the file changed:\n%s\nwas\n%s", bad, after, before)
		}
	}
	add(t, db, cfg, &a, sorted("a", "b"))
	if got, err := check(db, cfg); err != nil || !sameSet(got, sorted("a", "b", "k1", "k2", "k3")) {
		t.Errorf("check: %q, %v", got, err)
	}
}

// damaged builds an index of a few runs of several blocks each, a merge
// of them in progress when merging is set, and returns it, its config,
// its live runs' ids (oldest first), and the id of the run the merge
// writes (0 when none).
func damaged(t *testing.T, merging bool) (*bolt.DB, runindex.Config, []uint64, uint64) {
	t.Helper()
	cfg := runindex.Config{Block: 120, Small: 50, MinStep: 1}
	db := newDB(t)
	var a runindex.Arena
	var counter uint64
	runs := 3
	if merging {
		runs = runindex.Fan
	}
	for i := range runs {
		// Level 1 (8 to 63 entries) all; the last, small, does not bring
		// budget enough to complete the merge it makes due.
		n := 60
		if i == runindex.Fan-1 {
			n = 8
		}
		batch := make([][]byte, n)
		for j := range batch {
			counter++
			batch[j] = fmt.Appendf(nil, "key-%03d", (counter*37)%1000)
		}
		slices.SortFunc(batch, bytes.Compare)
		add(t, db, cfg, &a, batch)
	}
	var ids []uint64
	var dest uint64
	err := db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(metaName).Get([]byte("merge")); v != nil {
			dest = binary.BigEndian.Uint64(v)
		}
		return tx.Bucket(runsName).ForEach(func(k, _ []byte) error {
			ids = append(ids, binary.BigEndian.Uint64(k))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if st := state(t, db, cfg); (st.Merging >= 0) != merging || len(ids) != runs || (dest != 0) != merging {
		t.Fatalf("index to damage: %+v, runs %v, merge into %d", st, ids, dest)
	}
	if _, err := check(db, cfg); err != nil {
		t.Fatalf("index to damage: %v", err)
	}
	return db, cfg, ids, dest
}

// raw runs fn in a write transaction on the index's buckets, not through
// the package.
func raw(t *testing.T, db *bolt.DB, fn func(meta, runs, blocks *bolt.Bucket) error) {
	t.Helper()
	err := db.Update(func(tx *bolt.Tx) error {
		return fn(tx.Bucket(metaName), tx.Bucket(runsName), tx.Bucket(blocksName))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func id8(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

// rewriteBlock replaces the value of block number i (the last when i < 0)
// of run id by what change makes of a copy of it, and returns the block's
// key.
func rewriteBlock(t *testing.T, db *bolt.DB, id uint64, i int, change func(k, v []byte) []byte) []byte {
	t.Helper()
	var key []byte
	raw(t, db, func(_, _, blocks *bolt.Bucket) error {
		b := blocks.Bucket(id8(id))
		c := b.Cursor()
		k, v := c.First()
		for range i {
			k, v = c.Next()
		}
		if i < 0 {
			k, v = c.Last()
		}
		if k == nil {
			return fmt.Errorf("run %d has no block %d", id, i)
		}
		key = bytes.Clone(k)
		return b.Put(key, change(key, bytes.Clone(v)))
	})
	return key
}

// TestDamageIsCorrupt damages an index's file in one way at a time, by
// writing its buckets directly, and checks that Lookup, Check or State
// (whichever reads the damage) fails with an error wrapping ErrCorrupt.
func TestDamageIsCorrupt(t *testing.T) {
	wantCorrupt := func(t *testing.T, what string, err error) {
		t.Helper()
		if !errors.Is(err, runindex.ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", what, err)
		}
	}
	checkCorrupt := func(t *testing.T, db *bolt.DB, cfg runindex.Config) {
		t.Helper()
		_, err := check(db, cfg)
		wantCorrupt(t, "check", err)
	}
	lookupCorrupt := func(t *testing.T, db *bolt.DB, cfg runindex.Config, prefix []byte) {
		t.Helper()
		_, err := lookup(db, cfg, prefix)
		wantCorrupt(t, fmt.Sprintf("lookup %q", prefix), err)
	}

	t.Run("flipped byte in a block", func(t *testing.T) {
		for _, at := range []func(v []byte) int{
			func(v []byte) int { return 2 },          // count
			func(v []byte) int { return 6 },          // an end
			func(v []byte) int { return len(v) / 2 }, // an entry
			func(v []byte) int { return len(v) - 1 }, // crc
		} {
			db, cfg, ids, _ := damaged(t, false)
			key := rewriteBlock(t, db, ids[1], 1, func(_, v []byte) []byte { v[at(v)] ^= 0x10; return v })
			lookupCorrupt(t, db, cfg, key)
			checkCorrupt(t, db, cfg)
		}
	})
	t.Run("block under another key", func(t *testing.T) {
		db, cfg, ids, _ := damaged(t, false)
		raw(t, db, func(_, _, blocks *bolt.Bucket) error {
			b := blocks.Bucket(id8(ids[0]))
			k, v := b.Cursor().First()
			v = bytes.Clone(v)
			if err := b.Delete(k); err != nil {
				return err
			}
			return b.Put([]byte("key-"), v)
		})
		lookupCorrupt(t, db, cfg, []byte("key-"))
		checkCorrupt(t, db, cfg)
	})
	t.Run("block out of order with a good crc", func(t *testing.T) {
		db, cfg, ids, _ := damaged(t, false)
		rewriteBlock(t, db, ids[2], 0, func(_, v []byte) []byte {
			es, err := decodeBlock(v)
			if err != nil || len(es) < 3 {
				t.Fatalf("block of %d entries: %v", len(es), err)
			}
			es[1], es[2] = es[2], es[1]
			return encodeBlock(es)
		})
		checkCorrupt(t, db, cfg)
	})
	t.Run("block ends past its entries with a good crc", func(t *testing.T) {
		db, cfg, ids, _ := damaged(t, false)
		key := rewriteBlock(t, db, ids[0], 0, func(_, v []byte) []byte {
			v = v[:len(v)-4]
			binary.BigEndian.PutUint32(v[4:], 1<<30)
			return binary.BigEndian.AppendUint32(v, crc32.Checksum(v, castagnoli))
		})
		lookupCorrupt(t, db, cfg, key)
		checkCorrupt(t, db, cfg)
	})
	for _, delta := range []int{1, -1} {
		t.Run(fmt.Sprintf("listed count changed by %d", delta), func(t *testing.T) {
			db, cfg, ids, _ := damaged(t, false)
			raw(t, db, func(_, runs, _ *bolt.Bucket) error {
				v := runs.Get(id8(ids[1]))
				return runs.Put(id8(ids[1]), id8(binary.BigEndian.Uint64(v)+uint64(delta)))
			})
			checkCorrupt(t, db, cfg)
		})
	}
	t.Run("listed run entry of a bad size", func(t *testing.T) {
		db, cfg, ids, _ := damaged(t, false)
		raw(t, db, func(_, runs, _ *bolt.Bucket) error { return runs.Put(id8(ids[1]), []byte{20}) })
		checkCorrupt(t, db, cfg)
		err := db.View(func(tx *bolt.Tx) error { _, err := index(tx, cfg, nil).State(); return err })
		wantCorrupt(t, "state", err)
	})
	t.Run("listed run missing", func(t *testing.T) {
		db, cfg, ids, _ := damaged(t, false)
		raw(t, db, func(_, _, blocks *bolt.Bucket) error { return blocks.DeleteBucket(id8(ids[1])) })
		lookupCorrupt(t, db, cfg, []byte("key-"))
		lookupCorrupt(t, db, cfg, []byte("nothing"))
		checkCorrupt(t, db, cfg)
	})
	for _, stray := range []string{"stray", string(id8(1000))} {
		t.Run(fmt.Sprintf("stray bucket %x", stray), func(t *testing.T) {
			db, cfg, _, _ := damaged(t, false)
			want, err := lookup(db, cfg, []byte("key-1"))
			if err != nil || len(want) == 0 {
				t.Fatalf("lookup: %q, %v", want, err)
			}
			slices.SortFunc(want, bytes.Compare)
			raw(t, db, func(_, _, blocks *bolt.Bucket) error {
				_, err := blocks.CreateBucket([]byte(stray))
				return err
			})
			checkCorrupt(t, db, cfg)
			// A lookup reads the live runs only.
			if got, err := lookup(db, cfg, []byte("key-1")); err != nil || !sameSet(got, want) {
				t.Errorf("lookup beside a stray bucket: %q, %v", got, err)
			}
		})
	}
	t.Run("merge state truncated", func(t *testing.T) {
		db, cfg, _, _ := damaged(t, true)
		raw(t, db, func(meta, _, _ *bolt.Bucket) error {
			return meta.Put([]byte("merge"), meta.Get([]byte("merge"))[:24])
		})
		checkCorrupt(t, db, cfg)
		err := db.View(func(tx *bolt.Tx) error { _, err := index(tx, cfg, nil).State(); return err })
		wantCorrupt(t, "state", err)
		var a runindex.Arena
		err = db.Update(func(tx *bolt.Tx) error { return index(tx, cfg, &a).Add(sorted("new")) })
		wantCorrupt(t, "add", err)
	})
	t.Run("merge state counts other entries", func(t *testing.T) {
		db, cfg, _, _ := damaged(t, true)
		raw(t, db, func(meta, _, _ *bolt.Bucket) error {
			v := bytes.Clone(meta.Get([]byte("merge")))
			binary.BigEndian.PutUint64(v[8:], binary.BigEndian.Uint64(v[8:])-1)
			return meta.Put([]byte("merge"), v)
		})
		checkCorrupt(t, db, cfg)
	})
	t.Run("merge source not live", func(t *testing.T) {
		db, cfg, ids, _ := damaged(t, true)
		raw(t, db, func(meta, _, _ *bolt.Bucket) error {
			v := bytes.Clone(meta.Get([]byte("merge")))
			binary.BigEndian.PutUint64(v[16:], ids[len(ids)-1]+100)
			return meta.Put([]byte("merge"), v)
		})
		checkCorrupt(t, db, cfg)
	})
	t.Run("merge run damaged", func(t *testing.T) {
		db, cfg, _, dest := damaged(t, true)
		rewriteBlock(t, db, dest, 0, func(_, v []byte) []byte { v[len(v)/2] ^= 1; return v })
		checkCorrupt(t, db, cfg)
		// A step of the merge reads the last block of its run, to go on
		// after its last entry.
		rewriteBlock(t, db, dest, -1, func(_, v []byte) []byte { v[len(v)/2+1] ^= 1; return v })
		var a runindex.Arena
		err := db.Update(func(tx *bolt.Tx) error {
			return index(tx, cfg, &a).Add([][]byte{[]byte("new")})
		})
		wantCorrupt(t, "add that steps the merge", err)
	})
	t.Run("merge run listed live", func(t *testing.T) {
		db, cfg, _, dest := damaged(t, true)
		raw(t, db, func(_, runs, _ *bolt.Bucket) error { return runs.Put(id8(dest), id8(1)) })
		checkCorrupt(t, db, cfg)
	})
}

// span is the bytes from the start of s to the end of its capacity.
func span(s []byte) (lo, hi uintptr) {
	lo = uintptr(unsafe.Pointer(unsafe.SliceData(s[:cap(s)])))
	return lo, lo + uintptr(cap(s))
}

// TestArena checks that Alloc returns empty slices of exactly the capacity
// asked, so that appending past it cannot reach another, that slices in
// use do not overlap, and keep what was written in them, across chunks and
// with allocations bigger than a chunk; and that after Reset the same
// memory is handed out again.
func TestArena(t *testing.T) {
	var a runindex.Arena
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 3 {
		var got [][]byte
		for i := range 600 {
			n := r.IntN(5000)
			switch i {
			case 100:
				n = 3 << 20 // bigger than a chunk
			case 300:
				n = 1<<20 - 10
			}
			s := a.Alloc(n)
			if len(s) != 0 || cap(s) != n {
				t.Fatalf("round %d: Alloc(%d): len %d, cap %d", round, n, len(s), cap(s))
			}
			for range n {
				s = append(s, byte(i))
			}
			got = append(got, s)
		}
		type extent struct{ lo, hi uintptr }
		var spans []extent
		for i, s := range got {
			if cap(s) == 0 {
				continue
			}
			for j, c := range s {
				if c != byte(i) {
					t.Fatalf("round %d: slice %d of %d bytes overwritten at %d", round, i, len(s), j)
				}
			}
			lo, hi := span(s)
			spans = append(spans, extent{lo, hi})
		}
		slices.SortFunc(spans, func(x, y extent) int { return int(x.lo - y.lo) })
		for i := 1; i < len(spans); i++ {
			if spans[i].lo < spans[i-1].hi {
				t.Fatalf("round %d: slices overlap", round)
			}
		}
		a.Reset()
	}

	// Appending past the capacity moves, leaving the next slice alone.
	s, next := a.Alloc(4), a.Alloc(4)
	next = append(next, "next"...)
	s = append(s, "abcdefgh"...)
	if string(next) != "next" || string(s) != "abcdefgh" {
		t.Errorf("append past capacity: %q, next %q", s, next)
	}
	a.Reset()

	// After Reset, the same memory again.
	first := a.Alloc(64)
	a.Alloc(1000)
	big := a.Alloc(2 << 20)
	a.Reset()
	again := a.Alloc(64)
	if unsafe.SliceData(first[:1]) != unsafe.SliceData(again[:1]) {
		t.Errorf("after Reset, Alloc(64) returned new memory")
	}
	a.Alloc(1 << 19)
	bigAgain := a.Alloc(2 << 20)
	if unsafe.SliceData(big[:1]) != unsafe.SliceData(bigAgain[:1]) {
		t.Errorf("after Reset, Alloc(2 MiB) returned new memory")
	}
	if huge := a.Alloc(20 << 20); cap(huge) != 20<<20 {
		t.Errorf("Alloc(20 MiB): cap %d", cap(huge))
	} else {
		huge = huge[:cap(huge)]
		huge[0], huge[len(huge)-1] = 1, 1
	}
	a.Reset()
	if s := a.Alloc(64); unsafe.SliceData(s[:1]) != unsafe.SliceData(first[:1]) {
		t.Errorf("after a huge Alloc and Reset, Alloc(64) returned new memory")
	}
}

// BenchmarkAdd adds a batch of 4096 random 40-byte entries, arriving in no
// order, per write transaction to an index that already holds 16 such
// batches, sorting them first as a caller must, and reports the rate as
// entries/s. Beside it, the same entries are Put one by one, in the order
// they arrived, in write transactions of their own into a plain bbolt
// bucket that holds as many: the B+tree design the index replaces, as
// btree-entries/s. Both files sync their commits, as a store's do.
func BenchmarkAdd(b *testing.B) {
	const batch, prefill = 4096, 16
	r := rand.New(rand.NewPCG(5, 6))
	gen := func() [][]byte {
		es := make([][]byte, batch)
		for i := range es {
			es[i] = make([]byte, 40)
			for j := 0; j < 40; j += 8 {
				binary.LittleEndian.PutUint64(es[i][j:], r.Uint64())
			}
		}
		return es
	}
	dir := b.TempDir()
	idb := openDB(b, filepath.Join(dir, "index.db"), false)
	defer idb.Close()
	tdb, err := bolt.Open(filepath.Join(dir, "btree.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer tdb.Close()
	tree := []byte("btree")
	putAll := func(es [][]byte) error {
		return tdb.Update(func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists(tree)
			if err != nil {
				return err
			}
			for _, e := range es {
				if err := bk.Put(e, nil); err != nil {
					return err
				}
			}
			return nil
		})
	}
	cfg := runindex.Config{}
	var a runindex.Arena
	for range prefill {
		es := gen()
		if err := putAll(es); err != nil {
			b.Fatal(err)
		}
		slices.SortFunc(es, bytes.Compare)
		add(b, idb, cfg, &a, es)
	}

	var indexTime, treeTime time.Duration
	n := 0
	for b.Loop() {
		es := gen()
		start := time.Now()
		sortedEs := slices.Clone(es)
		slices.SortFunc(sortedEs, bytes.Compare)
		add(b, idb, cfg, &a, sortedEs)
		mid := time.Now()
		if err := putAll(es); err != nil {
			b.Fatal(err)
		}
		treeTime += time.Since(mid)
		indexTime += mid.Sub(start)
		n += batch
	}
	if st := state(b, idb, cfg); st.Entries != uint64((prefill)*batch+n) {
		b.Fatalf("index holds %d entries, want %d", st.Entries, prefill*batch+n)
	}
	b.ReportMetric(float64(n)/indexTime.Seconds(), "entries/s")
	b.ReportMetric(float64(n)/treeTime.Seconds(), "btree-entries/s")
}

// TestAddRunDoesNotMerge checks that AddRun leaves every run it writes
// live, however many are due for a merge, and that the next Add merges
// them, every entry still found once.
func TestAddRunDoesNotMerge(t *testing.T) {
	db := newDB(t)
	cfg := runindex.Config{Block: 200, Small: 100, MinStep: 8}
	var a runindex.Arena
	var all [][]byte
	for i := range 12 {
		e := [][]byte{[]byte(fmt.Sprintf("item-%02d\x00", i))}
		all = append(all, e[0])
		err := db.Update(func(tx *bolt.Tx) error { return index(tx, cfg, &a).AddRun(e) })
		a.Reset()
		if err != nil {
			t.Fatal(err)
		}
	}
	if st := state(t, db, cfg); len(st.Runs) != 12 || st.Entries != 12 || st.Merging != -1 {
		t.Fatalf("after 12 AddRun: %+v", st)
	}
	last := []byte("item-99\x00")
	add(t, db, cfg, &a, [][]byte{last})
	all = append(all, last)
	if st := state(t, db, cfg); len(st.Runs) >= 13 || st.Entries != 13 {
		t.Fatalf("after Add: %+v, want the level-0 runs merged", st)
	}
	got, err := check(db, cfg)
	if err != nil || !sameSet(got, all) {
		t.Fatalf("Check: %q, %v", got, err)
	}
}
