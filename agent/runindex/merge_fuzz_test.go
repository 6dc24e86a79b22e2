package runindex

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var errDiscard = errors.New("discard the transaction")

// withFuzzIndex runs fn on an index of 9 runs of 12 entries (ids 0-8, 8
// of them due to merge), in a bbolt transaction that is rolled back, and
// returns fn's error.
func withFuzzIndex(db *bolt.DB, fn func(x *Index) error) (err error) {
	uerr := db.Update(func(tx *bolt.Tx) error {
		var bs [3]*bolt.Bucket
		for i, name := range []string{"meta", "runs", "blocks"} {
			if bs[i], err = tx.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		x := In(bs[0], bs[1], bs[2], Config{Block: 64, Small: 4, MinStep: 2}, &Arena{})
		for r := range 9 {
			var run [][]byte
			for i := range 12 {
				e := fmt.Sprintf("item-%03d/%d", i, r)
				run = append(run, []byte(e))
			}
			if err := x.AddRun(run); err != nil {
				return err
			}
		}
		err = fn(x)
		return errDiscard
	})
	if !errors.Is(uerr, errDiscard) {
		return uerr
	}
	return err
}

// FuzzMergeState resumes any stored merge state over a real index in
// bbolt (seeded with the state a real merge leaves between steps, cut,
// and forged: a merge into a live run, into itself, of runs that do not
// exist or with other counts): compacting either fails with an error
// wrapping ErrCorrupt, or succeeds and leaves an index that passes Check
// and finds every entry added exactly once; never a panic, never a hang.
func FuzzMergeState(f *testing.F) {
	db, err := bolt.Open(filepath.Join(f.TempDir(), "index.db"), 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	defer db.Close()
	var real []byte
	if err := withFuzzIndex(db, func(x *Index) error {
		if err := x.compact(1); err != nil {
			return err
		}
		real = append([]byte(nil), x.meta.Get(metaMerge)...)
		return nil
	}); err != nil || real == nil {
		f.Fatalf("no merge state left: %v", err)
	}
	m, err := decodeMerge(real)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(real, uint8(1))
	f.Add(real, uint8(200))
	f.Add(real[:len(real)-16], uint8(200))
	f.Add(real[:17], uint8(3))
	for _, forged := range []merge{
		{dest: 8, written: m.written, srcs: m.srcs},                         // into a live run
		{dest: m.srcs[0].id, written: 0, srcs: m.srcs},                      // into one of its sources
		{dest: m.dest, written: m.written, srcs: append(m.srcs, m.srcs[0])}, // a source twice
		{dest: m.dest, written: m.written + 5, srcs: m.srcs},
		{dest: m.dest, written: 0, srcs: []run{{id: 77, n: 3}}},
		{dest: 77, written: 0, srcs: m.srcs[:1]},
	} {
		f.Add(forged.encode(), uint8(200))
	}
	f.Fuzz(func(t *testing.T, state []byte, budget uint8) {
		defer time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("merge state %x: no answer in 10s", state)) }).Stop()
		err := withFuzzIndex(db, func(x *Index) error {
			if err := x.meta.Put(metaMerge, state); err != nil {
				return err
			}
			if err := x.compact(int(budget)); err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("state %x: error %v is not ErrCorrupt", state, err)
				}
				return nil
			}
			found := map[string]int{}
			if err := x.Check(func(e []byte) error { found[string(e)]++; return nil }); err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("state %x: check: %v", state, err)
				}
				return nil // the damage is found
			}
			for e := range found {
				if found[e] != 1 {
					t.Fatalf("state %x: %q found %d times after compacting", state, e, found[e])
				}
			}
			if len(found) != 9*12 {
				t.Fatalf("state %x: %d entries of %d after compacting", state, len(found), 9*12)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
