package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/agent/national"
	"github.com/udi-edge/udi-edge/agent/testkit"
	"github.com/udi-edge/udi-edge/agent/udid"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"
)

// TestImportNational brings a hospital's catalogue up to date from the
// national sources through the command: a generated NMPA UDI download
// (a ZIP of parts) into a stopped agent's ledger, keeping only the two
// products the hospital stocks (with their packages) and its own names
// and prices; then an NHSA 1306 file into the running agent, through its
// socket; a bad record of a stocked product refuses the file, naming it.
func TestImportNational(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "ledger.db")
	gen := udid.Generator{Seed: 11, DirtEvery: 7}
	var a, b udid.Device
	for i := 0; a.DI == "" || b.DI == ""; i++ {
		d := gen.Device(i)
		if len(d.Packing) == 0 {
			continue
		}
		if a.DI == "" && d.Coding == udid.CodingGS1 {
			a = d
		} else if b.DI == "" && d.Coding == udid.CodingMA {
			b = d
		}
	}
	zipPath := filepath.Join(dir, "UDID_FULL_RELEASE.zip")
	f, err := os.Create(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gen.Zip(f, 400, 3); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cat := testkit.WriteFile(t, "catalogue.csv", fmt.Sprintf("di,name,charge_code,unit_price\n%s,本院股骨柄,H-1,7000.00\n%s,本院支架,H-2,750.00\n", a.DI, b.DI))
	if code, out, errOut := runMain(t, "", "import", "--store", store, "--gateway", "gw-n", "catalogue", cat); code != ExitOK {
		t.Fatalf("catalogue: %d %s %s", code, out, errOut)
	}
	code, out, errOut := runMain(t, "", "import", "--store", store, "udid", zipPath)
	if code != ExitOK || !strings.Contains(out, "400 device(s) read") || !strings.Contains(out, "2 kept") {
		t.Fatalf("udid: %d\n%s\n%s", code, out, errOut)
	}

	cfg := edge.DefaultConfig()
	cfg.Gateway, cfg.Store = "gw-n", store
	ag := edge.NewAgent(cfg, nil)
	if err := ag.Open(); err != nil {
		t.Fatal(err)
	}
	defer ag.Close()
	d := ag.Core().Master()
	ea, ok := d.Lookup(national.Key(a.DI))
	if !ok || ea.Name != "本院股骨柄" || ea.ChargeCode != "H-1" || ea.UnitPrice != 700000 || ea.GenericName != a.GenericName || ea.Label == 0 {
		t.Fatalf("stocked product after udid: %+v", ea)
	}
	want := 2
	for _, dev := range []udid.Device{a, b} {
		es, _ := national.Entries(dev)
		want += len(es) - 1
	}
	if n := d.Counts().Catalogue; n != want {
		t.Errorf("catalogue holds %d products, want the 2 stocked and their packages and units of use: %d", n, want)
	}
	pk := a.Packing[0]
	if e, q, ok := d.Resolve(national.Key(pk.DI)); !ok || e.ChargeCode != "H-1" || q < 1 {
		t.Errorf("package %s resolves to %+v × %d", pk.DI, e, q)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	defer func() { cancel(); <-done }()
	nh := testkit.WriteFile(t, "1306.txt", "医疗目录编码\t耗材名称\t医疗器械唯一标识码\t植入材料和人体器官标志\t高值耗材标志\t有效标志\n"+
		"C09100100000000211790000049\t股骨柄\t"+a.DI+"\t是\t是\t1\n"+
		"C09100100000000211790000050\t别的\t06901234000016\t是\t是\t1\n")
	code, out, errOut = runMain(t, "", "import", "--store", store, "nhsa", nh)
	if code != ExitOK || !strings.Contains(out, "2 row(s) read, 1 matched") {
		t.Fatalf("nhsa: %d\n%s\n%s", code, out, errOut)
	}
	ea, _ = ag.Core().Master().Lookup(national.Key(a.DI))
	if !ea.Implant || !ea.HighValue || ea.InsuranceCode != "C09100100000000211790000049" || ea.ChargeCode != "H-1" {
		t.Errorf("after nhsa: %+v", ea)
	}

	// A code release workbook saved as CSV maps the product's code to the
	// release's 27-character code.
	wb := testkit.WriteFile(t, "release.csv", "GOODS_ID,UDI,原27位码,27位码\nG1,"+a.DI+",C09100100000000211790000049,C09100100000000211790000061\n")
	code, out, errOut = runMain(t, "", "import", "--store", store, "nhsa", wb)
	if code != ExitOK || !strings.Contains(out, "1 row(s) read, 1 matched") {
		t.Fatalf("release workbook: %d\n%s\n%s", code, out, errOut)
	}
	if e, _ := ag.Core().Master().Lookup(national.Key(a.DI)); e.InsuranceCode != "C09100100000000211790000061" || !e.Implant {
		t.Errorf("after the release: %+v", e)
	}

	// A bad record of a stocked product refuses the file, naming it.
	bad := testkit.WriteFile(t, "bad.xml", "<udid><devices><device><zxxsdycpbs>"+a.DI+"</zxxsdycpbs><cpmctymc>x</cpmctymc><tsrq>not a date</tsrq></device></devices></udid>")
	code, _, errOut = runMain(t, "", "import", "--store", store, "udid", bad)
	if code != ExitFailure || !strings.Contains(errOut, "bad.xml") || !strings.Contains(errOut, "record 1") || !strings.Contains(errOut, "nothing imported") {
		t.Errorf("bad record: %d %s", code, errOut)
	}
	if e, _ := ag.Core().Master().Lookup(national.Key(a.DI)); !e.Implant {
		t.Errorf("a refused file changed the catalogue: %+v", e)
	}
}
