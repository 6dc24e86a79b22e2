package api

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"strconv"
	"time"
)

// ErrSocketInUse is returned by ListenUnix when another agent answers on
// the socket.
var ErrSocketInUse = errors.New("another agent is answering on the control socket")

// ErrSocketPathTooLong is returned by ListenUnix for a path longer than
// a unix socket's address holds (MaxSocketPath bytes on Linux).
var ErrSocketPathTooLong = errors.New("path too long for a unix socket")

// MaxSocketPath is the longest path a unix socket may have on Linux: its
// address (sun_path) holds 108 bytes, the terminating NUL included.
const MaxSocketPath = 107

// ListenUnix listens on the unix socket path. A socket left by an agent
// that died is replaced; one that still answers is refused
// (ErrSocketInUse). The socket is readable and writable by the agent's
// user only (0600), or also by the members of group (0660) when group is
// not empty: an auditor's account in that group can ask without being
// the agent's user (and only reads; see the package documentation).
func ListenUnix(path, group string) (net.Listener, error) {
	if len(path) > MaxSocketPath {
		return nil, fmt.Errorf("control socket %s: %d bytes long, a unix socket's path at most %d: %w", path, len(path), MaxSocketPath, ErrSocketPathTooLong)
	}
	gid := -1
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			return nil, fmt.Errorf("control socket group %q: %w", group, err)
		}
		if gid, err = strconv.Atoi(g.Gid); err != nil {
			return nil, fmt.Errorf("control socket group %q: gid %q", group, g.Gid)
		}
	}
	if _, err := os.Lstat(path); err == nil {
		if c, err := net.DialTimeout("unix", path, 500*time.Millisecond); err == nil {
			c.Close()
			return nil, fmt.Errorf("control socket %s: %w", path, ErrSocketInUse)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("control socket %s: remove stale socket: %w", path, err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	mode := os.FileMode(0o600)
	if gid >= 0 {
		if err := os.Lchown(path, -1, gid); err != nil {
			ln.Close()
			return nil, fmt.Errorf("control socket %s: group %s: %w", path, group, err)
		}
		mode = 0o660
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return ln, nil
}

// CheckLoopback returns nil when addr is a loopback TCP address with a
// port ("127.0.0.1:8701", "[::1]:8701", "localhost:8701").
func CheckLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: %w", addr, err)
	}
	if host != "localhost" {
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("%q: only a loopback address is allowed (the API has no authentication of its own)", addr)
		}
	}
	return nil
}

// ListenLoopback listens on a loopback TCP address (see CheckLoopback).
func ListenLoopback(addr string) (net.Listener, error) {
	if err := CheckLoopback(addr); err != nil {
		return nil, fmt.Errorf("control address %w", err)
	}
	return net.Listen("tcp", addr)
}
