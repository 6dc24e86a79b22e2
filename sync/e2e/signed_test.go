package e2e_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/internal/mosquitto"
	"github.com/udi-edge/udi-edge/sync/sign"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// extend returns n sealed records that continue the chain of lc after
// its last movement, as anyone who has read the gateway's movements on
// the broker can make them: every hash right, nothing signed.
func extend(t testing.TB, lc ledgerCopy, n int) [][]byte {
	t.Helper()
	var prev [record.HashSize]byte
	copy(prev[:], lc.hashes[len(lc.hashes)-1])
	var out [][]byte
	for i := range n {
		seq := lc.last + uint64(i) + 1
		m := backlogMovement(lc.gateway, 900000+i)
		m.Kind, m.Location, m.Patient = agent.KindUse, "OR-9", "FORGED"
		rec, err := record.Encode(&m)
		if err != nil {
			t.Fatal(err)
		}
		digest := sha256.Sum256(record.Body(rec))
		hash := record.ChainHash(seq, &prev, &digest)
		record.Seal(rec, crc32.Checksum(record.Body(rec), crc32.MakeTable(crc32.Castagnoli)), &prev, &hash)
		out = append(out, rec)
		prev = hash
	}
	return out
}

// TestForgedMovementsAndAcks: a gateway and a centre deployed with keys
// (the gateway enrolled, the centre's key pinned) on a broker anyone may
// write to, as a broker with a missing ACL is. Movements that continue
// the gateway's chain exactly, hashes and all, but are unsigned or signed
// by another key, are refused and leave the centre's head where it was;
// the real gateway's next movements go through at once (nothing wedged).
// Acks of everything the gateway holds, with the right hash, but unsigned
// or signed by another key, move its cursor not at all; the centre's
// own ack does.
func TestForgedMovementsAndAcks(t *testing.T) {
	start := time.Now()
	const site, n = "site-signed", 50
	broker := mosquitto.Start(t, mosquitto.Config{})
	keys := t.TempDir()
	centreKeyFile := filepath.Join(keys, "centre.key")
	centreKey, err := sign.Create(centreKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	g := newGateway(t, site, "gw-signed", broker.Addr(), nil, gatewayConfig{
		Sync: map[string]any{"centre_key": sign.FormatPublic(sign.Public(centreKey))},
	})
	fillLedger(t, g, n, nil)
	gwKey, err := sign.Create(sign.KeyPath(g.store))
	if err != nil {
		t.Fatal(err)
	}
	enrolment := filepath.Join(keys, "gateways.txt")
	if err := os.WriteFile(enrolment, []byte(sign.Line(site, g.id, sign.Public(gwKey))+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := startCentre(t, site, broker.Addr(), "--signing-key", centreKeyFile, "--enrolment", enrolment)
	c.waitConnected()
	g.start()
	waitDrained(t, c, g, n)
	g.stop()
	lc := readLedger(t, g)
	logf(t, start, "drained %d signed movements", n)

	forger := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.Addr()).SetClientID("e2e-forger-" + site).SetAutoReconnect(false))
	if tok := forger.Connect(); !tok.WaitTimeout(startWait) || tok.Error() != nil {
		t.Fatalf("forger connect: %v", tok.Error())
	}
	defer forger.Disconnect(0)
	publish := func(topic string, retained bool, p []byte) {
		t.Helper()
		if tok := forger.Publish(topic, 1, retained, p); !tok.WaitTimeout(startWait) || tok.Error() != nil {
			t.Fatalf("forger publish %s: %v", topic, tok.Error())
		}
	}
	otherKey := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	for _, priv := range []ed25519.PrivateKey{nil, otherKey} {
		b := &wire.Batch{Gateway: g.id, Site: site, Created: lc.created, First: lc.last + 1, Records: extend(t, lc, 3)}
		if priv != nil {
			b.Sign(priv)
		}
		p, err := wire.AppendBatch(nil, b)
		if err != nil {
			t.Fatal(err)
		}
		publish(wire.MovementsTopic(site, g.id), false, p)
	}
	waitFor(t, startWait, "the centre to refuse both forged batches", func() error {
		if n := strings.Count(c.output(), "batch refused: signature"); n < 2 {
			return fmt.Errorf("%d refusals logged", n)
		}
		return nil
	})
	if h, err := c.head(g.id); err != nil || h != n {
		t.Fatalf("centre head %d (%v) after forged batches, want %d", h, err, n)
	}
	gs, err := c.gateways()
	if err != nil {
		t.Fatal(err)
	}
	if info := gs[g.id]; info.Counters.BadSignatures != 2 || !info.Enrolled {
		t.Fatalf("the centre's counters of %s: %+v", g.id, info)
	}
	logf(t, start, "forged batches refused")

	// Offline, the gateway records more; a forger acks all of it.
	c.stop()
	fillLedger(t, g, 20, func(gw string, i int) agent.Movement { return backlogMovement(gw, 1000+i) })
	lc = readLedger(t, g)
	g.start()
	last := lc.last
	for _, priv := range []ed25519.PrivateKey{nil, otherKey} {
		var h [record.HashSize]byte
		copy(h[:], lc.hashes[last-1])
		a := wire.NewAck(g.id, lc.created, last, h)
		if priv != nil {
			a.Sign(site, priv)
		}
		p, err := wire.EncodeAck(a)
		if err != nil {
			t.Fatal(err)
		}
		publish(wire.AckTopic(site, g.id), true, p)
		time.Sleep(200 * time.Millisecond)
	}
	waitFor(t, startWait, "the gateway to refuse both forged acks", func() error {
		if n := strings.Count(g.output(), "ack refused"); n < 2 {
			return fmt.Errorf("%d refusals logged", n)
		}
		return nil
	})
	if acked, _, err := g.acked(); err != nil || acked != n {
		t.Fatalf("the gateway's cursor is %d (%v) after forged acks, want %d", acked, err, n)
	}
	logf(t, start, "forged acks refused")

	// The real centre comes back: everything goes through.
	c.start()
	if got := waitDrained(t, c, g, last); got != last {
		t.Fatalf("drained to %d, want %d", got, last)
	}
	g.stop()
	c.stop()
	// The centre holds exactly the gateway's movements: nothing forged.
	verifyDelivered(t, c, g)
	if out := c.output(); !strings.Contains(out, "enrolled=1") || !strings.Contains(out, "signed=true") {
		t.Error("the centre did not log its enrolment and key at start")
	}
	if strings.Contains(g.output(), "sync.centre_key is not set") {
		t.Error("the gateway ran without the centre's key pinned")
	}
}
