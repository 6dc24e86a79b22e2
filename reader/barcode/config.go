package barcode

import (
	"errors"
	"fmt"
	"time"

	"github.com/udi-edge/udi-edge/reader"
)

// Suffix is what the scanner sends after each barcode: "CR", "LF", "CRLF"
// or "none". It must match the scanner's own setting.
type Suffix string

// The suffixes a scanner can be set to send.
const (
	SuffixCR   Suffix = "CR"
	SuffixLF   Suffix = "LF"
	SuffixCRLF Suffix = "CRLF"
	SuffixNone Suffix = "none"
)

// Bytes returns the suffix as sent on the line (nil for SuffixNone and for
// an unknown suffix).
func (s Suffix) Bytes() []byte {
	switch s {
	case SuffixCR:
		return []byte{'\r'}
	case SuffixLF:
		return []byte{'\n'}
	case SuffixCRLF:
		return []byte{'\r', '\n'}
	}
	return nil
}

func (s Suffix) valid() bool {
	switch s {
	case SuffixCR, SuffixLF, SuffixCRLF, SuffixNone:
		return true
	}
	return false
}

// Defaults used by Config.WithDefaults for fields left at their zero value.
const (
	DefaultSuffix     = SuffixCR
	DefaultGap        = 50 * time.Millisecond
	DefaultMaxLen     = 4096
	DefaultMinBackoff = 250 * time.Millisecond
	DefaultMaxBackoff = 10 * time.Second
	// DefaultAnswerBuffer holds some thousands of feedback commands, a
	// few bytes each: more than a burst of scans answered at once.
	DefaultAnswerBuffer = 64 << 10
)

// Bounds that Config.Validate enforces.
const (
	MinGap    = time.Millisecond
	MaxGap    = 10 * time.Second
	MaxMaxLen = 1 << 20
	// MaxAnswerBuffer bounds Config.AnswerBuffer: at 9600 baud 1 MiB
	// takes nearly twenty minutes on the line.
	MaxAnswerBuffer = 1 << 20
)

// Config configures one scanner. The zero value of every field but ID and
// Serial.Device means "the default" (see WithDefaults).
type Config struct {
	// ID names the scanner; it is copied into agent.Read.Source.
	ID string
	// Serial is the line the scanner is on.
	Serial reader.Settings
	// Suffix is what ends a frame; default CR.
	Suffix Suffix
	// Gap is how long the line must stay idle to end a frame when Suffix
	// is none; default 50ms. At 9600 baud a byte takes about 1ms, so the
	// gap must stay well above the scanner's own pauses within a frame.
	Gap time.Duration
	// MaxLen is the longest frame in bytes, AIM identifier included,
	// suffix excluded; default 4096. It bounds the driver's memory.
	MaxLen int
	// MinBackoff and MaxBackoff bound the wait between attempts to open
	// the device: it starts at MinBackoff, doubles on each failure up to
	// MaxBackoff, and is jittered; it starts again at MinBackoff each time
	// the device is connected, so the first wait after a loss is
	// MinBackoff, and while the device is missing (unplugged) it is
	// looked for every MinBackoff. Defaults 250ms and 10s.
	MinBackoff, MaxBackoff time.Duration
	// AnswerBuffer is the most bytes of answers (Scanner.Answer) that
	// may wait to be written to the scanner; answers beyond it are
	// counted missed. Default 64 KiB.
	AnswerBuffer int
}

// WithDefaults returns c with every zero field set to its default,
// including those of c.Serial.
func (c Config) WithDefaults() Config {
	c.Serial = c.Serial.WithDefaults()
	if c.Suffix == "" {
		c.Suffix = DefaultSuffix
	}
	if c.Gap == 0 {
		c.Gap = DefaultGap
	}
	if c.MaxLen == 0 {
		c.MaxLen = DefaultMaxLen
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.AnswerBuffer == 0 {
		c.AnswerBuffer = DefaultAnswerBuffer
	}
	return c
}

// Validate reports every field that cannot be used, joined with
// errors.Join: a *ConfigError for the scanner's own fields, and for the
// serial settings the *reader.SettingError wrapped as "serial: ...". Call
// it on the result of WithDefaults.
func (c Config) Validate() error {
	errs := reader.ValidateCommon(c.ID, "a name for the scanner", c.Serial)
	bad := func(field string, value any, want string) {
		errs = append(errs, &ConfigError{Field: field, Value: value, Want: want})
	}
	if !c.Suffix.valid() {
		bad("suffix", string(c.Suffix), "CR, LF, CRLF or none")
	}
	if c.Gap < MinGap || c.Gap > MaxGap {
		bad("gap", c.Gap, fmt.Sprintf("from %v to %v", MinGap, MaxGap))
	}
	if c.MaxLen < 1 || c.MaxLen > MaxMaxLen {
		bad("max_len", c.MaxLen, fmt.Sprintf("from 1 to %d bytes", MaxMaxLen))
	}
	if c.MinBackoff <= 0 {
		bad("min_backoff", c.MinBackoff, "a positive duration")
	}
	if c.MaxBackoff < c.MinBackoff {
		bad("max_backoff", c.MaxBackoff, fmt.Sprintf("at least min_backoff (%v)", c.MinBackoff))
	}
	if c.AnswerBuffer < 1 || c.AnswerBuffer > MaxAnswerBuffer {
		bad("answer_buffer", c.AnswerBuffer, fmt.Sprintf("from 1 to %d bytes", MaxAnswerBuffer))
	}
	return errors.Join(errs...)
}
