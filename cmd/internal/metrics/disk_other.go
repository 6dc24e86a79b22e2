//go:build !unix

package metrics

import "errors"

// DiskSpace returns the bytes available on the file system holding
// path, and its size; not on this system.
func DiskSpace(path string) (free, size uint64, err error) {
	return 0, 0, errors.New("statfs: not supported on this system")
}
