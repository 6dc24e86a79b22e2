package uplink

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/sync/wire"
)

// fuzzPub is one publication of a master data set the fuzz target sends
// parts of: its payloads as the centre publishes them, and each part
// with its data changed and its CRC made good (forged).
type fuzzPub struct {
	set     string
	version uint64
	data    string
	signed  bool
	header  int // publications of equal header have equal header
	parts   [][]byte
	forged  [][]byte
	damaged [][]byte // the CRC broken
}

// fuzzPubs are the publications the fuzz target draws parts from: three
// versions of the catalogue of different sizes and chunks, a fourth
// publication that claims the third's version with other data, a
// recalls set, a version more than a day ahead of now and an unsigned
// one; all signed by key but the last.
func fuzzPubs(tb testing.TB, now time.Time, key ed25519.PrivateKey) []fuzzPub {
	v := uint64(now.UnixMilli())
	day := uint64(wire.MaxMasterAhead / time.Millisecond)
	specs := []struct {
		set     string
		version uint64
		data    string
		chunk   int
		signed  bool
	}{
		{wire.SetCatalogue, v - 3000, catalogue(300, "a"), 100, true},
		{wire.SetCatalogue, v - 2000, catalogue(500, "b"), 100, true},
		{wire.SetCatalogue, v - 1000, catalogue(200, "c"), 50, true},
		{wire.SetCatalogue, v - 1000, catalogue(220, "x"), 50, true},
		{wire.SetRecalls, v - 500, "gtin,lot,serial,reason,date\n06901234100013,L1,,recall,2026-11-25\n", 20, true},
		{wire.SetCatalogue, v + 2*day, catalogue(100, "future"), 100, true},
		{wire.SetRecalls, v, "gtin,lot,serial,reason,date\n", 10, false},
	}
	pubs := make([]fuzzPub, len(specs))
	for i, s := range specs {
		ps, err := wire.SplitMaster(s.set, s.version, wire.FormatCSV, []byte(s.data), s.chunk)
		if err != nil {
			tb.Fatal(err)
		}
		if s.signed {
			wire.SignMasterParts(testSite, ps, key)
		}
		p := fuzzPub{set: s.set, version: s.version, data: s.data, signed: s.signed, header: i}
		for j := range ps {
			enc, err := wire.AppendMasterPart(nil, &ps[j])
			if err != nil {
				tb.Fatal(err)
			}
			forged := ps[j]
			forged.Data = bytes.Clone(forged.Data)
			forged.Data[len(forged.Data)/2] ^= 0x01 // ASCII stays ASCII
			fenc, err := wire.AppendMasterPart(nil, &forged)
			if err != nil {
				tb.Fatal(err)
			}
			damaged := bytes.Clone(enc)
			damaged[len(damaged)/2] ^= 0x40
			p.parts, p.forged, p.damaged = append(p.parts, enc), append(p.forged, fenc), append(p.damaged, damaged)
		}
		pubs[i] = p
	}
	return pubs
}

// fuzzOp is one message of a fuzz input: part index of publication pub,
// as published, forged, with its CRC broken, or on another part's topic.
type fuzzOp struct {
	pub, index                 int
	forged, damaged, misplaced bool
}

// fuzzOps reads a fuzz input: its first byte's low bit pins the centre's
// key; then two bytes a message, the first choosing the publication
// (low 3 bits) and the way it is sent (the next 3 bits), the second the
// part (which may be past the publication's last: a gap).
func fuzzOps(in []byte, pubs []fuzzPub) (pinned bool, ops []fuzzOp) {
	if len(in) == 0 {
		return false, nil
	}
	pinned = in[0]&1 == 1
	for i := 1; i+1 < len(in) && len(ops) < 512; i += 2 {
		p := int(in[i]&7) % len(pubs)
		ops = append(ops, fuzzOp{pub: p, index: int(in[i+1]) % (len(pubs[p].parts) + 1),
			forged: in[i]&8 != 0, damaged: in[i]&16 != 0, misplaced: in[i]&32 != 0})
	}
	return pinned, ops
}

// assemblyModel is what the uplink must do with the parts, written
// plainly: per set, the newest version completed (applied or to be), and
// the one version in assembly, with the parts it holds and whether one
// of them was forged.
type assemblyModel struct {
	top  map[string]uint64 // the version completed last
	last map[string]int    // its publication
	asm  map[string]*modelAssembly
	done map[string]map[uint64]int // every version completed, by publication
}

type modelAssembly struct {
	pub    int
	have   map[int]bool
	forged bool
}

func (m *assemblyModel) deliver(op fuzzOp, pubs []fuzzPub, pinned bool, now time.Time) {
	p := pubs[op.pub]
	switch {
	case op.index >= len(p.parts), op.damaged, op.misplaced && len(p.parts) > 1, pinned && !p.signed:
		return // no such part, refused by its CRC, its topic or its signature
	case wire.VersionAhead(p.version, now), p.version <= m.top[p.set]:
		return // refused ahead of the clock, or not newer than what is held
	}
	as := m.asm[p.set]
	if as != nil {
		held := pubs[as.pub]
		switch {
		case p.version < held.version:
			return // superseded
		case p.version == held.version && p.header != held.header:
			delete(m.asm, p.set) // two headers for one version: dropped
			return
		case p.version > held.version:
			as = nil
		}
	}
	if as == nil {
		as = &modelAssembly{pub: op.pub, have: map[int]bool{}}
		m.asm[p.set] = as
	}
	if as.have[op.index] {
		return
	}
	as.have[op.index], as.forged = true, as.forged || op.forged
	if len(as.have) < len(p.parts) {
		return
	}
	delete(m.asm, p.set)
	if as.forged {
		return // the digest of the whole does not match
	}
	m.top[p.set], m.last[p.set] = p.version, op.pub
	if m.done[p.set] == nil {
		m.done[p.set] = map[uint64]int{}
	}
	m.done[p.set][p.version] = op.pub
}

// FuzzMasterAssembly sends any sequence of master data parts (any order,
// count, duplicates, gaps, parts of other versions, forged, damaged or
// on another part's topic, with the centre's key pinned or not) through
// the uplink's subscription handler while its applying goroutine runs:
// every set applied is the whole data of one version all of whose parts
// arrived, never a mix; each set's versions are applied in increasing
// order; and once all is handled, the version applied last is the last
// one completed, as a plain model of the rules says.
func FuzzMasterAssembly(f *testing.F) {
	clock := newFakeClock()
	now := clock.Now()
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		f.Fatal(err)
	}
	pubs := fuzzPubs(f, now, key)
	ledger := openLedger(f, "")

	seq := func(pinned byte, ops ...[3]int) []byte { // publication, part, how
		b := []byte{pinned}
		for _, o := range ops {
			b = append(b, byte(o[0]|o[2]<<3), byte(o[1]))
		}
		return b
	}
	whole := func(p int, reverse bool, how int) [][3]int {
		var ops [][3]int
		for i := range pubs[p].parts {
			if reverse {
				i = len(pubs[p].parts) - 1 - i
			}
			ops = append(ops, [3]int{p, i, how})
		}
		return ops
	}
	f.Add(seq(0, whole(0, false, 0)...))
	f.Add(seq(1, whole(1, true, 0)...))
	f.Add(seq(0, append(whole(0, false, 0), whole(1, true, 0)...)...))
	f.Add(seq(1, append(append(whole(1, false, 0), whole(0, false, 0)...), whole(4, false, 0)...)...))
	f.Add(seq(0, append(whole(2, false, 0)[:2], whole(3, false, 0)...)...)) // one version, two headers
	f.Add(seq(0, append(whole(2, false, 1), whole(2, false, 0)...)...))     // forged first
	f.Add(seq(0, append(whole(2, false, 2), whole(2, false, 0)...)...))     // damaged first
	f.Add(seq(0, append(whole(1, false, 4), whole(5, false, 0)...)...))     // misplaced; ahead
	f.Add(seq(1, append(whole(6, false, 0), whole(4, true, 0)...)...))      // unsigned, key pinned
	f.Add(seq(0, append(whole(2, false, 0), whole(1, false, 0)...)...))     // older after newer
	inter := [][3]int{}
	for i := range 8 {
		inter = append(inter, [3]int{1, i % 5, 0}, [3]int{0, i % 3, 0}, [3]int{2, i, 0}, [3]int{1, i % 5, 0})
	}
	f.Add(seq(1, inter...))
	f.Add(seq(0, whole(1, false, 0)[1:]...)) // a gap

	f.Fuzz(func(t *testing.T, in []byte) {
		pinned, ops := fuzzOps(in, pubs)
		var (
			mu      sync.Mutex
			applied []wire.MasterSet
		)
		cfg := Config{Site: testSite, Gateway: testGateway, Clock: clock,
			Apply: func(set, format string, data []byte, version uint64) error {
				mu.Lock()
				defer mu.Unlock()
				applied = append(applied, wire.MasterSet{Set: set, Format: format, Version: version, Data: bytes.Clone(data)})
				return nil
			}}
		if pinned {
			cfg.CentreKey = pub
		}
		u, err := New(cfg, ledger, newFakeConn())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan struct{})
		go func() { u.applyMasters(ctx); close(stopped) }()
		defer func() { cancel(); <-stopped }()

		model := &assemblyModel{top: map[string]uint64{}, last: map[string]int{}, asm: map[string]*modelAssembly{}, done: map[string]map[uint64]int{}}
		for _, op := range ops {
			p := pubs[op.pub]
			index, payload := op.index, []byte(nil)
			switch {
			case op.index >= len(p.parts):
				payload = p.parts[0][:len(p.parts[0])/2] // cut short: a gap in its place
			case op.damaged:
				payload = p.damaged[index]
			case op.forged:
				payload = p.forged[index]
			default:
				payload = p.parts[index]
			}
			if op.misplaced {
				index = (index + 1) % len(p.parts)
			}
			u.onMaster(wire.MasterPartTopic(testSite, p.set, index), payload)
			model.deliver(op, pubs, pinned, now)
		}
		checkFor(t, wait, "the sets completed applied", func() bool {
			b := &u.masters
			b.mu.Lock()
			defer b.mu.Unlock()
			return len(b.pending) == 0 && len(b.busy) == 0
		})
		mu.Lock()
		defer mu.Unlock()
		latest := map[string]uint64{}
		for _, s := range applied {
			i, ok := model.done[s.Set][s.Version]
			if !ok {
				t.Fatalf("%s version %d applied, never completed: %s", s.Set, s.Version, describe(ops))
			}
			if string(s.Data) != pubs[i].data || s.Format != wire.FormatCSV {
				t.Fatalf("%s version %d applied with other data (%d bytes, want %d): %s", s.Set, s.Version, len(s.Data), len(pubs[i].data), describe(ops))
			}
			if s.Version <= latest[s.Set] {
				t.Fatalf("%s version %d applied after version %d: %s", s.Set, s.Version, latest[s.Set], describe(ops))
			}
			latest[s.Set] = s.Version
		}
		for set, v := range model.top {
			if latest[set] != v {
				t.Fatalf("%s: version %d applied last, want %d (publication %d): %s", set, latest[set], v, model.last[set], describe(ops))
			}
		}
		if len(latest) != len(model.top) {
			t.Fatalf("applied %v, want %v: %s", latest, model.top, describe(ops))
		}
	})
}

// describe writes ops for a failure.
func describe(ops []fuzzOp) string {
	var b bytes.Buffer
	for _, o := range ops {
		fmt.Fprintf(&b, "%d/%d", o.pub, o.index)
		for _, f := range []struct {
			on   bool
			name string
		}{{o.forged, "forged"}, {o.damaged, "damaged"}, {o.misplaced, "misplaced"}} {
			if f.on {
				b.WriteString("," + f.name)
			}
		}
		b.WriteByte(' ')
	}
	return b.String()
}
