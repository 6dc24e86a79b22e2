package edge

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/agent"
)

// TestDeployExamplesAreValid loads every gateway example of
// deploy/examples (the udi-edge package installs them under
// /etc/udi-edge/examples) with the agent's own loader and validation,
// their files under /etc/udi-edge replaced by the test's, and checks that
// each shows what its role needs.
func TestDeployExamplesAreValid(t *testing.T) {
	paths, err := filepath.Glob("../../../deploy/examples/*.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{}
	for _, name := range []string{"broker-password", "broker-ca.pem"} {
		files["/etc/udi-edge/"+name] = filepath.Join(dir, name)
		if err := os.WriteFile(files["/etc/udi-edge/"+name], []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	etc := regexp.MustCompile(`"(/etc/[^"]*)"`)
	roles := map[string]func(*testing.T, Config){
		"or.json":           checkORExample,
		"warehouse.json":    checkWarehouseExample,
		"ward-cabinet.json": checkWardExample,
	}
	seen := 0
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var unknown []string
		text := etc.ReplaceAllStringFunc(string(b), func(m string) string {
			p := strings.Trim(m, `"`)
			if files[p] == "" {
				unknown = append(unknown, p)
				return m
			}
			return `"` + files[p] + `"`
		})
		if len(unknown) > 0 {
			t.Fatalf("%s: files this test does not replace: %q", path, unknown)
		}
		c := DefaultConfig()
		if err := parseConfig(path, []byte(text), &c); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for i, s := range c.Scanners {
			if !strings.HasPrefix(s.Device, "/dev/udi/") {
				t.Errorf("%s: scanners[%d].device %s: want a name under /dev/udi (deploy/udev)", path, i, s.Device)
			}
		}
		for i, r := range c.Readers {
			if !strings.HasPrefix(r.Device, "/dev/udi/") {
				t.Errorf("%s: readers[%d].device %s: want a name under /dev/udi (deploy/udev)", path, i, r.Device)
			}
		}
		if !c.Sync.enabled() || !strings.HasPrefix(c.Sync.Brokers[0], "ssl://") || c.Sync.CAFile == "" || c.Sync.CentreKey == "" {
			t.Errorf("%s: want sync over TLS with a CA and the centre's key: %+v", path, c.Sync)
		}
		check, ok := roles[filepath.Base(path)]
		if !ok {
			t.Errorf("%s: an example this test does not know: add its role's checks", path)
			continue
		}
		check(t, c)
		seen++
	}
	if seen != len(roles) {
		t.Errorf("checked %d examples, want %d (%v)", seen, len(roles), paths)
	}
}

// scannerOf returns the first scanner of kind k.
func scannerOf(c Config, k agent.Kind) (ScannerConfig, bool) {
	for _, s := range c.Scanners {
		if agent.Kind(s.Kind) == k {
			return s, true
		}
	}
	return ScannerConfig{}, false
}

func checkORExample(t *testing.T, c Config) {
	s, ok := scannerOf(c, agent.KindUse)
	if !ok || !s.RequireSerial {
		t.Errorf("or.json: want a use station that requires serials: %+v", c.Scanners)
	}
	p, err := c.Patterns.compile()
	if err != nil || p == nil || p.Wristband == nil || p.Case == nil || p.Commands["CMD-LOAN"] != agent.CmdLoan {
		t.Errorf("or.json: want wristband and case patterns and a loan command: %+v, %v", p, err)
	}
}

func checkWarehouseExample(t *testing.T, c Config) {
	var receive, consigned int
	for _, s := range c.Scanners {
		if s.Kind == string(agent.KindReceive) {
			receive++
			if s.ConsignedBy != "" {
				consigned++
			}
		}
	}
	if _, ok := scannerOf(c, agent.KindCount); !ok || receive != 2 || consigned != 1 {
		t.Errorf("warehouse.json: want a receiving desk, a consignment desk and a count station: %+v", c.Scanners)
	}
	if ps, err := c.Stock.pars(); err != nil || len(ps) == 0 {
		t.Errorf("warehouse.json: want par levels: %v, %v", ps, err)
	}
}

func checkWardExample(t *testing.T, c Config) {
	if len(c.Readers) != 1 || len(c.Readers[0].Antennas) < 2 {
		t.Fatalf("ward-cabinet.json: want one reader with several antennas: %+v", c.Readers)
	}
	for _, a := range c.Readers[0].Antennas {
		if z, ok := c.zone(a.Zone); !ok || z.Role != "cabinet" {
			t.Errorf("ward-cabinet.json: antenna %d reads zone %q, want a cabinet zone", a.Port, a.Zone)
		}
	}
	if _, ok := scannerOf(c, agent.KindUse); !ok {
		t.Errorf("ward-cabinet.json: want a bedside use scanner: %+v", c.Scanners)
	}
}
