//go:build unix

package metrics

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// DiskSpace returns the bytes available to an unprivileged user on the
// file system holding path, and its size.
func DiskSpace(path string) (free, size uint64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	bs := uint64(st.Bsize)
	return uint64(st.Bavail) * bs, uint64(st.Blocks) * bs, nil
}
