package edge

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/testkit"
)

var writeFile = testkit.WriteFile

const goodConfig = `{
  "site": "h1",
  "gateway": "or3-gw",
  "store": "/tmp/x/ledger.db",
  "ledger": {"max_batch": 500, "max_delay": "3ms"},
  "log": {"level": "debug", "format": "json"},
  "scanners": [
    {"id": "or3-1", "device": "/dev/ttyACM0", "baud": 115200, "parity": "even", "data_bits": 7,
     "stop_bits": "2", "suffix": "CRLF", "location": "OR-3", "kind": "use", "require_serial": true,
     "feedback": {"accept": "07", "reject": "1b 42"}}
  ]
}`

func TestConfigFileParsed(t *testing.T) {
	c := DefaultConfig()
	if err := LoadConfigFile(writeFile(t, "c.json", goodConfig), &c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	s := c.Scanners[0]
	if c.Gateway != "or3-gw" || c.Ledger.MaxBatch != 500 || time.Duration(c.Ledger.MaxDelay) != 3*time.Millisecond {
		t.Errorf("top-level fields: %+v", c)
	}
	if s.Baud != 115200 || s.Parity != "even" || s.DataBits != 7 || s.StopBits != "2" || s.Suffix != "CRLF" || !s.RequireSerial {
		t.Errorf("scanner fields: %+v", s)
	}
	if string(s.Feedback.Accept) != "\x07" || string(s.Feedback.Reject) != "\x1bB" {
		t.Errorf("feedback bytes: %q %q", s.Feedback.Accept, s.Feedback.Reject)
	}
	if c.SocketPath() != "/tmp/x/ledger.db.sock" {
		t.Errorf("socket path %q", c.SocketPath())
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		name, body, where, text string
	}{
		{"unknown top key", `{"gateway":"g","stroe":"x"}`, "stroe", "unknown key"},
		{"unknown nested key", `{"gateway":"g","ledger":{"max_bach":3}}`, "ledger.max_bach", "unknown key"},
		{"unknown scanner key", `{"gateway":"g","scanners":[{"id":"a"},{"id":"b","bauds":9600}]}`, "scanners[1].bauds", "unknown key"},
		{"wrong type", `{"gateway":"g","scanners":[{"id":"a"},{"id":"b","baud":"fast"}]}`, "scanners[1].baud", "want int"},
		{"bad duration", `{"gateway":"g","ledger":{"max_delay":"soon"}}`, "ledger.max_delay", `"soon" is not a duration`},
		{"negative duration", `{"gateway":"g","stock":{"sweep":"-1s"}}`, "stock.sweep", `"-1s" is not a duration`},
		{"bad hex in a list", `{"gateway":"g","scanners":[{"id":"a"},{"id":"b","feedback":{"accept":"zz"}}]}`, "scanners[1].feedback.accept", `"zz" is not hex`},
		{"bad hex", `{"gateway":"g","scanners":[{"id":"a","feedback":{"accept":"zz"}}]}`, "scanners[0].feedback.accept", `"zz" is not hex`},
		{"syntax", "{\n\"gateway\": \"g\",,\n}", "c.json", "line 2"},
		{"trailing data", `{"gateway":"g"} {}`, "c.json", "after the configuration"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			err := LoadConfigFile(writeFile(t, "c.json", tc.body), &c)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("want *ConfigError, got %v", err)
			}
			if !strings.HasSuffix(ce.Where, tc.where) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q: want where %q and text %q", err, tc.where, tc.text)
			}
		})
	}
}

func TestValidateNamesTheKey(t *testing.T) {
	base := func() Config {
		c := DefaultConfig()
		c.Gateway = "gw"
		c.Scanners = []ScannerConfig{{ID: "s1", Device: "/dev/ttyACM0", Location: "OR-1", Kind: "use"}}
		return c
	}
	cases := []struct {
		name  string
		edit  func(*Config)
		where string
	}{
		{"no gateway", func(c *Config) { c.Gateway = "" }, "gateway"},
		{"bad gateway", func(c *Config) { c.Gateway = "a/b" }, "gateway"},
		{"bad kind", func(c *Config) { c.Scanners[0].Kind = "steal" }, "scanners[0].kind"},
		{"reject kind", func(c *Config) { c.Scanners[0].Kind = "reject" }, "scanners[0].kind"},
		{"no location", func(c *Config) { c.Scanners[0].Location = "" }, "scanners[0].location"},
		{"dup id", func(c *Config) { c.Scanners = append(c.Scanners, c.Scanners[0]) }, "scanners[1].id"},
		{"bad parity", func(c *Config) { c.Scanners[0].Parity = "maybe" }, "scanners[0]"},
		{"bad suffix", func(c *Config) { c.Scanners[0].Suffix = "TAB" }, "scanners[0]"},
		{"no device", func(c *Config) { c.Scanners[0].Device = "" }, "scanners[0]"},
		{"batch", func(c *Config) { c.Ledger.MaxBatch = 0 }, "ledger.max_batch"},
		{"negative delay", func(c *Config) { c.Ledger.MaxDelay = Duration(-time.Millisecond) }, "ledger.max_delay"},
		{"long delay", func(c *Config) { c.Ledger.MaxDelay = Duration(2 * time.Second) }, "ledger.max_delay"},
		{"log level", func(c *Config) { c.Log.Level = "loud" }, "log.level"},
		{"sync without site", func(c *Config) { c.Sync.Brokers = []string{"ssl://b:8883"} }, "site"},
		{"sync bad broker", func(c *Config) { c.Site = "s"; c.Sync.Brokers = []string{"ssl://b:8883", "broker"} }, "sync.brokers[1]"},
		{"sync bad scheme", func(c *Config) { c.Site = "s"; c.Sync.Brokers = []string{"http://b:80"} }, "sync.brokers[0]"},
		{"sync two passwords", func(c *Config) {
			c.Site, c.Sync.Brokers, c.Sync.Password, c.Sync.PasswordFile = "s", []string{"ssl://b:8883"}, "x", "/etc/hostname"
		}, "sync.password_file"},
		{"sync cert without key", func(c *Config) {
			c.Site, c.Sync.Brokers, c.Sync.CertFile = "s", []string{"ssl://b:8883"}, "/etc/hostname"
		}, "sync.cert_file"},
		{"consignment desk that uses", func(c *Config) { c.Scanners[0].ConsignedBy = "华东医药" }, "scanners[0].consigned_by"},
		{"stock horizon", func(c *Config) { c.Stock.ExpiryHorizons = []int{90, 0} }, "stock.expiry_horizons[1]"},
		{"stock horizon twice", func(c *Config) { c.Stock.ExpiryHorizons = []int{30, 30} }, "stock.expiry_horizons[1]"},
		{"stock service level", func(c *Config) { c.Stock.ServiceLevel = 1 }, "stock.service_level"},
		{"stock lead days", func(c *Config) { c.Stock.LeadDays = -1 }, "stock.lead_days"},
		{"stock sweep", func(c *Config) { c.Stock.Sweep = Duration(time.Millisecond) }, "stock.sweep"},
		{"stock par", func(c *Config) { c.Stock.ParLevels = []ParConfig{{Location: "WH", GTIN: "123", Min: 1, Max: 2}} }, "stock.par_levels[0].gtin"},
		{"stock par min above max", func(c *Config) {
			c.Stock.ParLevels = []ParConfig{{Location: "WH", GTIN: "09520123456788", Min: 1, Max: 2},
				{Location: "WH", GTIN: "09520123456795", Min: 5, Max: 2}}
		}, "stock.par_levels[1].max"},
		{"stock par twice", func(c *Config) {
			c.Stock.ParLevels = []ParConfig{{Location: "WH", GTIN: "09520123456788", Min: 1, Max: 2},
				{Location: "WH", GTIN: "09520123456788", Min: 2, Max: 4}}
		}, "stock.par_levels[1].location"},
		{"sync missing ca", func(c *Config) {
			c.Site, c.Sync.Brokers, c.Sync.CAFile = "s", []string{"ssl://b:8883"}, "/nonexistent/ca.pem"
		}, "sync.ca_file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			if err := c.Validate(); err != nil {
				t.Fatalf("base config invalid: %v", err)
			}
			tc.edit(&c)
			err := c.Validate()
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Where != tc.where {
				t.Fatalf("want ConfigError at %q, got %v", tc.where, err)
			}
		})
	}
}

func TestScannerFlagMerges(t *testing.T) {
	c := DefaultConfig()
	if err := LoadConfigFile(writeFile(t, "c.json", goodConfig), &c); err != nil {
		t.Fatal(err)
	}
	if err := c.applyScannerFlag("id=or3-1,device=/dev/ttyUSB3,baud=9600"); err != nil {
		t.Fatal(err)
	}
	if err := c.applyScannerFlag("id=desk,device=/dev/ttyACM1,location=warehouse,kind=receive,suffix=none,gap=30ms"); err != nil {
		t.Fatal(err)
	}
	if len(c.Scanners) != 2 || c.Scanners[0].Device != "/dev/ttyUSB3" || c.Scanners[0].Baud != 9600 || c.Scanners[0].Parity != "even" {
		t.Fatalf("merge: %+v", c.Scanners)
	}
	if d := c.Scanners[1]; d.Kind != "receive" || time.Duration(d.Gap) != 30*time.Millisecond {
		t.Fatalf("new scanner: %+v", d)
	}
	for _, bad := range []string{"device=/dev/x", "id=a,bod=1", "id=a,baud=fast", "id=a,junk"} {
		err := c.applyScannerFlag(bad)
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(ce.Where, "--scanner") {
			t.Errorf("%q: want a ConfigError naming --scanner, got %v", bad, err)
		}
	}
}

func TestDeployExampleConfigIsValid(t *testing.T) {
	c := DefaultConfig()
	if err := LoadConfigFile("../../../deploy/udi-edge.json", &c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(c.Scanners) != 2 || c.Scanners[1].Kind != "receive" {
		t.Fatalf("example scanners: %+v", c.Scanners)
	}
	if !c.Sync.enabled() || c.Sync.Window != 8 || c.Patterns.HoldFor == nil {
		t.Fatalf("example sync and patterns: %+v %+v", c.Sync, c.Patterns)
	}
}

func TestRFIDConfig(t *testing.T) {
	base := func() Config {
		c := DefaultConfig()
		c.Gateway = "gw"
		c.Zones = []ZoneConfig{
			{Name: "cab1-s1", Location: "cabinet-1", Role: "cabinet", Round: Duration(time.Second)},
			{Name: "dock-out", Location: "dock", Role: "portal", Portal: "dock", Side: "outer"},
			{Name: "dock-in", Location: "store", Role: "portal", Portal: "dock", Side: "inner"},
		}
		c.Readers = []ReaderConfig{
			{ID: "cab1", Type: "mercury", Device: "/dev/ttyUSB0", Baud: 115200, Region: "PRC", Antennas: []AntennaConfig{{Port: 1, Zone: "cab1-s1"}}},
			{ID: "dock", Type: "mercury", Device: "/dev/ttyUSB1", Antennas: []AntennaConfig{{Port: 1, Zone: "dock-out"}, {Port: 2, Zone: "dock-in"}}},
			{ID: "or3", Type: "bb7e", Device: "/dev/ttyUSB2", Baud: 115200, Antennas: []AntennaConfig{{Port: 1, Zone: "cab1-s1"}}},
		}
		return c
	}
	c := base()
	if err := c.Validate(); err != nil {
		t.Fatalf("base RFID config: %v", err)
	}
	pc, err := c.presenceConfig()
	if err != nil || pc.Zones["cab1-s1"].RoundLength != time.Second || pc.Zones["dock-in"].Portal != "dock" {
		t.Fatalf("presence config %+v %v", pc, err)
	}
	cases := []struct {
		name  string
		edit  func(*Config)
		where string
	}{
		{"unknown zone", func(c *Config) { c.Readers[0].Antennas[0].Zone = "nowhere" }, "readers[0].antennas[0].zone"},
		{"bad port", func(c *Config) { c.Readers[0].Antennas[0].Port = 17 }, "readers[0].antennas[0].port"},
		{"dup port", func(c *Config) { c.Readers[1].Antennas[1].Port = 1 }, "readers[1].antennas[1].port"},
		{"bad type", func(c *Config) { c.Readers[0].Type = "impinj" }, "readers[0].type"},
		{"bb7e two antennas", func(c *Config) {
			c.Readers[2].Antennas = append(c.Readers[2].Antennas, AntennaConfig{Port: 2, Zone: "dock-in"})
		}, "readers[2].antennas"},
		{"dup reader", func(c *Config) { c.Readers[1].ID = "cab1" }, "readers[1].id"},
		{"no antennas", func(c *Config) { c.Readers[0].Antennas = nil }, "readers[0].antennas"},
		{"bad role", func(c *Config) { c.Zones[0].Role = "fridge" }, "zones[0].role"},
		{"no location", func(c *Config) { c.Zones[0].Location = "" }, "zones[0].location"},
		{"dup zone", func(c *Config) { c.Zones[1].Name = "cab1-s1" }, "zones[1].name"},
		{"bad region", func(c *Config) { c.Readers[0].Region = "Mars" }, "readers[0]"},
		{"bad side", func(c *Config) { c.Zones[1].Side = "left" }, "zones.dock-out.side"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.edit(&c)
			err := c.Validate()
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Where != tc.where {
				t.Fatalf("want ConfigError at %q, got %v", tc.where, err)
			}
		})
	}
}

func TestPatternsConfig(t *testing.T) {
	c := DefaultConfig()
	body := `{"gateway":"g","patterns":{"wristband":"^PAT-(\\d{6})$","badge":"^B-(\\w+)$",
		"commands":{"CMD-RETURN":"return","CMD-CLOSE":"close-case"},"case_idle":"4h","badge_timeout":"30m"}}`
	if err := LoadConfigFile(writeFile(t, "c.json", body), &c); err != nil {
		t.Fatal(err)
	}
	p, err := c.Patterns.compile()
	if err != nil || p == nil || p.Wristband == nil || p.Case != nil || p.Commands["CMD-CLOSE"] != "close-case" || p.CaseIdle != 4*time.Hour {
		t.Fatalf("patterns %+v %v", p, err)
	}
	for _, tc := range []struct {
		edit  func(*PatternsConfig)
		where string
	}{
		{func(p *PatternsConfig) { p.Case = "(" }, "patterns.case"},
		{func(p *PatternsConfig) { p.Commands = map[string]string{"X": "dance"} }, "patterns.commands.X"},
	} {
		c2 := c
		c2.Patterns.Commands = map[string]string{}
		tc.edit(&c2.Patterns)
		err := c2.Validate()
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Where != tc.where {
			t.Errorf("want error at %s, got %v", tc.where, err)
		}
	}
	if p, err := DefaultConfig().Patterns.compile(); p != nil || err != nil {
		t.Errorf("no patterns configured: %v %v", p, err)
	}
}
