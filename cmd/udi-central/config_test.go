package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigFile checks the run command's configuration file: its keys
// set the flags, flags given win, and every mistake is refused with exit
// code 2 naming the key.
func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "central.db")
	write := func(name, body string) string { return writeFile(t, dir, name, body, 0o600) }
	good := write("good.json", `{
  "sites": ["st-marys", "north"],
  "store": "`+store+`",
  "broker": {"urls": ["tcp://10.0.0.1:1883", "tcp://10.0.0.2:1883"], "client_id": "c-1", "max_reconnect": "2s"},
  "http": {"listen": ""},
  "log": {"level": "debug"}
}`)
	code, out, errs := runMain(t, "run", "--check", "--config", good)
	want := "configuration ok: site(s) st-marys,north, broker(s) tcp://10.0.0.1:1883,tcp://10.0.0.2:1883, store " + store + ", no HTTP API"
	if code != ExitOK || !strings.HasPrefix(out, want) {
		t.Fatalf("good file: exit %d, %q %q\nwant %q", code, out, errs, want)
	}
	// A flag given wins over its key.
	code, out, _ = runMain(t, "run", "--check", "--config", good, "--site", "east", "--http", "127.0.0.1:9000")
	if code != ExitOK || !strings.HasPrefix(out, "configuration ok: site(s) east, ") || !strings.Contains(out, "HTTP API on 127.0.0.1:9000") {
		t.Fatalf("flags over the file: exit %d, %q", code, out)
	}
	for _, c := range []struct{ name, body, want string }{
		{"unknown key", `{"sites": ["s"], "passwd": "x"}`, "passwd: unknown key (known keys: broker, enrolment, http, log, max_packet, metrics, national, shared, signing_key, sites, store, suppliers, supply_catalogue, supply_cursor)"},
		{"password inline", `{"broker": {"password": "secret"}}`, "broker.password: unknown key"},
		{"wrong type", `{"sites": "st-marys"}`, "sites: want []string, got string"},
		{"wrong type deep", `{"http": {"max_concurrent": "many"}}`, "http.max_concurrent: want int"},
		{"bad duration", `{"sites": ["s"], "http": {"timeout": "soon"}}`, "http.timeout: invalid argument \"soon\""},
		{"syntax", "{\"sites\": [\"s\"],\n \"store\": }", "line 2 column"},
		{"trailing", `{"sites": ["s"]} {}`, "unexpected data after the configuration object"},
		{"not an object", `["s"]`, "configuration: want an object"},
		{"comma in a list", `{"sites": ["a,b"]}`, "sites[0]: \"a,b\": a comma is not allowed here"},
		{"bad site", `{"sites": ["no spaces"]}`, "--site"},
		{"bad level", `{"sites": ["s"], "log": {"level": "loud"}}`, "--log-level"},
		{"reconnect too eager", `{"sites": ["s"], "broker": {"max_reconnect": "10ms"}}`, "--max-reconnect 10ms: between 250ms and 1h"},
	} {
		code, _, errs := runMain(t, "run", "--check", "--config", write(strings.ReplaceAll(c.name, " ", "-")+".json", c.body))
		if code != ExitUsage || !strings.Contains(errs, c.want) {
			t.Errorf("%s: exit %d, %q; want 2 saying %q", c.name, code, errs, c.want)
		}
	}
	if code, _, errs := runMain(t, "run", "--check", "--config", filepath.Join(dir, "none.json")); code != ExitUsage || !strings.Contains(errs, "--config") {
		t.Errorf("missing file: exit %d, %q", code, errs)
	}
}
