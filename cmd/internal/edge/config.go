package edge

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/station"
	"github.com/udi-edge/udi-edge/cmd/internal/cli"
	"github.com/udi-edge/udi-edge/reader"
	"github.com/udi-edge/udi-edge/reader/barcode"
)

// Default configuration values.
const (
	DefaultStore     = "/var/lib/udi-edge/ledger.db"
	DefaultLogLevel  = "info"
	DefaultLogFormat = "text"
)

// Config is the agent's configuration: defaults, then the file, then flags.
// The file is JSON; an unknown key is an error that names it.
type Config struct {
	// Site is the hospital or campus id, used in sync topics.
	Site string `json:"site"`
	// Gateway is this gateway's id, stamped on every movement.
	Gateway string `json:"gateway"`
	// Store is the path of the bbolt ledger file.
	Store string `json:"store"`
	// Socket is the control socket path; default: Store + ".sock".
	Socket string `json:"socket"`
	// Control sets who may use the local API besides the agent's user.
	Control ControlConfig `json:"control"`
	// Ledger tunes the writer's group commit.
	Ledger LedgerConfig `json:"ledger"`
	// Log sets the log level and format.
	Log LogConfig `json:"log"`
	// Scanners lists the barcode scanners and their station bindings.
	Scanners []ScannerConfig `json:"scanners"`
	// Readers lists the UHF RFID readers and maps their antennas to zones.
	Readers []ReaderConfig `json:"readers"`
	// Zones lists the RFID zones: their location and role.
	Zones []ZoneConfig `json:"zones"`
	// Presence tunes how tag reads become movements.
	Presence PresenceConfig `json:"presence"`
	// Patterns claim the plain codes that set a station's context.
	Patterns PatternsConfig `json:"patterns"`
	// Checks set which point-of-use checks block, warn or only record.
	Checks ChecksConfig `json:"checks"`
	// Stock sets expiry alerts, replenishment and forecasts.
	Stock StockConfig `json:"stock"`
	// Sync connects the gateway to the central service; without brokers
	// it works offline.
	Sync SyncConfig `json:"sync"`
	// Page serves the station page (agent/web); off unless page.listen
	// is set.
	Page PageConfig `json:"page"`
	// Metrics serves the metrics, /healthz and /readyz, and sets the
	// alerts' bounds.
	Metrics MetricsConfig `json:"metrics"`
}

// ControlConfig opens the local API (agent/api) to more than the agent's
// user.
type ControlConfig struct {
	// Group, if set, owns the control socket (mode 0660): its members can
	// read (trace, status, audits) without being the agent's user.
	Group string `json:"group"`
	// Listen, if set, is a loopback TCP address ("127.0.0.1:8701") the API
	// is also served on, read-only.
	Listen string `json:"listen"`
}

// PatternsConfig claims the plain codes that are not items: regular
// expressions (RE2) for wristbands, case barcodes and staff badges, whose
// first capture group, if any, is the identifier; and command barcodes by
// their exact content.
type PatternsConfig struct {
	Wristband string `json:"wristband"`
	Case      string `json:"case"`
	Badge     string `json:"badge"`
	// Justification matches necessity-justification barcodes (a reason
	// code for using an imported item).
	Justification string `json:"justification"`
	// Commands maps a command barcode to return, waste, cancel-last or
	// close-case.
	Commands map[string]string `json:"commands"`
	// CaseIdle closes a case after this long without a scan at its station.
	CaseIdle Duration `json:"case_idle"`
	// BadgeTimeout forgets the station's staff member after this long
	// without a scan.
	BadgeTimeout Duration `json:"badge_timeout"`
	// HoldFor is how long a use scanned with no case open waits at its
	// station for a case to be linked to (default 1h; "0s" holds none).
	HoldFor *Duration `json:"hold_for"`
}

// DefaultHoldFor is how long a use with no case waits for one when
// patterns.hold_for is not set.
const DefaultHoldFor = time.Hour

// compile turns the configuration into the ingest's patterns; nil when no
// pattern or command is configured. Errors name the key.
func (p PatternsConfig) compile() (*station.Patterns, error) {
	if p.Wristband == "" && p.Case == "" && p.Badge == "" && p.Justification == "" && len(p.Commands) == 0 {
		return nil, nil
	}
	out := &station.Patterns{CaseIdle: time.Duration(p.CaseIdle), BadgeTimeout: time.Duration(p.BadgeTimeout),
		HoldFor: DefaultHoldFor, Commands: map[string]agent.Command{}}
	if p.HoldFor != nil {
		out.HoldFor = time.Duration(*p.HoldFor)
	}
	for _, x := range []struct {
		key, expr string
		dst       **regexp.Regexp
	}{{"wristband", p.Wristband, &out.Wristband}, {"case", p.Case, &out.Case}, {"badge", p.Badge, &out.Badge},
		{"justification", p.Justification, &out.Justification}} {
		if x.expr == "" {
			continue
		}
		re, err := regexp.Compile(x.expr)
		if err != nil {
			return nil, cfgErr("patterns."+x.key, "%v", err)
		}
		*x.dst = re
	}
	codes := make([]string, 0, len(p.Commands))
	for c := range p.Commands {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		switch cmd := agent.Command(p.Commands[c]); cmd {
		case agent.CmdReturn, agent.CmdWaste, agent.CmdCancelLast, agent.CmdCloseCase, agent.CmdLoan, agent.CmdCountStart, agent.CmdCountEnd:
			out.Commands[c] = cmd
		default:
			return nil, cfgErr("patterns.commands."+c, "%q: want return, waste, cancel-last, close-case, loan, count-start or count-end", p.Commands[c])
		}
	}
	return out, nil
}

// LedgerConfig tunes the ledger's writer.
type LedgerConfig struct {
	// MaxBatch flushes a transaction at this many movements.
	MaxBatch int `json:"max_batch"`
	// MaxDelay makes the writer wait this long after a transaction's first
	// movement for company; 0, the default, commits as soon as it is free.
	MaxDelay Duration `json:"max_delay"`
	// Retention, MaxBytes and CompactFree bound the ledger on disk; nil
	// takes the default (config_retention.go).
	Retention   *Age      `json:"retention"`
	MaxBytes    *ByteSize `json:"max_bytes"`
	CompactFree *float64  `json:"compact_free"`
}

// LogConfig sets logging.
type LogConfig struct {
	// Level is debug, info, warn or error.
	Level string `json:"level"`
	// Format is text or json.
	Format string `json:"format"`
}

// ScannerConfig is one serial barcode scanner and the station it serves.
type ScannerConfig struct {
	ID       string   `json:"id"`
	Device   string   `json:"device"`
	Baud     int      `json:"baud"`
	DataBits int      `json:"data_bits"`
	Parity   string   `json:"parity"`
	StopBits string   `json:"stop_bits"`
	Suffix   string   `json:"suffix"`
	Gap      Duration `json:"gap"`
	MaxLen   int      `json:"max_len"`
	// Location and Kind bind the scanner to a station.
	Location string `json:"location"`
	Kind     string `json:"kind"`
	// RequireSerial rejects item codes without a serial number.
	RequireSerial bool `json:"require_serial"`
	// ConsignedBy makes a receiving station a consignment desk: what it
	// receives is the named supplier's until used.
	ConsignedBy string `json:"consigned_by"`
	// EncoderZone makes the scanner an encoding station's: each item scanned
	// is bound to the tag read in this zone (role encoder); kind must be
	// commission.
	EncoderZone string `json:"encoder_zone"`
	// WriteEPC writes the item's SGTIN-96 to the tag before binding it
	// (the zone's reader must be a mercury reading only that zone).
	WriteEPC bool `json:"write_epc"`
	// CompanyPrefixLength is the length of the GS1 company prefix inside
	// the GTINs this station encodes (6 to 12; default 7).
	CompanyPrefixLength int `json:"company_prefix_length"`
	// Feedback holds the bytes sent to the scanner after each answer.
	Feedback FeedbackConfig `json:"feedback"`
}

// FeedbackConfig holds vendor-specific command bytes (hex) that make a
// scanner beep or light its LED; empty sends nothing.
type FeedbackConfig struct {
	Accept HexBytes `json:"accept"`
	// Warn is sent for a scan recorded with warnings; empty: Accept.
	Warn HexBytes `json:"warn"`
	// Reject is sent for a rejected read and for a blocked use.
	Reject HexBytes `json:"reject"`
	Failed HexBytes `json:"failed"`
}

// For returns the bytes that answer verdict v: Accept; Warn (or Accept
// when Warn is empty); Reject for a rejected read and a blocked use;
// Failed when the ledger could not record the read.
func (f FeedbackConfig) For(v agent.Verdict) []byte {
	switch v {
	case agent.VerdictAccepted:
		return f.Accept
	case agent.VerdictWarned:
		if len(f.Warn) == 0 {
			return f.Accept
		}
		return f.Warn
	case agent.VerdictRejected, agent.VerdictBlocked:
		return f.Reject
	}
	return f.Failed
}

// Duration is a time.Duration written as "50ms", "2s" in the file.
type Duration time.Duration

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string such as \"50ms\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("%q is not a duration such as \"50ms\"", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// HexBytes are bytes written as a hex string ("07", "1b 42") in the file.
type HexBytes []byte

// UnmarshalJSON reads a hex string; spaces are allowed between bytes.
func (h *HexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a hex string such as \"07\"")
	}
	v, err := parseHex(s)
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// MarshalJSON writes the hex string.
func (h HexBytes) MarshalJSON() ([]byte, error) { return json.Marshal(hex.EncodeToString(h)) }

func parseHex(s string) ([]byte, error) {
	v, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		return nil, fmt.Errorf("%q is not hex bytes such as \"07\" or \"1b 42\"", s)
	}
	return v, nil
}

// DefaultConfig returns the configuration before file and flags.
func DefaultConfig() Config {
	return Config{
		Store:  DefaultStore,
		Ledger: LedgerConfig{MaxBatch: bolt.DefaultMaxBatch, MaxDelay: Duration(bolt.DefaultMaxDelay)},
		Log:    LogConfig{Level: DefaultLogLevel, Format: DefaultLogFormat},
	}
}

// ConfigError is a configuration problem, naming the key or flag at fault.
type ConfigError = cli.ConfigError

func cfgErr(where string, format string, args ...any) error {
	return cli.ConfigErrorf(where, format, args...)
}

// LoadConfigFile reads path over c. Unknown keys and ill-typed values are
// errors naming the key.
func LoadConfigFile(path string, c *Config) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return &ConfigError{Where: path, Err: err}
	}
	return parseConfig(path, b, c)
}

func parseConfig(name string, b []byte, c *Config) error {
	if err := cli.ParseJSONConfig(name, b, reflect.TypeOf(*c)); err != nil {
		return err
	}
	if err := unmarshalNamed(b, c); err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) {
			return err
		}
		return &ConfigError{Where: name, Err: err}
	}
	return nil
}

// unmarshalNamed decodes b into c; a type error names the key path.
func unmarshalNamed(b []byte, c *Config) error {
	err := json.Unmarshal(b, c)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		where := te.Field
		if rest, ok := strings.CutPrefix(where, "scanners."); ok {
			// Name the scanner: decode them one by one to find it.
			var top struct{ Scanners []json.RawMessage }
			if json.Unmarshal(b, &top) == nil {
				for i, raw := range top.Scanners {
					var sc ScannerConfig
					if json.Unmarshal(raw, &sc) != nil {
						where = fmt.Sprintf("scanners[%d].%s", i, rest)
						break
					}
				}
			}
		}
		return &ConfigError{Where: where, Err: fmt.Errorf("want %s, got %s", te.Type, te.Value)}
	}
	return err
}

// Validate checks the whole configuration and names the first bad key.
func (c *Config) Validate() error {
	if c.Gateway == "" {
		return cfgErr("gateway", "required: the id of this gateway (or --gateway)")
	}
	if err := agent.CheckID("gateway", c.Gateway); err != nil {
		return &ConfigError{Where: "gateway", Err: err}
	}
	if c.Site != "" {
		if err := agent.CheckID("site", c.Site); err != nil {
			return &ConfigError{Where: "site", Err: err}
		}
	}
	if c.Store == "" {
		return cfgErr("store", "required: the path of the ledger file")
	}
	if c.Ledger.MaxBatch < 1 {
		return cfgErr("ledger.max_batch", "%d: want at least 1", c.Ledger.MaxBatch)
	}
	if d := time.Duration(c.Ledger.MaxDelay); d < 0 {
		return cfgErr("ledger.max_delay", "%s: not negative (0s, the default, commits as soon as the writer is free)", d)
	}
	if time.Duration(c.Ledger.MaxDelay) > time.Second {
		return cfgErr("ledger.max_delay", "%s: at most 1s, a scan waits this long for its answer", time.Duration(c.Ledger.MaxDelay))
	}
	if err := c.Ledger.validateRetention(); err != nil {
		return err
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return cfgErr("log.level", "%q: want debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return cfgErr("log.format", "%q: want text or json", c.Log.Format)
	}
	seen := map[string]bool{}
	devices := map[string]string{}
	for i, s := range c.Scanners {
		p := fmt.Sprintf("scanners[%d]", i)
		if s.ID == "" {
			return cfgErr(p+".id", "required")
		}
		if err := agent.CheckID("scanner", s.ID); err != nil {
			return &ConfigError{Where: p + ".id", Err: err}
		}
		if seen[s.ID] {
			return cfgErr(p+".id", "%q is used by two scanners", s.ID)
		}
		seen[s.ID] = true
		if s.Location == "" {
			return cfgErr(p+".location", "required: where scanner %q stands", s.ID)
		}
		k := agent.Kind(s.Kind)
		if !k.Valid() || !k.MovesItem() {
			return cfgErr(p+".kind", "%q: want one of %s", s.Kind, kindList())
		}
		if s.ConsignedBy != "" && (k != agent.KindReceive || len(s.ConsignedBy) > 200 || strings.ContainsAny(s.ConsignedBy, "\r\n\t")) {
			return cfgErr(p+".consigned_by", "%.40q: a consignment desk receives (kind receive) and names its supplier in one line of at most 200 bytes", s.ConsignedBy)
		}
		if other, dup := devices[s.Device]; dup && s.Device != "" {
			return cfgErr(p+".device", "%q is already used by scanner %q", s.Device, other)
		}
		devices[s.Device] = s.ID
		bc := s.barcodeConfig()
		if err := bc.Validate(); err != nil {
			return &ConfigError{Where: p, Err: err}
		}
	}
	if _, err := c.Patterns.compile(); err != nil {
		return err
	}
	if _, err := c.Checks.rules(); err != nil {
		return err
	}
	if c.Checks.ExpiringDays < 0 {
		return cfgErr("checks.expiring_days", "%d: want 0 or more", c.Checks.ExpiringDays)
	}
	if err := c.Stock.validate(); err != nil {
		return err
	}
	if err := c.Sync.validate(c.Site); err != nil {
		return err
	}
	if c.Control.Listen != "" {
		if err := api.CheckLoopback(c.Control.Listen); err != nil {
			return &ConfigError{Where: "control.listen", Err: err}
		}
	}
	if err := c.Page.validate(c); err != nil {
		return err
	}
	if err := c.Metrics.validate(); err != nil {
		return err
	}
	return c.validateRFID()
}

func kindList() string {
	var ks []string
	for _, k := range agent.Kinds {
		if k.MovesItem() {
			ks = append(ks, string(k))
		}
	}
	return strings.Join(ks, ", ")
}

// SocketPath is the control socket's path.
func (c *Config) SocketPath() string {
	if c.Socket != "" {
		return c.Socket
	}
	return c.Store + ".sock"
}

func (s ScannerConfig) barcodeConfig() barcode.Config {
	return barcode.Config{
		ID: s.ID,
		Serial: reader.Settings{
			Device:   s.Device,
			Baud:     s.Baud,
			DataBits: s.DataBits,
			Parity:   s.Parity,
			StopBits: s.StopBits,
		},
		Suffix: barcode.Suffix(s.Suffix),
		Gap:    time.Duration(s.Gap),
		MaxLen: s.MaxLen,
	}.WithDefaults()
}

// stations returns the station each scanner serves.
func (c *Config) stations() map[string]agent.Station {
	m := make(map[string]agent.Station, len(c.Scanners))
	for _, s := range c.Scanners {
		m[s.ID] = agent.Station{ID: s.ID, Location: s.Location, Kind: agent.Kind(s.Kind), RequireSerial: s.RequireSerial, Consignor: s.ConsignedBy}
	}
	return m
}

// applyScannerFlag merges one --scanner flag value, "id=or3,device=/dev/ttyACM0,baud=9600,...",
// into c: it updates the scanner with that id or adds a new one.
func (c *Config) applyScannerFlag(v string) error {
	where := "--scanner " + strconv.Quote(v)
	kv := map[string]string{}
	for _, part := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || k == "" {
			return cfgErr(where, "%q is not key=value", part)
		}
		kv[k] = val
	}
	id := kv["id"]
	if id == "" {
		return cfgErr(where, "needs id=... naming the scanner")
	}
	idx := -1
	for i := range c.Scanners {
		if c.Scanners[i].ID == id {
			idx = i
		}
	}
	if idx < 0 {
		c.Scanners = append(c.Scanners, ScannerConfig{ID: id})
		idx = len(c.Scanners) - 1
	}
	s := &c.Scanners[idx]
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		val := kv[k]
		var err error
		switch k {
		case "id":
		case "device":
			s.Device = val
		case "baud":
			s.Baud, err = strconv.Atoi(val)
		case "data_bits":
			s.DataBits, err = strconv.Atoi(val)
		case "parity":
			s.Parity = val
		case "stop_bits":
			s.StopBits = val
		case "suffix":
			s.Suffix = val
		case "gap":
			var d time.Duration
			d, err = time.ParseDuration(val)
			s.Gap = Duration(d)
		case "max_len":
			s.MaxLen, err = strconv.Atoi(val)
		case "location":
			s.Location = val
		case "kind":
			s.Kind = val
		case "require_serial":
			s.RequireSerial, err = strconv.ParseBool(val)
		case "consigned_by":
			s.ConsignedBy = val
		case "encoder_zone":
			s.EncoderZone = val
		case "write_epc":
			s.WriteEPC, err = strconv.ParseBool(val)
		case "company_prefix_length":
			s.CompanyPrefixLength, err = strconv.Atoi(val)
		case "feedback_accept":
			s.Feedback.Accept, err = parseHex(val)
		case "feedback_warn":
			s.Feedback.Warn, err = parseHex(val)
		case "feedback_reject":
			s.Feedback.Reject, err = parseHex(val)
		case "feedback_failed":
			s.Feedback.Failed, err = parseHex(val)
		default:
			return cfgErr(where, "unknown setting %q (known: id, device, baud, data_bits, parity, stop_bits, suffix, gap, max_len, location, kind, require_serial, encoder_zone, write_epc, company_prefix_length, feedback_accept, feedback_warn, feedback_reject, feedback_failed)", k)
		}
		if err != nil {
			return cfgErr(where, "%s=%q: %v", k, val, err)
		}
	}
	return nil
}

// Overrides are what the command line sets over the configuration file.
type Overrides struct {
	// File is the configuration file; "" for none.
	File                         string
	Store, Site, Gateway, Socket string
	// Brokers replace sync.brokers when given.
	Brokers []string
	// Scanners are --scanner values, merged into the file's scanners.
	Scanners []string
}

// Load builds the configuration: defaults, then the file, then the
// overrides. It does not validate.
func Load(o Overrides) (Config, error) {
	c := DefaultConfig()
	if o.File != "" {
		if err := LoadConfigFile(o.File, &c); err != nil {
			return c, err
		}
	}
	for _, x := range []struct {
		v   string
		dst *string
	}{{o.Store, &c.Store}, {o.Site, &c.Site}, {o.Gateway, &c.Gateway}, {o.Socket, &c.Socket}} {
		if x.v != "" {
			*x.dst = x.v
		}
	}
	if len(o.Brokers) > 0 {
		c.Sync.Brokers = o.Brokers
	}
	for _, s := range o.Scanners {
		if err := c.applyScannerFlag(s); err != nil {
			return c, err
		}
	}
	c.absStore()
	return c, nil
}

// absStore makes the store path absolute so the socket path is stable.
func (c *Config) absStore() {
	if c.Store != "" {
		if a, err := filepath.Abs(c.Store); err == nil {
			c.Store = a
		}
	}
}
