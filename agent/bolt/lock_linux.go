//go:build linux

package bolt

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
)

// pathLock is held by a writable ledger for its whole life: an abstract
// unix socket named after the ledger's absolute path. bbolt's flock is
// on the open file, so a file deleted or replaced under a running agent
// leaves a second agent free to open the path; the socket's name is not
// in the file system, so nothing but the holder's Close or death (the
// kernel closes it with the process, so a crash leaves no stale lock)
// releases it.
type pathLock struct {
	ln *net.UnixListener
}

// lockName is the abstract socket name of the ledger at the absolute
// path abs.
func lockName(abs string) string {
	h := sha256.Sum256([]byte(abs))
	return "@udi-edge-ledger:" + hex.EncodeToString(h[:8])
}

// lockPath takes the lock of the ledger at path (absolute), waiting up to
// timeout for another holder to let go, and then fails with a
// *LockedError naming the holder's process when it can be found.
func lockPath(path string, timeout time.Duration) (*pathLock, error) {
	name := lockName(path)
	deadline := time.Now().Add(timeout)
	for {
		ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: name, Net: "unix"})
		if err == nil {
			// Accept and drop: a refused Open connects to learn the pid.
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					c.Close()
				}
			}()
			return &pathLock{ln: ln}, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("bolt: lock %s: %w", path, err)
		}
		if !time.Now().Before(deadline) {
			return nil, &LockedError{Path: path, PID: holder(name)}
		}
		time.Sleep(min(50*time.Millisecond, time.Until(deadline)+time.Millisecond))
	}
}

// holder returns the pid of the process holding the socket name, or 0.
func holder(name string) int {
	c, err := net.DialTimeout("unix", name, 200*time.Millisecond)
	if err != nil {
		return 0
	}
	defer c.Close()
	raw, err := c.(*net.UnixConn).SyscallConn()
	if err != nil {
		return 0
	}
	pid := 0
	_ = raw.Control(func(fd uintptr) {
		if cred, err := syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED); err == nil {
			pid = int(cred.Pid)
		}
	})
	return pid
}

// exclusive reports whether the lock keeps every other process from
// opening the path for writing, and so from creating its ledger.
func (p *pathLock) exclusive() bool { return p != nil && p.ln != nil }

// release lets go of the lock.
func (p *pathLock) release() {
	if p != nil && p.ln != nil {
		_ = p.ln.Close()
	}
}
