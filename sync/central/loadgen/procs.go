package loadgen

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/internal/postgres"
	"github.com/udi-edge/udi-edge/sync/uplink"
)

// centre is the udi-central process of a run.
type centre struct {
	cmd     *exec.Cmd
	http    string // the API's address
	logPath string
	exited  chan struct{}
	err     error // why it exited, once exited is closed
	anon    atomic.Int64
	stopped chan struct{}
}

// startCentre starts the centre (newCmd with args, its API on a free
// loopback port, its log in dir) and waits until it is connected to the
// broker and subscribed (its /healthz answers 200).
func startCentre(ctx context.Context, newCmd func(args ...string) *exec.Cmd, dir string, args ...string) (*centre, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	c := &centre{http: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), logPath: filepath.Join(dir, "centre.log"),
		exited: make(chan struct{}), stopped: make(chan struct{})}
	log, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	c.cmd = newCmd(append(args, "--http", c.http)...)
	c.cmd.Stdout, c.cmd.Stderr = log, log
	if err := c.cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start the centre: %w", err)
	}
	go func() {
		c.err = c.cmd.Wait()
		log.Close()
		close(c.exited)
	}()
	go c.sample()
	deadline := time.Now().Add(time.Minute)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.http+"/healthz", nil)
		if err != nil {
			c.stop()
			return nil, err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c, nil
			}
		}
		select {
		case <-c.exited:
			return nil, fmt.Errorf("the centre exited while starting (%v); its log: %s", c.err, c.logPath)
		case <-ctx.Done():
			c.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("the centre not connected to the broker within a minute; its log: %s", c.logPath)
		}
	}
}

func (c *centre) pid() int { return c.cmd.Process.Pid }

// sample records the centre's peak RssAnon every 100 ms until it exits.
func (c *centre) sample() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if v, err := ProcStatus(c.pid(), "RssAnon"); err == nil && v > c.anon.Load() {
			c.anon.Store(v)
		}
		select {
		case <-c.exited:
			return
		case <-c.stopped:
			return
		case <-t.C:
		}
	}
}

// peakAnon returns the largest RssAnon sampled.
func (c *centre) peakAnon() int64 { return c.anon.Load() }

// gateways returns the centre's /v1/gateways.
func (c *centre) gateways(ctx context.Context) ([]central.GatewayInfo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.http+"/v1/gateways", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the centre's /v1/gateways: %s", resp.Status)
	}
	var gs central.GatewaysResponse
	if err := json.NewDecoder(resp.Body).Decode(&gs); err != nil {
		return nil, fmt.Errorf("the centre's /v1/gateways: %w", err)
	}
	return gs.Gateways, nil
}

// stop stops the centre with SIGTERM, and SIGKILL after 30 s.
func (c *centre) stop() {
	select {
	case <-c.stopped:
		return
	default:
		close(c.stopped)
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
}

// ProcStatus reads a memory figure (VmHWM, VmRSS, RssAnon, RssFile) of
// process pid from /proc/PID/status, in bytes.
func ProcStatus(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
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

// mosquitto is the broker of a run.
type mosquitto struct {
	url string
	cmd *exec.Cmd
}

// mosquittoConf is the broker's configuration: a loopback listener, and
// the limits of deploy/mosquitto/mosquitto.conf that bear on load (the
// in-flight window of every client, the packet size), but with a queue
// per client that holds every gateway's window of batches (so the
// fleet's whole in-flight traffic can wait for the centre:
// deploy/mosquitto's 512 MiB holds 64 gateways' windows of 1 MiB
// batches, and the broker drops the rest silently) and with Nagle's
// algorithm off (set_tcp_nodelay: without it every small message, an ack
// above all, waits for the receiver's delayed ACK, about 40 ms); no
// persistence, no TLS, no passwords (they cost the same at any load).
// firmware-notes/centre-load.md has the figures.
const mosquittoConf = `listener %d 127.0.0.1
allow_anonymous true
persistence false
set_tcp_nodelay true
max_inflight_messages 64
max_queued_messages %d
max_queued_bytes %d
max_packet_size 1050000
log_dest file %s
`

// startMosquitto starts mosquitto (from PATH, or /usr/sbin) on a free
// loopback port with its files in dir, its queues sized for gateways,
// and waits until it listens.
func startMosquitto(dir string, gateways int) (*mosquitto, error) {
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/mosquitto"); serr != nil {
			return nil, errors.New("mosquitto not found in PATH nor in /usr/sbin: install it (apt-get install mosquitto), or give --broker")
		}
		bin = "/usr/sbin/mosquitto"
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	window := gateways * uplink.DefaultWindow
	conf := fmt.Sprintf(mosquittoConf, port, max(20000, 2*window), max(512<<20, 2*window*uplink.DefaultBatchBytes),
		filepath.Join(dir, "mosquitto.log"))
	if os.Geteuid() == 0 {
		conf = "user root\n" + conf // else it drops to the user mosquitto, who cannot write dir
	}
	path := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	m := &mosquitto{url: fmt.Sprintf("tcp://127.0.0.1:%d", port), cmd: exec.Command(bin, "-c", path)}
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start mosquitto: %w", err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return m, nil
		}
		if time.Now().After(deadline) {
			m.stop()
			return nil, fmt.Errorf("mosquitto not listening on %s within 10s; its log: %s", addr, filepath.Join(dir, "mosquitto.log"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (m *mosquitto) stop() {
	_ = m.cmd.Process.Kill()
	_ = m.cmd.Wait()
}

// database is the PostgreSQL database of a run: one given, or a new one
// on a throwaway server.
type database struct {
	url    string
	server *postgres.Server // nil for a database given
}

// openDatabase returns the database at spec, or, for "", a new database
// on a throwaway server started for the run.
func openDatabase(ctx context.Context, spec string) (*database, error) {
	if spec != "" {
		if _, err := url.Parse(spec); err != nil {
			return nil, fmt.Errorf("--store: %w", err)
		}
		c, err := pgx.Connect(ctx, spec)
		if err != nil {
			return nil, fmt.Errorf("--store: %w", err)
		}
		_ = c.Close(ctx)
		return &database{url: spec}, nil
	}
	srv, err := postgres.Launch()
	if err != nil {
		return nil, fmt.Errorf("a throwaway PostgreSQL (or give --store postgres://...): %w", err)
	}
	if err := srv.Exec(ctx, "postgres", "CREATE DATABASE udi_bench"); err != nil {
		_ = srv.Stop()
		srv.Remove()
		return nil, err
	}
	return &database{url: srv.URL("udi_bench"), server: srv}, nil
}

// close stops and removes a throwaway server; nil does nothing.
func (d *database) close() {
	if d == nil || d.server == nil {
		return
	}
	_ = d.server.Stop()
	d.server.Remove()
}
