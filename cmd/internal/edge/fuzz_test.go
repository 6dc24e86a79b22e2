package edge

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// configSeeds are the configuration files the project ships and the
// tests' own, each also split in two (a file cut short while written).
func configSeeds(f *testing.F) [][]byte {
	f.Helper()
	paths, err := filepath.Glob("../../../deploy/examples/*.json")
	if err != nil {
		f.Fatal(err)
	}
	paths = append(paths, "../../../deploy/udi-edge.json")
	var seeds [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b, b[:len(b)/2])
	}
	return append(seeds, []byte(goodConfig),
		[]byte(`{"gateway":"g","ledger":{"max_delay":"-1s"}}`),
		[]byte(`{"gateway":"g","scanners":[{"id":"s","location":"x","kind":"use","feedback":{"accept":"0g"},"gap":"1h"}]}`),
		[]byte(`{"gateway":"g","patterns":{"case":"(","commands":{"X":"jump"}},"checks":{"rules":{"expired":"loud"}}}`),
		[]byte(`{"gateway":"g","scanners":[{"id":"s","baud":"fast"}]}`),
		[]byte(`{"gateway":"g"} {}`), []byte(`{"gateway":"g","nope":1}`), []byte(`[]`), []byte(``))
}

// FuzzConfigFile reads any bytes as the gateway's configuration file and
// validates what it read: each step returns nil or a *ConfigError naming
// where the fault is, never panics; and a file that passes, written out
// again as JSON, reads and validates to the same configuration.
func FuzzConfigFile(f *testing.F) {
	for _, s := range configSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		defer time.AfterFunc(5*time.Second, func() { panic(fmt.Sprintf("configuration %q: no answer in 5s", b)) }).Stop()
		c := DefaultConfig()
		err := parseConfig("fuzz.json", b, &c)
		if err == nil {
			err = c.Validate()
		}
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Where == "" || ce.Err == nil {
				t.Fatalf("%q: error %v (%T) does not name where", b, err, err)
			}
			return
		}
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("valid configuration does not marshal: %v", err)
		}
		back := DefaultConfig()
		if err := parseConfig("again.json", out, &back); err != nil {
			t.Fatalf("written again %s: %v", out, err)
		}
		if err := back.Validate(); err != nil {
			t.Fatalf("written again %s: %v", out, err)
		}
		if !reflect.DeepEqual(normal(c), normal(back)) {
			t.Fatalf("round trip differs:\n%+v\n%+v", c, back)
		}
	})
}

// normal is c with empty and nil collections alike (JSON writes both as
// null or empty).
func normal(c Config) string {
	b, _ := json.Marshal(c)
	return string(b)
}

// FuzzScannerFlag applies any --scanner value over a configuration with
// one scanner: an error is a *ConfigError naming the flag and its value
// and leaves the count of scanners as it was or one more; a value that
// applies names its scanner by id, and applying it again changes nothing.
func FuzzScannerFlag(f *testing.F) {
	for _, s := range []string{
		"id=or3,device=/dev/ttyACM0,baud=9600", "id=or3-1,baud=115200,data_bits=7,parity=even,stop_bits=2,suffix=CRLF",
		"id=new,location=OR-1,kind=use,require_serial=true,gap=50ms,max_len=200",
		"id=rx,kind=receive,consigned_by=华东医药,encoder_zone=z1,write_epc=1,company_prefix_length=7",
		"id=or3-1,feedback_accept=07,feedback_warn=1b 42,feedback_reject=zz,feedback_failed=",
		"id=or3-1,baud=fast", "device=/dev/x", "id=", "id=a,,b=1", " id = a ", "id=a,unknown=1", "id=a,gap=-", "=",
		"id=a,id=b", "id=a,baud=99999999999999999999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		c := DefaultConfig()
		if err := parseConfig("c.json", []byte(goodConfig), &c); err != nil {
			t.Fatal(err)
		}
		err := c.applyScannerFlag(v)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.HasPrefix(ce.Where, "--scanner ") {
				t.Fatalf("%q: error %v does not name the flag", v, err)
			}
			if n := len(c.Scanners); n != 1 && n != 2 {
				t.Fatalf("%q: %d scanners after an error", v, n)
			}
			return
		}
		id := ""
		for _, part := range strings.Split(v, ",") {
			if k, val, _ := strings.Cut(strings.TrimSpace(part), "="); k == "id" {
				id = val
			}
		}
		if !slicesContainsID(c.Scanners, id) {
			t.Fatalf("%q applied, yet no scanner %q: %+v", v, id, c.Scanners)
		}
		if err := c.Validate(); err != nil {
			if ce := (*ConfigError)(nil); !errors.As(err, &ce) || !strings.HasPrefix(ce.Where, "scanners[") {
				t.Fatalf("%q: validation error %v does not name the scanner", v, err)
			}
		}
		once := normal(c)
		if err := c.applyScannerFlag(v); err != nil || normal(c) != once {
			t.Fatalf("%q applied twice: %v\n%s\n%s", v, err, once, normal(c))
		}
	})
}

// FuzzPatterns compiles any station patterns and command barcodes: an
// error is a *ConfigError naming the key (patterns.case, or
// patterns.commands.CODE); patterns that compile keep every command.
func FuzzPatterns(f *testing.F) {
	f.Add(`^P(\d{8})$`, `^C-(\w+)$`, `^B(\d+)$`, `^J(\d{2})$`, "RET", "return")
	f.Add(`(`, ``, ``, ``, "", "")
	f.Add(``, `[a-`, `\p{Han}+`, `x{1001}`, "CMD-9", "close-case")
	f.Add(``, ``, ``, ``, "X", "jump")
	f.Add(`(?i)^w`, ``, ``, ``, "", "count-start")
	f.Fuzz(func(t *testing.T, wrist, cas, badge, just, code, cmd string) {
		p := PatternsConfig{Wristband: wrist, Case: cas, Badge: badge, Justification: just}
		if code != "" || cmd != "" {
			p.Commands = map[string]string{code: cmd}
		}
		got, err := p.compile()
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.HasPrefix(ce.Where, "patterns.") {
				t.Fatalf("error %v does not name the key", err)
			}
			return
		}
		if got == nil {
			if wrist+cas+badge+just != "" || p.Commands != nil {
				t.Fatal("patterns given, none compiled")
			}
			return
		}
		if len(got.Commands) != len(p.Commands) {
			t.Fatalf("%d commands kept of %d", len(got.Commands), len(p.Commands))
		}
	})
}

func slicesContainsID(ss []ScannerConfig, id string) bool {
	for _, s := range ss {
		if s.ID == id {
			return true
		}
	}
	return false
}
