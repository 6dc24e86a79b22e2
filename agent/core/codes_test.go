package core_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/master"
)

// TestImportNHSAReleaseTables: the NHSA's own withdrawn-codes and
// old→new tables import as code releases that accumulate, survive a
// restart, and a normalised codes file replaces them; a file that is
// neither is refused naming both readings.
func TestImportNHSAReleaseTables(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	g, l := openCore(t, path)
	ctx := context.Background()
	const a, b, c, w = "C09100100000000211790000049", "C09100100000000211790000050", "C09100100000000211790000061", "C09100100000000211790000072"
	imp := func(body string) (core.ImportResult, error) {
		return g.Import(ctx, "codes", strings.NewReader(body), core.ImportOptions{Format: "csv", Name: "release.csv"})
	}
	if _, err := imp("27位码,原码状态\n" + w + ",停用\n"); err != nil {
		t.Fatal(err)
	}
	res, err := imp("原27位码,原码状态,27位码,类型\n" + a + ",停用," + b + ",变更\n" + b + ",停用," + c + ",变更\n")
	if err != nil || res.Rows != 3 {
		t.Fatalf("transcode table: %+v %v", res, err)
	}
	check := func(d *master.Data) {
		t.Helper()
		if now, wd := d.MapCode(a); now != c || wd {
			t.Errorf("%s maps to %s, %v", a, now, wd)
		}
		if _, wd := d.MapCode(w); !wd {
			t.Errorf("%s not withdrawn", w)
		}
	}
	check(g.Master())
	l.Close()
	g, l = openCore(t, path)
	defer l.Close()
	check(g.Master())

	if res, err := g.Import(ctx, "codes", strings.NewReader("code,new_code\n"+a+","+c+"\n"), core.ImportOptions{Format: "csv"}); err != nil || res.Rows != 1 {
		t.Fatalf("normalised file: %+v %v", res, err)
	}
	if _, wd := g.Master().MapCode(w); wd {
		t.Error("a normalised file did not replace the set")
	}
	_, err = g.Import(ctx, "codes", strings.NewReader("foo,bar\n1,2\n"), core.ImportOptions{Format: "csv", Name: "x.csv"})
	if !errors.Is(err, master.ErrHeader) || !strings.Contains(err.Error(), "withdrawn-codes table") || !strings.Contains(err.Error(), "old→new table") {
		t.Errorf("neither: %v", err)
	}
}
