package uhfsim

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"time"
)

// Framing selects the head and tail bytes of a BB7E module's frames.
type Framing int

const (
	// FramingBB7E frames with head 0xBB and tail 0x7E (the default).
	FramingBB7E Framing = iota
	// FramingAADD frames with head 0xAA and tail 0xDD, same layout and
	// checksum, as some boards do.
	FramingAADD
)

func (f Framing) bytes() (head, tail byte) {
	if f == FramingAADD {
		return 0xAA, 0xDD
	}
	return 0xBB, 0x7E
}

// Commands and frame types of the 0xBB protocol.
const (
	bbTypeCommand      = 0x00
	bbTypeResponse     = 0x01
	bbTypeNotification = 0x02

	bbInfo       = 0x03
	bbSetRegion  = 0x07
	bbGetRegion  = 0x08
	bbSinglePoll = 0x22
	bbMultiPoll  = 0x27
	bbStopPoll   = 0x28
	bbSetPower   = 0xB6
	bbGetPower   = 0xB7
	bbError      = 0xFF
)

// Error codes the simulated BB7E module sends in error frames (CMD 0xFF).
const (
	BBErrNoTag   byte = 0x15 // inventory failed: no tag answered
	BBErrCommand byte = 0x17 // command not understood or parameter refused
)

// BB7EMaxPower is the simulated module's highest power in centi-dBm: it
// reports itself as a 26 dBm part.
const BB7EMaxPower = 2600

// BB7EConfig configures a simulated 0xBB … 0x7E module. The zero value is
// usable: world antenna 1, no misses, 100 ms multi-poll rounds, BB/7E
// framing, notifications with CMD 0x22.
type BB7EConfig struct {
	// Link, when set, is the path of a symbolic link to the
	// pseudo-terminal, kept across Unplug/Replug.
	Link string
	// World is the scene the module looks at; nil means a new empty one.
	World *World
	// Antenna is the world antenna of the module's single port; zero
	// means 1.
	Antenna int
	// Seed seeds the module's random source (math/rand/v2 PCG).
	Seed uint64
	// Miss is the probability, 0 to 1, that a tag in the field is not
	// read in one poll round.
	Miss float64
	// Round is the period of a multi-poll round; zero means 100 ms.
	Round time.Duration
	// Framing selects BB/7E (default) or AA/DD heads and tails, both
	// ways.
	Framing Framing
	// NotifyCmd is the CMD byte of multi-poll notifications: 0x22 as the
	// captures show (default) or 0x27 as the manual's text says. Single
	// polls always notify with 0x22.
	NotifyCmd byte
	// Hardware, Software and Manufacturer are the info strings (defaults
	// "M100 26dBm V1.0", "V2.3.5", "MagicRF").
	Hardware, Software, Manufacturer string
	// Region is the region code at power-on; zero means 01 (China
	// 920–925 MHz).
	Region byte
}

// BB7E is a simulated Magic RF M100 / R200 module on a pseudo-terminal,
// speaking the protocol framed
//
//	BB TYPE CMD PL(2) PARAMS[PL] CHECKSUM 7E
//
// It answers module info (0x03), set and get region (0x07, 0x08), set and
// get power (0xB6, 0xB7), single poll (0x22), multi-poll (0x27) and stop
// (0x28); any other command gets the error frame with code BBErrCommand.
// Host frames with a bad checksum or tail are ignored. Commands are
// answered during a multi-poll too.
//
// Besides its own methods a BB7E has those of the line it sits on: Path,
// Device, Garbage, CorruptNext, Stall, Resume, Sent, Unplug, Replug and
// Close. All methods are safe for concurrent use.
type BB7E struct {
	base
	cfg   BB7EConfig
	world *World
	head  byte
	tail  byte

	mu      sync.Mutex
	rng     *rand.Rand
	region  byte
	power   uint16
	polling *bbpoll
	rounds  int
}

// bbpoll is a running multi-poll.
type bbpoll struct {
	count int
	stop  chan struct{}
	done  chan struct{}
}

// NewBB7E plugs in a simulated BB7E module. Close it when done.
func NewBB7E(cfg BB7EConfig) (*BB7E, error) {
	if cfg.World == nil {
		cfg.World = NewWorld()
	}
	if cfg.Antenna == 0 {
		cfg.Antenna = 1
	}
	if cfg.Round == 0 {
		cfg.Round = 100 * time.Millisecond
	}
	if cfg.NotifyCmd == 0 {
		cfg.NotifyCmd = bbSinglePoll
	}
	if cfg.Hardware == "" {
		cfg.Hardware = "M100 26dBm V1.0"
	}
	if cfg.Software == "" {
		cfg.Software = "V2.3.5"
	}
	if cfg.Manufacturer == "" {
		cfg.Manufacturer = "MagicRF"
	}
	if cfg.Region == 0 {
		cfg.Region = 0x01
	}
	d := &BB7E{
		cfg:   cfg,
		world: cfg.World,
		rng:   rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0xD1B54A32D192ED03)),
	}
	d.head, d.tail = cfg.Framing.bytes()
	d.base.link = cfg.Link
	d.base.proto = d
	if err := d.start(); err != nil {
		return nil, err
	}
	return d, nil
}

// World returns the scene the module looks at.
func (d *BB7E) World() *World { return d.world }

// Polling reports whether a multi-poll is running.
func (d *BB7E) Polling() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.polling != nil
}

// Rounds returns the number of multi-poll rounds completed since the
// module was made.
func (d *BB7E) Rounds() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.rounds
}

// Region returns the region code in force.
func (d *BB7E) Region() byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.region
}

// Power returns the power in force, in centi-dBm.
func (d *BB7E) Power() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return int(d.power)
}

// powerOn implements protocol.
func (d *BB7E) powerOn() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.region = d.cfg.Region
	d.power = BB7EMaxPower
	d.polling = nil
}

// powerOff implements protocol.
func (d *BB7E) powerOff() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.polling = nil
}

// spoil implements protocol.
func (d *BB7E) spoil(f []byte) { f[len(f)-2] ^= 0x5A }

// frame builds a module frame.
func (d *BB7E) frame(typ, cmd byte, params []byte) []byte {
	f := make([]byte, 0, len(params)+7)
	f = append(f, d.head, typ, cmd, byte(len(params)>>8), byte(len(params)))
	f = append(f, params...)
	return append(f, bb7eSum(f[1:]), d.tail)
}

func (d *BB7E) respond(s *session, cmd byte, params ...byte) {
	d.send(s, d.frame(bbTypeResponse, cmd, params))
}

func (d *BB7E) fail(s *session, code byte) {
	d.send(s, d.frame(bbTypeResponse, bbError, []byte{code}))
}

// cut implements protocol: cut by PL, proved by tail and checksum.
func (d *BB7E) cut(buf []byte) ([]byte, int) {
	const maxParams = 600
	i := 0
	for {
		for i < len(buf) && buf[i] != d.head {
			i++
		}
		if len(buf)-i < 5 {
			return nil, i
		}
		pl := int(binary.BigEndian.Uint16(buf[i+3:]))
		if buf[i+1] > bbTypeNotification || pl > maxParams {
			i++
			continue
		}
		n := pl + 7
		if len(buf)-i < n {
			return nil, i
		}
		f := buf[i : i+n]
		if f[n-1] == d.tail && f[n-2] == bb7eSum(f[1:n-2]) {
			return append([]byte(nil), f...), i + n
		}
		i++
	}
}

// handle implements protocol.
func (d *BB7E) handle(s *session, f []byte) {
	if f[1] != bbTypeCommand {
		return
	}
	cmd, p := f[2], f[5:len(f)-2]
	switch cmd {
	case bbInfo:
		if len(p) != 1 || p[0] > 2 {
			d.fail(s, BBErrCommand)
			return
		}
		text := []string{d.cfg.Hardware, d.cfg.Software, d.cfg.Manufacturer}[p[0]]
		d.respond(s, bbInfo, append([]byte{p[0]}, text...)...)
	case bbSetRegion:
		if len(p) != 1 || !bbRegions[p[0]] {
			d.fail(s, BBErrCommand)
			return
		}
		d.mu.Lock()
		d.region = p[0]
		d.mu.Unlock()
		d.respond(s, bbSetRegion, 0x00)
	case bbGetRegion:
		d.respond(s, bbGetRegion, d.Region())
	case bbSetPower:
		if len(p) != 2 {
			d.fail(s, BBErrCommand)
			return
		}
		pw := binary.BigEndian.Uint16(p)
		if pw > BB7EMaxPower {
			d.fail(s, BBErrCommand)
			return
		}
		d.mu.Lock()
		d.power = pw
		d.mu.Unlock()
		d.respond(s, bbSetPower, 0x00)
	case bbGetPower:
		pw := uint16(d.Power())
		d.respond(s, bbGetPower, byte(pw>>8), byte(pw))
	case bbSinglePoll:
		d.round(s, bbSinglePoll)
	case bbMultiPoll:
		if len(p) != 3 {
			d.fail(s, BBErrCommand)
			return
		}
		d.startPoll(s, int(binary.BigEndian.Uint16(p[1:])))
	case bbStopPoll:
		d.stopPoll()
		d.respond(s, bbStopPoll, 0x00)
	default:
		d.fail(s, BBErrCommand)
	}
}

// bbRegions are the region codes the module accepts: China 900 and 800
// MHz, US, EU, Korea.
var bbRegions = map[byte]bool{0x01: true, 0x02: true, 0x03: true, 0x04: true, 0x06: true}

// round runs one inventory round: a notification per tag read, or the
// error frame BBErrNoTag when none was read.
func (d *BB7E) round(s *session, cmd byte) {
	d.mu.Lock()
	var reads [][]byte
	for _, t := range d.world.Tags(d.cfg.Antenna) {
		if d.cfg.Miss > 0 && d.rng.Float64() < d.cfg.Miss {
			continue
		}
		pcEPC, crc := t.backscatter()
		p := make([]byte, 0, len(pcEPC)+3)
		p = append(p, byte(int8(-45-d.rng.IntN(25))))
		p = append(p, pcEPC...)
		p = binary.BigEndian.AppendUint16(p, crc)
		reads = append(reads, p)
	}
	d.mu.Unlock()
	if len(reads) == 0 {
		d.fail(s, BBErrNoTag)
		return
	}
	for _, p := range reads {
		d.send(s, d.frame(bbTypeNotification, cmd, p))
	}
}

func (d *BB7E) startPoll(s *session, count int) {
	d.stopPoll()
	if count == 0 {
		return
	}
	pl := &bbpoll{count: count, stop: make(chan struct{}), done: make(chan struct{})}
	d.mu.Lock()
	d.polling = pl
	s.wg.Add(1)
	d.mu.Unlock()
	go d.poll(s, pl)
}

func (d *BB7E) stopPoll() {
	d.mu.Lock()
	pl := d.polling
	d.polling = nil
	d.mu.Unlock()
	if pl != nil {
		close(pl.stop)
		<-pl.done
	}
}

// poll runs multi-poll rounds until the count is done, a stop, or unplug.
func (d *BB7E) poll(s *session, pl *bbpoll) {
	defer s.wg.Done()
	defer close(pl.done)
	t := time.NewTicker(d.cfg.Round)
	defer t.Stop()
	for i := 0; i < pl.count; i++ {
		select {
		case <-pl.stop:
			return
		case <-s.done:
			return
		case <-t.C:
		}
		d.round(s, d.cfg.NotifyCmd)
		d.mu.Lock()
		d.rounds++
		d.mu.Unlock()
	}
	d.mu.Lock()
	if d.polling == pl {
		d.polling = nil
	}
	d.mu.Unlock()
}
