package uplink

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/internal/mosquitto"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// Integration tests: a real Mosquitto, the paho Conn, a real ledger, and a
// fake centre that checks every movement as the central service must.

// centre is a minimal central service: it stores the movements of one
// ledger in order, checking each record's hash and its link to the one
// before, acknowledges (retained) after every batch, and asks for a
// resend on a gap or a bad record.
type centre struct {
	t       testing.TB
	created int64
	client  paho.Client
	out     chan pub

	mu      sync.Mutex
	next    uint64 // the next sequence number expected
	last    [record.HashSize]byte
	stored  map[uint64][]byte
	firsts  []uint64 // every batch's first, as received
	dups    int      // movements received again
	gaps    int      // batches beyond the next expected
	batches int
}

func startCentre(t testing.TB, b *mosquitto.Broker, l *bolt.Ledger) *centre {
	return startCentreAs(t, b, l, "", "")
}

// startCentreAs starts the centre with a broker user name and password.
func startCentreAs(t testing.TB, b *mosquitto.Broker, l *bolt.Ledger, user, password string) *centre {
	t.Helper()
	c := &centre{
		t:       t,
		created: l.Created().UnixNano(),
		next:    1,
		last:    record.Genesis(testGateway, uint64(l.Created().UnixNano())),
		stored:  make(map[uint64][]byte),
		out:     make(chan pub, 1024),
	}
	// No paho auto-reconnect (its resume races its own writer: firmware-
	// notes/mqtt.md): a lost connection is made anew with a new client,
	// as udi-central does, by the one goroutine that uses the client.
	lost := make(chan struct{}, 1)
	dial := func() paho.Client {
		o := paho.NewClientOptions().
			AddBroker(b.Addr()).
			SetClientID("test-centre").
			SetCleanSession(true).
			SetAutoReconnect(false).
			SetConnectTimeout(2 * time.Second).
			SetOrderMatters(true).
			SetUsername(user).
			SetPassword(password).
			SetConnectionLostHandler(func(paho.Client, error) {
				select {
				case lost <- struct{}{}:
				default:
				}
			})
		o.SetOnConnectHandler(func(cl paho.Client) {
			// Subscribing on connect; never wait in a callback.
			cl.Subscribe(wire.MovementsFilter(testSite), 1, func(_ paho.Client, m paho.Message) {
				c.batch(m.Topic(), m.Payload())
			})
		})
		return paho.NewClient(o)
	}
	c.client = dial()
	if tok := c.client.Connect(); !tok.WaitTimeout(wait) || tok.Error() != nil {
		t.Fatalf("centre connect: %v", tok.Error())
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case p, ok := <-c.out:
				if !ok {
					return
				}
				tok := c.client.Publish(p.topic, 1, p.retained, p.payload)
				tok.WaitTimeout(time.Second) // lost with the broker: the gateway times out and resends
			case <-lost:
				c.client.Disconnect(0)
				for {
					c.client = dial()
					if tok := c.client.Connect(); tok.WaitTimeout(2*time.Second) && tok.Error() == nil {
						break
					}
					c.client.Disconnect(0)
					select {
					case p, ok := <-c.out: // dropped while away, as a broker would
						if !ok {
							return
						}
						_ = p
					case <-time.After(50 * time.Millisecond):
					}
				}
			}
		}
	}()
	t.Cleanup(func() {
		close(c.out)
		<-done
		c.client.Disconnect(50)
	})
	return c
}

// batch handles one batch; it runs in paho's goroutine and must not block.
func (c *centre) batch(topic string, p []byte) {
	site, gw, leaf, err := wire.ParseTopic(topic)
	if err != nil || site != testSite || gw != testGateway || leaf != wire.LeafMovements {
		c.t.Errorf("centre: batch on %s: %v", topic, err)
		return
	}
	b, err := wire.DecodeBatch(p)
	if err != nil {
		c.t.Errorf("centre: %v", err)
		return
	}
	if b.Created != c.created || b.Gateway != testGateway || b.Site != testSite {
		c.t.Errorf("centre: batch of another ledger: %s %s %d", b.Gateway, b.Site, b.Created)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batches++
	c.firsts = append(c.firsts, b.First)
	if b.First > c.next {
		c.gaps++
		c.resendLocked(c.next, fmt.Sprintf("gap: got %d, expected %d", b.First, c.next))
		return
	}
	for i, rec := range b.Records {
		seq := b.First + uint64(i)
		prev, hash, err := record.Check(seq, rec)
		if err != nil {
			c.t.Errorf("centre: %v", err)
			c.resendLocked(seq, "bad record")
			return
		}
		if seq < c.next {
			c.dups++
			if !bytes.Equal(c.stored[seq], rec) {
				c.t.Errorf("centre: movement %d differs from the one stored", seq)
			}
			continue
		}
		if prev != c.last {
			c.t.Errorf("centre: movement %d does not link to %d", seq, seq-1)
			c.resendLocked(seq, "chain")
			return
		}
		c.stored[seq] = bytes.Clone(rec)
		c.last = hash
		c.next++
	}
	a, err := wire.EncodeAck(wire.NewAck(testGateway, c.created, c.next-1, c.last))
	if err != nil {
		c.t.Error(err)
		return
	}
	c.out <- pub{wire.AckTopic(testSite, testGateway), a, true}
}

func (c *centre) resendLocked(from uint64, reason string) {
	p, err := wire.EncodeResend(wire.NewResend(testGateway, c.created, from, reason))
	if err != nil {
		c.t.Error(err)
		return
	}
	c.out <- pub{wire.ResendTopic(testSite, testGateway), p, false}
}

// held returns the highest sequence number stored.
func (c *centre) held() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.next - 1
}

// verify checks that the centre holds movements 1 to n exactly as the
// ledger has them, each once.
func (c *centre) verify(t testing.TB, l *bolt.Ledger, n uint64) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if uint64(len(c.stored)) != n || c.next != n+1 {
		t.Fatalf("centre holds %d movements up to %d, want %d", len(c.stored), c.next-1, n)
	}
	for seq := uint64(1); seq <= n; {
		recs, err := l.ReadRecords(seq, 1000, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			if !bytes.Equal(c.stored[seq], rec) {
				t.Fatalf("movement %d at the centre differs from the ledger", seq)
			}
			seq++
		}
	}
}

func (c *centre) counts() (batches, dups, gaps int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.batches, c.dups, c.gaps
}

// startUplink runs an Uplink over the paho Conn until the test ends or the
// returned stop is called.
func startUplink(t *testing.T, b *mosquitto.Broker, l *bolt.Ledger, cfg Config) (*Uplink, func()) {
	return startUplinkAs(t, b, l, cfg, "")
}

// startUplinkAs starts the uplink with the broker password of user
// testGateway.
func startUplinkAs(t *testing.T, b *mosquitto.Broker, l *bolt.Ledger, cfg Config, password string) (*Uplink, func()) {
	t.Helper()
	conn, err := NewMQTT(MQTTConfig{
		Brokers:        []string{b.Addr()},
		ClientID:       wire.ClientID(testSite, testGateway),
		Username:       testGateway,
		Password:       password,
		KeepAlive:      5 * time.Second,
		ConnectTimeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Site, cfg.Gateway = testSite, testGateway
	cfg.Logger, _ = testLogger(t)
	if cfg.BackoffMin == 0 {
		cfg.BackoffMin, cfg.BackoffMax = 20*time.Millisecond, 300*time.Millisecond
	}
	if cfg.AckTimeout == 0 {
		cfg.AckTimeout = 2 * time.Second
	}
	u, err := New(cfg, l, conn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run = %v", err)
				}
			case <-time.After(wait):
				t.Error("Run did not return")
			}
		})
	}
	t.Cleanup(stop)
	return u, stop
}

// waitDelivered waits until the centre holds n movements and the ledger's
// cursor says so.
func waitDelivered(t *testing.T, c *centre, l *bolt.Ledger, n uint64, d time.Duration) {
	t.Helper()
	checkFor(t, d, fmt.Sprintf("%d movements delivered and acknowledged", n), func() bool {
		cur, err := l.SyncCursor()
		return err == nil && cur == n && c.held() == n
	})
}

func TestMosquittoDeliversInOrderExactlyOnce(t *testing.T) {
	b := mosquitto.Start(t, mosquitto.Config{})
	l := openLedger(t, "")
	fill(t, l, 6000) // a backlog from before the first start
	c := startCentre(t, b, l)
	u, _ := startUplink(t, b, l, Config{BatchMax: 250, Version: "test"})
	fill(t, l, 4000) // and more while running
	waitDelivered(t, c, l, 10000, 30*time.Second)
	c.verify(t, l, 10000)
	batches, dups, gaps := c.counts()
	s := u.Stats()
	t.Logf("%d batches, %d duplicate movements, %d gaps; stats %+v", batches, dups, gaps, s)
	if gaps != 0 || dups != 0 {
		t.Errorf("%d gaps and %d duplicates on a healthy broker", gaps, dups)
	}
	if s.Acked != 10000 || s.InFlight != 0 || s.Resends != 0 || !s.Connected {
		t.Errorf("stats %+v", s)
	}

	// Duplicates: the centre asks for movements it holds again; it stores
	// nothing twice, acknowledges again, and the gateway stops resending
	// once the ack shows the centre holds everything.
	c.mu.Lock()
	c.resendLocked(9001, "test")
	c.mu.Unlock()
	checkFor(t, 10*time.Second, "duplicates", func() bool {
		_, dups, _ := c.counts()
		return dups >= 250
	})
	waitDelivered(t, c, l, 10000, wait)
	c.verify(t, l, 10000)

	// A centre that lost acknowledged movements (restored from a backup)
	// asks for them; they are all sent again although below the cursor.
	c.mu.Lock()
	for seq := uint64(8001); seq <= 10000; seq++ {
		delete(c.stored, seq)
	}
	_, c.last, _ = record.Check(8000, c.stored[8000])
	c.next = 8001
	c.resendLocked(8001, "restored from a backup")
	c.mu.Unlock()
	waitDelivered(t, c, l, 10000, 10*time.Second)
	c.verify(t, l, 10000)
}

func TestMosquittoBrokerKilled(t *testing.T) {
	b := mosquitto.Start(t, mosquitto.Config{})
	l := openLedger(t, "")
	fill(t, l, 4000)
	c := startCentre(t, b, l)
	u, _ := startUplink(t, b, l, Config{BatchMax: 100, Window: 8})
	checkFor(t, 20*time.Second, "the stream under way", func() bool { return c.held() >= 1000 })

	b.Kill() // SIGKILL: in-flight messages and retained acks are lost
	t.Logf("broker killed with %d of 4000 movements at the centre", c.held())
	checkFor(t, wait, "the uplink to notice", func() bool { return !u.Stats().Connected })
	fill(t, l, 3000) // buffered in the ledger while the broker is down
	b.Restart()
	fill(t, l, 3000)
	waitDelivered(t, c, l, 10000, 45*time.Second)
	c.verify(t, l, 10000)
	batches, dups, gaps := c.counts()
	t.Logf("%d batches, %d duplicate movements, %d gaps; stats %+v", batches, dups, gaps, u.Stats())
	if s := u.Stats(); s.Connects < 2 {
		t.Errorf("%d connects, want a reconnect", s.Connects)
	}
}

func TestMosquittoUplinkRestartResumesFromCursor(t *testing.T) {
	b := mosquitto.Start(t, mosquitto.Config{})
	path := t.TempDir() + "/ledger.db"
	l := openLedger(t, path)
	fill(t, l, 5000)
	c := startCentre(t, b, l)
	_, stop := startUplink(t, b, l, Config{BatchMax: 100, Window: 2})
	checkFor(t, 20*time.Second, "the stream under way", func() bool {
		cur, err := l.SyncCursor()
		return err == nil && cur >= 1000
	})
	stop()
	// The agent restarts: the ledger file is closed and opened again.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openLedger(t, path)
	cursor, err := l.SyncCursor()
	if err != nil || cursor < 1000 {
		t.Fatalf("persisted cursor %d, %v; want at least 1000", cursor, err)
	}
	// Whatever the old connection had in flight has reached the centre
	// before anything of the new one (one subscriber, one broker).
	checkFor(t, wait, "the centre idle", func() bool {
		n, _, _ := c.counts()
		time.Sleep(50 * time.Millisecond)
		m, _, _ := c.counts()
		return n == m
	})
	c.mu.Lock()
	mark := len(c.firsts)
	held := c.next - 1
	c.mu.Unlock()

	fill(t, l, 5000)
	u, _ := startUplink(t, b, l, Config{BatchMax: 100, Window: 2})
	waitDelivered(t, c, l, 10000, 30*time.Second)
	c.verify(t, l, 10000)
	c.mu.Lock()
	first := c.firsts[mark]
	c.mu.Unlock()
	// From the cursor + 1, or further when the retained ack, which may
	// have arrived first, says the centre holds more.
	if first < cursor+1 || first > held+1 {
		t.Errorf("after the restart the first batch starts at %d, want %d (the cursor + 1) to %d (the centre's + 1)", first, cursor+1, held+1)
	}
	t.Logf("resumed from %d; stats %+v", first, u.Stats())
}

// The deployed ACL (deploy/mosquitto/udi-acl) lets the gateway do all the
// protocol asks of it: movements and status out, acks, resends and
// master data in.
func TestMosquittoWithDeployACL(t *testing.T) {
	acl, err := os.ReadFile(filepath.Join("..", "..", "deploy", "mosquitto", "udi-acl"))
	if err != nil {
		t.Skipf("no deployed ACL: %v", err)
	}
	b := mosquitto.Start(t, mosquitto.Config{
		Users: map[string]string{testGateway: "gw-secret", "udi-central": "centre-secret"},
		ACL:   string(acl),
	})
	l := openLedger(t, "")
	fill(t, l, 2000)
	c := startCentreAs(t, b, l, "udi-central", "centre-secret")
	applied := make(chan wire.MasterSet, 1)
	apply := func(set, format string, data []byte, version uint64) error {
		applied <- wire.MasterSet{Set: set, Format: format, Version: version, Data: data}
		return nil
	}
	startUplinkAs(t, b, l, Config{BatchMax: 300, Apply: apply}, "gw-secret")
	waitDelivered(t, c, l, 2000, 20*time.Second)
	c.verify(t, l, 2000)

	// The centre's master data, in two parts under the deploy ACL.
	data := "gtin,lot,serial,reason,date\n04012345678901,L1,,recall,2026-11-25\n"
	parts, err := wire.SplitMaster(wire.SetRecalls, 3, wire.FormatCSV, []byte(data), 40)
	if err != nil || len(parts) != 2 {
		t.Fatal(len(parts), err)
	}
	for i := range parts {
		p, err := wire.AppendMasterPart(nil, &parts[i])
		if err != nil {
			t.Fatal(err)
		}
		c.out <- pub{wire.MasterPartTopic(testSite, wire.SetRecalls, i), p, true}
	}
	select {
	case got := <-applied:
		if got.Set != wire.SetRecalls || got.Version != 3 || got.Format != "csv" || string(got.Data) != data {
			t.Fatalf("applied %+v", got)
		}
	case <-time.After(wait):
		t.Fatal("master data not applied")
	}
}

func TestMQTTConnectFails(t *testing.T) {
	b := mosquitto.Start(t, mosquitto.Config{})
	addr := b.Addr()
	b.Kill()
	conn, err := NewMQTT(MQTTConfig{Brokers: []string{addr}, ClientID: "x", ConnectTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Connect(t.Context(), Will{}, nil); err == nil {
		t.Fatal("connected to a dead broker")
	}
	if err := conn.Publish(t.Context(), "t", nil, false); err != ErrNotConnected {
		t.Fatalf("Publish without a connection = %v", err)
	}
	for _, cfg := range []MQTTConfig{{ClientID: "x"}, {Brokers: []string{"::"}, ClientID: "x"}, {Brokers: []string{addr}}} {
		if _, err := NewMQTT(cfg); err == nil {
			t.Errorf("NewMQTT(%+v) accepted", cfg)
		}
	}
}
