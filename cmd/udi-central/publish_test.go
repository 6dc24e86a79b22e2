package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/udi-edge/udi-edge/agent/code"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/sync/sign"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// startBroker serves an MQTT broker (mochi-mqtt, in process) on a
// loopback port and returns its address.
func startBroker(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := mochi.New(&mochi.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{ID: "t", Address: addr})); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return addr
}

// retained returns the master data retained for set of site, as a
// gateway connecting now receives it: every part of one version,
// reassembled.
// centreKey runs `udi-central key` for the store and returns the public
// key it prints, made now when there is none.
func centreKey(t *testing.T, store string) ed25519.PublicKey {
	t.Helper()
	var out, errs bytes.Buffer
	if code := Main(context.Background(), []string{"key", "--store", store}, &out, &errs); code != ExitOK {
		t.Fatalf("key: exit %d: %s", code, errs.String())
	}
	pub, err := sign.ParsePublic(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatalf("key printed %q: %v", out.String(), err)
	}
	return pub
}

// retained returns the retained master data set of site, every part
// verified under pub, the centre's key.
func retained(t *testing.T, broker, site, set string, pub ed25519.PublicKey) wire.MasterSet {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + broker).SetClientID(fmt.Sprintf("gw-%d", time.Now().UnixNano())))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(0)
	got := make(chan *wire.MasterSet, 1)
	errs := make(chan error, 1)
	var a wire.MasterAssembler // paho calls the handler from one goroutine
	tok := c.Subscribe(wire.MasterFilter(site), 1, func(_ paho.Client, m paho.Message) {
		_, s, _, err := wire.ParseMasterTopic(m.Topic())
		if err != nil || s != set {
			return
		}
		p, err := wire.DecodeMasterPart(m.Payload())
		if err == nil {
			err = p.Verify(site, pub)
		}
		if err == nil {
			var done *wire.MasterSet
			if done, err = a.Add(p); done != nil {
				got <- done
			}
		}
		if err != nil {
			select {
			case errs <- fmt.Errorf("%s: %w", m.Topic(), err):
			default:
			}
		}
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	select {
	case m := <-got:
		return *m
	case err := <-errs:
		t.Fatal(err)
	case <-time.After(5 * time.Second):
		t.Fatalf("no retained %s", set)
	}
	return wire.MasterSet{}
}

// strictCatalogue reads published master data as a gateway does.
func strictCatalogue(t *testing.T, m wire.MasterSet) []master.CatalogueEntry {
	t.Helper()
	cat, _, err := master.ParseCatalogue(bytes.NewReader(m.Data), master.ImportOptions{Format: m.Format})
	if err != nil {
		t.Fatalf("a gateway refuses the published catalogue version %d: %v", m.Version, err)
	}
	return cat
}

const goodCatalogue = "产品标识,名称,单价,高值\n06901234100013,髋关节假体 股骨柄,6850.00,是\n06901234100020,髋关节假体 髋臼杯,5320.50,是\n06901234200010,药物洗脱冠脉支架系统,798,是\n"

// badCatalogue has six rows, five bad (lines 3 to 7).
const badCatalogue = "gtin,name,unit_price\n" +
	"06901234100013,股骨柄,6850\n" +
	"06901234100014,髋臼杯,5320.50\n" +
	"06901234100037,股骨髁,12.5x\n" +
	"6.90123E+12,支架,798\n" +
	"06901234100044,,236\n" +
	"06901234100051,缝合线,-45\n"

// publishRig starts a broker and returns it, a centre store and its
// key, a function that writes a file beside the store and one that runs
// `udi-central publish` to site st-marys through them.
func publishRig(t *testing.T) (broker, store string, pub ed25519.PublicKey, write func(name string, data []byte) string, publish func(args ...string) (int, string, string)) {
	t.Helper()
	broker = startBroker(t)
	dir := t.TempDir()
	store = filepath.Join(dir, "central.db")
	pub = centreKey(t, store)
	write = func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	publish = func(args ...string) (int, string, string) {
		var out, errs bytes.Buffer
		code := Main(context.Background(), append(append([]string{"publish"}, args...),
			"--site", "st-marys", "--store", store, "--broker", "tcp://"+broker, "--client-id", "publish-test"), &out, &errs)
		return code, out.String(), errs.String()
	}
	return broker, store, pub, write, publish
}

// TestPublishValidates runs `udi-central publish` against a real broker:
// a catalogue with bad rows is refused, exit 1, every bad row named, and
// the good catalogue stays retained for gateways that connect later; a
// GBK file is published converted to UTF-8; --partial publishes the
// good rows only; a file with no rows needs --allow-empty.
func TestPublishValidates(t *testing.T) {
	broker, _, pub, write, publish := publishRig(t)

	// Versions are the time in milliseconds, or one more than the last.
	versionRE := regexp.MustCompile(`^published catalogue version (\d+) to site st-marys \((\d+) rows`)
	version := func(out string) uint64 {
		t.Helper()
		m := versionRE.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no version in %q", out)
		}
		v, _ := strconv.ParseUint(m[1], 10, 64)
		return v
	}
	before := uint64(time.Now().UnixMilli())
	good := write("good.csv", []byte(goodCatalogue))
	code, out, errs := publish("catalogue", good)
	if code != ExitOK || !strings.Contains(out, "(3 rows") {
		t.Fatalf("good catalogue: exit %d\n%s%s", code, out, errs)
	}
	v1 := version(out)
	if v1 < before || v1 > uint64(time.Now().UnixMilli()) {
		t.Fatalf("version %d, published between %d and now", v1, before)
	}

	bad := write("bad.csv", []byte(badCatalogue))
	code, out, errs = publish("catalogue", bad)
	if code != ExitFailure || out != "" || !strings.Contains(errs, "catalogue: 5 of 6 rows bad, nothing published") {
		t.Fatalf("bad catalogue: exit %d\n%s%s", code, out, errs)
	}
	for _, l := range []string{"line 3: column gtin", "line 4: column unit_price", "line 5: column gtin", "line 6: column name", "line 7: column unit_price"} {
		if !strings.Contains(errs, bad+": "+l) {
			t.Errorf("the refusal does not name %q:\n%s", l, errs)
		}
	}
	m := retained(t, broker, "st-marys", "catalogue", pub)
	if m.Version != v1 || len(strictCatalogue(t, m)) != 3 {
		t.Fatalf("retained after the refusal: version %d\n%s", m.Version, m.Data)
	}

	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(goodCatalogue))
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs = publish("catalogue", write("gbk.csv", gbk))
	if code != ExitOK || !strings.Contains(out, "converted from GB18030") {
		t.Fatalf("GBK catalogue: exit %d\n%s%s", code, out, errs)
	}
	v2 := version(out)
	m = retained(t, broker, "st-marys", "catalogue", pub)
	if cat := strictCatalogue(t, m); v2 <= v1 || m.Version != v2 || string(m.Data) != goodCatalogue || cat[0].Name != "髋关节假体 股骨柄" {
		t.Fatalf("retained GBK catalogue: version %d\n%s", m.Version, m.Data)
	}

	code, out, errs = publish("catalogue", bad, "--partial")
	if code != ExitOK || !strings.Contains(out, "(1 rows") || strings.Count(errs, "(left out)") != 5 {
		t.Fatalf("--partial: exit %d\n%s%s", code, out, errs)
	}
	v3 := version(out)
	m = retained(t, broker, "st-marys", "catalogue", pub)
	if cat := strictCatalogue(t, m); v3 <= v2 || m.Version != v3 || len(cat) != 1 || cat[0].GTIN != "06901234100013" {
		t.Fatalf("retained partial catalogue: version %d\n%s", m.Version, m.Data)
	}

	empty := write("empty.csv", []byte("gtin,name,unit_price\n"))
	if code, out, errs := publish("catalogue", empty); code != ExitFailure || !strings.Contains(errs, "no rows") {
		t.Fatalf("empty catalogue: exit %d\n%s%s", code, out, errs)
	}
	if m := retained(t, broker, "st-marys", "catalogue", pub); m.Version != v3 {
		t.Fatalf("the empty file replaced version %d with %d", v3, m.Version)
	}
	if code, out, errs := publish("catalogue", empty, "--allow-empty"); code != ExitOK || version(out) <= v3 {
		t.Fatalf("--allow-empty: exit %d\n%s%s", code, out, errs)
	}
	latin1 := write("latin1.csv", []byte("gtin,name,unit_price\n06901234100013,Proth\xe8se Soci\xe9t\xe9 G\xe9n\xe9rale,1\n"))
	if code, out, errs := publish("catalogue", latin1); code != ExitFailure || !strings.Contains(errs, "not GB18030 either") {
		t.Fatalf("Latin-1 catalogue: exit %d\n%s%s", code, out, errs)
	}
	if code, _, errs := publish("catalogue", good, "--encoding", "big5"); code != ExitFailure || !strings.Contains(errs, `"big5"`) {
		t.Fatalf("unknown encoding: exit %d\n%s", code, errs)
	}
}

// TestPublishValidatesHTTP publishes through a running service: a bad
// file is refused before it reaches the service, the good one is
// published.
func TestPublishValidatesHTTP(t *testing.T) {
	broker := startBroker(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"run", "--site", "st-marys", "--store", filepath.Join(dir, "central.db"), "--http", "127.0.0.1:0",
			"--broker", "tcp://" + broker, "--client-id", "udi-central-test"}, &stdout, &stderr)
	}()
	defer func() { cancel(); <-done }()
	re := regexp.MustCompile(`msg="http listening" addr=(\S+)`)
	waitFor(t, "the HTTP API", func() bool { return re.MatchString(stderr.String()) })
	api := "http://" + re.FindStringSubmatch(stderr.String())[1]

	publish := func(file string, args ...string) (int, string, string) {
		var out, errs bytes.Buffer
		code := Main(context.Background(), append([]string{"publish", "recalls", file, "--site", "st-marys", "--http-url", api}, args...), &out, &errs)
		return code, out.String(), errs.String()
	}
	good := filepath.Join(dir, "recalls.csv")
	os.WriteFile(good, []byte("gtin,lots,reason\n06901234200010,B1;B2,球囊爆破压低于标示值\n"), 0o600)
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("gtin,lots,reason\n06901234200011,B1,x\n06901234200010,B 2,y\n"), 0o600)
	waitFor(t, "the service to connect", func() bool {
		code, _, _ := publish(good)
		return code == ExitOK
	})
	code, out, errs := publish(bad)
	if code != ExitFailure || !strings.Contains(errs, "line 2: column gtin") || !strings.Contains(errs, "line 3: column lots") {
		t.Fatalf("bad recalls: exit %d\n%s%s", code, out, errs)
	}
	pub := centreKey(t, filepath.Join(dir, "central.db")) // the service's, made at its start
	m := retained(t, broker, "st-marys", "recalls", pub)
	if r, _, err := master.ParseRecalls(bytes.NewReader(m.Data), master.ImportOptions{Format: m.Format}); err != nil || len(r) != 1 {
		t.Fatalf("retained recalls version %d: %v\n%s", m.Version, err, m.Data)
	}
}

// TestPublishInParts: a 40,000-row catalogue goes out in parts within
// --max-packet and is retained whole; --min-version lifts the version,
// but not more than a day ahead of the clock; the flags are refused with
// --http-url, and a --max-packet too small to work with.
func TestPublishInParts(t *testing.T) {
	broker := startBroker(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "catalogue.csv")
	var b bytes.Buffer
	b.WriteString("gtin,name,unit_price\n")
	for i := range 40_000 {
		gtin := fmt.Sprintf("0690123%06d", i)
		c, _ := code.CheckDigit(gtin)
		fmt.Fprintf(&b, "%s%d,髋关节假体 股骨柄 陶瓷头 规格 %d号 %06d,%d.%02d\n", gtin, c, i%40, i, 100+i%9000, i%100)
	}
	data := b.Bytes()
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	publish := func(args ...string) (int, string, string) {
		var out, errs bytes.Buffer
		code := Main(context.Background(), append(append([]string{"publish", "catalogue", file}, args...),
			"--site", "st-marys", "--store", filepath.Join(dir, "central.db"), "--broker", "tcp://"+broker, "--client-id", "publish-test"), &out, &errs)
		return code, out.String(), errs.String()
	}
	if code, _, errs := publish("--max-packet", "262144"); code != ExitFailure || !strings.Contains(errs, "no such file: the service makes it at its first start") {
		t.Fatalf("publish without the centre's key: exit %d, %s", code, errs)
	}
	pub := centreKey(t, filepath.Join(dir, "central.db"))
	code, out, errs := publish("--max-packet", "262144")
	if code != ExitOK || !strings.Contains(out, fmt.Sprintf("(40000 rows, %d bytes in 13 parts)", len(data))) {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	if m := retained(t, broker, "st-marys", "catalogue", pub); !bytes.Equal(m.Data, data) {
		t.Fatalf("retained %d bytes, want %d", len(m.Data), len(data))
	}
	ahead := uint64(time.Now().Add(20 * time.Hour).UnixMilli())
	code, out, errs = publish("--min-version", strconv.FormatUint(ahead, 10))
	if code != ExitOK || !strings.Contains(out, fmt.Sprintf("version %d ", ahead)) || !strings.Contains(out, "in 3 parts") {
		t.Fatalf("--min-version: exit %d\n%s%s", code, out, errs)
	}
	if m := retained(t, broker, "st-marys", "catalogue", pub); m.Version != ahead {
		t.Fatalf("retained version %d, want %d", m.Version, ahead)
	}
	tooFar := strconv.FormatUint(uint64(time.Now().Add(25*time.Hour).UnixMilli()), 10)
	if code, out, errs := publish("--min-version", tooFar); code != ExitFailure || !strings.Contains(errs, "gateways would refuse it") {
		t.Fatalf("--min-version beyond a day: exit %d\n%s%s", code, out, errs)
	}
	for _, args := range [][]string{{"--max-packet", "1000"}, {"--max-packet", "65536", "--http-url", "http://127.0.0.1:1"}} {
		if code, out, errs := publish(args...); code != ExitUsage || !strings.Contains(errs, "--max-packet") {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errs)
		}
	}
}

// TestPublishCodesFromReleaseTables: publish codes takes the NHSA's own
// release tables (停用表, 转码表) and codes files in the gateway's form,
// one or several, their rows accumulating in order as a gateway's import
// accumulates them; the set published is one a gateway reads, mapping
// an old code to its new one and a withdrawn code as withdrawn. A file
// that is none of them is refused, naming it.
func TestPublishCodesFromReleaseTables(t *testing.T) {
	const (
		codeA = "C09100100000000211790000049"
		codeB = "C03010100100100012340000001"
		codeC = "C03010100100100012340000002"
		codeD = "C14020300200300045670000003"
	)
	broker, _, pub, writeBytes, publish := publishRig(t)
	write := func(name, data string) string { return writeBytes(name, []byte(data)) }
	withdrawn := write("停用表.csv", "27位码,原码状态\n"+codeA+",停用\n")
	transcode := write("转码表.csv", "原27位码,原码状态,27位码,类型\n"+codeB+",停用,"+codeC+",变更\n")
	own := write("codes.csv", "code,new_code,withdrawn,date\n"+codeD+",,true,2026-03-01\n"+codeA+","+codeD+",false,\n")

	code, out, errs := publish("codes", withdrawn, transcode, own)
	if code != ExitOK || !strings.Contains(out, "published codes version") || !strings.Contains(out, "(3 rows") {
		t.Fatalf("publish codes from three files: exit %d\n%s%s", code, out, errs)
	}
	m := retained(t, broker, "st-marys", "codes", pub)
	rows, _, err := master.ParseCodes(bytes.NewReader(m.Data), master.ImportOptions{Format: m.Format})
	if err != nil {
		t.Fatalf("a gateway refuses the published codes: %v\n%s", err, m.Data)
	}
	d, err := master.NewData("v", nil, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d, _, err = d.ImportBytes("codes", m.Data, master.ImportOptions{Format: m.Format}); err != nil {
		t.Fatal(err)
	}
	// codeA was withdrawn by the 停用表, then replaced by codeD in the
	// later file: the later row wins, and codeD is withdrawn.
	if len(rows) != 3 {
		t.Fatalf("published %d rows, want 3:\n%s", len(rows), m.Data)
	}
	if got, withdrawnAt := d.MapCode(codeB); got != codeC || withdrawnAt {
		t.Errorf("%s maps to %s (withdrawn %v), want %s", codeB, got, withdrawnAt, codeC)
	}
	if got, withdrawnAt := d.MapCode(codeA); got != codeD || !withdrawnAt {
		t.Errorf("%s maps to %s (withdrawn %v), want %s, withdrawn", codeA, got, withdrawnAt, codeD)
	}

	// A single table alone is published too.
	if code, out, errs := publish("codes", transcode); code != ExitOK || !strings.Contains(out, "(1 rows") {
		t.Fatalf("publish codes from one 转码表: exit %d\n%s%s", code, out, errs)
	}
	notATable := write("catalogue.csv", goodCatalogue)
	if code, out, errs := publish("codes", withdrawn, notATable); code != ExitFailure || !strings.Contains(errs, notATable) || !strings.Contains(errs, "neither a codes file nor one of the NHSA's release tables") {
		t.Fatalf("publish codes with a catalogue among the tables: exit %d\n%s%s", code, out, errs)
	}
	if code, _, errs := publish("catalogue", write("good.csv", goodCatalogue), notATable); code != 2 || !strings.Contains(errs, "want SET and FILE") {
		t.Fatalf("two files for the catalogue: exit %d, %s", code, errs)
	}
}
