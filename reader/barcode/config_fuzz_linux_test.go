package barcode_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/reader"
	"github.com/udi-edge/udi-edge/reader/barcode"
)

// FuzzScannerConfig takes any scanner configuration (suffix, gap, frame
// bound, backoffs, answer buffer, line settings): one Validate refuses
// names a field and what it wants; one it accepts runs a real scanner on
// a pseudo-terminal with it, and any bytes sent are read as frames within
// the bound, the frame after them whole.
func FuzzScannerConfig(f *testing.F) {
	f.Add("CR", uint16(50), uint32(4096), uint16(5), uint16(20), uint32(65536), uint32(9600), uint8(8), "none", "1", []byte("]d20109520123456788\r"))
	f.Add("CRLF", uint16(0), uint32(16), uint16(0), uint16(0), uint32(0), uint32(115200), uint8(7), "even", "2", []byte("abc\r\ndef"))
	f.Add("none", uint16(5), uint32(1), uint16(1), uint16(1), uint32(1), uint32(0), uint8(0), "", "", []byte("x"))
	f.Add("LF", uint16(60000), uint32(1<<21), uint16(9), uint16(3), uint32(1<<30), uint32(7), uint8(9), "mark", "1.5", []byte{})
	f.Add("tab", uint16(1), uint32(0), uint16(0), uint16(0), uint32(0), uint32(921600), uint8(5), "odd", "0", []byte("\r\r\r"))
	f.Fuzz(func(t *testing.T, suffix string, gapMS uint16, maxLen uint32, minMS, maxMS uint16, answers uint32, baud uint32, dataBits uint8, parity, stopBits string, data []byte) {
		cfg := barcode.Config{
			ID: "or-3-scanner", Serial: reader.Settings{Device: "/dev/fuzz", Baud: int(baud), DataBits: int(dataBits), Parity: parity, StopBits: stopBits},
			Suffix: barcode.Suffix(suffix), Gap: time.Duration(gapMS) * time.Millisecond, MaxLen: int(maxLen),
			MinBackoff: time.Duration(minMS) * time.Millisecond, MaxBackoff: time.Duration(maxMS) * time.Millisecond, AnswerBuffer: int(answers),
		}
		if err := cfg.WithDefaults().Validate(); err != nil {
			var ce *barcode.ConfigError
			var se *reader.SettingError
			if !errors.As(err, &ce) && !errors.As(err, &se) {
				t.Fatalf("%+v refused without naming a field: %v", cfg, err)
			}
			if msg := err.Error(); msg == "" || !strings.ContainsAny(msg, "abcdefghijklmnopqrstuvwxyz") {
				t.Fatalf("%+v refused saying nothing: %q", cfg, msg)
			}
			return
		}
		if cfg.WithDefaults().Suffix == barcode.SuffixNone && cfg.WithDefaults().Gap > time.Second {
			return // frames end by a gap of the line: too slow to wait for here
		}
		cfg.Serial.Device = "" // the rig's pty
		r := newRig(t, cfg, true)
		bound := r.sc.Config().MaxLen
		r.sendBytes(data)
		end := strings.Repeat("Z", min(bound, 32))
		if c := r.sc.Config(); c.Suffix == barcode.SuffixNone {
			// Frames end when the line goes quiet: the marker after a gap.
			r.drained()
			time.Sleep(2 * c.Gap)
			r.send(end)
		} else {
			suf := string(c.Suffix.Bytes())
			r.send(suf + end + suf)
		}
		for {
			rd := r.next()
			if len(rd.Raw) > bound {
				t.Fatalf("a frame of %d bytes, bound %d", len(rd.Raw), bound)
			}
			if string(rd.Raw) == end {
				return
			}
		}
	})
}
