package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/testkit"
)

// chromium returns the path of Debian's chromium. Without it the browser
// test is skipped, saying so, except in CI (CI=true), where it fails:
// .ci/test installs chromium.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed, and CI must run the browser test: apt-get install chromium (.ci/test does)")
	}
	t.Skip("browser test skipped: chromium is not installed (apt-get install chromium); CI runs it")
	return ""
}

// artifacts is where the test keeps its screenshots: $UDI_ARTIFACTS when
// set, else the test's temporary directory.
func artifacts(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("UDI_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// buildAgent builds the udi-edge binary into dir.
func buildAgent(t *testing.T, dir string) string {
	t.Helper()
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		gobin = "go"
	}
	bin := filepath.Join(dir, "udi-edge")
	cmd := exec.Command(gobin, "build", "-o", bin, "github.com/udi-edge/udi-edge/cmd/udi-edge")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build udi-edge: %v\n%s", err, out)
	}
	return bin
}

// pageAddr is the address the agent's log says its page listens on.
var pageAddr = regexp.MustCompile(`msg="station page" address=(\S+)`)

// TestBrowser runs the real agent (the udi-edge binary) with an operating
// room's scanner on a pseudo-terminal and its station page on a free
// loopback port, and drives the page in headless Chromium as a nurse
// would: the page shows each scan live with its decision, the imported
// item's use asks for a reason, a tap on a reason records the
// justification in the ledger, and two taps on CLOSE CASE close the
// case. Screenshots are kept (see artifacts; the test logs where).
func TestBrowser(t *testing.T) {
	chrome := chromium(t)
	dir := t.TempDir()
	bin := buildAgent(t, dir)
	scanner := testkit.New(t, filepath.Join(dir, "or3-scanner"))
	store := filepath.Join(dir, "ledger.db")
	cfg := map[string]any{
		"gateway": "gw-page", "site": "h1", "store": store,
		"scanners": []map[string]any{{"id": "or3", "device": scanner.Link, "location": "OR-3", "kind": "use",
			"feedback": map[string]string{"accept": "06", "warn": "07", "reject": "15", "failed": "18"}}},
		"patterns": map[string]any{"wristband": `^PAT(\d{6})$`, "badge": `^BADGE-(\w+)$`,
			"commands": map[string]string{closeCode: "close-case"}},
		// A free port, chosen by the agent: its log says which.
		"page": map[string]any{"listen": "127.0.0.1:0", "lang": "en"},
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "udi-edge.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &testkit.LogBuffer{}
	proc := exec.Command(bin, "run", "--config", file)
	proc.Stderr, proc.Stdout = logs, logs
	if err := proc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = proc.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = proc.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = proc.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("agent log:\n%s", logs.String())
		}
		if strings.Contains(logs.String(), patient) {
			t.Errorf("the agent logged a patient identifier:\n%s", logs.String())
		}
	})
	ctx := context.Background()
	client := api.NewClient(store + ".sock")
	var addr string
	testkit.CheckFor(t, 20*time.Second, func() error {
		m := pageAddr.FindStringSubmatch(logs.String())
		if m == nil {
			return fmt.Errorf("the agent has not said where its page is")
		}
		addr = m[1]
		st, err := client.Status(ctx)
		if err != nil {
			return err
		}
		if len(st.Devices) != 1 || !st.Devices[0].Connected {
			return fmt.Errorf("scanner not open yet: %+v", st.Devices)
		}
		res, err := http.Get("http://" + addr + "/station/or3")
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("page: %s", res.Status)
		}
		return nil
	})
	cat := "gtin,name,unit_price,imported\n" + gtinImported + ",hip stem,6850.00,true\n" + gtinDomestic + ",bone screw,120.00,\n"
	if _, err := client.Import(ctx, "catalogue", strings.NewReader(cat), core.ImportOptions{Format: "csv"}); err != nil {
		t.Fatal(err)
	}
	scan := func(raw string) {
		t.Helper()
		if err := scanner.Send([]byte(raw + "\r")); err != nil {
			t.Fatal(err)
		}
		if _, err := scanner.Receive(1, 10*time.Second); err != nil {
			t.Fatalf("%q: the scanner heard no answer: %v", raw, err)
		}
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(1280, 800)) // a 10-inch screen
	actx, cancelA := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancelB()
	bctx, cancelT := context.WithTimeout(bctx, 90*time.Second)
	defer cancelT()
	shots := artifacts(t)
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(shots, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}
	// wait waits until the live part of the screen holds every text.
	wait := func(texts ...string) {
		t.Helper()
		js, _ := json.Marshal(texts)
		cond := fmt.Sprintf(`(() => { const l = document.getElementById("live"); return !!l && %s.every(s => l.innerText.includes(s)); })()`, js)
		if _, err := chromedp.Run(bctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
			text, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#live")))
			t.Fatalf("the screen never showed %q: %v\nit shows:\n%s", texts, err, text)
		}
	}

	if err := chromedp.Do(bctx, chromedp.Navigate("http://"+addr+"/station/or3"), chromedp.WaitVisible(chromedp.CSS("#live"))); err != nil {
		t.Fatal(err)
	}
	wait("No case open")
	// Each scan appears as it is answered, over the live stream: the
	// page is never reloaded.
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.notReloaded = true`)); err != nil {
		t.Fatal(err)
	}
	scan("]C0BADGE-N042")
	scan("]C0" + wristband)
	wait("Open case", "•••217", "Patient identified: case open")
	scan(label(gtinDomestic, "281231", "L1", "A1"))
	wait("Accepted", "bone screw")
	scan(label(gtinDomestic, "281231", "L1", "A1"))
	wait("BLOCKED — do not use", "Already used")
	scan(label(gtinImported, "281231", "P1", "S7"))
	wait("Justification needed", "hip stem", "No domestic product can replace it")
	if stillSame, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.notReloaded === true`)); err != nil || !stillSame {
		t.Fatalf("the page was reloaded to show the scans: %v", err)
	}
	text, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text, patient) {
		t.Fatalf("the screen shows the patient identifier unmasked:\n%s", text)
	}
	shot("station-pending.png")

	// The nurse taps a reason; the ledger records the justification.
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`button[data-reason="R03"]`))); err != nil {
		t.Fatal(err)
	}
	wait("Justification recorded", "R03")
	if err := chromedp.Do(bctx, chromedp.WaitNotPresent(chromedp.CSS(".pending"))); err != nil {
		t.Fatal(err)
	}
	tr, err := client.Trace(ctx, core.TraceQuery{Key: key(gtinImported, "S7")})
	if err != nil {
		t.Fatal(err)
	}
	j := tr.Movements[len(tr.Movements)-1]
	if len(tr.Movements) != 2 || !slices.Contains(j.Flags, agent.FlagJustification) || !strings.Contains(j.Reason, "necessity justification R03 for use") || j.Actor != "N042" {
		t.Fatalf("the ledger holds %+v", tr.Movements)
	}
	fs, err := client.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Item == key(gtinImported, "S7") && strings.Contains(f.Kind, "justif") {
			t.Fatalf("reconcile still finds the use unjustified: %+v", f)
		}
	}
	shot("station-justified.png")

	// CLOSE CASE: the first tap arms it, the second closes the case.
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`button[data-action="close"]`))); err != nil {
		t.Fatal(err)
	}
	wait("Tap again to close")
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`button[data-action="close"]`))); err != nil {
		t.Fatal(err)
	}
	wait("No case open", "Case closed")
	shot("station-closed.png")
}
