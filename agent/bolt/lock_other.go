//go:build !linux

package bolt

import "time"

// pathLock does nothing where abstract unix sockets do not exist: only
// bbolt's flock on the open file keeps a second writer out, and it does
// not when the file was deleted or replaced under the first.
type pathLock struct{}

func lockPath(path string, timeout time.Duration) (*pathLock, error) { return &pathLock{}, nil }

func (p *pathLock) release() {}

// exclusive is false: another process may be creating the ledger.
func (p *pathLock) exclusive() bool { return false }
