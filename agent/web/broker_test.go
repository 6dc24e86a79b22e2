package web

import (
	"testing"
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
