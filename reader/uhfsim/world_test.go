package uhfsim

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func TestChecks(t *testing.T) {
	check := []byte("123456789")
	if got := mercuryCRC(check); got != 0xA69D {
		t.Fatalf("Mercury CRC of 123456789 = %04X", got)
	}
	if got := mercuryCRC([]byte{0x00, 0x03}); got != 0x1D0C {
		t.Fatalf("Mercury CRC of 00 03 = %04X", got)
	}
	if got := gen2CRC(check); got != 0xD64E {
		t.Fatalf("Gen2 CRC of 123456789 = %04X", got)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		p := make([]byte, rng.IntN(64))
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		if mercuryCRC(p) != bitCRC(p) || gen2CRC(p) != bitGen2(p) {
			t.Fatalf("table and bit forms differ on % X", p)
		}
	}
	// Every captured Mercury frame's CRC, and the tag CRC of each record.
	for id, f := range loadVectors(t, "mercury-frames.json") {
		n := len(f)
		if binary.BigEndian.Uint16(f[n-2:]) != mercuryCRC(f[1:n-2]) {
			t.Errorf("%s: frame CRC", id)
		}
		if f[2] == 0x22 && n > 30 { // T7, T7c, T7e: PC+EPC+CRC end the data
			body := f[n-2-16 : n-4]
			if binary.BigEndian.Uint16(f[n-4:]) != gen2CRC(body) {
				t.Errorf("%s: tag CRC", id)
			}
		}
	}
	for id, f := range loadVectors(t, "bb7e-frames.json") {
		n := len(f)
		if f[n-2] != bb7eSum(f[1:n-2]) {
			t.Errorf("%s: checksum", id)
		}
		if f[1] == 0x02 {
			if binary.BigEndian.Uint16(f[n-4:]) != gen2CRC(f[6:n-4]) {
				t.Errorf("%s: tag CRC", id)
			}
		}
	}
	// The tag CRC the simulator sends for T7's tag.
	if pcEPC, crc := t7Tag.backscatter(); crc != 0x1985 || len(pcEPC) != 14 {
		t.Fatalf("T7 tag CRC %04X", crc)
	}
	if _, crc := b5Tag.backscatter(); crc != 0x3A76 {
		t.Fatalf("B5 tag CRC %04X", crc)
	}
}

func TestSGTIN96(t *testing.T) {
	// GS1 TDS Annex E: filter 3, company prefix 0614141, item 812345, serial 6789.
	epc, gtin := sgtin96(3, "0614141", "812345", 6789)
	want := []byte{0x30, 0x74, 0x25, 0x7B, 0xF7, 0x19, 0x4E, 0x40, 0x00, 0x00, 0x1A, 0x85}
	if !bytes.Equal(epc, want) || gtin != "80614141123458" {
		t.Fatalf("got % X %s", epc, gtin)
	}
	if (Tag{EPC: epc}).WordPC() != 0x3000 {
		t.Fatal("derived PC")
	}
}

func TestWorld(t *testing.T) {
	w := NewWorld()
	a, b := Tag{EPC: []byte{1, 1}}, Tag{EPC: []byte{2, 2}, PC: 0x0800}
	w.Place(1, a, b)
	w.Place(1, Tag{EPC: []byte{1, 1}, PC: 0x0C00}) // replaces
	if got := w.Tags(1); len(got) != 2 || got[0].PC != 0x0C00 {
		t.Fatalf("tags %+v", got)
	}
	got := w.Tags(1)
	got[0].EPC[0] = 9 // a copy
	if w.Tags(1)[0].EPC[0] != 1 {
		t.Fatal("Tags shares memory")
	}
	if !w.Move(1, 2, b.EPC) || w.Move(1, 2, b.EPC) {
		t.Fatal("Move")
	}
	if len(w.Tags(1)) != 1 || len(w.Tags(2)) != 1 {
		t.Fatal("after Move")
	}
	if !w.Remove(2, b.EPC) || w.Remove(2, b.EPC) {
		t.Fatal("Remove")
	}
	w.Clear(1)
	if len(w.Tags(1)) != 0 {
		t.Fatal("Clear")
	}
}

func TestScript(t *testing.T) {
	items, s := Demo(DemoLayout{TakeOut: 20 * time.Millisecond, AtOR: 40 * time.Millisecond})
	if len(items) != 12 {
		t.Fatalf("%d items", len(items))
	}
	for _, it := range items {
		if len(it.GTIN) != 14 || it.Tag.EPC[0] != 0x30 {
			t.Fatalf("item %+v", it)
		}
	}
	w := NewWorld()
	var mu sync.Mutex
	var notes []string
	start := time.Now()
	if err := s.Play(context.Background(), w, func(st Step) {
		mu.Lock()
		notes = append(notes, st.Note)
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 40*time.Millisecond || len(notes) != 3 {
		t.Fatalf("played %v in %v", notes, time.Since(start))
	}
	if len(w.Tags(1)) != 5 || len(w.Tags(2)) != 6 || len(w.Tags(3)) != 1 || !bytes.Equal(w.Tags(3)[0].EPC, items[4].Tag.EPC) {
		t.Fatalf("scene: %d %d %d", len(w.Tags(1)), len(w.Tags(2)), len(w.Tags(3)))
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (Script{{At: time.Hour}}).Play(ctx, w, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled play: %v", err)
	}
}

// TestDemoAcrossDevices plays the demonstration with a Mercury reader on
// the cabinet's two shelves and a BB7E module at the OR, changing the world
// while both stream.
func TestDemoAcrossDevices(t *testing.T) {
	items, script := Demo(DemoLayout{TakeOut: 30 * time.Millisecond, AtOR: 60 * time.Millisecond})
	w := NewWorld()
	m, mh := newMercury(t, MercuryConfig{World: w, Antennas: []int{1, 2}, Region: 0x06, Round: 5 * time.Millisecond})
	_, bh := newBB7E(t, BB7EConfig{World: w, Antenna: 3, Round: 5 * time.Millisecond})
	mh.exchange(start(0x10, 0x001B, 0x0006))
	bh.write(bbCmd(0xBB, 0x7E, 0x27, 0x22, 0xFF, 0xFF))
	if err := script.Play(context.Background(), w, nil); err != nil {
		t.Fatal(err)
	}
	taken := items[4].Tag.EPC
	bh.bbUntil("the implant at the OR", func(f bbframe) bool {
		return f.typ == 0x02 && bytes.Equal(f.params[3:len(f.params)-2], taken)
	})
	// The cabinet reader no longer sees the implant. The host has kept
	// every frame since the start: round k ends with the k-th keep-alive,
	// and rounds that began after this point must not contain it.
	r0 := m.Rounds()
	n, reads := 0, 0
	mh.until("rounds", func(f mframe) bool {
		if isKeepAlive(f) {
			n++
		} else if n >= r0+1 && f.status == 0 {
			reads++
			if bytes.Equal(streamed(t, f).epc, taken) {
				t.Fatalf("taken implant still read in the cabinet in round %d (after %d)", n+1, r0)
			}
		}
		return n == r0+3
	})
	if reads != 2*11 {
		t.Fatalf("%d reads in two rounds, want 22", reads)
	}
	if !m.Reading() {
		t.Fatal("cabinet reader stopped")
	}
}
