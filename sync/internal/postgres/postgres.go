// Package postgres starts real PostgreSQL servers for tests: initdb into a
// fresh directory, the server on a free loopback port with its unix socket
// in that directory, fsync on (as in production), and a new database per
// test. One server serves a whole test package (Shared, stopped by Main);
// a test that kills or restarts the server starts its own (Start).
//
// The binaries (initdb, postgres) are looked up in PATH and then in
// /usr/lib/postgresql/*/bin, where Debian's postgresql package puts them
// (.ci/test installs it). PostgreSQL refuses to run as root: started by
// root, the server runs as the user postgres, which that package creates.
// A test that cannot have its server fails, saying why: nothing is
// skipped.
package postgres

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/udi-edge/udi-edge/sync/internal/child"
)

// Timeouts of the harness.
const (
	// startTimeout bounds initdb and a server's start until it accepts
	// connections.
	startTimeout = 60 * time.Second
	// stopTimeout is how long a server may take to stop on SIGINT (a fast
	// shutdown, whose checkpoint waits for the disk: seconds on a loaded
	// machine) before it is killed.
	stopTimeout = 30 * time.Second
)

// Superuser is the superuser of every server, trusted on the loopback
// interface without a password. Other roles log in with a password
// (scram-sha-256), so that a test can try a wrong one.
const Superuser = "postgres"

// Server is a PostgreSQL server owned by a test or a test package.
type Server struct {
	dir     string // the server's directory: data/, the socket, the log
	bin     string // the directory of initdb and postgres
	port    int
	logPath string
	cred    *syscall.Credential // whom the server runs as; nil: this process's user

	proc child.Process
	pid  atomic.Int64 // of the running postmaster, the leader of its process group
	dbs  atomic.Int64
}

// Start starts a server for t (initdb, start, wait until it accepts
// connections) and stops it when t ends, showing its log when t failed.
// It calls t.Fatalf, saying why, when the server cannot be started, so it
// must run in the test's goroutine.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := Launch()
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	t.Cleanup(func() {
		// The data directory goes next: a server that is slow to stop
		// is killed, and that is no failure of the test.
		if err := s.Stop(); err != nil {
			t.Logf("postgres: %v", err)
		}
		if t.Failed() {
			t.Logf("postgres log:\n%s", s.Log())
		}
		s.Remove()
	})
	return s
}

// Launch starts a server outside of a test (a TestMain, a benchmark
// program): it returns it once it accepts connections. Stop it, then
// Remove its directory.
func Launch() (*Server, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "udi-postgres-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, bin: bin, logPath: filepath.Join(dir, "postgres.log")}
	fail := func(err error) (*Server, error) {
		s.Remove()
		return nil, err
	}
	if s.cred, err = runAs(); err != nil {
		return fail(err)
	}
	if s.cred != nil {
		if err := os.Chown(dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return fail(err)
		}
	}
	if err := s.initdb(); err != nil {
		return fail(err)
	}
	if s.port, err = freePort(); err != nil {
		return fail(err)
	}
	if err := s.start(); err != nil {
		return fail(fmt.Errorf("%w\nlog:\n%s", err, s.Log()))
	}
	return s, nil
}

// findBin returns the directory holding initdb and postgres: PATH's, or
// the newest of /usr/lib/postgresql/*/bin.
func findBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), "postgres")); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { // 9.6 < 10 < 15
		va, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(a)), 64)
		vb, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(b)), 64)
		return cmp.Compare(vb, va)
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("initdb not found in PATH nor in /usr/lib/postgresql/*/bin; install PostgreSQL (Debian: apt-get install postgresql)")
}

// runAs returns the credentials the server runs with: those of the user
// postgres when this process is root (PostgreSQL refuses to run as root),
// nil otherwise.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and PostgreSQL refuses to: no user postgres to run it as (%v); Debian's postgresql package creates it", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("user postgres: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// command returns a command of the server's binaries, run as the
// server's user in its directory, its output appended to the log.
func (s *Server) command(log *os.File, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "TZ=UTC")
	cmd.SysProcAttr = sysProcAttr()
	cmd.SysProcAttr.Credential = s.cred
	return cmd
}

func (s *Server) openLog() (*os.File, error) {
	return os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
}

// initdb creates the cluster: UTF-8, an ICU en-US default collation where
// the server has ICU (as a production server's en_US.UTF-8 would, which
// sorts unlike byte order: a store must not depend on it), the superuser
// trusted on loopback, every other role by password.
func (s *Server) initdb() error {
	log, err := s.openLog()
	if err != nil {
		return err
	}
	defer log.Close()
	args := []string{"-D", filepath.Join(s.dir, "data"), "-U", Superuser, "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions",
		"--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"}
	icu := append(slices.Clone(args), "--locale-provider=icu", "--icu-locale=en-US")
	start := time.Now()
	if err := s.command(log, "initdb", icu...).Run(); err != nil {
		// A server built without ICU: the libc locale.
		_ = os.RemoveAll(filepath.Join(s.dir, "data"))
		fmt.Fprintf(log, "=== udi test harness: initdb with ICU failed (%v); again without\n", err)
		if err := s.command(log, "initdb", args...).Run(); err != nil {
			return fmt.Errorf("initdb: %v\nlog:\n%s", err, s.Log())
		}
	}
	fmt.Fprintf(log, "=== udi test harness: initdb took %v\n", time.Since(start).Round(time.Millisecond))
	hba := "# generated by sync/internal/postgres\n" +
		"local all all trust\n" +
		"host all " + Superuser + " 127.0.0.1/32 trust\n" +
		"host all all 127.0.0.1/32 scram-sha-256\n"
	path := filepath.Join(s.dir, "data", "pg_hba.conf")
	if err := os.WriteFile(path, []byte(hba), 0o600); err != nil {
		return err
	}
	if s.cred != nil {
		return os.Chown(path, int(s.cred.Uid), int(s.cred.Gid))
	}
	return nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("no free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start starts the server once and waits until it accepts connections,
// or exits, or startTimeout passes.
func (s *Server) start() error {
	log, err := s.openLog()
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "=== udi test harness: starting postgres on port %d\n", s.port)
	cmd := s.command(log, "postgres", "-D", filepath.Join(s.dir, "data"),
		"-p", strconv.Itoa(s.port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+s.dir,
		"-c", "fsync=on", "-c", "synchronous_commit=on", "-c", "full_page_writes=on",
		"-c", "max_connections=200",
		"-c", "logging_collector=off",
		"-c", "log_min_messages=warning",
		"-c", "log_line_prefix=%m [%p] %d ")
	// Its own process group; each backend makes a session of its own
	// (InitPostmasterChild calls setsid), so Kill finds them by parent.
	cmd.SysProcAttr.Setpgid = true
	if err := s.proc.Start(cmd, func() { log.Close() }); err != nil {
		log.Close()
		return err
	}
	s.pid.Store(int64(cmd.Process.Pid))
	done := s.proc.Done()
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-done:
			return fmt.Errorf("postgres exited while starting: %v", cmd.ProcessState)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c, err := pgx.Connect(ctx, s.URL("postgres"))
		if err == nil {
			err = c.Ping(ctx)
			_ = c.Close(ctx)
		}
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			s.Kill()
			return fmt.Errorf("postgres not accepting connections on port %d after %v: %v", s.port, startTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// URL returns the URL of database db for the superuser, over TCP.
func (s *Server) URL(db string) string {
	return s.UserURL(Superuser, "", db)
}

// UserURL returns the URL of database db for role user with password
// (none when empty), over TCP.
func (s *Server) UserURL(role, password, db string) string {
	u := url.URL{Scheme: "postgres", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)), Path: "/" + db, RawQuery: "sslmode=disable"}
	if password != "" {
		u.User = url.UserPassword(role, password)
	} else {
		u.User = url.User(role)
	}
	return u.String()
}

// Port is the server's TCP port on 127.0.0.1; it stays the same across
// restarts.
func (s *Server) Port() int { return s.port }

// Dir is the server's directory: data/, the unix socket and the log.
func (s *Server) Dir() string { return s.dir }

// Exec runs SQL statements as the superuser in database db.
func (s *Server) Exec(ctx context.Context, db, sql string, args ...any) error {
	c, err := pgx.Connect(ctx, s.URL(db))
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	_, err = c.Exec(ctx, sql, args...)
	return err
}

// NewDatabase creates a new, empty database for t (a copy of template1)
// and returns its URL. When t fails, the server's log from now on is
// shown.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%s", s.dbs.Add(1), dbName(t.Name()))
	from := s.logSize()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("postgres log while the test ran:\n%s", s.logSince(from))
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := s.Exec(ctx, "postgres", "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("postgres: create database %s: %v", name, err)
	}
	return s.URL(name)
}

// dbName makes a test's name part of a database name (at most 63 bytes).
func dbName(test string) string {
	b := []byte(strings.ToLower(test))
	for i, c := range b {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b[:min(len(b), 48)])
}

// Running reports whether the server process is alive.
func (s *Server) Running() bool { return s.proc.Running() }

// Kill kills the server with SIGKILL, as a crash would: the postmaster
// and every backend (its process group), so that no open connection goes
// on committing. It waits for the postmaster to exit and does nothing if
// the server is not running.
func (s *Server) Kill() {
	if s.proc.Running() {
		pid := int(s.pid.Load())
		// As a machine that dies takes every process with it: the
		// postmaster is stopped (it forks no more), its backends (each
		// the leader of a session of its own, so not in its group) are
		// killed, then the postmaster. Killed alone, it leaves backends
		// that finish their transaction before they notice.
		_ = syscall.Kill(pid, syscall.SIGSTOP)
		for _, child := range childrenOf(pid) {
			_ = syscall.Kill(child, syscall.SIGKILL)
		}
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	_, _ = s.proc.Signal(syscall.SIGKILL, stopTimeout)
}

// childrenOf returns the processes whose parent is pid, from /proc.
func childrenOf(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so the fields
		// are read after its closing parenthesis.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, p)
		}
	}
	return out
}

// Stop stops the server with SIGINT, PostgreSQL's fast shutdown (SIGTERM
// would wait for every client to disconnect), and kills it when it has
// not exited within stopTimeout; it returns an error in that case.
func (s *Server) Stop() error {
	stopped, err := s.proc.Signal(syscall.SIGINT, stopTimeout)
	if !stopped || err != nil {
		s.Kill()
		return fmt.Errorf("postgres did not stop within %v of SIGINT (%v); killed", stopTimeout, err)
	}
	return nil
}

// Restart starts the server again on the same port and data directory
// (stopping it first if it is running), retrying while the port or the
// old server's shared memory is still held, and waits until it accepts
// connections.
func (s *Server) Restart() error {
	if err := s.Stop(); err != nil {
		return err
	}
	deadline := time.Now().Add(startTimeout)
	for {
		err := s.start()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("restart on port %d: %w", s.port, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Remove removes the server's directory; the server must be stopped.
func (s *Server) Remove() { _ = os.RemoveAll(s.dir) }

// Log returns everything the server has logged, over all its runs.
func (s *Server) Log() string {
	data, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(data)
}

func (s *Server) logSize() int64 {
	fi, err := os.Stat(s.logPath)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func (s *Server) logSince(from int64) string {
	log := s.Log()
	if int64(len(log)) < from {
		return log
	}
	return log[from:]
}

// shared is the package's server of Shared.
var shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Shared returns the test package's server, started by the first call,
// and fails t, saying why, when it could not be started. Main stops it.
func Shared(t testing.TB) *Server {
	t.Helper()
	shared.once.Do(func() { shared.srv, shared.err = Launch() })
	if shared.err != nil {
		t.Fatalf("postgres: %v", shared.err)
	}
	return shared.srv
}

// Main runs the package's tests (m.Run), then stops and removes the
// server Shared started, if any, showing its log when a test failed. It
// returns the exit code for os.Exit:
//
//	func TestMain(m *testing.M) { os.Exit(postgres.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	if s := shared.srv; s != nil {
		if err := s.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "postgres:", err) // killed; its directory goes next
		}
		if code != 0 && testing.Verbose() {
			fmt.Fprintf(os.Stderr, "postgres log:\n%s", s.Log())
		}
		s.Remove()
	}
	return code
}
