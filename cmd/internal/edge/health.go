package edge

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/cmd/internal/metrics"
)

// monitorEvery is how often the agent's main loop checks its devices,
// its uplink and its disk for the alerts.
const monitorEvery = time.Second

// observability is what makes the running agent watchable: its metrics,
// its health checks and alerts, and the endpoint serving them. It keeps
// when each device and the uplink were last seen connected.
type observability struct {
	a       *Agent
	metrics *gatewayMetrics
	ln      net.Listener // the metrics endpoint's; nil when not served

	mu      sync.Mutex
	devices map[string]*seen
	broker  seen
}

// seen is when something was last seen connected, and since when it is
// not.
type seen struct {
	lastSeen, downSince time.Time
}

// update records whether the thing is connected at now.
func (s *seen) update(connected bool, now time.Time) {
	if connected {
		s.lastSeen, s.downSince = now, time.Time{}
		return
	}
	if s.downSince.IsZero() {
		s.downSince = now
	}
}

// gatewayState is the gateway's state at one moment, as the metrics,
// the health checks and the alerts read it.
type gatewayState struct {
	at          time.Time
	ledger      agent.LedgerHealth
	ledgerBytes int64
	lastSeq     uint64
	queued      int
	devices     []deviceState
	sync        *uplinkState // nil when the gateway does not sync
	disk        diskState
}

type deviceState struct {
	core.Device
	lastSeen, downSince time.Time
}

type uplinkState struct {
	connected bool
	lastSeen  time.Time
	// waiting is how many movements are not acknowledged; oldest the
	// time of the first of them (err: it could not be read).
	waiting uint64
	oldest  time.Time
	err     error
}

// oldestAge returns how long the oldest movement not acknowledged has
// waited at now; 0 when none waits.
func (u *uplinkState) oldestAge(now time.Time) time.Duration {
	if u.waiting == 0 || u.oldest.IsZero() {
		return 0
	}
	return max(0, now.Sub(u.oldest))
}

type diskState struct {
	free, size uint64
	err        error
}

func newObservability(a *Agent) *observability {
	o := &observability{a: a, devices: map[string]*seen{}}
	o.metrics = newGatewayMetrics(a)
	return o
}

// observe reads the gateway's state at now and records what it saw
// connected.
func (o *observability) observe(now time.Time) gatewayState {
	a := o.a
	s := gatewayState{at: now, ledger: a.ledger.Health(), ledgerBytes: fileSize(a.Config.Store), lastSeq: a.ledger.LastSeq(), queued: a.ledger.Stats().Queued}
	devs := a.devices()
	var y *uplinkState
	if a.uplink != nil {
		st := a.uplink.Stats()
		y = &uplinkState{connected: st.Connected}
		// Until the uplink runs, its cursor is the ledger's.
		acked := st.Acked
		if c, err := a.ledger.SyncCursor(); err == nil {
			acked = max(acked, c)
		}
		if last := a.ledger.LastSeq(); last > acked {
			y.waiting = last - acked
			m, err := a.ledger.Get(acked + 1)
			y.oldest, y.err = m.Time, err
		}
	}
	o.mu.Lock()
	for _, d := range devs {
		sn := o.devices[d.ID]
		if sn == nil {
			sn = &seen{}
			o.devices[d.ID] = sn
		}
		sn.update(d.Connected, now)
		s.devices = append(s.devices, deviceState{Device: d, lastSeen: sn.lastSeen, downSince: sn.downSince})
	}
	if y != nil {
		o.broker.update(y.connected, now)
		y.lastSeen = o.broker.lastSeen
	}
	o.mu.Unlock()
	s.sync = y
	s.disk.free, s.disk.size, s.disk.err = metrics.DiskSpace(filepath.Dir(a.Config.Store))
	return s
}

// live returns the checks of /healthz: the ledger records movements.
func (o *observability) live(ctx context.Context) []metrics.Check {
	return []metrics.Check{ledgerCheck(o.a.ledger.Health())}
}

func ledgerCheck(h agent.LedgerHealth) metrics.Check {
	if h.Failed != "" {
		return metrics.Check{Name: "ledger", Detail: "not writable: " + h.Failed}
	}
	return metrics.Check{Name: "ledger", OK: true, Detail: "writable"}
}

// ready returns the checks of /readyz: the ledger records movements,
// every device is connected or has been reconnecting for less than
// metrics.reader_lost_after, and, when the gateway syncs, the oldest
// movement not acknowledged is younger than metrics.sync_lag.
func (o *observability) ready(ctx context.Context) []metrics.Check {
	s := o.observe(time.Now())
	lost, lag := o.a.Config.Metrics.readerLostAfter(), o.a.Config.Metrics.syncLag()
	checks := []metrics.Check{ledgerCheck(s.ledger)}
	for _, d := range s.devices {
		c := metrics.Check{Name: d.Kind + " " + d.ID, OK: true, Detail: "connected"}
		if !d.Connected {
			down := s.at.Sub(d.downSince).Round(time.Millisecond)
			c.OK = down < lost
			c.Detail = fmt.Sprintf("disconnected for %s (lost after %s): %s", down, lost, d.Path)
		}
		checks = append(checks, c)
	}
	if y := s.sync; y != nil {
		c := metrics.Check{Name: "sync", OK: true, Detail: "every movement acknowledged"}
		switch age := y.oldestAge(s.at); {
		case y.err != nil:
			c.OK, c.Detail = false, fmt.Sprintf("%d movements wait; the oldest cannot be read: %v", y.waiting, y.err)
		case y.waiting > 0:
			c.OK = age < lag
			c.Detail = fmt.Sprintf("%d movements wait, the oldest for %s (lagging after %s)", y.waiting, age.Round(time.Second), lag)
		}
		checks = append(checks, c)
	}
	return checks
}

// check raises and clears the alerts from the gateway's state now.
func (o *observability) check(now time.Time) {
	s := o.observe(now)
	defer o.metrics.checks.Inc()
	al := o.metrics.alerts
	lost := o.a.Config.Metrics.readerLostAfter()
	for _, d := range s.devices {
		down := time.Duration(0)
		if !d.Connected {
			down = s.at.Sub(d.downSince)
		}
		if down >= lost {
			al.Set("reader_lost", d.ID, true, "reader lost: disconnected too long", "kind", d.Kind, "device", d.Path, "down_for", down.Round(time.Second))
		} else {
			al.Set("reader_lost", d.ID, false, "reader back", "kind", d.Kind, "device", d.Path)
		}
	}
	if y := s.sync; y != nil {
		lag := o.a.Config.Metrics.syncLag()
		age := y.oldestAge(s.at)
		if y.waiting > 0 && (age >= lag || y.err != nil) {
			al.Set("sync_lag", "uplink", true, "sync lagging: the centre has not acknowledged movements in time",
				"waiting", y.waiting, "oldest_age", age.Round(time.Second), "connected", y.connected)
		} else {
			al.Set("sync_lag", "uplink", false, "sync caught up", "waiting", y.waiting)
		}
	}
	if s.disk.err == nil && s.disk.size > 0 {
		bytes, percent := o.a.Config.Metrics.diskLow()
		pct := 100 * float64(s.disk.free) / float64(s.disk.size)
		if bytes > 0 && s.disk.free < uint64(bytes) || percent > 0 && pct < percent {
			al.Set("disk_low", "ledger", true, "disk space low on the ledger's file system",
				"path", o.a.Config.Store, "free_bytes", s.disk.free, "free_percent", fmt.Sprintf("%.1f", pct))
		} else {
			al.Set("disk_low", "ledger", false, "disk space recovered", "path", o.a.Config.Store, "free_bytes", s.disk.free)
		}
	}
}

// alive returns why the agent should be restarted, nil while its ledger's
// writer is not stuck: a transaction that has taken longer than bound.
func (o *observability) alive(bound time.Duration) error {
	if b := o.a.ledger.WriterBusy(); b > bound {
		return fmt.Errorf("the ledger's writer has been on one transaction for %s", b.Round(time.Millisecond))
	}
	return nil
}

// serve serves the metrics endpoint until ctx ends, when it has one.
func (o *observability) serve(ctx context.Context) {
	if o.ln == nil {
		return
	}
	e := &metrics.Endpoint{Registry: o.metrics.reg, Live: o.live, Ready: o.ready, Log: o.a.Log.With("component", "metrics")}
	if err := e.Serve(ctx, o.ln); err != nil {
		o.a.Log.Error("metrics endpoint stopped", "err", err)
	}
}

// supervise is the agent's main loop while it runs: it tells the service
// manager the agent is ready, checks the gateway every monitorEvery
// (raising and clearing the alerts), feeds the systemd watchdog while the
// ledger's writer and this loop are alive, and says it is stopping once
// ctx ends.
func (o *observability) supervise(ctx context.Context) {
	log := o.a.Log.With("component", "systemd")
	n := metrics.NotifierFromEnv()
	if err := n.Notify("READY=1", "STATUS=recording"); err != nil {
		log.Warn("readiness not notified", "err", err)
	}
	wd := metrics.NewWatchdog(n, log)
	var beat <-chan time.Time
	if wd.Every > 0 {
		t := time.NewTicker(wd.Every)
		defer t.Stop()
		beat = t.C
		wd.Beat(o.alive(wd.Every))
	}
	tick := time.NewTicker(monitorEvery)
	defer tick.Stop()
	o.check(time.Now())
	for {
		select {
		case <-ctx.Done():
			if err := n.Notify("STOPPING=1"); err != nil {
				log.Warn("stopping not notified", "err", err)
			}
			return
		case now := <-tick.C:
			o.check(now)
		case <-beat:
			wd.Beat(o.alive(wd.Every))
		}
	}
}

// close closes the endpoint's listener, if Run never served it.
func (o *observability) close() {
	if o != nil && o.ln != nil {
		_ = o.ln.Close()
	}
}
