package metrics

// The systemd notification protocol (sd_notify(3)): a service started
// with Type=notify finds a unix datagram socket's path in $NOTIFY_SOCKET
// (a leading '@' names an abstract socket) and sends it newline-separated
// VAR=VALUE lines, one datagram per message. With WatchdogSec= set,
// $WATCHDOG_USEC holds the watchdog's timeout and $WATCHDOG_PID, when
// set, the process it is meant for; the service sends WATCHDOG=1 well
// within the timeout (half of it is the usual rhythm) or is restarted.

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Notifier sends state lines to the service manager over the socket
// $NOTIFY_SOCKET named. A nil Notifier sends nothing.
type Notifier struct {
	addr *net.UnixAddr
}

// NotifierFromEnv returns the notifier of $NOTIFY_SOCKET, nil when the
// process was not started by a service manager that listens (unset).
func NotifierFromEnv() *Notifier {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil
	}
	// The net package reads a leading '@' as Linux's abstract namespace.
	return &Notifier{addr: &net.UnixAddr{Name: path, Net: "unixgram"}}
}

// Notify sends states ("READY=1", "WATCHDOG=1", "STATUS=...") in one
// datagram. A nil n sends nothing and returns nil.
func (n *Notifier) Notify(states ...string) error {
	if n == nil {
		return nil
	}
	if n.addr == nil {
		return ErrNoNotifySocket
	}
	c, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("notify %s: %w", n.addr.Name, err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(strings.Join(states, "\n"))); err != nil {
		return fmt.Errorf("notify %s: %w", n.addr.Name, err)
	}
	return nil
}

// WatchdogInterval returns how often WATCHDOG=1 is due, half of
// $WATCHDOG_USEC, and false when no watchdog is set for this process
// ($WATCHDOG_USEC unset or not a positive number, or $WATCHDOG_PID set to
// another process).
func WatchdogInterval() (time.Duration, bool) {
	usec, err := strconv.ParseUint(os.Getenv("WATCHDOG_USEC"), 10, 63)
	if err != nil || usec == 0 {
		return 0, false
	}
	if p := os.Getenv("WATCHDOG_PID"); p != "" {
		if pid, err := strconv.Atoi(p); err != nil || pid != os.Getpid() {
			return 0, false
		}
	}
	return time.Duration(usec) * time.Microsecond / 2, true
}

// Watchdog keeps the service manager's watchdog fed while its daemon is
// alive: the daemon's main loop calls Beat every Every with what it
// found, and Beat sends WATCHDOG=1 only when that is nil. When a beat
// is withheld the manager restarts the service once its WatchdogSec
// passes without one.
type Watchdog struct {
	// Every is how often Beat is due; 0 when no watchdog is set.
	Every time.Duration
	n     *Notifier
	log   *slog.Logger
	why   string // the reason beats are withheld, "" while they are sent
}

// NewWatchdog returns the watchdog of this process (WatchdogInterval), a
// Watchdog whose Every is 0 when it has none.
func NewWatchdog(n *Notifier, log *slog.Logger) *Watchdog {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &Watchdog{n: n, log: log}
	if every, ok := WatchdogInterval(); ok && n != nil {
		w.Every = every
	}
	return w
}

// Beat sends WATCHDOG=1 when alive is nil; otherwise it sends nothing
// and logs why, once until beats are sent again.
func (w *Watchdog) Beat(alive error) {
	if w.Every == 0 {
		return
	}
	if alive != nil {
		if why := alive.Error(); why != w.why {
			w.why = why
			w.log.Error("watchdog not fed: the service manager restarts the service if this lasts", "err", alive)
		}
		return
	}
	if w.why != "" {
		w.why = ""
		w.log.Info("watchdog fed again")
	}
	if err := w.n.Notify("WATCHDOG=1"); err != nil {
		w.log.Warn("watchdog notification not sent", "err", err)
	}
}
