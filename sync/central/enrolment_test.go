package central_test

import (
	"bytes"
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
	"github.com/udi-edge/udi-edge/sync/sign"
	"github.com/udi-edge/udi-edge/sync/wire"
)

func seedKey(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

// signed returns the batch of movements first to last of l, signed by
// priv (unsigned for nil).
func signed(t *testing.T, l *testkit.Ledger, first, last uint64, priv ed25519.PrivateKey) []byte {
	t.Helper()
	b := l.Batch(first, last)
	if priv != nil {
		b.Sign(priv)
	}
	p, err := wire.AppendBatch(nil, b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestEnrolment checks that with an enrolment the centre stores a
// gateway's movements only under its enrolled key, that whatever comes
// from a gateway nobody enrolled leaves no trace but a count, and that
// every ack carries the centre's signature.
func TestEnrolment(t *testing.T) {
	gwKey, forger, centre := seedKey(1), seedKey(2), seedKey(3)
	e := sign.NewEnrolment()
	if err := e.Add(site, "or-3", sign.Public(gwKey)); err != nil {
		t.Fatal(err)
	}
	if err := e.Add(site, "or-4", sign.Public(seedKey(4))); err != nil {
		t.Fatal(err)
	}
	f := newFixtureWith(t, func(c *central.Config) { c.Enrolment, c.Key = e, centre })
	l := testkit.NewLedger(site, "or-3", created)
	l.AddN(t, 6)

	// Unsigned, or signed by another key: refused, nothing stored, no ack.
	f.sendRaw("or-3", signed(t, l, 1, 3, nil))
	f.sendRaw("or-3", signed(t, l, 1, 3, forger))
	f.waitCounters("or-3", func(c central.Counters) bool { return c.BadSignatures == 2 })
	if info := f.info("or-3"); info.Seq != 0 || info.Counters.Stored != 0 || !info.Enrolled {
		t.Fatalf("after forged batches: %+v", info)
	}
	if n := len(f.conn.Published()); n != 0 {
		t.Fatalf("%d messages published for forged batches: %s", n, describe(f.conn.Published()))
	}
	for _, want := range []string{"batch refused: signature", "unsigned", "not signed by the key gateway st-marys/or-3 is enrolled with"} {
		if !strings.Contains(f.logs.String(), want) {
			t.Errorf("log does not say %q", want)
		}
	}

	// Signed by its key: stored and acknowledged, the ack signed.
	f.sendRaw("or-3", signed(t, l, 1, 3, gwKey))
	ms := f.published(1)
	a, err := wire.DecodeAck(ms[0].Payload)
	if err != nil || a.Seq != 3 {
		t.Fatalf("ack %s: %v", ms[0].Payload, err)
	}
	if err := a.Verify(site, sign.Public(centre)); err != nil {
		t.Errorf("ack not signed by the centre: %v", err)
	}

	// A gateway nobody enrolled: its batch and status leave nothing.
	stranger := testkit.NewLedger(site, "or-9", created)
	stranger.AddN(t, 2)
	f.sendRaw("or-9", signed(t, stranger, 1, 2, forger))
	st, _ := wire.EncodeStatus(wire.Status{V: 1, Gateway: "or-9", Site: site, State: wire.StateOnline, Time: f.clock.Now()})
	f.conn.Deliver(t, wire.StatusFilter(site), wire.StatusTopic(site, "or-9"), st)
	testkit.WaitFor(t, 5*time.Second, "the stranger's messages refused", func() bool { return f.svc.Strangers() == 2 })
	gs, err := f.svc.Gateways(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, g := range gs {
		ids = append(ids, g.Gateway)
		if !g.Enrolled {
			t.Errorf("%s listed, not enrolled", g.Gateway)
		}
	}
	// or-4 is enrolled and has sent nothing yet: listed, so that an
	// operator sees it missing.
	if strings.Join(ids, ",") != "or-3,or-4" {
		t.Errorf("gateways listed: %v, want or-3 and or-4", ids)
	}
	if n := len(f.conn.Published()); n != 1 {
		t.Errorf("%d messages published, want the one ack: %s", n, describe(f.conn.Published()))
	}
	if !strings.Contains(f.logs.String(), "gateway not enrolled") {
		t.Error("the log does not say a gateway not enrolled was refused")
	}
}

// TestSameGatewayIDOnTwoSites checks that a gateway id is unique within
// its site only: or-1 of two sites are two gateways.
func TestSameGatewayIDOnTwoSites(t *testing.T) {
	f := newFixtureWith(t, func(c *central.Config) { c.Sites = []string{site, "north"} })
	a := testkit.NewLedger(site, "or-1", created)
	a.AddN(t, 3)
	b := testkit.NewLedger("north", "or-1", created+1)
	b.AddN(t, 5)
	f.sendRaw("or-1", a.Payload(t, 1, 3))
	f.conn.Deliver(t, wire.MovementsFilter("north"), wire.MovementsTopic("north", "or-1"), b.Payload(t, 1, 5))
	f.published(2)
	gs, err := f.svc.Gateways(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 2 {
		t.Fatalf("%d gateways listed, want 2: %+v", len(gs), gs)
	}
	for _, g := range gs {
		want := map[string]uint64{site: 3, "north": 5}[g.Site]
		if g.Gateway != "or-1" || g.Seq != want || g.Ledgers != 1 || g.Counters.Stored != want {
			t.Errorf("%s/%s: seq %d, %d ledgers, stored %d; want %d, 1, %d", g.Site, g.Gateway, g.Seq, g.Ledgers, g.Counters.Stored, want, want)
		}
	}
}

// TestEnrolledStatus: the status of a gateway enrolled with a key is
// taken only signed by that key; a forged one (unsigned, or signed by
// another key) changes nothing the centre shows.
func TestEnrolledStatus(t *testing.T) {
	gwKey, forger := seedKey(1), seedKey(2)
	e := sign.NewEnrolment()
	if err := e.Add(site, "or-3", sign.Public(gwKey)); err != nil {
		t.Fatal(err)
	}
	f := newFixtureWith(t, func(c *central.Config) { c.Enrolment = e })
	send := func(state string, seq uint64, key ed25519.PrivateKey) {
		t.Helper()
		st := wire.Status{V: wire.JSONVersion, Gateway: "or-3", Site: site, State: state, Time: f.clock.Now(), LastSeq: seq, AckedSeq: seq}
		if key != nil {
			st.Sign(key)
		}
		p, err := wire.EncodeStatus(st)
		if err != nil {
			t.Fatal(err)
		}
		f.conn.Deliver(t, wire.StatusFilter(site), wire.StatusTopic(site, "or-3"), p)
	}
	send(wire.StateOnline, 7, gwKey)
	testkit.WaitFor(t, 5*time.Second, "the signed status", func() bool { return f.info("or-3").State == wire.StateOnline })
	send(wire.StateOffline, 0, nil)
	send(wire.StateOffline, 0, forger)
	send(wire.StateOnline, 99, forger)
	testkit.WaitFor(t, 5*time.Second, "the forged statuses refused", func() bool {
		return strings.Count(f.logs.String(), "status refused: signature") == 3
	})
	if info := f.info("or-3"); info.State != wire.StateOnline || info.LastSeq != 7 {
		t.Fatalf("after forged statuses: %s, last seq %d; want online at 7", info.State, info.LastSeq)
	}
	send(wire.StateOffline, 0, gwKey)
	testkit.WaitFor(t, 5*time.Second, "the signed will", func() bool { return f.info("or-3").State == wire.StateOffline })
}

// TestSignedResendRequest: a centre with a key signs the resend requests
// it sends, so that a gateway pinning its key acts on them and on no
// one else's.
func TestSignedResendRequest(t *testing.T) {
	centre := seedKey(3)
	f := newFixtureWith(t, func(c *central.Config) { c.Key = centre })
	l := testkit.NewLedger(site, "or-3", created)
	l.AddN(t, 6)
	f.sendRaw("or-3", signed(t, l, 4, 6, nil)) // a gap: 1 to 3 missing
	ms := f.published(1)
	if ms[0].Topic != wire.ResendTopic(site, "or-3") {
		t.Fatalf("published %s", describe(ms))
	}
	r, err := wire.DecodeResend(ms[0].Payload)
	if err != nil || r.From != 1 {
		t.Fatalf("resend %s: %v", ms[0].Payload, err)
	}
	if err := r.Verify(site, sign.Public(centre)); err != nil {
		t.Errorf("resend not signed by the centre: %v", err)
	}
}
