package e2e_test

// Several udi-central instances: on one PostgreSQL database with the
// shared subscription, and refused on bbolt files of their own.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/sync/central/pgstore"
	"github.com/udi-edge/udi-edge/sync/internal/mosquitto"
	"github.com/udi-edge/udi-edge/sync/internal/postgres"
	"github.com/udi-edge/udi-edge/sync/sign"
)

// startInstance starts udi-central instance n of site with --shared on
// store (a database URL), with a client id of its own.
func startInstance(t testing.TB, n int, site, broker, store string, args ...string) *centre {
	t.Helper()
	c := &centre{
		proc: newProc(t, fmt.Sprintf("udi-central-%d", n)), site: site, broker: broker, store: store,
		clientID: fmt.Sprintf("udi-central-e2e-%s-%d", site, n),
		http:     &http.Client{Timeout: 5 * time.Second},
		args:     append([]string{"--shared"}, args...),
	}
	c.start()
	return c
}

// TestThreeCentresOnePostgres: three udi-central instances share one
// PostgreSQL database and the broker deals the batches of three gateways
// draining backlogs among them (a shared subscription); one instance is
// killed (SIGKILL) in the middle. Every movement of every gateway ends up
// in the database exactly once, in order, byte for byte, its chain
// intact, and every gateway's cursor reaches its last movement.
func TestThreeCentresOnePostgres(t *testing.T) {
	start := time.Now()
	const site, backlog = "site-group", 12000
	db := postgres.Start(t)
	url := db.NewDatabase(t)
	broker := mosquitto.Start(t, mosquitto.Config{})
	// Deployed as a hospital group is: one centre key for every instance,
	// pinned by every gateway, and every gateway enrolled with its key.
	keys := t.TempDir()
	centreKey, err := sign.Create(filepath.Join(keys, "centre.key"))
	if err != nil {
		t.Fatal(err)
	}
	var gws []*gateway
	var enrolment strings.Builder
	for i := range 3 {
		g := newGateway(t, site, fmt.Sprintf("gw-%d", i), broker.Addr(), nil, gatewayConfig{
			BatchBytes: slowDrain.BatchBytes, Window: slowDrain.Window,
			Sync: map[string]any{"centre_key": sign.FormatPublic(sign.Public(centreKey))},
		})
		fillLedger(t, g, backlog, nil)
		gk, err := sign.Create(sign.KeyPath(g.store))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&enrolment, sign.Line(site, g.id, sign.Public(gk)))
		gws = append(gws, g)
	}
	logf(t, start, "ledgers filled with %d movements each", backlog)
	enrolled := filepath.Join(keys, "gateways.txt")
	if err := os.WriteFile(enrolled, []byte(enrolment.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var cs []*centre
	for n := range 3 {
		cs = append(cs, startInstance(t, n, site, broker.Addr(), url, "--signing-key", filepath.Join(keys, "centre.key"), "--enrolment", enrolled))
	}
	for _, c := range cs {
		c.waitConnected()
	}
	logf(t, start, "three centres connected")
	for _, g := range gws {
		g.start()
	}
	acked, last := gws[0].waitMidDrain(backlog / 5)
	cs[1].kill()
	logf(t, start, "centre 1 killed at %s acked %d of %d", gws[0].id, acked, last)
	for _, g := range gws {
		waitDrained(t, cs[0], g, backlog)
	}
	logf(t, start, "drained")
	for _, g := range gws {
		if out := g.output(); strings.Contains(out, "ack refused") || strings.Contains(out, "not set: acks and master data") {
			t.Errorf("%s refused an ack, or runs without the centre's key pinned:\n%s", g.id, tail(out, 2000))
		}
	}
	// Counters are the shared store's totals; what each instance received
	// itself shows in its last-seen times.
	heard := 0
	for _, c := range []*centre{cs[0], cs[2]} {
		gs, err := c.gateways()
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range gws {
			if gs[g.id].Counters.Stored != backlog {
				t.Errorf("%s lists %d movements held of %s, want %d", c.clientID, gs[g.id].Counters.Stored, g.id, backlog)
			}
			if !gs[g.id].LastSeen.IsZero() {
				heard++
			}
		}
	}
	if heard == 0 {
		t.Fatal("the surviving centres received nothing: the broker did not share the stream")
	}
	t.Logf("the surviving centres received batches of %d gateways (each counted once per centre)", heard)
	for _, g := range gws {
		g.stop()
	}
	for _, c := range []*centre{cs[0], cs[2]} {
		c.stop()
	}
	st, err := pgstore.OpenReadOnly(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	verifyStored(t, st, gws...)
	if err := st.Verify(context.Background()); err != nil {
		t.Fatal(err)
	}
	logf(t, start, "verified")
}

// TestSharedRefusedOnFiles: two instances with --shared and bbolt files
// of their own would each hold part of every gateway's stream; both are
// refused at start, saying why.
func TestSharedRefusedOnFiles(t *testing.T) {
	broker := mosquitto.Start(t, mosquitto.Config{})
	for n := range 2 {
		p := newProc(t, fmt.Sprintf("udi-central-%d", n))
		p.run(bins.central, "run", "--site", "site-files", "--shared", "--store", filepath.Join(t.TempDir(), "central.db"),
			"--http", "127.0.0.1:0", "--broker", broker.Addr(), "--client-id", fmt.Sprintf("udi-central-files-%d", n))
		waitFor(t, startWait, p.name+" to exit", func() error {
			if p.running() {
				return errNotYet
			}
			return nil
		})
		if code := p.proc.State().ExitCode(); code != 2 || !strings.Contains(p.output(), "PostgreSQL") {
			t.Fatalf("%s: exit %d, want 2 saying to share a PostgreSQL database:\n%s", p.name, code, p.output())
		}
	}
}
