package edge

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/cabinet"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/cmd/internal/metrics"
)

// The reasons a rejected read is counted under (udi_edge_rejected_reads_total):
// a fixed vocabulary, never the reason's free text.
const (
	// RejectStation: the read came from a source no station is
	// configured for.
	RejectStation = "station"
	// RejectFrame: the scanner's frame was cut short or too long.
	RejectFrame = "frame"
	// RejectCode: the code could not be read (syntax, check digit, date).
	RejectCode = "code"
	// RejectNotItem: a plain code no configured pattern claims.
	RejectNotItem = "not-item"
	// RejectNoSerial: an item code without the serial its station needs.
	RejectNoSerial = "no-serial"
	// RejectTag: an encoding station could not bind or write the tag.
	RejectTag = "tag"
	// RejectCount: a station command during a cycle count.
	RejectCount = "count"
)

// RejectReason returns the reason a rejected read m is counted under.
func RejectReason(m agent.Movement) string {
	r := m.Reason
	switch {
	case strings.HasPrefix(r, "station ") && strings.HasSuffix(r, " is not configured"):
		return RejectStation
	case strings.HasPrefix(r, "incomplete frame") || strings.HasPrefix(r, "frame too long"):
		return RejectFrame
	case strings.HasPrefix(r, "not an item code"):
		return RejectNotItem
	case strings.Contains(r, "no serial number"):
		return RejectNoSerial
	case strings.HasPrefix(r, "station counts in cycle count"):
		return RejectCount
	case m.Tag != "" || strings.HasPrefix(r, cabinet.ErrNoTagOnPad.Error()) || strings.HasPrefix(r, cabinet.ErrSeveralTags.Error()) ||
		strings.HasPrefix(r, "cannot encode this item's SGTIN-96") || strings.HasPrefix(r, "writing the tag failed"):
		return RejectTag
	}
	return RejectCode
}

// gatewayMetrics are the gateway's collectors, in a registry of their
// own. The counters are told by the core's answers and the ledger's
// commits; the rest is read from the gateway when scraped.
type gatewayMetrics struct {
	reg    *prometheus.Registry
	alerts *metrics.Alerts

	reads            *prometheus.CounterVec
	rejected         *prometheus.CounterVec
	movements        *prometheus.CounterVec
	kinds            map[agent.Kind]prometheus.Counter
	removedNotLinked prometheus.Counter
	failedCommits    prometheus.Counter
	checks           prometheus.Counter
	decision         prometheus.Histogram
	fsync            prometheus.Histogram
	expiring         atomic.Pointer[[]core.ExpiringUnits]
}

func newGatewayMetrics(a *Agent) *gatewayMetrics {
	m := &gatewayMetrics{reg: metrics.NewRegistry(), kinds: map[agent.Kind]prometheus.Counter{}}
	m.alerts = metrics.NewAlerts(m.reg, "udi_edge", a.Log.With("component", "alerts"))
	m.reads = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "udi_edge_reads_total",
		Help: "Reads answered, by station (scanner or reader id) and verdict (accepted, warned, blocked, rejected, failed)."}, []string{"station", "verdict"})
	m.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "udi_edge_rejected_reads_total",
		Help: "Rejected reads, by station and reason (station, frame, code, not-item, no-serial, tag, count)."}, []string{"station", "reason"})
	m.movements = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "udi_edge_movements_total",
		Help: "Movements recorded in the ledger (fsynced), by kind."}, []string{"kind"})
	m.removedNotLinked = prometheus.NewCounter(prometheus.CounterOpts{Name: "udi_edge_removed_not_linked_total",
		Help: "Items taken from a cabinet and not used, returned or put back in time (the removed-but-not-linked alert)."})
	m.failedCommits = prometheus.NewCounter(prometheus.CounterOpts{Name: "udi_edge_ledger_failed_transactions_total",
		Help: "Ledger transactions that failed: their reads were answered failed."})
	m.checks = prometheus.NewCounter(prometheus.CounterOpts{Name: "udi_edge_alert_checks_total",
		Help: "Times the agent's main loop checked its devices, uplink and disk for the alerts (about once a second while it runs)."})
	m.decision = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "udi_edge_decision_seconds",
		Help: "Time of each point-of-use decision (the checks run on an item movement before it is recorded).", Buckets: prometheus.ExponentialBuckets(10e-6, 4, 10)})
	m.fsync = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "udi_edge_ledger_fsync_seconds",
		Help: "Time of each ledger commit: writing its pages and the fdatasyncs that make it durable before its scans are answered.", Buckets: prometheus.ExponentialBuckets(100e-6, 3, 11)})
	m.reg.MustRegister(m.reads, m.rejected, m.movements, m.removedNotLinked, m.failedCommits, m.checks, m.decision, m.fsync,
		&expiringCollector{m}, &stateCollector{a})
	for _, k := range agent.Kinds {
		m.kinds[k] = m.movements.WithLabelValues(string(k))
	}
	for _, sc := range a.Config.Scanners {
		for _, v := range []agent.Verdict{agent.VerdictAccepted, agent.VerdictWarned, agent.VerdictBlocked, agent.VerdictRejected, agent.VerdictFailed} {
			m.reads.WithLabelValues(sc.ID, v.String())
		}
	}
	return m
}

// answered counts the outcome of a read at station (the core's
// OnAnswer).
func (m *gatewayMetrics) answered(station string, o agent.Outcome) {
	m.reads.WithLabelValues(station, o.Verdict.String()).Inc()
	if o.Verdict == agent.VerdictRejected {
		m.rejected.WithLabelValues(station, RejectReason(o.Movement)).Inc()
	}
}

// committed counts a ledger transaction (bolt.Ledger.Observe).
func (m *gatewayMetrics) committed(c bolt.Commit) {
	if c.Err != nil {
		m.failedCommits.Inc()
		return
	}
	m.fsync.Observe(c.Duration.Seconds())
	c.Movements(func(mv *agent.Movement) {
		k := m.kinds[mv.Kind]
		if k == nil {
			k = m.movements.WithLabelValues(string(mv.Kind))
		}
		k.Inc()
		if mv.Kind == agent.KindContext && slices.Contains(mv.Flags, cabinet.FlagRemovedNotLinked) {
			m.removedNotLinked.Inc()
		}
	})
}

// Decided observes a point-of-use decision (core.Observer).
func (m *gatewayMetrics) Decided(took time.Duration, _ string) { m.decision.Observe(took.Seconds()) }

// Expiring keeps the units near expiry (core.Observer).
func (m *gatewayMetrics) Expiring(units []core.ExpiringUnits) { m.expiring.Store(&units) }

var _ core.Observer = (*gatewayMetrics)(nil)

var expiringDesc = prometheus.NewDesc("udi_edge_stock_expiring_units",
	"Units on hand expiring within horizon_days (an expiry alert horizon) per location, as of the last sweep; horizon_days 0 counts those already expired on the shelf.",
	[]string{"location", "horizon_days"}, nil)

// expiringCollector serves the units near expiry of the last sweep.
type expiringCollector struct{ m *gatewayMetrics }

func (c *expiringCollector) Describe(ch chan<- *prometheus.Desc) { ch <- expiringDesc }

func (c *expiringCollector) Collect(ch chan<- prometheus.Metric) {
	p := c.m.expiring.Load()
	if p == nil {
		return
	}
	for _, u := range *p {
		ch <- prometheus.MustNewConstMetric(expiringDesc, prometheus.GaugeValue, float64(u.Units), u.Location, strconv.Itoa(u.HorizonDays))
	}
}

// The gateway's state as a scrape reads it.
var (
	ledgerBytesDesc    = prometheus.NewDesc("udi_edge_ledger_bytes", "Size of the ledger file.", nil, nil)
	ledgerLastSeqDesc  = prometheus.NewDesc("udi_edge_ledger_last_seq", "Sequence number of the last movement recorded.", nil, nil)
	ledgerQueuedDesc   = prometheus.NewDesc("udi_edge_ledger_queued", "Movements waiting for the ledger's writer.", nil, nil)
	ledgerWritableDesc = prometheus.NewDesc("udi_edge_ledger_writable", "1 while the ledger records movements, 0 once it cannot (its file gone or damaged: every scan is answered failed).", nil, nil)
	outboxDesc         = prometheus.NewDesc("udi_edge_outbox_movements", "Movements recorded and not yet acknowledged by the centre.", nil, nil)
	outboxAgeDesc      = prometheus.NewDesc("udi_edge_outbox_oldest_age_seconds", "Age of the oldest movement not acknowledged by the centre; 0 when none waits.", nil, nil)
	brokerUpDesc       = prometheus.NewDesc("udi_edge_broker_connected", "1 while the uplink is connected to a broker.", nil, nil)
	brokerSeenDesc     = prometheus.NewDesc("udi_edge_broker_last_seen_timestamp_seconds", "When the uplink was last seen connected (Unix time); 0 never since start.", nil, nil)
	deviceUpDesc       = prometheus.NewDesc("udi_edge_device_connected", "1 while the scanner's or reader's serial port is open.", []string{"device", "kind"}, nil)
	deviceSeenDesc     = prometheus.NewDesc("udi_edge_device_last_seen_timestamp_seconds", "When the device's port was last seen open (Unix time); 0 never since start.", []string{"device", "kind"}, nil)
	diskFreeDesc       = prometheus.NewDesc("udi_edge_disk_free_bytes", "Bytes free on the ledger's file system.", nil, nil)
	diskSizeDesc       = prometheus.NewDesc("udi_edge_disk_size_bytes", "Size of the ledger's file system.", nil, nil)
	ledgerFirstDesc    = prometheus.NewDesc("udi_edge_ledger_first_seq", "First movement the ledger holds in sequence: above 1 once retention took older acknowledged ones away.", nil, nil)
	ledgerBudgetDesc   = prometheus.NewDesc("udi_edge_ledger_budget_bytes", "The ledger's disk budget (ledger.max_bytes); absent when none.", nil, nil)
	ledgerOverDesc     = prometheus.NewDesc("udi_edge_ledger_over_budget", "1 while the ledger's file is at or past its disk budget.", nil, nil)
)

// stateCollector reads the gateway's state when scraped.
type stateCollector struct{ a *Agent }

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{ledgerBytesDesc, ledgerLastSeqDesc, ledgerQueuedDesc, ledgerWritableDesc, outboxDesc, outboxAgeDesc,
		brokerUpDesc, brokerSeenDesc, deviceUpDesc, deviceSeenDesc, diskFreeDesc, diskSizeDesc, ledgerFirstDesc, ledgerBudgetDesc, ledgerOverDesc} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.a.obs.observe(time.Now())
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if s.ledgerBytes >= 0 {
		gauge(ledgerBytesDesc, float64(s.ledgerBytes))
	}
	gauge(ledgerLastSeqDesc, float64(s.lastSeq))
	gauge(ledgerQueuedDesc, float64(s.queued))
	gauge(ledgerWritableDesc, bool01(s.ledger.Failed == ""))
	if s.ledger.Failed == "" {
		gauge(ledgerFirstDesc, float64(max(s.ledger.FirstSeq, 1)))
		if s.ledger.MaxBytes > 0 {
			gauge(ledgerBudgetDesc, float64(s.ledger.MaxBytes))
		}
		gauge(ledgerOverDesc, bool01(s.ledger.OverBudget))
	}
	if y := s.sync; y != nil {
		gauge(outboxDesc, float64(y.waiting))
		if y.err == nil {
			gauge(outboxAgeDesc, y.oldestAge(s.at).Seconds())
		}
		gauge(brokerUpDesc, bool01(y.connected))
		gauge(brokerSeenDesc, unixSeconds(y.lastSeen))
	}
	for _, d := range s.devices {
		gauge(deviceUpDesc, bool01(d.Connected), d.ID, d.Kind)
		gauge(deviceSeenDesc, unixSeconds(d.lastSeen), d.ID, d.Kind)
	}
	if s.disk.err == nil {
		gauge(diskFreeDesc, float64(s.disk.free))
		gauge(diskSizeDesc, float64(s.disk.size))
	}
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

// fileSize returns the size of the file at path, -1 when it cannot be
// read.
func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return st.Size()
}

// listenMetrics listens on the metrics address the configuration gives:
// nil and no error for none; an address in use is an error only when
// metrics.listen was set, else it is logged and nothing is served.
func (a *Agent) listenMetrics() (net.Listener, error) {
	addr, configured := a.Config.Metrics.listen()
	if addr == "" {
		return nil, nil
	}
	ln, err := metrics.Listen(addr, a.Config.Metrics.Remote)
	switch {
	case err == nil:
		a.Log.Info("metrics listening", "addr", ln.Addr().String())
		return ln, nil
	case configured:
		return nil, &ConfigError{Where: "metrics.listen", Err: err}
	case errors.Is(err, metrics.ErrNotLoopback):
		return nil, fmt.Errorf("metrics: %w", err) // the default is loopback: never
	}
	a.Log.Warn("metrics, /healthz and /readyz not served: the default address is taken; set metrics.listen", "addr", addr, "err", err)
	return nil, nil
}
