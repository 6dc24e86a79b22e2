package reader_test

import (
	"errors"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/reader"
)

func TestConfigError(t *testing.T) {
	for _, tt := range []struct {
		err  *reader.ConfigError
		want string
	}{
		{&reader.ConfigError{Field: "suffix", Value: "TAB", Want: "CR, LF, CRLF or none"}, `suffix "TAB": want CR, LF, CRLF or none`},
		{&reader.ConfigError{Field: "id", Value: "", Want: "a name for the reader"}, `id "": want a name for the reader`},
		{&reader.ConfigError{Field: "power_cdbm", Value: -5, Want: "from 0 to 3300 centi-dBm"}, "power_cdbm -5: want from 0 to 3300 centi-dBm"},
		{&reader.ConfigError{Field: "rest", Value: -time.Second, Want: "a duration of zero or more"}, "rest -1s: want a duration of zero or more"},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		var err error = tt.err
		if !errors.Is(err, reader.ErrInvalidConfig) {
			t.Errorf("%v does not match ErrInvalidConfig", err)
		}
		if errors.Is(err, reader.ErrInvalidSettings) {
			t.Errorf("%v matches ErrInvalidSettings", err)
		}
	}
}

func TestValidateCommon(t *testing.T) {
	good := reader.Settings{Device: "/dev/ttyUSB0"}.WithDefaults()
	if errs := reader.ValidateCommon("r1", "a name for the reader", good); errs != nil {
		t.Fatalf("ValidateCommon(good) = %v, want nil", errs)
	}

	bad := good
	bad.Baud = 0
	bad.Parity = "x"
	errs := reader.ValidateCommon("", "a name for the scanner", bad)
	want := []string{
		`id "": want a name for the scanner`,
		"serial: baud 0: want a rate from 50 to 4000000",
		`serial: parity "x": want none, odd, even, mark or space`,
	}
	if len(errs) != len(want) {
		t.Fatalf("ValidateCommon = %q, want %d errors: %q", errs, len(want), want)
	}
	for i, err := range errs {
		if err.Error() != want[i] {
			t.Errorf("error %d = %q, want %q", i, err, want[i])
		}
	}
	var ce *reader.ConfigError
	if !errors.As(errs[0], &ce) || ce.Field != "id" || !errors.Is(errs[0], reader.ErrInvalidConfig) {
		t.Errorf("%v: want a *ConfigError for id matching ErrInvalidConfig", errs[0])
	}
	for _, err := range errs[1:] {
		var se *reader.SettingError
		if !errors.As(err, &se) || !errors.Is(err, reader.ErrInvalidSettings) || errors.Is(err, reader.ErrInvalidConfig) {
			t.Errorf("%v: want a wrapped *SettingError matching ErrInvalidSettings only", err)
		}
	}
}
