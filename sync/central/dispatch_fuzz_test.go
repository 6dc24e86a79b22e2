package central_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// FuzzDispatch hands any message, on any gateway's movements or status
// topic, to a running centre (real bbolt store, in-process connection),
// then a valid batch of another gateway: the centre never panics, and
// goes on storing and acknowledging what is valid, whatever came before
// it (a bad message is refused alone, never wedging a queue).
func FuzzDispatch(f *testing.F) {
	const site = "h1"
	seedLedger := testkit.NewLedger(site, "gw-a", 1)
	seedLedger.AddN(f, 3)
	batch := seedLedger.Payload(f, 1, 3)
	status, err := wire.EncodeStatus(wire.Status{V: wire.JSONVersion, Gateway: "gw-a", Site: site, State: wire.StateOnline, Time: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), LastSeq: 3, AckedSeq: 1})
	if err != nil {
		f.Fatal(err)
	}
	for _, g := range []string{"gw-a", "gw-b", "", "gw+", "a/b"} {
		f.Add(false, g, batch)
		f.Add(false, g, batch[:len(batch)/2])
		f.Add(true, g, status)
		f.Add(true, g, status[:len(status)/3])
	}
	f.Add(false, "gw-a", bytes.Repeat([]byte{0xff}, 300))
	f.Add(true, "gw-a", []byte(`{"v":1,"gateway":"gw-a","site":"h1","state":"online","time":"2026-12-07T09:00:00Z","last_seq":1,"acked_seq":9}`))
	f.Add(false, "gw-a", []byte{})

	store, err := boltstore.Open(filepath.Join(f.TempDir(), "central.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer store.Close()
	conn := testkit.NewConn()
	svc, err := central.NewService(central.Config{Sites: []string{site}, Store: store, Conn: conn, ResendTimeout: time.Hour})
	if err != nil {
		f.Fatal(err)
	}
	defer svc.Close()
	if err := svc.Start(context.Background()); err != nil {
		f.Fatal(err)
	}
	// The witness: a gateway whose valid movements follow every fuzzed
	// message and must each be acknowledged. It starts a new ledger now
	// and then, so that a long run's memory stays bounded.
	var witness *testkit.Ledger
	created := int64(0)
	f.Fuzz(func(t *testing.T, onStatus bool, gateway string, payload []byte) {
		if witness == nil || len(witness.Records) == 1000 {
			created++
			witness = testkit.NewLedger(site, "gw-witness", created)
		}
		if strings.Contains(gateway, "witness") {
			return // the witness's own ledger is not the fuzzer's to fork
		}
		filter, topic := wire.MovementsFilter(site), wire.MovementsTopic(site, gateway)
		if onStatus {
			filter, topic = wire.StatusFilter(site), wire.StatusTopic(site, gateway)
		}
		conn.Deliver(t, filter, topic, payload)

		witness.AddN(t, 1)
		seq := uint64(len(witness.Records))
		conn.Deliver(t, wire.MovementsFilter(site), wire.MovementsTopic(site, witness.Gateway), witness.Payload(t, seq, seq))
		ackTopic := wire.AckTopic(site, witness.Gateway)
		acked := false
		testkit.WaitFor(t, 10*time.Second, "the witness's movement acknowledged", func() bool {
			for _, m := range conn.Take() {
				if m.Topic != ackTopic {
					continue
				}
				if a, err := wire.DecodeAck(m.Payload); err == nil && a.Created == witness.Created && a.Seq >= seq {
					acked = true
				}
			}
			return acked
		})
	})
}
