package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/testkit"
	"github.com/udi-edge/udi-edge/cmd/internal/cli"
	"github.com/udi-edge/udi-edge/cmd/internal/edge"
	"github.com/udi-edge/udi-edge/cmd/internal/show"
)

// TestMain lets a test run this test binary as the udi-edge command in a
// child process, so crash tests kill a real agent.
func TestMain(m *testing.M) {
	if os.Getenv("UDI_EDGE_BE_MAIN") == "1" {
		ctx, stop := signalContext()
		code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 1)
	signalNotify(ch)
	go func() {
		select {
		case <-ch:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// runMain runs Main in process and returns its exit code, stdout and stderr.
func runMain(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// checkFor polls f until it returns nil or the deadline passes.
var checkFor = testkit.CheckFor

var errorf = fmt.Errorf

func TestUsageAndExitCodes(t *testing.T) {
	if code, _, _ := runMain(t, ""); code != ExitUsage {
		t.Errorf("no command: exit %d, want 2", code)
	}
	if code, _, errOut := runMain(t, "", "fly"); code != ExitUsage || !strings.Contains(errOut, `unknown command "fly"`) {
		t.Errorf("unknown command: exit %d, %q", code, errOut)
	}
	for _, c := range program.Commands {
		code, out, _ := runMain(t, "", c.Name, "--help")
		if code != ExitOK || strings.Count(out, "Usage: udi-edge "+c.Name) != 1 {
			t.Errorf("%s --help: exit %d, output %q; want the usage once", c.Name, code, out)
		}
	}
	if code, _, errOut := runMain(t, "", "run", "--no-such-flag"); code != ExitUsage || !strings.Contains(errOut, "no-such-flag") {
		t.Errorf("bad flag: exit %d, %q", code, errOut)
	}
	code, out, _ := runMain(t, "", "version")
	if code != ExitOK || !strings.HasPrefix(out, "udi-edge ") {
		t.Errorf("version: %d %q", code, out)
	}
}

// TestRunCheck: run --check validates the configuration (exit 2 naming
// the key), then checks what the agent will need of this machine (exit 1
// naming each problem), and prints a summary of scanners, readers, zones
// and brokers.
func TestRunCheck(t *testing.T) {
	dir := t.TempDir()
	dev := testkit.New(t, filepath.Join(dir, "scanner"))
	store := filepath.Join(dir, "ledger.db")
	good := fmt.Sprintf(`{"gateway":"or3-gw","store":%q,"scanners":[{"id":"or3-1","device":%q,"location":"OR-3","kind":"use"}]}`, store, dev.Link)
	cfg := testkit.WriteFile(t, "c.json", good)
	code, out, errOut := runMain(t, "", "run", "--check", "--config", cfg)
	if code != ExitOK || !strings.Contains(out, "configuration ok: gateway or3-gw, 1 scanner(s), 0 reader(s)") ||
		!strings.Contains(out, "scanner or3-1") || !strings.Contains(out, "sync    none") {
		t.Fatalf("good config: exit %d, out %q, err %q", code, out, errOut)
	}
	bad := testkit.WriteFile(t, "bad.json", `{"gateway":"g","scanners":[{"id":"a","device":"/dev/x","location":"L","kind":"use","parity":"sometimes"}]}`)
	code, _, errOut = runMain(t, "", "run", "--check", "--config", bad)
	if code != ExitUsage || !strings.Contains(errOut, "scanners[0]") || !strings.Contains(errOut, "parity") {
		t.Fatalf("bad parity: exit %d, err %q", code, errOut)
	}
	for _, gw := range []string{"no/slash", "master"} {
		code, _, errOut = runMain(t, "", "run", "--check", "--config", cfg, "--gateway", gw)
		if code != ExitUsage || !strings.Contains(errOut, "gateway") {
			t.Fatalf("--gateway %s: exit %d, err %q", gw, code, errOut)
		}
	}
	code, _, errOut = runMain(t, "", "run", "--check", "--store", "/tmp/l.db")
	if code != ExitUsage || !strings.Contains(errOut, "gateway: required") {
		t.Fatalf("missing gateway: exit %d, err %q", code, errOut)
	}
	code, _, errOut = runMain(t, "", "run", "--check", "--config", filepath.Join(t.TempDir(), "missing.json"))
	if code != ExitUsage || !strings.Contains(errOut, "missing.json") {
		t.Fatalf("missing file: exit %d, err %q", code, errOut)
	}
	// What run would need and does not find: a device that is not there,
	// a ledger directory that does not exist.
	code, out, errOut = runMain(t, "", "run", "--check", "--config", cfg, "--scanner", "id=or3-2,device="+filepath.Join(dir, "gone"),
		"--scanner", "id=or3-2,location=OR-3,kind=use", "--store", filepath.Join(dir, "nodir", "ledger.db"))
	if code != ExitFailure || !strings.Contains(out, "problem: scanners[1].device: "+filepath.Join(dir, "gone")+" does not exist") ||
		!strings.Contains(out, "problem: store: directory "+filepath.Join(dir, "nodir")) || strings.Contains(out, "configuration ok") {
		t.Fatalf("missing device and directory: exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestDecode(t *testing.T) {
	implant := "]d20109520123456788172805311021A-77\x1d2100042"
	code, out, _ := runMain(t, implant+"\r\n"+"]d201095201234567891728053110A\r\n", "decode", "--json")
	if code != ExitFailure {
		t.Errorf("one bad code: exit %d, want 1", code)
	}
	var got []show.DecodedCode
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var d show.DecodedCode
		if err := dec.Decode(&d); err != nil {
			t.Fatal(err)
		}
		got = append(got, d)
	}
	if len(got) != 2 {
		t.Fatalf("want 2 objects, got %d: %s", len(got), out)
	}
	g := got[0]
	if !g.OK || g.Kind != "GS1" || g.Symbology != "]d2" || g.Key != "(01)09520123456788(21)00042" ||
		g.GTIN != "09520123456788" || g.Serial != "00042" || g.Lot != "21A-77" || g.Expiry != "2028-05-31" {
		t.Errorf("implant decoded as %+v", g)
	}
	if got[1].OK || !strings.Contains(strings.ToLower(got[1].Error), "check digit") {
		t.Errorf("bad check digit decoded as %+v", got[1])
	}
	code, out, _ = runMain(t, "", "decode", `]d20109520123456788172805311021A-77\x1d2100042`, "+A123BJC5D6E71G", "WRISTBAND-0042")
	if code != ExitOK {
		t.Fatalf("decode args: exit %d\n%s", code, out)
	}
	for _, want := range []string{"item key    (01)09520123456788(21)00042", "kind        HIBC", "kind        plain", "not an item code"} {
		if !strings.Contains(out, want) {
			t.Errorf("decode output lacks %q:\n%s", want, out)
		}
	}
}

func TestDecodeEPC(t *testing.T) {
	for _, in := range []string{"30003074257BF7194E4000001A85", "3074257BF7194E4000001A85", "urn:epc:tag:sgtin-96:3.0614141.812345.6789", "urn:epc:id:sgtin:0614141.812345.6789"} {
		code, out, errOut := runMain(t, "", "decode", "--json", in)
		if code != ExitOK {
			t.Fatalf("%s: exit %d %s", in, code, errOut)
		}
		var d show.DecodedCode
		if err := json.Unmarshal([]byte(out), &d); err != nil {
			t.Fatal(err)
		}
		if d.Key != "(01)80614141123458(21)6789" || d.GTIN != "80614141123458" || d.Serial != "6789" || d.EPC == nil ||
			d.EPC.PureURI != "urn:epc:id:sgtin:0614141.812345.6789" {
			t.Errorf("%s decoded as %+v %+v", in, d, d.EPC)
		}
	}
	code, out, _ := runMain(t, "", "decode", "E2801160600002054CC2096F")
	if code != ExitOK || !strings.Contains(out, "urn:epc:raw:96.xE2801160600002054CC2096F") || !strings.Contains(out, "not an SGTIN") {
		t.Errorf("non-SGTIN EPC: exit %d\n%s", code, out)
	}
}

// TestAgentEndToEnd runs the agent as a real process on a pseudo-terminal
// scanner: scans are answered with the accept bytes only once durable, a
// trace is served by the running agent, and after SIGKILL every answered
// scan is in the ledger file.
func TestAgentEndToEnd(t *testing.T) {
	dir := t.TempDir()
	pt := testkit.New(t, filepath.Join(dir, "scanner"))
	master, dev := pt.Master, pt.Link
	store := filepath.Join(dir, "ledger.db")
	cmd := exec.Command(os.Args[0], "run", "--gateway", "gw-e2e", "--store", store,
		"--scanner", "id=or1,device="+dev+",location=OR-1,kind=use,require_serial=true,feedback_accept=06,feedback_reject=15")
	cmd.Env = append(os.Environ(), "UDI_EDGE_BE_MAIN=1")
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			t.Logf("agent log:\n%s", logs.String())
		}
	}()
	// Feedback bytes come back on the master: 0x06 accepted, 0x15 rejected.
	answers := make(chan byte, 64)
	go func() {
		r := bufio.NewReader(master)
		for {
			b, err := r.ReadByte()
			if err != nil {
				close(answers)
				return
			}
			answers <- b
		}
	}()
	// The driver opens the port asynchronously: wait until the agent says
	// the scanner is connected.
	checkFor(t, 10*time.Second, func() error {
		if !socketDevices(t, store+".sock")["or1"] {
			return fmt.Errorf("scanner or1 not connected yet")
		}
		return nil
	})
	const n = 20
	for i := 0; i < n; i++ {
		label := fmt.Sprintf("]d20109520123456788172805311021A-77\x1d21%05d\r", i)
		if i == 7 {
			label = "]d201095201234567891728053110X\r" // damaged: bad check digit
		}
		if _, err := master.Write([]byte(label)); err != nil {
			t.Fatal(err)
		}
		select {
		case b := <-answers:
			want := byte(0x06)
			if i == 7 {
				want = 0x15
			}
			if b != want {
				t.Fatalf("scan %d: answer %#x, want %#x", i, b, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("scan %d: no answer", i)
		}
	}
	// Trace through the running agent's socket.
	code, out, errOut := runMain(t, "", "trace", "--store", store, "--json", "(01)09520123456788(21)00003")
	if code != ExitOK {
		t.Fatalf("trace on running agent: %d %s %s", code, out, errOut)
	}
	var m api.Movement
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("trace json %q: %v", out, err)
	}
	if m.Seq != 4 || m.Kind != "use" || m.Location != "OR-1" || m.Gateway != "gw-e2e" || m.Raw != "]d20109520123456788172805311021A-77<GS>2100003" {
		t.Errorf("traced movement %+v", m)
	}
	// A product trace lists every serial of the GTIN.
	code, out, _ = runMain(t, "", "trace", "--store", store, "--json", "09520123456788")
	if code != ExitOK || strings.Count(out, "\n") != n-1 {
		t.Errorf("product trace: exit %d, %d lines, want %d", code, strings.Count(out, "\n"), n-1)
	}
	// The status of the running agent: its last movement, its scanner, and
	// no sync configured.
	code, out, _ = runMain(t, "", "status", "--store", store)
	if code != ExitOK || !strings.Contains(out, fmt.Sprintf("gateway gw-e2e: %d movement(s)", n)) ||
		!regexp.MustCompile(`(?m)^  or1 +scanner +port open$`).MatchString(out) || !strings.Contains(out, "sync: not configured") ||
		strings.Contains(out, "INDEX DAMAGED") {
		t.Errorf("status: exit %d\n%s", code, out)
	}
	// Kill -9: nothing answered may be lost.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	for i := 0; i < n; i++ {
		if i == 7 {
			continue
		}
		key := fmt.Sprintf("(01)09520123456788(21)%05d", i)
		code, out, errOut := runMain(t, "", "trace", "--store", store, key)
		if code != ExitOK || !strings.Contains(out, "1 movement(s)") {
			t.Fatalf("after kill, trace %s: exit %d\n%s%s", key, code, out, errOut)
		}
	}
	// EPCIS export from the stopped agent's file: every accepted scan is an
	// event; the rejected read is not.
	code, out, errOut = runMain(t, "", "export", "epcis", "--store", store)
	if code != ExitOK || strings.Count(out, `"type":"ObjectEvent"`) != n-1 || !strings.Contains(errOut, fmt.Sprintf("exported %d event(s); 1 movement(s)", n-1)) {
		t.Errorf("export from file: %d %s", code, errOut)
	}
	code, _, errOut = runMain(t, "", "trace", "--store", store, "(01)09520123456788(21)99999")
	if code != ExitFailure || !strings.Contains(errOut, "no movement") {
		t.Errorf("unknown item: exit %d %q", code, errOut)
	}
}

// syncBuffer is a writer safe for concurrent use.
type syncBuffer = testkit.LogBuffer

func TestDecodeLiveDevice(t *testing.T) {
	pt := testkit.New(t, filepath.Join(t.TempDir(), "scanner"))
	master := pt.Master
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"decode", "--json", "--device", pt.Link, "--suffix", "CR"}, strings.NewReader(""), &out, &errb)
	}()
	checkFor(t, 10*time.Second, func() error {
		if !strings.Contains(errb.String(), "open: scan labels") {
			return fmt.Errorf("device not open yet: %q", errb.String())
		}
		return nil
	})
	if _, err := master.Write([]byte("]d20109520123456788172805311021A-77\x1d2100042\r")); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, func() error {
		if !strings.Contains(out.String(), `"item_key":"(01)09520123456788(21)00042"`) {
			return fmt.Errorf("no decoded scan yet: %q", out.String())
		}
		return nil
	})
	cancel()
	if code := <-done; code != ExitOK {
		t.Errorf("exit %d: %s", code, errb.String())
	}
}

// runAgent opens a and runs it until the test ends, then stops and closes
// it; it returns the context the agent runs under.
func runAgent(t *testing.T, a *edge.Agent) context.Context {
	t.Helper()
	stop, err := a.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	return context.Background()
}

// socketDevices asks the agent serving socket which of its devices have
// their port open.
func socketDevices(t *testing.T, socket string) map[string]bool {
	t.Helper()
	st, err := api.NewClient(socket).Status(context.Background())
	m := map[string]bool{}
	if err != nil {
		return m
	}
	for _, d := range st.Devices {
		m[d.ID] = d.Connected
	}
	return m
}

// agentDevices asks a, through its local API, which of its devices have
// their port open.
func agentDevices(t *testing.T, a *edge.Agent) map[string]bool {
	t.Helper()
	return socketDevices(t, a.Config.SocketPath())
}

// testLogger returns a debug logger writing text to w.
func testLogger(t *testing.T, w io.Writer) *slog.Logger {
	t.Helper()
	log, err := cli.NewLogger(w, "debug", "text")
	if err != nil {
		t.Fatal(err)
	}
	return log
}

// serveAPI serves the local API of the core over l on socket until the
// test ends, as a running agent does.
func serveAPI(t *testing.T, l *bolt.Ledger, socket string) *core.Gateway {
	t.Helper()
	return serveAPIGroup(t, l, socket, "")
}

// serveAPIGroup is serveAPI with the socket's group set.
func serveAPIGroup(t *testing.T, l *bolt.Ledger, socket, group string) *core.Gateway {
	t.Helper()
	g, err := core.New(core.Config{}, core.Deps{Store: l, Master: l})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := api.ListenUnix(socket, group)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- api.NewServer(g, api.Limits{}, nil).Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return g
}

// statusOf asks the agent on socket for its status.
func statusOf(ctx context.Context, socket string) (core.Status, error) {
	return api.NewClient(socket).Status(ctx)
}

// TestShippedBinaryLinksNoLabParts: the gateway's binary links neither an
// MQTT broker, nor udi-central, nor the reader simulators, nor the tests'
// kit: those are udi-lab's.
func TestShippedBinaryLinksNoLabParts(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/mochi-mqtt/", "/sync/central", "/reader/uhfsim", "/agent/testkit", "github.com/creack/pty"} {
			if strings.Contains(pkg, banned) {
				t.Errorf("udi-edge links %s", pkg)
			}
		}
	}
}
