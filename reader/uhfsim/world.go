package uhfsim

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Tag is one Gen2 UHF tag as a reader sees it: its EPC and its PC word.
type Tag struct {
	// EPC is the EPC memory's identifier, a whole number of 16-bit words
	// (at most 62 bytes).
	EPC []byte
	// PC is the tag's protocol-control word. Zero means "derive it": the
	// length field L set to the EPC's word count, every other bit clear,
	// as a reader writes when it commissions a tag. When the XI bit
	// (0x0200) is set the tag also backscatters an XPC_W1 word of 0x0000,
	// which its CRC covers.
	PC uint16
}

// WordPC returns the PC word the tag backscatters: t.PC, or when it is
// zero the PC derived from the EPC's length.
func (t Tag) WordPC() uint16 {
	if t.PC != 0 {
		return t.PC
	}
	return uint16((len(t.EPC)+1)/2) << 11
}

// backscatter returns what the tag sends after the PC is chosen: PC, XPC_W1
// when XI is set, and the EPC, followed by its Gen2 CRC.
func (t Tag) backscatter() (pcEPC []byte, crc uint16) {
	pc := t.WordPC()
	b := []byte{byte(pc >> 8), byte(pc)}
	if pc&0x0200 != 0 {
		b = append(b, 0, 0)
	}
	b = append(b, t.EPC...)
	return b, gen2CRC(b)
}

func (t Tag) clone() Tag {
	return Tag{EPC: bytes.Clone(t.EPC), PC: t.PC}
}

// World is the scripted physical scene the simulated readers look at:
// which tags lie in the field of which antenna. Antennas are numbered by
// the world (1, 2, 3 …); each device maps its ports onto world antennas,
// so several devices can share one world and a tag moved from a cabinet
// antenna to an OR antenna is seen by whichever reader owns that antenna.
//
// Every method is safe to call concurrently, also while devices stream
// reads: a device takes a snapshot of each antenna at the start of a round.
// The same EPC may be placed on several antennas (a tag between two
// shelves is read by both antennas, as in a real cabinet).
type World struct {
	mu   sync.Mutex
	ants map[int][]Tag
}

// NewWorld returns an empty world.
func NewWorld() *World {
	return &World{ants: make(map[int][]Tag)}
}

// Place puts tags into the field of antenna. A tag whose EPC is already on
// that antenna replaces it (its PC may change); the others are added in
// order. The tags are copied.
func (w *World) Place(antenna int, tags ...Tag) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, t := range tags {
		w.put(antenna, t.clone())
	}
}

func (w *World) put(antenna int, t Tag) {
	list := w.ants[antenna]
	for i := range list {
		if bytes.Equal(list[i].EPC, t.EPC) {
			list[i] = t
			return
		}
	}
	w.ants[antenna] = append(list, t)
}

// Remove takes the tag with this EPC out of antenna's field and reports
// whether it was there.
func (w *World) Remove(antenna int, epc []byte) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.take(antenna, epc)
	return ok
}

func (w *World) take(antenna int, epc []byte) (Tag, bool) {
	list := w.ants[antenna]
	for i := range list {
		if bytes.Equal(list[i].EPC, epc) {
			t := list[i]
			w.ants[antenna] = append(list[:i:i], list[i+1:]...)
			return t, true
		}
	}
	return Tag{}, false
}

// Move takes the tag with this EPC from antenna from to antenna to in one
// step (no reader sees it on both or on neither), and reports whether it
// was on from.
func (w *World) Move(from, to int, epc []byte) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	t, ok := w.take(from, epc)
	if ok {
		w.put(to, t)
	}
	return ok
}

// Clear empties antenna's field.
func (w *World) Clear(antenna int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.ants, antenna)
}

// Tags returns a copy of the tags in antenna's field, in the order they
// were placed.
func (w *World) Tags(antenna int) []Tag {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Tag, len(w.ants[antenna]))
	for i, t := range w.ants[antenna] {
		out[i] = t.clone()
	}
	return out
}

// rewrite changes the EPC of the tag with EPC old in antenna's field, and
// the length field of its PC to match, as a write of the EPC memory does.
// It reports whether the tag was still there.
func (w *World) rewrite(antenna int, old, epc []byte) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	list := w.ants[antenna]
	for i := range list {
		if bytes.Equal(list[i].EPC, old) {
			pc := list[i].WordPC()&^0xF800 | uint16(len(epc)/2)<<11
			list[i] = Tag{EPC: bytes.Clone(epc), PC: pc}
			return true
		}
	}
	return false
}

// Step is one timed step of a Script.
type Step struct {
	// At is when the step runs, measured from the start of Play.
	At time.Duration
	// Note says what happens, for the demo's narration.
	Note string
	// Do changes the world.
	Do func(*World)
}

// Script is a list of steps played in the order of their At times (steps
// with equal times in list order).
type Script []Step

// Play runs the steps against w, each at its time, calling notify (when
// not nil) after each step. It returns when every step has run, or with
// ctx's error when ctx is done first.
func (s Script) Play(ctx context.Context, w *World, notify func(Step)) error {
	start := time.Now()
	order := make([]int, len(s))
	for i := range order {
		order[i] = i
	}
	// Stable insertion sort by At: scripts are short.
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && s[order[j]].At < s[order[j-1]].At; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	for _, i := range order {
		st := s[i]
		if wait := st.At - time.Since(start); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		} else if err := ctx.Err(); err != nil {
			return err
		}
		if st.Do != nil {
			st.Do(w)
		}
		if notify != nil {
			notify(st)
		}
	}
	return nil
}

// DemoItem is one tagged implant of the demonstration cabinet.
type DemoItem struct {
	// Name is a human-readable product name.
	Name string
	// GTIN is the item's GTIN-14 and Serial its serial number; the tag's
	// EPC is the SGTIN-96 of the pair, so the item key is
	// (01)GTIN(21)Serial.
	GTIN, Serial string
	// Tag is the item's tag.
	Tag Tag
	// Antenna is the cabinet antenna the item starts on.
	Antenna int
}

// DemoLayout names the world antennas of the demonstration.
type DemoLayout struct {
	// Shelf1 and Shelf2 are the cabinet's two antennas (defaults 1, 2).
	Shelf1, Shelf2 int
	// OR is the operating room's antenna (default 3).
	OR int
	// TakeOut is when one implant leaves the cabinet (default 5 s) and
	// AtOR when it appears at the OR antenna (default 10 s).
	TakeOut, AtOR time.Duration
}

// demoCompanyPrefix is a fictitious 7-digit GS1 company prefix in the
// range GS1 China issues (690–699).
const demoCompanyPrefix = "6901234"

// Demo returns the demonstration scene: a cabinet holding a dozen tagged
// implants, six on each shelf antenna; at TakeOut the fifth is taken out
// (it leaves every antenna), and at AtOR it is seen at the OR antenna. The
// items carry SGTIN-96 EPCs under a fictitious company prefix, so their
// item keys are (01)GTIN(21)serial as the agent derives them.
func Demo(l DemoLayout) ([]DemoItem, Script) {
	if l.Shelf1 == 0 {
		l.Shelf1 = 1
	}
	if l.Shelf2 == 0 {
		l.Shelf2 = 2
	}
	if l.OR == 0 {
		l.OR = 3
	}
	if l.TakeOut == 0 {
		l.TakeOut = 5 * time.Second
	}
	if l.AtOR == 0 {
		l.AtOR = 10 * time.Second
	}
	products := []struct{ name, ref string }{
		{"hip stem, cementless, size 12", "010001"},
		{"acetabular cup 52 mm", "010002"},
		{"knee femoral component, size 4", "010003"},
		{"coronary stent 3.0 x 18 mm", "020001"},
		{"pacemaker, dual chamber", "020002"},
		{"bone screw 4.5 x 40 mm", "010004"},
	}
	var items []DemoItem
	for i := range 12 {
		p := products[i%len(products)]
		serial := uint64(100101 + i)
		epc, gtin := sgtin96(1, demoCompanyPrefix, p.ref, serial)
		ant := l.Shelf1
		if i >= 6 {
			ant = l.Shelf2
		}
		items = append(items, DemoItem{
			Name: p.name, GTIN: gtin, Serial: strconv.FormatUint(serial, 10),
			Tag: Tag{EPC: epc}, Antenna: ant,
		})
	}
	taken := items[4]
	s := Script{
		{At: 0, Note: "cabinet stocked: 12 implants on the two shelf antennas", Do: func(w *World) {
			for _, it := range items {
				w.Place(it.Antenna, it.Tag)
			}
		}},
		{At: l.TakeOut, Note: fmt.Sprintf("%s (serial %s) taken out of the cabinet", taken.Name, taken.Serial), Do: func(w *World) {
			w.Remove(l.Shelf1, taken.Tag.EPC)
			w.Remove(l.Shelf2, taken.Tag.EPC)
		}},
		{At: l.AtOR, Note: fmt.Sprintf("%s (serial %s) seen at the OR antenna", taken.Name, taken.Serial), Do: func(w *World) {
			w.Place(l.OR, taken.Tag)
		}},
	}
	return items, s
}

// sgtin96 encodes an SGTIN-96 EPC (header 0x30) for a company prefix of 6
// to 12 digits, an indicator-and-item-reference of 13 minus that many
// digits (indicator first) and a serial below 2^38, and returns it with the
// GTIN-14 it stands for. It panics on input outside those rules: it is used
// only for the fixed demonstration data.
func sgtin96(filter uint64, prefix, itemRef string, serial uint64) ([]byte, string) {
	cpBits := map[int]uint{12: 40, 11: 37, 10: 34, 9: 30, 8: 27, 7: 24, 6: 20}
	pb, ok := cpBits[len(prefix)]
	if !ok || len(prefix)+len(itemRef) != 13 || serial >= 1<<38 {
		panic("uhfsim: bad SGTIN-96 fields")
	}
	part := uint64(12 - len(prefix))
	cp, _ := strconv.ParseUint(prefix, 10, 64)
	ir, _ := strconv.ParseUint(itemRef, 10, 64)
	irBits := 44 - pb
	// 96 bits: header 8 | filter 3 | partition 3 | cp | ir | serial 38.
	hi := uint64(0x30)<<56 | filter<<53 | part<<50 | cp<<(50-pb) | ir<<(50-pb-irBits) | serial>>32
	lo := serial & 0xFFFFFFFF
	epc := make([]byte, 12)
	for i := range 8 {
		epc[i] = byte(hi >> (56 - 8*i))
	}
	epc[8] = byte(lo >> 24)
	epc[9] = byte(lo >> 16)
	epc[10] = byte(lo >> 8)
	epc[11] = byte(lo)
	digits := itemRef[:1] + prefix + itemRef[1:]
	sum := 0
	for i := range 13 {
		d := int(digits[i] - '0')
		if i%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return epc, digits + strconv.Itoa((10-sum%10)%10)
}
