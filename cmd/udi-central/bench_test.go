package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/cmd/internal/bench"
)

// centreEnv makes the test binary run as udi-central itself: the
// benchmark's centre, a process of its own.
const centreEnv = "UDI_CENTRAL_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(centreEnv) == "1" {
		main()
	}
	os.Exit(m.Run())
}

// TestBenchShortForm runs udi-central bench on a small fleet (20
// gateways of 500 movements, a real Mosquitto, a throwaway PostgreSQL
// and a bbolt file, the centre a process of its own) and checks what
// does not depend on the machine's speed: every figure is printed, the
// centre held every movement of every gateway's ledger on both stores,
// and its memory was measured. A goal of speed missed (the command then
// fails naming it) is not this test's failure.
func TestBenchShortForm(t *testing.T) {
	prev := centreCommand
	centreCommand = func(args ...string) *exec.Cmd {
		c := prev(args...)
		c.Env = append(os.Environ(), centreEnv+"=1")
		return c
	}
	t.Cleanup(func() { centreCommand = prev })
	var out, errOut bytes.Buffer
	code := Main(context.Background(), []string{"bench", "--gateways", "20", "--movements", "500", "--live-for", "2s",
		"--json", "--log-level", "warn", "--dir", t.TempDir()}, &out, &errOut)
	if code != ExitOK && !strings.Contains(errOut.String(), "not met") {
		t.Fatalf("exit %d:\n%s\n%s", code, errOut.String(), out.String())
	}
	figs := map[string]bench.Figure{}
	dec := json.NewDecoder(&out)
	for dec.More() {
		var f bench.Figure
		if err := dec.Decode(&f); err != nil {
			t.Fatalf("output not JSON lines: %v\n%s", err, out.String())
		}
		figs[f.Name] = f
	}
	for _, store := range []string{"pg", "bolt"} {
		for _, name := range []string{"_drain", "_lag_p50", "_lag_p99", "_centre_rss", "_longest_pause", "_held"} {
			if _, ok := figs[store+name]; !ok {
				t.Errorf("no figure %s%s in %v", store, name, figs)
			}
		}
		if f := figs[store+"_held"]; !f.Met || f.Value < 20*500 {
			t.Errorf("%s: the centre held %.0f movements, whole: %v; want every one of at least %d (%s)", store, f.Value, f.Met, 20*500, f.Ceiling)
		}
		if f := figs[store+"_centre_rss"]; f.Value <= 0 {
			t.Errorf("%s: the centre's memory not measured: %+v", store, f)
		}
		if f := figs[store+"_drain"]; f.Value <= 0 || !strings.Contains(f.Ceiling, "movements/s over") {
			t.Errorf("%s: no drain rate or ceiling: %+v", store, f)
		}
	}
}
