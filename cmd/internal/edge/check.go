package edge

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/agent/bolt"

	"golang.org/x/sys/unix"
)

// Problem is something `run` will need that is not there: a device that
// does not exist, a ledger its user cannot write, a group that does not
// exist. Where names the configuration key.
type Problem struct {
	Where string
	What  string
}

func (p Problem) String() string { return p.Where + ": " + p.What }

// Check looks at what `run` will need of this machine for the validated
// configuration c, as the user it runs as: every scanner's and reader's
// device, the ledger file and its directory, the control socket's
// directory and group, the sync's certificate and password files, the
// station page's certificate and tokens. It
// returns the problems found, none when `run` may start.
func (c *Config) Check() []Problem {
	var ps []Problem
	add := func(where, format string, args ...any) {
		ps = append(ps, Problem{Where: where, What: fmt.Sprintf(format, args...)})
	}
	for i, s := range c.Scanners {
		if msg := checkDevice(s.Device); msg != "" {
			add(fmt.Sprintf("scanners[%d].device", i), "%s", msg)
		}
	}
	for i, r := range c.Readers {
		if msg := checkDevice(r.Device); msg != "" {
			add(fmt.Sprintf("readers[%d].device", i), "%s", msg)
		}
	}
	dir := filepath.Dir(c.Store)
	switch st, err := os.Stat(dir); {
	case err != nil:
		add("store", "directory %s: %v", dir, errors.Unwrap(err))
	case !st.IsDir():
		add("store", "%s is not a directory", dir)
	case unix.Access(dir, unix.W_OK|unix.X_OK) != nil:
		add("store", "directory %s is not writable by %s: the ledger cannot be created there", dir, whoami())
	}
	if st, err := os.Stat(c.Store); err == nil {
		switch {
		case !st.Mode().IsRegular():
			add("store", "%s is not a regular file", c.Store)
		case unix.Access(c.Store, unix.R_OK|unix.W_OK) != nil:
			add("store", "%s is not readable and writable by %s", c.Store, whoami())
		default:
			if msg := checkLedger(c.Store); msg != "" {
				add("store", "%s", msg)
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		add("store", "%v", err)
	}
	sockDir := filepath.Dir(c.SocketPath())
	if unix.Access(sockDir, unix.W_OK|unix.X_OK) != nil {
		add("socket", "directory %s is not writable by %s: the control socket cannot be made there", sockDir, whoami())
	}
	if g := c.Control.Group; g != "" {
		if _, err := user.LookupGroup(g); err != nil {
			add("control.group", "%q: %v", g, err)
		}
	}
	for _, f := range []struct{ key, path string }{{"sync.password_file", c.Sync.PasswordFile}, {"sync.ca_file", c.Sync.CAFile},
		{"sync.cert_file", c.Sync.CertFile}, {"sync.key_file", c.Sync.KeyFile}} {
		if f.path != "" && unix.Access(f.path, unix.R_OK) != nil {
			add(f.key, "%s is not readable by %s", f.path, whoami())
		}
	}
	// The station page's files (certificate, tokens, client roles), read
	// as run reads them.
	if addr, _ := c.Page.addr(); addr != "" {
		if _, err := c.Page.webConfig(nil); err != nil {
			var ce *ConfigError
			if errors.As(err, &ce) {
				add(ce.Where, "%v", ce.Err)
			} else {
				add("page", "%v", err)
			}
		}
	}
	return ps
}

// checkLedger says what is wrong with an existing ledger file for `run`:
// held by a running agent, unreadable; "" when run may open it. A loss of
// movements found (a dropped last transaction) is no obstacle (run records
// it) but is named all the same.
func checkLedger(path string) string {
	l, err := bolt.OpenReadOnly(path, 200*time.Millisecond)
	if err != nil {
		if errors.Is(err, bolt.ErrLocked) {
			return fmt.Sprintf("%v: an agent runs on this ledger already", err)
		}
		return err.Error()
	}
	defer l.Close()
	if loss := l.Loss(); loss != nil {
		return fmt.Sprintf("%v: run will record the loss as the ledger's next movement; run udi-edge verify first", loss)
	}
	return ""
}

// checkDevice says what is wrong with a serial device path, "" when it
// names a character device the process can open for reading and writing.
func checkDevice(path string) string {
	if path == "" {
		return "no device configured"
	}
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return path + " does not exist (unplugged, or another name: ls -l /dev/serial/by-id/)"
		}
		return err.Error()
	}
	if st.Mode()&fs.ModeCharDevice == 0 {
		return path + " is not a character device"
	}
	if unix.Access(path, unix.R_OK|unix.W_OK) != nil {
		return fmt.Sprintf("%s is not readable and writable by %s (add the user to the device's group, usually dialout)", path, whoami())
	}
	return ""
}

// whoami names the user the process runs as.
func whoami() string {
	if u, err := user.Current(); err == nil {
		return "user " + u.Username
	}
	return fmt.Sprintf("uid %d", os.Getuid())
}

// Summary is the configuration in a few lines, as `run --check` prints it.
func (c *Config) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gateway %s", c.Gateway)
	if c.Site != "" {
		fmt.Fprintf(&b, " of site %s", c.Site)
	}
	fmt.Fprintf(&b, ", ledger %s, control socket %s\n", c.Store, c.SocketPath())
	for _, s := range c.Scanners {
		fmt.Fprintf(&b, "  scanner %-12s %s at %s (%s)\n", s.ID, s.Device, s.Location, s.Kind)
	}
	for _, r := range c.Readers {
		var ants []string
		for _, a := range r.Antennas {
			ants = append(ants, fmt.Sprintf("%d→%s", a.Port, a.Zone))
		}
		fmt.Fprintf(&b, "  reader  %-12s %s %s, antennas %s\n", r.ID, r.Type, r.Device, strings.Join(ants, " "))
	}
	for _, z := range c.Zones {
		fmt.Fprintf(&b, "  zone    %-12s %s at %s\n", z.Name, z.Role, z.Location)
	}
	if c.Sync.enabled() {
		fmt.Fprintf(&b, "  sync    %s\n", strings.Join(c.Sync.Brokers, ", "))
	} else {
		fmt.Fprintf(&b, "  sync    none (offline gateway)\n")
	}
	return b.String()
}
