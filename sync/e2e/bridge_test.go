package e2e_test

import (
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
	pwFile := passwordFiles(t, users)
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
	waitFor(t, startWait, "the centre to see the gateway online across the bridge", gatewayState(c, g.id, "online"))
	waitDrained(t, c, g, backlog)
	logf(t, start, "drained across the bridge")

	waitApplied(t, g, "recalls", publishMaster(t, c, "recalls", []byte(recalls)), 1)

	g.kill()
	waitFor(t, startWait, "the last will to cross the bridge", gatewayState(c, g.id, "offline"))
	logf(t, start, "offline at the centre")
	c.stop()
	verifyDelivered(t, c, g)
}
