package web

import (
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
)

// TestBrokerDropsSlowClient: a client whose buffer is full is dropped,
// never waited for; a client that keeps up, or follows another station,
// is not; a dropped client's place is free again once it leaves.
func TestBrokerDropsSlowClient(t *testing.T) {
	b := newBroker(2, 2)
	slow, ok := b.subscribe("or3")
	if !ok {
		t.Fatal("refused")
	}
	other, _ := b.subscribe("desk")
	if _, ok := b.subscribe(""); ok {
		t.Fatal("a third client past the bound of 2")
	}
	for i := range 5 {
		// Would block here, on the ledger's writer, if it waited.
		b.publish(event{station: "or3", seq: uint64(i + 1)})
	}
	select {
	case <-slow.gone:
	default:
		t.Fatal("the slow client was not dropped")
	}
	select {
	case <-other.gone:
		t.Fatal("a client of another station was dropped")
	default:
	}
	if got := b.dropped.Load(); got != 3 {
		t.Errorf("dropped counted %d times, want 3 (each event it could not take)", got)
	}
	if len(slow.ch) != 2 || (<-slow.ch).seq != 1 {
		t.Errorf("the events it had room for are not the first ones")
	}
	b.unsubscribe(slow)
	all, ok := b.subscribe("")
	if !ok {
		t.Fatal("a place freed was not given again")
	}
	b.publish(event{station: "desk", seq: 9})
	if (<-all.ch).seq != 9 || (<-other.ch).seq != 9 {
		t.Error("events not fanned out to every client that follows them")
	}
	if b.count() != 2 {
		t.Errorf("%d clients", b.count())
	}
}

// BenchmarkPublish: what the ledger's writer pays per scan for the page
// (the station's state and the fan-out) with 10 live screens, against
// what a scan already waits for: a bare one-put bbolt commit at 1,000 a
// second on this disk, its median measured in the same run.
func BenchmarkPublish(b *testing.B) {
	s := &Server{broker: newBroker(DefaultMaxClients, DefaultClientBuffer)}
	done := make(chan struct{})
	defer close(done)
	for i := range 10 {
		c, _ := s.broker.subscribe([]string{"or3", ""}[i%2])
		go func() {
			for {
				select {
				case <-c.ch:
				case <-done:
					return
				}
			}
		}()
	}
	o := agent.Outcome{Verdict: agent.VerdictAccepted, Movement: agent.Movement{Kind: agent.KindUse, Item: "(01)09520123456788(21)S7",
		GTIN: "09520123456788", Patient: "004217", Case: "C77", Decision: agent.DecisionAccepted}}
	b.ResetTimer()
	for i := range b.N {
		o.Movement.Seq = uint64(i + 1)
		s.Publish("or3", o)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/scan")
	b.StopTimer()
	bare, err := bolt.BenchBareCommit(b.TempDir(), 1000, 300*time.Millisecond, 246)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(bare.P50.Nanoseconds()), "ceiling-ns/scan")
}
