// Package nats starts a real cluster of three NATS servers with MQTT for
// tests: nats-server is built once from its Go module (the module in the
// directory server/, kept apart from the product's go.mod) and cached,
// and three processes run the shipped configuration,
// deploy/nats/nats-server.conf, on free loopback ports, each with its own
// JetStream directory, routes to the other two and a TLS MQTT listener.
// A test kills and restarts single nodes; everything is killed when the
// test ends, and the nodes' logs are printed when it failed.
package nats

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/sync/internal/child"
	"github.com/udi-edge/udi-edge/sync/internal/mosquitto"
)

// Version is the nats-server the harness builds (server/go.mod).
const Version = "v2.15.3"

// startTimeout bounds how long a node may take to start, to become
// healthy and to stop.
const startTimeout = 30 * time.Second

// build is the nats-server binary, built once per test process.
var build struct {
	once sync.Once
	path string
	err  error
}

// Binary returns the path of the nats-server binary, building it on first
// use. The binary is cached in the user's cache directory under a name
// derived from server/go.sum and the Go version, so that later runs (and
// the other test packages of a run) only look it up.
func Binary(t testing.TB) string {
	t.Helper()
	build.once.Do(func() { build.path, build.err = buildBinary(mosquitto.RepoRoot(t)) })
	if build.err != nil {
		t.Fatalf("nats: %v", build.err)
	}
	return build.path
}

func buildBinary(root string) (string, error) {
	src := filepath.Join(root, "sync", "internal", "nats", "server")
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			return "", err
		}
		h.Write(data)
	}
	h.Write([]byte(runtime.Version()))
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "udi-edge-test")
	bin := filepath.Join(dir, "nats-server-"+Version+"-"+hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// One build at a time: the test processes of one run (this package's
	// and sync/e2e's) start together, and a build takes half a minute of
	// both cores. The others wait for the lock and find the binary.
	lock, err := os.OpenFile(bin+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	// Built beside its final name and renamed into place, so that no one
	// ever sees half a binary.
	tmp := fmt.Sprintf("%s.%d.tmp", bin, os.Getpid())
	cmd := exec.Command("go", "build", "-o", tmp, "github.com/nats-io/nats-server/v2")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("go build nats-server in %s: %v\n%s", src, err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return bin, nil
}

// Config describes the cluster a test wants.
type Config struct {
	// Users maps user names to passwords: gateway ids, and udi-central
	// (udi-central-N) for the central service. deploy/nats/make-users.sh
	// turns them into udi-users.conf.
	Users map[string]string
	// Certs are the CA and the server certificate of the MQTT listeners.
	Certs *mosquitto.Certs
}

// Cluster is three nodes started from the shipped configuration.
type Cluster struct {
	t     testing.TB
	nodes []*Node
}

// Node is one nats-server process of a Cluster.
type Node struct {
	t       testing.TB
	name    string
	dir     string
	conf    string
	logPath string
	env     []string
	mqtt    int // MQTT port
	http    int // monitoring port
	proc    child.Process
}

// StartCluster starts three nodes with the shipped configuration and waits
// until each is healthy (JetStream current with its meta leader). It calls
// t.Fatalf on failure, so it must run in the test's goroutine.
func StartCluster(t testing.TB, cfg Config) *Cluster {
	t.Helper()
	if cfg.Certs == nil {
		t.Fatal("nats: StartCluster needs Certs: the shipped MQTT listener is TLS only")
	}
	bin := Binary(t)
	root := mosquitto.RepoRoot(t)
	conf, err := os.ReadFile(filepath.Join(root, "deploy", "nats", "nats-server.conf"))
	if err != nil {
		t.Fatalf("nats: %v", err)
	}
	users := usersFile(t, root, cfg.Users)
	const n = 3
	ports := freePorts(t, 4*n)
	routePassword := "route-" + strconv.Itoa(ports[0])
	var routes []string
	for i := range n {
		routes = append(routes, fmt.Sprintf("nats://route:%s@127.0.0.1:%d", routePassword, ports[4*i+1]))
	}
	c := &Cluster{t: t}
	for i := range n {
		dir := t.TempDir()
		nd := &Node{
			t: t, name: fmt.Sprintf("nats-%d", i+1), dir: dir,
			conf: filepath.Join(dir, "nats-server.conf"), logPath: filepath.Join(dir, "nats-server.log"),
			mqtt: ports[4*i+2], http: ports[4*i+3],
		}
		// The shipped file unchanged, and the users file beside it.
		if err := os.WriteFile(nd.conf, conf, 0o600); err != nil {
			t.Fatalf("nats: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "udi-users.conf"), users, 0o600); err != nil {
			t.Fatalf("nats: %v", err)
		}
		nd.env = append(os.Environ(),
			"UDI_NATS_NAME="+nd.name,
			"UDI_NATS_PORT="+strconv.Itoa(ports[4*i]),
			"UDI_NATS_HTTP_PORT="+strconv.Itoa(nd.http),
			"UDI_NATS_STORE="+filepath.Join(dir, "store"),
			"UDI_NATS_CLUSTER_HOST=127.0.0.1",
			"UDI_NATS_CLUSTER_PORT="+strconv.Itoa(ports[4*i+1]),
			"UDI_NATS_ROUTES=["+strings.Join(routes, ", ")+"]",
			"UDI_NATS_ROUTE_PASSWORD="+routePassword,
			"UDI_NATS_MQTT_HOST=127.0.0.1",
			"UDI_NATS_MQTT_PORT="+strconv.Itoa(nd.mqtt),
			"UDI_NATS_CERT="+cfg.Certs.ServerCert,
			"UDI_NATS_KEY="+cfg.Certs.ServerKey,
			"UDI_NATS_CA="+cfg.Certs.CAFile,
		)
		c.nodes = append(c.nodes, nd)
		t.Cleanup(func() {
			nd.Kill()
			if t.Failed() {
				t.Logf("%s log (last 256 KiB):\n%s", nd.name, tail(nd.Log(), 256<<10))
			}
		})
	}
	for _, nd := range c.nodes {
		if err := nd.start(bin); err != nil {
			t.Fatalf("nats: %s: %v\nlog:\n%s", nd.name, err, nd.Log())
		}
	}
	for _, nd := range c.nodes {
		nd.WaitHealthy()
	}
	return c
}

// usersFile runs deploy/nats/make-users.sh on users.
func usersFile(t testing.TB, root string, users map[string]string) []byte {
	t.Helper()
	var in strings.Builder
	for name, pw := range users {
		fmt.Fprintf(&in, "%s %s\n", name, pw)
	}
	out, err := makeUsers(root, in.String())
	if err != nil {
		t.Fatalf("nats: %v", err)
	}
	return out
}

// makeUsers runs deploy/nats/make-users.sh with in as its input.
func makeUsers(root, in string) ([]byte, error) {
	cmd := exec.Command("sh", filepath.Join(root, "deploy", "nats", "make-users.sh"))
	cmd.Stdin = strings.NewReader(in)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("make-users.sh: %v: %s", err, stderr.String())
	}
	return out, nil
}

// freePorts returns n distinct loopback TCP ports that were free a moment
// ago.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("nats: no free port: %v", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// Nodes returns the cluster's nodes, in the order of URLs.
func (c *Cluster) Nodes() []*Node { return c.nodes }

// URLs returns the nodes' MQTT URLs, ssl://127.0.0.1:PORT, starting with
// node first and going round: each client can list them in its own
// order.
func (c *Cluster) URLs(first int) []string {
	var out []string
	for i := range c.nodes {
		out = append(out, c.nodes[(first+i)%len(c.nodes)].Addr())
	}
	return out
}

// NodeOf returns the index of the node that client id is connected to, or
// -1 when none of the running nodes has it.
func (c *Cluster) NodeOf(id string) (int, error) {
	for i, nd := range c.nodes {
		if !nd.Running() {
			continue
		}
		ok, err := nd.HasClient(id)
		if err != nil {
			return -1, err
		}
		if ok {
			return i, nil
		}
	}
	return -1, nil
}

// start starts the node's process once and waits until its MQTT port
// accepts TCP connections, or the process exits, or startTimeout passes.
func (nd *Node) start(bin string) error {
	cmd := exec.Command(bin, "-c", nd.conf)
	cmd.Dir = nd.dir
	cmd.Env = nd.env
	return mosquitto.StartProcess(&nd.proc, cmd, nd.logPath, fmt.Sprintf("starting %s (MQTT on %d)", nd.name, nd.mqtt),
		net.JoinHostPort("127.0.0.1", strconv.Itoa(nd.mqtt)), startTimeout)
}

// Name is the node's server_name.
func (nd *Node) Name() string { return nd.name }

// Addr is the node's MQTT URL: ssl://127.0.0.1:PORT.
func (nd *Node) Addr() string { return fmt.Sprintf("ssl://127.0.0.1:%d", nd.mqtt) }

// Running reports whether the node's process is alive.
func (nd *Node) Running() bool { return nd.proc.Running() }

// Kill kills the node with SIGKILL and waits for it to exit. It does
// nothing if the node is not running.
func (nd *Node) Kill() {
	if _, err := nd.proc.Signal(syscall.SIGKILL, startTimeout); err != nil {
		nd.t.Errorf("nats: %s: SIGKILL: %v", nd.name, err)
	}
}

// Restart starts a killed node again with its configuration and
// JetStream directory, on the same ports, and waits until it is healthy.
// It calls t.Fatalf on failure, so it must run in the test's goroutine.
func (nd *Node) Restart() {
	nd.t.Helper()
	nd.Kill()
	bin := Binary(nd.t)
	deadline := time.Now().Add(startTimeout)
	for {
		err := nd.start(bin)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			nd.t.Fatalf("nats: restart %s: %v\nlog:\n%s", nd.name, err, nd.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	nd.WaitHealthy()
}

// WaitHealthy waits until the node's /healthz answers 200: JetStream
// enabled and current with the cluster's meta leader.
func (nd *Node) WaitHealthy() {
	nd.t.Helper()
	deadline := time.Now().Add(startTimeout)
	var last string
	for {
		code, body, err := nd.get("/healthz")
		if err == nil && code == http.StatusOK {
			return
		}
		last = fmt.Sprintf("%d %s %v", code, body, err)
		if time.Now().After(deadline) {
			nd.t.Fatalf("nats: %s not healthy after %v: %s\nlog:\n%s", nd.name, startTimeout, last, tail(nd.Log(), 16<<10))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// HasClient reports whether an MQTT client with client id id is
// connected to the node (its /connz).
func (nd *Node) HasClient(id string) (bool, error) {
	code, body, err := nd.get("/connz?mqtt_client=" + id)
	if err != nil {
		return false, err
	}
	if code != http.StatusOK {
		return false, fmt.Errorf("%s /connz: %d %s", nd.name, code, body)
	}
	var r struct {
		Connections []struct {
			MQTTClient string `json:"mqtt_client"`
		} `json:"connections"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return false, fmt.Errorf("%s /connz: %w", nd.name, err)
	}
	for _, c := range r.Connections {
		if c.MQTTClient == id {
			return true, nil
		}
	}
	return false, nil
}

func (nd *Node) get(path string) (int, []byte, error) {
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", nd.http, path))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// Log returns everything the node has logged so far, over all its runs.
func (nd *Node) Log() string {
	data, err := os.ReadFile(nd.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(data)
}

// tail returns at most the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
