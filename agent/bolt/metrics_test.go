package bolt

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/testkit"
)

// TestObserveCommits: the observer is told of each transaction before
// its movements are answered, with the commit's time and the movements
// as recorded; of a failed one with its error and no movement.
func TestObserveCommits(t *testing.T) {
	const batch = 10
	l, err := Open(Options{Path: filepath.Join(t.TempDir(), "ledger.db"), Gateway: testGateway,
		maxSize: 256 << 10, MaxBatch: batch, MaxDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var (
		mu      sync.Mutex
		commits []Commit
		seqs    []uint64
		kinds   = map[agent.Kind]int{}
	)
	l.Observe(func(c Commit) {
		mu.Lock()
		defer mu.Unlock()
		commits = append(commits, c)
		c.Movements(func(m *agent.Movement) {
			seqs = append(seqs, m.Seq)
			kinds[m.Kind]++
		})
	})
	observedFirst := true
	o := newOutcomes()
	for i := range batch {
		m := movementN("obs", i)
		if i%2 == 1 {
			m.Kind, m.Item, m.Reason = agent.KindReject, "", "unreadable"
		}
		l.Submit(m, func(got agent.Movement, err error) {
			mu.Lock()
			if len(seqs) <= i || seqs[i] != got.Seq {
				observedFirst = false
			}
			mu.Unlock()
			o.done(i)(got, err)
		})
	}
	o.wg.Wait()
	big := newOutcomes()
	for i := range batch {
		m := movementN("obs", batch+i)
		m.Raw = make([]byte, 40<<10) // 400 KiB: beyond the file's cap
		l.Submit(m, big.done(i))
	}
	big.wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	if len(commits) != 2 || commits[0].Err != nil || commits[0].Duration <= 0 || !errors.Is(commits[1].Err, bolterrors.ErrMaxSizeReached) {
		t.Fatalf("commits %+v, want one committed with its time, one failed", commits)
	}
	if !observedFirst || len(seqs) != batch || seqs[0] != 1 || seqs[batch-1] != batch {
		t.Errorf("observed seqs %v (before their answers: %v), want 1 to %d", seqs, observedFirst, batch)
	}
	// Movements 0, 4, 8 are receipts, 2 and 6 issues (movementN).
	if len(kinds) != 3 || kinds[agent.KindReject] != 5 || kinds[agent.KindReceive] != 3 || kinds[agent.KindIssue] != 2 {
		t.Errorf("kinds observed %v", kinds)
	}
	// The writer marks itself idle once its flush returns, just after the
	// last answer.
	testkit.Eventually(t, 10*time.Second, "the idle writer not busy", func() bool { return l.WriterBusy() == 0 })
}

// TestWriterBusy: while a transaction's done callback blocks, the writer
// reports itself busy; once it returns, idle.
func TestWriterBusy(t *testing.T) {
	l := openTest(t, Options{})
	release, answered := make(chan struct{}), make(chan struct{})
	l.Submit(movementN("busy", 0), func(agent.Movement, error) {
		<-release
		close(answered)
	})
	testkit.Eventually(t, 10*time.Second, "the writer busy", func() bool { return l.WriterBusy() > 0 })
	close(release)
	<-answered
	testkit.Eventually(t, 10*time.Second, "the writer idle", func() bool { return l.WriterBusy() == 0 })
}
