package nationaldb

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// trickyUDID writes a UDID part whose devices come in several versions,
// give each other's DIs and lose them: every rule of putDevice, in an
// order where the file's and the keys' disagree.
func trickyUDID(t *testing.T, dir string) string {
	t.Helper()
	a, bA, uA, bA2 := gtin("0690000000101"), gtin("1690000000101"), gtin("0690000000901"), gtin("2690000000101")
	b, bB := gtin("0690000000102"), gtin("1690000000102")
	c := gtin("0690000000103")
	d := gtin("0690000000104")
	f := "XYZ-105" // of another coding: keyed by its box only
	bF := gtin("1690000000105")
	g := gtin("0690000000106")
	h := gtin("0690000000107")
	i := gtin("0690000000108")
	p, q, bP := gtin("0690000000199"), gtin("0690000000110"), gtin("1690000000199")
	const c1, c2 = "C09100100000000211790000049", "C09100100000000211800000017"
	return writeUDID(t, dir, "tricky.xml",
		dev{DI: a, Name: "甲", Version: 1, VersionTime: "2025-01-01", Box: bA, Use: uA, Code: c1},
		dev{DI: b, Name: "乙", Version: 1, VersionTime: "2025-01-01", Box: bB},
		dev{DI: c, Name: "丙", Version: 1, VersionTime: "2025-01-01", Box: bA}, // takes A's box: written last
		dev{DI: a, Name: "甲二", Version: 2, VersionTime: "2025-02-01", Use: uA, Code: c2},
		dev{DI: d, Name: "丁", Version: 1, VersionTime: "2025-01-01", Box: a},    // A's sales unit: A keeps it
		dev{DI: bB, Name: "戊", Version: 1, VersionTime: "2025-01-01"},           // B's box as a sales unit
		dev{DI: b, Name: "乙旧", Version: 0, VersionTime: "2025-01-01", Box: bB},  // stale by number
		dev{DI: b, Name: "乙更旧", Version: 9, VersionTime: "2024-01-01", Box: bB}, // stale by time
		dev{DI: f, Coding: "XYZ", Name: "己", Version: 1, VersionTime: "2025-01-01", Box: bF},
		dev{DI: f, Coding: "XYZ", Name: "己二", Version: 2, VersionTime: "2025-02-01"}, // no key left: dropped, bF released
		dev{DI: g, Name: "庚", Version: 1, VersionTime: "2025-01-01", Box: bF},
		dev{DI: h, Name: "辛", Version: 1, VersionTime: "2025-01-01", Box: bA2},
		dev{DI: h, Name: "辛二", Version: 1, VersionTime: "2025-01-01"}, // the same version replaces: bA2 released
		dev{DI: i, Name: "壬", Version: 1, VersionTime: "2025-01-01", Box: bA2},
		dev{DI: c, Name: "丙二", Version: 2, VersionTime: "2025-03-01"}, // drops A's box, which nobody holds then
		dev{DI: p, Name: "癸", Version: 1, VersionTime: "2025-01-01", Box: bP},
		dev{DI: q, Name: "子", Version: 1, VersionTime: "2025-01-01", Box: bP}, // a smaller key, later in the file
		dev{DI: a, Name: "甲三", Version: 3, VersionTime: "2025-04-01", Box: bA, Use: uA, Code: c2},
	)
}

// sameImport checks that two imports of one file did the same: their
// counts, and their problems in any order.
func sameImport(t *testing.T, what string, got, want Stats) {
	t.Helper()
	gp, wp := slices.Sorted(slices.Values(got.Problems)), slices.Sorted(slices.Values(want.Problems))
	got.Problems, want.Problems, got.Elapsed, want.Elapsed = nil, nil, 0, 0
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gp, wp) {
		t.Errorf("%s:\n got %+v\n%q\nwant %+v\n%q", what, got, gp, want, wp)
	}
}

// TestFirstImport: a first import (sorted runs, merged, written in the
// order of the keys) leaves the index byte for byte as writing the
// devices one at a time in the order of the file does, and counts and
// names the same: versions, stale versions, devices dropped, DIs two
// devices give. So does an import in batches (a batch whose devices share
// a DI is written in file order). Runs of a few entries make the merge
// read from many.
func TestFirstImport(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		file  string
		batch int     // 1: one device a transaction, in the order of the file
		small Options // small runs and transactions
	}{
		{trickyUDID(t, dir), 1, Options{runBytes: 512, txBytes: 4096}},
		{generated(t, dir, 3000, 17), 500, Options{runBytes: 32 << 10, txBytes: 128 << 10}}, // the generated devices share no DI
	} {
		file := c.file
		ref := openDB(t)
		want, err := ref.ImportUDID(context.Background(), file, Options{Batch: c.batch, incremental: true})
		if err != nil {
			t.Fatal(err)
		}
		if c.batch == 1 && (want.Conflicts != 4 || want.Stale != 2 || want.Unkeyed != 1) {
			t.Fatalf("the file tests less than it should: %+v", want)
		}
		for _, c := range []struct {
			name string
			opt  Options
		}{
			{"first import, small runs and transactions", c.small},
			{"first import in memory", Options{}},
			{"batches of 500", Options{Batch: 500, incremental: true}},
		} {
			db := openDB(t)
			got, err := db.ImportUDID(context.Background(), file, c.opt)
			if err != nil {
				t.Fatal(err)
			}
			sameImport(t, filepath.Base(file)+": "+c.name, got, want)
			if d, w := dump(t, db), dump(t, ref); !reflect.DeepEqual(d, w) {
				for k, v := range w {
					if d[k] != v {
						t.Errorf("%s: %s: %q, want %q", c.name, k, d[k], v)
					}
				}
				t.Fatalf("%s: %s: %d entries, want %d", filepath.Base(file), c.name, len(d), len(w))
			}
		}
	}
}

// TestFirstImportStopped: a first import stopped while it writes keeps
// whole devices, and no key that leads nowhere; run again, it finishes
// the index as one import would have. A first import stopped while it
// reads writes nothing. Neither leaves a file behind.
func TestFirstImportStopped(t *testing.T) {
	dir := t.TempDir()
	path := generated(t, dir, 3000, 23)
	ref := openDB(t)
	importUDID(t, ref, path)

	runs := t.TempDir()
	db := openDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	commits := 0
	st, err := db.ImportUDID(ctx, path, Options{TempDir: runs, runBytes: 64 << 10, txBytes: 64 << 10, committed: func([]byte) {
		if commits++; commits == 3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || commits != 3 {
		t.Fatalf("stopped after %d commits: %+v %v", commits, st, err)
	}
	in, _ := db.Info()
	if in.Devices == 0 || in.Keys != 0 {
		t.Fatalf("stopped in the devices: %+v", in)
	}
	whole := dump(t, ref)
	for k, v := range dump(t, db) {
		if want, ok := whole[k]; !strings.HasPrefix(k, "meta/") && (!ok || want != v) {
			t.Fatalf("a stopped import wrote %s = %q, not as one import does", k, v)
		}
	}
	if files, _ := os.ReadDir(runs); len(files) != 0 {
		t.Errorf("files left behind: %v", files)
	}
	if _, err := db.ImportUDID(context.Background(), path, Options{}); err != nil {
		t.Fatal(err)
	}
	if got, want := dump(t, db), dump(t, ref); !reflect.DeepEqual(got, want) {
		t.Fatalf("run again: %d entries, want %d", len(got), len(want))
	}

	// Stopped before it writes: nothing written, no file left.
	db2 := openDB(t)
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err := db2.ImportUDID(ctx, path, Options{TempDir: runs, runBytes: 64 << 10}); !errors.Is(err, context.Canceled) {
		t.Fatalf("stopped while reading: %v", err)
	}
	if in, _ := db2.Info(); in.Devices != 0 || len(dump(t, db2)) != 1 { // meta/format
		t.Fatalf("stopped while reading wrote %+v", in)
	}
	if files, _ := os.ReadDir(runs); len(files) != 0 {
		t.Errorf("files left behind: %v", files)
	}
}
