package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/udi-edge/udi-edge/cmd/internal/metrics"
	"github.com/udi-edge/udi-edge/sync/central"
)

// DefaultMetrics is where run serves its metrics, /healthz and /readyz
// unless --metrics says otherwise.
const DefaultMetrics = "127.0.0.1:8381"

// metricsFlags are run's flags of the metrics endpoint.
type metricsFlags struct {
	fs     *pflag.FlagSet
	addr   string
	remote bool
}

func (f *metricsFlags) register(fs *pflag.FlagSet) {
	f.fs = fs
	fs.StringVar(&f.addr, "metrics", DefaultMetrics, `address of the Prometheus metrics, /healthz and /readyz ("" for none); loopback unless --metrics-remote.
When not given and the address is in use, run goes on without them`)
	fs.BoolVar(&f.remote, "metrics-remote", false, "allow a --metrics address beyond loopback, for a Prometheus server elsewhere")
}

// check validates --metrics.
func (f *metricsFlags) check() error {
	if f.addr == "" {
		return nil
	}
	if err := metrics.CheckListen(f.addr, f.remote); err != nil {
		return usagef("--metrics: %v", err)
	}
	return nil
}

// listen listens on --metrics: nil for none; an address in use is an
// error when --metrics was given (or set by the configuration file),
// else logged.
func (f *metricsFlags) listen(log *slog.Logger) (net.Listener, error) {
	if f.addr == "" {
		return nil, nil
	}
	ln, err := metrics.Listen(f.addr, f.remote)
	switch {
	case err == nil:
		log.Info("metrics listening", "addr", ln.Addr().String())
		return ln, nil
	case f.fs.Changed("metrics"):
		return nil, fmt.Errorf("--metrics: %w", err)
	}
	log.Warn("metrics, /healthz and /readyz not served: the default address is taken; set --metrics", "addr", f.addr, "err", err)
	return nil, nil
}

// centreMetrics are the centre's collectors, in a registry of their own:
// the store's latency, timed as the service calls it, and, read when
// scraped, every gateway's lag and counters, the queues between the
// broker and the store, and the broker connection.
type centreMetrics struct {
	reg   *prometheus.Registry
	store *prometheus.HistogramVec

	svc *central.Service
	mq  *central.MQTT
}

func newCentreMetrics() *centreMetrics {
	m := &centreMetrics{reg: metrics.NewRegistry()}
	m.store = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "udi_central_store_seconds",
		Help:    "Time of the store's operations on the service's path: head (a ledger's head read), append (batches stored durably), add_counts.",
		Buckets: prometheus.ExponentialBuckets(100e-6, 3, 12)}, []string{"op"})
	m.reg.MustRegister(m.store, &centreCollector{m})
	return m
}

// timed returns st, its service-path operations timed.
func (m *centreMetrics) timed(st central.Store) central.Store {
	return &timedStore{Store: st, head: m.store.WithLabelValues("head"), append: m.store.WithLabelValues("append"), counts: m.store.WithLabelValues("add_counts")}
}

// timedStore times a store's Head, Append and AddCounts.
type timedStore struct {
	central.Store
	head, append, counts prometheus.Observer
}

func (s *timedStore) Head(ctx context.Context, gateway string, created int64) (central.Head, error) {
	defer observeSince(s.head, time.Now())
	return s.Store.Head(ctx, gateway, created)
}

func (s *timedStore) Append(ctx context.Context, site, gateway string, created int64, recs []central.Stored) (central.Head, int, error) {
	defer observeSince(s.append, time.Now())
	return s.Store.Append(ctx, site, gateway, created, recs)
}

func (s *timedStore) AddCounts(ctx context.Context, counts []central.GatewayCounts) error {
	defer observeSince(s.counts, time.Now())
	return s.Store.AddCounts(ctx, counts)
}

func observeSince(o prometheus.Observer, start time.Time) { o.Observe(time.Since(start).Seconds()) }

var (
	gwLabels      = []string{"site", "gateway"}
	heldDesc      = prometheus.NewDesc("udi_central_gateway_held_seq", "Highest sequence number up to which the centre holds every movement of the gateway's current ledger.", gwLabels, nil)
	reportedDesc  = prometheus.NewDesc("udi_central_gateway_reported_seq", "The gateway's last movement, as its last status said.", gwLabels, nil)
	lagDesc       = prometheus.NewDesc("udi_central_gateway_lag_movements", "Movements the gateway reported and the centre does not hold yet (reported minus held; 0 when none or no status).", gwLabels, nil)
	lastBatchDesc = prometheus.NewDesc("udi_central_gateway_last_batch_timestamp_seconds", "When this instance last received a batch from the gateway (Unix time); 0 none since it started.", gwLabels, nil)
	onlineDesc    = prometheus.NewDesc("udi_central_gateway_online", "1 while the gateway's retained status says online.", gwLabels, nil)
	batchesDesc   = prometheus.NewDesc("udi_central_gateway_batches_total", "Batches received from the gateway (the store's totals of every instance, with this one's not yet saved).", gwLabels, nil)
	storedDesc    = prometheus.NewDesc("udi_central_gateway_movements_stored_total", "Movements of the gateway the store holds.", gwLabels, nil)
	refusedDesc   = prometheus.NewDesc("udi_central_gateway_batches_refused_total", "Batches of the gateway refused or held already, by reason (duplicate, gap, chain, malformed, signature).", []string{"site", "gateway", "reason"}, nil)
	acksDesc      = prometheus.NewDesc("udi_central_gateway_acks_total", "Acks published to the gateway.", gwLabels, nil)
	resendsDesc   = prometheus.NewDesc("udi_central_gateway_resends_total", "Resend requests published to the gateway.", gwLabels, nil)
	pendingDesc   = prometheus.NewDesc("udi_central_pending_bytes", "Bytes of the batches received and not yet stored and acknowledged.", nil, nil)
	budgetDesc    = prometheus.NewDesc("udi_central_pending_budget_bytes", "Most bytes of batches held before the broker is made to wait (--max-pending).", nil, nil)
	waitingDesc   = prometheus.NewDesc("udi_central_pending_waiting", "1 while a batch waits for room in the budget (the broker holds the rest).", nil, nil)
	queuedDesc    = prometheus.NewDesc("udi_central_queued_batches", "Batches waiting in the workers' queues.", nil, nil)
	inboxDesc     = prometheus.NewDesc("udi_central_mqtt_inbox_bytes", "Bytes of messages received from the broker and not yet handed on.", nil, nil)
	inboxMaxDesc  = prometheus.NewDesc("udi_central_mqtt_inbox_budget_bytes", "Most bytes the inbox holds before the connection is not read.", nil, nil)
	brokerDesc    = prometheus.NewDesc("udi_central_broker_connected", "1 while the service is connected to the broker, its subscriptions made.", nil, nil)
	strangersDesc = prometheus.NewDesc("udi_central_strangers_total", "Batches and statuses refused from gateways not enrolled, since start.", nil, nil)
	scrapeErrDesc = prometheus.NewDesc("udi_central_gateways_unread", "1 when the gateways could not be read from the store for this scrape (their series are missing).", nil, nil)
)

// centreCollector reads the service when scraped.
type centreCollector struct{ m *centreMetrics }

func (c *centreCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{heldDesc, reportedDesc, lagDesc, lastBatchDesc, onlineDesc, batchesDesc, storedDesc, refusedDesc,
		acksDesc, resendsDesc, pendingDesc, budgetDesc, waitingDesc, queuedDesc, inboxDesc, inboxMaxDesc, brokerDesc, strangersDesc, scrapeErrDesc} {
		ch <- d
	}
}

// gatewaysTimeout bounds the store reads of one scrape.
const gatewaysTimeout = 5 * time.Second

func (c *centreCollector) Collect(ch chan<- prometheus.Metric) {
	svc, mq := c.m.svc, c.m.mq
	if svc == nil {
		return
	}
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	n := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	q := svc.Queues()
	g(pendingDesc, float64(q.PendingBytes))
	g(budgetDesc, float64(q.MaxPending))
	g(waitingDesc, b01(q.Waiting))
	g(queuedDesc, float64(q.Batches))
	n(strangersDesc, svc.Strangers())
	if mq != nil {
		g(inboxDesc, float64(mq.Inbox()))
		g(inboxMaxDesc, float64(mq.InboxMax()))
		g(brokerDesc, b01(mq.Connected()))
	}
	ctx, cancel := context.WithTimeout(context.Background(), gatewaysTimeout)
	defer cancel()
	gws, err := svc.Gateways(ctx)
	g(scrapeErrDesc, b01(err != nil))
	if err != nil {
		return
	}
	for _, gi := range gws {
		l := []string{gi.Site, gi.Gateway}
		g(heldDesc, float64(gi.Seq), l...)
		if gi.State != "" {
			g(reportedDesc, float64(gi.LastSeq), l...)
			g(onlineDesc, b01(gi.State == "online"), l...)
		}
		lag := uint64(0)
		if gi.State != "" && gi.LastSeq > gi.Seq {
			lag = gi.LastSeq - gi.Seq
		}
		g(lagDesc, float64(lag), l...)
		last := 0.0
		if !gi.LastSeen.IsZero() {
			last = float64(gi.LastSeen.UnixNano()) / 1e9
		}
		g(lastBatchDesc, last, l...)
		k := gi.Counters
		n(batchesDesc, k.Batches, l...)
		n(storedDesc, k.Stored, l...)
		n(acksDesc, k.Acks, l...)
		n(resendsDesc, k.Resends, l...)
		for _, r := range []struct {
			reason string
			v      uint64
		}{{"duplicate", k.Duplicates}, {"gap", k.Gaps}, {"chain", k.ChainErrors}, {"malformed", k.Malformed}, {"signature", k.BadSignatures}} {
			n(refusedDesc, r.v, gi.Site, gi.Gateway, r.reason)
		}
	}
}

func b01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// errStuck is the watchdog's reason when the service does not answer.
var errStuck = errors.New("the service's queues did not answer within the watchdog's interval")

// observe serves the metrics endpoint on ln (when not nil) over svc, mq
// and st until ctx ends: it tells the service manager the service is
// ready, and feeds its watchdog while the service's queues answer.
func (m *centreMetrics) observe(ctx context.Context, ln net.Listener, svc *central.Service, mq *central.MQTT, st central.Store, log *slog.Logger) {
	m.svc, m.mq = svc, mq
	done := make(chan struct{})
	go func() {
		defer close(done)
		if ln == nil {
			return
		}
		e := &metrics.Endpoint{Registry: m.reg, Log: log,
			Live: func(context.Context) []metrics.Check { return []metrics.Check{queuesCheck(svc)} },
			Ready: func(ctx context.Context) []metrics.Check {
				return []metrics.Check{queuesCheck(svc), brokerCheck(mq), storeCheck(ctx, st)}
			}}
		if err := e.Serve(ctx, ln); err != nil {
			log.Error("metrics endpoint stopped", "err", err)
		}
	}()
	defer func() { <-done }()
	sl := log.With("component", "systemd")
	n := metrics.NotifierFromEnv()
	if err := n.Notify("READY=1", "STATUS=serving"); err != nil {
		sl.Warn("readiness not notified", "err", err)
	}
	wd := metrics.NewWatchdog(n, sl)
	if wd.Every > 0 {
		t := time.NewTicker(wd.Every)
		defer t.Stop()
		alive := func() error {
			answered := make(chan struct{})
			go func() { svc.Queues(); svc.Strangers(); close(answered) }()
			select {
			case <-answered:
				return nil
			case <-time.After(wd.Every):
				return errStuck
			}
		}
		wd.Beat(alive())
		for {
			select {
			case <-ctx.Done():
				_ = n.Notify("STOPPING=1")
				return
			case <-t.C:
				wd.Beat(alive())
			}
		}
	}
	<-ctx.Done()
	if err := n.Notify("STOPPING=1"); err != nil {
		sl.Warn("stopping not notified", "err", err)
	}
}

// queuesCheck says the service answers: its queues' locks are free.
func queuesCheck(svc *central.Service) metrics.Check {
	q := svc.Queues()
	return metrics.Check{Name: "service", OK: true, Detail: fmt.Sprintf("%d bytes of batches pending, %d queued", q.PendingBytes, q.Batches)}
}

func brokerCheck(mq *central.MQTT) metrics.Check {
	if mq.Connected() {
		return metrics.Check{Name: "broker", OK: true, Detail: "connected"}
	}
	return metrics.Check{Name: "broker", Detail: "not connected"}
}

// storeCheck reads a ledger's head from the store: it answers.
func storeCheck(ctx context.Context, st central.Store) metrics.Check {
	if _, err := st.Head(ctx, "readyz", 0); err != nil {
		return metrics.Check{Name: "store", Detail: "does not answer: " + err.Error()}
	}
	return metrics.Check{Name: "store", OK: true, Detail: "answers"}
}
