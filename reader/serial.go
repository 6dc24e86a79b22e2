// Package reader is the serial side of udi-edge: the settings of one serial
// line (RS-232, USB-serial, USB-CDC) and a Port that opens it. Device
// drivers live in its subpackages (reader/barcode) and speak to the rest of
// the agent only in the domain's types (agent.Read). What the drivers share
// is here too: the Supervisor that keeps a device connected (with its
// Backoff, Hooks and Guard), and the protocol-free parts of a session
// (Pump, Await, Arena, LogLimit, QuietTime).
//
// Package reader is the only place that imports go.bug.st/serial; everything
// else sees the small Port interface, so tests and other transports can
// stand in for it. It never interprets the bytes it carries and never logs
// them: a serial line may carry patient identifiers. Only a Supervisor
// logs, to the driver's logger, and only changes of a device's state.
package reader

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"

	"go.bug.st/serial"
)

// Default serial settings, used by Settings.WithDefaults for fields left at
// their zero value. 9600 8N1 is what barcode scanners ship with.
const (
	DefaultBaud     = 9600
	DefaultDataBits = 8
	DefaultParity   = "none"
	DefaultStopBits = "1"
)

// Highest and lowest baud rates that Validate accepts. Rates that are not
// one of the classic termios constants are set with BOTHER on Linux.
const (
	MinBaud = 50
	MaxBaud = 4000000
)

// Settings describe one serial line. The zero value of every field but
// Device means "the default" (see WithDefaults).
type Settings struct {
	// Device is the path of the tty, for example /dev/ttyACM0 or, better, a
	// stable link under /dev/serial/by-id/.
	Device string
	// Baud is the line speed in bits per second; default 9600.
	Baud int
	// DataBits is the character size, 5 to 8; default 8.
	DataBits int
	// Parity is "none", "odd", "even", "mark" or "space"; default "none".
	Parity string
	// StopBits is "1", "1.5" or "2"; default "1". Linux termios has no
	// setting for 1.5 stop bits, so Validate rejects "1.5" there.
	StopBits string
}

// WithDefaults returns s with every zero field set to its default.
func (s Settings) WithDefaults() Settings {
	if s.Baud == 0 {
		s.Baud = DefaultBaud
	}
	if s.DataBits == 0 {
		s.DataBits = DefaultDataBits
	}
	if s.Parity == "" {
		s.Parity = DefaultParity
	}
	if s.StopBits == "" {
		s.StopBits = DefaultStopBits
	}
	return s
}

// Notation returns the line settings in the short form scanner manuals
// use: the baud rate, then data bits, the parity's initial and the stop
// bits, as in "9600 8N1" or "19200 7E2".
func (s Settings) Notation() string {
	parity := "?"
	if s.Parity != "" {
		parity = strings.ToUpper(s.Parity[:1])
	}
	return fmt.Sprintf("%d %d%s%s", s.Baud, s.DataBits, parity, s.StopBits)
}

// Validate reports every setting that cannot be used, each as a
// *SettingError naming its field, joined with errors.Join. Call it on the
// result of WithDefaults: zero values are reported as errors here.
func (s Settings) Validate() error { return errors.Join(s.problems()...) }

// problems returns the *SettingError of every setting that cannot be used.
func (s Settings) problems() []error {
	var errs []error
	bad := func(field string, value any, want string) {
		errs = append(errs, &SettingError{Field: field, Value: value, Want: want})
	}
	if s.Device == "" {
		bad("device", s.Device, "the path of a tty, such as /dev/serial/by-id/...")
	}
	if s.Baud < MinBaud || s.Baud > MaxBaud {
		bad("baud", s.Baud, fmt.Sprintf("a rate from %d to %d", MinBaud, MaxBaud))
	}
	if s.DataBits < 5 || s.DataBits > 8 {
		bad("data_bits", s.DataBits, "5, 6, 7 or 8")
	}
	if _, ok := parities[s.Parity]; !ok {
		bad("parity", s.Parity, "none, odd, even, mark or space")
	}
	switch s.StopBits {
	case "1", "2":
	case "1.5":
		if runtime.GOOS != "windows" {
			bad("stop_bits", s.StopBits, "1 or 2 (termios has no 1.5 stop bits on "+runtime.GOOS+")")
		}
	default:
		bad("stop_bits", s.StopBits, "1, 1.5 or 2")
	}
	return errs
}

var parities = map[string]serial.Parity{
	"none":  serial.NoParity,
	"odd":   serial.OddParity,
	"even":  serial.EvenParity,
	"mark":  serial.MarkParity,
	"space": serial.SpaceParity,
}

var stopBits = map[string]serial.StopBits{
	"1":   serial.OneStopBit,
	"1.5": serial.OnePointFiveStopBits,
	"2":   serial.TwoStopBits,
}

// Port is an open serial line.
//
// Read blocks until at least one byte arrives, the read timeout passes (then
// it returns 0, nil) or the line fails. When the device goes away (a USB
// scanner unplugged, a pseudo-terminal's master closed) Read returns an
// error wrapping ErrHangup, and the operating system's error (EIO, ENXIO,
// ENODEV) when there is one; the port is then useless and must be closed
// and opened again.
//
// Write blocks while the line's output buffer is full, until every byte is
// written, the write deadline passes or the line fails.
//
// Read and Write may be called from different goroutines. Close must not be
// called while another goroutine is inside Read or Write: the file
// descriptor would be freed under them.
type Port interface {
	io.ReadWriteCloser
	// SetReadTimeout sets how long Read waits for the first byte. A
	// negative duration means wait forever. It must not be called during
	// a Read.
	SetReadTimeout(time.Duration) error
	// SetWriteDeadline sets when a Write, the one in progress included,
	// gives up: it then returns the number of bytes written and an error
	// matching os.ErrDeadlineExceeded. The zero time means never (the
	// default). Unlike the other methods it may be called while another
	// goroutine is inside Write, to cut that Write short before Close.
	// Where a port cannot honour it, it returns an error matching
	// errors.ErrUnsupported.
	SetWriteDeadline(t time.Time) error
}

// Opener opens a serial line. Open is the Opener for real devices.
type Opener func(Settings) (Port, error)

var _ Opener = Open

// Open opens the serial line s.Device with the settings s (defaults filled
// in), in raw mode, without hardware or software flow control, and for the
// caller alone, until the Port is closed:
//
//   - it takes an exclusive advisory lock (flock(2)) on the device before
//     touching the line, so that a second opener of this project (another
//     agent, a udi-edge tool run as root, a second driver configured on the
//     same device) is refused with a *DeviceBusyError (ErrDeviceBusy),
//     naming the process that holds the lock when /proc/locks tells it,
//     and never changes the line's settings or takes its bytes;
//   - it sets exclusive mode on the tty (TIOCEXCL), so that other programs
//     cannot open it either, unless they run as root.
//
// A missing device yields an error that matches fs.ErrNotExist.
//
// go.bug.st/serial waits for input with select(2), whose descriptor sets
// end at 1023; on a higher descriptor the library panics inside Read. The
// Port returned here turns that panic into an error wrapping
// ErrDescriptorRange, so that a driver closes the port and tries again
// (when lower descriptors may be free) instead of taking the process down.
func Open(s Settings) (Port, error) {
	s = s.WithDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	mode := &serial.Mode{
		BaudRate: s.Baud,
		DataBits: s.DataBits,
		Parity:   parities[s.Parity],
		StopBits: stopBits[s.StopBits],
	}
	lock, err := lockDevice(s.Device)
	if err != nil {
		return nil, err
	}
	p, err := serial.Open(s.Device, mode)
	if err != nil {
		if lock != nil {
			lock.Close()
		}
		var pe *serial.PortError
		if errors.As(err, &pe) && pe.Code() == serial.PortBusy {
			return nil, &DeviceBusyError{Device: s.Device, Err: err}
		}
		return nil, fmt.Errorf("open %s: %w", s.Device, err)
	}
	return &port{p: p, device: s.Device, lock: lock}, nil
}

// port adapts a go.bug.st/serial port to Port: it turns the library's
// "port closed" report on a read, which on Linux means the tty was hung up,
// and the errors a read of a vanished device gets (EIO, ENXIO, ENODEV) into
// ErrHangup, and names the device in errors.
//
// Writes go through lock, the second descriptor that holds the device's
// lock: it is non-blocking and in the runtime's poller, so a write can be
// given a deadline and cut short, which the library's blocking descriptor
// cannot. Both descriptors are the same tty, so the bytes are the same.
type port struct {
	p      serial.Port
	device string
	lock   *os.File // nil where there is no lock (see lockDevice)
}

func (p *port) Read(b []byte) (n int, err error) {
	defer func() {
		// See Open: select(2) cannot take a descriptor above 1023 and
		// the library indexes past its descriptor set. Its own deferred
		// unlock has run by now, so the port can still be closed.
		if r := recover(); r != nil {
			re, ok := r.(runtime.Error)
			if !ok || !strings.Contains(re.Error(), "index out of range") {
				panic(r)
			}
			n, err = 0, fmt.Errorf("read %s: %w", p.device, ErrDescriptorRange)
		}
	}()
	n, err = p.p.Read(b)
	if err != nil {
		var pe *serial.PortError
		switch {
		case errors.As(err, &pe) && pe.Code() == serial.PortClosed:
			err = fmt.Errorf("read %s: %w", p.device, ErrHangup)
		case errors.Is(err, syscall.EIO), errors.Is(err, syscall.ENXIO), errors.Is(err, syscall.ENODEV):
			err = fmt.Errorf("read %s: %w: %w", p.device, ErrHangup, err)
		default:
			err = fmt.Errorf("read %s: %w", p.device, err)
		}
		return n, err
	}
	return n, nil
}

func (p *port) Write(b []byte) (int, error) {
	var n int
	var err error
	if p.lock != nil {
		n, err = p.lock.Write(b)
	} else {
		n, err = p.p.Write(b)
	}
	if err != nil {
		if errors.Is(err, syscall.EIO) || errors.Is(err, syscall.ENXIO) || errors.Is(err, syscall.ENODEV) {
			return n, fmt.Errorf("write %s: %w: %w", p.device, ErrHangup, err)
		}
		return n, fmt.Errorf("write %s: %w", p.device, err)
	}
	return n, nil
}

func (p *port) SetWriteDeadline(t time.Time) error {
	if p.lock == nil {
		return fmt.Errorf("write deadline on %s: %w", p.device, errors.ErrUnsupported)
	}
	return p.lock.SetWriteDeadline(t)
}

func (p *port) SetReadTimeout(d time.Duration) error {
	if d < 0 {
		d = serial.NoTimeout
	}
	return p.p.SetReadTimeout(d)
}

// Close closes the line, then the lock's descriptor, which releases the
// lock: the next opener finds the line closed.
func (p *port) Close() error {
	err := p.p.Close()
	if p.lock != nil {
		err = errors.Join(err, p.lock.Close())
	}
	if err != nil {
		return fmt.Errorf("close %s: %w", p.device, err)
	}
	return nil
}
