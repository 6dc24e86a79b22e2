package uhfsim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/reader"
)

// t7Tag is the tag of the captured record T7.
var t7Tag = Tag{EPC: []byte{0xE2, 0x00, 0x10, 0x26, 0x76, 0x0E, 0x01, 0x79, 0x15, 0x90, 0x71, 0x25}, PC: 0x3000}

// rec is a tag record as the test's own parser reads it.
type rec struct {
	count, antenna byte
	rssi           int8
	freq, ms       uint32
	pc             uint16
	epc            []byte
	crc            uint16
	crcOK          bool
}

// metaSizes are the metadata field sizes by flag bit, from the notes.
var metaSizes = []int{1, 1, 1, 3, 4, 2, 1, -1, 1, 1, 1, 1, 2}

// parseRecord reads metadata selected by flags, then the tag field.
func parseRecord(t testing.TB, flags uint16, b []byte) (rec, []byte) {
	t.Helper()
	var r rec
	i := 0
	for bit, size := range metaSizes {
		if flags&(1<<bit) == 0 {
			continue
		}
		switch 1 << bit {
		case 0x0001:
			r.count = b[i]
		case 0x0002:
			r.rssi = int8(b[i])
		case 0x0004:
			r.antenna = b[i]
		case 0x0008:
			r.freq = uint32(b[i])<<16 | uint32(b[i+1])<<8 | uint32(b[i+2])
		case 0x0010:
			r.ms = binary.BigEndian.Uint32(b[i:])
		case 0x0080:
			size = 2 + (int(binary.BigEndian.Uint16(b[i:]))+7)/8
		}
		i += size
	}
	bits := int(binary.BigEndian.Uint16(b[i:]))
	i += 2
	field := b[i : i+bits/8]
	r.pc = binary.BigEndian.Uint16(field)
	body := field[:len(field)-2]
	if flags&0x1000 != 0 {
		body = body[:len(body)-2]
	}
	r.epc = bytes.Clone(body[2:])
	r.crc = binary.BigEndian.Uint16(field[len(field)-2:])
	r.crcOK = r.crc == bitGen2(body)
	return r, b[i+bits/8:]
}

// streamed parses a streamed 0x22 tag record frame.
func streamed(t testing.TB, f mframe) rec {
	t.Helper()
	if f.op != 0x22 || f.status != 0 || f.data[0]&0x10 == 0 {
		t.Fatalf("not a tag record: % X", f.raw)
	}
	flags := binary.BigEndian.Uint16(f.data[3:5])
	if f.data[5] != 0x01 {
		t.Fatalf("record type %02X", f.data[5])
	}
	r, rest := parseRecord(t, flags, f.data[6:])
	if len(rest) != 0 {
		t.Fatalf("%d bytes after the tag field: % X", len(rest), f.raw)
	}
	return r
}

func isKeepAlive(f mframe) bool { return f.op == 0x22 && f.status == 0x0400 && len(f.data) == 0 }

func newMercury(t testing.TB, cfg MercuryConfig) (*Mercury, *host) {
	t.Helper()
	m, err := NewMercury(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, openHost(t, m.Path())
}

func wantSame(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s:\n got % X\nwant % X", what, got, want)
	}
}

// wantLayout checks that a response has the captured one's opcode, status,
// length and a valid CRC.
func wantLayout(t testing.TB, what string, got mframe, want []byte) {
	t.Helper()
	if !got.crcOK {
		t.Fatalf("%s: bad CRC: % X", what, got.raw)
	}
	if len(got.raw) != len(want) || got.raw[1] != want[1] || got.raw[2] != want[2] || got.raw[3] != want[3] || got.raw[4] != want[4] {
		t.Fatalf("%s: layout differs:\n got % X\nwant % X", what, got.raw, want)
	}
}

// response builds a module frame FF LEN OP STATUS DATA CRC with the test's
// CRC.
func response(op byte, status uint16, data ...byte) []byte {
	f := append([]byte{0xFF, byte(len(data)), op, byte(status >> 8), byte(status)}, data...)
	c := bitCRC(f[1:])
	return append(f, byte(c>>8), byte(c))
}

func TestMercuryCapturedExchange(t *testing.T) {
	v := loadVectors(t, "mercury-frames.json")
	m, h := newMercury(t, MercuryConfig{Round: 30 * time.Millisecond})
	w := m.World()

	wantSame(t, "T1 VERSION", h.exchange(v["T1"]).raw, v["T2"])

	// Before a region is set the radio is off.
	wantSame(t, "read before region", h.exchange(v["T10"]).raw, response(0x22, StatusRadioOff))
	wantSame(t, "T3 SET_REGION", h.exchange(v["T3"]).raw, v["T3ack"])
	if m.Region() != 0x0D {
		t.Fatalf("region %02X", m.Region())
	}
	wantSame(t, "T4 power 2700", h.exchange(v["T4"]).raw, response(0x92, 0))
	wantSame(t, "T4b power 2000", h.exchange(v["T4b"]).raw, response(0x92, 0))
	wantSame(t, "GET_READ_TX_POWER", h.exchange(request(0x62, 0x00)).raw, response(0x62, 0, 0x00, 0x07, 0xD0))
	wantSame(t, "power too high", h.exchange(request(0x92, 0x0B, 0xB8)).raw, response(0x92, StatusPowerTooHigh))
	wantSame(t, "SET_ANTENNA_PORT 1,1", h.exchange(request(0x91, 0x01, 0x01)).raw, response(0x91, 0))
	wantSame(t, "SET_ANTENNA_PORT 2,2 on one port", h.exchange(request(0x91, 0x02, 0x02)).raw, response(0x91, StatusOutOfRange))
	wantSame(t, "SET_TAG_PROTOCOL Gen2", h.exchange(request(0x93, 0x00, 0x05)).raw, response(0x93, 0))
	wantSame(t, "GET_TEMPERATURE", h.exchange(request(0x72)).raw, response(0x72, 0, 32))
	wantSame(t, "unknown opcode", h.exchange(request(0x55, 0x01)).raw, response(0x55, StatusInvalidOpcode))
	wantSame(t, "BOOT_FIRMWARE in the application", h.exchange(request(0x04)).raw, response(0x04, StatusInvalidOpcode))

	// Synchronous inventory: no tag, then one tag (T10 -> T10r).
	wantSame(t, "T10 without tags", h.exchange(v["T10"]).raw, response(0x22, StatusNoTags))
	w.Place(1, t7Tag)
	wantSame(t, "T10 -> T10r", h.exchange(v["T10"]).raw, v["T10r"])
	wantSame(t, "buffer indexes", h.exchange(request(0x29)).raw, response(0x29, 0, 0, 0, 0, 1))
	f := h.exchange(request(0x29, 0x00, 0x57, 0x00))
	if !f.crcOK || f.status != 0 || !bytes.Equal(f.data[:4], []byte{0x00, 0x57, 0x00, 0x01}) {
		t.Fatalf("GET_TAG_ID_BUFFER: % X", f.raw)
	}
	r, rest := parseRecord(t, 0x0057, f.data[4:])
	if len(rest) != 0 || r.antenna != 0x11 || !bytes.Equal(r.epc, t7Tag.EPC) || r.crc != 0x1985 || !r.crcOK || r.count != 1 {
		t.Fatalf("buffered record %+v, rest % X", r, rest)
	}
	wantSame(t, "buffer drained", h.exchange(request(0x29)).raw, response(0x29, 0, 0, 0, 0, 0))

	// WRITE_TAG_ID rewrites the one tag in the field (T12 -> T12a).
	wantSame(t, "T12 -> T12a", h.exchange(v["T12"]).raw, v["T12a"])
	if got := w.Tags(1); len(got) != 1 || !bytes.Equal(got[0].EPC, []byte{0x59, 0x6F, 0x59, 0x6F}) || got[0].PC != 0x1000 {
		t.Fatalf("after the write: %+v", got)
	}
	w.Remove(1, []byte{0x59, 0x6F, 0x59, 0x6F})
	wantSame(t, "write without a tag", h.exchange(v["T12"]).raw, response(0x23, StatusNoTags))
	w.Place(1, t7Tag, Tag{EPC: []byte{1, 2, 3, 4}})
	wantSame(t, "write with two tags", h.exchange(v["T12"]).raw, response(0x23, StatusWriteFailed))
	w.Remove(1, []byte{1, 2, 3, 4})

	// Continuous reading with the captured start (T6 -> T6a).
	wantSame(t, "T6 -> T6a", h.exchange(v["T6"]).raw, v["T6a"])
	got := h.until("tag record", func(f mframe) bool { return f.op == 0x22 && f.status == 0 })
	wantLayout(t, "streamed record", got, v["T7"])
	// Everything up to the type byte and the whole tag field match T7.
	wantSame(t, "record head", got.raw[:11], v["T7"][:11])
	wantSame(t, "tag field", got.raw[len(got.raw)-22:len(got.raw)-2], v["T7"][len(v["T7"])-22:len(v["T7"])-2])
	r = streamed(t, got)
	if r.antenna != 0x11 || r.count != 1 || r.rssi > -40 || r.rssi < -80 || r.freq < 902000 || r.freq > 928000 || !r.crcOK {
		t.Fatalf("record %+v", r)
	}
	wantSame(t, "T8 keep-alive", h.until("keep-alive", isKeepAlive).raw, v["T8"])
	if !m.Reading() {
		t.Fatal("not reading")
	}
	// While reading, commands other than the stop go unanswered.
	h.write(v["T1"])
	h.write(v["T9"])
	var sawVersion, sawKeepAlive bool
	ack := h.until("stop ack", func(f mframe) bool {
		sawVersion = sawVersion || f.op == 0x03
		sawKeepAlive = sawKeepAlive || isKeepAlive(f)
		return f.op == 0x2F
	})
	wantSame(t, "T9 -> T9a", ack.raw, v["T9a"])
	if sawVersion || !sawKeepAlive {
		t.Fatalf("before the stop ack: version answered %v, keep-alive %v", sawVersion, sawKeepAlive)
	}
	if m.Reading() {
		t.Fatal("still reading")
	}
	if b := h.pending(); len(b) != 0 {
		t.Fatalf("bytes after the stop ack: % X", b)
	}
	wantSame(t, "answers again", h.exchange(v["T1"]).raw, v["T2"])
}

// start builds a continuous-read start with the given embedded option,
// search flags, metadata and statistics flags.
func start(option byte, search, meta uint16, stats ...uint16) []byte {
	emb := []byte{0x22, option, byte(search >> 8), byte(search), 0x03, 0xE8}
	if option&0x10 != 0 {
		emb = append(emb, byte(meta>>8), byte(meta))
	}
	for _, s := range stats {
		emb = append(emb, byte(s>>8), byte(s))
	}
	d := append([]byte{0x00, 0x00, 0x01, 0x22, 0x00, 0x00, 0x05, byte(len(emb) - 1)}, emb...)
	return request(0x2F, d...)
}

func TestMercuryMetadataFlags(t *testing.T) {
	m, h := newMercury(t, MercuryConfig{Round: 10 * time.Millisecond, Region: 0x06, Antennas: []int{1, 2}})
	m.World().Place(2, t7Tag)
	for _, flags := range []uint16{0x0000, 0x0001, 0x0006, 0x0010, 0x00FF, 0x01FF, 0x0E04, 0x1FFF} {
		if f := h.exchange(start(0x10, 0x001B, flags)); f.status != 0 {
			t.Fatalf("start %04X: % X", flags, f.raw)
		}
		got := h.until("tag record", func(f mframe) bool { return f.op == 0x22 && f.status == 0 })
		if !got.crcOK || binary.BigEndian.Uint16(got.data[3:5]) != flags {
			t.Fatalf("flags %04X: % X", flags, got.raw)
		}
		r := streamed(t, got)
		if !bytes.Equal(r.epc, t7Tag.EPC) || !r.crcOK || r.pc != 0x3000 {
			t.Fatalf("flags %04X: %+v", flags, r)
		}
		if flags&0x0004 != 0 && r.antenna != 0x22 {
			t.Fatalf("flags %04X: antenna %02X, want 22", flags, r.antenna)
		}
		if flags&0x0008 != 0 && (r.freq < 920125 || r.freq > 924875 || (r.freq-920125)%250 != 0) {
			t.Fatalf("PRC frequency %d", r.freq)
		}
		h.write(request(0x2F, 0x00, 0x00, 0x02))
		h.until("stop ack", func(f mframe) bool { return f.op == 0x2F })
	}
	// Without metadata: option 00, no flags word, the type, the tag field.
	h.exchange(start(0x00, 0x001B, 0))
	got := h.until("tag record", func(f mframe) bool { return f.op == 0x22 && f.status == 0 })
	if got.data[0] != 0x00 || got.data[3] != 0x01 {
		t.Fatalf("record without metadata: % X", got.raw)
	}
	if r, rest := parseRecord(t, 0, got.data[4:]); len(rest) != 0 || !r.crcOK || !bytes.Equal(r.epc, t7Tag.EPC) {
		t.Fatalf("record without metadata: %+v", r)
	}
	h.write(request(0x2F, 0x00, 0x00, 0x02))
	h.until("stop ack", func(f mframe) bool { return f.op == 0x2F })
	// Tag type metadata (HF/LF) is refused.
	if f := h.exchange(start(0x10, 0x001B, 0x2000)); f.status != StatusOutOfRange {
		t.Fatalf("tag type flag: % X", f.raw)
	}
	// Temperature statistics: search flags gain 0x0100, stats flags 0100.
	m.SetTemperature(26)
	h.exchange(start(0x10, 0x011B, 0x01FF, 0x0100))
	st := h.until("stats record", func(f mframe) bool { return f.op == 0x22 && f.status == 0 && f.data[0] == 0 })
	wantSame(t, "stats record", st.data, []byte{0x00, 0x01, 0x1B, 0x02, 0x82, 0x00, 0x82, 0x00, 0x01, 0x1A})
}

func TestMercuryMissProbability(t *testing.T) {
	const (
		tags   = 10
		rounds = 40
		miss   = 0.3
	)
	m, h := newMercury(t, MercuryConfig{Round: 5 * time.Millisecond, Region: 0x06, Seed: 7, Miss: miss})
	for i := range tags {
		m.World().Place(1, Tag{EPC: []byte{0x30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, byte(i)}})
	}
	h.exchange(start(0x10, 0x001B, 0x0057))
	reads, n := 0, 0
	h.until("rounds", func(f mframe) bool {
		if !f.crcOK {
			t.Fatalf("bad CRC: % X", f.raw)
		}
		if isKeepAlive(f) {
			n++
		} else if f.status == 0 {
			reads++
		}
		return n == rounds
	})
	trials := float64(tags * rounds)
	mean := trials * (1 - miss)
	sd := math.Sqrt(trials * miss * (1 - miss))
	if math.Abs(float64(reads)-mean) > 4*sd {
		t.Fatalf("%d reads in %d rounds of %d tags; want %.0f ± %.0f", reads, rounds, tags, mean, 4*sd)
	}
}

func TestMercuryRemoveAndMove(t *testing.T) {
	m, h := newMercury(t, MercuryConfig{Round: 5 * time.Millisecond, Region: 0x06, Antennas: []int{1, 2}})
	w := m.World()
	a := Tag{EPC: []byte{0xAA, 0xAA, 0, 1}}
	b := Tag{EPC: []byte{0xBB, 0xBB, 0, 2}}
	w.Place(1, a, b)
	h.exchange(start(0x10, 0x001B, 0x0006))
	seen := func(rounds int) map[string]byte {
		got := map[string]byte{}
		n := 0
		h.until("rounds", func(f mframe) bool {
			if isKeepAlive(f) {
				n++
			} else if f.status == 0 && f.op == 0x22 {
				r := streamed(t, f)
				got[string(r.epc)] = r.antenna
			}
			return n == rounds
		})
		return got
	}
	if got := seen(2); len(got) != 2 {
		t.Fatalf("before: %v", got)
	}
	w.Remove(1, a.EPC)
	seen(1) // the round in progress may have looked before the removal
	if got := seen(3); len(got) != 1 || got[string(b.EPC)] != 0x11 {
		t.Fatalf("after Remove: %x", got)
	}
	w.Move(1, 2, b.EPC)
	w.Place(5, a) // an antenna no port looks at
	seen(1)
	if got := seen(3); len(got) != 1 || got[string(b.EPC)] != 0x22 {
		t.Fatalf("after Move: %x", got)
	}
}

func TestMercuryFaults(t *testing.T) {
	v := loadVectors(t, "mercury-frames.json")
	m, h := newMercury(t, MercuryConfig{Round: 10 * time.Millisecond, Region: 0x06})

	// Garbage arrives as it is, ahead of the next answer.
	noise := []byte{0x01, 0x7E, 0x00, 0x42}
	if err := m.Garbage(noise); err != nil {
		t.Fatal(err)
	}
	f := h.exchange(v["T1"])
	if f.skipped != len(noise) || !f.crcOK {
		t.Fatalf("after garbage: skipped %d, frame % X", f.skipped, f.raw)
	}

	// A corrupted frame: same bytes but the CRC; the next one is good.
	m.CorruptNext(1)
	f = h.exchange(v["T1"])
	if f.crcOK || !bytes.Equal(f.raw[:len(f.raw)-2], v["T2"][:len(v["T2"])-2]) {
		t.Fatalf("corrupted frame: % X", f.raw)
	}
	wantSame(t, "after corruption", h.exchange(v["T1"]).raw, v["T2"])

	// Buffer full during streaming; the stream goes on.
	h.exchange(v["T6"])
	h.until("keep-alive", isKeepAlive)
	if err := m.BufferFull(); err != nil {
		t.Fatal(err)
	}
	wantSame(t, "buffer full", h.until("status", func(f mframe) bool { return f.status == StatusBufferFull }).raw, response(0x22, StatusBufferFull))
	h.until("keep-alive after buffer full", isKeepAlive)

	// Over-temperature ends the stream; the module refuses to radiate.
	if err := m.OverTemperature(); err != nil {
		t.Fatal(err)
	}
	wantSame(t, "over-temperature", h.until("status", func(f mframe) bool { return f.status == StatusTemperature }).raw, response(0x22, StatusTemperature))
	if m.Reading() {
		t.Fatal("still reading when hot")
	}
	wantSame(t, "temperature", h.exchange(request(0x72)).raw, response(0x72, 0, 90))
	wantSame(t, "start when hot", h.exchange(v["T6"]).raw, response(0x2F, StatusTemperature))
	m.SetTemperature(40)
	wantSame(t, "start when cool", h.exchange(v["T6"]).raw, v["T6a"])
	h.write(v["T9"])
	h.until("stop ack", func(f mframe) bool { return f.op == 0x2F })

	// A stalled module answers nothing; after Resume it answers again.
	m.Stall()
	h.write(v["T1"])
	if h.try(100*time.Millisecond, func(b []byte) int { return len(b) }) {
		t.Fatalf("a stalled module answered: % X", h.pending())
	}
	m.Resume()
	wantSame(t, "after resume", h.exchange(v["T1"]).raw, v["T2"])
}

func TestMercuryUnplugReplug(t *testing.T) {
	v := loadVectors(t, "mercury-frames.json")
	link := filepath.Join(t.TempDir(), "usb-ThingMagic-M6e-Nano")
	m, h := newMercury(t, MercuryConfig{Link: link, Round: 10 * time.Millisecond})
	if m.Path() != link {
		t.Fatalf("Path %q", m.Path())
	}
	first := m.Device()
	h.exchange(v["T3"])
	h.exchange(v["T6"])
	h.until("keep-alive", isKeepAlive)

	m.Unplug()
	if err := h.readErr(wait); !errors.Is(err, reader.ErrHangup) {
		t.Fatalf("host read after unplug: %v", err)
	}
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Fatalf("link after unplug: %v", err)
	}
	if m.Reading() || m.Path() != link || m.Device() != "" {
		t.Fatalf("unplugged: reading %v path %q device %q", m.Reading(), m.Path(), m.Device())
	}
	if err := m.Garbage([]byte{1}); !errors.Is(err, ErrUnplugged) {
		t.Fatalf("garbage while unplugged: %v", err)
	}
	h.close()

	if err := m.Replug(); err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink(link); err != nil || target != m.Device() {
		t.Fatalf("link -> %q (%v), device %q (was %q)", target, err, m.Device(), first)
	}
	h = openHost(t, link)
	wantSame(t, "VERSION after replug", h.exchange(v["T1"]).raw, v["T2"])
	// A power cycle: the region must be set again.
	wantSame(t, "start after replug", h.exchange(v["T6"]).raw, response(0x2F, StatusRadioOff))
	wantSame(t, "region", h.exchange(v["T3"]).raw, v["T3ack"])
	wantSame(t, "start", h.exchange(v["T6"]).raw, v["T6a"])
	h.until("keep-alive", isKeepAlive)

	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Fatalf("link after Close: %v", err)
	}
	if err := m.Replug(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Replug after Close: %v", err)
	}
}

func TestMercurySearchListAndBuffer(t *testing.T) {
	m, h := newMercury(t, MercuryConfig{Region: 0x06, Antennas: []int{1, 2, 3}})
	w := m.World()
	for i := range 30 {
		w.Place(1+i%3, Tag{EPC: []byte{0x30, 0x14, byte(i), 0, 0, 0, 0, 0, 0, 0, 0, byte(i)}})
	}
	// Current antenna only (search flags 0): port 2 after SET_ANTENNA_PORT.
	h.exchange(request(0x91, 0x02, 0x02))
	f := h.exchange(request(0x22, 0x00, 0x00, 0x00, 0x01, 0xF4))
	wantSame(t, "10 tags on port 2", f.data, []byte{0x00, 0x00, 0x00, 10})
	h.exchange(request(0x2A))
	// Configured list (flags 03): all three ports, 30 tags, 4-byte count.
	f = h.exchange(request(0x22, 0x00, 0x00, 0x13, 0x01, 0xF4))
	wantSame(t, "30 tags", f.data, []byte{0x00, 0x00, 0x13, 0, 0, 0, 30})
	perPort := map[byte]int{}
	for total := 0; total < 30; {
		f = h.exchange(request(0x29, 0x01, 0xFF, 0x00))
		n := int(f.data[3])
		if !f.crcOK || n == 0 {
			t.Fatalf("buffer after %d: % X", total, f.raw)
		}
		rest := f.data[4:]
		for range n {
			var r rec
			r, rest = parseRecord(t, 0x01FF, rest)
			if !r.crcOK {
				t.Fatalf("record %+v", r)
			}
			perPort[r.antenna]++
		}
		if len(rest) != 0 {
			t.Fatalf("trailing % X", rest)
		}
		total += n
	}
	if perPort[0x11] != 10 || perPort[0x22] != 10 || perPort[0x33] != 10 {
		t.Fatalf("per port %v", perPort)
	}
}
