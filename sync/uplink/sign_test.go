package uplink

import (
	"bytes"
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/sync/wire"
)

func seedKey(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

// TestSignedBatchesAndPinnedAcks checks that every batch carries the
// gateway's signature of its head, within BatchBytes, and that with the
// centre's key pinned an ack that key did not sign moves nothing, even
// when its hash is right (whoever reads the movements topic knows it).
func TestSignedBatchesAndPinnedAcks(t *testing.T) {
	gw, centre, forger := seedKey(1), seedKey(2), seedKey(3)
	const batchBytes = 2048
	r := newRig(t, Config{BatchBytes: batchBytes, Window: 2, AckTimeout: time.Hour,
		Key: gw, CentreKey: centre.Public().(ed25519.PublicKey)}, 60)
	created := r.l.Created().UnixNano()
	b1 := r.next()
	b2 := r.next()
	for _, b := range []*wire.Batch{b1, b2} {
		if err := b.Verify(gw.Public().(ed25519.PublicKey)); err != nil {
			t.Fatalf("batch %d to %d: %v", b.First, b.Last(), err)
		}
		if b.Size() > batchBytes {
			t.Errorf("batch %d to %d: %d bytes signed, over BatchBytes %d", b.First, b.Last(), b.Size(), batchBytes)
		}
	}
	seq := b2.Last()
	signed := func(priv ed25519.PrivateKey, site string) wire.Ack {
		a := wire.NewAck(testGateway, created, seq, hashOf(t, r.l, seq))
		if priv != nil {
			a.Sign(site, priv)
		}
		return a
	}
	r.deliverAck(signed(nil, testSite))
	r.deliverAck(signed(forger, testSite))
	r.deliverAck(signed(centre, "north")) // the centre's, for another site
	r.quiet(quiet)
	if c, s := r.cursor(), r.u.Stats(); c != 0 || s.Refused != 3 {
		t.Fatalf("after forged acks: cursor %d, refused %d; want 0 and 3", c, s.Refused)
	}
	for _, want := range []string{"ack refused", "unsigned", "not signed by the centre's pinned key"} {
		if !strings.Contains(r.logs.String(), want) {
			t.Errorf("log does not say %q", want)
		}
	}
	r.deliverAck(signed(centre, testSite))
	checkFor(t, wait, "cursor at the signed ack", func() bool { return r.cursor() == seq })
}

// TestPinnedCentreKeyMasterData checks that with the centre's key pinned
// only master data it signed is applied: unsigned parts, parts signed by
// another key and the single-message format (which has no signature) are
// refused before anything is kept of them.
func TestPinnedCentreKeyMasterData(t *testing.T) {
	centre, forger := seedKey(2), seedKey(3)
	m := newMasterRigWith(t, func(c *Config) { c.CentreKey = centre.Public().(ed25519.PublicKey) })
	now := m.now()
	data := catalogue(3000, "a")
	unsigned := m.signedParts(wire.SetCatalogue, now, data, 1000, nil)
	m.send(unsigned...)
	m.send(m.signedParts(wire.SetCatalogue, now+1, data, 1000, forger)...)
	legacy, err := wire.EncodeMaster(wire.NewMaster(wire.SetCatalogue, now+2, wire.FormatCSV, []byte(data)))
	if err != nil {
		t.Fatal(err)
	}
	m.conn.deliver(t, wire.MasterTopic(testSite, wire.SetCatalogue), legacy)
	// Nothing is kept of them: not even a buffer for the set.
	want := uint64(2*len(unsigned) + 1)
	checkFor(t, wait, "every forged part refused", func() bool { return m.u.Stats().Refused == want })
	m.u.masters.mu.Lock()
	v, held, _ := m.u.masters.parts.Assembling(wire.SetCatalogue)
	m.u.masters.mu.Unlock()
	if v != 0 || held != 0 {
		t.Fatalf("assembling version %d with %d parts of unsigned or forged master data", v, held)
	}
	// The centre's own is applied.
	m.send(m.signedParts(wire.SetCatalogue, now+3, data, 1000, centre)...)
	got := m.waitApplied(1)
	if len(got) != 1 || got[0].Version != now+3 || string(got[0].Data) != data {
		t.Fatalf("applied %+v, want only the centre's version %d", got, now+3)
	}
	for _, want := range []string{"master data part refused", "unsigned", "not signed by the centre's pinned key", "the single-message format"} {
		if !strings.Contains(m.logs.String(), want) {
			t.Errorf("log does not say %q", want)
		}
	}
}

// TestSignedStatusAndWill: with its key, the gateway signs its online
// status and its last will, so that a centre that enrolled the key can
// tell them from forged ones.
func TestSignedStatusAndWill(t *testing.T) {
	gw := seedKey(1)
	pub := gw.Public().(ed25519.PublicKey)
	r := newRig(t, Config{BatchMax: 10, Key: gw}, 10)
	r.expect(1, 10)
	if len(r.status) != 1 {
		t.Fatalf("%d status publishes before the first batch, want 1", len(r.status))
	}
	if s := r.status[0]; s.Verify(pub) != nil || s.LastSeq != 10 {
		t.Errorf("online status %+v: %v", s, s.Verify(pub))
	}
	r.conn.mu.Lock()
	will := r.conn.wills[0]
	r.conn.mu.Unlock()
	ws, err := wire.DecodeStatus(will.Payload)
	if err != nil || ws.State != wire.StateOffline || ws.Verify(pub) != nil {
		t.Errorf("will %s: %v, %v", will.Payload, err, ws.Verify(pub))
	}
}

// TestPinnedResend: with the centre's key pinned, a resend request the
// centre did not sign sends nothing again (whoever can publish on the
// topic would have the whole ledger sent again); the centre's does.
func TestPinnedResend(t *testing.T) {
	centre, forger := seedKey(2), seedKey(3)
	r := newRig(t, Config{BatchMax: 10, AckTimeout: time.Hour, CentreKey: centre.Public().(ed25519.PublicKey)}, 20)
	r.expect(1, 10)
	r.expect(11, 20)
	deliver := func(key ed25519.PrivateKey, site string) {
		t.Helper()
		rs := wire.NewResend(testGateway, r.l.Created().UnixNano(), 1, "test")
		if key != nil {
			rs.Sign(site, key)
		}
		p, err := wire.EncodeResend(rs)
		if err != nil {
			t.Fatal(err)
		}
		r.conn.deliver(t, wire.ResendTopic(testSite, testGateway), p)
	}
	deliver(nil, testSite)
	deliver(forger, testSite)
	deliver(centre, "north")
	r.quiet(quiet)
	if s := r.u.Stats(); s.Refused != 3 {
		t.Fatalf("refused %d resend requests, want 3", s.Refused)
	}
	if !strings.Contains(r.logs.String(), "resend request refused") {
		t.Error("the log does not say a resend request was refused")
	}
	deliver(centre, testSite)
	r.expect(1, 10)
	r.expect(11, 20)
}
