package api_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/api"
	"github.com/udi-edge/udi-edge/agent/core"
)

// TestSlowReaderHoldsUpNoShortRequest: clients that ask for an export
// and never read it hold the turns of long requests only; a status is
// answered all the while.
func TestSlowReaderHoldsUpNoShortRequest(t *testing.T) {
	// An export far larger than a socket's buffers.
	l := ledgerWith(t, receipts(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC), "warehouse", "S%05d", 15000))
	g, err := core.New(core.Config{}, core.Deps{Store: l, Master: l})
	if err != nil {
		t.Fatal(err)
	}
	s := serveCore(t, g, api.Limits{MaxConcurrent: 1, MaxLong: 1, Wait: 100 * time.Millisecond})
	for _, addr := range []struct{ network, address string }{{"unix", s.socket}, {"tcp", s.tcp}} {
		// The export has begun (it holds its turn); then nobody reads.
		c := askAndRead(t, addr.network, addr.address, "/v1/export/epcis")
		for i := range 3 {
			if _, err := s.client.Status(context.Background()); err != nil {
				t.Fatalf("status %d while an export's client over %s does not read: %v", i, addr.network, err)
			}
		}
		// Another long request waits its turn, then is told the agent
		// is busy.
		if _, err := s.client.Verify(context.Background()); !errors.Is(err, api.ErrBusy) {
			t.Fatalf("verify while an export's client over %s does not read: %v, want busy", addr.network, err)
		}
		c.Close()
	}
}

// TestSlowTraceReaderHoldsUpNoShortRequest: a client that asks for a
// page of a trace larger than a socket's buffers and never reads it
// holds no short request's turn: its answer is made in memory and sent
// after the turn is given back, and a status is answered all the while;
// the answer itself is whole for a client that reads.
func TestSlowTraceReaderHoldsUpNoShortRequest(t *testing.T) {
	l := ledgerWith(t, receipts(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC), "warehouse", "S%05d", 12000))
	g, err := core.New(core.Config{}, core.Deps{Store: l, Master: l})
	if err != nil {
		t.Fatal(err)
	}
	s := serveCore(t, g, api.Limits{MaxConcurrent: 1, MaxLong: 1, Wait: 100 * time.Millisecond})
	const gtin = "09520123456788" // a bare GTIN lists every item of the product
	all, err := s.client.Trace(context.Background(), core.TraceQuery{Code: gtin, Limit: 10000})
	if err != nil || len(all.Movements) != 10000 {
		t.Fatalf("a reading client's page: %d movements, %v", len(all.Movements), err)
	}
	for _, addr := range []struct{ network, address string }{{"unix", s.socket}, {"tcp", s.tcp}} {
		c := askAndRead(t, addr.network, addr.address, "/v1/trace?code="+gtin+"&limit=10000")
		for i := range 3 {
			if _, err := s.client.Status(context.Background()); err != nil {
				t.Fatalf("status %d while a trace's client over %s does not read: %v", i, addr.network, err)
			}
		}
		c.Close()
	}
}

// askAndRead dials the API as a client that will not read its answer
// (over TCP its receive window kept small, as such a client keeps it),
// asks GET path, reads the status line only (200 wanted), and returns the
// connection, closed when the test ends.
func askAndRead(t *testing.T, network, address, path string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	c, err := d.Dial(network, address)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: agent\r\n\r\n", path)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 200") {
		t.Fatalf("GET %s over %s: %q %v", path, network, line, err)
	}
	return c
}
