package testkit

// Device, New: a pseudo-terminal that stands in for a serial device. The
// test plays the device on the master side; the code under test opens the
// slave through a stable symbolic link, the way a gateway opens a USB
// scanner through /dev/serial/by-id, and through the same serial library.
// Unplugging removes the link and closes the master, which hangs up the
// slave exactly as a vanished USB device does.

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// Device is one pseudo-terminal pair standing in for a serial device.
type Device struct {
	// Master is the device's end: what is written to it arrives on the
	// slave; what the host writes to the slave can be read from it. It is
	// non-blocking, so read deadlines work and Close wakes a reader.
	Master *os.File
	// Slave is the test's own handle on the tty, used to inspect its
	// termios. The code under test opens Path or Link.
	Slave *os.File
	// Path is the slave's device node, /dev/pts/N.
	Path string
	// Link is the symbolic link to Path that the code under test opens.
	Link string

	once sync.Once
}

// New creates a pseudo-terminal pair and points link at its slave,
// replacing whatever link pointed at before in one rename. The pair is
// unplugged when the test ends.
func New(t testing.TB, link string) *Device {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatalf("testkit: open pty: %v", err)
	}
	// pty.Open reads the slave's number through File.Fd, which leaves the
	// master in blocking mode: deadlines no longer work on it and a Read
	// blocked on it is not woken by Close. A non-blocking duplicate goes
	// through the runtime poller instead.
	fd, err := unix.FcntlInt(master.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("testkit: dup master: %v", err)
	}
	master.Close()
	if err := unix.SetNonblock(fd, true); err != nil {
		t.Fatalf("testkit: non-blocking master: %v", err)
	}
	d := &Device{
		Master: os.NewFile(uintptr(fd), "/dev/ptmx"),
		Slave:  slave,
		Path:   slave.Name(),
		Link:   link,
	}
	tmp := link + ".new"
	os.Remove(tmp)
	if err := os.Symlink(d.Path, tmp); err != nil {
		t.Fatalf("testkit: link: %v", err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatalf("testkit: link: %v", err)
	}
	t.Cleanup(d.Unplug)
	return d
}

// Unplug removes the link (if it still points at this device) and closes
// both ends. Every open file on the slave is hung up: reads return EIO or
// end of file. Unplug may be called more than once.
func (d *Device) Unplug() {
	d.once.Do(func() {
		if target, err := os.Readlink(d.Link); err == nil && target == d.Path {
			os.Remove(d.Link)
		}
		d.Master.Close()
		d.Slave.Close()
	})
}

// Send writes p to the master, as the device sending it on the line.
func (d *Device) Send(p []byte) error {
	_, err := d.Master.Write(p)
	return err
}

// Termios returns the slave's current terminal settings.
func (d *Device) Termios() (*unix.Termios, error) {
	var t *unix.Termios
	err := control(d.Slave, func(fd int) (err error) {
		t, err = unix.IoctlGetTermios(fd, unix.TCGETS2)
		return err
	})
	return t, err
}

// Receive reads from the master until it holds n bytes or timeout passes,
// and returns what it read.
func (d *Device) Receive(n int, timeout time.Duration) ([]byte, error) {
	if err := d.Master.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	buf := make([]byte, n)
	got := 0
	for got < n {
		k, err := d.Master.Read(buf[got:])
		got += k
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return buf[:got], fmt.Errorf("testkit: %d of %d bytes before the deadline: %w", got, n, err)
			}
			return buf[:got], err
		}
	}
	return buf, nil
}

func control(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}
