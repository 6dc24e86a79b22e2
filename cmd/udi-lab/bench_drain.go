package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/cmd/internal/bench"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
)

// Goals of the backlog drain (issue: sync over MQTT).
const (
	// goalDrainVsRaw is the least ratio of the drain's movements per
	// second to raw paho QoS 1 publishing of one movement per message.
	goalDrainVsRaw = 1.5
	// goalDrainRSS is the most resident memory the agent may use while it
	// drains.
	goalDrainRSS = 100 << 20
)

// benchMosquitto is a Mosquitto process on a loopback port, for the
// drain benchmark.
type benchMosquitto struct {
	addr string
	cmd  *exec.Cmd
}

// startBenchMosquitto starts the mosquitto binary (from PATH or
// /usr/sbin) with a minimal configuration in dir, on a free loopback
// port.
func startBenchMosquitto(dir string) (*benchMosquitto, error) {
	port, err := freeLoopbackPort()
	if err != nil {
		return nil, err
	}
	return startBenchMosquittoOn(dir, port)
}

// freeLoopbackPort returns a TCP port of 127.0.0.1 nothing listens on
// (free when asked: nothing keeps another program from taking it).
func freeLoopbackPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// mosquittoPath returns the mosquitto binary's path, or
// errCampaignSkipped when it is not installed.
func mosquittoPath() (string, error) {
	if bin, ok := sbinPath("mosquitto"); ok {
		return bin, nil
	}
	return "", fmt.Errorf("%w: mosquitto is not installed (apt-get install mosquitto)", errCampaignSkipped)
}

// sbinPath returns the path of a program: from PATH, or from Debian's
// /usr/sbin and /sbin, often outside a user's PATH.
func sbinPath(name string) (string, bool) {
	if bin, err := exec.LookPath(name); err == nil {
		return bin, true
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return filepath.Join(dir, name), true
		}
	}
	return "", false
}

// startBenchMosquittoOn is startBenchMosquitto on 127.0.0.1:port, for
// a broker that comes up where clients have been trying to reach one.
func startBenchMosquittoOn(dir string, port int) (*benchMosquitto, error) {
	bin, err := mosquittoPath()
	if err != nil {
		return nil, errors.New("mosquitto not found: install it (apt-get install mosquitto) or skip the drain with --drain 0")
	}
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\n"+
		"max_packet_size 1050000\nmax_queued_messages 100000\nmax_inflight_messages 0\n", port)
	if os.Geteuid() == 0 {
		conf += "user root\n" // else it drops to the mosquitto user, who cannot read dir
	}
	path := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-c", path)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start mosquitto: %w", err)
	}
	m := &benchMosquitto{addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd}
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", m.addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return m, nil
		}
		if time.Now().After(deadline) {
			m.stop()
			return nil, fmt.Errorf("mosquitto did not listen on %s within 10s", m.addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (m *benchMosquitto) stop() {
	_ = m.cmd.Process.Kill()
	_ = m.cmd.Wait()
}

// benchRawPaho publishes n messages of size bytes, one movement each, with
// paho at QoS 1, all in flight at once (paho pipelines them; there is no
// faster way to publish single messages with it), and returns messages
// per second from the first publish to the last PUBACK.
func benchRawPaho(addr string, n, size int) (float64, error) {
	opts := paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("udi-edge-bench-raw").
		SetCleanSession(true).SetAutoReconnect(false).SetOrderMatters(false)
	c := paho.NewClient(opts)
	if t := c.Connect(); t.WaitTimeout(10*time.Second) && t.Error() != nil {
		return 0, t.Error()
	} else if !c.IsConnected() {
		return 0, errors.New("raw paho: not connected within 10s")
	}
	defer c.Disconnect(100)
	payload := make([]byte, size)
	tokens := make([]paho.Token, n)
	start := time.Now()
	for i := range tokens {
		tokens[i] = c.Publish("udi/v1/bench/raw/movements", 1, false, payload)
	}
	for _, t := range tokens {
		if !t.WaitTimeout(60 * time.Second) {
			return 0, errors.New("raw paho: no PUBACK within 60s")
		}
		if err := t.Error(); err != nil {
			return 0, err
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// drainResult is what benchDrain measured. The agent's memory is its
// anonymous resident memory (RssAnon: heap, stacks, buffers): what it
// allocates itself. The ledger file's pages it reads through bbolt's
// memory map are counted apart (RssFile): they are the kernel's page
// cache, shared and dropped under memory pressure, and they grow with
// what is read whatever the agent keeps.
type drainResult struct {
	rate                float64 // movements per second, acknowledged
	peakAnon            int64   // the agent's largest RssAnon seen, bytes
	peakFile            int64   // the agent's largest RssFile seen, bytes
	anonEarly, anonLate int64   // RssAnon at 20 % and 80 % of the drain
	movements           uint64
}

// benchDrain fills a ledger with n movements (a gateway's backlog after
// days offline), starts the agent on it as its own process (exe run) with
// the broker at addr, and times the drain until udi-central, in this
// process, holds and has acknowledged every movement. The agent's memory
// is read from /proc while it drains.
func benchDrain(ctx context.Context, dir, exe, addr string, n int) (drainResult, error) {
	var res drainResult
	store := filepath.Join(dir, "drain.db")
	if _, err := bolt.BenchFillItems(store, n); err != nil {
		return res, fmt.Errorf("fill: %w", err)
	}
	l, err := bolt.OpenReadOnly(store, time.Second)
	if err != nil {
		return res, err
	}
	gateway, created, last := l.Gateway(), l.Created().UnixNano(), l.LastSeq()
	if err := l.Close(); err != nil {
		return res, err
	}

	cs, err := boltstore.Open(filepath.Join(dir, "central.db"))
	if err != nil {
		return res, err
	}
	defer cs.Close()
	conn, err := central.NewMQTT(central.MQTTConfig{Brokers: []string{"tcp://" + addr}, ClientID: "udi-central-bench"})
	if err != nil {
		return res, err
	}
	defer conn.Close()
	svc, err := central.NewService(central.Config{Sites: []string{"bench"}, Store: cs, Conn: conn})
	if err != nil {
		return res, err
	}
	defer svc.Close()
	if err := svc.Start(ctx); err != nil {
		return res, err
	}
	if err := conn.Connect(ctx); err != nil {
		return res, err
	}

	cmd := exec.CommandContext(ctx, exe, "run", "--store", store, "--gateway", gateway, "--site", "bench",
		"--broker", "tcp://"+addr, "--socket", filepath.Join(dir, "drain.sock"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("start the agent: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	}()
	deadline := time.Now().Add(10 * time.Minute)
	for {
		h, err := cs.Head(ctx, gateway, created)
		if err != nil {
			return res, err
		}
		if anon, err := procRSS(cmd.Process.Pid, "RssAnon"); err == nil {
			res.peakAnon = max(res.peakAnon, anon)
			switch {
			case res.anonEarly == 0 && h.Seq >= last/5:
				res.anonEarly = anon
			case res.anonEarly != 0 && res.anonLate == 0 && h.Seq >= last*4/5:
				res.anonLate = anon
			}
		}
		if file, err := procRSS(cmd.Process.Pid, "RssFile"); err == nil {
			res.peakFile = max(res.peakFile, file)
		}
		if h.Seq == last {
			break
		}
		select {
		case err := <-exited:
			exited <- err // for the deferred stop
			return res, fmt.Errorf("the agent exited (%v) with the centre holding %d of %d movements: %s", err, h.Seq, last, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("the centre holds %d of %d movements; agent: %s", h.Seq, last, stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	res.rate = float64(last) / time.Since(start).Seconds()
	if res.peakAnon == 0 {
		return res, fmt.Errorf("the agent's memory could not be read from /proc/%d/status", cmd.Process.Pid)
	}
	res.movements = last
	return res, nil
}

// procRSS reads a memory figure (VmRSS, VmHWM) of process pid, in bytes.
func procRSS(pid int, field string) (int64, error) {
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

// benchSync runs the drain benchmark and its ceiling against one
// Mosquitto: raw paho QoS 1 single-message publishing first, then the
// drain of n queued movements.
func benchSync(ctx context.Context, dir string, n int) ([]bench.Figure, error) {
	// The agent that drains is the shipped udi-edge, built from this
	// checkout (udi-lab has no run command of its own).
	exe, err := (&binaries{dir: dir}).get(ctx, "udi-edge")
	if err != nil {
		return nil, err
	}
	m, err := startBenchMosquitto(dir)
	if err != nil {
		return nil, err
	}
	defer m.stop()
	size := bolt.RecordSize(bolt.BenchMovement())
	raw, err := benchRawPaho(m.addr, max(n/20, 20000), size)
	if err != nil {
		return nil, fmt.Errorf("raw paho: %w", err)
	}
	d, err := benchDrain(ctx, dir, exe, m.addr, n)
	if err != nil {
		return nil, fmt.Errorf("drain: %w", err)
	}
	mb := func(b int64) float64 { return float64(b) / (1 << 20) }
	return []bench.Figure{
		{Name: "sync_drain", Value: d.rate, Unit: "movements/s",
			Ceiling: fmt.Sprintf("%d queued movements to a real Mosquitto, stored and acknowledged by udi-central; raw paho QoS 1, one %d-byte movement per message, same broker: %.0f messages/s (%.1fx)",
				d.movements, size, raw, d.rate/raw),
			Goal: fmt.Sprintf(">= %.1fx raw paho", goalDrainVsRaw), Met: d.rate >= goalDrainVsRaw*raw},
		{Name: "sync_drain_rss", Value: mb(d.peakAnon), Unit: "MiB",
			Ceiling: fmt.Sprintf("the agent's peak anonymous resident memory while draining (RssAnon); %.1f MiB at 20%% of the backlog, %.1f MiB at 80%%; besides, up to %.1f MiB of the ledger file mapped from the page cache (RssFile)",
				mb(d.anonEarly), mb(d.anonLate), mb(d.peakFile)),
			Goal: "<= 100 MiB, not growing with the backlog",
			Met:  d.peakAnon <= goalDrainRSS && d.anonEarly > 0 && d.anonLate > 0 && d.anonLate <= d.anonEarly+d.anonEarly/4},
	}, nil
}
