package sign

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// linkUnnamed writes data to a file without a name (O_TMPFILE) in path's
// directory and links it to path: until the link, a crash leaves
// nothing. It returns errNoUnnamed where the file system or the kernel
// cannot make such a file, or /proc is not there to link it through.
func linkUnnamed(path string, data []byte) error {
	fd, err := unix.Open(filepath.Dir(path), unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
	switch {
	case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.EISDIR), errors.Is(err, unix.EINVAL):
		return errNoUnnamed
	case err != nil:
		return err
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	if err := writeSynced(f, data); err != nil {
		return err
	}
	// Linking a file by its descriptor (AT_EMPTY_PATH) needs a
	// capability; through /proc it does not.
	proc := "/proc/self/fd/" + strconv.Itoa(fd)
	if _, err := os.Stat(proc); err != nil {
		return errNoUnnamed
	}
	return unix.Linkat(unix.AT_FDCWD, proc, unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW)
}
