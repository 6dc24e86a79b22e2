package edge

import (
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/testkit"
	"github.com/udi-edge/udi-edge/agent/web"
)

// TestPageConfigNamesTheKey: the page's mistakes are named by key,
// before anything is opened; beyond loopback the page needs TLS and
// credentials.
func TestPageConfigNamesTheKey(t *testing.T) {
	base := `{"gateway":"g","scanners":[{"id":"or3","device":"/dev/x","location":"OR-3","kind":"use"}],"page":%s}`
	cases := []struct{ page, where, text string }{
		{`{"listen":"8780"}`, "page.listen", "want host:port"},
		{`{"listen":"127.0.0.1:8780","lang":"fr"}`, "page.lang", `"fr"`},
		{`{"listen":"127.0.0.1:8780","stations":{"or9":{"lang":"en"}}}`, "page.stations.or9", "no scanner"},
		{`{"listen":"127.0.0.1:8780","stations":{"or3":{"lang":"de"}}}`, "page.stations.or3.lang", `"de"`},
		{`{"listen":"127.0.0.1:8780","reasons":[{"code":"R 1","en":"a","zh":"甲"}]}`, "page.reasons", "letters, digits"},
		{`{"listen":"127.0.0.1:8780","reasons":[{"code":"R1","en":"a"}]}`, "page.reasons", "both en and zh"},
		{`{"listen":"127.0.0.1:8780","expiring_days":-1}`, "page.expiring_days", "-1"},
		{`{"listen":"127.0.0.1:8780","tls_cert":"c.pem"}`, "page.tls_cert", "both"},
		{`{"listen":"127.0.0.1:8780","client_ca":"ca.pem","client_roles":"r"}`, "page.client_ca", "need TLS"},
		{`{"listen":"127.0.0.1:8780","auth_always":true}`, "page.auth_always", "tokens_file"},
		{`{"listen":"0.0.0.0:8780","tokens_file":"t"}`, "page.listen", "plain HTTP beyond loopback"},
		{`{"listen":"10.0.0.5:8780","tls_cert":"c.pem","tls_key":"k.pem"}`, "page.listen", "no credentials"},
		{`{"listen":"127.0.0.1:8780","color":"red"}`, "page.color", "unknown key"},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		err := LoadConfigFile(writeFile(t, "c.json", strings.Replace(base, "%s", c.page, 1)), &cfg)
		if err == nil {
			err = cfg.Validate()
		}
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Where != c.where || !strings.Contains(err.Error(), c.text) {
			t.Errorf("%s: %v, want %s: …%s…", c.page, err, c.where, c.text)
		}
	}
	cfg := DefaultConfig()
	if err := LoadConfigFile(writeFile(t, "c.json", strings.Replace(base, "%s",
		`{"listen":"10.0.0.5:8780","tls_cert":"c.pem","tls_key":"k.pem","tokens_file":"t","lang":"en","stations":{"or3":{"lang":"zh"}}}`, 1)), &cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("a page beyond loopback with TLS and tokens: %v", err)
	}
}

// TestAgentServesPage: an agent with page.listen serves the page over
// its core; each scan reaches the page as well as the agent's own
// OnAnswer. A tokens file others may read stops the agent at start,
// naming the key.
func TestAgentServesPage(t *testing.T) {
	dir := t.TempDir()
	pt := testkit.New(t, filepath.Join(dir, "scanner"))
	cfg := DefaultConfig()
	cfg.Gateway, cfg.Store = "gw-page", filepath.Join(dir, "ledger.db")
	cfg.Scanners = []ScannerConfig{{ID: "or3", Device: pt.Link, Location: "OR-3", Kind: "use"}}
	cfg.Patterns = PatternsConfig{Wristband: `^PAT(\d{6})$`}
	addr := "127.0.0.1:0"
	cfg.Page = PageConfig{Listen: &addr, Lang: "en"}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a := NewAgent(cfg, nil)
	heard := make(chan agent.Outcome, 4)
	a.OnAnswer = func(_ string, o agent.Outcome) { heard <- o }
	runAgent(t, a)
	checkFor(t, 10*time.Second, func() error {
		if !a.connected()["or3"] {
			return errorf("scanner not open")
		}
		return nil
	})
	if _, err := pt.Master.Write([]byte("]C0PAT004217\r")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-heard:
	case <-time.After(10 * time.Second):
		t.Fatal("the agent's OnAnswer heard nothing")
	}
	res, err := http.Get("http://" + a.pageLn.Addr().String() + "/station/or3")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), "Open case") || !strings.Contains(string(b), web.MaskPatient("004217")) {
		t.Fatalf("page: %d\n%s", res.StatusCode, b)
	}

	bad := cfg
	bad.Store = filepath.Join(dir, "other.db")
	bad.Scanners = nil
	bad.Page.TokensFile = writeFile(t, "tokens", strings.Repeat("a", 40)+" nurse n1\n")
	if err := os.Chmod(bad.Page.TokensFile, 0o644); err != nil {
		t.Fatal(err)
	}
	ba := NewAgent(bad, nil)
	err = ba.Open()
	if err == nil {
		ba.Close()
	}
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Where != "page.tokens_file" || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a tokens file others may read: %v", err)
	}
}
