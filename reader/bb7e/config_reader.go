package bb7e

import (
	"errors"
	"fmt"
	"time"

	serialport "github.com/udi-edge/udi-edge/reader"
)

// Defaults used by ReaderConfig.WithDefaults for fields left at their
// zero value.
const (
	DefaultBaud             = 115200
	DefaultRegion           = "china900"
	DefaultPower            = 2000 // centi-dBm: 20 dBm
	DefaultFraming          = "BB7E"
	DefaultKeepAliveTimeout = time.Second
	DefaultCommandTimeout   = time.Second
	DefaultMinBackoff       = 250 * time.Millisecond
	DefaultMaxBackoff       = 10 * time.Second
	DefaultNoiseLogInterval = time.Minute
)

// MaxPower is the highest transmit power ReaderConfig.Validate accepts,
// in centi-dBm; the M100 of the captures is a 26 dBm part.
const MaxPower = 3000

// ReaderConfig configures one reader (the decoder's own settings are
// Config). The zero value of every field but ID and Serial.Device means
// "the default" (see WithDefaults).
type ReaderConfig struct {
	// ID names the reader; it is copied into TagEvent.Reader.
	ID string
	// Serial is the line the module is on; default 115200 baud 8N1.
	Serial serialport.Settings
	// Framing is "BB7E" (the manual's, default) or "AADD" (some boards).
	Framing string
	// Region is the working region by name (RegionByName); default
	// china900, 920–925 MHz.
	Region string
	// PowerCdBm is the transmit power in hundredths of a dBm; default
	// 2000 (20 dBm).
	PowerCdBm int
	// PollCount is the number of inventory rounds one multi-poll command
	// asks for; default DefaultMultiPollCount. When they are done the
	// driver pauses for Rest and issues the command again.
	PollCount int
	// Rest is the pause between two multi-poll bursts, RF off, for boards
	// without a heat sink; default none.
	Rest time.Duration
	// KeepAliveTimeout is how long polling may go without a frame before
	// the burst is taken for over (every round sends one: tag reads or
	// error 0x15) and multi-poll is issued again; a second silence right
	// after restarts the connection. Default 1s.
	KeepAliveTimeout time.Duration
	// CommandTimeout is how long a command waits for its response before
	// it is sent once more; a second silence restarts the connection.
	// Default 1s.
	CommandTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between attempts to
	// (re)connect; a missing (unplugged) module is looked for every
	// MinBackoff. Defaults 250ms and 10s.
	MinBackoff, MaxBackoff time.Duration
	// NoiseLogInterval is the least time between two log lines about line
	// noise, dropped reads and module errors; default 1 minute.
	NoiseLogInterval time.Duration
}

// WithDefaults returns c with every zero field set to its default,
// including those of c.Serial.
func (c ReaderConfig) WithDefaults() ReaderConfig {
	if c.Serial.Baud == 0 {
		c.Serial.Baud = DefaultBaud
	}
	c.Serial = c.Serial.WithDefaults()
	if c.Framing == "" {
		c.Framing = DefaultFraming
	}
	if c.Region == "" {
		c.Region = DefaultRegion
	}
	if c.PowerCdBm == 0 {
		c.PowerCdBm = DefaultPower
	}
	if c.PollCount == 0 {
		c.PollCount = DefaultMultiPollCount
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.KeepAliveTimeout, DefaultKeepAliveTimeout)
	def(&c.CommandTimeout, DefaultCommandTimeout)
	def(&c.MinBackoff, DefaultMinBackoff)
	def(&c.MaxBackoff, DefaultMaxBackoff)
	def(&c.NoiseLogInterval, DefaultNoiseLogInterval)
	return c
}

// Validate reports every field that cannot be used, joined with
// errors.Join: a *ConfigError for the reader's own fields, and for the
// serial settings the *reader.SettingError wrapped as "serial: ...". Call
// it on the result of WithDefaults.
func (c ReaderConfig) Validate() error {
	errs := serialport.ValidateCommon(c.ID, "a name for the reader", c.Serial)
	bad := func(field string, value any, want string) {
		errs = append(errs, &ConfigError{Field: field, Value: value, Want: want})
	}
	if _, ok := c.framing(); !ok {
		bad("framing", c.Framing, "BB7E or AADD")
	}
	if _, err := RegionByName(c.Region); err != nil {
		bad("region", c.Region, RegionNames)
	}
	if c.PowerCdBm < 0 || c.PowerCdBm > MaxPower {
		bad("power_cdbm", c.PowerCdBm, fmt.Sprintf("from 0 to %d centi-dBm", MaxPower))
	}
	if c.PollCount < 1 || c.PollCount > 65535 {
		bad("poll_count", c.PollCount, "from 1 to 65535 rounds")
	}
	if c.Rest < 0 {
		bad("rest", c.Rest, "a duration of zero or more")
	}
	positive := func(field string, d time.Duration) {
		if d <= 0 {
			bad(field, d, "a positive duration")
		}
	}
	positive("keep_alive_timeout", c.KeepAliveTimeout)
	positive("command_timeout", c.CommandTimeout)
	positive("noise_log_interval", c.NoiseLogInterval)
	positive("min_backoff", c.MinBackoff)
	if c.MaxBackoff < c.MinBackoff {
		bad("max_backoff", c.MaxBackoff, fmt.Sprintf("at least min_backoff (%v)", c.MinBackoff))
	}
	return errors.Join(errs...)
}

func (c ReaderConfig) framing() (Framing, bool) {
	switch c.Framing {
	case "BB7E", "bb7e":
		return Standard, true
	case "AADD", "aadd":
		return AADD, true
	}
	return Framing{}, false
}

// ErrInvalidConfig matches every *ConfigError with errors.Is. It is
// reader.ErrInvalidConfig, shared by every driver.
var ErrInvalidConfig = serialport.ErrInvalidConfig

// ConfigError is a ReaderConfig field that cannot be used; its message
// names the field: `framing "XY": want BB7E or AADD`. It is
// reader.ConfigError, shared by every driver.
type ConfigError = serialport.ConfigError
