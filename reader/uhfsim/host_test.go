package uhfsim

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"github.com/udi-edge/udi-edge/agent/testkit"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/reader"
)

// These helpers play the host: they open the simulator's slave through the
// project's serial wrapper and parse what comes back with their own
// minimal parsers and a bit-by-bit CRC, independent of the package's.

const wait = 3 * time.Second // deadline for anything the simulator must send

// vector is one captured frame from testdata/vectors.
type vector struct {
	ID, Direction, Hex, What string
}

func loadVectors(t testing.TB, name string) map[string][]byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "vectors", name))
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Frames []vector }
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	out := make(map[string][]byte)
	for _, v := range file.Frames {
		out[v.ID] = unhex(t, v.Hex)
	}
	return out
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// bitCRC is the Mercury frame CRC computed bit by bit: each message bit is
// shifted into the low end of the register, and the polynomial is xored in
// when a one falls out of the top.
func bitCRC(p []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, b := range p {
		for i := 7; i >= 0; i-- {
			top := crc & 0x8000
			crc = crc<<1 | uint16(b>>i&1)
			if top != 0 {
				crc ^= 0x1021
			}
		}
	}
	return crc
}

// bitGen2 is the Gen2 CRC-16 computed over bits of a reflected-free
// register fed from the top, by table-free long division.
func bitGen2(p []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, b := range p {
		for i := 7; i >= 0; i-- {
			in := uint16(b>>i&1) ^ crc>>15
			crc <<= 1
			if in != 0 {
				crc ^= 0x1021
			}
		}
	}
	return ^crc
}

// host is a test's end of the serial line.
type host struct {
	t    testing.TB
	port reader.Port

	mu     sync.Mutex
	buf    []byte
	err    error
	quit   chan struct{}
	done   chan struct{}
	closed bool
}

func openHost(t testing.TB, path string) *host {
	t.Helper()
	p, err := reader.Open(reader.Settings{Device: path, Baud: 115200})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	if err := p.SetReadTimeout(5 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	h := &host{t: t, port: p, quit: make(chan struct{}), done: make(chan struct{})}
	go h.loop()
	t.Cleanup(h.close)
	return h
}

func (h *host) loop() {
	defer close(h.done)
	b := make([]byte, 1024)
	for {
		select {
		case <-h.quit:
			return
		default:
		}
		n, err := h.port.Read(b)
		h.mu.Lock()
		h.buf = append(h.buf, b[:n]...)
		if err != nil {
			h.err = err
		}
		h.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (h *host) close() {
	if h.closed {
		return
	}
	h.closed = true
	close(h.quit)
	<-h.done
	h.port.Close()
}

func (h *host) write(p []byte) {
	h.t.Helper()
	if _, err := h.port.Write(p); err != nil {
		h.t.Fatalf("host write: %v", err)
	}
}

// take polls the received bytes until cut consumes a prefix (returning
// n > 0), or fails the test at the deadline.
func (h *host) take(what string, d time.Duration, cut func([]byte) int) {
	h.t.Helper()
	if !h.try(d, cut) {
		h.mu.Lock()
		defer h.mu.Unlock()
		b := h.buf
		if len(b) > 64 {
			b = b[:64]
		}
		h.t.Fatalf("no %s within %v; %d bytes pending, first % X (err %v)", what, d, len(h.buf), b, h.err)
	}
}

// try is take without failing.
func (h *host) try(d time.Duration, cut func([]byte) int) bool {
	deadline := time.Now().Add(d)
	for {
		h.mu.Lock()
		n := cut(h.buf)
		if n > 0 {
			h.buf = h.buf[:copy(h.buf, h.buf[n:])]
			h.mu.Unlock()
			return true
		}
		h.mu.Unlock()
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// readErr waits until the line reports an error, such as a hang-up.
func (h *host) readErr(d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		err := h.err
		h.mu.Unlock()
		if err != nil {
			return err
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

// pending returns a copy of the bytes not yet taken.
func (h *host) pending() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return bytes.Clone(h.buf)
}

// mframe is a Mercury response as the test parses it.
type mframe struct {
	raw     []byte
	op      byte
	status  uint16
	data    []byte
	crcOK   bool
	skipped int
}

// cutMercury cuts a response frame FF LEN OP STATUS(2) DATA CRC(2) by its
// length, skipping bytes before the FF, and reports whether its CRC holds.
func cutMercury(b []byte, f *mframe) int {
	i := bytes.IndexByte(b, 0xFF)
	if i < 0 || len(b)-i < 2 {
		return 0
	}
	n := int(b[i+1]) + 7
	if len(b)-i < n {
		return 0
	}
	r := b[i : i+n]
	*f = mframe{
		raw: bytes.Clone(r), op: r[2], status: uint16(r[3])<<8 | uint16(r[4]),
		data: bytes.Clone(r[5 : n-2]), skipped: i,
		crcOK: uint16(r[n-2])<<8|uint16(r[n-1]) == bitCRC(r[1:n-2]),
	}
	return i + n
}

// until takes Mercury frames until keep returns true, and returns that
// frame.
func (h *host) until(what string, keep func(mframe) bool) mframe {
	h.t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		var f mframe
		if !h.try(time.Until(deadline), func(b []byte) int { return cutMercury(b, &f) }) {
			break
		}
		if keep(f) {
			return f
		}
	}
	h.t.Fatalf("no %s within %v", what, wait)
	return mframe{}
}

// request builds a host frame FF LEN OP DATA CRC with the test's CRC.
func request(op byte, data ...byte) []byte {
	f := append([]byte{0xFF, byte(len(data)), op}, data...)
	c := bitCRC(f[1:])
	return append(f, byte(c>>8), byte(c))
}

// exchange sends a request and returns the response with the same opcode.
func (h *host) exchange(req []byte) mframe {
	h.t.Helper()
	h.write(req)
	return h.until("response", func(f mframe) bool { return f.op == req[2] })
}

// bbframe is a 0xBB module frame as the test parses it.
type bbframe struct {
	raw        []byte
	typ, cmd   byte
	params     []byte
	sumOK      bool
	tailOK     bool
	skipped    int
	head, tail byte
}

// cutBB cuts a frame head TYPE CMD PL(2) PARAMS SUM tail by its length.
func cutBB(head, tail byte) func(b []byte, f *bbframe) int {
	return func(b []byte, f *bbframe) int {
		i := bytes.IndexByte(b, head)
		if i < 0 || len(b)-i < 5 {
			return 0
		}
		pl := int(b[i+3])<<8 | int(b[i+4])
		n := pl + 7
		if len(b)-i < n {
			return 0
		}
		r := b[i : i+n]
		var sum byte
		for _, c := range r[1 : n-2] {
			sum += c
		}
		*f = bbframe{
			raw: bytes.Clone(r), typ: r[1], cmd: r[2], params: bytes.Clone(r[5 : n-2]),
			sumOK: r[n-2] == sum, tailOK: r[n-1] == tail, skipped: i, head: head, tail: tail,
		}
		return i + n
	}
}

func (h *host) bb(head, tail byte) bbframe {
	h.t.Helper()
	var f bbframe
	cut := cutBB(head, tail)
	h.take("BB frame", wait, func(b []byte) int { return cut(b, &f) })
	return f
}

// bbUntil takes 0xBB frames until keep returns true.
func (h *host) bbUntil(what string, keep func(bbframe) bool) bbframe {
	h.t.Helper()
	cut := cutBB(0xBB, 0x7E)
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		var f bbframe
		if !h.try(time.Until(deadline), func(b []byte) int { return cut(b, &f) }) {
			break
		}
		if keep(f) {
			return f
		}
	}
	h.t.Fatalf("no %s within %v", what, wait)
	return bbframe{}
}

// eventually polls cond until it holds or fails the test at the deadline.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testkit.Eventually(t, wait, what, cond)
}
