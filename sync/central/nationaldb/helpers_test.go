package nationaldb

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/agent/code"
	"github.com/udi-edge/udi-edge/agent/udid"
	bolt "go.etcd.io/bbolt"
)

// openDB opens an index in a fresh temporary directory; at cleanup it
// checks the file's consistency (bbolt's Check) and closes it.
func openDB(t testing.TB) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "national.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		err := db.db.View(func(tx *bolt.Tx) error {
			for err := range tx.Check() {
				return err
			}
			return nil
		})
		if err != nil {
			t.Errorf("the index file is inconsistent: %v", err)
		}
		db.Close()
	})
	return db
}

// generated writes a UDID download part of n generated devices to dir
// and returns its path.
func generated(t testing.TB, dir string, n int, seed int64) string {
	t.Helper()
	path := filepath.Join(dir, fmt.Sprintf("UDID_FULL_DOWNLOAD_PART1_Of_1_%d.xml", seed))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := udid.Generate(f, n, seed); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// gtin returns the GTIN-14 of the 13 digits base with its check digit.
func gtin(base string) string {
	c, err := code.CheckDigit(base)
	if err != nil {
		panic(err)
	}
	return base + string(rune('0'+c))
}

// dev is a device of a hand-written UDID part.
type dev struct {
	DI, Name, Code, Use string
	Version             int
	VersionTime         string
	Box                 string // a package of 10
	// Extra is raw XML put in the record (a bad field).
	Extra string
	// Coding is the coding system's name ("" means GS1).
	Coding string
}

// writeUDID writes devs as a UDID XML part to dir/name.
func writeUDID(t testing.TB, dir, name string, devs ...dev) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<udid version=\"1.0\">\n<header><numberRkeyecordXML>%d</numberRkeyecordXML></header>\n<devices>\n", len(devs))
	for _, d := range devs {
		fmt.Fprintf(&b, "<device>\n<zxxsdycpbs>%s</zxxsdycpbs>\n<cpbsbmtxmc>%s</cpbsbmtxmc>\n<cpmctymc>%s</cpmctymc>\n<spmc>%s</spmc>\n<ggxh>M-1</ggxh>\n<ylqxzcrbarmc>某某医疗器械有限公司</ylqxzcrbarmc>\n<zczbhhzbapzbh>国械注准20203100001</zczbhhzbapzbh>\n",
			d.DI, cmp.Or(d.Coding, "GS1"), d.Name, d.Name)
		if d.Code != "" {
			fmt.Fprintf(&b, "<ybbm>%s</ybbm>\n", d.Code)
		}
		if d.Use != "" {
			fmt.Fprintf(&b, "<sydycpbs>%s</sydycpbs>\n<zxxsdyzsydydsl>10</zxxsdyzsydydsl>\n", d.Use)
		}
		b.WriteString("<sfbjwycxsy>是</sfbjwycxsy>\n<scbssfbhph>是</scbssfbhph>\n<scbssfbhsxrq>是</scbssfbhsxrq>\n")
		b.WriteString(d.Extra)
		if d.Box != "" {
			fmt.Fprintf(&b, "<packingList><packing><bzcpbs>%s</bzcpbs><cpbzjb>盒</cpbzjb><bznhxyjcpbssl>10</bznhxyjcpbssl><bznhxyjbzcpbs>%s</bznhxyjbzcpbs></packing></packingList>\n", d.Box, d.DI)
		}
		fmt.Fprintf(&b, "<versionNumber>%d</versionNumber>\n<versionTime>%s</versionTime>\n</device>\n", d.Version, d.VersionTime)
	}
	b.WriteString("</devices>\n</udid>\n")
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// nhsaHeader is the header of the synthetic 1306 files: the columns
// ApplyNHSA reads, by the interface's names.
var nhsaHeader = []string{"医疗目录编码", "耗材名称", "医疗器械唯一标识码", "医保通用名", "高值耗材标志",
	"植入材料和人体器官标志", "植入或介入类标志", "一次性使用标志", "限制使用标志", "医保限用范围", "注册备案号", "生产企业名称", "有效标志"}

// row is a row of a synthetic 1306 file.
type row struct {
	Code, Name, DIs                                     string
	HighValue, Implant, Intervention, Restricted, Valid string // "1", "0" or ""
	Scope                                               string
}

// writeNHSA writes rows as a tab-separated 1306 file with a header to
// dir/name.
func writeNHSA(t testing.TB, dir, name string, rows ...row) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString(strings.Join(nhsaHeader, "\t") + "\n")
	for _, r := range rows {
		valid := r.Valid
		if valid == "" {
			valid = "1"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Code, r.Name, r.DIs, "通用名", r.HighValue,
			r.Implant, r.Intervention, "1", r.Restricted, r.Scope, "国械注准20203100001", "某某医疗器械有限公司", valid)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// importUDID imports path and fails the test on error.
func importUDID(t testing.TB, db *DB, path string) Stats {
	t.Helper()
	st, err := db.ImportUDID(context.Background(), path, Options{Batch: 500})
	if err != nil {
		t.Fatalf("import %s: %v", path, err)
	}
	return st
}

// importNHSA imports path and fails the test on error.
func importNHSA(t testing.TB, db *DB, path string) Stats {
	t.Helper()
	st, err := db.ImportNHSA(context.Background(), path, Options{Batch: 500})
	if err != nil {
		t.Fatalf("import %s: %v", path, err)
	}
	return st
}

// dump returns every key and value of every bucket of the index.
func dump(t testing.TB, db *DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := db.db.View(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			err := tx.Bucket(name).ForEach(func(k, v []byte) error {
				out[string(name)+"/"+string(k)] = string(v)
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pagesWritten returns the number of pages the index's transactions have
// written since it was opened.
func pagesWritten(db *DB) int64 {
	st := db.db.Stats()
	return st.TxStats.GetWrite()
}
