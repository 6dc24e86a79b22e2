package central

// Queues is what a Service holds between the broker and the store, for
// its metrics.
type Queues struct {
	// PendingBytes are the bytes of the batches received and not yet
	// handled, counted against MaxPending (Config.MaxPending); Waiting
	// says a batch waits for room meanwhile (the broker holds the rest).
	PendingBytes, MaxPending int
	Waiting                  bool
	// Batches is how many batches wait in the workers' queues.
	Batches int
}

// Queues returns what the service holds now.
func (s *Service) Queues() Queues {
	q := Queues{MaxPending: s.cfg.MaxPending}
	q.PendingBytes, q.Waiting = s.pending.held()
	s.qmu.RLock()
	for _, w := range s.queues {
		w.mu.Lock()
		q.Batches += len(w.jobs)
		w.mu.Unlock()
	}
	s.qmu.RUnlock()
	return q
}

// InboxMax returns the most bytes the inbox holds before it stops
// reading the connection (MQTTConfig.MaxInbox; see Inbox).
func (m *MQTT) InboxMax() int { return m.in.max }
