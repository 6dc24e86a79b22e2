package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"
)

// TestImportMasterData imports master data files into a stopped agent's
// ledger and into a running agent: a file with bad rows is refused whole,
// every bad row reported by line, unless --partial keeps the good ones;
// and the set survives a restart.
func TestImportMasterData(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "ledger.db")
	td := "../../agent/master/testdata/"
	code, out, errOut := runMain(t, "", "import", "--store", store, "--gateway", "gw-m", "catalogue", td+"catalogue-bad.csv")
	if code != ExitFailure || !strings.Contains(errOut, "line 4: column unit_price") || !strings.Contains(errOut, "nothing imported") || out != "" {
		t.Fatalf("import with bad rows: %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runMain(t, "", "import", "--store", store, "--partial", "catalogue", td+"catalogue-bad.csv")
	if code != ExitOK || !strings.Contains(errOut, "line 4: column unit_price") || !strings.Contains(out, "rejected") {
		t.Fatalf("import --partial: %d\n%s\n%s", code, out, errOut)
	}
	// A product given twice in a catalogue: the later row kept, said so.
	dup := filepath.Join(dir, "dup.csv")
	if err := os.WriteFile(dup, []byte("gtin,name,unit_price\n06901234100013,a,1.00\n06901234100044,b,2.00\n06901234100013,a2,3.00\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runMain(t, "", "import", "--store", filepath.Join(dir, "dup.db"), "--gateway", "gw-d", "catalogue", dup)
	if code != ExitOK || !strings.Contains(out, "2 row(s) imported") || !strings.Contains(errOut, "warning: catalogue: 06901234100013: entry 2 replaces entry 0") {
		t.Fatalf("a catalogue giving a product twice: %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := runMain(t, "", "import", "--store", store, "--gateway", "gw-m", "recall", td+"recalls.csv"); code != ExitUsage || !strings.Contains(errOut, `"recall"`) {
		t.Fatalf("unknown set: %d %s", code, errOut)
	}
	if code, _, errOut := runMain(t, "", "import", "--store", store, "--gateway", "gw-m", "recalls", td+"missing.csv"); code != ExitFailure || !strings.Contains(errOut, "missing.csv") {
		t.Fatalf("missing file: %d %s", code, errOut)
	}

	// A running agent imports through its socket, keeping the catalogue.
	cfg := edge.DefaultConfig()
	cfg.Gateway, cfg.Store = "gw-m", store
	a := edge.NewAgent(cfg, nil)
	if err := a.Open(); err != nil {
		t.Fatal(err)
	}
	if d := a.Core().Master(); d.Counts().Catalogue == 0 {
		t.Fatal("the imported catalogue was not loaded at start-up")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	code, out, errOut = runMain(t, "", "import", "--store", store, "recalls", td+"recalls.json")
	if code != ExitOK || !strings.Contains(out, "recalls:") {
		t.Fatalf("import into the running agent: %d %s %s", code, out, errOut)
	}
	// Bad rows are counted as rows, not as problems (a row may have
	// several), by the running agent as on the stopped file.
	twice := filepath.Join(dir, "two-problems.csv")
	if err := os.WriteFile(twice, []byte("gtin,name,manufacturer,insurance_code,unit_price,high_value,imported,tracking\n"+
		"06901234100037,a,b,,12.5x,maybe,false,serial\n06901234100044,c,d,,1.00,false,false,box\n06901234100051,e,f,,2.00,false,false,lot\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runMain(t, "", "import", "--store", store, "catalogue", twice); code != ExitFailure || !strings.Contains(errOut, "2 bad row(s)") {
		t.Fatalf("a file with 2 bad rows, one with 2 problems, into the running agent: %d %s", code, errOut)
	}
	d := a.Core().Master()
	if d.Counts().Recalls == 0 || d.Counts().Catalogue == 0 {
		t.Fatalf("after importing recalls: %+v", d.Counts())
	}
	cancel()
	<-done
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	// The stored set is the agent's after a restart, offline.
	l, err := bolt.OpenReadOnly(store, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	stored, _, err := l.LoadMaster()
	if err != nil {
		t.Fatal(err)
	}
	if c := stored.Counts(); c.Recalls != d.Counts().Recalls || c.Catalogue != d.Counts().Catalogue {
		t.Fatalf("stored %+v, agent had %+v", c, d.Counts())
	}
}
