// Package metrics is what udi-edge and udi-central share to be watched:
// a Prometheus registry of their own (never the global one), the HTTP
// endpoint that serves it with /healthz and /readyz, alerts that are
// both a log event and a metric, the free space of a file system, and
// the systemd notification protocol (READY=1, WATCHDOG=1).
//
// It knows nothing of gateways or centres: each binary registers its own
// collectors and says what its health checks are. It must never put a
// patient identifier in a label or a log line, nor take a label value
// from free text: labels are ids from the configuration and fixed
// vocabularies.
package metrics
