package e2e_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/sync/internal/mosquitto"
)

// TestMosquittoBridge runs a hospital's broker bridged to its group's,
// both from the shipped configuration, the bridge from the shipped
// deploy/mosquitto/bridge.conf (site st-marys) and the group's ACL
// block of it from bridge-acl: the gateway connects to the hospital's
// broker, the centre to the group's. The centre sees the gateway online,
// the gateway's backlog arrives whole, acks and master data come back
// across the bridge, and the gateway's last will tells the centre it is
// offline.
func TestMosquittoBridge(t *testing.T) {
	start := time.Now()
	const site, backlog = "st-marys", 5000
	certs := mosquitto.NewCerts(t)
	users := map[string]string{"udi-central": "pw-central", "bridge-st-marys": "pw-bridge", "gw-h": "pw-gw-h"}
	group := mosquitto.StartDeployed(t, mosquitto.Deployed{Certs: certs, MoreACL: mosquitto.BridgeACL(t),
		Users: map[string]string{"udi-central": users["udi-central"], "bridge-st-marys": users["bridge-st-marys"]}})
	hospital := mosquitto.StartDeployed(t, mosquitto.Deployed{Certs: certs,
		Users: map[string]string{"gw-h": users["gw-h"]},
		Extra: mosquitto.Bridge(t, group, certs.CAFile, users["bridge-st-marys"])})
	dir := t.TempDir()
	pwFile := func(user string) string {
		p := filepath.Join(dir, user+".pw")
		if err := os.WriteFile(p, []byte(users[user]+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	waitFor(t, startWait, "the bridge to connect", func() error {
		if !strings.Contains(group.Log(), "as bridge-st-marys (") {
			return errNotYet
		}
		return nil
	})
	c := startCentre(t, site, group.Addr(), "--username", "udi-central", "--password-file", pwFile("udi-central"), "--ca", certs.CAFile)
	c.waitConnected()
	g := newGateway(t, site, "gw-h", hospital.Addr(), nil, gatewayConfig{BatchBytes: slowDrain.BatchBytes, Window: slowDrain.Window,
		Sync: map[string]any{"password_file": pwFile("gw-h"), "ca_file": certs.CAFile}})
	fillLedger(t, g, backlog, nil)
	g.start()
	state := func(want string) func() error {
		return func() error {
			gws, err := c.gateways()
			if err != nil {
				return err
			}
			if got := gws[g.id].State; got != want {
				return fmt.Errorf("state %q", got)
			}
			return nil
		}
	}
	waitFor(t, startWait, "the centre to see the gateway online across the bridge", state("online"))
	waitDrained(t, c, g, backlog)
	logf(t, start, "drained across the bridge")

	resp, err := c.http.Post(c.api+"/v1/master?site="+site+"&set=recalls&format=csv", "text/csv",
		strings.NewReader("gtin,lots,reason,date\n06901234200010,B1;B2,sterile barrier,2026-11-01\n"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /v1/master: %s: %s", resp.Status, body)
	}
	waitFor(t, startWait, "the gateway to apply recalls version 1 from across the bridge", func() error {
		if !strings.Contains(g.output(), `msg="uplink: master data applied" component=sync set=recalls version=1`) {
			return errNotYet
		}
		return nil
	})

	g.kill()
	waitFor(t, startWait, "the last will to cross the bridge", state("offline"))
	logf(t, start, "offline at the centre")
	c.stop()
	verifyDelivered(t, c, g)
}
