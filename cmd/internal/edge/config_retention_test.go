package edge

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/bolt"
)

// TestRetentionKeys: the keys that bound the ledger on disk, their
// defaults and the errors that name them.
func TestRetentionKeys(t *testing.T) {
	parse := func(ledger string) (Config, error) {
		c := DefaultConfig()
		c.Gateway = "or-3"
		if err := parseConfig("f.json", []byte(`{"ledger": `+ledger+`}`), &c); err != nil {
			return c, err
		}
		return c, c.Validate()
	}
	c, err := parse(`{}`)
	if err != nil {
		t.Fatal(err)
	}
	r := c.LedgerRetention()
	wantMax := int64(DefaultMaxBytes)
	if bolt.Is32Bit() {
		wantMax = bolt.DefaultMaxBytes32
	}
	if r.Horizon != 400*24*time.Hour || r.MaxBytes != wantMax || r.CompactFree != 0.25 || r.Folds.Needed == nil || r.Folds.Proof == nil {
		t.Fatalf("defaults: %+v", r)
	}
	c, err = parse(`{"retention": "30d", "max_bytes": "768MiB", "compact_free": 0.4}`)
	if err != nil {
		t.Fatal(err)
	}
	if r := c.LedgerRetention(); r.Horizon != 30*24*time.Hour || r.MaxBytes != 768<<20 || r.CompactFree != 0.4 {
		t.Fatalf("set: %+v", r)
	}
	c, err = parse(`{"retention": "off", "max_bytes": 1073741824, "compact_free": 0}`)
	if err != nil {
		t.Fatal(err)
	}
	if r := c.LedgerRetention(); r.Horizon != 0 || r.MaxBytes != 1<<30 || r.CompactFree >= 0 {
		t.Fatalf("off: %+v", r)
	}
	for _, c := range []struct{ ledger, key string }{
		{`{"retention": "400"}`, "ledger.retention"},
		{`{"retention": "2h"}`, "ledger.retention"},
		{`{"retention": 400}`, "ledger.retention"},
		{`{"max_bytes": "4 parsecs"}`, "ledger.max_bytes"},
		{`{"max_bytes": "1MiB"}`, "ledger.max_bytes"},
		{`{"compact_free": 1.5}`, "ledger.compact_free"},
		{`{"retain": "30d"}`, "ledger.retain"},
	} {
		_, err := parse(c.ledger)
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.key) {
			t.Errorf("%s: %v, want an error naming %s", c.ledger, err, c.key)
		}
	}
	if bolt.Is32Bit() {
		if _, err := parse(`{"max_bytes": "2GiB"}`); err == nil || !strings.Contains(err.Error(), "32-bit") {
			t.Errorf("a 2 GiB budget on 32-bit: %v", err)
		}
	}
}
