package pgstore_test

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/udi-edge/udi-edge/sync/central/pgstore"
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
	files["migrations/0002_next.sql"] = &fstest.MapFile{Data: []byte(sql)}
	return files
}

// TestMigrationInItsOwnTransaction: a migration that fails half way
// leaves nothing of itself and the schema at the version before, which
// the store still serves; once fixed, the next Open applies it and
// records it, and a binary that knows only the earlier schema then
// refuses the database.
func TestMigrationInItsOwnTransaction(t *testing.T) {
	url := newDB(t)
	open(t, url).Close() // version 1

	restore := pgstore.SetMigrations(withMigration(t, "CREATE TABLE half_done (x int); SELECT 1/0;"))
	_, err := pgstore.Open(ctx, url)
	restore()
	if err == nil || !strings.Contains(err.Error(), "migration 2 (next)") {
		t.Fatalf("open with a failing migration: %v, want an error naming migration 2", err)
	}
	if n := queryInt(t, url, "SELECT count(*) FROM pg_tables WHERE tablename = 'half_done'"); n != 0 {
		t.Fatal("the failed migration left its table behind")
	}
	if v := queryInt(t, url, "SELECT max(version) FROM schema_version"); v != 1 {
		t.Fatalf("schema version %d after a failed migration, want 1", v)
	}
	open(t, url).Close()

	defer pgstore.SetMigrations(withMigration(t, "ALTER TABLE master_versions ADD COLUMN note text;"))()
	st := open(t, url)
	if v, err := st.NextMasterVersion(ctx, "st-marys", "recalls", 0); err != nil || v != 1 {
		t.Fatalf("after migration 2: %d, %v", v, err)
	}
	st.Close()
	if v := queryInt(t, url, "SELECT max(version) FROM schema_version"); v != 2 {
		t.Fatalf("schema version %d, want 2", v)
	}
	if n := queryInt(t, url, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'master_versions' AND column_name = 'note'"); n != 1 {
		t.Fatal("migration 2 not applied")
	}
	pgstore.SetMigrations(pgstore.EmbeddedMigrations()) // a binary of schema 1 (restored by the deferred call)
	if _, err := pgstore.Open(ctx, url); !errors.Is(err, pgstore.ErrSchema) || !strings.Contains(err.Error(), "schema version 2 is newer") {
		t.Fatalf("schema 1 code on a schema 2 database: %v, want ErrSchema", err)
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
