package barcode

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/reader"
)

func TestConfigDefaults(t *testing.T) {
	c := Config{ID: "or-3", Serial: reader.Settings{Device: "/dev/ttyACM0"}}.WithDefaults()
	if c.Suffix != SuffixCR || c.Gap != 50*time.Millisecond || c.MaxLen != 4096 ||
		c.MinBackoff != 250*time.Millisecond || c.MaxBackoff != 10*time.Second ||
		c.Serial.Baud != 9600 || c.Serial.Parity != "none" || c.AnswerBuffer != 64<<10 {
		t.Fatalf("WithDefaults = %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{ID: "or-3", Serial: reader.Settings{Device: "/dev/ttyACM0"}}.WithDefaults()
	tests := []struct {
		edit func(*Config)
		msg  string
	}{
		{func(c *Config) { c.ID = "" }, `id "": want a name for the scanner`},
		{func(c *Config) { c.Suffix = "TAB" }, `suffix "TAB": want CR, LF, CRLF or none`},
		{func(c *Config) { c.Suffix = "cr" }, `suffix "cr": want CR, LF, CRLF or none`},
		{func(c *Config) { c.Gap = -time.Second }, `gap -1s: want from 1ms to 10s`},
		{func(c *Config) { c.MaxLen = -1 }, `max_len -1: want from 1 to 1048576 bytes`},
		{func(c *Config) { c.MaxLen = 1<<20 + 1 }, `max_len 1048577: want from 1 to 1048576 bytes`},
		{func(c *Config) { c.MinBackoff = -1 }, `min_backoff -1ns: want a positive duration`},
		{func(c *Config) { c.MaxBackoff = time.Millisecond }, `max_backoff 1ms: want at least min_backoff (250ms)`},
		{func(c *Config) { c.AnswerBuffer = -1 }, `answer_buffer -1: want from 1 to 1048576 bytes`},
		{func(c *Config) { c.Serial.Parity = "x" }, `serial: parity "x": want none, odd, even, mark or space`},
		{func(c *Config) { c.Serial.DataBits = 9 }, `serial: data_bits 9: want 5, 6, 7 or 8`},
	}
	for _, tt := range tests {
		c := good
		tt.edit(&c)
		err := c.Validate()
		if err == nil || err.Error() != tt.msg {
			t.Errorf("Validate = %v, want %s", err, tt.msg)
			continue
		}
		if !errors.Is(err, ErrInvalidConfig) && !errors.Is(err, reader.ErrInvalidSettings) {
			t.Errorf("%v matches neither ErrInvalidConfig nor reader.ErrInvalidSettings", err)
		}
	}

	all := Config{Gap: -1, MaxLen: -1, MinBackoff: -1, MaxBackoff: -2, Suffix: "x"}.Validate()
	for _, field := range []string{"id", "serial: device", "suffix", "gap", "max_len", "min_backoff", "max_backoff"} {
		if !strings.Contains(all.Error(), field+" ") {
			t.Errorf("joined errors %q do not name %s", all, field)
		}
	}
}

func TestSuffixBytes(t *testing.T) {
	for s, want := range map[Suffix]string{SuffixCR: "\r", SuffixLF: "\n", SuffixCRLF: "\r\n", SuffixNone: "", "x": ""} {
		if got := string(s.Bytes()); got != want {
			t.Errorf("%s.Bytes() = %q, want %q", s, got, want)
		}
	}
}
