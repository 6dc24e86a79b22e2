package pgstore_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/internal/testkit"
	"github.com/udi-edge/udi-edge/sync/central/pgstore"
	"github.com/udi-edge/udi-edge/sync/central/storetest"
	"github.com/udi-edge/udi-edge/sync/internal/postgres"
)

func TestMain(m *testing.M) { os.Exit(postgres.Main(m)) }

var ctx = context.Background()

// urls remembers the database of each store the tests opened.
var urls sync.Map // *pgstore.Store → string

// newDB returns the URL of a new database on the package's server.
func newDB(t testing.TB) string {
	t.Helper()
	return postgres.Shared(t).NewDatabase(t)
}

// open opens the store at url, closed when the test ends.
func open(t testing.TB, url string) *pgstore.Store {
	t.Helper()
	st, err := pgstore.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	urls.Store(st, url)
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func urlOf(t testing.TB, st central.Store) string {
	t.Helper()
	u, ok := urls.Load(st)
	if !ok {
		t.Fatal("a store the tests did not open")
	}
	return u.(string)
}

// TestConformance runs sync/central's Store suite against stores in
// databases of their own: Share opens a second pool on the same database,
// as a second instance of the service does.
func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Opener{
		Open: func(t *testing.T) central.Store { return open(t, newDB(t)) },
		Reopen: func(t *testing.T, st central.Store) central.Store {
			_ = st.Close()
			return open(t, urlOf(t, st))
		},
		Share: func(t *testing.T, st central.Store) central.Store { return open(t, urlOf(t, st)) },
		Unindex: func(t *testing.T, st central.Store) central.Store {
			url := urlOf(t, st)
			_ = st.Close()
			asSchema2(t, url)
			return open(t, url)
		},
	})
}

// asSchema2 makes the database at url as schema 2 left it: no index of
// received products.
func asSchema2(t testing.TB, url string) {
	t.Helper()
	exec(t, url, "DROP TABLE received_products")
	exec(t, url, "DELETE FROM schema_version WHERE version > 2")
}

// exec runs SQL in the database at url.
func exec(t testing.TB, url, sql string, args ...any) {
	t.Helper()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// queryInt runs a query of one integer in the database at url.
func queryInt(t testing.TB, url, sql string, args ...any) int64 {
	t.Helper()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var n int64
	if err := c.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// TestSchemaVersions: Open creates the schema at SchemaVersion and records
// it, a second Open changes nothing, and a schema newer than the code
// knows is refused, by Open and OpenReadOnly, saying so.
func TestSchemaVersions(t *testing.T) {
	url := newDB(t)
	open(t, url).Close()
	if v := queryInt(t, url, "SELECT max(version) FROM schema_version"); v != pgstore.SchemaVersion {
		t.Fatalf("schema version %d, want %d", v, pgstore.SchemaVersion)
	}
	open(t, url).Close()
	if n := queryInt(t, url, "SELECT count(*) FROM schema_version"); n != pgstore.SchemaVersion {
		t.Fatalf("%d rows in schema_version after two opens, want %d", n, pgstore.SchemaVersion)
	}
	ro, err := pgstore.OpenReadOnly(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	ro.Close()

	exec(t, url, "INSERT INTO schema_version (version, name) VALUES ($1, 'from the future')", pgstore.SchemaVersion+1)
	for name, openf := range map[string]func(context.Context, string) (*pgstore.Store, error){"Open": pgstore.Open, "OpenReadOnly": pgstore.OpenReadOnly} {
		st, err := openf(ctx, url)
		if err == nil {
			st.Close()
		}
		if !errors.Is(err, pgstore.ErrSchema) || !strings.Contains(err.Error(), "newer than this udi-central knows") {
			t.Fatalf("%s of a newer schema: %v, want ErrSchema saying it is newer", name, err)
		}
	}
}

// TestOpenReadOnly: a read-only store refuses an empty database (it
// creates nothing), reads what a writer stores, and cannot write.
func TestOpenReadOnly(t *testing.T) {
	url := newDB(t)
	if st, err := pgstore.OpenReadOnly(ctx, url); !errors.Is(err, pgstore.ErrSchema) || !strings.Contains(err.Error(), "udi-central run creates it") {
		if st != nil {
			st.Close()
		}
		t.Fatalf("read-only open of an empty database: %v, want ErrSchema", err)
	}
	if n := queryInt(t, url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"); n != 0 {
		t.Fatalf("a read-only open created %d tables", n)
	}
	w := open(t, url)
	l := testkit.NewLedger("st-marys", "or-3", storetest.Created)
	l.AddN(t, 3)
	if _, _, err := w.Append(ctx, l.Site, l.Gateway, l.Created, storetest.Stored(t, l, 1, 2)); err != nil {
		t.Fatal(err)
	}
	ro, err := pgstore.OpenReadOnly(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if h, err := ro.Head(ctx, l.Gateway, l.Created); err != nil || h.Seq != 2 {
		t.Fatalf("read-only head %+v, %v", h, err)
	}
	if ts, err := ro.Trace(ctx, testkit.ItemKey(2)); err != nil || len(ts) != 1 {
		t.Fatalf("read-only trace: %d, %v", len(ts), err)
	}
	if _, _, err := ro.Append(ctx, l.Site, l.Gateway, l.Created, storetest.Stored(t, l, 3, 3)); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("a read-only store appended: %v", err)
	}
	if _, err := ro.NextMasterVersion(ctx, "st-marys", "recalls", 0); err == nil {
		t.Fatal("a read-only store took a master version")
	}
	if h, _ := w.Head(ctx, l.Gateway, l.Created); h.Seq != 2 {
		t.Fatalf("head %d after the read-only store's refused append, want 2", h.Seq)
	}
}

// TestPasswordNotInErrors: a refused login names the user and database,
// never the password, whichever form the connection string has.
func TestPasswordNotInErrors(t *testing.T) {
	srv := postgres.Shared(t)
	url := newDB(t)
	exec(t, url, "CREATE ROLE centre LOGIN PASSWORD 'the-right-one'; GRANT CREATE ON SCHEMA public TO centre")
	db := url[strings.LastIndex(url, "/")+1 : strings.Index(url, "?")]
	const secret = "s3cret-Wr0ng-pw"
	for _, u := range []string{
		srv.UserURL("centre", secret, db),
		"host=127.0.0.1 port=" + strings.Split(strings.Split(url, ":")[2], "/")[0] + " user=centre dbname=" + db + " password=" + secret + " sslmode=disable",
	} {
		st, err := pgstore.Open(ctx, u)
		if err == nil {
			st.Close()
			t.Fatal("a wrong password was accepted")
		}
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("the error shows the password: %v", err)
		}
		if !strings.Contains(err.Error(), "centre") {
			t.Fatalf("the error does not name the user: %v", err)
		}
	}
	st := open(t, srv.UserURL("centre", "the-right-one", db))
	if _, err := st.NextMasterVersion(ctx, "st-marys", "recalls", 0); err != nil {
		t.Fatal(err)
	}
}

func lastSlash(s string) int { return strings.LastIndex(s, "/") }
func indexQ(s string) int    { return strings.Index(s, "?") }
