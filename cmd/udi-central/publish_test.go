package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/udi-edge/udi-edge/agent/master"
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
// gateway connecting now receives it.
func retained(t *testing.T, broker, site, set string) wire.Master {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + broker).SetClientID(fmt.Sprintf("gw-%d", time.Now().UnixNano())))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer c.Disconnect(0)
	got := make(chan []byte, 1)
	tok := c.Subscribe(wire.MasterTopic(site, set), 1, func(_ paho.Client, m paho.Message) {
		select {
		case got <- m.Payload():
		default:
		}
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	select {
	case p := <-got:
		m, err := wire.DecodeMaster(p)
		if err != nil {
			t.Fatal(err)
		}
		return m
	case <-time.After(5 * time.Second):
		t.Fatalf("no retained %s", set)
	}
	return wire.Master{}
}

// strictCatalogue reads published master data as a gateway does.
func strictCatalogue(t *testing.T, m wire.Master) []master.CatalogueEntry {
	t.Helper()
	cat, _, err := master.ParseCatalogue(strings.NewReader(m.Data), master.ImportOptions{Format: m.Format})
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

// TestPublishValidates runs `udi-central publish` against a real broker:
// a catalogue with bad rows is refused, exit 1, every bad row named, and
// the good catalogue stays retained for gateways that connect later; a
// GBK file is published converted to UTF-8; --partial publishes the
// good rows only; a file with no rows needs --allow-empty.
func TestPublishValidates(t *testing.T) {
	broker := startBroker(t)
	dir := t.TempDir()
	store := filepath.Join(dir, "central.db")
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	publish := func(args ...string) (int, string, string) {
		var out, errs bytes.Buffer
		code := Main(context.Background(), append(append([]string{"publish"}, args...),
			"--site", "st-marys", "--store", store, "--broker", "tcp://"+broker, "--client-id", "publish-test"), &out, &errs)
		return code, out.String(), errs.String()
	}

	good := write("good.csv", []byte(goodCatalogue))
	if code, out, errs := publish("catalogue", good); code != ExitOK || !strings.Contains(out, "published catalogue version 1 to site st-marys (3 rows") {
		t.Fatalf("good catalogue: exit %d\n%s%s", code, out, errs)
	}

	bad := write("bad.csv", []byte(badCatalogue))
	code, out, errs := publish("catalogue", bad)
	if code != ExitFailure || out != "" || !strings.Contains(errs, "catalogue: 5 of 6 rows bad, nothing published") {
		t.Fatalf("bad catalogue: exit %d\n%s%s", code, out, errs)
	}
	for _, l := range []string{"line 3: column gtin", "line 4: column unit_price", "line 5: column gtin", "line 6: column name", "line 7: column unit_price"} {
		if !strings.Contains(errs, bad+": "+l) {
			t.Errorf("the refusal does not name %q:\n%s", l, errs)
		}
	}
	m := retained(t, broker, "st-marys", "catalogue")
	if m.Version != 1 || len(strictCatalogue(t, m)) != 3 {
		t.Fatalf("retained after the refusal: version %d\n%s", m.Version, m.Data)
	}

	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(goodCatalogue))
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs = publish("catalogue", write("gbk.csv", gbk))
	if code != ExitOK || !strings.Contains(out, "version 2") || !strings.Contains(out, "converted from GB18030") {
		t.Fatalf("GBK catalogue: exit %d\n%s%s", code, out, errs)
	}
	m = retained(t, broker, "st-marys", "catalogue")
	if cat := strictCatalogue(t, m); m.Version != 2 || m.Data != goodCatalogue || cat[0].Name != "髋关节假体 股骨柄" {
		t.Fatalf("retained GBK catalogue: version %d\n%s", m.Version, m.Data)
	}

	code, out, errs = publish("catalogue", bad, "--partial")
	if code != ExitOK || !strings.Contains(out, "version 3") || !strings.Contains(out, "(1 rows") || strings.Count(errs, "(left out)") != 5 {
		t.Fatalf("--partial: exit %d\n%s%s", code, out, errs)
	}
	m = retained(t, broker, "st-marys", "catalogue")
	if cat := strictCatalogue(t, m); m.Version != 3 || len(cat) != 1 || cat[0].GTIN != "06901234100013" {
		t.Fatalf("retained partial catalogue: version %d\n%s", m.Version, m.Data)
	}

	empty := write("empty.csv", []byte("gtin,name,unit_price\n"))
	if code, out, errs := publish("catalogue", empty); code != ExitFailure || !strings.Contains(errs, "no rows") {
		t.Fatalf("empty catalogue: exit %d\n%s%s", code, out, errs)
	}
	if m := retained(t, broker, "st-marys", "catalogue"); m.Version != 3 {
		t.Fatalf("the empty file replaced version 3 with %d", m.Version)
	}
	if code, out, errs := publish("catalogue", empty, "--allow-empty"); code != ExitOK || !strings.Contains(out, "version 4") {
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
	m := retained(t, broker, "st-marys", "recalls")
	if r, _, err := master.ParseRecalls(strings.NewReader(m.Data), master.ImportOptions{Format: m.Format}); err != nil || len(r) != 1 {
		t.Fatalf("retained recalls version %d: %v\n%s", m.Version, err, m.Data)
	}
}
