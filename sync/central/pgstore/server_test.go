package pgstore_test

import (
	"errors"
	"testing"

	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
	"github.com/udi-edge/udi-edge/sync/central/pgstore"
	"github.com/udi-edge/udi-edge/sync/central/storetest"
	"github.com/udi-edge/udi-edge/sync/internal/postgres"
)

// TestServerKilledAndRestarted: the database server dies (SIGKILL) with
// the store open. What Append returned before is kept; an Append while it
// is down fails with an error that is no refusal (the service then does
// not acknowledge, and the gateway sends again); once it is back, the
// same store appends again.
func TestServerKilledAndRestarted(t *testing.T) {
	srv := postgres.Start(t)
	url := srv.NewDatabase(t)
	st := open(t, url)
	l := testkit.NewLedger("st-marys", "or-3", storetest.Created)
	l.AddN(t, 30)
	storetest.MustAppend(t, st, l, 1, 10)
	srv.Kill()
	_, added, err := st.Append(ctx, l.Site, l.Gateway, l.Created, storetest.Stored(t, l, 11, 20))
	var ce *central.CheckError
	if err == nil || errors.As(err, &ce) || added != 0 {
		t.Fatalf("append with the server down: %d added, %v; want an error that is no refusal", added, err)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	storetest.MustAppend(t, st, l, 11, 30)
	storetest.Records(t, st, l)
	if err := st.Verify(ctx); err != nil {
		t.Fatal(err)
	}
	if h, err := st.Head(ctx, l.Gateway, l.Created); err != nil || h.Seq != 30 {
		t.Fatalf("head %d, %v after the restart, want 30", h.Seq, err)
	}
}

// TestDurableSessions: a database whose synchronous_commit is off gets
// sessions with it on (a commit is flushed before Append returns); other
// values are kept.
func TestDurableSessions(t *testing.T) {
	url := newDB(t)
	db := url[lastSlash(url)+1 : indexQ(url)]
	for set, want := range map[string]string{"off": "on", "remote_apply": "remote_apply", "local": "local"} {
		exec(t, url, "ALTER DATABASE "+db+" SET synchronous_commit TO "+set)
		st, err := pgstore.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.Setting(ctx, "synchronous_commit")
		st.Close()
		if err != nil || got != want {
			t.Fatalf("database synchronous_commit %s: the store's sessions have %s, %v; want %s", set, got, err, want)
		}
	}
}
