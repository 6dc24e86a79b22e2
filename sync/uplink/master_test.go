package uplink

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/sync/wire"
)

// masterRig is an Uplink over a fake connection whose Apply records what
// it applies and Held says what the gateway holds.
type masterRig struct {
	*rig
	mu      sync.Mutex
	applied []wire.MasterSet
	held    map[string]uint64
	fail    map[string]error // Apply's error for a set, once
}

func newMasterRig(t *testing.T) *masterRig { return newMasterRigWith(t, nil) }

// newMasterRigWith is newMasterRig with config adjusting the uplink's
// configuration.
func newMasterRigWith(t *testing.T, config func(c *Config)) *masterRig {
	t.Helper()
	m := &masterRig{held: map[string]uint64{}, fail: map[string]error{}}
	apply := func(set, format string, data []byte, version uint64) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		if err := m.fail[set]; err != nil {
			delete(m.fail, set)
			return err
		}
		m.applied = append(m.applied, wire.MasterSet{Set: set, Format: format, Version: version, Data: bytes.Clone(data)})
		m.held[set] = version
		return nil
	}
	held := func(set string) uint64 {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.held[set]
	}
	cfg := Config{Apply: apply, Held: held}
	if config != nil {
		config(&cfg)
	}
	m.rig = newRig(t, cfg, 0)
	m.waitConnected(1)
	checkFor(t, wait, "master subscription", func() bool { return m.conn.subscribed(wire.MasterFilter(testSite)) })
	return m
}

// now is the rig's clock in Unix milliseconds: a version published now.
func (m *masterRig) now() uint64 { return uint64(m.clock.Now().UnixMilli()) }

// parts returns the payloads of data as version of set, in parts of
// chunk bytes.
func (m *masterRig) parts(set string, version uint64, data string, chunk int) [][]byte {
	m.t.Helper()
	return m.signedParts(set, version, data, chunk, nil)
}

// signedParts is parts signed by priv (unsigned for nil).
func (m *masterRig) signedParts(set string, version uint64, data string, chunk int, priv ed25519.PrivateKey) [][]byte {
	m.t.Helper()
	ps, err := wire.SplitMaster(set, version, wire.FormatCSV, []byte(data), chunk)
	if err != nil {
		m.t.Fatal(err)
	}
	if priv != nil {
		wire.SignMasterParts(testSite, ps, priv)
	}
	out := make([][]byte, len(ps))
	for i := range ps {
		if out[i], err = wire.AppendMasterPart(nil, &ps[i]); err != nil {
			m.t.Fatal(err)
		}
	}
	return out
}

// send delivers payloads as the broker would, each on the topic of its
// part.
func (m *masterRig) send(payloads ...[]byte) {
	m.t.Helper()
	for _, p := range payloads {
		part, err := wire.DecodeMasterPart(p)
		if err != nil {
			m.t.Fatal(err)
		}
		m.conn.deliver(m.t, wire.MasterPartTopic(testSite, part.Set, part.Index), p)
	}
}

// waitApplied waits until n sets were applied and returns them.
func (m *masterRig) waitApplied(n int) []wire.MasterSet {
	m.t.Helper()
	checkFor(m.t, wait, fmt.Sprintf("%d sets applied", n), func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return len(m.applied) >= n
	})
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]wire.MasterSet(nil), m.applied...)
}

// marker sends a small par set of version v and waits for it to be
// applied as the n-th set: whatever was sent before it has been handled.
func (m *masterRig) marker(v uint64, n int) {
	m.t.Helper()
	m.send(m.parts(wire.SetPar, v, "location,gtin,min,max\n", 100)...)
	if got := m.waitApplied(n); got[n-1].Set != wire.SetPar || got[n-1].Version != v {
		m.t.Fatalf("applied %v, want par version %d last", got, v)
	}
}

// catalogue returns a catalogue file of about n bytes for edition.
func catalogue(n int, edition string) string {
	var b strings.Builder
	b.WriteString("gtin,name,unit_price\n")
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "06901234100013,髋关节假体 %s %d,6850.00\n", edition, i)
	}
	return b.String()
}

// TestMasterPartsInAnyOrder: the parts of a set arrive shuffled, repeated
// and interleaved with those of an older and a newer version: the newer
// version is applied, whole, and nothing of the others.
func TestMasterPartsInAnyOrder(t *testing.T) {
	m := newMasterRig(t)
	v := m.now()
	old, cur, next := catalogue(5000, "old"), catalogue(7000, "cur"), catalogue(6000, "next")
	po, pc, pn := m.parts(wire.SetCatalogue, v-10, old, 1000), m.parts(wire.SetCatalogue, v, cur, 1000), m.parts(wire.SetCatalogue, v+1, next, 1000)
	// The current version in part, then the newer one starts: the
	// current one is dropped; its remaining and the old one's parts are
	// refused; the newer one completes.
	m.send(pc[3], pc[0], pc[0], pc[5], po[1])
	for i := range pn {
		j := len(pn) - 1 - i // in reverse order
		m.send(pn[j], pc[i%len(pc)], po[i%len(po)])
		if i == 1 {
			m.send(pn[j]) // again
		}
	}
	got := m.waitApplied(1)
	if got[0].Version != v+1 || string(got[0].Data) != next || got[0].Format != "csv" || got[0].Set != wire.SetCatalogue {
		t.Fatalf("applied version %d (%d bytes), want %d", got[0].Version, len(got[0].Data), v+1)
	}
	// The current version's parts again (a reconnection), interleaved
	// with the old one's: older than the one held, each refused with a
	// warning naming both versions, once.
	m.send(pc...)
	m.send(po...)
	m.send(pc...)
	m.marker(v, 2)
	if got := m.waitApplied(2); len(got) != 2 {
		t.Fatalf("applied %d sets", len(got))
	}
	logs := m.logs.String()
	want := fmt.Sprintf(`msg="uplink: master data refused: older than the version held" set=catalogue version=%d held=%d`, v, v+1)
	if strings.Count(logs, want) != 1 {
		t.Fatalf("log has %d of %q:\n%s", strings.Count(logs, want), want, logs)
	}
	if w := fmt.Sprintf(`version=%d held=%d`, v-10, v+1); strings.Count(logs, w) != 1 {
		t.Fatalf("log has %d of %q:\n%s", strings.Count(logs, w), w, logs)
	}
	// The version held, retained, again: quietly ignored.
	m.send(pn...)
	m.marker(v+1, 3)
	if strings.Contains(m.logs.String(), fmt.Sprintf("version=%d held=%d", v+1, v+1)) {
		t.Fatal("the version held warned about")
	}
}

// TestMasterPartLostOrCorrupted: a version with a part missing, a part
// damaged in transit (CRC) or one whose data was changed with its CRC
// made good (the digest of the whole) is never applied; the next good
// version is.
func TestMasterPartLostOrCorrupted(t *testing.T) {
	m := newMasterRig(t)
	v := m.now()
	data := catalogue(5000, "a")
	// Part 2 lost.
	p1 := m.parts(wire.SetCatalogue, v, data, 1000)
	m.send(p1[0], p1[1], p1[3], p1[4], p1[5])
	// A part damaged: refused by its CRC; the version stays incomplete.
	p2 := m.parts(wire.SetCatalogue, v+1, data, 1000)
	damaged := bytes.Clone(p2[2])
	damaged[len(damaged)/2] ^= 0x40
	m.send(p2[0], p2[1])
	m.conn.deliver(t, wire.MasterPartTopic(testSite, wire.SetCatalogue, 2), damaged)
	m.send(p2[3], p2[4], p2[5])
	// Data changed and its CRC made good: complete, but not the whole
	// the digest names.
	parts, _ := wire.SplitMaster(wire.SetCatalogue, v+2, wire.FormatCSV, []byte(data), 1000)
	forged := parts[4]
	forged.Data = bytes.Replace(bytes.Clone(forged.Data), []byte("6850.00"), []byte("0000.01"), 1)
	fp, err := wire.AppendMasterPart(nil, &forged)
	if err != nil {
		t.Fatal(err)
	}
	p3 := m.parts(wire.SetCatalogue, v+2, data, 1000)
	m.send(p3[0], p3[1], p3[2], p3[3], fp, p3[5])
	m.marker(v, 1)
	for _, s := range m.waitApplied(1) {
		if s.Set == wire.SetCatalogue {
			t.Fatalf("catalogue version %d applied", s.Version)
		}
	}
	logs := m.logs.String()
	for _, want := range []string{"master data part rejected", "crc", "do not match the digest of the whole"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log does not say %q", want)
		}
	}
	// A good version after all this.
	m.send(m.parts(wire.SetCatalogue, v+3, data, 1000)...)
	if got := m.waitApplied(2); got[1].Version != v+3 || string(got[1].Data) != data {
		t.Fatalf("applied version %d", got[1].Version)
	}
}

// TestMasterVersionRules: a version more than a day ahead of the
// gateway's clock is refused, with a warning; a version held that far
// ahead (forged, applied before the rule) is replaced by the next real
// one; a set Apply fails is not held and applies when received again;
// the single-message format is still read; what cannot be read is
// refused with a reason.
func TestMasterVersionRules(t *testing.T) {
	m := newMasterRig(t)
	now := m.now()
	day := uint64(wire.MaxMasterAhead / time.Millisecond)
	data := "gtin,lot,serial,reason,date\n04012345678901,L1,,recall,2026-11-25\n"

	m.send(m.parts(wire.SetRecalls, 1<<63-1, data, 1000)...)
	m.send(m.parts(wire.SetRecalls, now+day+1, data, 1000)...)
	m.send(m.parts(wire.SetRecalls, now+day, data, 1000)...) // a day ahead: taken
	got := m.waitApplied(1)
	if got[0].Version != now+day {
		t.Fatalf("applied version %d, want %d", got[0].Version, now+day)
	}
	if n := strings.Count(m.logs.String(), "its version is more than a day ahead of this gateway's clock"); n != 2 {
		t.Fatalf("%d warnings of a version ahead, want 2:\n%s", n, m.logs.String())
	}

	// A gateway holding a forged version (before the rule): the real one
	// replaces it.
	m.mu.Lock()
	m.held[wire.SetLots] = 1<<63 - 1
	m.mu.Unlock()
	m.send(m.parts(wire.SetLots, now, "gtin,lot,status\n", 1000)...)
	if got := m.waitApplied(2); got[1].Set != wire.SetLots || got[1].Version != now {
		t.Fatalf("applied %+v", got[1])
	}
	if !strings.Contains(m.logs.String(), "version held is more than a day ahead of this gateway's clock: replacing it") {
		t.Fatal("the replacement of a held version ahead is not logged")
	}

	// Apply fails: not held, applied when it comes again.
	m.mu.Lock()
	m.fail[wire.SetSchedules] = errors.New("line 3: bad room")
	m.mu.Unlock()
	sched := m.parts(wire.SetSchedules, now, "case,room,start,end\n", 1000)
	m.send(sched...)
	m.marker(now, 3)
	m.send(sched...)
	if got := m.waitApplied(4); got[3].Set != wire.SetSchedules {
		t.Fatalf("applied %+v", got[3])
	}
	if !strings.Contains(m.logs.String(), "line 3: bad room") {
		t.Fatal("Apply's error is not logged")
	}

	// The single-message format of an older centre.
	legacy, err := wire.EncodeMaster(wire.NewMaster(wire.SetSettlements, now, wire.FormatCSV, []byte("id,patient,case,item,amount\n")))
	if err != nil {
		t.Fatal(err)
	}
	m.conn.deliver(t, wire.MasterTopic(testSite, wire.SetSettlements), legacy)
	if got := m.waitApplied(5); got[4].Set != wire.SetSettlements || got[4].Version != now {
		t.Fatalf("applied %+v", got[4])
	}

	// What cannot be read: refused, each with its reason.
	badSum := wire.NewMaster(wire.SetSettlements, now+1, wire.FormatCSV, []byte("x\n"))
	badSum.SHA256 = strings.Repeat("0", 64)
	p, _ := jsonMarshal(badSum)
	m.conn.deliver(t, wire.MasterTopic(testSite, wire.SetSettlements), p)
	m.conn.deliver(t, wire.MasterTopic(testSite, wire.SetSchedules), []byte(`{"v":2}`))
	m.conn.deliver(t, wire.MasterTopic(testSite, wire.SetSchedules), nil) // cleared: ignored
	pp := m.parts(wire.SetRecalls, now+5, data, 1000)
	m.conn.deliver(t, wire.MasterPartTopic(testSite, wire.SetLots, 0), pp[0])
	m.conn.deliver(t, wire.MasterPartTopic(testSite, wire.SetRecalls, 1), pp[0])
	m.conn.deliver(t, wire.MasterPartTopic(testSite, wire.SetRecalls, 0), []byte("UDIP\x03"))
	m.conn.deliver(t, "udi/v1/st-marys/master/recalls/007", pp[0])
	m.marker(now+1, 6)
	logs := m.logs.String()
	for _, want := range []string{"field sha256: does not match data", "version 2, want 1", "set or part differs from its topic",
		"field version: 3, want 1 or 2", "master data on an unexpected topic ignored"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log does not say %q", want)
		}
	}
	if got := m.waitApplied(6); len(got) != 6 {
		t.Fatalf("applied %d sets", len(got))
	}
}
