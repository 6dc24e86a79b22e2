package central_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	kit "github.com/udi-edge/udi-edge/agent/testkit"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
	"github.com/udi-edge/udi-edge/sync/wire"
)

const (
	site    = "st-marys"
	created = int64(1764028800000000000)
	secret  = "PATIENT-SECRET-42" // the patient of every testkit movement
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// syncBuffer is a writer safe for concurrent use.
type syncBuffer = kit.LogBuffer

// fixture is a started service on a real store and an in-memory Conn.
type fixture struct {
	t     *testing.T
	path  string
	store *boltstore.Store
	conn  *testkit.Conn
	svc   *central.Service
	clock *clock
	logs  *syncBuffer
	// config, when set, adjusts the service's configuration at start.
	config func(c *central.Config)
}

func newFixture(t *testing.T) *fixture { return newFixtureWith(t, nil) }

// newFixtureWith is newFixture with config adjusting the service's
// configuration.
func newFixtureWith(t *testing.T, config func(c *central.Config)) *fixture {
	f := &fixture{t: t, config: config, path: filepath.Join(t.TempDir(), "central.db"), clock: &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}, logs: &syncBuffer{}}
	f.start()
	t.Cleanup(func() {
		f.stop()
		if strings.Contains(f.logs.String(), secret) {
			t.Errorf("a patient identifier reached the log:\n%s", f.logs.String())
		}
	})
	return f
}

func (f *fixture) start() {
	t := f.t
	var err error
	if f.store, err = boltstore.Open(f.path); err != nil {
		t.Fatal(err)
	}
	f.conn = testkit.NewConn()
	cfg := central.Config{
		Sites: []string{site}, Store: f.store, Conn: f.conn, Now: f.clock.Now, ResendTimeout: time.Minute,
		Logger: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if f.config != nil {
		f.config(&cfg)
	}
	f.svc, err = central.NewService(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) stop() {
	_ = f.svc.Close()
	_ = f.store.Close()
}

func (f *fixture) send(l *testkit.Ledger, first, last uint64) {
	f.sendRaw(l.Gateway, l.Payload(f.t, first, last))
}

func (f *fixture) sendRaw(gateway string, payload []byte) {
	f.conn.Deliver(f.t, wire.MovementsFilter(site), wire.MovementsTopic(site, gateway), payload)
}

// published waits until n messages were published and returns them.
func (f *fixture) published(n int) []testkit.Message {
	f.t.Helper()
	testkit.WaitFor(f.t, 5*time.Second, "messages published", func() bool { return len(f.conn.Published()) >= n })
	time.Sleep(20 * time.Millisecond) // and no more
	ms := f.conn.Published()
	if len(ms) != n {
		f.t.Fatalf("%d messages published, want %d: %s", len(ms), n, describe(ms))
	}
	return ms
}

func describe(ms []testkit.Message) string {
	var b strings.Builder
	for _, m := range ms {
		b.WriteString("\n  " + m.Topic + " " + string(m.Payload))
	}
	return b.String()
}

// info returns what the service lists of gateway, the zero GatewayInfo
// while it lists nothing.
func (f *fixture) info(gateway string) central.GatewayInfo {
	f.t.Helper()
	gs, err := f.svc.Gateways(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	for _, g := range gs {
		if g.Gateway == gateway {
			return g
		}
	}
	return central.GatewayInfo{} // not listed (yet)
}

// waitCounters waits until gateway's counters satisfy ok: the batches
// they count are handled to the end.
func (f *fixture) waitCounters(gateway string, ok func(c central.Counters) bool) {
	f.t.Helper()
	testkit.WaitFor(f.t, 5*time.Second, "counters of "+gateway, func() bool { return ok(f.info(gateway).Counters) })
}

func wantAck(t *testing.T, m testkit.Message, l *testkit.Ledger, seq uint64) {
	t.Helper()
	if m.Topic != wire.AckTopic(site, l.Gateway) || !m.Retained {
		t.Fatalf("got %s (retained %v), want the retained ack of %d", m.Topic, m.Retained, seq)
	}
	a, err := wire.DecodeAck(m.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if a.Gateway != l.Gateway || a.Created != l.Created || a.Seq != seq || a.Hash != wire.HashHex(l.Hash(seq)) {
		t.Fatalf("ack %+v, want seq %d of ledger %d with its hash", a, seq, l.Created)
	}
}

func wantResend(t *testing.T, m testkit.Message, l *testkit.Ledger, from uint64) {
	t.Helper()
	if m.Topic != wire.ResendTopic(site, l.Gateway) || m.Retained {
		t.Fatalf("got %s (retained %v), want a resend from %d", m.Topic, m.Retained, from)
	}
	r, err := wire.DecodeResend(m.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if r.Gateway != l.Gateway || r.Created != l.Created || r.From != from || r.Reason == "" {
		t.Fatalf("resend %+v, want from %d of ledger %d with a reason", r, from, l.Created)
	}
}

func (f *fixture) wantStored(l *testkit.Ledger, n uint64) {
	f.t.Helper()
	var seqs []uint64
	err := f.store.Range(context.Background(), l.Gateway, l.Created, 1, func(seq uint64, rec []byte) error {
		if !bytes.Equal(rec, l.Records[seq-1]) {
			f.t.Errorf("movement %d stored differs from the one sent", seq)
		}
		seqs = append(seqs, seq)
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	if uint64(len(seqs)) != n || (n > 0 && seqs[n-1] != n) {
		f.t.Fatalf("stored %v, want 1 to %d", seqs, n)
	}
}

func TestServiceSubscribes(t *testing.T) {
	f := newFixture(t)
	got := strings.Join(f.conn.Filters(), " ")
	for _, want := range []string{"udi/v1/st-marys/+/movements", "udi/v1/st-marys/+/status"} {
		if !strings.Contains(got, want) {
			t.Fatalf("subscribed to %s, want %s", got, want)
		}
	}
}

func TestServiceStoresInOrderAndAcks(t *testing.T) {
	f := newFixture(t)
	l := testkit.NewLedger(site, "or-3", created)
	l.AddN(t, 20)
	f.send(l, 1, 10)
	f.send(l, 11, 20)
	ms := f.published(2)
	wantAck(t, ms[0], l, 10)
	wantAck(t, ms[1], l, 20)
	f.wantStored(l, 20)
	f.waitCounters("or-3", func(c central.Counters) bool { return c.Acks == 2 })
	g := f.info("or-3")
	if g.Seq != 20 || g.Counters.Stored != 20 || g.Counters.Batches != 2 || g.Counters.Acks != 2 || g.Site != site || g.LastSeen.IsZero() {
		t.Fatalf("gateway info %+v", g)
	}
}

func TestServiceDuplicatesAndOverlap(t *testing.T) {
	f := newFixture(t)
	l := testkit.NewLedger(site, "or-3", created)
	l.AddN(t, 15)
	f.send(l, 1, 10)
	f.send(l, 1, 10)
	f.send(l, 5, 15)
	f.send(l, 15, 15)
	ms := f.published(4)
	for i, seq := range []uint64{10, 10, 15, 15} {
		wantAck(t, ms[i], l, seq)
	}
	f.wantStored(l, 15)
	if c := f.info("or-3").Counters; c.Duplicates != 2 || c.Stored != 15 || c.Gaps != 0 || c.ChainErrors != 0 {
		t.Fatalf("counters %+v", c)
	}
}

func TestServiceGapResendsOncePerExpectedSeq(t *testing.T) {
	f := newFixture(t)
	l := testkit.NewLedger(site, "or-3", created)
	l.AddN(t, 40)
	f.send(l, 11, 20) // gap: resend from 1
	f.send(l, 21, 30) // same request outstanding: nothing
	f.send(l, 31, 40) // nothing
	f.waitCounters("or-3", func(c central.Counters) bool { return c.ResendsSuppressed == 2 })
	ms := f.published(1)
	wantResend(t, ms[0], l, 1)

	f.clock.Add(2 * time.Minute) // the request timed out: ask again
	f.send(l, 21, 30)
	wantResend(t, f.published(2)[1], l, 1)

	f.send(l, 1, 10)  // progress: ack 10
	f.send(l, 21, 30) // a new gap: resend from 11 at once
	ms = f.published(4)
	wantAck(t, ms[2], l, 10)
	wantResend(t, ms[3], l, 11)
	for _, r := range [][2]uint64{{11, 20}, {21, 30}, {31, 40}} {
		f.send(l, r[0], r[1])
	}
	ms = f.published(7)
	for i, seq := range []uint64{20, 30, 40} {
		wantAck(t, ms[4+i], l, seq)
	}
	f.wantStored(l, 40)
	f.waitCounters("or-3", func(c central.Counters) bool { return c.Acks == 4 })
	if c := f.info("or-3").Counters; c.Gaps != 5 || c.Resends != 3 || c.ResendsSuppressed != 2 || c.Stored != 40 {
		t.Fatalf("counters %+v", c)
	}
}

func TestServiceBadRecordStoresPrefixAndResends(t *testing.T) {
	f := newFixture(t)
	l := testkit.NewLedger(site, "or-3", created)
	l.AddN(t, 20)
	f.send(l, 1, 10)
	bt := l.Batch(11, 20)
	bt.Records = append([][]byte(nil), bt.Records...)
	bad := append([]byte(nil), bt.Records[2]...) // movement 13
	bad[10] ^= 0xff
	bt.Records[2] = bad
	p, err := wire.AppendBatch(nil, bt)
	if err != nil {
		t.Fatal(err)
	}
	f.sendRaw("or-3", p)
	ms := f.published(3)
	wantAck(t, ms[0], l, 10)
	wantAck(t, ms[1], l, 12)
	wantResend(t, ms[2], l, 13)
	f.wantStored(l, 12)
	if c := f.info("or-3").Counters; c.ChainErrors != 1 || c.Stored != 12 {
		t.Fatalf("counters %+v", c)
	}
	if !strings.Contains(f.logs.String(), "movement 13") {
		t.Fatalf("the log does not name movement 13:\n%s", f.logs.String())
	}
}

func TestServiceBrokenChainAndConflict(t *testing.T) {
	f := newFixture(t)
	l := testkit.NewLedger(site, "or-3", created)
	l.AddN(t, 10)
	impostor := testkit.NewLedger(site, "or-3", created) // same ledger id, other content
	for i := range 10 {
		impostor.Add(t, testkit.Movement(i+1, "(01)09506000134352(21)OTHER"))
	}
	f.send(l, 1, 5)
	f.send(impostor, 6, 10) // does not link to 5
	f.send(impostor, 2, 5)  // conflicts with what is held, and links to nothing held
	f.waitCounters("or-3", func(c central.Counters) bool { return c.ChainErrors == 2 && c.Resends+c.ResendsSuppressed == 2 })
	ms := f.published(2) // the conflict's resend from 6 is the one outstanding
	wantAck(t, ms[0], l, 5)
	wantResend(t, ms[1], l, 6)
	f.wantStored(l, 5)
	if c := f.info("or-3").Counters; c.ChainErrors != 2 || c.ResendsSuppressed != 1 {
		t.Fatalf("counters %+v", c)
	}
}

func TestServiceRefusesMismatchedAndMalformed(t *testing.T) {
	f := newFixture(t)
	l := testkit.NewLedger(site, "or-3", created)
	l.AddN(t, 3)
	f.sendRaw("or-4", l.Payload(t, 1, 3)) // or-3's batch on or-4's topic
	f.sendRaw("or-3", []byte("UDIB\x01garbage"))
	other := testkit.NewLedger("elsewhere", "or-3", created) // or-3's batch claiming another site
	other.AddN(t, 3)
	f.sendRaw("or-3", other.Payload(t, 1, 3))
	testkit.WaitFor(t, 5*time.Second, "batches refused", func() bool {
		return f.info("or-3").Counters.Malformed == 2 && f.info("or-4").Counters.Malformed == 1
	})
	f.published(0)
	f.wantStored(l, 0)
}

func TestServiceRecreatedLedger(t *testing.T) {
	f := newFixture(t)
	old := testkit.NewLedger(site, "or-3", created)
	old.AddN(t, 5)
	recreated := testkit.NewLedger(site, "or-3", created+int64(time.Hour))
	recreated.AddN(t, 3)
	f.send(old, 1, 5)
	f.send(recreated, 1, 3)
	ms := f.published(2)
	wantAck(t, ms[0], old, 5)
	wantAck(t, ms[1], recreated, 3)
	f.wantStored(old, 5)
	f.wantStored(recreated, 3)
	g := f.info("or-3")
	if g.Created != recreated.Created || g.Seq != 3 || g.Ledgers != 2 {
		t.Fatalf("gateway info %+v, want the re-created ledger current", g)
	}
}

func TestServiceStatus(t *testing.T) {
	f := newFixture(t)
	st := wire.Status{V: 1, Gateway: "or-3", Site: site, State: wire.StateOnline, Time: time.Date(2026, 11, 25, 10, 5, 0, 0, time.UTC), LastSeq: 12, AckedSeq: 10, Version: "0.4.0"}
	p, err := wire.EncodeStatus(st)
	if err != nil {
		t.Fatal(err)
	}
	f.conn.Deliver(t, wire.StatusFilter(site), wire.StatusTopic(site, "or-3"), p)
	g := f.info("or-3")
	if g.State != "online" || g.LastSeq != 12 || g.AckedSeq != 10 || g.Version != "0.4.0" || !g.StatusTime.Equal(st.Time) {
		t.Fatalf("gateway info %+v", g)
	}
	st.State, st.LastSeq, st.AckedSeq = wire.StateOffline, 0, 0
	p, _ = wire.EncodeStatus(st)
	f.conn.Deliver(t, wire.StatusFilter(site), wire.StatusTopic(site, "or-3"), p)
	f.conn.Deliver(t, wire.StatusFilter(site), wire.StatusTopic(site, "or-3"), []byte(`{"v":2}`)) // refused
	f.conn.Deliver(t, wire.StatusFilter(site), wire.StatusTopic(site, "or-9"), p)                 // another gateway's status: refused
	if g := f.info("or-3"); g.State != "offline" {
		t.Fatalf("state %q, want offline", g.State)
	}
	gs, _ := f.svc.Gateways(context.Background())
	if len(gs) != 1 {
		t.Fatalf("gateways %+v, want only or-3", gs)
	}
}

func TestServicePublishMaster(t *testing.T) {
	f := newFixture(t)
	data := []byte("gtin,lot,serial,reason,date\n09506000134352,L1,,recall,2026-11-01\n")
	t0 := uint64(f.clock.Now().UnixMilli()) // versions are the time, or one more than the last
	for want := t0; want <= t0+1; want++ {
		pub, err := f.svc.PublishMaster(context.Background(), site, wire.SetRecalls, data, central.MasterOptions{Format: wire.FormatCSV})
		if v := pub.Version; err != nil || v != want {
			t.Fatalf("version %d, %v; want %d", v, err, want)
		}
	}
	ms := f.conn.Published()
	last := ms[len(ms)-1]
	if last.Topic != "udi/v1/st-marys/master/recalls/0" || !last.Retained {
		t.Fatalf("published %s retained %v", last.Topic, last.Retained)
	}
	m := retainedSet(t, ms, site, wire.SetRecalls)
	if m.Version != t0+1 || string(m.Data) != string(data) || m.Format != "csv" {
		t.Fatalf("master %+v", m)
	}
	bad := []struct{ set, format, data string }{
		{"nonsense", "csv", "a,b\n"},
		{"recalls", "xml", "<a/>"},
		{"recalls", "json", `{"not":"an array"}`},
		{"recalls", "csv", "a,b\n1,2,3\n"},
		{"recalls", "csv", ""},
	}
	for _, b := range bad {
		if _, err := f.svc.PublishMaster(context.Background(), site, b.set, []byte(b.data), central.MasterOptions{Format: b.format}); !errors.Is(err, central.ErrInvalid) {
			t.Fatalf("%+v: error %v, want ErrInvalid", b, err)
		}
	}
	if n := len(f.conn.Published()); n != len(ms) {
		t.Fatalf("%d messages published for refused data", n-len(ms))
	}

	// The version survives a restart of service and store.
	f.stop()
	f.start()
	pub, err := f.svc.PublishMaster(context.Background(), site, wire.SetRecalls, []byte(`[{"gtin":"09506000134352","reason":"recall"}]`), central.MasterOptions{Format: wire.FormatJSON})
	if v := pub.Version; err != nil || v != t0+2 {
		t.Fatalf("version after restart %d, %v; want %d", v, err, t0+2)
	}
	// A broker that does not take it: an error, and the next version is still higher.
	f.conn.SetFail(errors.New("broker down"))
	if _, err := f.svc.PublishMaster(context.Background(), site, wire.SetRecalls, data, central.MasterOptions{Format: wire.FormatCSV}); err == nil {
		t.Fatal("publish to a failing broker succeeded")
	}
}

func TestServiceAckPublishFailureLeavesMovementsStored(t *testing.T) {
	f := newFixture(t)
	f.conn.SetFail(errors.New("broker down"))
	l := testkit.NewLedger(site, "or-3", created)
	l.AddN(t, 5)
	f.send(l, 1, 5)
	testkit.WaitFor(t, 5*time.Second, "the ack to fail", func() bool { return strings.Contains(f.logs.String(), "ack not published") })
	f.wantStored(l, 5)
	if c := f.info("or-3").Counters; c.Acks != 0 {
		t.Fatalf("counters %+v: an ack counted that was not published", c)
	}
	// The gateway sends again; now the ack goes out.
	f.conn.SetFail(nil)
	f.send(l, 1, 5)
	wantAck(t, f.published(1)[0], l, 5)
}

func TestServiceConfigErrors(t *testing.T) {
	for _, cfg := range []central.Config{
		{},
		{Sites: []string{site}, Conn: testkit.NewConn()},
		{Sites: []string{"bad site"}, Conn: testkit.NewConn(), Store: &boltstore.Store{}},
		{Conn: testkit.NewConn(), Store: &boltstore.Store{}},
	} {
		if _, err := central.NewService(cfg); !errors.Is(err, central.ErrInvalid) {
			t.Fatalf("NewService(%+v): %v, want ErrInvalid", cfg, err)
		}
	}
}

// jsonOf decodes v's JSON into a map, for the API tests.
func jsonOf(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return m
}

// TestServiceResyncOnConnect: after a (re)connection the centre asks the
// current ledger of every gateway it knows, at once, for everything after
// what it holds, so that batches lost while it was away are sent again
// without waiting for the gateway's ack timeout; a superseded ledger is
// not asked.
func TestServiceResyncOnConnect(t *testing.T) {
	f := newFixture(t)
	old := testkit.NewLedger(site, "or-3", created)
	old.AddN(t, 5)
	f.send(old, 1, 5)
	l := testkit.NewLedger(site, "or-3", created+1) // the gateway's store re-created
	l.AddN(t, 20)
	f.send(l, 1, 10)
	other := testkit.NewLedger(site, "or-4", created)
	other.AddN(t, 3)
	f.send(other, 1, 3)
	before := len(f.published(3))
	f.conn.Reconnect()
	ms := f.conn.Published()[before:]
	if len(ms) != 2 {
		t.Fatalf("%d messages after the reconnect, want a resend to each gateway: %+v", len(ms), ms)
	}
	byTopic := map[string]testkit.Message{ms[0].Topic: ms[0], ms[1].Topic: ms[1]}
	wantResend(t, byTopic[wire.ResendTopic(site, "or-3")], l, 11)
	wantResend(t, byTopic[wire.ResendTopic(site, "or-4")], other, 4)
	// It is asked again on the next reconnect, even within the resend
	// timeout: the connection, not the gateway, was the problem.
	f.conn.Reconnect()
	if n := len(f.conn.Published()) - before; n != 4 {
		t.Fatalf("%d messages after two reconnects, want 4", n)
	}
}
