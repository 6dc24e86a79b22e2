package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"

	"github.com/udi-edge/udi-edge/agent"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/cmd/internal/show"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/central/boltstore"
	"github.com/udi-edge/udi-edge/sync/sign"
)

// demoBroker is the demo's embedded MQTT broker (mochi-mqtt) on a
// loopback port: it stands for the hospital's broker, and the demo stops
// and starts it to play a network outage.
type demoBroker struct {
	addr string
	srv  *mqtt.Server
}

// freeLoopback returns a loopback address with a port free now.
func freeLoopback() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// start serves the broker on its address.
func (b *demoBroker) start() error {
	srv := mqtt.New(&mqtt.Options{InlineClient: false, Logger: slog.New(slog.DiscardHandler)})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return err
	}
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{ID: "demo", Address: b.addr})); err != nil {
		return fmt.Errorf("embedded broker on %s: %w", b.addr, err)
	}
	if err := srv.Serve(); err != nil {
		return err
	}
	b.srv = srv
	return nil
}

// stop closes the broker and every connection to it.
func (b *demoBroker) stop() {
	if b.srv != nil {
		_ = b.srv.Close()
		b.srv = nil
	}
}

// demoCentre is udi-central in process: its store in the demo's
// directory, its MQTT client on the embedded broker.
type demoCentre struct {
	store *boltstore.Store
	conn  *central.MQTT
	svc   *central.Service
}

func startDemoCentre(ctx context.Context, dir, broker, site string, enrolment *sign.Enrolment, key ed25519.PrivateKey, log *slog.Logger) (*demoCentre, error) {
	st, err := boltstore.Open(filepath.Join(dir, "central.db"))
	if err != nil {
		return nil, err
	}
	c := &demoCentre{store: st}
	c.conn, err = central.NewMQTT(central.MQTTConfig{Brokers: []string{"tcp://" + broker}, ClientID: "udi-central-demo",
		MaxReconnect: 500 * time.Millisecond, Logger: log})
	if err == nil {
		c.svc, err = central.NewService(central.Config{Sites: []string{site}, Store: st, Conn: c.conn, Logger: log,
			Enrolment: enrolment, Key: key})
	}
	if err == nil {
		err = c.svc.Start(ctx)
	}
	if err == nil {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = c.conn.Connect(cctx)
		cancel()
	}
	if err != nil {
		c.close()
		return nil, fmt.Errorf("central service: %w", err)
	}
	return c, nil
}

func (c *demoCentre) close() {
	if c.conn != nil {
		c.conn.Close()
	}
	if c.svc != nil {
		_ = c.svc.Close()
	}
	_ = c.store.Close()
}

// waitSynced waits until the centre holds, and has acknowledged, every
// movement of the gateway's ledger.
func waitSynced(ctx context.Context, lab *demoLab, c *demoCentre) error {
	l := lab.agent.Ledger()
	created := l.Created().UnixNano()
	deadline := time.Now().Add(30 * time.Second)
	for {
		last := l.LastSeq()
		h, err := c.store.Head(ctx, l.Gateway(), created)
		if err != nil {
			return err
		}
		st, err := lab.status(ctx)
		if err != nil {
			return err
		}
		if h.Seq == last && st.Sync.Acked == last {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the centre holds %d of %d movements after 30s", h.Seq, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// demoCentreTrace prints the centre's trace of an item beside the
// gateway's and checks that they are the same movements, hash for hash.
func demoCentreTrace(ctx context.Context, out io.Writer, lab *demoLab, c *demoCentre, key string) error {
	res, err := lab.api.Trace(ctx, core.TraceQuery{Key: key})
	if err != nil {
		return err
	}
	local := res.Movements
	remote, err := central.Trace(ctx, c.store, key)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n$ udi-central trace '%s'\n", key)
	ms := make([]agent.Movement, len(remote))
	for i, t := range remote {
		ms[i] = t.Movement
	}
	show.Trace(out, key, ms)
	if len(ms) != len(local) {
		return fmt.Errorf("the centre's trace has %d movements, the gateway's %d", len(ms), len(local))
	}
	for i := range ms {
		if ms[i].Gateway != local[i].Gateway || ms[i].Seq != local[i].Seq || !bytes.Equal(ms[i].Hash, local[i].Hash) {
			return fmt.Errorf("movement %d differs between the centre and the gateway", local[i].Seq)
		}
	}
	fmt.Fprintf(out, "the centre's trace matches the gateway's: %d movements, same sequence numbers and hashes\n", len(ms))
	return nil
}

// errNoSync is returned when the demo's agent runs without its uplink.
var errNoSync = errors.New("demo: the agent has no uplink")
