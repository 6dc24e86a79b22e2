package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/master"
	bolt "go.etcd.io/bbolt"
)

// The recall reason marks the stored recalls in the file's bytes.
const recallReason = "sterile barrier breach in lot B2"

// masterDemo is master data with a catalogue, recalls and lot statuses,
// the recalls published by the centre as version 3.
func masterDemo(t *testing.T) *master.Data {
	t.Helper()
	d := new(master.Data)
	for _, f := range []struct {
		set, file string
		version   uint64
	}{
		{"catalogue", "gtin,name,unit_price,high_value\n06901234100013,髋关节假体 股骨柄,6850.00,yes\n06901234200010,冠脉支架,798,yes\n", 0},
		{"recalls", "gtin,lots,reason\n06901234200010,B1;B2," + recallReason + "\n", 3},
		{"lots", "gtin,lot,status\n06901234100013,L7,on-hold\n", 0},
	} {
		var err error
		d, _, err = d.Import(f.set, strings.NewReader(f.file), master.ImportOptions{Format: "csv", Version: "v1", SetVersion: f.version})
		if err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// damageFile flips one byte of the only occurrence of marker in the file.
func damageFile(t *testing.T, path, marker string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(raw, []byte(marker)); n != 1 {
		t.Fatalf("%q is in the file %d times", marker, n)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(raw, []byte(marker)) + len(marker)/2
	if _, err := f.WriteAt([]byte{raw[i] ^ 0x20}, int64(i)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// wantMasterDamage checks that VerifyMaster names exactly the given
// stored values, each a *CorruptError.
func wantMasterDamage(t *testing.T, l *Ledger, names ...string) {
	t.Helper()
	errs := l.VerifyMaster()
	if len(errs) != len(names) {
		t.Fatalf("VerifyMaster: %v, want problems with %v", errs, names)
	}
	for i, err := range errs {
		var ce *CorruptError
		if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), `"`+names[i]+`"`) {
			t.Errorf("VerifyMaster: %v, want a corrupt %s", err, names[i])
		}
	}
}

// TestMasterSetDamagedInFile damages the stored recalls in a real ledger
// file: the gateway loads the other sets, the recalls are reported
// damaged (and empty, with no central version, so the centre's retained
// ones apply again), VerifyMaster names them, and importing recalls
// repairs the file.
func TestMasterSetDamagedInFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := Open(Options{Path: path, Gateway: testGateway})
	if err != nil {
		t.Fatal(err)
	}
	d := masterDemo(t)
	if err := master.Save(l, d); err != nil {
		t.Fatal(err)
	}
	wantMasterDamage(t, l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	damageFile(t, path, recallReason)

	l = openTest(t, Options{Path: path})
	got, damaged, err := master.Load(l)
	if err != nil || !reflect.DeepEqual(damaged, []string{"recalls"}) {
		t.Fatalf("Load: %v, damaged %v", err, damaged)
	}
	if e, ok := got.Lookup("06901234100013"); !ok || e.UnitPrice != 685000 {
		t.Errorf("catalogue after the damage: %+v %v", e, ok)
	}
	if s, ok := got.LotStatus("06901234100013", "L7"); !ok || s.Status.Usable() {
		t.Errorf("lot statuses after the damage: %+v %v", s, ok)
	}
	if _, ok := got.Recalled("06901234200010", "B2", ""); ok || got.Counts().Recalls != 0 || got.SetVersion("recalls") != 0 {
		t.Errorf("recalls after the damage: %+v, version %d", got.Counts(), got.SetVersion("recalls"))
	}
	wantMasterDamage(t, l, "recalls")

	n, _, err := got.Import("recalls", strings.NewReader("gtin,lots,reason\n06901234200010,B2,re-issued notice\n"), master.ImportOptions{Format: "csv", Version: "v2"})
	if err != nil {
		t.Fatal(err)
	}
	if err := master.Save(l, n, "recalls"); err != nil {
		t.Fatal(err)
	}
	wantMasterDamage(t, l)
	got, damaged, err = master.Load(l)
	if err != nil || damaged != nil {
		t.Fatalf("Load after the import: %v, damaged %v", err, damaged)
	}
	if r, ok := got.Recalled("06901234200010", "B2", ""); !ok || r.Reason != "re-issued notice" || got.Counts().Catalogue != 2 || got.Version != "v2" {
		t.Errorf("after the import: %+v %v, %+v", r, ok, got.Counts())
	}
}

// writeMasterTheOldWay stores d as builds before per-set storage did: the
// whole Data, one value, key "data".
func writeMasterTheOldWay(t *testing.T, path string, d *master.Data) {
	t.Helper()
	b, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	rawUpdate(t, path, func(tx *bolt.Tx) error {
		mb, err := tx.CreateBucketIfNotExists([]byte("master"))
		if err != nil {
			return err
		}
		return mb.Put([]byte("data"), b)
	})
}

// TestMasterOldLedger reads an older ledger's single value, then stores
// every set on its own at the next import and drops the old value.
func TestMasterOldLedger(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	writeBurst(t, path, 3)
	d := masterDemo(t)
	writeMasterTheOldWay(t, path, d)

	l := openTest(t, Options{Path: path})
	got, damaged, err := master.Load(l)
	if err != nil || damaged != nil || !reflect.DeepEqual(got.Sets(), d.Sets()) || got.SetVersion("recalls") != 3 {
		t.Fatalf("old ledger: %v, damaged %v, %+v", err, damaged, got.Counts())
	}
	wantMasterDamage(t, l)
	n, _, err := got.Import("lots", strings.NewReader("gtin,lot,status\n06901234100013,L7,approved\n"), master.ImportOptions{Format: "csv", Version: "v2"})
	if err != nil {
		t.Fatal(err)
	}
	if err := master.Save(l, n, "lots"); err != nil {
		t.Fatal(err)
	}
	values, bad, err := l.MasterSets()
	if err != nil || bad != nil {
		t.Fatal(err, bad)
	}
	want := append([]string{master.StoredLabel}, master.SetNames...)
	if got := slices.Sorted(maps.Keys(values)); !reflect.DeepEqual(got, slices.Sorted(slices.Values(want))) {
		t.Fatalf("stored after the import: %v, want %v", got, want)
	}
	got, damaged, _ = master.Load(l)
	if damaged != nil || got.Counts().Catalogue != 2 || got.SetVersion("recalls") != 3 {
		t.Errorf("after the import: damaged %v, %+v", damaged, got.Counts())
	}
	if s, ok := got.LotStatus("06901234100013", "L7"); !ok || !s.Status.Usable() {
		t.Errorf("the imported lot status: %+v %v", s, ok)
	}
}

// TestMasterOldLedgerDamaged: a damaged old single value costs every
// set; each set imported again is stored on its own and used; the old
// value is kept (and reported) until no set needs it.
func TestMasterOldLedgerDamaged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	writeBurst(t, path, 3)
	writeMasterTheOldWay(t, path, masterDemo(t))
	damageFile(t, path, recallReason)

	l, err := Open(Options{Path: path, Gateway: testGateway})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got, damaged, err := master.Load(l)
	if err != nil || !reflect.DeepEqual(damaged, master.SetNames) || got.Counts() != (master.Counts{}) {
		t.Fatalf("Load: %v, damaged %v", err, damaged)
	}
	wantMasterDamage(t, l, "data")
	n, _, err := got.Import("catalogue", strings.NewReader("gtin,name,unit_price\n06901234100013,股骨柄,6850\n"), master.ImportOptions{Format: "csv"})
	if err != nil {
		t.Fatal(err)
	}
	if err := master.Save(l, n, "catalogue"); err != nil {
		t.Fatal(err)
	}
	got, damaged, _ = master.Load(l)
	if _, ok := got.Lookup("06901234100013"); !ok || !reflect.DeepEqual(damaged, master.SetNames[1:]) {
		t.Errorf("after importing the catalogue: damaged %v", damaged)
	}
	wantMasterDamage(t, l, "data")
}

// TestMasterSetsStore checks the bolt side alone: values come back
// without their checksum, as copies; nil deletes; a read-only ledger
// refuses to store; an empty ledger has none.
func TestMasterSetsStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	l := openTest(t, Options{Path: path})
	if v, bad, err := l.MasterSets(); err != nil || len(v) != 0 || bad != nil {
		t.Fatalf("empty ledger: %v %v %v", v, bad, err)
	}
	if err := l.PutMasterSets(map[string][]byte{"a": []byte("one"), "b": []byte("two"), "c": {}}); err != nil {
		t.Fatal(err)
	}
	if err := l.PutMasterSets(map[string][]byte{"b": nil, "a": []byte("uno")}); err != nil {
		t.Fatal(err)
	}
	v, bad, err := l.MasterSets()
	if err != nil || bad != nil || !reflect.DeepEqual(v, map[string][]byte{"a": []byte("uno"), "c": {}}) {
		t.Fatalf("%q %v %v", v, bad, err)
	}
	v["a"][0] = 'X'
	if v2, _, _ := l.MasterSets(); string(v2["a"]) != "uno" {
		t.Error("MasterSets returned the stored bytes, not a copy")
	}
	if err := l.PutMasterSets(map[string][]byte{"": []byte("x")}); err == nil {
		t.Error("an empty name stored")
	}
	rawUpdate2 := func(fn func(*bolt.Bucket) error) {
		if err := l.db.Update(func(tx *bolt.Tx) error { return fn(tx.Bucket(bucketMaster)) }); err != nil {
			t.Fatal(err)
		}
	}
	rawUpdate2(func(b *bolt.Bucket) error { return b.Put([]byte("short"), []byte{1, 2}) })
	if _, bad, _ := l.MasterSets(); !reflect.DeepEqual(bad, []string{"short"}) {
		t.Errorf("a value too short for its checksum: damaged %v", bad)
	}
	wantMasterDamage(t, l, "short")
	rawUpdate2(func(b *bolt.Bucket) error { return b.Delete([]byte("short")) })

	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenReadOnly(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.PutMasterSets(map[string][]byte{"a": []byte("x")}); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("read-only put: %v", err)
	}
	if v, _, err := ro.MasterSets(); err != nil || string(v["a"]) != "uno" {
		t.Fatalf("read-only: %q %v", v, err)
	}
	if err := ro.Verify(context.Background()); err != nil {
		t.Fatalf("verify with a master bucket: %v", err)
	}
}

// TestMasterDeprecated: the whole-set value of PutMaster, read by Master
// and by master.Load; PutMaster drops per-set values, so that what it
// stored is all there is.
func TestMasterDeprecated(t *testing.T) {
	l := openTest(t, Options{})
	if _, err := l.Master(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty ledger: %v", err)
	}
	d := masterDemo(t)
	if err := master.Save(l, d); err != nil {
		t.Fatal(err)
	}
	b, _ := d.MarshalBinary()
	if err := l.PutMaster(b); err != nil {
		t.Fatal(err)
	}
	got, err := l.Master()
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("Master: %v", err)
	}
	values, _, _ := l.MasterSets()
	if len(values) != 1 {
		t.Fatalf("values after PutMaster: %v", slices.Sorted(maps.Keys(values)))
	}
	back, damaged, err := master.Load(l)
	if err != nil || damaged != nil || !reflect.DeepEqual(back.Sets(), d.Sets()) {
		t.Fatalf("Load of PutMaster's value: %v %v", err, damaged)
	}
}

// TestMasterSetsFrameInPlace: a value whose capacity holds its CRC-32C
// after it (as master.Data.MarshalSets leaves it) is framed in its own
// memory, not copied; any other is copied, and no value is ever written
// to, not even in its capacity (where a caller may keep other data).
// Values read back hold their checksum the same way, so that storing
// one again does not copy it either.
func TestMasterSetsFrameInPlace(t *testing.T) {
	sealed := binary.LittleEndian.AppendUint32([]byte("catalogue value"), crc32.Checksum([]byte("catalogue value"), castagnoli))
	sealed = sealed[:len(sealed)-4]
	if f := frame(sealed); &f[0] != &sealed[0] || len(f) != len(sealed)+4 {
		t.Error("a sealed value was copied")
	}
	other := []byte("recalls value####")
	v := other[:len("recalls value")]
	if f := frame(v); &f[0] == &v[0] || string(f[:len(v)]) != "recalls value" {
		t.Errorf("a value without its checksum was framed in place: %q", f)
	}

	l := openTest(t, Options{})
	if err := l.PutMasterSets(map[string][]byte{"catalogue": sealed, "recalls": v}); err != nil {
		t.Fatal(err)
	}
	if string(other) != "recalls value####" {
		t.Errorf("the capacity of a value was written to: %q", other)
	}
	values, bad, err := l.MasterSets()
	if err != nil || bad != nil || string(values["catalogue"]) != "catalogue value" || string(values["recalls"]) != "recalls value" {
		t.Fatalf("%q %v %v", values, bad, err)
	}
	for name, v := range values {
		if f := frame(v); &f[0] != &v[0] {
			t.Errorf("%s as read back would be copied to be stored again", name)
		}
	}
	if errs := l.VerifyMaster(); errs != nil {
		t.Error(errs)
	}
}
