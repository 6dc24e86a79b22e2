package mercury

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"
)

// decodeVector returns the one frame of a module vector, its slices copied.
func decodeVector(t *testing.T, v vector) Frame {
	t.Helper()
	var got []Frame
	NewDecoder().Feed(v.Bytes, func(f Frame) {
		f.Raw, f.Data = bytes.Clone(f.Raw), bytes.Clone(f.Data)
		got = append(got, f)
	})
	if len(got) != 1 {
		t.Fatalf("%s: %d frames", v.ID, len(got))
	}
	return got[0]
}

// wantTag is the golden content of a tag record vector.
type wantTag struct {
	rssi, readCount, antenna int
	freq                     uint32
	ts                       time.Duration
	pc, crc                  uint16
	epc                      string
	gpio                     uint8
}

// TestModuleVectors checks every module frame of the vectors against the
// fields its "what" states; the table must cover every module vector.
func TestModuleVectors(t *testing.T) {
	tags := map[string]wantTag{
		"T7":  {rssi: -55, readCount: 1, antenna: 1, freq: 919600, ts: 19 * time.Millisecond, pc: 0x3000, crc: 0x1985, epc: "E2001026760E017915907125", gpio: 0x0F},
		"T7c": {rssi: -60, readCount: 1, antenna: 1, freq: 923200, ts: 295 * time.Millisecond, pc: 0x3000, crc: 0xE94A, epc: "000000000000000000001545", gpio: 0x0F},
		"T7e": {rssi: -60, readCount: 1, antenna: 1, freq: 915250, ts: 100 * time.Millisecond, pc: 0x3000, crc: 0xAAF9, epc: "3074257BF7194E4000001A85", gpio: 0x0F},
	}
	kinds := map[string]Kind{
		"T2": KindResponse, "T3ack": KindResponse, "T6a": KindStarted, "T8": KindKeepAlive,
		"T8b": KindStats, "T9a": KindStopped, "T10r": KindSearchEnd, "T12a": KindResponse,
		"T7": KindTag, "T7c": KindTag, "T7e": KindTag,
	}
	for _, v := range loadVectors(t) {
		if v.Direction != "module" {
			continue
		}
		t.Run(v.ID, func(t *testing.T) {
			f := decodeVector(t, v)
			var ev Event
			if err := ParseEvent(f, &ev); err != nil {
				t.Fatalf("ParseEvent: %v", err)
			}
			want, ok := kinds[v.ID]
			if !ok {
				t.Fatalf("no expectation for %s (%s)", v.ID, v.What)
			}
			if ev.Kind != want {
				t.Errorf("kind %v, want %v", ev.Kind, want)
			}
			switch v.ID {
			case "T2":
				ver, err := ParseVersion(f)
				if err != nil {
					t.Fatal(err)
				}
				if got := [...]string{ver.BootloaderString(), ver.HardwareString(), ver.FirmwareDateString(), ver.FirmwareString()}; got != [...]string{"14.12.08.00", "30.00.00.02", "2015-03-10", "01.03.01.47"} {
					t.Errorf("version %v", got)
				}
				if ver.Model() != ModelM6eNano || ver.Model().String() != "M6e Nano" || ver.Protocols != 0x10 ||
					!ver.Supports(ProtocolGen2) || ver.Supports(ProtocolISO18000_6B) || ver.InBootloader() {
					t.Errorf("version %+v", ver)
				}
			case "T8":
				if ev.Status != StatusNoTagsFound || len(f.Data) != 0 {
					t.Errorf("keep-alive status %v, %d data bytes", ev.Status, len(f.Data))
				}
			case "T8b":
				if ev.Stats.Temperature != 26 || ev.Stats.Valid != StatsTemperature {
					t.Errorf("stats %+v", ev.Stats)
				}
			case "T10r":
				n, err := ParseReadCount(f)
				if err != nil || n != 1 {
					t.Errorf("ParseReadCount = %d, %v; want 1", n, err)
				}
			}
			if w, ok := tags[v.ID]; ok {
				checkTag(t, ev.Tag, w)
			}
		})
	}
}

func checkTag(t *testing.T, tr TagRead, w wantTag) {
	t.Helper()
	if tr.Flags != MetaDefault || tr.RSSI != w.rssi || tr.ReadCount != w.readCount ||
		tr.Antenna != w.antenna || tr.TxPort != 1 || tr.RxPort != 1 || tr.Frequency != w.freq ||
		tr.Timestamp != w.ts || tr.Phase != 0 || tr.Protocol != ProtocolGen2 ||
		tr.DataBits != 0 || len(tr.Data) != 0 || tr.GPIO != w.gpio || tr.PC != w.pc ||
		tr.TagCRC != w.crc || !tr.CRCValid || hexOf(tr.EPC) != w.epc {
		t.Errorf("tag %+v\nEPC %X, want %+v", tr, tr.EPC, w)
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// retag returns frame with data byte i xored by x and the frame CRC
// recomputed, so the frame is valid and the tag record is not.
func retag(frame []byte, i int, x byte) []byte {
	b := bytes.Clone(frame)
	b[5+i] ^= x
	binary.BigEndian.PutUint16(b[len(b)-2:], CRC(b[1:len(b)-2]))
	return b
}

func TestTagCRCMismatch(t *testing.T) {
	var t7 vector
	for _, v := range loadVectors(t) {
		if v.ID == "T7" {
			t7 = v
		}
	}
	bad := retag(t7.Bytes, len(t7.Bytes)-7-5, 0x01) // last EPC byte
	f := decodeVector(t, vector{ID: "T7 altered", Bytes: bad})
	var ev Event
	err := ParseEvent(f, &ev)
	var ce *TagCRCError
	if !errors.Is(err, ErrTagCRC) || !errors.As(err, &ce) {
		t.Fatalf("err %v, want a TagCRCError", err)
	}
	if ev.Kind != KindTag || ev.Tag.CRCValid || ev.Tag.TagCRC != 0x1985 || ce.Stored != 0x1985 || ce.Computed == 0x1985 {
		t.Fatalf("event %+v, err %v", ev, err)
	}
}

func TestModuleErrors(t *testing.T) {
	frame := func(op Opcode, status Status, data ...byte) Frame {
		raw := []byte{SOF, byte(len(data)), byte(op), byte(status >> 8), byte(status)}
		raw = append(raw, data...)
		raw = binary.BigEndian.AppendUint16(raw, CRC(raw[1:]))
		var got Frame
		NewDecoder().Feed(raw, func(f Frame) { got = f })
		return got
	}
	var ev Event
	// Temperature and return loss errors arrive in the stream as
	// READ_TAG_ID_MULTIPLE responses.
	for _, st := range []Status{StatusTemperatureExceeded, StatusHighReturnLoss, StatusTagBufferFull} {
		if err := ParseEvent(frame(OpReadTagIDMultiple, st), &ev); err != nil || ev.Kind != KindStatus {
			t.Fatalf("%v: kind %v err %v", st, ev.Kind, err)
		}
		err := ev.Err()
		var me *Error
		if !errors.Is(err, ErrStatus) || !errors.As(err, &me) || me.Status != st {
			t.Fatalf("%v: err %v", st, err)
		}
	}
	err := frame(OpSetRegion, StatusInvalidRegion).Err()
	if got := err.Error(); got != "mercury: SET_REGION (0x97): status 0x010B region not supported" {
		t.Errorf("message %q", got)
	}
	if got := (&Error{Opcode: 0x5A, Status: 0x0777}).Error(); !strings.Contains(got, "opcode 0x5A") || !strings.Contains(got, "unknown status") {
		t.Errorf("message %q", got)
	}
	if !strings.Contains(StatusTemperatureExceeded.String(), "temperature") || !strings.Contains(StatusNoTagsFound.String(), "no tags found") {
		t.Error("status words")
	}
	if _, err := ParseVersion(frame(OpVersion, StatusOK, 1, 2, 3)); !errors.Is(err, ErrMalformed) {
		t.Errorf("short version: %v", err)
	}
	if _, err := ParseVersion(frame(OpVersion, StatusInvalidOpcode)); !errors.Is(err, ErrStatus) {
		t.Errorf("version error status: %v", err)
	}
	if err := ParseEvent(frame(OpReadTagIDMultiple, StatusOK, 0x10, 0x00), &ev); !errors.Is(err, ErrMalformed) {
		t.Errorf("short record: %v", err)
	}
	if err := ParseEvent(frame(OpReadTagIDMultiple, StatusOK, 0x00, 0x00, 0x1B, 0x07), &ev); !errors.Is(err, ErrMalformed) {
		t.Errorf("unknown record type: %v", err)
	}
	if _, err := ParseReadCount(frame(OpReadTagIDMultiple, StatusOK, 1, 2)); !errors.Is(err, ErrMalformed) {
		t.Errorf("read count of 2 bytes: %v", err)
	}
}
