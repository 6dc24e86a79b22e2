package central_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
	"github.com/udi-edge/udi-edge/sync/central/storetest"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// raceStore is a Store shared with another instance of the service,
// which stores the movements of its batch right after this instance's
// append refused a gap: the race of two instances that the broker dealt
// consecutive batches of one gateway.
type raceStore struct {
	*boltstore.Store
	mu    sync.Mutex
	other func() // the other instance's append; run once
}

func (r *raceStore) Append(ctx context.Context, site, gateway string, created int64, recs []central.Stored) (central.Head, int, error) {
	h, n, err := r.Store.Append(ctx, site, gateway, created, recs)
	r.mu.Lock()
	defer r.mu.Unlock()
	if errors.Is(err, central.ErrGap) && r.other != nil {
		r.other()
		r.other = nil
	}
	return h, n, err
}

// TestGapFilledByAnotherInstance: a batch refused for a gap because
// another instance had not yet committed the movements before it is
// stored once they are (the head is read again), acknowledged, and no
// resend asks the gateway for what the store holds.
func TestGapFilledByAnotherInstance(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "central.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	l := testkit.NewLedger(site, "or-3", created)
	l.AddN(t, 20)
	storetest.MustAppend(t, st, l, 1, 10)
	rs := &raceStore{Store: st}
	rs.other = func() { storetest.MustAppend(t, st, l, 11, 15) }
	conn := testkit.NewConn()
	logs := &syncBuffer{}
	svc, err := central.NewService(central.Config{Sites: []string{site}, Store: rs, Conn: conn, Shared: true,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	f := &fixture{t: t, conn: conn, svc: svc}
	conn.Deliver(t, wire.SharedMovementsFilter(site), wire.MovementsTopic(site, l.Gateway), l.Payload(t, 16, 20))
	ms := f.published(1)
	wantAck(t, ms[0], l, 20)
	f.waitCounters(l.Gateway, func(c central.Counters) bool { return c.Batches == 1 })
	if c := f.info(l.Gateway).Counters; c.Stored != 20 || c.Gaps != 0 || c.Resends != 0 {
		t.Fatalf("counters %+v, want 20 held, no gap counted, no resend", c)
	}
	if !strings.Contains(logs.String(), "added=5 head=20") {
		t.Fatalf("the service did not store movements 16 to 20 itself:\n%s", logs.String())
	}
	storetest.Records(t, st, l)
	if h, _ := st.Head(context.Background(), l.Gateway, l.Created); h.Seq != 20 {
		t.Fatalf("head %d, want 20\n%s", h.Seq, logs.String())
	}
}
