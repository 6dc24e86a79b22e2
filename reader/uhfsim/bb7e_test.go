package uhfsim

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/reader"
)

// b5Tag is the tag of the captured notification B5.
var b5Tag = Tag{EPC: []byte{0x30, 0x75, 0x1F, 0xEB, 0x70, 0x5C, 0x59, 0x04, 0xE3, 0xD5, 0x0D, 0x70}, PC: 0x3400}

// bbCmd builds a host frame with the test's own checksum.
func bbCmd(head, tail, cmd byte, params ...byte) []byte {
	f := append([]byte{head, 0x00, cmd, byte(len(params) >> 8), byte(len(params))}, params...)
	var s byte
	for _, c := range f[1:] {
		s += c
	}
	return append(f, s, tail)
}

// bbResp builds a module frame with the test's own checksum.
func bbResp(typ, cmd byte, params ...byte) []byte {
	f := bbCmd(0xBB, 0x7E, cmd, params...)
	f[1] = typ
	f[len(f)-2] += typ
	return f
}

func newBB7E(t testing.TB, cfg BB7EConfig) (*BB7E, *host) {
	t.Helper()
	d, err := NewBB7E(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, openHost(t, d.Path())
}

// notification checks a tag notification and returns RSSI, PC, EPC.
func notification(t testing.TB, f bbframe) (int8, uint16, []byte) {
	t.Helper()
	if f.typ != 0x02 || !f.sumOK || !f.tailOK || len(f.params) < 5 {
		t.Fatalf("not a notification: % X", f.raw)
	}
	p := f.params
	body := p[1 : len(p)-2]
	if crc := uint16(p[len(p)-2])<<8 | uint16(p[len(p)-1]); crc != bitGen2(body) {
		t.Fatalf("tag CRC %04X, want %04X: % X", crc, bitGen2(body), f.raw)
	}
	return int8(p[0]), uint16(body[0])<<8 | uint16(body[1]), body[2:]
}

func TestBB7ECapturedExchange(t *testing.T) {
	v := loadVectors(t, "bb7e-frames.json")
	d, h := newBB7E(t, BB7EConfig{Round: 10 * time.Millisecond})
	next := func() bbframe { t.Helper(); return h.bb(0xBB, 0x7E) }

	h.write(v["B1"])
	wantSame(t, "B1 -> B11", next().raw, v["B11"])
	h.write(bbCmd(0xBB, 0x7E, 0x03, 0x02))
	wantSame(t, "manufacturer", next().raw, bbResp(0x01, 0x03, append([]byte{0x02}, "MagicRF"...)...))
	h.write(v["B10"])
	wantSame(t, "B10 ack", next().raw, bbResp(0x01, 0x07, 0x00))
	if d.Region() != 0x03 {
		t.Fatalf("region %02X", d.Region())
	}
	h.write(bbCmd(0xBB, 0x7E, 0x08))
	wantSame(t, "get region", next().raw, bbResp(0x01, 0x08, 0x03))
	h.write(v["B9"])
	wantSame(t, "B9 ack", next().raw, bbResp(0x01, 0xB6, 0x00))
	h.write(bbCmd(0xBB, 0x7E, 0xB7))
	wantSame(t, "get power", next().raw, bbResp(0x01, 0xB7, 0x07, 0xD0))
	h.write(bbCmd(0xBB, 0x7E, 0xB6, 0x0B, 0xB8))
	wantSame(t, "power above 26 dBm", next().raw, bbResp(0x01, 0xFF, 0x17))
	h.write(bbCmd(0xBB, 0x7E, 0x42))
	wantSame(t, "unknown command", next().raw, bbResp(0x01, 0xFF, 0x17))

	// Single poll: no tag -> B7; B5's tag -> a notification like B5.
	h.write(v["B2"])
	wantSame(t, "B2 without tags -> B7", next().raw, v["B7"])
	d.World().Place(1, b5Tag)
	h.write(v["B2"])
	f := next()
	b5 := v["B5"]
	if len(f.raw) != len(b5) || !bytes.Equal(f.raw[:5], b5[:5]) || !bytes.Equal(f.raw[6:len(f.raw)-2], b5[6:len(b5)-2]) {
		t.Fatalf("notification\n got % X\nlike % X", f.raw, b5)
	}
	if rssi, pc, epc := notification(t, f); rssi > -40 || rssi < -80 || pc != 0x3400 || !bytes.Equal(epc, b5Tag.EPC) {
		t.Fatalf("rssi %d pc %04X epc % X", rssi, pc, epc)
	}

	// Multi-poll (B3) until stopped (B4 -> B8).
	h.write(v["B3"])
	for range 3 {
		if _, _, epc := notification(t, next()); !bytes.Equal(epc, b5Tag.EPC) {
			t.Fatalf("epc % X", epc)
		}
	}
	if !d.Polling() {
		t.Fatal("not polling")
	}
	h.write(v["B4"])
	ack := next()
	for ack.typ == 0x02 { // notifications sent before the stop
		ack = next()
	}
	wantSame(t, "B4 -> B8", ack.raw, v["B8"])
	if d.Polling() {
		t.Fatal("still polling")
	}
	if b := h.pending(); len(b) != 0 {
		t.Fatalf("after the stop ack: % X", b)
	}
}

func TestBB7EMultiPollCount(t *testing.T) {
	d, h := newBB7E(t, BB7EConfig{Round: 5 * time.Millisecond, NotifyCmd: 0x27})
	h.write(bbCmd(0xBB, 0x7E, 0x27, 0x22, 0x00, 0x03))
	for range 3 {
		wantSame(t, "round without tags", h.bb(0xBB, 0x7E).raw, bbResp(0x01, 0xFF, 0x15))
	}
	eventually(t, "multi-poll ends after its count", func() bool { return !d.Polling() })
	if b := h.pending(); len(b) != 0 {
		t.Fatalf("after the count: % X", b)
	}
	// Notifications carry the configured CMD 0x27; two tags, two
	// notifications a round.
	d.World().Place(1, b5Tag, Tag{EPC: []byte{0x11, 0x22}})
	h.write(bbCmd(0xBB, 0x7E, 0x27, 0x22, 0x00, 0x02))
	for range 4 {
		if f := h.bb(0xBB, 0x7E); f.cmd != 0x27 {
			t.Fatalf("notification % X", f.raw)
		}
	}
	eventually(t, "multi-poll ends", func() bool { return !d.Polling() })
	if d.Rounds() != 5 {
		t.Fatalf("rounds %d", d.Rounds())
	}
}

func TestBB7EFramingBytesInsideEPC(t *testing.T) {
	for _, fr := range []struct {
		name       string
		framing    Framing
		head, tail byte
	}{{"BB7E", FramingBB7E, 0xBB, 0x7E}, {"AADD", FramingAADD, 0xAA, 0xDD}} {
		t.Run(fr.name, func(t *testing.T) {
			d, h := newBB7E(t, BB7EConfig{Framing: fr.framing})
			epc := []byte{0x7E, 0xBB, 0xAA, 0xDD, 0x7E, 0x7E, 0xBB, 0xBB, 0xDD, 0xAA, 0x7E, 0xBB}
			d.World().Place(1, Tag{EPC: epc})
			h.write(bbCmd(fr.head, fr.tail, 0x03, 0x00))
			f := h.bb(fr.head, fr.tail)
			if !f.sumOK || !f.tailOK || f.skipped != 0 || string(f.params[1:]) != "M100 26dBm V1.0" {
				t.Fatalf("info % X", f.raw)
			}
			h.write(bbCmd(fr.head, fr.tail, 0x22))
			f = h.bb(fr.head, fr.tail)
			if _, pc, got := notification(t, f); pc != 0x3000 || !bytes.Equal(got, epc) || f.skipped != 0 {
				t.Fatalf("pc %04X epc % X skipped %d", pc, got, f.skipped)
			}
			// The other framing's command is not understood: no answer.
			if fr.framing == FramingAADD {
				h.write(bbCmd(0xBB, 0x7E, 0x03, 0x00))
				h.write(bbCmd(fr.head, fr.tail, 0x08))
				if f := h.bb(fr.head, fr.tail); f.cmd != 0x08 {
					t.Fatalf("answered a BB frame on AA/DD: % X", f.raw)
				}
			}
		})
	}
}

func TestBB7EFaults(t *testing.T) {
	v := loadVectors(t, "bb7e-frames.json")
	link := filepath.Join(t.TempDir(), "usb-R200")
	d, h := newBB7E(t, BB7EConfig{Link: link, Round: 5 * time.Millisecond, Seed: 3, Miss: 0.5})

	// Host frames with a bad checksum are ignored.
	bad := bytes.Clone(v["B1"])
	bad[len(bad)-2]++
	h.write(bad)
	h.write(v["B1"])
	wantSame(t, "after a bad host frame", h.bb(0xBB, 0x7E).raw, v["B11"])

	noise := []byte{0x7E, 0x00, 0x13}
	if err := d.Garbage(noise); err != nil {
		t.Fatal(err)
	}
	h.write(v["B1"])
	if f := h.bb(0xBB, 0x7E); f.skipped != len(noise) || !bytes.Equal(f.raw, v["B11"]) {
		t.Fatalf("after garbage: skipped %d % X", f.skipped, f.raw)
	}

	d.CorruptNext(1)
	h.write(v["B2"])
	if f := h.bb(0xBB, 0x7E); f.sumOK || !f.tailOK || !bytes.Equal(f.params, []byte{0x15}) {
		t.Fatalf("corrupted frame % X", f.raw)
	}
	h.write(v["B2"])
	wantSame(t, "after corruption", h.bb(0xBB, 0x7E).raw, v["B7"])

	// Miss probability 0.5 over 200 single polls of one tag.
	d.World().Place(1, b5Tag)
	reads := 0
	for range 200 {
		h.write(v["B2"])
		if f := h.bb(0xBB, 0x7E); f.typ == 0x02 {
			reads++
		}
	}
	if reads < 100-4*7 || reads > 100+4*7 {
		t.Fatalf("%d reads in 200 polls with miss 0.5", reads)
	}

	d.Stall()
	h.write(v["B1"])
	if h.try(100*time.Millisecond, func(b []byte) int { return len(b) }) {
		t.Fatalf("a stalled module answered: % X", h.pending())
	}
	d.Resume()
	h.write(v["B1"])
	wantSame(t, "after resume", h.bb(0xBB, 0x7E).raw, v["B11"])

	h.write(v["B3"])
	h.bb(0xBB, 0x7E)
	d.Unplug()
	if err := h.readErr(wait); !errors.Is(err, reader.ErrHangup) {
		t.Fatalf("after unplug: %v", err)
	}
	if d.Polling() {
		t.Fatal("polling while unplugged")
	}
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Fatalf("link while unplugged: %v", err)
	}
	h.close()
	if err := d.Replug(); err != nil {
		t.Fatal(err)
	}
	h = openHost(t, link)
	h.write(v["B1"])
	wantSame(t, "after replug", h.bb(0xBB, 0x7E).raw, v["B11"])
	if d.Region() != 0x01 || d.Power() != BB7EMaxPower {
		t.Fatalf("after replug: region %02X power %d", d.Region(), d.Power())
	}
}
