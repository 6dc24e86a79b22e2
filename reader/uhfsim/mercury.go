package uhfsim

import (
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"time"
)

// Mercury opcodes the simulated module answers.
const (
	mopVersion        = 0x03
	mopSetBaud        = 0x06
	mopReadMultiple   = 0x22
	mopWriteTagID     = 0x23
	mopGetBuffer      = 0x29
	mopClearBuffer    = 0x2A
	mopMultiProtocol  = 0x2F
	mopGetAntenna     = 0x61
	mopGetReadPower   = 0x62
	mopGetProtocol    = 0x63
	mopGetRegion      = 0x67
	mopGetTemperature = 0x72
	mopSetAntenna     = 0x91
	mopSetReadPower   = 0x92
	mopSetProtocol    = 0x93
	mopSetRegion      = 0x97
	mopSetOptional    = 0x9A
	mopSetProtoParam  = 0x9B
)

// Mercury status words the simulated module sends.
const (
	StatusOK             uint16 = 0x0000
	StatusWrongLength    uint16 = 0x0100
	StatusInvalidOpcode  uint16 = 0x0101
	StatusPowerTooHigh   uint16 = 0x0103
	StatusOutOfRange     uint16 = 0x0105
	StatusPowerTooLow    uint16 = 0x0106
	StatusBadRegion      uint16 = 0x010B
	StatusNoTags         uint16 = 0x0400
	StatusRadioOff       uint16 = 0x0405
	StatusWriteFailed    uint16 = 0x0406
	StatusTemperature    uint16 = 0x0504
	StatusHighReturnLoss uint16 = 0x0505
	StatusBufferFull     uint16 = 0x0601
)

// mercuryVersion is the VERSION answer of the simulated module, byte for
// byte the one captured from an M6e Nano: bootloader 14.12.08.00, hardware
// 30.00.00.02 (0x30 = M6e Nano), firmware 01.03.01.47 of 2015-03-10,
// supported protocols 0x00000010 (Gen2).
var mercuryVersion = [20]byte{
	0x14, 0x12, 0x08, 0x00, 0x30, 0x00, 0x00, 0x02, 0x20, 0x15,
	0x03, 0x10, 0x01, 0x03, 0x01, 0x47, 0x00, 0x00, 0x00, 0x10,
}

// Power range of the simulated module, in centi-dBm.
const (
	MercuryMaxPower = 2700
	MercuryMinPower = 500
)

// Metadata flags of tag records that the simulated module encodes; 0x2000
// (tag type, HF/LF modules only) is refused with StatusOutOfRange.
const mercuryMetaKnown = 0x1FFF

// mercuryHot is the temperature (°C) from which the module refuses to
// radiate with StatusTemperature.
const mercuryHot = 85

// MercuryConfig configures a simulated Mercury module. The zero value is
// usable: one antenna port looking at world antenna 1, no misses, a fresh
// world, rounds as long as the cycle the host asks for.
type MercuryConfig struct {
	// Link, when set, is the path of a symbolic link to the
	// pseudo-terminal, kept across Unplug/Replug (like a
	// /dev/serial/by-id link). Its directory must exist.
	Link string
	// World is the scene the module looks at; nil means a new empty one
	// (see Mercury.World).
	World *World
	// Antennas maps the module's ports to world antennas: port i+1 sees
	// world antenna Antennas[i]. Default: one port on world antenna 1.
	// At most 16 ports.
	Antennas []int
	// Seed seeds the module's random source (math/rand/v2 PCG): misses,
	// RSSI, frequency hops and phase are reproducible for a seed.
	Seed uint64
	// Miss is the probability, 0 to 1, that a tag in the field is not
	// read in one round (or one synchronous inventory), as on metal
	// shelves.
	Miss float64
	// Round is the period of a continuous-reading round. Zero means the
	// cycle time the host's start command asks for (at least 10 ms).
	Round time.Duration
	// Region is the region code set at power-on; zero means none: the
	// radio stays off (StatusRadioOff) until the host sets a region, as on
	// the real module.
	Region byte
	// Temperature is the module's temperature at power-on in °C; zero
	// means 32.
	Temperature int8
}

// mread is one read of one tag in one round.
type mread struct {
	port  int
	tag   Tag
	rssi  int8
	freq  uint32
	phase uint16
	ms    uint32
}

// mstream is a running continuous read.
type mstream struct {
	option byte   // embedded READ_TAG_ID_MULTIPLE option
	search uint16 // embedded search flags
	meta   uint16 // metadata flags (option & 0x10)
	stats  uint16 // statistics flags, 0 for none
	period time.Duration
	ports  []int
	stop   chan struct{}
	done   chan struct{}
}

// Mercury is a simulated ThingMagic M6e Nano on a pseudo-terminal,
// speaking the Mercury serial protocol:
//
//	request   FF LEN OP DATA[LEN] CRC(2)
//	response  FF LEN OP STATUS(2) DATA[LEN] CRC(2)
//
// It answers VERSION, SET/GET_REGION, SET/GET_READ_TX_POWER,
// SET/GET_ANTENNA_PORT, SET/GET_TAG_PROTOCOL, GET_TEMPERATURE,
// READ_TAG_ID_MULTIPLE with GET_TAG_ID_BUFFER and CLEAR_TAG_ID_BUFFER,
// WRITE_TAG_ID, and the continuous-read start and stop of
// MULTI_PROTOCOL_TAG_OP; SET_BAUD_RATE, SET_READER_OPTIONAL_PARAMS and
// SET_PROTOCOL_PARAM are acknowledged without effect; any other opcode
// gets StatusInvalidOpcode (BOOT_FIRMWARE included: the module is always
// in its application firmware). VERSION reports the captured M6e Nano:
// bootloader 14.12.08.00, hardware 30.00.00.02, firmware 01.03.01.47 of
// 2015-03-10, Gen2 only. Host frames with a bad CRC are ignored. While it
// reads continuously the module answers nothing but the stop.
//
// Besides its own methods a Mercury has those of the line it sits on:
// Path, Device, Garbage, CorruptNext, Stall, Resume, Sent, Unplug, Replug
// and Close. All methods are safe for concurrent use.
type Mercury struct {
	base
	cfg   MercuryConfig
	world *World

	mu      sync.Mutex
	rng     *rand.Rand
	region  byte
	power   int16
	tx, rx  int
	list    []int
	temp    int8
	buffer  []mread
	reading *mstream
	rounds  int
}

// NewMercury plugs in a simulated Mercury module. Close it when done.
func NewMercury(cfg MercuryConfig) (*Mercury, error) {
	if len(cfg.Antennas) == 0 {
		cfg.Antennas = []int{1}
	}
	if len(cfg.Antennas) > 16 {
		cfg.Antennas = cfg.Antennas[:16]
	}
	if cfg.World == nil {
		cfg.World = NewWorld()
	}
	if cfg.Temperature == 0 {
		cfg.Temperature = 32
	}
	m := &Mercury{
		cfg:   cfg,
		world: cfg.World,
		rng:   rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9E3779B97F4A7C15)),
	}
	m.base.link = cfg.Link
	m.base.proto = m
	if err := m.start(); err != nil {
		return nil, err
	}
	return m, nil
}

// World returns the scene the module looks at.
func (m *Mercury) World() *World { return m.world }

// Reading reports whether the module is reading continuously.
func (m *Mercury) Reading() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reading != nil
}

// Rounds returns the number of continuous-reading rounds completed since
// the module was made.
func (m *Mercury) Rounds() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rounds
}

// Region returns the region code in force (0 before any is set).
func (m *Mercury) Region() byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.region
}

// ReadPower returns the read power in force, in centi-dBm.
func (m *Mercury) ReadPower() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int(m.power)
}

// SetTemperature sets the module's temperature in °C, as GET_TEMPERATURE
// and temperature statistics report it. From 85 °C on the module refuses to
// start reading with StatusTemperature.
func (m *Mercury) SetTemperature(c int8) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.temp = c
}

// InjectStatus sends a streamed status frame: opcode 0x22, the given
// status word, no data (for example StatusBufferFull or
// StatusHighReturnLoss). Continuous reading goes on.
func (m *Mercury) InjectStatus(status uint16) error {
	s := m.current()
	if s == nil {
		return ErrUnplugged
	}
	m.send(s, mercuryFrame(mopReadMultiple, status, nil))
	return nil
}

// BufferFull sends the streamed status StatusBufferFull (0x0601, tag
// buffer full); reading goes on.
func (m *Mercury) BufferFull() error { return m.InjectStatus(StatusBufferFull) }

// OverTemperature heats the module to 90 °C: a continuous read in
// progress ends with the streamed status StatusTemperature (0x0504) and no
// stop acknowledgement, and the module refuses to radiate until
// SetTemperature cools it below 85 °C.
func (m *Mercury) OverTemperature() error {
	m.mu.Lock()
	m.temp = 90
	st := m.reading
	m.reading = nil
	m.mu.Unlock()
	if st != nil {
		close(st.stop)
		<-st.done
	}
	return m.InjectStatus(StatusTemperature)
}

// powerOn implements protocol.
func (m *Mercury) powerOn() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.region = m.cfg.Region
	m.power = MercuryMaxPower
	m.tx, m.rx = 1, 1
	m.list = nil
	m.temp = m.cfg.Temperature
	m.buffer = nil
	m.reading = nil
}

// powerOff implements protocol.
func (m *Mercury) powerOff() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reading = nil
	m.buffer = nil
}

// spoil implements protocol.
func (m *Mercury) spoil(f []byte) { f[len(f)-1] ^= 0x5A }

// cut implements protocol: FF LEN OP DATA CRC, cut by LEN, proved by CRC.
func (m *Mercury) cut(buf []byte) ([]byte, int) {
	i := 0
	for {
		for i < len(buf) && buf[i] != 0xFF {
			i++
		}
		if len(buf)-i < 2 {
			return nil, i
		}
		n := int(buf[i+1]) + 5
		if len(buf)-i < n {
			return nil, i
		}
		f := buf[i : i+n]
		if binary.BigEndian.Uint16(f[n-2:]) == mercuryCRC(f[1:n-2]) {
			return append([]byte(nil), f...), i + n
		}
		i++
	}
}

// mercuryFrame builds a response frame.
func mercuryFrame(op byte, status uint16, data []byte) []byte {
	f := make([]byte, 0, len(data)+7)
	f = append(f, 0xFF, byte(len(data)), op, byte(status>>8), byte(status))
	f = append(f, data...)
	return binary.BigEndian.AppendUint16(f, mercuryCRC(f[1:]))
}

// reply sends a response to op.
func (m *Mercury) reply(s *session, op byte, status uint16, data []byte) {
	m.send(s, mercuryFrame(op, status, data))
}

// handle implements protocol.
func (m *Mercury) handle(s *session, f []byte) {
	op, data := f[2], f[3:len(f)-2]
	m.mu.Lock()
	reading := m.reading != nil
	m.mu.Unlock()
	if reading {
		// While reading continuously the module answers nothing but the
		// stop.
		if op == mopMultiProtocol && len(data) >= 3 && data[2] == 0x02 {
			m.stopReading(s)
		}
		return
	}
	switch op {
	case mopVersion:
		m.reply(s, op, StatusOK, mercuryVersion[:])
	case mopSetBaud, mopSetOptional, mopSetProtoParam:
		m.reply(s, op, StatusOK, nil)
	case mopSetRegion:
		m.setRegion(s, data)
	case mopGetRegion:
		m.mu.Lock()
		r := m.region
		m.mu.Unlock()
		m.reply(s, op, StatusOK, []byte{r})
	case mopSetReadPower:
		m.setPower(s, data)
	case mopGetReadPower:
		m.getPower(s, data)
	case mopSetAntenna:
		m.setAntenna(s, data)
	case mopGetAntenna:
		m.mu.Lock()
		tx, rx := m.tx, m.rx
		m.mu.Unlock()
		m.reply(s, op, StatusOK, []byte{byte(tx), byte(rx)})
	case mopSetProtocol:
		switch {
		case len(data) != 2:
			m.reply(s, op, StatusWrongLength, nil)
		case data[0] != 0 || data[1] != 0x05:
			m.reply(s, op, StatusOutOfRange, nil)
		default:
			m.reply(s, op, StatusOK, nil)
		}
	case mopGetProtocol:
		m.reply(s, op, StatusOK, []byte{0x00, 0x05})
	case mopGetTemperature:
		m.mu.Lock()
		t := m.temp
		m.mu.Unlock()
		m.reply(s, op, StatusOK, []byte{byte(t)})
	case mopReadMultiple:
		m.readMultiple(s, data)
	case mopGetBuffer:
		m.getBuffer(s, data)
	case mopClearBuffer:
		m.mu.Lock()
		m.buffer = nil
		m.mu.Unlock()
		m.reply(s, op, StatusOK, nil)
	case mopWriteTagID:
		m.writeTagID(s, data)
	case mopMultiProtocol:
		m.multiProtocol(s, data)
	default:
		m.reply(s, op, StatusInvalidOpcode, nil)
	}
}

// mercuryRegions are the region codes the simulated module accepts.
var mercuryRegions = map[byte]bool{
	0x01: true, 0x02: true, 0x03: true, 0x04: true, 0x05: true, 0x06: true, 0x07: true,
	0x08: true, 0x09: true, 0x0A: true, 0x0B: true, 0x0C: true, 0x0D: true, 0x0E: true, 0xFF: true,
}

func (m *Mercury) setRegion(s *session, data []byte) {
	if len(data) != 1 {
		m.reply(s, mopSetRegion, StatusWrongLength, nil)
		return
	}
	if !mercuryRegions[data[0]] {
		m.reply(s, mopSetRegion, StatusBadRegion, nil)
		return
	}
	m.mu.Lock()
	m.region = data[0]
	m.mu.Unlock()
	m.reply(s, mopSetRegion, StatusOK, nil)
}

func (m *Mercury) setPower(s *session, data []byte) {
	if len(data) != 2 {
		m.reply(s, mopSetReadPower, StatusWrongLength, nil)
		return
	}
	p := int16(binary.BigEndian.Uint16(data))
	switch {
	case p > MercuryMaxPower:
		m.reply(s, mopSetReadPower, StatusPowerTooHigh, nil)
	case p < MercuryMinPower:
		m.reply(s, mopSetReadPower, StatusPowerTooLow, nil)
	default:
		m.mu.Lock()
		m.power = p
		m.mu.Unlock()
		m.reply(s, mopSetReadPower, StatusOK, nil)
	}
}

func (m *Mercury) getPower(s *session, data []byte) {
	m.mu.Lock()
	p := uint16(m.power)
	m.mu.Unlock()
	switch {
	case len(data) == 0:
		m.reply(s, mopGetReadPower, StatusOK, []byte{byte(p >> 8), byte(p)})
	case len(data) == 1 && data[0] == 0:
		m.reply(s, mopGetReadPower, StatusOK, []byte{0, byte(p >> 8), byte(p)})
	case len(data) == 1 && data[0] == 1:
		m.reply(s, mopGetReadPower, StatusOK, []byte{1, byte(p >> 8), byte(p),
			MercuryMaxPower >> 8, MercuryMaxPower & 0xFF, MercuryMinPower >> 8, MercuryMinPower & 0xFF})
	default:
		m.reply(s, mopGetReadPower, StatusOutOfRange, nil)
	}
}

func (m *Mercury) setAntenna(s *session, data []byte) {
	ok := func(p byte) bool { return p >= 1 && int(p) <= len(m.cfg.Antennas) }
	switch {
	case len(data) == 2:
		if !ok(data[0]) || !ok(data[1]) {
			m.reply(s, mopSetAntenna, StatusOutOfRange, nil)
			return
		}
		m.mu.Lock()
		m.tx, m.rx = int(data[0]), int(data[1])
		m.mu.Unlock()
	case len(data) >= 3 && len(data)%2 == 1 && data[0] == 0x02:
		// Search list: option 02, then TX/RX pairs.
		var list []int
		for i := 1; i < len(data); i += 2 {
			if !ok(data[i]) || !ok(data[i+1]) {
				m.reply(s, mopSetAntenna, StatusOutOfRange, nil)
				return
			}
			list = append(list, int(data[i]))
		}
		m.mu.Lock()
		m.list = list
		m.mu.Unlock()
	default:
		m.reply(s, mopSetAntenna, StatusOutOfRange, nil)
		return
	}
	m.reply(s, mopSetAntenna, StatusOK, nil)
}

// portsLocked returns the ports an inventory with these search flags
// covers: the current TX port, ports 1 then 2, 2 then 1, or the search
// list (every port unless the host set one).
func (m *Mercury) portsLocked(search uint16) []int {
	n := len(m.cfg.Antennas)
	var ports []int
	switch search & 0x03 {
	case 0:
		ports = []int{m.tx}
	case 1:
		ports = []int{1, 2}
	case 2:
		ports = []int{2, 1}
	default:
		if m.list != nil {
			return append([]int(nil), m.list...)
		}
		for p := 1; p <= n; p++ {
			ports = append(ports, p)
		}
		return ports
	}
	out := ports[:0]
	for _, p := range ports {
		if p <= n {
			out = append(out, p)
		}
	}
	return out
}

// channelsLocked returns the first channel (kHz), spacing and count of the
// region in force.
func (m *Mercury) channelsLocked() (first, step uint32, n int) {
	switch m.region {
	case 0x06: // PRC, 920–925 MHz
		return 920125, 250, 20
	case 0x0A: // PRC2, 840–845 MHz
		return 840125, 250, 20
	case 0x02, 0x07, 0x08: // EU
		return 865700, 600, 4
	case 0x05: // JP
		return 916800, 1200, 4
	case 0x03, 0x09: // KR
		return 917300, 600, 6
	default: // NA, NA2, NA3, AU, NZ, IN, open
		return 902750, 500, 50
	}
}

// inventoryLocked reads every tag in the field of ports once, each missed
// with the configured probability, stamped with spread times within a
// period of ms milliseconds.
func (m *Mercury) inventoryLocked(ports []int, ms uint32) []mread {
	var reads []mread
	first, step, n := m.channelsLocked()
	for _, p := range ports {
		for _, t := range m.world.Tags(m.cfg.Antennas[p-1]) {
			if m.cfg.Miss > 0 && m.rng.Float64() < m.cfg.Miss {
				continue
			}
			reads = append(reads, mread{
				port:  p,
				tag:   t,
				rssi:  int8(-45 - m.rng.IntN(25)),
				freq:  first + step*uint32(m.rng.IntN(n)),
				phase: uint16(m.rng.IntN(181)),
			})
		}
	}
	for i := range reads {
		reads[i].ms = uint32(i+1) * ms / uint32(len(reads)+1)
	}
	return reads
}

// encodeRead appends one tag record: the metadata fields the flags select,
// in the order of their bits, then bit length, PC [XPC], EPC [brand] and
// the tag's CRC.
func encodeRead(b []byte, flags uint16, r mread) []byte {
	if flags&0x0001 != 0 {
		b = append(b, 1) // read count
	}
	if flags&0x0002 != 0 {
		b = append(b, byte(r.rssi))
	}
	if flags&0x0004 != 0 {
		p := byte(r.port & 0x0F) // port 16 wraps to 0
		b = append(b, p<<4|p)
	}
	if flags&0x0008 != 0 {
		b = append(b, byte(r.freq>>16), byte(r.freq>>8), byte(r.freq))
	}
	if flags&0x0010 != 0 {
		b = binary.BigEndian.AppendUint32(b, r.ms)
	}
	if flags&0x0020 != 0 {
		b = binary.BigEndian.AppendUint16(b, r.phase)
	}
	if flags&0x0040 != 0 {
		b = append(b, 0x05) // Gen2
	}
	if flags&0x0080 != 0 {
		b = append(b, 0, 0) // no embedded operation, no data
	}
	if flags&0x0100 != 0 {
		b = append(b, 0x0F) // GPO levels high, GPI low, as captured
	}
	if flags&0x0200 != 0 {
		b = append(b, 4) // Q
	}
	if flags&0x0400 != 0 {
		b = append(b, 0) // link frequency 250 kHz
	}
	if flags&0x0800 != 0 {
		b = append(b, 0) // target A
	}
	if flags&0x1000 != 0 {
		b = append(b, 0, 0) // brand identifier
	}
	pcEPC, crc := r.tag.backscatter()
	n := len(pcEPC) + 2
	if flags&0x1000 != 0 {
		n += 2
	}
	b = binary.BigEndian.AppendUint16(b, uint16(8*n))
	b = append(b, pcEPC...)
	if flags&0x1000 != 0 {
		b = append(b, 0, 0) // the brand bytes end the EPC field
	}
	return binary.BigEndian.AppendUint16(b, crc)
}

func (m *Mercury) radioCheckLocked() uint16 {
	switch {
	case m.region == 0:
		return StatusRadioOff
	case m.temp >= mercuryHot:
		return StatusTemperature
	}
	return StatusOK
}

// readMultiple is the synchronous READ_TAG_ID_MULTIPLE: option(1) search
// flags(2) timeout(2) [...]. One inventory fills the tag buffer; the
// answer carries the count.
func (m *Mercury) readMultiple(s *session, data []byte) {
	if len(data) < 5 {
		m.reply(s, mopReadMultiple, StatusWrongLength, nil)
		return
	}
	option := data[0]
	search := binary.BigEndian.Uint16(data[1:3])
	timeout := binary.BigEndian.Uint16(data[3:5])
	m.mu.Lock()
	if st := m.radioCheckLocked(); st != StatusOK {
		m.mu.Unlock()
		m.reply(s, mopReadMultiple, st, nil)
		return
	}
	reads := m.inventoryLocked(m.portsLocked(search), uint32(timeout))
	if len(m.buffer)+len(reads) > 1000 {
		m.mu.Unlock()
		m.reply(s, mopReadMultiple, StatusBufferFull, nil)
		return
	}
	m.buffer = append(m.buffer, reads...)
	m.mu.Unlock()
	if len(reads) == 0 {
		m.reply(s, mopReadMultiple, StatusNoTags, nil)
		return
	}
	out := []byte{option, byte(search >> 8), byte(search)}
	if search&0x0010 != 0 {
		out = binary.BigEndian.AppendUint32(out, uint32(len(reads)))
	} else {
		out = append(out, byte(len(reads)))
	}
	m.reply(s, mopReadMultiple, StatusOK, out)
}

// getBuffer is GET_TAG_ID_BUFFER: without data it answers the read and
// write indexes; with metadata flags(2) and read options(1) it answers
// flags, options, a count and as many records as fit in one frame, and
// removes them from the buffer.
func (m *Mercury) getBuffer(s *session, data []byte) {
	switch len(data) {
	case 0:
		m.mu.Lock()
		n := len(m.buffer)
		m.mu.Unlock()
		m.reply(s, mopGetBuffer, StatusOK, []byte{0, 0, byte(n >> 8), byte(n)})
		return
	case 3:
	default:
		m.reply(s, mopGetBuffer, StatusWrongLength, nil)
		return
	}
	flags := binary.BigEndian.Uint16(data)
	if flags&^mercuryMetaKnown != 0 {
		m.reply(s, mopGetBuffer, StatusOutOfRange, nil)
		return
	}
	out := []byte{data[0], data[1], data[2], 0}
	m.mu.Lock()
	k := 0
	for k < len(m.buffer) && k < 255 {
		rec := encodeRead(nil, flags, m.buffer[k])
		if len(out)+len(rec) > 255 {
			break
		}
		out = append(out, rec...)
		k++
	}
	m.buffer = m.buffer[k:]
	m.mu.Unlock()
	out[3] = byte(k)
	m.reply(s, mopGetBuffer, StatusOK, out)
}

// writeTagID is WRITE_TAG_ID: timeout(2) option 00 RFU 00 EPC. It rewrites
// the single tag in the field of the current TX port.
func (m *Mercury) writeTagID(s *session, data []byte) {
	if len(data) < 4 {
		m.reply(s, mopWriteTagID, StatusWrongLength, nil)
		return
	}
	epc := data[4:]
	if data[2] != 0 || len(epc) < 2 || len(epc)%2 != 0 || len(epc) > 62 {
		m.reply(s, mopWriteTagID, StatusOutOfRange, nil)
		return
	}
	m.mu.Lock()
	st := m.radioCheckLocked()
	ant := m.cfg.Antennas[m.tx-1]
	m.mu.Unlock()
	if st != StatusOK {
		m.reply(s, mopWriteTagID, st, nil)
		return
	}
	tags := m.world.Tags(ant)
	switch {
	case len(tags) == 0:
		st = StatusNoTags
	case len(tags) > 1:
		st = StatusWriteFailed
	case !m.world.rewrite(ant, tags[0].EPC, epc):
		st = StatusWriteFailed
	}
	m.reply(s, mopWriteTagID, st, nil)
}

// multiProtocol is MULTI_PROTOCOL_TAG_OP: timeout(2) option(1) …; option
// 01 starts continuous reading, 02 stops it.
func (m *Mercury) multiProtocol(s *session, data []byte) {
	if len(data) < 3 {
		m.reply(s, mopMultiProtocol, StatusWrongLength, nil)
		return
	}
	switch data[2] {
	case 0x02:
		m.stopReading(s)
	case 0x01:
		m.startReading(s, data)
	default:
		m.reply(s, mopMultiProtocol, StatusOutOfRange, nil)
	}
}

// startReading parses
//
//	timeout(2) 01 22 search(2) protocol(1) plen(1) 22 embedded[plen]
//	embedded: option search(2) cycle(2) [meta(2) if option&0x10] [stats(2)]
//
// and starts the stream.
func (m *Mercury) startReading(s *session, data []byte) {
	fail := func(st uint16) { m.reply(s, mopMultiProtocol, st, nil) }
	if len(data) < 8 || data[3] != mopReadMultiple {
		fail(StatusOutOfRange)
		return
	}
	outer := data[4:6]
	if data[6] != 0x05 {
		fail(StatusOutOfRange)
		return
	}
	emb := data[8:]
	if len(emb) < 6 || int(data[7]) != len(emb)-1 || emb[0] != mopReadMultiple {
		fail(StatusWrongLength)
		return
	}
	st := &mstream{
		option: emb[1],
		search: binary.BigEndian.Uint16(emb[2:4]),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	cycle := time.Duration(binary.BigEndian.Uint16(emb[4:6])) * time.Millisecond
	rest := emb[6:]
	if st.option&0x10 != 0 {
		if len(rest) < 2 {
			fail(StatusWrongLength)
			return
		}
		st.meta = binary.BigEndian.Uint16(rest)
		rest = rest[2:]
		if st.meta&^mercuryMetaKnown != 0 {
			fail(StatusOutOfRange)
			return
		}
	}
	if st.search&0x0100 != 0 {
		if len(rest) < 2 {
			fail(StatusWrongLength)
			return
		}
		st.stats = binary.BigEndian.Uint16(rest)
		rest = rest[2:]
	}
	if len(rest) != 0 {
		fail(StatusWrongLength)
		return
	}
	st.period = m.cfg.Round
	if st.period == 0 {
		st.period = max(cycle, 10*time.Millisecond)
	}
	m.mu.Lock()
	if code := m.radioCheckLocked(); code != StatusOK {
		m.mu.Unlock()
		fail(code)
		return
	}
	st.ports = m.portsLocked(st.search)
	m.mu.Unlock()
	// The acknowledgement's data begins with the option, then the
	// sub-opcode and the outer search flags.
	m.reply(s, mopMultiProtocol, StatusOK, []byte{0x01, mopReadMultiple, outer[0], outer[1]})
	m.mu.Lock()
	if !s.alive() {
		m.mu.Unlock()
		return
	}
	m.reading = st
	s.wg.Add(1)
	m.mu.Unlock()
	go m.stream(s, st)
}

// stopReading ends the stream: the round in progress is finished, then a
// keep-alive and the stop acknowledgement follow.
func (m *Mercury) stopReading(s *session) {
	m.mu.Lock()
	st := m.reading
	m.reading = nil
	m.mu.Unlock()
	if st != nil {
		close(st.stop)
		<-st.done
		m.send(s, mercuryFrame(mopReadMultiple, StatusNoTags, nil))
	}
	m.reply(s, mopMultiProtocol, StatusOK, []byte{0x02})
}

// stream runs rounds until stopped or unplugged.
func (m *Mercury) stream(s *session, st *mstream) {
	defer s.wg.Done()
	defer close(st.done)
	t := time.NewTicker(st.period)
	defer t.Stop()
	for {
		select {
		case <-st.stop:
			return
		case <-s.done:
			return
		case <-t.C:
		}
		m.mu.Lock()
		reads := m.inventoryLocked(st.ports, uint32(st.period/time.Millisecond))
		temp := m.temp
		m.mu.Unlock()
		for _, r := range reads {
			m.send(s, m.streamRecord(st, r))
		}
		if st.stats&0x0100 != 0 {
			// option 00, search flags, type 02, statistics flags (EBV),
			// then temperature: flag (EBV), length 1, value.
			d := []byte{0x00, byte(st.search >> 8), byte(st.search), 0x02, 0x82, 0x00, 0x82, 0x00, 0x01, byte(temp)}
			m.send(s, mercuryFrame(mopReadMultiple, StatusOK, d))
		}
		// The end of every search cycle: status 0x0400, no data.
		m.send(s, mercuryFrame(mopReadMultiple, StatusNoTags, nil))
		m.mu.Lock()
		m.rounds++
		m.mu.Unlock()
	}
}

// streamRecord builds one streamed tag record:
// option search(2) [meta(2)] type 01 metadata… tag.
func (m *Mercury) streamRecord(st *mstream, r mread) []byte {
	d := []byte{st.option, byte(st.search >> 8), byte(st.search)}
	meta := uint16(0)
	if st.option&0x10 != 0 {
		meta = st.meta
		d = append(d, byte(meta>>8), byte(meta))
	}
	d = append(d, 0x01)
	d = encodeRead(d, meta, r)
	return mercuryFrame(mopReadMultiple, StatusOK, d)
}
