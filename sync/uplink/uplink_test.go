package uplink

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/wire"
)

const quiet = 30 * time.Millisecond

func TestNewConfig(t *testing.T) {
	l := openLedger(t, "")
	conn := newFakeConn()
	ok := Config{Site: testSite, Gateway: testGateway}
	if _, err := New(ok, l, conn); err != nil {
		t.Fatalf("New: %v", err)
	}
	for _, tc := range []struct {
		field string
		edit  func(*Config)
	}{
		{"Site", func(c *Config) { c.Site = "a/b" }},
		{"Gateway", func(c *Config) { c.Gateway = "" }},
		{"Gateway", func(c *Config) { c.Gateway = "master" }},
		{"Gateway", func(c *Config) { c.Gateway = "or-4" }}, // not the ledger's
		{"BatchBytes", func(c *Config) { c.BatchBytes = 100 }},
		{"BatchBytes", func(c *Config) { c.BatchBytes = wire.MaxBatchSize + 1 }},
		{"BatchMax", func(c *Config) { c.BatchMax = -1 }},
		{"BatchMax", func(c *Config) { c.BatchMax = wire.MaxBatchCount + 1 }},
		{"Window", func(c *Config) { c.Window = -1 }},
		{"AckTimeout", func(c *Config) { c.AckTimeout = -time.Second }},
		{"BackoffMax", func(c *Config) { c.BackoffMin, c.BackoffMax = time.Minute, time.Second }},
		{"Version", func(c *Config) { c.Version = strings.Repeat("v", 65) }},
	} {
		cfg := ok
		tc.edit(&cfg)
		_, err := New(cfg, l, conn)
		var ce *ConfigError
		if !errors.Is(err, ErrConfig) || !errors.As(err, &ce) || ce.Field != tc.field {
			t.Errorf("New with a bad %s = %v", tc.field, err)
		}
	}
}

func TestBatchingByCount(t *testing.T) {
	r := newRig(t, Config{BatchMax: 10}, 35)
	r.expect(1, 10)
	r.expect(11, 20)
	r.expect(21, 30)
	r.expect(31, 35)
	r.quiet(quiet)
	if s := r.u.Stats(); s.Batches != 4 || s.Movements != 35 || s.InFlight != 4 || s.LastSeq != 35 || s.Acked != 0 || !s.Connected {
		t.Errorf("Stats = %+v", s)
	}
}

func TestBatchingByBytes(t *testing.T) {
	const limit = 2048
	r := newRig(t, Config{BatchBytes: limit, Window: 100}, 100)
	next := uint64(1)
	for next <= 100 {
		b := r.next()
		if b.First != next {
			t.Fatalf("batch from %d, want %d", b.First, next)
		}
		size := b.Size()
		if size > limit {
			t.Fatalf("batch %d to %d of %d bytes exceeds %d", b.First, b.Last(), size, limit)
		}
		if b.Last() < 100 {
			// Full: one more record would not have fitted.
			recs, _ := r.l.ReadRecords(b.Last()+1, 1, 0)
			if size+wire.RecordSize(len(recs[0])) <= limit {
				t.Fatalf("batch %d to %d of %d bytes had room for the next record", b.First, b.Last(), size)
			}
		}
		next = b.Last() + 1
	}
}

func TestOneLargeRecordTravelsAlone(t *testing.T) {
	// A movement over BatchBytes still travels, alone, and does not hold
	// up the ones after it.
	r := newRig(t, Config{BatchBytes: 1024, Window: 4}, 0)
	big := agent.Movement{Kind: agent.KindReceive, Item: "(01)04012345678901(21)BIG", Raw: bytes.Repeat([]byte("x"), 3000), Patient: patientSecret}
	if _, err := r.l.Append(t.Context(), big); err != nil {
		t.Fatal(err)
	}
	fill(t, r.l, 1)
	b := r.expect(1, 1)
	if b.Size() <= 1024 {
		t.Fatalf("the large movement in a batch of %d bytes", b.Size())
	}
	r.expect(2, 2)
}

func TestWindowBound(t *testing.T) {
	r := newRig(t, Config{BatchMax: 5, Window: 3}, 100)
	r.expect(1, 5)
	r.expect(6, 10)
	r.expect(11, 15)
	r.quiet(quiet) // the window is full
	if s := r.u.Stats(); s.InFlight != 3 {
		t.Fatalf("InFlight = %d, want 3", s.InFlight)
	}
	r.ack(5)
	r.expect(16, 20)
	r.quiet(quiet)
	r.ack(13) // part of a batch: that batch stays in flight
	r.expect(21, 25)
	r.quiet(quiet)
	r.ack(25) // all
	r.expect(26, 30)
	r.expect(31, 35)
	r.expect(36, 40)
	r.quiet(quiet)
	if c := r.cursor(); c != 25 {
		t.Fatalf("cursor %d, want 25", c)
	}
}

func TestAckAdvancesCursorOnlyWhenItMatches(t *testing.T) {
	r := newRig(t, Config{BatchMax: 10, Window: 2, AckTimeout: time.Hour}, 50)
	r.expect(1, 10)
	r.expect(11, 20)
	created := r.l.Created().UnixNano()

	r.ack(10)
	r.expect(21, 30)
	checkFor(t, wait, "cursor 10", func() bool { return r.cursor() == 10 })

	// Not acks of this ledger: nothing changes, the first mismatch sends
	// again from the cursor + 1, later ones within the ack timeout not.
	bad := []struct {
		name string
		ack  wire.Ack
	}{
		{"wrong hash", wire.NewAck(testGateway, created, 20, hashOf(t, r.l, 19))},
		{"wrong created", wire.NewAck(testGateway, created+1, 20, hashOf(t, r.l, 20))},
		{"beyond the ledger", wire.NewAck(testGateway, created, 51, hashOf(t, r.l, 20))},
	}
	r.deliverAck(bad[0].ack)
	r.expect(11, 20)
	r.expect(21, 30)
	for _, tc := range bad {
		r.deliverAck(tc.ack)
	}
	// Another gateway's and malformed acks are ignored.
	r.deliverAck(wire.NewAck("or-9", created, 20, hashOf(t, r.l, 20)))
	r.conn.deliver(t, wire.AckTopic(testSite, testGateway), []byte(`{"v":2,"seq":20}`))
	r.conn.deliver(t, wire.AckTopic(testSite, testGateway), []byte(`{"v":1,"gateway":"or-3"}`))
	r.conn.deliver(t, wire.AckTopic(testSite, testGateway), nil) // retained ack cleared
	r.quiet(quiet)
	if c, s := r.cursor(), r.u.Stats(); c != 10 || s.Acked != 10 || s.Resends != 1 {
		t.Fatalf("cursor %d, stats %+v; want 10 and one resend", c, s)
	}
	for _, want := range []string{"hash differs", "another ledger", "beyond the last movement", "another gateway", "ack rejected"} {
		if !strings.Contains(r.logs.String(), want) {
			t.Errorf("log does not say %q", want)
		}
	}

	// A valid ack counts; an older one does not move the cursor back.
	r.ack(30)
	r.expect(31, 40)
	r.expect(41, 50)
	r.ack(20)
	r.quiet(quiet)
	if c := r.cursor(); c != 30 {
		t.Fatalf("cursor %d, want 30", c)
	}
	r.ack(50)
	checkFor(t, wait, "cursor 50", func() bool { return r.cursor() == 50 && r.u.Stats().InFlight == 0 })
}

func TestResend(t *testing.T) {
	r := newRig(t, Config{BatchMax: 10, Window: 3, AckTimeout: time.Hour}, 100)
	r.expect(1, 10)
	r.expect(11, 20)
	r.expect(21, 30)
	r.ack(10)
	r.expect(31, 40)
	// The window is discarded, sending starts again from "from".
	r.resend(15)
	r.expect(15, 24)
	r.expect(25, 34)
	r.expect(35, 44)
	r.quiet(quiet)
	// Repetitions of that request (answers to batches sent before it) are
	// ignored while the cursor does not move.
	r.resend(15)
	r.resend(15)
	r.quiet(quiet)
	// Another ledger's request is ignored.
	p, _ := wire.EncodeResend(wire.NewResend(testGateway, r.l.Created().UnixNano()+1, 1, "old"))
	r.conn.deliver(t, wire.ResendTopic(testSite, testGateway), p)
	r.conn.deliver(t, wire.ResendTopic(testSite, testGateway), []byte(`{"v":1,"from":1}`))
	r.quiet(quiet)
	// After the ack timeout the same from is honoured again.
	r.clock.Advance(time.Hour + time.Second) // also an ack timeout: from the cursor + 1
	r.expect(11, 20)
	r.expect(21, 30)
	r.expect(31, 40)
	r.resend(15)
	r.expect(15, 24)
	r.expect(25, 34)
	r.expect(35, 44)
	// from 0 asks for everything; from beyond the ledger is taken as
	// the cursor + 1.
	r.resend(0)
	r.expect(1, 10)
	r.expect(11, 20)
	r.expect(21, 30)
	r.resend(500)
	r.expect(11, 20)
	if s := r.u.Stats(); s.Resends != 5 {
		t.Errorf("Resends = %d, want 5", s.Resends)
	}
}

// A centre that lost movements it had acknowledged asks for them again;
// its acks are then below the cursor and must not cut the resend short.
func TestResendBelowCursor(t *testing.T) {
	r := newRig(t, Config{BatchMax: 10, Window: 1, AckTimeout: time.Hour}, 30)
	r.drainAcked(30, 10)
	r.resend(11)
	r.expect(11, 20)
	r.ack(20)
	r.expect(21, 30)
	r.ack(30)
	r.quiet(quiet)
	if c := r.cursor(); c != 30 {
		t.Fatalf("cursor %d, want 30", c)
	}
}

func TestAckTimeout(t *testing.T) {
	r := newRig(t, Config{BatchMax: 10, Window: 2, AckTimeout: 30 * time.Second}, 30)
	r.expect(1, 10)
	r.expect(11, 20)
	r.quiet(quiet)
	r.clock.Advance(29 * time.Second)
	r.quiet(quiet)
	r.ack(10) // progress restarts the timeout
	r.expect(21, 30)
	r.clock.Advance(29 * time.Second)
	r.quiet(quiet)
	r.clock.Advance(time.Second)
	r.expect(11, 20)
	r.expect(21, 30)
	if s := r.u.Stats(); s.Resends != 1 || s.Acked != 10 {
		t.Errorf("Stats = %+v", s)
	}
}

func TestCaughtUpWaitsForNewMovements(t *testing.T) {
	r := newRig(t, Config{}, 0)
	r.waitConnected(1)
	r.quiet(quiet)
	fill(t, r.l, 3)
	// The ledger may commit the three in more than one transaction.
	for next := uint64(1); next <= 3; {
		b := r.next()
		if b.First != next {
			t.Fatalf("batch from %d, want %d", b.First, next)
		}
		next = b.Last() + 1
	}
	r.ack(3)
	checkFor(t, wait, "cursor 3", func() bool { return r.cursor() == 3 })
	fill(t, r.l, 1)
	r.expect(4, 4)
}

func TestConnectPublishesStatusAndWill(t *testing.T) {
	r := newRig(t, Config{BatchMax: 10, Version: "0.4.0"}, 10)
	r.expect(1, 10)
	if len(r.status) != 1 {
		t.Fatalf("%d status publishes before the first batch, want 1", len(r.status))
	}
	s := r.status[0]
	if s.State != wire.StateOnline || s.Gateway != testGateway || s.Site != testSite || s.LastSeq != 10 || s.AckedSeq != 0 || s.Version != "0.4.0" {
		t.Errorf("online status %+v", s)
	}
	r.conn.mu.Lock()
	will := r.conn.wills[0]
	r.conn.mu.Unlock()
	ws, err := wire.DecodeStatus(will.Payload)
	if err != nil || will.Topic != wire.StatusTopic(testSite, testGateway) || !will.Retained || ws.State != wire.StateOffline || ws.LastSeq != 0 {
		t.Errorf("will %+v: %+v, %v", will, ws, err)
	}
	for _, f := range []string{wire.AckTopic(testSite, testGateway), wire.ResendTopic(testSite, testGateway)} {
		if !r.conn.subscribed(f) {
			t.Errorf("not subscribed to %s", f)
		}
	}
	if r.conn.subscribed(wire.MasterFilter(testSite)) {
		t.Errorf("subscribed to master data without Apply")
	}

	// Stopping publishes the offline status, retained.
	if err := r.stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	var last pub
	for len(r.conn.pubs) > 0 {
		last = <-r.conn.pubs
	}
	ls, err := wire.DecodeStatus(last.payload)
	if err != nil || !last.retained || ls.State != wire.StateOffline {
		t.Errorf("last publish %s (retained %v): %v", last.payload, last.retained, err)
	}
	if s := r.u.Stats(); s.Connected {
		t.Error("still connected after Run returned")
	}
}

func TestReconnectSendsFromCursor(t *testing.T) {
	r := newRig(t, Config{BatchMax: 10, Window: 4, BackoffMin: time.Second, BackoffMax: 8 * time.Second}, 40)
	r.expect(1, 10)
	r.expect(11, 20)
	r.expect(21, 30)
	r.expect(31, 40)
	r.ack(20)
	checkFor(t, wait, "cursor 20", func() bool { return r.cursor() == 20 })

	before := len(r.clock.Afters())
	r.conn.drop()
	checkFor(t, wait, "disconnected", func() bool { return !r.u.Stats().Connected })
	// The reconnect waits for a backoff delay on the clock: once the
	// uplink is waiting for it (not before, or the advance is lost), let
	// it pass.
	checkFor(t, wait, "a backoff delay", func() bool {
		return slices.ContainsFunc(r.clock.Afters()[before:], func(d time.Duration) bool { return d <= 8*time.Second })
	})
	r.clock.Advance(8 * time.Second)
	r.waitConnected(2)
	r.expect(21, 30)
	r.expect(31, 40)
	if n := len(r.status); n != 2 {
		t.Errorf("%d online statuses, want one per connection", n)
	}
	// A retained ack delivered on the new connection is taken at once,
	// even for movements not sent on it.
	r.ack(40)
	checkFor(t, wait, "cursor 40", func() bool { return r.cursor() == 40 })
}

func TestPublishFailureReconnectsWithBackoff(t *testing.T) {
	r := &rig{t: t, l: openLedger(t, ""), conn: newFakeConn(), clock: newFakeClock()}
	fill(t, r.l, 20)
	r.conn.connectErr = 3
	r.conn.publishErr = 1
	// rand returning its maximum makes each delay the ceiling.
	r.start(Config{BatchMax: 10, BackoffMin: time.Second, BackoffMax: 4 * time.Second, AckTimeout: time.Hour, Rand: rand.New(maxSource{})})
	// The backoff delays are the clock's waits up to BackoffMax (the ack
	// timeout is longer).
	backoffs := func() []time.Duration {
		var ds []time.Duration
		for _, d := range r.clock.Afters() {
			if d <= 4*time.Second {
				ds = append(ds, d)
			}
		}
		return ds
	}
	var delays []time.Duration
	for len(delays) < 4 {
		// Wait for the loop to sleep, then wake it.
		checkFor(t, wait, "a backoff delay", func() bool { return len(backoffs()) > len(delays) })
		d := backoffs()[len(delays)]
		delays = append(delays, d)
		r.clock.Advance(d)
	}
	// Three failed connects: 1 s, 2 s, 4 s; then a publish failure (the
	// connection succeeded but nothing was published): 4 s.
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}
	for i := range want {
		if delays[i] != want[i] {
			t.Fatalf("delays %v, want %v", delays, want)
		}
	}
	r.expect(1, 10)
	r.expect(11, 20)
	// A publish succeeded: the next failure starts from BackoffMin again.
	r.conn.drop()
	checkFor(t, wait, "a backoff delay after the drop", func() bool { return len(backoffs()) > 4 })
	if d := backoffs()[4]; d != time.Second {
		t.Fatalf("delay after progress %v, want 1s", d)
	}
}

// TestHeldConnectionStartsBackoffOver: a gateway with nothing to send
// (every movement acknowledged) loses a connection that held a few
// seconds, after the broker had refused it a few times: the reconnect
// delays start over from BackoffMin, as after progress. They grew
// instead, since only a batch published or an ack that moved the cursor
// reset them, so that an idle gateway came back later after every broker
// restart, up to BackoffMax (60 s) without master data or status. A
// connection dropped as soon as it is made goes on backing off, and the
// next must hold longer than that to start over.
func TestHeldConnectionStartsBackoffOver(t *testing.T) {
	r := &rig{t: t, l: openLedger(t, ""), conn: newFakeConn(), clock: newFakeClock()}
	fill(t, r.l, 10)
	r.start(Config{BatchMax: 10, BackoffMin: time.Second, BackoffMax: time.Minute, AckTimeout: time.Hour,
		StatusInterval: 24 * time.Hour, Rand: rand.New(maxSource{})})
	r.expect(1, 10)
	r.ack(10)
	checkFor(t, wait, "cursor 10", func() bool { return r.cursor() == 10 })
	// The backoff delays are the clock's waits up to BackoffMax.
	backoffs := func() []time.Duration {
		var ds []time.Duration
		for _, d := range r.clock.Afters() {
			if d <= time.Minute {
				ds = append(ds, d)
			}
		}
		return ds
	}
	next := func(n int) time.Duration {
		t.Helper()
		checkFor(t, wait, "a backoff delay", func() bool { return len(backoffs()) >= n })
		return backoffs()[n-1]
	}
	// The broker goes and refuses three connects: 1 s, 2 s, 4 s, 8 s.
	r.conn.mu.Lock()
	r.conn.connectErr = 3
	r.conn.mu.Unlock()
	r.conn.drop()
	var delays []time.Duration
	for i := range 4 {
		delays = append(delays, next(i+1))
		r.clock.Advance(delays[i])
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}; !slices.Equal(delays, want) {
		t.Fatalf("delays %v, want %v", delays, want)
	}
	// Then each connection is made and holds a while (idle: nothing to
	// send) before the broker goes again; the next delay follows.
	for i, c := range []struct {
		hold, want time.Duration
		why        string
	}{
		{5 * time.Second, time.Second, "held 5 s: start over"},
		{0, 2 * time.Second, "dropped at once: the delays grow"},
		{1500 * time.Millisecond, 4 * time.Second, "held 1.5 s, not longer than the 2 s the one dropped calls for"},
		{5 * time.Second, time.Second, "held 5 s, longer than the 4 s the two dropped call for: start over"},
	} {
		if i > 0 {
			r.clock.Advance(delays[len(delays)-1])
		}
		r.waitConnected(uint64(i + 2))
		r.clock.Advance(c.hold)
		r.conn.drop()
		delays = append(delays, next(len(delays)+1))
		if d := delays[len(delays)-1]; d != c.want {
			t.Fatalf("connection %d, %s: delay %v, want %v", i+2, c.why, d, c.want)
		}
	}
}

// maxSource makes rand.Int64N(n) return n-1.
type maxSource struct{}

func (maxSource) Uint64() uint64 { return 1<<64 - 1 }

func TestOutboxFailureStopsRun(t *testing.T) {
	// With Apply, so that the master data goroutine must stop too.
	r := newRig(t, Config{Apply: func(string, string, []byte, uint64) error { return nil }}, 5)
	r.expect(1, 5)
	ack := wire.NewAck(testGateway, r.l.Created().UnixNano(), 5, hashOf(t, r.l, 5))
	r.l.Close()
	r.deliverAck(ack) // reads the closed ledger
	select {
	case err := <-r.done:
		if !errors.Is(err, ErrOutbox) {
			t.Fatalf("Run = %v, want ErrOutbox", err)
		}
		r.done <- err
	case <-time.After(wait):
		t.Fatal("Run did not stop")
	}
}

func TestRunTwice(t *testing.T) {
	r := newRig(t, Config{}, 1)
	r.expect(1, 1)
	if err := r.u.Run(t.Context()); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Run = %v", err)
	}
}

// The records a batch carries are the ledger's, byte for byte, and chain.
func TestBatchesCarryTheLedgerRecords(t *testing.T) {
	r := newRig(t, Config{BatchMax: 7}, 20)
	prev := record.Genesis(testGateway, uint64(r.l.Created().UnixNano()))
	for next := uint64(1); next <= 20; {
		b := r.next()
		if b.Created != r.l.Created().UnixNano() || b.Gateway != testGateway || b.Site != testSite {
			t.Fatalf("batch header %q %q %d", b.Gateway, b.Site, b.Created)
		}
		for i, rec := range b.Records {
			p, h, err := record.Check(b.First+uint64(i), rec)
			if err != nil || p != prev {
				t.Fatalf("movement %d: %v (links: %v)", b.First+uint64(i), err, p == prev)
			}
			prev = h
		}
		next = b.Last() + 1
		r.ack(b.Last())
	}
}

// TestStatusIsPeriodic checks that a connected gateway publishes its status
// every StatusInterval with its current numbers, zeros included, so that
// the centre's list is current without waiting for a reconnect.
func TestStatusIsPeriodic(t *testing.T) {
	r := newRig(t, Config{BatchMax: 10, AckTimeout: time.Hour, StatusInterval: time.Minute}, 0)
	statuses := func() []wire.Status {
		var out []wire.Status
		for {
			select {
			case p := <-r.conn.pubs:
				if p.topic == wire.StatusTopic(testSite, testGateway) {
					s, err := wire.DecodeStatus(p.payload)
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, s)
				}
			case <-time.After(quiet):
				return out
			}
		}
	}
	r.waitConnected(1)
	if got := statuses(); len(got) != 1 || got[0].LastSeq != 0 || got[0].State != wire.StateOnline {
		t.Fatalf("at connect: %+v, want one online status of an empty ledger", got)
	}
	r.clock.waitAfter(t, time.Minute)
	r.clock.Advance(59 * time.Second)
	if got := statuses(); len(got) != 0 {
		t.Fatalf("%d statuses before the interval", len(got))
	}
	fill(t, r.l, 10)
	r.expect(1, 10)
	r.ack(10)
	checkFor(t, wait, "cursor 10", func() bool { return r.cursor() == 10 })
	r.clock.Advance(time.Second)
	got := statuses()
	if len(got) != 1 || got[0].LastSeq != 10 || got[0].AckedSeq != 10 || !got[0].Time.Equal(r.clock.Now()) {
		t.Fatalf("after the interval: %+v, want one status at %v with last 10, acked 10", got, r.clock.Now())
	}
}

// TestMasterSubscriptionRenewed: the master subscription is made again
// with the first two statuses after connecting (so that a broker that
// missed a retained part in the first sends it again), and not after.
func TestMasterSubscriptionRenewed(t *testing.T) {
	r := newRig(t, Config{BatchMax: 10, AckTimeout: time.Hour, StatusInterval: time.Minute,
		Apply: func(string, string, []byte, uint64) error { return nil }}, 0)
	filter := wire.MasterFilter(testSite)
	r.waitConnected(1)
	if n := r.conn.subscribes(filter); n != 1 {
		t.Fatalf("%d master subscriptions at connect", n)
	}
	for i := range 2 {
		r.clock.waitAfter(t, time.Minute)
		r.clock.Advance(time.Minute)
		checkFor(t, wait, "the master subscription made again", func() bool { return r.conn.subscribes(filter) == 2+i })
	}
	r.clock.waitAfter(t, time.Minute)
	r.clock.Advance(time.Minute)
	time.Sleep(quiet)
	if n := r.conn.subscribes(filter); n != 3 {
		t.Errorf("%d master subscriptions after three intervals, want 3", n)
	}
	r.conn.drop()
	checkFor(t, wait, "reconnected", func() bool {
		r.clock.Advance(time.Second)
		s := r.u.Stats()
		return s.Connected && s.Connects >= 2
	})
	checkFor(t, wait, "subscribed at the reconnect", func() bool { return r.conn.subscribes(filter) == 4 })
}

// TestResendBelowAnchor: a centre that lost movements it acknowledged and
// that retention has since taken out of the ledger asks for them again;
// the uplink says so and sends from the first movement kept, and goes on.
func TestResendBelowAnchor(t *testing.T) {
	r := newRig(t, Config{BatchMax: 10, Window: 1, AckTimeout: time.Hour}, 30)
	r.drainAcked(30, 10)
	if _, err := r.l.Compact(context.Background(), bolt.CompactOptions{Cut: 21, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	first, err := r.l.FirstSeq()
	if err != nil || first != 21 {
		t.Fatalf("first seq %d, %v", first, err)
	}
	r.resend(5)
	r.expect(21, 30)
	r.ack(30)
	fill(t, r.l, 5)
	r.expect(31, 35)
	if !strings.Contains(r.logs.String(), "retained away") {
		t.Errorf("the log does not say the movements asked for were retained away:\n%s", r.logs.String())
	}
}
