package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/agent/national"
	"github.com/udi-edge/udi-edge/agent/nhsa"
	"github.com/udi-edge/udi-edge/agent/udid"
)

// genUDID writes n generated devices of seed as a UDID XML part.
func genUDID(t *testing.T, dir string, n int, seed int64) string {
	t.Helper()
	path := filepath.Join(dir, "UDID_PART1_Of_1.xml")
	var b bytes.Buffer
	if err := udid.Generate(&b, n, seed); err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, filepath.Base(path), b.String(), 0o600)
}

// stockedDevices returns the entries of two generated devices of seed
// (among the first n) that have packages, the second with a national
// code.
func stockedDevices(t *testing.T, seed int64, n int) (a, b []master.CatalogueEntry) {
	t.Helper()
	g := udid.Generator{Seed: seed}
	for i := range n {
		es, _ := national.Entries(g.Device(i))
		if len(es) < 2 || es[len(es)-1].PackageOf == "" {
			continue
		}
		switch {
		case a == nil:
			a = es
		case len(es[0].InsuranceCode) == nhsa.LongLen:
			return a, es
		}
	}
	t.Fatal("no two devices with packages and a national code")
	return
}

// TestImportAndCatalogue: udi-central import fills the national index
// beside the store (again: unchanged), an NHSA row applies by code;
// catalogue publishes to a site exactly the products of its own
// catalogue with their packages, the hospital's fields kept and the
// national ones the index's, as a gateway reads it; --out writes the
// same catalogue.
func TestImportAndCatalogue(t *testing.T) {
	broker := startBroker(t)
	dir := t.TempDir()
	store := filepath.Join(dir, "central.db")
	pub := centreKey(t, store)
	const n = 2000
	file := genUDID(t, dir, n, 9)
	countsRE := regexp.MustCompile(`udid \S+: 2000 records read, (\d+) kept, 0 bad`)
	indexRE := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(filepath.Join(dir, DefaultNational)) + `: (\d+) devices, (\d+) product keys, 0 NHSA rows`)
	code, out, errs := runMain(t, "import", "udid", file, "--store", store)
	if code != ExitOK || !countsRE.MatchString(out) || !indexRE.MatchString(out) || !strings.Contains(out, "records/s") {
		t.Fatalf("import udid: exit %d\n%s%s", code, out, errs)
	}
	info := indexRE.FindString(out)
	if code, again, errs := runMain(t, "import", "udid", file, "--store", store); code != ExitOK || indexRE.FindString(again) != info {
		t.Fatalf("import udid again: exit %d\n%s%s\nwant %s", code, again, errs, info)
	}

	a, b := stockedDevices(t, 9, n)
	rows := "医疗目录编码\t耗材名称\t植入材料和人体器官标志\t有效标志\n" + b[0].InsuranceCode + "\t某植入物\t1\t1\n"
	code, out, errs = runMain(t, "import", "nhsa", writeFile(t, dir, "1306.txt", rows, 0o600), "--store", store)
	if code != ExitOK || !strings.Contains(out, ": 1 records read, 1 kept, 0 bad, 1 matching a device of the index") || !strings.Contains(out, "1 NHSA rows") {
		t.Fatalf("import nhsa: exit %d\n%s%s", code, out, errs)
	}

	own := writeFile(t, dir, "own.csv", "gtin,name,unit_price,charge_code\n"+
		a[0].GTIN+",本院甲,1234.00,H-1\n"+
		b[0].GTIN+",本院乙,99.50,H-2\n"+
		"00012345678905,本院自制,1,H-3\n", 0o600)
	code, out, errs = runMain(t, "catalogue", "--site", "st-marys", "--own", own, "--store", store,
		"--broker", "tcp://"+broker, "--client-id", "catalogue-test")
	if code != ExitOK || !strings.HasPrefix(out, "published catalogue version ") || !strings.Contains(errs, "2 of the 3 of --own found in the national index") {
		t.Fatalf("catalogue: exit %d\n%s%s", code, out, errs)
	}
	cat := strictCatalogue(t, retained(t, broker, "st-marys", "catalogue", pub))
	want := map[string]bool{"00012345678905": true}
	for _, e := range append(append([]master.CatalogueEntry(nil), a...), b...) {
		want[e.Product()] = true
	}
	got := map[string]master.CatalogueEntry{}
	for _, e := range cat {
		got[e.Product()] = e
	}
	if len(cat) != len(want) || len(got) != len(want) {
		t.Fatalf("published %d entries, want exactly %d: %v", len(cat), len(want), want)
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			t.Fatalf("published catalogue lacks %s", k)
		}
	}
	if e := got[a[0].GTIN]; e.Name != "本院甲" || e.ChargeCode != "H-1" || e.UnitPrice != 123400 || e.Manufacturer != a[0].Manufacturer || e.Label != a[0].Label {
		t.Errorf("a: %+v", e)
	}
	if e := got[b[0].GTIN]; !e.Implant || e.ChargeCode != "H-2" {
		t.Errorf("b, whose NHSA row says implant: %+v", e)
	}
	if e := got[b[len(b)-1].Product()]; e.PackageOf != b[len(b)-1].PackageOf || e.PackageQuantity != b[len(b)-1].PackageQuantity {
		t.Errorf("b's package: %+v", e)
	}

	outFile := filepath.Join(dir, "st-marys.json")
	code, out, errs = runMain(t, "catalogue", "--site", "st-marys", "--own", own, "--store", store, "--out", outFile)
	if code != ExitOK || !strings.Contains(out, fmt.Sprintf("(%d rows,", len(want))) {
		t.Fatalf("catalogue --out: exit %d\n%s%s", code, out, errs)
	}
	written, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	fromFile, _, err := master.ParseCatalogue(bytes.NewReader(written), master.ImportOptions{Format: "json"})
	if err != nil || !reflect.DeepEqual(fromFile, cat) {
		t.Fatalf("--out wrote another catalogue than the one published: %v", err)
	}
}

// TestNationalFlags: the index beside the store, from the configuration
// file, or required with a database store; usage errors exit 2; a file
// that is not an export fails the import (exit 1) and names it.
func TestNationalFlags(t *testing.T) {
	dir := t.TempDir()
	file := genUDID(t, dir, 50, 2)
	elsewhere := filepath.Join(dir, "sub", "index.db")
	os.MkdirAll(filepath.Dir(elsewhere), 0o700)
	cfg := writeFile(t, dir, "udi-central.json", `{"store": "`+filepath.Join(dir, "c.db")+`", "national": "`+elsewhere+`", "sites": ["s"], "broker": {"client_id": "the-service"}}`, 0o600)
	if code, out, errs := runMain(t, "import", "udid", file, "--config", cfg); code != ExitOK || !strings.Contains(out, elsewhere+": ") {
		t.Fatalf("--config: exit %d\n%s%s", code, out, errs)
	}
	if _, err := os.Stat(elsewhere); err != nil {
		t.Fatal(err)
	}
	// run reads the same file: the national key is not its.
	if code, out, errs := runMain(t, "run", "--check", "--config", cfg); code != ExitOK {
		t.Fatalf("run --check with a national key: exit %d\n%s%s", code, out, errs)
	}
	junk := writeFile(t, dir, "junk.xml", "not an export", 0o600)
	if code, out, errs := runMain(t, "import", "udid", junk, "--national", elsewhere); code != ExitFailure ||
		!strings.Contains(errs, "neither ZIP, XML nor JSON") || !strings.Contains(out, "1 damaged document(s)") {
		t.Fatalf("junk: exit %d\n%s%s", code, out, errs)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"import", "udid"}, "at least one FILE"},
		{[]string{"import", "gudid", file}, `"gudid": want udid`},
		{[]string{"import", "udid", file, "--store", "postgres://u@db/x"}, "--national is required with a database --store"},
		{[]string{"import", "udid", file, "--batch", "0"}, "--batch"},
		{[]string{"catalogue", "--site", "s", "--national", elsewhere}, "give --own, --received or both"},
		{[]string{"catalogue", "--site", "s,t", "--received", "--out", "x.json", "--national", elsewhere}, "give one --site"},
		{[]string{"catalogue", "--own", "x.csv"}, "--site is required"},
	} {
		if code, out, errs := runMain(t, c.args...); code != ExitUsage || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, want 2 and %q\n%s%s", c.args, code, c.want, out, errs)
		}
	}
}

// TestConfigKeysNameFlags: every key of the configuration file names a
// flag of run, import or catalogue (a command skips the others' keys, so
// a misspelt flag tag would be skipped by all).
func TestConfigKeysNameFlags(t *testing.T) {
	var help strings.Builder
	for _, cmd := range []string{"run", "import", "catalogue"} {
		_, out, _ := runMain(t, cmd, "--help")
		help.WriteString(out)
	}
	var walk func(v reflect.Type)
	walk = func(v reflect.Type) {
		for i := range v.NumField() {
			f := v.Field(i)
			name := f.Tag.Get("flag")
			if name == "" {
				walk(f.Type)
				continue
			}
			if h := help.String(); !strings.Contains(h, "--"+name+" ") && !strings.Contains(h, "--"+name+"[") {
				t.Errorf("configuration key %s names --%s, which no command has", f.Tag.Get("json"), name)
			}
		}
	}
	walk(reflect.TypeOf(fileConfig{}))
}
