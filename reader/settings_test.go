package reader_test

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/udi-edge/udi-edge/reader"
)

func TestWithDefaults(t *testing.T) {
	got := reader.Settings{Device: "/dev/ttyACM0"}.WithDefaults()
	want := reader.Settings{Device: "/dev/ttyACM0", Baud: 9600, DataBits: 8, Parity: "none", StopBits: "1"}
	if got != want {
		t.Fatalf("WithDefaults = %+v, want %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	set := reader.Settings{Device: "d", Baud: 115200, DataBits: 7, Parity: "even", StopBits: "2"}
	if got := set.WithDefaults(); got != set {
		t.Fatalf("WithDefaults changed set fields: %+v", got)
	}
}

func TestValidate(t *testing.T) {
	ok := reader.Settings{Device: "/dev/ttyUSB0"}.WithDefaults()
	tests := []struct {
		name  string
		edit  func(*reader.Settings)
		field string
		msg   string // exact message, if not empty
	}{
		{"no device", func(s *reader.Settings) { s.Device = "" }, "device", ""},
		{"baud zero", func(s *reader.Settings) { s.Baud = 0 }, "baud", "baud 0: want a rate from 50 to 4000000"},
		{"baud negative", func(s *reader.Settings) { s.Baud = -9600 }, "baud", ""},
		{"baud huge", func(s *reader.Settings) { s.Baud = 10_000_000 }, "baud", ""},
		{"data bits 4", func(s *reader.Settings) { s.DataBits = 4 }, "data_bits", "data_bits 4: want 5, 6, 7 or 8"},
		{"data bits 9", func(s *reader.Settings) { s.DataBits = 9 }, "data_bits", ""},
		{"parity x", func(s *reader.Settings) { s.Parity = "x" }, "parity", `parity "x": want none, odd, even, mark or space`},
		{"parity capitalised", func(s *reader.Settings) { s.Parity = "Even" }, "parity", ""},
		{"stop bits 3", func(s *reader.Settings) { s.StopBits = "3" }, "stop_bits", `stop_bits "3": want 1, 1.5 or 2`},
	}
	if runtime.GOOS != "windows" {
		tests = append(tests, struct {
			name  string
			edit  func(*reader.Settings)
			field string
			msg   string
		}{"stop bits 1.5", func(s *reader.Settings) { s.StopBits = "1.5" }, "stop_bits", ""})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			tt.edit(&s)
			err := s.Validate()
			if err == nil {
				t.Fatalf("Validate(%+v) = nil, want an error naming %s", s, tt.field)
			}
			if !errors.Is(err, reader.ErrInvalidSettings) {
				t.Errorf("error %v does not match ErrInvalidSettings", err)
			}
			var se *reader.SettingError
			if !errors.As(err, &se) || se.Field != tt.field {
				t.Fatalf("error %v: want a *SettingError for %s", err, tt.field)
			}
			if !strings.HasPrefix(err.Error(), tt.field+" ") {
				t.Errorf("message %q does not start with the field %q", err, tt.field)
			}
			if tt.msg != "" && err.Error() != tt.msg {
				t.Errorf("message %q, want %q", err, tt.msg)
			}
			if _, err := reader.Open(s); err == nil {
				t.Errorf("Open accepted settings that Validate rejects")
			}
		})
	}
}

func TestValidateReportsEveryField(t *testing.T) {
	err := reader.Settings{Baud: 1, DataBits: 9, Parity: "x", StopBits: "0"}.Validate()
	var fields []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var se *reader.SettingError
		if errors.As(e, &se) {
			fields = append(fields, se.Field)
		}
	}
	if got, want := strings.Join(fields, ","), "device,baud,data_bits,parity,stop_bits"; got != want {
		t.Fatalf("fields = %s, want %s", got, want)
	}
}
