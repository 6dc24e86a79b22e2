package reader_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/udi-edge/udi-edge/agent/testkit"
	"github.com/udi-edge/udi-edge/reader"
)

// TestSettingsApplied opens a pseudo-terminal's slave through its link with
// each combination and reads the tty's termios back to see that the
// settings reached the kernel.
func TestSettingsApplied(t *testing.T) {
	dev := testkit.New(t, filepath.Join(t.TempDir(), "usb-Scanner-if00"))
	tests := []reader.Settings{
		{Baud: 9600, DataBits: 8, Parity: "none", StopBits: "1"},
		{Baud: 115200, DataBits: 7, Parity: "even", StopBits: "1"},
		{Baud: 19200, DataBits: 7, Parity: "odd", StopBits: "2"},
		{Baud: 38400, DataBits: 6, Parity: "mark", StopBits: "1"},
		{Baud: 57600, DataBits: 5, Parity: "space", StopBits: "2"},
		{Baud: 250000, DataBits: 8, Parity: "none", StopBits: "2"}, // not a Bnnn constant: BOTHER
	}
	sizes := map[int]uint32{5: unix.CS5, 6: unix.CS6, 7: unix.CS7, 8: unix.CS8}
	for _, s := range tests {
		s.Device = dev.Link
		name := fmt.Sprintf("%d-%d-%s-%s", s.Baud, s.DataBits, s.Parity, s.StopBits)
		t.Run(name, func(t *testing.T) {
			p, err := reader.Open(s)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer p.Close()
			tio, err := dev.Termios()
			if err != nil {
				t.Fatal(err)
			}
			// A pty has no UART: Linux forces CS8 and clears PARENB on
			// every tcsetattr (drivers/tty/pty.c, pty_set_termios). The
			// parity kind (PARODD, CMSPAR), stop bits and speed stick, so
			// those are what can be checked here; CSIZE and PARENB are
			// checked to be the forced values, which documents the quirk.
			if got := tio.Cflag & unix.CSIZE; got != unix.CS8 && got != sizes[s.DataBits] {
				t.Errorf("CSIZE = %#o, want %#o (or CS8 forced by the pty)", got, sizes[s.DataBits])
			}
			if tio.Cflag&unix.PARENB != 0 && s.Parity == "none" {
				t.Errorf("PARENB set for parity none")
			}
			parodd, cmspar := tio.Cflag&unix.PARODD != 0, tio.Cflag&unix.CMSPAR != 0
			want := map[string][2]bool{
				"none": {false, false}, "odd": {true, false}, "even": {false, false},
				"mark": {true, true}, "space": {false, true},
			}[s.Parity]
			if [2]bool{parodd, cmspar} != want {
				t.Errorf("PARODD,CMSPAR = %v,%v, want %v", parodd, cmspar, want)
			}
			if got := tio.Cflag&unix.CSTOPB != 0; got != (s.StopBits == "2") {
				t.Errorf("CSTOPB = %v for stop bits %s", got, s.StopBits)
			}
			if tio.Ispeed != uint32(s.Baud) || tio.Ospeed != uint32(s.Baud) {
				t.Errorf("speed in/out = %d/%d, want %d", tio.Ispeed, tio.Ospeed, s.Baud)
			}
			if tio.Lflag&(unix.ICANON|unix.ECHO) != 0 || tio.Iflag&(unix.ICRNL|unix.IXON) != 0 || tio.Oflag&unix.OPOST != 0 {
				t.Errorf("tty not in raw mode: iflag %#o oflag %#o lflag %#o", tio.Iflag, tio.Oflag, tio.Lflag)
			}
		})
	}
}

func TestOpenMissingDevice(t *testing.T) {
	_, err := reader.Open(reader.Settings{Device: filepath.Join(t.TempDir(), "gone")})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open of a missing device: %v, want fs.ErrNotExist", err)
	}
}

// TestPortReadWrite checks the Port contract the drivers rely on: bytes
// both ways, 0, nil on a read timeout, and ErrHangup once the device goes.
func TestPortReadWrite(t *testing.T) {
	dev := testkit.New(t, filepath.Join(t.TempDir(), "scanner"))
	p, err := reader.Open(reader.Settings{Device: dev.Link})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.SetReadTimeout(20 * time.Millisecond); err != nil {
		t.Fatal(err)
	}

	if n, err := p.Read(make([]byte, 8)); n != 0 || err != nil {
		t.Fatalf("Read with nothing sent = %d, %v; want 0, nil", n, err)
	}

	if err := dev.Send([]byte("\x1d]C1\r\n")); err != nil {
		t.Fatal(err)
	}
	var got []byte
	buf := make([]byte, 4)
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < 6 && time.Now().Before(deadline) {
		n, err := p.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "\x1d]C1\r\n" {
		t.Fatalf("read %q: bytes were changed on the way (CR/LF mapping?)", got)
	}

	if _, err := p.Write([]byte{0x07, '\n'}); err != nil {
		t.Fatal(err)
	}
	if b, err := dev.Receive(2, 5*time.Second); err != nil || string(b) != "\x07\n" {
		t.Fatalf("master received %q, %v; want BEL LF unchanged", b, err)
	}

	dev.Unplug()
	deadline = time.Now().Add(5 * time.Second)
	for {
		_, err := p.Read(buf)
		if err != nil {
			if !errors.Is(err, reader.ErrHangup) {
				t.Fatalf("Read after unplug: %v, want ErrHangup", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Read kept timing out after the device went away")
		}
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close after hangup: %v", err)
	}
}

// TestHighDescriptor opens the port when every descriptor below 1024 is in
// use: the serial library cannot wait on such a descriptor, and Read must
// say so with an error instead of panicking.
func TestHighDescriptor(t *testing.T) {
	dev := testkit.New(t, filepath.Join(t.TempDir(), "scanner"))
	var fill []int
	defer func() {
		for _, fd := range fill {
			unix.Close(fd)
		}
	}()
	for {
		fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Skipf("cannot open enough files: %v", err)
		}
		fill = append(fill, fd)
		if fd >= 1024 {
			break
		}
	}
	p, err := reader.Open(reader.Settings{Device: dev.Link})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetReadTimeout(10 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Read(make([]byte, 8)); !errors.Is(err, reader.ErrDescriptorRange) {
		t.Fatalf("Read on descriptor >= 1024: %v, want ErrDescriptorRange", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close after the failed read: %v", err)
	}
}

// TestOpenLocksDevice: while one Port holds a device, a second Open of
// it, by the same link or by the tty's own path, is refused with
// ErrDeviceBusy naming the holder, and leaves the holder's line as it
// was: its speed, and the bytes the device sends. Once the holder closes,
// the device opens again. The tests run as root, which TIOCEXCL does not
// stop: the lock is what refuses the second opener.
func TestOpenLocksDevice(t *testing.T) {
	dev := testkit.New(t, filepath.Join(t.TempDir(), "usb-Acme_Scanner-if00"))
	first, err := reader.Open(reader.Settings{Device: dev.Link, Baud: 9600})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{dev.Link, dev.Path} {
		p, err := reader.Open(reader.Settings{Device: path, Baud: 115200})
		if err == nil {
			p.Close()
			t.Fatalf("second Open of %s while the first holds it succeeded", path)
		}
		var busy *reader.DeviceBusyError
		if !errors.Is(err, reader.ErrDeviceBusy) || !errors.As(err, &busy) {
			t.Fatalf("second Open of %s: %v, want ErrDeviceBusy", path, err)
		}
		want := fmt.Sprintf("open %s: device busy: locked by this process (%d): is the device configured twice?", path, os.Getpid())
		if busy.PID != os.Getpid() || busy.Device != path || err.Error() != want {
			t.Errorf("second Open: %q (PID %d), want %q", err, busy.PID, want)
		}
	}
	if tio, err := dev.Termios(); err != nil || tio.Ispeed != 9600 {
		t.Errorf("holder's line speed after refused opens: %v, %v; want 9600 untouched", tio.Ispeed, err)
	}
	if err := first.SetReadTimeout(time.Second); err != nil {
		t.Fatal(err)
	}
	if err := dev.Send([]byte("]E0x\r")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 0, 5)
	buf := make([]byte, 5)
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < 5 && time.Now().Before(deadline) {
		n, err := first.Read(buf)
		if err != nil {
			t.Fatalf("holder read after %q: %v", got, err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "]E0x\r" {
		t.Errorf("holder read %q", got)
	}

	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := reader.Open(reader.Settings{Device: dev.Link})
	if err != nil {
		t.Fatalf("Open after the holder closed: %v", err)
	}
	again.Close()
}

// TestPortWriteDeadline: a Write to a device that takes nothing (the
// pty's master is never read) returns at its deadline with what it wrote,
// and one blocked without a deadline is cut short by setting one from
// another goroutine.
func TestPortWriteDeadline(t *testing.T) {
	dev := testkit.New(t, filepath.Join(t.TempDir(), "scanner"))
	p, err := reader.Open(reader.Settings{Device: dev.Link})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	big := make([]byte, 1<<20)
	if err := p.SetWriteDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	n, err := p.Write(big)
	if !errors.Is(err, os.ErrDeadlineExceeded) || n >= len(big) {
		t.Fatalf("Write past the deadline = %d, %v; want less than %d bytes and os.ErrDeadlineExceeded", n, err, len(big))
	}

	if err := p.SetWriteDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := p.Write(big)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Write to a full line returned %v without a deadline", err)
	case <-time.After(50 * time.Millisecond):
	}
	if err := p.SetWriteDeadline(time.Now()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Write cut short: %v, want os.ErrDeadlineExceeded", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a deadline set during Write did not cut it short")
	}
}
