package postgres

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

var ctx = context.Background()

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(ctx) })
	return c
}

func setting(t *testing.T, c *pgx.Conn, name string) string {
	t.Helper()
	var v string
	if err := c.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSharedServerDatabases: the package's server runs durably (fsync
// and synchronous commit on), not as root, and gives each test a
// database of its own.
func TestSharedServerDatabases(t *testing.T) {
	s := Shared(t)
	if s2 := Shared(t); s2 != s {
		t.Fatal("Shared started a second server")
	}
	a, b := s.NewDatabase(t), s.NewDatabase(t)
	if a == b {
		t.Fatalf("two databases with one URL %s", a)
	}
	ca, cb := connect(t, a), connect(t, b)
	for _, name := range []string{"fsync", "synchronous_commit", "full_page_writes"} {
		if v := setting(t, ca, name); v != "on" {
			t.Errorf("%s = %s, want on", name, v)
		}
	}
	var super bool
	if err := ca.QueryRow(ctx, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&super); err != nil || !super {
		t.Fatalf("the test's role is not the superuser: %v, %v", super, err)
	}
	if _, err := ca.Exec(ctx, "CREATE TABLE t (x int); INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := cb.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 't'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("a table of one test's database is seen in another's: %d, %v", n, err)
	}
	pid, err := os.ReadFile(filepath.Join(s.Dir(), "data", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		fi, err := os.Stat(filepath.Join(s.Dir(), "data"))
		if err != nil {
			t.Fatal(err)
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Uid == 0 {
			t.Fatal("started by root, the data directory is root's: the server would refuse it")
		}
	}
	if !strings.Contains(string(pid), s.Dir()) {
		t.Fatalf("postmaster.pid does not name the server's directory %s:\n%s", s.Dir(), pid)
	}
}

// TestPasswordRoles: roles other than the superuser log in with their
// password and are refused with another.
func TestPasswordRoles(t *testing.T) {
	s := Shared(t)
	db := s.NewDatabase(t)
	c := connect(t, db)
	if _, err := c.Exec(ctx, "CREATE ROLE centre LOGIN PASSWORD 'right-one'"); err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(db[strings.LastIndex(db, "/"):strings.Index(db, "?")], "/")
	connect(t, s.UserURL("centre", "right-one", name))
	if c, err := pgx.Connect(ctx, s.UserURL("centre", "wrong-one", name)); err == nil {
		c.Close(ctx)
		t.Fatal("a wrong password was accepted")
	}
}

// TestKillAndRestart: a server of a test's own survives SIGKILL with every
// committed transaction, comes back on the same port, and stops.
func TestKillAndRestart(t *testing.T) {
	s := Start(t)
	c, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)
	s.Kill()
	if s.Running() {
		t.Fatal("running after Kill")
	}
	start := time.Now()
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	t.Logf("restarted after a kill in %v", time.Since(start).Round(time.Millisecond))
	c = connect(t, s.URL("postgres"))
	var x int
	if err := c.QueryRow(ctx, "SELECT x FROM kept").Scan(&x); err != nil || x != 42 {
		t.Fatalf("after a kill and restart: %d, %v; want the committed 42", x, err)
	}
	c.Close(ctx)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if s.Running() {
		t.Fatal("running after Stop")
	}
	if !strings.Contains(s.Log(), "starting postgres") {
		t.Fatalf("the log does not show the starts:\n%s", s.Log())
	}
}
