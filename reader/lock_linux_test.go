package reader

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestFindFlockHolder(t *testing.T) {
	const locks = `1: POSIX  ADVISORY  WRITE 700 00:1a:3 0 EOF
2: FLOCK  ADVISORY  WRITE 812 00:1a:4 0 EOF
2: -> FLOCK  ADVISORY  WRITE 913 00:1a:4 0 EOF
3: FLOCK  ADVISORY  WRITE 455 fe:00:4 0 EOF
4: FLOCK  ADVISORY  WRITE 456 00:1a:41 0 EOF
`
	dev := unix.Mkdev(0, 0x1a)
	for _, tt := range []struct {
		dev, ino uint64
		pid      int
	}{
		{dev, 4, 812},  // the holder, not the waiter after it
		{dev, 3, 0},    // a POSIX lock is not ours
		{dev, 41, 456}, // the inode is matched whole
		{unix.Mkdev(0xfe, 0), 4, 455},
		{dev, 5, 0},
	} {
		if got := findFlockHolder(strings.NewReader(locks), tt.dev, tt.ino); got != tt.pid {
			t.Errorf("holder of %x:%d = %d, want %d", tt.dev, tt.ino, got, tt.pid)
		}
	}
}

func TestDeviceBusyMessage(t *testing.T) {
	for _, tt := range []struct {
		pid  int
		want string
	}{
		{812, "open /dev/ttyACM0: device busy: locked by process 812"},
		{0, "open /dev/ttyACM0: device busy: in use by another program"},
	} {
		err := &DeviceBusyError{Device: "/dev/ttyACM0", PID: tt.pid, Err: unix.EWOULDBLOCK}
		if err.Error() != tt.want || !errors.Is(err, ErrDeviceBusy) || !errors.Is(err, unix.EWOULDBLOCK) {
			t.Errorf("%q, want %q matching ErrDeviceBusy and EWOULDBLOCK", err, tt.want)
		}
	}
}
