package uhfsim

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// ErrClosed is returned by operations on a device after Close.
var ErrClosed = errors.New("uhfsim: device closed")

// ErrUnplugged is returned by operations that need the line while the
// device is unplugged.
var ErrUnplugged = errors.New("uhfsim: device unplugged")

// writeTimeout bounds one write to the line. A host that does not read
// fills the pseudo-terminal's buffer; the device then drops what it sends,
// as a real module's UART does, instead of blocking.
const writeTimeout = 500 * time.Millisecond

// session is one plugged-in period of a device: a pseudo-terminal pair and
// the goroutines that serve it. Unplugging ends the session.
type session struct {
	master *os.File // non-blocking, read and written by the device
	slave  *os.File // held open so the line stays up between host opens
	path   string   // the slave's device node
	done   chan struct{}
	wg     sync.WaitGroup
	wmu    sync.Mutex
}

// openSession creates a pseudo-terminal pair in raw mode.
func openSession() (*session, error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("uhfsim: open pty: %w", err)
	}
	// The line discipline sits on the slave. Raw mode before any host
	// opens it: no echo of what the device sends, no CR/LF translation, no
	// signals, 8 bits.
	t, err := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS)
	if err == nil {
		t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF
		t.Oflag &^= unix.OPOST
		t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		t.Cflag &^= unix.CSIZE | unix.PARENB
		t.Cflag |= unix.CS8
		t.Cc[unix.VMIN] = 1
		t.Cc[unix.VTIME] = 0
		err = unix.IoctlSetTermios(int(s.Fd()), unix.TCSETS, t)
	}
	if err != nil {
		m.Close()
		s.Close()
		return nil, fmt.Errorf("uhfsim: raw mode: %w", err)
	}
	// pty.Open leaves the master blocking (it reads the slave's number
	// through Fd). A non-blocking duplicate goes through the runtime
	// poller, so deadlines work and Close wakes a blocked Read.
	fd, err := unix.FcntlInt(m.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	m.Close()
	if err == nil {
		err = unix.SetNonblock(fd, true)
		if err != nil {
			unix.Close(fd)
		}
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("uhfsim: non-blocking master: %w", err)
	}
	return &session{
		master: os.NewFile(uintptr(fd), "/dev/ptmx"),
		slave:  s,
		path:   s.Name(),
		done:   make(chan struct{}),
	}, nil
}

// write sends p on the line in one write, dropping it if the host has not
// drained the line within writeTimeout.
func (s *session) write(p []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	select {
	case <-s.done:
		return ErrUnplugged
	default:
	}
	s.master.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := s.master.Write(p)
	return err
}

// alive reports whether the session has not ended.
func (s *session) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// protocol is what a device family adds to the base: how to cut the host's
// byte stream into frames, what to answer, how to spoil a frame's check,
// and what to reset when the device is plugged in again (a power cycle).
type protocol interface {
	// cut returns the first complete, valid host frame in buf and the
	// number of bytes consumed (frame included). When no complete frame is
	// there, frame is nil and consumed counts the leading bytes that can
	// never begin one.
	cut(buf []byte) (frame []byte, consumed int)
	// handle answers one host frame.
	handle(s *session, frame []byte)
	// spoil damages the integrity check of an outgoing frame in place.
	spoil(frame []byte)
	// powerOn resets the device's state to its configuration.
	powerOn()
	// powerOff forgets what ran in the session that just ended.
	powerOff()
}

// base is the part common to both simulated devices: the line, its link,
// plugging, stalls and frame corruption.
type base struct {
	link  string
	proto protocol

	mu      sync.Mutex
	sess    *session
	closed  bool
	stalled bool
	corrupt int
	sent    int // frames sent, for Sent
}

// start plugs the device in for the first time.
func (b *base) start() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.plugLocked()
}

func (b *base) plugLocked() error {
	s, err := openSession()
	if err != nil {
		return err
	}
	if b.link != "" {
		tmp := b.link + ".new"
		os.Remove(tmp)
		err := os.Symlink(s.path, tmp)
		if err == nil {
			err = os.Rename(tmp, b.link)
		}
		if err != nil {
			os.Remove(tmp)
			s.master.Close()
			s.slave.Close()
			return fmt.Errorf("uhfsim: link %s: %w", b.link, err)
		}
	}
	b.proto.powerOn()
	b.sess = s
	s.wg.Add(1)
	go b.serve(s)
	return nil
}

// serve reads the host's bytes for one session and answers each frame.
func (b *base) serve(s *session) {
	defer s.wg.Done()
	buf := make([]byte, 0, 4096)
	chunk := make([]byte, 1024)
	for {
		n, err := s.master.Read(chunk)
		if err != nil {
			if s.alive() && errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			return
		}
		if b.isStalled() {
			buf = buf[:0]
			continue
		}
		buf = append(buf, chunk[:n]...)
		for {
			frame, used := b.proto.cut(buf)
			buf = buf[:copy(buf, buf[used:])]
			if frame == nil {
				break
			}
			if b.isStalled() {
				continue
			}
			b.proto.handle(s, frame)
		}
		if len(buf) > 2048 { // never reached by valid frames
			buf = buf[:0]
		}
	}
}

func (b *base) isStalled() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stalled
}

// session returns the current session, or nil while unplugged.
func (b *base) current() *session {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sess
}

// send writes one frame, spoiling its check if corruption was requested,
// and drops it while the device is stalled.
func (b *base) send(s *session, frame []byte) {
	b.mu.Lock()
	if b.stalled {
		b.mu.Unlock()
		return
	}
	if b.corrupt > 0 {
		b.corrupt--
		frame = append([]byte(nil), frame...)
		b.proto.spoil(frame)
	}
	b.sent++
	b.mu.Unlock()
	s.write(frame)
}

// Path returns the path a driver opens: the link when one was configured
// (it stays the same across unplug and replug), otherwise the current
// pseudo-terminal's device node, or "" while unplugged.
func (b *base) Path() string {
	if b.link != "" {
		return b.link
	}
	if s := b.current(); s != nil {
		return s.path
	}
	return ""
}

// Device returns the current pseudo-terminal's device node (/dev/pts/N),
// or "" while unplugged.
func (b *base) Device() string {
	if s := b.current(); s != nil {
		return s.path
	}
	return ""
}

// Garbage writes p to the line as it is, outside any frame, as line noise
// or a module's boot chatter would arrive.
func (b *base) Garbage(p []byte) error {
	s := b.current()
	if s == nil {
		return ErrUnplugged
	}
	if b.isStalled() {
		return nil
	}
	return s.write(p)
}

// CorruptNext makes the next n frames the device sends carry a wrong
// integrity check (the frame CRC or checksum), content otherwise intact.
func (b *base) CorruptNext(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.corrupt += n
}

// Stall makes the device stop answering, as a hung module does: it
// ignores every byte the host sends and sends nothing (streamed reads are
// dropped) until Resume.
func (b *base) Stall() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stalled = true
}

// Resume ends a Stall. Host bytes received during the stall are lost.
func (b *base) Resume() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stalled = false
}

// Sent returns the number of frames the device has sent since it was
// made (garbage excluded).
func (b *base) Sent() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sent
}

// Unplug takes the device away as a pulled USB cable does: the link is
// removed and the pseudo-terminal's master is closed, which hangs up a
// host that has the slave open (reads fail with EIO). Streaming stops.
// Unplugging an unplugged device does nothing.
func (b *base) Unplug() {
	b.mu.Lock()
	s := b.sess
	b.sess = nil
	if s != nil && b.link != "" {
		if target, err := os.Readlink(b.link); err == nil && target == s.path {
			os.Remove(b.link)
		}
	}
	b.mu.Unlock()
	if s == nil {
		return
	}
	s.wmu.Lock()
	close(s.done)
	s.wmu.Unlock()
	s.master.Close()
	s.slave.Close()
	s.wg.Wait()
	b.proto.powerOff()
}

// Replug plugs the device in again after Unplug: a new pseudo-terminal,
// the link (if any) pointing at it, the module's settings back to their
// configured values (a power cycle). The world is untouched. Replugging a
// plugged device unplugs it first.
func (b *base) Replug() error {
	b.Unplug()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	if b.sess != nil {
		return nil
	}
	return b.plugLocked()
}

// Close unplugs the device for good, stopping every goroutine it started
// and removing its pseudo-terminal and link.
func (b *base) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.Unplug()
	return nil
}
