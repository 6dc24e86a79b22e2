package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Log rate limits: of the warnings and errors with one message, at most
// LogBurst are written per LogWindow; the next one after the window says
// how many were left out.
const (
	LogBurst  = 10
	LogWindow = time.Minute
)

// NewLogger is the one place that sets the log level ("debug", "info",
// "warn", "error") and format ("text", "json") of udi-edge and
// udi-central: records go to w, and repeated warnings and errors of one
// cause are rate-limited (1,000 forged acks give a few lines and a
// count, not 1,000 lines).
func NewLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	var h slog.Handler
	switch format {
	case "text", "":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("log format %q: want text or json", format)
	}
	return slog.New(NewLimitHandler(h, LogBurst, LogWindow, time.Now)), nil
}

// NewLimitHandler returns a handler that passes records to h, but of the
// warnings and errors with one message from one logger (its attributes
// from With: one component, one scanner) at most burst per window (now is
// the clock). The first record of a message after a window in which
// some were left out carries "suppressed", their count.
func NewLimitHandler(h slog.Handler, burst int, window time.Duration, now func() time.Time) slog.Handler {
	return &limitHandler{h: h, l: &limiter{burst: burst, window: window, now: now, seen: map[string]*limitEntry{}}}
}

type limitHandler struct {
	h     slog.Handler
	l     *limiter
	scope string // the attributes given by WithAttrs: one cause per component
}

type limiter struct {
	mu     sync.Mutex
	burst  int
	window time.Duration
	now    func() time.Time
	seen   map[string]*limitEntry
}

type limitEntry struct {
	start      time.Time
	n          int
	suppressed int
}

// maxLimitEntries bounds the messages remembered; past it the oldest
// windows are forgotten.
const maxLimitEntries = 4096

// admit reports whether a record with this level and message is written,
// and how many like it were left out since the last one written.
func (l *limiter) admit(level slog.Level, scope, msg string) (ok bool, suppressed int) {
	if level < slog.LevelWarn {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	key := level.String() + "\x00" + scope + "\x00" + msg
	now := l.now()
	e := l.seen[key]
	if e == nil {
		if len(l.seen) >= maxLimitEntries {
			for k, x := range l.seen {
				if now.Sub(x.start) >= l.window {
					delete(l.seen, k)
				}
			}
		}
		e = &limitEntry{start: now}
		l.seen[key] = e
	}
	if now.Sub(e.start) >= l.window {
		suppressed = e.suppressed
		e.start, e.n, e.suppressed = now, 0, 0
	}
	if e.n >= l.burst {
		e.suppressed++
		return false, 0
	}
	e.n++
	return true, suppressed
}

func (h *limitHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.h.Enabled(ctx, level)
}

func (h *limitHandler) Handle(ctx context.Context, r slog.Record) error {
	ok, suppressed := h.l.admit(r.Level, h.scope, r.Message)
	if !ok {
		return nil
	}
	if suppressed > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("suppressed", suppressed))
	}
	return h.h.Handle(ctx, r)
}

func (h *limitHandler) WithAttrs(as []slog.Attr) slog.Handler {
	scope := h.scope
	for _, a := range as {
		scope += a.String() + " "
	}
	return &limitHandler{h: h.h.WithAttrs(as), l: h.l, scope: scope}
}

func (h *limitHandler) WithGroup(name string) slog.Handler {
	return &limitHandler{h: h.h.WithGroup(name), l: h.l, scope: h.scope + name + "."}
}
