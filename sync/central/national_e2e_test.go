package central_test

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/agent/national"
	"github.com/udi-edge/udi-edge/agent/udid"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
	"github.com/udi-edge/udi-edge/sync/central/storetest"
	"github.com/udi-edge/udi-edge/sync/internal/mosquitto"
	"github.com/udi-edge/udi-edge/sync/sign"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// TestNationalCatalogueBinary runs the udi-central binary: import
// loads a generated UDID export of 3,000 devices and an NHSA file into
// the national index; catalogue --received publishes to the site, through
// a real Mosquitto, exactly the products its gateways have received (one
// received as a box) with their packages and units of use, signed, as a
// gateway assembles and reads it; then, beside the running service,
// catalogue --http-url asks the service what was received and adds the
// products of the hospital's own catalogue.
func TestNationalCatalogueBinary(t *testing.T) {
	broker := mosquitto.Start(t, mosquitto.Config{})
	dir := t.TempDir()
	store := filepath.Join(dir, "central.db")

	// The devices: three with packages, received (the second as a box);
	// one more in the hospital's own catalogue only.
	const n, seed = 3000, 4
	udidFile := filepath.Join(dir, "UDID_FULL_DOWNLOAD_PART1_Of_1.xml")
	var x bytes.Buffer
	if err := udid.Generate(&x, n, seed); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(udidFile, x.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	var devices [][]master.CatalogueEntry
	g := udid.Generator{Seed: seed}
	for i := 0; i < n && len(devices) < 4; i++ {
		if es, _ := national.Entries(g.Device(i)); len(es) >= 2 && es[len(es)-1].PackageOf != "" && es[0].GTIN != "" {
			devices = append(devices, es)
		}
	}
	if len(devices) < 4 {
		t.Fatal("not four generated devices with packages")
	}
	box := devices[1][len(devices[1])-1]
	st, err := boltstore.Open(store)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	l := testkit.NewLedger(site, "store-1", created)
	for i, item := range []string{"(01)" + devices[0][0].GTIN + "(21)A1", "(01)" + box.GTIN + "(10)L7", "(01)" + devices[2][0].GTIN + "(21)C1"} {
		l.Add(t, agent.Movement{Time: at.Add(time.Duration(i) * time.Minute), Kind: agent.KindReceive, Item: item, Location: "store", Decision: "accepted"})
	}
	l.Add(t, agent.Movement{Time: at.Add(time.Hour), Kind: agent.KindUse, Item: "(01)" + devices[3][0].GTIN + "(21)D1", Location: "OR-3", Decision: "accepted"})
	storetest.MustAppend(t, st, l, 1, 4)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	code, out, errs := runBin(t, "key", "--store", store)
	pub, err := sign.ParsePublic(strings.TrimSpace(out))
	if code != 0 || err != nil {
		t.Fatalf("key: exit %d %v\n%s", code, err, errs)
	}
	code, out, errs = runBin(t, "import", "udid", udidFile, "--store", store)
	if code != 0 || !strings.Contains(out, fmt.Sprintf(": %d records read, ", n)) || !strings.Contains(out, ", 0 bad") {
		t.Fatalf("import udid: exit %d\n%s%s", code, out, errs)
	}
	nhsaFile := filepath.Join(dir, "1306.txt")
	os.WriteFile(nhsaFile, []byte("医疗目录编码\t耗材名称\t医疗器械唯一标识码\t高值耗材标志\t有效标志\nC09100100000000211790000049\t某耗材\t"+devices[0][0].GTIN+"\t1\t1\n"), 0o600)
	if code, out, errs := runBin(t, "import", "nhsa", nhsaFile, "--store", store); code != 0 || !strings.Contains(out, "1 matching a device of the index") {
		t.Fatalf("import nhsa: exit %d\n%s%s", code, out, errs)
	}

	// Received, straight from the store.
	conn := []string{"--broker", broker.Addr(), "--client-id", "udi-central-catalogue"}
	code, out, errs = runBin(t, append([]string{"catalogue", "--site", site, "--received", "--store", store}, conn...)...)
	if code != 0 || !strings.HasPrefix(out, "published catalogue version ") {
		t.Fatalf("catalogue --received: exit %d\n%s%s", code, out, errs)
	}
	cat := signedCatalogue(t, broker, pub)
	wantKeys(t, cat, devices[:3])
	for _, e := range cat {
		if e.GTIN == devices[0][0].GTIN && !e.HighValue {
			t.Errorf("the NHSA row naming the device's DI: %+v", e)
		}
	}

	// Beside the running service: received from its API, plus the
	// hospital's own catalogue.
	logs := &syncBuffer{}
	cmd := exec.Command(binary(t), "run", "--site", site, "--store", store, "--http", "127.0.0.1:0", "--broker", broker.Addr(), "--client-id", "udi-central-e2e")
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("udi-central run log:\n%s", logs.String())
		}
	})
	addrRE := regexp.MustCompile(`msg="http listening" addr=(\S+)`)
	testkit.WaitFor(t, wait, "the service to listen and connect", func() bool {
		// Subscribed once the resync after connecting is logged ("mqtt
		// connected" comes before the subscriptions).
		return addrRE.MatchString(logs.String()) && strings.Contains(logs.String(), `msg="resync after connect"`)
	})
	api := "http://" + addrRE.FindStringSubmatch(logs.String())[1]
	own := filepath.Join(dir, "own.csv")
	os.WriteFile(own, []byte("gtin,name,unit_price,charge_code\n"+devices[3][0].GTIN+",本院丁,88.00,H-4\n"), 0o600)
	code, out, errs = runBin(t, "catalogue", "--site", site, "--received", "--own", own, "--store", store, "--http-url", api)
	if code != 0 || !strings.HasPrefix(out, "published catalogue version ") || !strings.Contains(errs, "1 of the 1 of --own found") {
		t.Fatalf("catalogue --http-url: exit %d\n%s%s", code, out, errs)
	}
	cat = signedCatalogue(t, broker, pub)
	wantKeys(t, cat, devices)
	if i := slices.IndexFunc(cat, func(e master.CatalogueEntry) bool { return e.GTIN == devices[3][0].GTIN }); i < 0 || cat[i].ChargeCode != "H-4" || cat[i].Name != "本院丁" {
		t.Errorf("the hospital's own entry: %+v", cat)
	}
}

// wantKeys fails unless cat holds exactly the entries of devices, each
// once.
func wantKeys(t *testing.T, cat []master.CatalogueEntry, devices [][]master.CatalogueEntry) {
	t.Helper()
	var want, got []string
	for _, es := range devices {
		for _, e := range es {
			want = append(want, e.Product())
		}
	}
	for _, e := range cat {
		got = append(got, e.Product())
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("published products %v\nwant exactly %v", got, want)
	}
}

// signedCatalogue returns the catalogue retained for the site, every
// part verified under pub, as a gateway reads it.
func signedCatalogue(t *testing.T, broker *mosquitto.Broker, pub ed25519.PublicKey) []master.CatalogueEntry {
	t.Helper()
	msgs := retainedNow(t, broker)
	for _, m := range msgs {
		if _, set, _, err := wire.ParseMasterTopic(m.Topic); err != nil || set != wire.SetCatalogue || len(m.Payload) == 0 {
			continue
		}
		p, err := wire.DecodeMasterPart(m.Payload)
		if err != nil {
			t.Fatalf("%s: %v", m.Topic, err)
		}
		if err := p.Verify(site, pub); err != nil {
			t.Fatalf("%s: %v", m.Topic, err)
		}
	}
	m := retainedSet(t, msgs, site, wire.SetCatalogue)
	cat, _, err := master.ParseCatalogue(bytes.NewReader(m.Data), master.ImportOptions{Format: m.Format})
	if err != nil {
		t.Fatalf("a gateway refuses the catalogue: %v", err)
	}
	return cat
}
