//go:build unix

package reader

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// lockDevice opens device a second time and takes an exclusive advisory
// lock, flock(2), on it, without waiting. It is done before the serial
// library opens the device, so that an opener refused here never touches
// the line: it neither changes the holder's termios nor, on closing,
// clears the holder's exclusive mode (TIOCNXCL), which root could
// otherwise do, root being exempt from TIOCEXCL. The lock lives as long
// as the returned file, which is opened non-blocking and through the
// runtime's poller, so that writes through it honour deadlines.
//
// A lock already held, or a tty in exclusive mode (EBUSY for a process
// without CAP_SYS_ADMIN), yields a *DeviceBusyError.
func lockDevice(device string) (*os.File, error) {
	f, err := os.OpenFile(device, os.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, unix.EBUSY) {
			return nil, &DeviceBusyError{Device: device, PID: lockHolder(device), Err: unix.EBUSY}
		}
		return nil, err
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", device, err)
	}
	var lockErr error
	if err := rc.Control(func(fd uintptr) {
		lockErr = unix.Flock(int(fd), unix.LOCK_EX|unix.LOCK_NB)
	}); err != nil {
		lockErr = err
	}
	if lockErr != nil {
		f.Close()
		if errors.Is(lockErr, unix.EWOULDBLOCK) {
			return nil, &DeviceBusyError{Device: device, PID: lockHolder(device), Err: lockErr}
		}
		return nil, fmt.Errorf("lock %s: %w", device, lockErr)
	}
	return f, nil
}

// lockHolder returns the process holding a flock(2) lock on device, as
// /proc/locks lists it, or 0 when there is none or it cannot be told.
func lockHolder(device string) int {
	var st unix.Stat_t
	if err := unix.Stat(device, &st); err != nil {
		return 0
	}
	f, err := os.Open("/proc/locks")
	if err != nil {
		return 0
	}
	defer f.Close()
	return findFlockHolder(f, uint64(st.Dev), uint64(st.Ino))
}

// findFlockHolder scans the lines of /proc/locks for a granted flock(2)
// lock on the inode ino of the file system dev and returns its holder's
// pid, 0 when there is none. A line reads
//
//	1: FLOCK  ADVISORY  WRITE 812 00:05:1043 0 EOF
//
// with the file system's major and minor numbers in hex and the inode in
// decimal; a waiter's line has "->" after the number and is skipped.
func findFlockHolder(r io.Reader, dev, ino uint64) int {
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(dev), unix.Minor(dev), ino)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || f[1] != "FLOCK" || f[5] != want {
			continue
		}
		if pid, err := strconv.Atoi(f[4]); err == nil && pid > 0 {
			return pid
		}
	}
	return 0
}
