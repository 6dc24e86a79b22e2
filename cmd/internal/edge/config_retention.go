package edge

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/bolt/carry"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/agent/master"
)

// The keys that bound the ledger on disk (firmware-notes/retention.md):
//
//	ledger.retention     "400d" (default), "9600h", or "off": how old an
//	                     acknowledged movement must be to leave the ledger
//	ledger.max_bytes     the ledger file's disk budget: a number of bytes or
//	                     "768MiB", "4GiB", "800MB"; "off" for none. Default
//	                     4 GiB, 768 MiB on a 32-bit gateway (at most 1 GiB
//	                     there: bbolt maps the whole file).
//	ledger.compact_free  the share of the file bbolt holds free at which the
//	                     agent compacts it (default 0.25; 0 never)

// DefaultMaxBytes is the disk budget of a 64-bit gateway's ledger.
const DefaultMaxBytes = 4 << 30

// Age is ledger.retention: a duration written in days ("400d"), as a Go
// duration ("9600h"), or "off" (0).
type Age time.Duration

// UnmarshalJSON reads an age.
func (a *Age) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf(`ledger.retention: want an age such as "400d" or "off"`)
	}
	v, err := parseAge(s)
	if err != nil {
		return err
	}
	*a = Age(v)
	return nil
}

// MarshalJSON writes the age in days when it is whole days.
func (a Age) MarshalJSON() ([]byte, error) {
	d := time.Duration(a)
	switch {
	case d == 0:
		return json.Marshal("off")
	case d%(24*time.Hour) == 0:
		return json.Marshal(fmt.Sprintf("%dd", d/(24*time.Hour)))
	}
	return json.Marshal(d.String())
}

func parseAge(s string) (time.Duration, error) {
	switch s = strings.TrimSpace(s); {
	case s == "off" || s == "0":
		return 0, nil
	case strings.HasSuffix(s, "d"):
		n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err == nil && n >= 0 && n <= 36500 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	default:
		if v, err := time.ParseDuration(s); err == nil && v >= 0 {
			return v, nil
		}
	}
	return 0, fmt.Errorf(`ledger.retention: %q is not an age such as "400d", "9600h" or "off"`, s)
}

// ByteSize is ledger.max_bytes: a number of bytes, written as a number or
// as "768MiB", "4GiB", "800MB", "off" (0).
type ByteSize int64

// UnmarshalJSON reads a size.
func (z *ByteSize) UnmarshalJSON(b []byte) error {
	var n int64
	if err := json.Unmarshal(b, &n); err == nil {
		*z = ByteSize(n)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf(`ledger.max_bytes: want a size such as "4GiB", "768MiB" or a number of bytes`)
	}
	v, err := parseSize(s)
	if err != nil {
		return err
	}
	*z = ByteSize(v)
	return nil
}

// MarshalJSON writes the size in MiB when it is whole MiB.
func (z ByteSize) MarshalJSON() ([]byte, error) {
	if z != 0 && z%(1<<20) == 0 {
		return json.Marshal(fmt.Sprintf("%dMiB", z>>20))
	}
	return json.Marshal(int64(z))
}

func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "off" || s == "0" {
		return 0, nil
	}
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}} {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
			if err == nil && n >= 0 && n*float64(u.mult) < 1<<62 {
				return int64(n * float64(u.mult)), nil
			}
			break
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return n, nil
	}
	return 0, fmt.Errorf(`ledger.max_bytes: %q is not a size such as "4GiB", "768MiB" or a number of bytes`, s)
}

// horizon is ledger.retention with its default.
func (c LedgerConfig) horizon() time.Duration {
	if c.Retention == nil {
		return bolt.DefaultRetention
	}
	return time.Duration(*c.Retention)
}

// maxBytes is ledger.max_bytes with its default for this machine.
func (c LedgerConfig) maxBytes() int64 {
	switch {
	case c.MaxBytes != nil:
		return int64(*c.MaxBytes)
	case bolt.Is32Bit():
		return bolt.DefaultMaxBytes32
	}
	return DefaultMaxBytes
}

// compactFree is ledger.compact_free with its default; below 0 never.
func (c LedgerConfig) compactFree() float64 {
	switch {
	case c.CompactFree == nil:
		return bolt.DefaultCompactFree
	case *c.CompactFree == 0:
		return -1
	}
	return *c.CompactFree
}

// validateRetention checks the keys that bound the ledger on disk.
func (c LedgerConfig) validateRetention() error {
	if h := c.horizon(); h != 0 && h < 24*time.Hour {
		return cfgErr("ledger.retention", "%s: want a day or more (\"400d\"), or \"off\"", h)
	}
	mb := c.maxBytes()
	if mb != 0 && mb < 64<<20 {
		return cfgErr("ledger.max_bytes", "%d bytes: want 64MiB or more, or \"off\"", mb)
	}
	if bolt.Is32Bit() && (mb == 0 || mb > bolt.MaxBytes32) {
		return cfgErr("ledger.max_bytes", "%d bytes: on a 32-bit gateway bbolt maps the whole ledger, which must stay under %dMiB: want a budget of at most that (default %dMiB)",
			mb, bolt.MaxBytes32>>20, bolt.DefaultMaxBytes32>>20)
	}
	if f := c.CompactFree; f != nil && (*f < 0 || *f >= 1) {
		return cfgErr("ledger.compact_free", "%g: want a share of the file from 0 (never) to below 1, such as 0.25", *f)
	}
	return nil
}

// retention is the ledger's maintenance as configured: a cut carries
// what the gateway's stock and checks still need (agent/bolt/carry).
func (c LedgerConfig) retention() *bolt.Retention {
	return &bolt.Retention{Horizon: c.horizon(), MaxBytes: c.maxBytes(), CompactFree: c.compactFree(), Folds: gatewayFolds}
}

// gatewayFolds are the gateway's folds as a cut asks them.
var gatewayFolds = bolt.Folds{Needed: carry.Needed, Proof: func(d *master.Data) bolt.Proof { return carry.NewProof(d) }}

// LedgerRetention returns the ledger's maintenance as configured, for
// `udi-edge compact`.
func (c *Config) LedgerRetention() bolt.Retention { return *c.Ledger.retention() }

// RetainedOf is the core's view of what ledger l keeps of items retained
// away (core.Deps.Retained).
func RetainedOf(l *bolt.Ledger) core.RetainedFunc {
	return func(key string) (core.RetainedItem, bool, error) {
		t, ok, err := l.Retained(key)
		if err != nil || !ok {
			return core.RetainedItem{}, ok, err
		}
		return core.RetainedItem{Key: t.Key, Movements: t.Movements, First: t.First, Last: t.Last, FirstTime: t.FirstTime,
			LastTime: t.LastTime, LastKind: t.LastKind, RetainedAt: t.At}, true, nil
	}
}
