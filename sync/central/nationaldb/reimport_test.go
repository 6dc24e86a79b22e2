package nationaldb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/udi-edge/udi-edge/agent/national"
	bolt "go.etcd.io/bbolt"
)

// devicePool makes random devices over a few DIs, so that they share
// DIs (as sales units, units of use and packages), come again unchanged,
// newer or older, and some are bad or have no DI that can be a key.
type devicePool struct {
	rnd   *rand.Rand
	dis   []string
	seen  []dev
	fresh int
}

func newDevicePool(seed uint64) *devicePool {
	p := &devicePool{rnd: rand.New(rand.NewPCG(seed, 7))}
	for i := range 24 {
		p.dis = append(p.dis, gtin(fmt.Sprintf("069%010d", 1000+i*7)))
	}
	return p
}

func (p *devicePool) di() string { return p.dis[p.rnd.IntN(len(p.dis))] }

var (
	poolTimes = []string{"2025-01-01", "2025-02-01", "2025-03-01"}
	poolCodes = []string{"C09100100000000211790000049", "C09100100000000211800000017", "C0310020000000011234"}
)

// device returns a device: one seen before (the same, a later or an
// earlier version of it, or the same version changed), else a new one.
func (p *devicePool) device() dev {
	r := p.rnd
	if len(p.seen) > 0 && r.IntN(10) < 4 {
		d := p.seen[r.IntN(len(p.seen))]
		switch r.IntN(5) {
		case 0: // as it was
		case 1: // a later version, its DIs changed
			d.Version++
			d.Name += "新"
			d.Box, d.Use = p.maybe(2), p.maybe(4)
			d.Code = p.code()
		case 2: // an earlier version
			d.Version--
			d.Name += "旧"
			d.Box = p.maybe(2)
		case 3: // a version of another time
			d.VersionTime = poolTimes[r.IntN(len(poolTimes))]
			d.Box = p.maybe(2)
		case 4: // the same version, changed
			d.Name += "改"
			d.Code = p.code()
		}
		p.seen = append(p.seen, d)
		return p.bad(d)
	}
	p.fresh++
	d := dev{DI: p.di(), Name: fmt.Sprintf("品%d", p.fresh), Version: r.IntN(3), VersionTime: poolTimes[r.IntN(len(poolTimes))],
		Box: p.maybe(2), Use: p.maybe(4), Code: p.code()}
	switch r.IntN(14) {
	case 0: // a DI of another coding, keyed by its package only
		d.DI, d.Coding = fmt.Sprintf("XYZ-%d", r.IntN(4)), "XYZ"
	case 1: // never a key
		d.DI, d.Coding, d.Box, d.Use = fmt.Sprintf("AHM%d", r.IntN(3)), "AHM", "", ""
	case 2: // a GTIN whose check digit is wrong
		d.DI = d.DI[:13] + string(rune('0'+(d.DI[13]-'0'+1)%10))
	}
	p.seen = append(p.seen, d)
	return p.bad(d)
}

// maybe returns a DI one time in n, else "".
func (p *devicePool) maybe(n int) string {
	if p.rnd.IntN(n) == 0 {
		return p.di()
	}
	return ""
}

func (p *devicePool) code() string {
	if i := p.rnd.IntN(len(poolCodes) + 3); i < len(poolCodes) {
		return poolCodes[i]
	}
	return ""
}

// bad makes one device in 16 a bad record (a flag field that is no flag).
func (p *devicePool) bad(d dev) dev {
	if p.rnd.IntN(16) == 0 {
		d.Extra = "<sfbjwycxsy>perhaps</sfbjwycxsy>\n"
	} else {
		d.Extra = ""
	}
	return d
}

func (p *devicePool) devices(n int) []dev {
	out := make([]dev, n)
	for i := range out {
		out[i] = p.device()
	}
	return out
}

// cloneDB returns a copy of db's file, opened.
func cloneDB(t *testing.T, db *DB) *DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "national.db")
	if err := db.db.View(func(tx *bolt.Tx) error { return tx.CopyFile(path, 0o600) }); err != nil {
		t.Fatal(err)
	}
	c, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// sameIndex fails the test unless a and b hold the same keys and values
// in every bucket.
func sameIndex(t *testing.T, what string, got, want *DB) {
	t.Helper()
	g, w := dump(t, got), dump(t, want)
	if reflect.DeepEqual(g, w) {
		return
	}
	n := 0
	for k, v := range w {
		if gv, ok := g[k]; !ok || gv != v {
			if n++; n <= 10 {
				t.Errorf("%s: %q = %q (present %v), want %q", what, k, gv, ok, v)
			}
		}
	}
	for k, v := range g {
		if _, ok := w[k]; !ok {
			if n++; n <= 10 {
				t.Errorf("%s: %q = %q, want none", what, k, v)
			}
		}
	}
	t.Fatalf("%s: %d entries differ (%d, want %d)", what, n, len(g), len(w))
}

// sameStats fails the test unless two imports counted the same and named
// the same problems in the same order.
func sameStats(t *testing.T, what string, got, want Stats) {
	t.Helper()
	got.Elapsed, want.Elapsed = 0, 0
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// oneByOne is the reference: every device in a transaction of its own, in
// the order of the file (putDevice).
var oneByOne = Options{Batch: 1, incremental: true}

// TestReimportMatchesOneByOne: a re-import (sorted, planned, written in
// the order of the keys) leaves the index key for key and value for
// value as writing the devices one at a time in the order of the file
// does, and counts and names the same problems in the same order, over
// random indexes and files: devices unchanged, newer, older, changed in
// the same version, sharing DIs as sales units, units of use and
// packages, gaining and losing them, without a DI that can be a key,
// bad, and several times in a file. So it does over an index a stopped
// first import left (devices without their keys), with runs and
// transactions of a few devices, and with the default sizes.
func TestReimportMatchesOneByOne(t *testing.T) {
	ctx := context.Background()
	conflicts, stale, unkeyed, bad := 0, 0, 0, 0
	for seed := range uint64(12) {
		dir := t.TempDir()
		p := newDevicePool(seed)
		base := openDB(t)
		first := writeUDID(t, dir, "first.xml", p.devices(40)...)
		if seed%4 == 3 {
			// A first import stopped after its first transaction: some
			// devices without their keys.
			stop, cancel := context.WithCancel(ctx)
			_, err := base.ImportUDID(stop, first, Options{txBytes: 1500, committed: func([]byte) { cancel() }})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("seed %d: stopped first import: %v", seed, err)
			}
		} else if _, err := base.ImportUDID(ctx, first, oneByOne); err != nil {
			t.Fatal(err)
		}
		for round := range 3 {
			file := writeUDID(t, dir, fmt.Sprintf("round%d.xml", round), p.devices(60)...)
			ref := cloneDB(t, base)
			want, err := ref.ImportUDID(ctx, file, oneByOne)
			if err != nil {
				t.Fatal(err)
			}
			conflicts, stale, unkeyed, bad = conflicts+int(want.Conflicts), stale+int(want.Stale), unkeyed+int(want.Unkeyed), bad+int(want.Bad)
			for _, opt := range []Options{{runBytes: 700, txBytes: 900}, {}} {
				db := cloneDB(t, base)
				got, err := db.ImportUDID(ctx, file, opt)
				if err != nil {
					t.Fatal(err)
				}
				what := fmt.Sprintf("seed %d, round %d, runs of %d bytes", seed, round, opt.runBytes)
				sameStats(t, what, got, want)
				sameIndex(t, what, db, ref)
			}
			base = ref
		}
	}
	if conflicts < 50 || stale < 20 || unkeyed < 20 || bad < 20 {
		t.Errorf("the files test less than they should: %d conflicts, %d stale, %d unkeyed, %d bad", conflicts, stale, unkeyed, bad)
	}
}

// TestReimportGenerated: generated devices imported again (every device
// unchanged) and one version later (every device replaced), in runs and
// transactions of a few hundred devices, leave the index as writing them
// one at a time does; the same file again writes not one page.
func TestReimportGenerated(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := generated(t, dir, 2000, 29)
	later := filepath.Join(dir, "later.xml")
	if err := laterVersions(path, later); err != nil {
		t.Fatal(err)
	}
	base := openDB(t)
	importUDID(t, base, path)
	small := Options{runBytes: 64 << 10, txBytes: 96 << 10}
	for _, file := range []string{path, later} {
		ref := cloneDB(t, base)
		want, err := ref.ImportUDID(ctx, file, Options{Batch: 500, incremental: true}) // the generated devices share no DI
		if err != nil {
			t.Fatal(err)
		}
		db := cloneDB(t, base)
		written, commits := pagesWritten(db), 0
		opt := small
		opt.committed = func([]byte) { commits++ }
		got, err := db.ImportUDID(ctx, file, opt)
		if err != nil {
			t.Fatal(err)
		}
		sameStats(t, filepath.Base(file), got, want)
		sameIndex(t, filepath.Base(file), db, ref)
		n := pagesWritten(db) - written
		switch {
		case file == path && n != 0:
			t.Errorf("the same file again wrote %d pages", n)
		case file == later && commits < 5:
			t.Errorf("every device replaced in %d transactions of %d bytes", commits, small.txBytes)
		}
	}
}

// TestReimportStopped: a re-import stopped while it reads or before it
// writes leaves the index as it was; stopped after a transaction, it
// leaves the index as writing one at a time the devices of the file
// whose keys sort before the first it has not written; run again, it
// finishes as re-importing the file over that does. No run is left
// behind.
func TestReimportStopped(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := newDevicePool(99)
	base := openDB(t)
	importUDID(t, base, writeUDID(t, dir, "first.xml", p.devices(60)...))
	devs := p.devices(120)
	file := writeUDID(t, dir, "again.xml", devs...)
	runs := t.TempDir()
	small := Options{TempDir: runs, runBytes: 2000, txBytes: 1500}
	noRuns := func() {
		t.Helper()
		if files, _ := os.ReadDir(runs); len(files) != 0 {
			t.Fatalf("files left behind: %v", files)
		}
	}

	// Stopped while reading, and once read.
	for _, when := range []string{"reading", "planned"} {
		db := cloneDB(t, base)
		stop, cancel := context.WithCancel(ctx)
		opt := small
		if when == "reading" {
			cancel()
		} else {
			opt.planned = cancel
		}
		commits := 0
		opt.committed = func([]byte) { commits++ }
		if _, err := db.ImportUDID(stop, file, opt); !errors.Is(err, context.Canceled) || commits != 0 {
			t.Fatalf("stopped %s: %v, %d commits", when, err, commits)
		}
		sameIndex(t, "stopped "+when, db, base)
		noRuns()
		cancel()
	}

	// Stopped after each number of transactions in turn.
	full := cloneDB(t, base)
	if _, err := full.ImportUDID(ctx, file, oneByOne); err != nil {
		t.Fatal(err)
	}
	for stopAt := 1; ; stopAt++ {
		db := cloneDB(t, base)
		stop, cancel := context.WithCancel(ctx)
		opt := small
		commits := 0
		var next []byte
		opt.committed = func(n []byte) {
			if commits++; commits == stopAt {
				next = bytes.Clone(n)
				cancel()
			}
		}
		_, err := db.ImportUDID(stop, file, opt)
		cancel()
		if err == nil {
			// Stopped after the last transaction that writes, or never.
			sameIndex(t, "not stopped", db, full)
			if commits < stopAt {
				if stopAt < 5 {
					t.Fatalf("%d transactions: the test stops too few", commits)
				}
				break
			}
			continue
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("stopped after %d transactions: %v", stopAt, err)
		}
		noRuns()
		// The reference: the devices before next, one at a time.
		var before []dev
		for _, d := range devs {
			if national.Key(d.DI) < string(next) {
				before = append(before, d)
			}
		}
		ref := cloneDB(t, base)
		if _, err := ref.ImportUDID(ctx, writeUDID(t, dir, fmt.Sprintf("before%d.xml", stopAt), before...), oneByOne); err != nil {
			t.Fatal(err)
		}
		sameIndex(t, fmt.Sprintf("stopped after %d transactions (before %s)", stopAt, next), db, ref)
		// Run again: as the file over what was written.
		want, err := ref.ImportUDID(ctx, file, oneByOne)
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.ImportUDID(ctx, file, small)
		if err != nil {
			t.Fatal(err)
		}
		sameStats(t, fmt.Sprintf("run again after %d transactions", stopAt), got, want)
		sameIndex(t, fmt.Sprintf("run again after %d transactions", stopAt), db, ref)
	}
}

// TestReimportDropAndTake: a device that drops a package DI which a
// device of the same file, sorting before it, takes is no conflict, as
// one at a time in the order of the file: the DI was free when the second
// took it. (Batches sorted by key counted one.)
func TestReimportDropAndTake(t *testing.T) {
	dir := t.TempDir()
	x, box, y := gtin("0690000000201"), gtin("1690000000201"), gtin("0690000000100")
	db := openDB(t)
	importUDID(t, db, writeUDID(t, dir, "a.xml", dev{DI: x, Name: "甲", Version: 1, VersionTime: "2025-01-01", Box: box}))
	st, err := db.ImportUDID(context.Background(), writeUDID(t, dir, "b.xml",
		dev{DI: x, Name: "甲", Version: 2, VersionTime: "2025-01-01"},
		dev{DI: y, Name: "乙", Version: 1, VersionTime: "2025-01-01", Box: box}), Options{})
	if err != nil || st.Kept != 2 || st.Conflicts != 0 || len(st.Problems) != 0 {
		t.Fatalf("%+v %v", st, err)
	}
	if e, ok, _ := db.Lookup(box); !ok || e.PackageOf != y {
		t.Fatalf("the box: %+v %v", e, ok)
	}
}
