package edge

import (
	"math"
	"time"

	"github.com/udi-edge/udi-edge/cmd/internal/metrics"
)

// Defaults of the metrics section.
const (
	// DefaultMetricsListen is where the metrics, /healthz and /readyz
	// are served when metrics.listen is not set.
	DefaultMetricsListen = "127.0.0.1:8711"
	// DefaultReaderLostAfter is how long a scanner or reader may stay
	// disconnected (reconnecting) before it is lost.
	DefaultReaderLostAfter = 30 * time.Second
	// DefaultSyncLag is how old the oldest movement the centre has not
	// acknowledged may grow before sync lags.
	DefaultSyncLag = 15 * time.Minute
	// DefaultDiskLowBytes and DefaultDiskLowPercent: the ledger's file
	// system is low on space below either.
	DefaultDiskLowBytes   = 256 << 20
	DefaultDiskLowPercent = 5.0
)

// MetricsConfig serves the gateway's Prometheus metrics, /healthz and
// /readyz, and sets when its alerts are raised (reader lost, sync lag,
// disk space low).
type MetricsConfig struct {
	// Listen is the TCP address of the metrics endpoint, a loopback
	// address unless Remote is set; "" serves none. When not set
	// (DefaultMetricsListen) an address in use is logged and the agent
	// runs without; when set, it is an error.
	Listen *string `json:"listen"`
	// Remote allows a Listen address beyond loopback, for a Prometheus
	// server on another machine.
	Remote bool `json:"remote"`
	// ReaderLostAfter is how long a scanner or reader may stay
	// disconnected before it is lost: /readyz fails and the alert is
	// raised (default 30s).
	ReaderLostAfter Duration `json:"reader_lost_after"`
	// SyncLag is how old the oldest movement not acknowledged by the
	// centre may grow, when the gateway syncs, before /readyz fails and
	// the alert is raised (default 15m).
	SyncLag Duration `json:"sync_lag"`
	// DiskLowBytes and DiskLowPercent raise the disk space alert when the
	// ledger's file system has less free than either (defaults 256 MiB
	// and 5%; 0 turns one off).
	DiskLowBytes   *int64   `json:"disk_low_bytes"`
	DiskLowPercent *float64 `json:"disk_low_percent"`
}

// listen returns the address to serve on, "" for none, and whether it
// was configured (an address in use is then an error).
func (m MetricsConfig) listen() (addr string, configured bool) {
	if m.Listen == nil {
		return DefaultMetricsListen, false
	}
	return *m.Listen, true
}

// readerLostAfter returns ReaderLostAfter or its default.
func (m MetricsConfig) readerLostAfter() time.Duration {
	if m.ReaderLostAfter == 0 {
		return DefaultReaderLostAfter
	}
	return time.Duration(m.ReaderLostAfter)
}

// syncLag returns SyncLag or its default.
func (m MetricsConfig) syncLag() time.Duration {
	if m.SyncLag == 0 {
		return DefaultSyncLag
	}
	return time.Duration(m.SyncLag)
}

// diskLow returns the free bytes and percent below which disk space is
// low (0: that bound is off).
func (m MetricsConfig) diskLow() (bytes int64, percent float64) {
	bytes, percent = DefaultDiskLowBytes, DefaultDiskLowPercent
	if m.DiskLowBytes != nil {
		bytes = *m.DiskLowBytes
	}
	if m.DiskLowPercent != nil {
		percent = *m.DiskLowPercent
	}
	return bytes, percent
}

func (m MetricsConfig) validate() error {
	if addr, _ := m.listen(); addr != "" {
		if err := metrics.CheckListen(addr, m.Remote); err != nil {
			return &ConfigError{Where: "metrics.listen", Err: err}
		}
	}
	bytes, percent := m.diskLow()
	if bytes < 0 {
		return cfgErr("metrics.disk_low_bytes", "%d: want 0 (off) or more", bytes)
	}
	if !(percent >= 0 && percent < 100) || math.IsNaN(percent) {
		return cfgErr("metrics.disk_low_percent", "%g: want 0 (off) to below 100", percent)
	}
	return nil
}
