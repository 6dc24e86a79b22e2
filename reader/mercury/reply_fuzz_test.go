package mercury

import (
	"encoding/binary"
	"errors"
	"testing"
)

// FuzzReplies sends any response (opcode, status, data) as a module
// would, decodes it from the line, and reads it as each reply the driver
// waits for outside the stream (version, read count, tag buffer): the
// frame decodes whole; a reply is read only from a successful response
// to its opcode and gives what its data holds; a module's error is an
// *Error wrapping ErrStatus; anything else wraps ErrMalformed or
// ErrUnsupportedMetadata, never a panic.
func FuzzReplies(f *testing.F) {
	for _, v := range loadVectors(f) {
		if len(v.Bytes) >= 7 && v.Bytes[0] == SOF && int(v.Bytes[1])+7 == len(v.Bytes) {
			f.Add(v.Bytes[2], binary.BigEndian.Uint16(v.Bytes[3:]), v.Bytes[5:len(v.Bytes)-2])
		}
	}
	f.Add(byte(OpVersion), uint16(StatusOK), make([]byte, 20))
	f.Add(byte(OpReadTagIDMultiple), uint16(StatusOK), []byte{0x00, 0x00, 0x13, 0x05})
	f.Add(byte(OpReadTagIDMultiple), uint16(StatusOK), []byte{0x88, 0x00, 0x13, 0x00, 0x00, 0x01, 0x00})
	f.Add(byte(OpGetTagIDBuffer), uint16(StatusOK), []byte{0x00, 0x57, 0x00, 0x01})
	f.Add(byte(OpGetTagIDBuffer), uint16(0x0400), []byte{})
	f.Fuzz(func(t *testing.T, op byte, status uint16, data []byte) {
		if len(data) > 255 {
			return
		}
		raw := response(Opcode(op), Status(status), data)
		d := NewDecoder()
		var got []Frame
		d.Feed(raw, func(fr Frame) { got = append(got, fr) })
		d.Flush(func(fr Frame) { got = append(got, fr) })
		if len(got) != 1 || got[0].Opcode != Opcode(op) || got[0].Status != Status(status) || string(got[0].Data) != string(data) {
			t.Fatalf("response % X decoded as %+v (%+v)", raw, got, d.Stats())
		}
		fr := got[0]
		check := func(what string, want Opcode, err error) bool {
			if err != nil {
				var me *Error
				switch {
				case errors.As(err, &me):
					if fr.Status == StatusOK || !errors.Is(err, ErrStatus) {
						t.Fatalf("%s: module error %v from status %04X", what, err, status)
					}
				case !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupportedMetadata):
					t.Fatalf("%s: error %v", what, err)
				}
				return false
			}
			if fr.Status != StatusOK || fr.Opcode != want {
				t.Fatalf("%s read from %v status %04X", what, fr.Opcode, status)
			}
			return true
		}
		if v, err := ParseVersion(fr); check("version", OpVersion, err) && (string(v.Bootloader[:]) != string(data[:4]) || v.Protocols != binary.BigEndian.Uint32(data[16:])) {
			t.Fatalf("version %+v from % X", v, data)
		}
		if n, err := ParseReadCount(fr); check("read count", OpReadTagIDMultiple, err) && (n < 0 || n > 1<<32) {
			t.Fatalf("read count %d from % X", n, data)
		}
		reads := 0
		err := ParseTagBuffer(fr, func(tr TagRead) {
			reads++
			if len(tr.EPC) > len(data) {
				t.Fatalf("EPC of %d bytes from %d", len(tr.EPC), len(data))
			}
		})
		if check("tag buffer", OpGetTagIDBuffer, err) && reads != int(data[3]) {
			t.Fatalf("%d reads from a buffer of %d", reads, data[3])
		}
	})
}
