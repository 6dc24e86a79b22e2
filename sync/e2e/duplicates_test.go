package e2e_test

import (
	"fmt"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/udi-edge/udi-edge/agent/record"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// TestDuplicateDeliveries: the same batches reach the centre twice, and
// nothing changes there. First the gateway is killed again and again
// right after an ack moved its cursor, while the next batch is already
// stored at the centre, and its retained ack is cleared before it comes
// back (as a broker that lost its retained messages would), so that it
// sends again from its cursor what the centre holds; then every batch of
// the ledger is published a second time by another client.
func TestDuplicateDeliveries(t *testing.T) {
	start := time.Now()
	const site, backlog = "site-dup", 50000
	s := newScenario(t, start, site, "gw-e", backlog, false)
	broker, c, g := s.broker, s.c, s.g
	cl := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.Addr()).SetClientID("e2e-replay-" + site).SetAutoReconnect(false))
	if tok := cl.Connect(); !tok.WaitTimeout(startWait) || tok.Error() != nil {
		t.Fatalf("replay client: connect: %v", tok.Error())
	}
	defer cl.Disconnect(100)
	g.start()

	var prev uint64
	resent := 0 // rounds in which the centre held more than the cursor
	for round := 1; round <= 4; round++ {
		acked, _ := g.waitMidDrain(prev + 1)
		// Right after an ack: the cursor has just moved.
		waitFor(t, startWait, "the next ack", func() error {
			a, _, err := g.acked()
			if err == nil && a == acked {
				err = errNotYet
			}
			acked = a
			return err
		})
		if round == 4 {
			g.stop()
		} else {
			g.kill()
		}
		cursor, last := cursorAt(t, g)
		if cursor == 0 || cursor >= last {
			t.Fatalf("round %d: cursor %d of %d: not in the middle of the drain", round, cursor, last)
		}
		// Once the centre has handled what was in flight, forget its
		// retained ack.
		var held uint64
		waitFor(t, startWait, "the centre to settle", func() error {
			h1, err := c.head(g.id)
			if err != nil {
				return err
			}
			time.Sleep(100 * time.Millisecond)
			if held, err = c.head(g.id); err == nil && held != h1 {
				err = fmt.Errorf("head moved from %d to %d", h1, held)
			}
			return err
		})
		if tok := cl.Publish(wire.AckTopic(site, g.id), 1, true, []byte{}); !tok.WaitTimeout(startWait) || tok.Error() != nil {
			t.Fatalf("clear the retained ack: %v", tok.Error())
		}
		if held < cursor {
			t.Fatalf("round %d: the gateway's cursor %d is beyond what the centre holds, %d", round, cursor, held)
		}
		if held > cursor {
			resent++
		}
		logf(t, start, "round %d: gateway stopped just after ack %d; cursor %d of %d, the centre holds %d", round, acked, cursor, last, held)
		prev = cursor
		g.start()
	}
	last := waitDrained(t, c, g, backlog)
	gs, err := c.gateways()
	if err != nil {
		t.Fatal(err)
	}
	before := gs[g.id]
	logf(t, start, "drained %d movements; centre counters %+v", last, before.Counters)
	if before.Counters.Stored != last {
		t.Errorf("the centre counts %d movements stored, want %d", before.Counters.Stored, last)
	}
	if resent > 0 && before.Counters.Duplicates == 0 {
		t.Errorf("in %d round(s) the gateway restarted behind the centre, but the centre counts no duplicate batch", resent)
	}
	g.stop()

	// A second delivery of everything: every batch of the ledger again,
	// the second half first, from another client.
	lc := readLedger(t, g)
	const per = 1000
	var batches []*wire.Batch
	for first := uint64(1); first <= lc.last; first += per {
		end := min(first+per-1, lc.last)
		batches = append(batches, &wire.Batch{Gateway: g.id, Site: site, Created: lc.created, First: first, Records: lc.recs[first-1 : end]})
	}
	half := len(batches) / 2
	replay := append(append([]*wire.Batch{}, batches[half:]...), batches[:half]...)
	for _, b := range replay {
		p, err := wire.AppendBatch(nil, b)
		if err != nil {
			t.Fatal(err)
		}
		if tok := cl.Publish(wire.MovementsTopic(site, g.id), 1, false, p); !tok.WaitTimeout(startWait) || tok.Error() != nil {
			t.Fatalf("replay %d to %d: %v", b.First, b.Last(), tok.Error())
		}
	}
	var after central.GatewayInfo
	waitFor(t, drainWait, "the centre to take the replayed batches", func() error {
		gs, err := c.gateways()
		if err != nil {
			return err
		}
		after = gs[g.id]
		// Each batch is counted when it arrives and acknowledged (again)
		// once handled.
		if got, want := after.Counters.Acks, before.Counters.Acks+uint64(len(replay)); got < want {
			return fmt.Errorf("%d acks published, want %d", got, want)
		}
		return nil
	})
	logf(t, start, "replayed %d batches; centre counters %+v", len(replay), after.Counters)
	d := after.Counters
	if d.Stored != before.Counters.Stored || d.Batches != before.Counters.Batches+uint64(len(replay)) ||
		d.Duplicates != before.Counters.Duplicates+uint64(len(replay)) || d.Resends != before.Counters.Resends ||
		d.Gaps != before.Counters.Gaps || d.ChainErrors != before.Counters.ChainErrors || d.Malformed != 0 ||
		after.Seq != last || after.Hash != before.Hash || after.Created != before.Created {
		t.Errorf("a second delivery changed the centre:\nbefore %+v\nafter  %+v", before, after)
	}
	// The retained ack still names the last movement and its hash.
	acks := make(chan wire.Ack, 16)
	if tok := cl.Subscribe(wire.AckTopic(site, g.id), 1, func(_ mqtt.Client, m mqtt.Message) {
		if a, err := wire.DecodeAck(m.Payload()); err == nil {
			acks <- a
		}
	}); !tok.WaitTimeout(startWait) || tok.Error() != nil {
		t.Fatalf("subscribe to the ack: %v", tok.Error())
	}
	select {
	case a := <-acks:
		var want [record.HashSize]byte
		copy(want[:], lc.hashes[last-1])
		if a.Seq != last || a.Created != lc.created || a.Hash != wire.HashHex(want) {
			t.Errorf("retained ack %+v, want seq %d hash %s", a, last, wire.HashHex(want))
		}
	case <-time.After(startWait):
		t.Error("no retained ack")
	}

	// The gateway, started again, has nothing to send.
	g.start()
	waitFor(t, startWait, "the gateway to connect", func() error {
		st, err := g.status()
		if err == nil && !st.Sync.Connected {
			err = errNotYet
		}
		return err
	})
	if st, err := g.status(); err != nil || st.Sync.Acked != last || st.Sync.Batches != 0 {
		t.Errorf("restarted gateway: %+v (%v); want acked %d and no batch sent", st.Sync, err, last)
	}
	g.stop()
	c.stop()
	verifyDelivered(t, c, g)
	logf(t, start, "verified")
}
