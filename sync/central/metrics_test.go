package central

import "testing"

// TestMetricsQueues: what a service holds is counted against its budget,
// and the batches waiting in its workers' queues.
func TestMetricsQueues(t *testing.T) {
	s := &Service{cfg: Config{MaxPending: 1000}, queues: []*queue{newQueue(), newQueue()}}
	s.pending.init(1000)
	if q := s.Queues(); q != (Queues{MaxPending: 1000}) {
		t.Fatalf("empty: %+v", q)
	}
	j := job{site: "s", gateway: "g", payload: make([]byte, 100)}
	if !s.pending.take(j.cost()) {
		t.Fatal("no room")
	}
	s.queues[1].put(j)
	if q := s.Queues(); q.PendingBytes != j.cost() || q.Batches != 1 || q.Waiting {
		t.Fatalf("one batch: %+v", q)
	}
}
