package metrics

import (
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Alerts are conditions an operator must hear of: each is raised and
// cleared as the daemon's checks find it, and every transition is one
// log event (WARN when raised, INFO when cleared), never repeated while
// nothing changes; meanwhile the gauge PREFIX_alert{alert,subject} is 1
// while it is raised, 0 once checked and clear, and the counter
// PREFIX_alerts_raised_total{alert} counts the raises.
type Alerts struct {
	log    *slog.Logger
	active *prometheus.GaugeVec
	raised *prometheus.CounterVec

	mu    sync.Mutex
	state map[[2]string]bool
}

// NewAlerts returns alerts registered in reg, their metrics named with
// prefix ("udi_edge").
func NewAlerts(reg prometheus.Registerer, prefix string, log *slog.Logger) *Alerts {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Alerts{log: log, state: map[[2]string]bool{},
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: prefix + "_alert",
			Help: "1 while the alert is raised for the subject (a device, the ledger, the uplink), 0 once checked and clear."}, []string{"alert", "subject"}),
		raised: prometheus.NewCounterVec(prometheus.CounterOpts{Name: prefix + "_alerts_raised_total",
			Help: "Times the alert was raised."}, []string{"alert"}),
	}
	reg.MustRegister(a.active, a.raised)
	return a
}

// Set raises (on) or clears the alert for subject. On a transition it
// logs msg with args (a raise at WARN, a clear at INFO, each with alert
// and subject); the first check of a clear subject logs nothing. args
// must never hold a patient identifier.
func (a *Alerts) Set(alert, subject string, on bool, msg string, args ...any) {
	k := [2]string{alert, subject}
	a.mu.Lock()
	was, seen := a.state[k]
	a.state[k] = on
	a.mu.Unlock()
	if on {
		a.active.WithLabelValues(alert, subject).Set(1)
	} else {
		a.active.WithLabelValues(alert, subject).Set(0)
	}
	if was == on && seen || !on && !seen {
		return
	}
	args = append([]any{"alert", alert, "subject", subject}, args...)
	if on {
		a.raised.WithLabelValues(alert).Inc()
		a.log.Warn(msg, args...)
		return
	}
	a.log.Info(msg, args...)
}

// Active reports whether the alert is raised for subject.
func (a *Alerts) Active(alert, subject string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state[[2]string{alert, subject}]
}
