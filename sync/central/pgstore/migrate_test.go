package pgstore_test

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
	"github.com/udi-edge/udi-edge/sync/central/pgstore"
	"github.com/udi-edge/udi-edge/sync/central/storetest"
)

// withMigration returns the embedded migrations and one more, number
// SchemaVersion+1, of sql.
func withMigration(t *testing.T, sql string) fstest.MapFS {
	t.Helper()
	files := fstest.MapFS{}
	err := fs.WalkDir(pgstore.EmbeddedMigrations(), "migrations", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(pgstore.EmbeddedMigrations(), path)
		files[path] = &fstest.MapFile{Data: data}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != pgstore.SchemaVersion {
		t.Fatalf("%d embedded migrations, SchemaVersion %d", len(files), pgstore.SchemaVersion)
	}
	files[fmt.Sprintf("migrations/%04d_next.sql", pgstore.SchemaVersion+1)] = &fstest.MapFile{Data: []byte(sql)}
	return files
}

// TestMigrationInItsOwnTransaction: a migration that fails half way
// leaves nothing of itself and the schema at the version before, which
// the store still serves; once fixed, the next Open applies it and
// records it, and a binary that knows only the earlier schema then
// refuses the database.
func TestMigrationInItsOwnTransaction(t *testing.T) {
	url := newDB(t)
	open(t, url).Close() // the current version
	cur, next := int64(pgstore.SchemaVersion), int64(pgstore.SchemaVersion+1)

	restore := pgstore.SetMigrations(withMigration(t, "CREATE TABLE half_done (x int); SELECT 1/0;"))
	_, err := pgstore.Open(ctx, url)
	restore()
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("migration %d (next)", next)) {
		t.Fatalf("open with a failing migration: %v, want an error naming migration %d", err, next)
	}
	if n := queryInt(t, url, "SELECT count(*) FROM pg_tables WHERE tablename = 'half_done'"); n != 0 {
		t.Fatal("the failed migration left its table behind")
	}
	if v := queryInt(t, url, "SELECT max(version) FROM schema_version"); v != cur {
		t.Fatalf("schema version %d after a failed migration, want %d", v, cur)
	}
	open(t, url).Close()

	defer pgstore.SetMigrations(withMigration(t, "ALTER TABLE master_versions ADD COLUMN note text;"))()
	st := open(t, url)
	if v, err := st.NextMasterVersion(ctx, "st-marys", "recalls", 0); err != nil || v != 1 {
		t.Fatalf("after migration %d: %d, %v", next, v, err)
	}
	st.Close()
	if v := queryInt(t, url, "SELECT max(version) FROM schema_version"); v != next {
		t.Fatalf("schema version %d, want %d", v, next)
	}
	if n := queryInt(t, url, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'master_versions' AND column_name = 'note'"); n != 1 {
		t.Fatalf("migration %d not applied", next)
	}
	pgstore.SetMigrations(pgstore.EmbeddedMigrations()) // a binary of the current schema (restored by the deferred call)
	if _, err := pgstore.Open(ctx, url); !errors.Is(err, pgstore.ErrSchema) || !strings.Contains(err.Error(), fmt.Sprintf("schema version %d is newer", next)) {
		t.Fatalf("schema %d code on a schema %d database: %v, want ErrSchema", cur, next, err)
	}
}

// TestConcurrentFirstOpens: instances starting together on a new
// database create its schema once, none failing.
func TestConcurrentFirstOpens(t *testing.T) {
	url := newDB(t)
	errs := make(chan error, 6)
	for range cap(errs) {
		go func() {
			st, err := pgstore.Open(ctx, url)
			if err == nil {
				st.Close()
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := queryInt(t, url, "SELECT count(*) FROM schema_version"); n != pgstore.SchemaVersion {
		t.Fatalf("%d migrations recorded, want %d", n, pgstore.SchemaVersion)
	}
}

// TestMigrationToBranches: a database of schema 1, holding movements,
// migrates to the current schema; its ledgers are branch 0 of
// themselves, everything held is read as before, and it then takes a
// conflict as a branch and counters.
func TestMigrationToBranches(t *testing.T) {
	url := newDB(t)
	schema1 := fstest.MapFS{}
	data, err := fs.ReadFile(pgstore.EmbeddedMigrations(), "migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	schema1["migrations/0001_init.sql"] = &fstest.MapFile{Data: data}
	restore := pgstore.SetMigrations(schema1)
	open(t, url).Close()
	restore()
	// Movements 1 and 2 as schema 1 held them.
	l := testkit.NewLedger("st-marys", "or-3", storetest.Created)
	l.AddN(t, 20)
	h2 := l.Hash(2)
	id := queryInt(t, url, "INSERT INTO ledgers (gateway, created, site, seq, hash) VALUES ($1, $2, $3, 2, $4) RETURNING id", l.Gateway, l.Created, l.Site, h2[:])
	for _, r := range storetest.Stored(t, l, 1, 2) {
		exec(t, url, "INSERT INTO movements (ledger, seq, prev_hash, hash, record) VALUES ($1, $2, $3, $4, $5)", id, int64(r.Seq), r.PrevHash[:], r.Hash[:], r.Record)
		for _, k := range r.Keys {
			exec(t, url, "INSERT INTO trace_keys (key, ledger, seq) VALUES ($1, $2, $3)", []byte(k), id, int64(r.Seq))
		}
	}
	st := open(t, url)
	if v := queryInt(t, url, "SELECT max(version) FROM schema_version"); v != pgstore.SchemaVersion {
		t.Fatalf("schema version %d, want %d", v, pgstore.SchemaVersion)
	}
	if h, err := st.Head(ctx, l.Gateway, l.Created); err != nil || h.Seq != 2 || h.Branch != 0 || h.Fork != 1 || h.Hash != l.Hash(2) {
		t.Fatalf("head after the migration: %+v, %v", h, err)
	}
	if err := st.Verify(ctx); err != nil {
		t.Fatal(err)
	}
	storetest.MustAppend(t, st, l, 1, 20)
	storetest.Records(t, st, l)
	restored := storetest.Fork(t, l, 15, 25, "RESTORED")
	if h, added, err := st.Append(ctx, l.Site, l.Gateway, l.Created, storetest.Stored(t, restored, 16, 25)); err != nil || h.Branch != 1 || added != 10 {
		t.Fatalf("a conflict after the migration: branch %d, %d added, %v", h.Branch, added, err)
	}
	if err := st.Verify(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyWithoutSupplyKeys: a store whose movements were stored
// before the supply index (their supply keys missing) verifies; a
// missing trace key, or a key no movement has, does not.
func TestVerifyWithoutSupplyKeys(t *testing.T) {
	url := newDB(t)
	st := open(t, url)
	l := testkit.NewLedger("st-marys", "or-3", storetest.Created)
	at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	l.Add(t, agent.Movement{Time: at, Kind: agent.KindReceive, Item: "(01)06901234567892(21)S1", Location: "WH", Decision: "accepted"})
	l.Add(t, agent.Movement{Time: at, Kind: agent.KindUse, Item: "(01)06901234567892(21)S1", Location: "OR-3", Decision: "accepted",
		Flags: []string{agent.ConsignedFlag("华东医药")}})
	storetest.MustAppend(t, st, l, 1, 2)
	if err := st.Verify(ctx); err != nil {
		t.Fatal(err)
	}
	supply := 0
	for i := range l.Movements {
		for _, k := range central.SupplyKeys(&l.Movements[i]) {
			supply++
			exec(t, url, "DELETE FROM trace_keys WHERE key = $1", []byte(k))
		}
	}
	if supply == 0 {
		t.Fatal("the receipt and the consigned use have no supply keys to remove")
	}
	if err := st.Verify(ctx); err != nil {
		t.Fatalf("without the supply keys: %v", err)
	}
	exec(t, url, "INSERT INTO trace_keys (key, ledger, seq) SELECT 'bogus', ledger, seq FROM trace_keys LIMIT 1")
	if err := st.Verify(ctx); !errors.Is(err, pgstore.ErrCorrupt) {
		t.Fatalf("a key no movement has: %v", err)
	}
	exec(t, url, "DELETE FROM trace_keys WHERE key = 'bogus'")
	exec(t, url, "DELETE FROM trace_keys WHERE key = $1", []byte("(01)06901234567892(21)S1"))
	if err := st.Verify(ctx); !errors.Is(err, pgstore.ErrCorrupt) {
		t.Fatalf("a trace key missing: %v", err)
	}
}
