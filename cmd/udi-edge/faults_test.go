package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/agent/testkit"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"
	"github.com/udi-edge/udi-edge/reader"
	bbolt "go.etcd.io/bbolt"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// The answer bytes of agentProc's scanners.
const (
	ansAccepted = 0x06
	ansWarned   = 0x07
	ansRejected = 0x15
)

func label(gtin, expiry, lot, serial string) string {
	return "]d201" + gtin + "17" + expiry + "10" + lot + "\x1d21" + serial
}

// traceJSON runs trace --json and returns the movements it printed.
func traceJSON(t *testing.T, p *agentProc, code string) []api.Movement {
	t.Helper()
	c, out, errOut := p.run("trace", "--json", code)
	if c != ExitOK {
		t.Fatalf("trace %s: exit %d %s", code, c, errOut)
	}
	var ms []api.Movement
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var m api.Movement
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("trace --json line %q: %v", sc.Text(), err)
		}
		if m.Kind != "" {
			ms = append(ms, m)
		}
	}
	return ms
}

// TestCancelLastThenRescan: wristband, item, CANCEL LAST, the same item
// again, at a real agent on a real pty. The everyday "wrong item, cancel,
// rescan" leaves no flag on the cancellation, no anomaly, and one
// billable use, on the running agent and on its stopped file alike.
func TestCancelLastThenRescan(t *testing.T) {
	cfg := edge.Config{Patterns: edge.PatternsConfig{Wristband: `^PAT(\d{6})$`, Commands: map[string]string{"CMD-CANCEL": "cancel-last"}}}
	p := newAgentProc(t, cfg, procScanner{"desk", "warehouse", "receive"}, procScanner{"or3", "OR-3", "use"})
	item := label("09520123456788", "281231", "L7", "C100")
	key := "(01)09520123456788(21)C100"
	for _, s := range []struct{ station, code string }{{"desk", item}, {"or3", "]C0PAT004217"}, {"or3", item}, {"or3", "]C0CMD-CANCEL"}, {"or3", item}} {
		if b := p.scan(s.station, s.code); b != ansAccepted {
			t.Fatalf("%s scans %q: answer %#x, want accepted", s.station, s.code, b)
		}
	}
	ms := traceJSON(t, p, key)
	if len(ms) != 4 || ms[2].Kind != "adjust" || ms[3].Kind != "use" {
		t.Fatalf("trace: %+v", ms)
	}
	if len(ms[2].Flags) != 0 || len(ms[3].Flags) != 0 {
		t.Fatalf("the cancellation and the rescan carry flags %v and %v; the everyday correction is no anomaly", ms[2].Flags, ms[3].Flags)
	}
	settlements := filepath.Join(t.TempDir(), "settlements.csv")
	if err := os.WriteFile(settlements, []byte("id,patient,case,item,quantity,amount\nS1,004217,K1,"+key+",1,6850.00\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, _, errOut := p.run("import", "settlements", settlements); c != ExitOK {
		t.Fatalf("import settlements: %s", errOut)
	}
	check := func(where string) {
		t.Helper()
		for _, cmd := range []string{"anomalies", "reconcile"} {
			if c, out, errOut := p.run(cmd); c != ExitOK || !strings.Contains(out, "no findings") {
				t.Errorf("%s %s: exit %d\n%s%s", where, cmd, c, out, errOut)
			}
		}
	}
	check("running agent:")
	p.stop()
	check("stopped agent's file:")
}

// TestBlockedAttemptInTraceAndExport: a blocked use shows as BLOCKED in
// trace's table and is not exported as a dispensing event.
func TestBlockedAttemptInTraceAndExport(t *testing.T) {
	cfg := edge.Config{Patterns: edge.PatternsConfig{Wristband: `^PAT(\d{6})$`}}
	p := newAgentProc(t, cfg, procScanner{"desk", "warehouse", "receive"}, procScanner{"or3", "OR-3", "use"})
	expired := label("09520123456788", "250531", "L0", "E1")
	if b := p.scan("desk", expired); b != ansAccepted {
		t.Fatalf("receive: %#x", b)
	}
	if b := p.scan("or3", "]C0PAT004217"); b != ansAccepted {
		t.Fatalf("wristband: %#x", b)
	}
	if b := p.scan("or3", expired); b != ansRejected {
		t.Fatalf("an expired implant at the table: answer %#x, want blocked", b)
	}
	c, out, _ := p.run("trace", "(01)09520123456788(21)E1")
	if c != ExitOK || !strings.Contains(out, "DECISION") || !strings.Contains(out, " BLOCKED ") {
		t.Fatalf("trace: exit %d\n%s", c, out)
	}
	c, doc, errOut := p.run("export", "epcis")
	if c != ExitOK || strings.Contains(doc, "dispensing") || !strings.Contains(errOut, "exported 1 event(s)") {
		t.Fatalf("export: exit %d %s\n%s", c, errOut, doc)
	}
}

// TestImportRefusesBadFilesWhole: a catalogue file with bad rows is
// refused whole, every bad row named, exit 1, the catalogue held left as
// it was; a GBK file (a Chinese hospital system's export) is converted;
// on a stopped agent's file no --gateway is needed (the file records it).
func TestImportRefusesBadFilesWhole(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "ledger.db")
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.csv", []byte("gtin,name,unit_price\n09520123456788,hip stem,6850.00\n06901234100037,knee,7980.00\n06901234200010,stent,798.00\n"))
	if c, out, errOut := runMain(t, "", "import", "--store", store, "--gateway", "gw-i", "catalogue", good); c != ExitOK || !strings.Contains(out, "3 row(s) imported") {
		t.Fatalf("good file: %d %s %s", c, out, errOut)
	}
	// Five bad rows of six: nothing of it is taken.
	bad := write("bad.csv", []byte("gtin,name,unit_price\n09520123456788,hip stem,6850.00\n09520123456789,x,1\n,y,1\n06901234100037,,1\n06901234200010,z,abc\n06901234200027,w,-1\n"))
	c, out, errOut := runMain(t, "", "import", "--store", store, "catalogue", bad)
	if c != ExitFailure || out != "" || strings.Count(errOut, "bad.csv: line ") < 5 || !strings.Contains(errOut, "nothing imported") {
		t.Fatalf("5 bad rows of 6: exit %d\n%s\n%s", c, out, errOut)
	}
	for _, l := range []string{"line 3", "line 4", "line 5", "line 6", "line 7"} {
		if !strings.Contains(errOut, "bad.csv: "+l+":") {
			t.Errorf("the refusal does not name %s:\n%s", l, errOut)
		}
	}
	// Thousands of bad rows: the first problems are named, every row is
	// counted.
	many := write("many.csv", []byte("gtin,name,unit_price\n"+strings.Repeat("09520123456789,x,1\n", 3000)))
	c, _, errOut = runMain(t, "", "import", "--store", store, "catalogue", many)
	if c != ExitFailure || strings.Count(errOut, "many.csv: line ") != master.MaxRejected || !strings.Contains(errOut, "3000 bad row(s)") {
		t.Fatalf("3000 bad rows: exit %d, %d named\n%s", c, strings.Count(errOut, "many.csv: line "), errOut[max(0, len(errOut)-300):])
	}
	// GBK, with the Chinese column names a hospital system exports.
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte("产品标识,产品名称,单价\n09520123456788,髋关节股骨柄,6850.00\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, out, errOut = runMain(t, "", "import", "--store", store, "catalogue", write("gbk.csv", gbk))
	if c != ExitOK || !strings.Contains(out, "converted from GB18030") || !strings.Contains(out, "1 row(s) imported") {
		t.Fatalf("GBK file: exit %d\n%s\n%s", c, out, errOut)
	}
	c, out, _ = runMain(t, "", "status", "--store", store)
	if c != ExitFailure || !strings.Contains(out, "catalogue 1,") {
		t.Fatalf("status after the GBK import: %d\n%s", c, out)
	}
	// An empty export must not clear the catalogue by accident.
	if c, _, errOut := runMain(t, "", "import", "--store", store, "catalogue", write("empty.csv", []byte("gtin,name,unit_price\n"))); c != ExitFailure || !strings.Contains(errOut, "allow") {
		t.Fatalf("empty file: exit %d %s", c, errOut)
	}
}

// flipStored flips one byte in the middle of the stored value name of the
// ledger's bucket, as a bad disk sector would.
func flipStored(t *testing.T, store, bucket, name string) {
	t.Helper()
	db, err := bbolt.Open(store, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		if b == nil {
			return fmt.Errorf("no bucket %s", bucket)
		}
		v := b.Get([]byte(name))
		if len(v) == 0 {
			return fmt.Errorf("no value %s in %s", name, bucket)
		}
		w := append([]byte(nil), v...)
		w[len(w)/2] ^= 0x20
		return b.Put([]byte(name), w)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDamagedMasterData: a damaged byte in the stored recalls never stops
// the gateway: verify says NOT INTACT naming the set, the agent starts
// with a warning and decides as with no recalls while the catalogue still
// works, status says so, and importing the recalls again repairs it.
func TestDamagedMasterData(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "ledger.db")
	td := "../../agent/master/testdata/"
	for _, set := range []string{"catalogue", "recalls"} {
		if c, _, errOut := runMain(t, "", "import", "--store", store, "--gateway", "gw-m", set, td+set+".csv"); c != ExitOK {
			t.Fatalf("import %s: %s", set, errOut)
		}
	}
	flipStored(t, store, "master", "recalls")
	c, out, errOut := runMain(t, "", "verify", "--store", store)
	if c != ExitFailure || !strings.Contains(out, "NOT INTACT") || !strings.Contains(out, "recalls") {
		t.Fatalf("verify over damaged recalls: exit %d\n%s\n%s", c, out, errOut)
	}
	for _, cmd := range []string{"anomalies", "reconcile"} {
		if c, _, errOut := runMain(t, "", cmd, "--store", store); c != ExitOK {
			t.Fatalf("%s over damaged recalls: exit %d %s", cmd, c, errOut)
		}
	}
	p := newAgentProc(t, edge.Config{Gateway: "gw-m", Store: store}, procScanner{"or3", "OR-3", "use"})
	if !strings.Contains(p.logs.String(), "master data damaged") || !strings.Contains(p.logs.String(), "recalls") {
		t.Errorf("the agent started without a warning about the damaged recalls:\n%s", p.logs.String())
	}
	st, err := p.status()
	if err != nil || !slices.Equal(st.Master.Damaged, []string{"recalls"}) || st.Master.Counts.Catalogue == 0 {
		t.Fatalf("status: %+v %v", st.Master, err)
	}
	// The recalled lot of the example data scans as with no recalls.
	if b := p.scan("or3", label("06901234200010", "281231", "B2309011", "S9")); b == ansRejected {
		t.Fatal("a damaged recall set blocked a scan")
	}
	if c, _, errOut := p.run("import", "recalls", td+"recalls.csv"); c != ExitOK {
		t.Fatalf("import recalls over the damaged set: %s", errOut)
	}
	if st, _ := p.status(); len(st.Master.Damaged) != 0 {
		t.Fatalf("still damaged after the import: %v", st.Master.Damaged)
	}
	if b := p.scan("or3", label("06901234200010", "281231", "B2309011", "S10")); b != ansRejected {
		t.Fatalf("the recalled lot after the repair: %#x, want blocked", b)
	}
	p.stop()
	if c, out, _ := runMain(t, "", "verify", "--store", store); c != ExitOK {
		t.Fatalf("verify after the repair: exit %d\n%s", c, out)
	}
}

// TestEveryScanAnswered: a burst of scans, as after a scanner's buffer
// empties on reconnecting, gets one answer per scan (the ledger answers a
// whole group commit at once; none may be dropped).
func TestEveryScanAnswered(t *testing.T) {
	p := newAgentProc(t, edge.Config{}, procScanner{"desk", "warehouse", "receive"})
	const n = 600
	var burst strings.Builder
	for i := range n {
		burst.WriteString(label("09520123456788", "281231", "B1", fmt.Sprintf("N%05d", i)) + "\r")
	}
	dev := p.devs["desk"]
	if err := dev.Send([]byte(burst.String())); err != nil {
		t.Fatal(err)
	}
	got, err := dev.Receive(n, 30*time.Second)
	if err != nil {
		t.Fatalf("%d answers of %d: %v", len(got), n, err)
	}
	for i, b := range got {
		if b != ansAccepted {
			t.Fatalf("answer %d is %#x", i, b)
		}
	}
	// The driver counts an answer once its write returned: the count may
	// follow the bytes by a moment.
	testkit.CheckFor(t, 5*time.Second, func() error {
		st, err := p.status()
		if err != nil || len(st.Devices) != 1 || st.Devices[0].Answered != n || st.Devices[0].Missed != 0 || st.LastSeq != n {
			return fmt.Errorf("status: %+v %v", st, err)
		}
		return nil
	})
}

// TestRejectedReadsListed: reads that cannot be understood are listed by
// rejects with station, time, reason and bytes; a run of garbled frames
// (a scanner at the wrong baud rate) makes the log say to check the line
// settings, once.
func TestRejectedReadsListed(t *testing.T) {
	p := newAgentProc(t, edge.Config{Log: edge.LogConfig{Level: "info", Format: "json"}}, procScanner{"desk", "warehouse", "receive"})
	if b := p.scan("desk", "]d2010952012345678917281231"); b != ansRejected {
		t.Fatalf("a bad check digit: %#x", b)
	}
	for range 3 {
		if b := p.scan("desk", "\xf3\x9e\xe1\xfc\x8b\xfe\xa6\xe6"); b != ansRejected {
			t.Fatalf("garbage: %#x", b)
		}
	}
	c, out, errOut := p.run("rejects")
	if c != ExitOK || !strings.Contains(out, "4 rejected read(s)") || !strings.Contains(out, "check digit") ||
		!strings.Contains(out, "f39ee1fc8bfea6e6") || !strings.Contains(out, "desk") {
		t.Fatalf("rejects: exit %d\n%s%s", c, out, errOut)
	}
	c, out, _ = p.run("rejects", "--json", "--limit", "1")
	var m api.Movement
	if c != ExitOK || json.Unmarshal([]byte(out), &m) != nil || m.RawHex != "f39ee1fc8bfea6e6" || m.Station != "desk" || m.Kind != "reject" {
		t.Fatalf("rejects --json --limit 1: %d %s", c, out)
	}
	testkit.CheckFor(t, 5*time.Second, func() error {
		if n := strings.Count(p.logs.String(), "baud"); n != 1 {
			return fmt.Errorf("%d log lines name the baud rate, want 1:\n%s", n, p.logs.String())
		}
		return nil
	})
	// Every JSON log line is an object with no key twice: log pipelines
	// refuse duplicate keys.
	for _, line := range strings.Split(strings.TrimSpace(p.logs.String()), "\n") {
		if dup := duplicateKey(line); dup != "" {
			t.Errorf("log line with %q twice: %s", dup, line)
		}
	}
}

// duplicateKey returns a key that appears twice at the top of the JSON
// object line, "" when none does (or line is not an object).
func duplicateKey(line string) string {
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ""
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		k, _ := tok.(string)
		if seen[k] {
			return k
		}
		seen[k] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return ""
		}
	}
	return ""
}

// TestDecodeRefusesTheAgentsPort: decode --device never takes scans from a
// running agent: the port it reads is refused, by name or by its link.
func TestDecodeRefusesTheAgentsPort(t *testing.T) {
	p := newAgentProc(t, edge.Config{}, procScanner{"desk", "warehouse", "receive"})
	dev := p.devs["desk"]
	for _, path := range []string{dev.Link, dev.Path} {
		c, _, errOut := p.run("decode", "--device", path)
		if c != ExitFailure || !strings.Contains(errOut, "scanner desk") || !strings.Contains(errOut, "running agent") {
			t.Fatalf("decode --device %s on the agent's port: exit %d %s", path, c, errOut)
		}
	}
	// Another process holding a port (not an agent of this configuration)
	// is refused by the device's lock.
	other := testkit.New(t, filepath.Join(t.TempDir(), "other"))
	port, err := reader.Open(reader.Settings{Device: other.Link, Baud: 9600})
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	c, _, errOut := runMain(t, "", "decode", "--device", other.Link, "--socket", filepath.Join(t.TempDir(), "none.sock"))
	if c != ExitFailure || !strings.Contains(errOut, "busy") {
		t.Fatalf("decode --device on a locked port: exit %d %s", c, errOut)
	}
	if b := p.scan("desk", label("09520123456788", "281231", "B1", "D1")); b != ansAccepted {
		t.Fatalf("the agent's scanner after the attempts: %#x", b)
	}
}

// TestTraceEveryForm: trace reads every form the agent itself prints or
// decode reads, on a stopped agent's file and through a running agent:
// the HIBC key as trace prints it, a raw tag key as inventory prints it,
// a 32-bit EPC in hex, an SGTIN-198 in 50 hex digits as EPC tools publish
// it (and in 52).
func TestTraceEveryForm(t *testing.T) {
	store := filepath.Join(t.TempDir(), "ledger.db")
	l, err := bolt.Open(bolt.Options{Path: store, Gateway: "gw-forms"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	keys := []string{"+A99912345/SHS0001", "urn:epc:raw:96.xE2801160600002054CC2096F", "urn:epc:raw:32.x3074257B", "(01)70614141123451(21)32a/b"}
	for _, k := range keys {
		if _, err := l.Append(context.Background(), agent.Movement{Time: at, Kind: agent.KindReceive, Item: k, Location: "warehouse"}); err != nil {
			t.Fatal(err)
		}
	}
	forms := []struct{ code, key string }{
		{"+A99912345/SHS0001", keys[0]},
		{"urn:epc:raw:96.xE2801160600002054CC2096F", keys[1]},
		{"E2801160600002054CC2096F", keys[1]},
		{"3074257B", keys[2]},
		{"3674257BF6B7A659B2C2BF1000000000000000000000000000", keys[3]},
		{"3674257BF6B7A659B2C2BF100000000000000000000000000000", keys[3]},
		{"urn:epc:tag:sgtin-198:3.0614141.712345.32a%2Fb", keys[3]},
	}
	check := func(where string) {
		t.Helper()
		for _, f := range forms {
			c, out, errOut := runMain(t, "", "trace", "--store", store, f.code)
			if c != ExitOK || !strings.Contains(out, "item "+f.key+": 1 movement(s)") {
				t.Errorf("%s trace %s: exit %d\n%s%s", where, f.code, c, out, errOut)
			}
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	check("stopped:")
	l, err = bolt.Open(bolt.Options{Path: store, Gateway: "gw-forms"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	serveAPI(t, l, store+".sock")
	check("running:")
}

// TestDecodeFollowsTheSyntaxDictionary: decode, as the agent reads codes,
// refuses a (8008) production time with second 60 and a (7230) with an
// empty variable part, knows (7041) and (8040), and reads a label that
// breaks a pairing rule with a warning.
func TestDecodeFollowsTheSyntaxDictionary(t *testing.T) {
	const pre = "]d20109520123456788"
	for _, bad := range []struct{ code, want string }{
		{pre + "8008" + "251231235960", "second 60"},
		{pre + "7230" + "AB", "7230"},
	} {
		c, out, _ := runMain(t, "", "decode", "--json", bad.code)
		if c != ExitFailure || !strings.Contains(out, bad.want) || !strings.Contains(out, `"ok":false`) {
			t.Errorf("decode %q: exit %d %s", bad.code, c, out)
		}
	}
	for _, good := range []string{pre + "7041" + "BX\x1d21X1", pre + "8040" + "123456789012345\x1d21X2"} {
		if c, out, _ := runMain(t, "", "decode", good); c != ExitOK {
			t.Errorf("decode %q: exit %d %s", good, c, out)
		}
	}
	c, out, _ := runMain(t, "", "decode", pre+"2559520123456788\x1d21A")
	if c != ExitOK || !strings.Contains(out, "warning     (01) GTIN and (255) GCN may not be used together") {
		t.Errorf("a pairing fault: exit %d\n%s", c, out)
	}
}

// TestImportOfAFIFO: import reads the file itself and refuses what is not
// a regular file at once; a running agent is never handed a path it
// could block on, and stops on SIGTERM as ever.
func TestImportOfAFIFO(t *testing.T) {
	p := newAgentProc(t, edge.Config{}, procScanner{"desk", "warehouse", "receive"})
	fifo := filepath.Join(t.TempDir(), "catalogue.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 1)
	go func() {
		c, _, errOut := p.run("import", "catalogue", fifo)
		done <- fmt.Sprintf("%d %s", c, errOut)
	}()
	// Nobody writes the FIFO: opening it for reading would wait for ever.
	select {
	case got := <-done:
		if !strings.HasPrefix(got, "1 ") || !strings.Contains(got, "not a regular file") {
			t.Fatalf("import of a FIFO: %s", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("import of a FIFO did not return")
	}
	p.stop()
}

// TestReplugAnsweredSoon: a scanner unplugged and plugged back several
// times within seconds answers again at once after the last replug (the
// driver's backoff starts again when the port is up, not after ten
// seconds connected). The bound is generous: the median is about 0.2 s
// (reader/barcode BenchmarkReplug).
func TestReplugAnsweredSoon(t *testing.T) {
	p := newAgentProc(t, edge.Config{}, procScanner{"desk", "warehouse", "receive"})
	for i := range 6 {
		dev := p.devs["desk"]
		if b := p.scan("desk", label("09520123456788", "281231", "B1", fmt.Sprintf("R%d", i))); b != ansAccepted {
			t.Fatalf("scan %d: %#x", i, b)
		}
		dev.Unplug()
		time.Sleep(300 * time.Millisecond)
		p.devs["desk"] = testkit.New(t, dev.Link)
		start := time.Now()
		testkit.CheckFor(t, 3*time.Second, func() error {
			if !socketDevices(t, p.cfg.SocketPath())["desk"] {
				return fmt.Errorf("scanner not back %v after replug %d", time.Since(start), i+1)
			}
			return nil
		})
	}
	if b := p.scan("desk", label("09520123456788", "281231", "B1", "R9")); b != ansAccepted {
		t.Fatalf("after the replugs: %#x", b)
	}
}
