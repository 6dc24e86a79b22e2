package mercury

import (
	"errors"
	"fmt"
	"time"

	serialport "github.com/udi-edge/udi-edge/reader"
)

// ProbeRates are the line speeds tried, in this order after the configured
// one, when Config.ProbeBaud is set: the Mercury API's list with the
// modules' factory setting first.
var ProbeRates = []int{115200, 9600, 921600, 230400, 460800, 19200, 38400, 57600}

// Defaults used by Config.WithDefaults for fields left at their zero value.
const (
	DefaultBaud             = 115200
	DefaultRegion           = "PRC"
	DefaultReadPower        = 2000 // centi-dBm: 20 dBm, below every module's maximum
	DefaultKeepAliveTimeout = 5 * time.Second
	DefaultCommandTimeout   = time.Second
	DefaultProbeTimeout     = 300 * time.Millisecond
	DefaultCoolDown         = 30 * time.Second
	DefaultTemperatureLimit = 75 // °C
	DefaultWriteTimeout     = time.Second
	DefaultInventoryTimeout = 500 * time.Millisecond
	DefaultMinBackoff       = 250 * time.Millisecond
	DefaultMaxBackoff       = 10 * time.Second
	DefaultNoiseLogInterval = time.Minute
)

// RequiredMetadata are the metadata fields the driver always asks for:
// read count, RSSI, antenna, frequency, timestamp and protocol.
const RequiredMetadata = MetaReadCount | MetaRSSI | MetaAntenna | MetaFrequency | MetaTimestamp | MetaProtocol

// Bounds that Config.Validate enforces.
const (
	MinReadPower = -1000 // centi-dBm
	MaxReadPower = 3150  // centi-dBm: the M6e's 31.5 dBm
	MinCycle     = 50 * time.Millisecond
	MaxCycle     = time.Minute
)

// Config configures one Mercury reader. The zero value of every field but
// ID and Serial.Device means "the default" (see WithDefaults).
type Config struct {
	// ID names the reader; it is copied into TagEvent.Reader.
	ID string
	// Serial is the line the module is on. Serial.Baud 0 means "probe",
	// starting at DefaultBaud.
	Serial serialport.Settings
	// ProbeBaud, or Serial.Baud 0, makes the driver look for the module's
	// line speed: it sends VERSION at Serial.Baud, then at each of
	// ProbeRates, until a valid frame answers. The rate found is tried
	// first on the next connection.
	ProbeBaud bool
	// Region is the regulatory region by name (ParseRegion); default PRC,
	// China's 920–925 MHz band.
	Region string
	// ReadPowerCdBm is the transmit power for reading in hundredths of a
	// dBm; default 2000 (20 dBm). The M6e Nano's maximum is 2700.
	ReadPowerCdBm int
	// Antennas are the antenna ports to read from, in search order;
	// default [1].
	Antennas []int
	// Metadata are the fields each tag record carries; default
	// MetaDefault. RequiredMetadata is always added.
	Metadata MetadataFlags
	// Cycle is the search cycle of continuous reading; a keep-alive ends
	// each. Default DefaultCycle milliseconds (1s).
	Cycle time.Duration
	// TemperatureStats asks the module for a temperature record every
	// cycle (statistics streaming); off by default because older firmware
	// rejects the longer start command. With it the driver cools the
	// module down at TemperatureLimit, before it stops with 0x0504.
	TemperatureStats bool
	// TemperatureLimit is the module temperature in °C at which the
	// driver pauses reading for CoolDown; default 75. Used only with
	// TemperatureStats.
	TemperatureLimit int
	// CoolDown is how long reading pauses after the module reported
	// itself too hot (0x0504) or reached TemperatureLimit; default 30s.
	CoolDown time.Duration
	// KeepAliveTimeout is how long the line may stay without a frame
	// while reading before the module is taken for hung: reading is
	// restarted, and if that brings nothing either the connection is;
	// default 5s. It must exceed Cycle.
	KeepAliveTimeout time.Duration
	// CommandTimeout is how long a command waits for its response before
	// it is sent once more; a second silence restarts the connection.
	// Default 1s.
	CommandTimeout time.Duration
	// ProbeTimeout is how long each rate is given while probing; default
	// 300ms.
	ProbeTimeout time.Duration
	// WriteTimeout is how long the module tries to write a tag's EPC
	// (WriteEPC); default 1s.
	WriteTimeout time.Duration
	// InventoryTimeout is the length of the inventories WriteEPC runs to
	// count the tags in the field and to read the written EPC back;
	// default 500ms.
	InventoryTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between attempts to
	// (re)connect: it starts at MinBackoff, doubles on each failure up to
	// MaxBackoff, and is jittered; a missing (unplugged) module is looked
	// for every MinBackoff. Defaults 250ms and 10s.
	MinBackoff, MaxBackoff time.Duration
	// NoiseLogInterval is the least time between two log lines about line
	// noise (bad frame CRCs, skipped bytes) and dropped reads; the counts
	// in between are summed. Default 1 minute.
	NoiseLogInterval time.Duration
}

// WithDefaults returns c with every zero field set to its default,
// including those of c.Serial. A zero Serial.Baud sets ProbeBaud and
// starts probing at DefaultBaud.
func (c Config) WithDefaults() Config {
	if c.Serial.Baud == 0 {
		c.ProbeBaud = true
		c.Serial.Baud = DefaultBaud
	}
	c.Serial = c.Serial.WithDefaults()
	if c.Region == "" {
		c.Region = DefaultRegion
	}
	if c.ReadPowerCdBm == 0 {
		c.ReadPowerCdBm = DefaultReadPower
	}
	if len(c.Antennas) == 0 {
		c.Antennas = []int{1}
	}
	if c.Metadata == 0 {
		c.Metadata = MetaDefault
	}
	c.Metadata |= RequiredMetadata
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.Cycle, DefaultCycle*time.Millisecond)
	def(&c.CoolDown, DefaultCoolDown)
	def(&c.KeepAliveTimeout, DefaultKeepAliveTimeout)
	def(&c.CommandTimeout, DefaultCommandTimeout)
	def(&c.ProbeTimeout, DefaultProbeTimeout)
	def(&c.WriteTimeout, DefaultWriteTimeout)
	def(&c.InventoryTimeout, DefaultInventoryTimeout)
	def(&c.MinBackoff, DefaultMinBackoff)
	def(&c.MaxBackoff, DefaultMaxBackoff)
	def(&c.NoiseLogInterval, DefaultNoiseLogInterval)
	if c.TemperatureLimit == 0 {
		c.TemperatureLimit = DefaultTemperatureLimit
	}
	return c
}

// Validate reports every field that cannot be used, joined with
// errors.Join: a *ConfigError for the reader's own fields, and for the
// serial settings the *reader.SettingError wrapped as "serial: ...". Call
// it on the result of WithDefaults.
func (c Config) Validate() error {
	errs := serialport.ValidateCommon(c.ID, "a name for the reader", c.Serial)
	bad := func(field string, value any, want string) {
		errs = append(errs, &ConfigError{Field: field, Value: value, Want: want})
	}
	if _, err := ParseRegion(c.Region); err != nil {
		bad("region", c.Region, RegionNames)
	}
	if c.ReadPowerCdBm < MinReadPower || c.ReadPowerCdBm > MaxReadPower {
		bad("read_power_cdbm", c.ReadPowerCdBm, fmt.Sprintf("from %d to %d centi-dBm", MinReadPower, MaxReadPower))
	}
	seen := map[int]bool{}
	for _, a := range c.Antennas {
		if a < 1 || a > MaxAntennaPort || seen[a] {
			bad("antennas", c.Antennas, fmt.Sprintf("distinct ports from 1 to %d", MaxAntennaPort))
			break
		}
		seen[a] = true
	}
	if c.Metadata&^metaKnown != 0 {
		bad("metadata", fmt.Sprintf("0x%04X", uint16(c.Metadata)), fmt.Sprintf("flags within 0x%04X", uint16(metaKnown)))
	}
	if c.Cycle < MinCycle || c.Cycle > MaxCycle {
		bad("cycle", c.Cycle, fmt.Sprintf("from %v to %v", MinCycle, MaxCycle))
	}
	if c.KeepAliveTimeout <= c.Cycle {
		bad("keep_alive_timeout", c.KeepAliveTimeout, fmt.Sprintf("longer than cycle (%v)", c.Cycle))
	}
	positive := func(field string, d time.Duration) {
		if d <= 0 {
			bad(field, d, "a positive duration")
		}
	}
	positive("cool_down", c.CoolDown)
	positive("command_timeout", c.CommandTimeout)
	positive("probe_timeout", c.ProbeTimeout)
	positive("noise_log_interval", c.NoiseLogInterval)
	if c.WriteTimeout <= 0 || c.WriteTimeout > 65535*time.Millisecond {
		bad("write_timeout", c.WriteTimeout, "from 1ms to 65.535s")
	}
	if c.InventoryTimeout <= 0 || c.InventoryTimeout > 65535*time.Millisecond {
		bad("inventory_timeout", c.InventoryTimeout, "from 1ms to 65.535s")
	}
	if c.TemperatureLimit < 20 || c.TemperatureLimit > 125 {
		bad("temperature_limit", c.TemperatureLimit, "from 20 to 125 °C")
	}
	positive("min_backoff", c.MinBackoff)
	if c.MaxBackoff < c.MinBackoff {
		bad("max_backoff", c.MaxBackoff, fmt.Sprintf("at least min_backoff (%v)", c.MinBackoff))
	}
	return errors.Join(errs...)
}

// startCommand returns the start-continuous-reading request for c.
func (c Config) startCommand() []byte {
	cc := ContinuousConfig{Metadata: c.Metadata, Cycle: uint16(c.Cycle / time.Millisecond)}
	if c.TemperatureStats {
		cc.Stats = StatsTemperature
	}
	return CmdStartContinuous(cc)
}

// antennaCommand returns the SET_ANTENNA_PORT request for c.Antennas.
func (c Config) antennaCommand() []byte {
	if len(c.Antennas) == 1 {
		p := uint8(c.Antennas[0])
		return CmdSetAntenna(p, p)
	}
	ports := make([]uint8, len(c.Antennas))
	for i, a := range c.Antennas {
		ports[i] = uint8(a)
	}
	b, _ := CmdSetAntennaList(ports) // Validate checked the ports
	return b
}
