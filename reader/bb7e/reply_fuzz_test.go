package bb7e

import (
	"encoding/binary"
	"errors"
	"testing"
)

// FuzzReplies encodes any frame (type, command, parameters) as a module
// would send it, decodes it from the line, and reads it as each reply
// the driver waits for (information, power, region, acknowledgements):
// the frame decodes whole (one of an unknown type is refused); a reply is read only from a response to its
// command and gives the value its parameters hold; anything else is the
// module's *Error or wraps ErrMalformed, never a panic.
func FuzzReplies(f *testing.F) {
	_, frames := allFrames(f)
	for _, fr := range frames {
		if len(fr) >= 7 {
			f.Add(fr[1], fr[2], fr[5:len(fr)-2])
		}
	}
	f.Add(byte(TypeResponse), byte(CommandInfo), []byte("\x01V2.3.5"))
	f.Add(byte(TypeResponse), byte(CommandGetPower), []byte{0x07, 0xD0})
	f.Add(byte(TypeResponse), byte(CommandGetRegion), []byte{0x01})
	f.Add(byte(TypeResponse), byte(CommandSetPower), []byte{0x00})
	f.Add(byte(TypeResponse), byte(CommandError), []byte{0x17})
	f.Add(byte(TypeResponse), byte(CommandError), []byte{})
	f.Add(byte(TypeResponse), byte(CommandGetPower), []byte{0x07})
	f.Fuzz(func(t *testing.T, typ, cmd byte, params []byte) {
		if len(params) > 0xFFFF {
			return
		}
		raw := AppendFrame(nil, Type(typ), Command(cmd), params)
		d := NewDecoder(Config{MaxParams: len(params)})
		var got []Frame
		d.Feed(raw, func(fr Frame) { got = append(got, fr) })
		d.Flush(func(fr Frame) { got = append(got, fr) })
		if Type(typ) > TypeNotification {
			for _, fr := range got {
				if len(fr.Raw) >= len(raw) || d.Stats().BadHeader == 0 {
					t.Fatalf("frame of unknown type % X decoded as %+v", raw, got)
				}
			}
			return // a type no module sends: refused (a frame inside it may be found on resync)
		}
		if len(got) != 1 || got[0].Type != Type(typ) || got[0].Command != Command(cmd) || string(got[0].Params) != string(params) {
			t.Fatalf("frame % X decoded as %+v", raw, got)
		}
		fr := got[0]
		check := func(what string, want Command, err error) bool {
			if err != nil {
				var me *Error
				if !errors.As(err, &me) && !errors.Is(err, ErrMalformed) {
					t.Fatalf("%s: error %v", what, err)
				}
				return false
			}
			if fr.Type != TypeResponse || fr.Command != want {
				t.Fatalf("%s read from type %d %v", what, fr.Type, fr.Command)
			}
			return true
		}
		if kind, text, err := ParseInfo(fr); check("info", CommandInfo, err) && (byte(kind) != params[0] || text != string(params[1:])) {
			t.Fatalf("info %d %q from % X", kind, text, params)
		}
		if p, err := ParsePower(fr); check("power", CommandGetPower, err) && p != int(binary.BigEndian.Uint16(params)) {
			t.Fatalf("power %d from % X", p, params)
		}
		if r, err := ParseRegion(fr); check("region", CommandGetRegion, err) && byte(r) != params[0] {
			t.Fatalf("region %d from % X", r, params)
		}
		for _, c := range []Command{CommandSetRegion, CommandSetPower, CommandStopMultiPoll} {
			if err := ParseAck(fr, c); check("ack", c, err) && params[0] != 0 {
				t.Fatalf("ack of %v with status %02X", c, params[0])
			}
		}
		var ev Event
		if err := ParseEvent(fr, &ev); err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTagCRC) {
			t.Fatalf("event: %v", err)
		}
	})
}
