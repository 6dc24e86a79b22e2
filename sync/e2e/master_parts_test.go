package e2e_test

// Master data from the centre to real gateway processes, through a real
// Mosquitto with the shipped packet limit: sets of hospital size in
// parts, parts lost, damaged or superseded, versions across re-created
// centre stores, forged versions.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/master"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/internal/mastertest"
	"github.com/udi-edge/udi-edge/sync/internal/mosquitto"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// applyWait bounds the wait for a large set to be published and applied:
// beyond the two renewals of a gateway's master subscription after it
// connects (one status interval, 30 s, apart), which bring retained parts
// a broker's node missed (a NATS cluster after a node's loss).
const applyWait = 100 * time.Second

// shippedBroker starts Mosquitto with the packet limit of
// deploy/mosquitto/mosquitto.conf.
func shippedBroker(t testing.TB) *mosquitto.Broker {
	return mosquitto.Start(t, mosquitto.Config{Extra: "max_packet_size 1050000"})
}

// publishMaster posts data as set through the centre's HTTP API and
// returns the version it was published as.
func publishMaster(t testing.TB, c *centre, set string, data []byte) uint64 {
	t.Helper()
	cl := &http.Client{Timeout: applyWait}
	resp, err := cl.Post(c.api+"/v1/master?site="+c.site+"&set="+set+"&format=csv", "text/csv", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var mr central.MasterResponse
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(body, &mr) != nil || mr.Version == 0 {
		t.Fatalf("POST /v1/master %s: %s: %s", set, resp.Status, body)
	}
	return mr.Version
}

// applied reports whether the log out says version of set was applied.
func applied(out, set string, version uint64) bool {
	return regexp.MustCompile(fmt.Sprintf(`(?m)msg="uplink: master data applied" component=sync set=%s version=%d( |$)`, set, version)).MatchString(out)
}

// waitApplied waits until the running gateway applied version of set
// with rows entries, as its log and its status say.
func waitApplied(t testing.TB, g *gateway, set string, version uint64, rows int) {
	t.Helper()
	waitFor(t, applyWait, fmt.Sprintf("%s to apply %s version %d", g.name, set, version), func() error {
		if !applied(g.output(), set, version) {
			return errNotYet
		}
		st, err := g.status()
		if err != nil {
			return err
		}
		if want := fmt.Sprintf("central %s v%d", set, version); st.Master.Version != want {
			return fmt.Errorf("master data version %q, want %q", st.Master.Version, want)
		}
		if n := setCount(st.Master.Counts, set); n != rows {
			return failNowf("%s holds %d %s entries, want %d", g.name, n, set, rows)
		}
		return nil
	})
}

// setCount returns the size of set in c.
func setCount(c master.Counts, set string) int {
	return map[string]int{wire.SetCatalogue: c.Catalogue, wire.SetRecalls: c.Recalls, wire.SetLots: c.LotStatuses}[set]
}

// TestMasterLargeCatalogues: a 40,000-row (3.4 MB) and then a 100,000-row
// (8.5 MB) catalogue, published by udi-central through a broker that
// accepts packets of at most 1,050,000 bytes, are applied by a running
// gateway, and a gateway that joins later gets the latest whole. The
// broker never cuts the centre off (a 3.4 MB message used to, at every
// reconnect, until the centre was restarted).
func TestMasterLargeCatalogues(t *testing.T) {
	start := time.Now()
	const site = "site-master-large"
	broker := shippedBroker(t)
	c := startCentre(t, site, broker.Addr())
	c.waitConnected()
	g := newGateway(t, site, "gw-ml1", broker.Addr(), nil, gatewayConfig{})
	g.start()

	v1 := publishMaster(t, c, wire.SetCatalogue, mastertest.Catalogue(40_000, "a"))
	logf(t, start, "40,000 rows published as version %d", v1)
	waitApplied(t, g, wire.SetCatalogue, v1, 40_000)
	logf(t, start, "applied")
	v2 := publishMaster(t, c, wire.SetCatalogue, mastertest.Catalogue(100_000, "b"))
	if v2 <= v1 {
		t.Fatalf("version %d after %d", v2, v1)
	}
	logf(t, start, "100,000 rows published as version %d", v2)
	waitApplied(t, g, wire.SetCatalogue, v2, 100_000)
	logf(t, start, "applied")

	late := newGateway(t, site, "gw-ml2", broker.Addr(), nil, gatewayConfig{})
	late.start()
	waitApplied(t, late, wire.SetCatalogue, v2, 100_000)
	logf(t, start, "a gateway joining later applied version %d", v2)
	if applied(late.output(), wire.SetCatalogue, v1) {
		t.Fatal("the late gateway applied the earlier version")
	}
	if strings.Contains(broker.Log(), "oversize") || strings.Contains(c.output(), "mqtt connection ended") {
		t.Fatal("the broker cut the centre off")
	}
	g.stop()
	late.stop()
	c.stop()
}

// forger publishes to the broker as anything may that can write the
// master data topics: parts it makes itself, in any order.
type forger struct {
	t    testing.TB
	cl   mqtt.Client
	site string
}

func newForger(t testing.TB, broker *mosquitto.Broker, site string) *forger {
	t.Helper()
	cl := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.Addr()).SetClientID("e2e-forger-" + site).SetAutoReconnect(false))
	if tok := cl.Connect(); !tok.WaitTimeout(startWait) || tok.Error() != nil {
		t.Fatalf("forger connect: %v", tok.Error())
	}
	t.Cleanup(func() { cl.Disconnect(0) })
	return &forger{t: t, cl: cl, site: site}
}

// parts returns the parts of data as version of set in chunks of chunk
// bytes.
func (f *forger) parts(set string, version uint64, data []byte, chunk int) []wire.MasterPart {
	f.t.Helper()
	ps, err := wire.SplitMaster(set, version, wire.FormatCSV, data, chunk)
	if err != nil {
		f.t.Fatal(err)
	}
	return ps
}

// send publishes each part retained on its topic, in the order given.
func (f *forger) send(ps ...wire.MasterPart) {
	f.t.Helper()
	for i := range ps {
		p, err := wire.AppendMasterPart(nil, &ps[i])
		if err != nil {
			f.t.Fatal(err)
		}
		f.raw(wire.MasterPartTopic(f.site, ps[i].Set, ps[i].Index), p)
	}
}

// raw publishes p retained on topic.
func (f *forger) raw(topic string, p []byte) {
	f.t.Helper()
	if tok := f.cl.Publish(topic, 1, true, p); !tok.WaitTimeout(startWait) || tok.Error() != nil {
		f.t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// TestMasterPartsLostDamagedSuperseded: parts published straight to the
// broker to a running gateway. A version with a part lost, one with a part
// damaged, one whose data were changed with the part's CRC made good: none
// is applied, not even in part. A version being assembled when a newer
// one comes, interleaved with it: the newer is applied, the older never.
// A gateway that joins afterwards gets the latest whole.
func TestMasterPartsLostDamagedSuperseded(t *testing.T) {
	start := time.Now()
	const site = "site-master-parts"
	broker := shippedBroker(t)
	g := newGateway(t, site, "gw-mp1", broker.Addr(), nil, gatewayConfig{})
	g.start()
	waitFor(t, startWait, "the gateway to connect", func() error {
		st, err := g.status()
		if err == nil && !st.Sync.Connected {
			err = errNotYet
		}
		return err
	})
	f := newForger(t, broker, site)
	now := uint64(time.Now().UnixMilli())
	data := mastertest.Catalogue(4000, "a") // 340 KB, 6 parts of 64 KiB
	const chunk = 64 << 10

	lost := f.parts(wire.SetCatalogue, now, data, chunk)
	f.send(lost[0], lost[1], lost[3], lost[4], lost[5])
	damaged := f.parts(wire.SetCatalogue, now+1, data, chunk)
	f.send(damaged[:5]...)
	p, _ := wire.AppendMasterPart(nil, &damaged[5])
	p[len(p)/2] ^= 0x01
	f.raw(wire.MasterPartTopic(site, wire.SetCatalogue, 5), p)
	forged := f.parts(wire.SetCatalogue, now+2, data, chunk)
	forged[3].Data = bytes.Replace(bytes.Clone(forged[3].Data), []byte(",是"), []byte(",否"), -1)
	f.send(forged...)

	// A version with 6 parts under way when one with 8 comes, their
	// parts interleaved: the topics end up holding the newer whole.
	older := f.parts(wire.SetCatalogue, now+3, data, chunk)
	newerData := mastertest.Catalogue(6000, "b")
	newer := f.parts(wire.SetCatalogue, now+4, newerData, chunk)
	f.send(older[0], older[1], older[2])
	for i := range newer {
		f.send(newer[i])
		if j := 3 + i; j < len(older) {
			f.send(older[j])
		}
	}
	logf(t, start, "parts published")
	waitApplied(t, g, wire.SetCatalogue, now+4, 6000)
	for v := now; v < now+4; v++ {
		if applied(g.output(), wire.SetCatalogue, v) {
			t.Fatalf("version %d applied", v)
		}
	}
	for _, want := range []string{"master data part rejected", "do not match the digest of the whole"} {
		if !strings.Contains(g.output(), want) {
			t.Errorf("the gateway's log does not say %q", want)
		}
	}

	late := newGateway(t, site, "gw-mp2", broker.Addr(), nil, gatewayConfig{})
	late.start()
	waitApplied(t, late, wire.SetCatalogue, now+4, 6000)
	if strings.Contains(late.output(), "master data rejected") {
		t.Fatal("the late gateway received a mix of versions")
	}
	g.stop()
	late.stop()
}

// TestMasterVersionAcrossCentreStores: the centre's store is lost and
// re-created; the next publication's version is above the last one, and
// the gateway applies it (it used to start at 1 again, which every
// gateway ignored). A version older than the one held is refused with a
// warning naming both.
func TestMasterVersionAcrossCentreStores(t *testing.T) {
	start := time.Now()
	const site = "site-master-stores"
	broker := shippedBroker(t)
	c := startCentre(t, site, broker.Addr())
	c.waitConnected()
	g := newGateway(t, site, "gw-mv", broker.Addr(), nil, gatewayConfig{})
	g.start()
	recalls := func(lot string) []byte {
		return []byte("gtin,lots,reason,date\n" + mastertest.GTIN(7) + "," + lot + ",sterile barrier,2026-11-01\n")
	}
	v1 := publishMaster(t, c, wire.SetRecalls, recalls("B1"))
	waitApplied(t, g, wire.SetRecalls, v1, 1)
	c.stop()

	c2 := startCentre(t, site, broker.Addr()) // a new store
	c2.waitConnected()
	v2 := publishMaster(t, c2, wire.SetRecalls, recalls("B2"))
	logf(t, start, "versions %d, then %d from a new store", v1, v2)
	if v2 <= v1 {
		t.Fatalf("version %d from a new store after %d", v2, v1)
	}
	waitApplied(t, g, wire.SetRecalls, v2, 1)

	f := newForger(t, broker, site)
	f.send(f.parts(wire.SetRecalls, v1, recalls("B3"), 1<<10)...)
	want := fmt.Sprintf(`msg="uplink: master data refused: older than the version held" component=sync set=recalls version=%d held=%d`, v1, v2)
	waitFor(t, startWait, "the refusal of an older version", func() error {
		if !strings.Contains(g.output(), want) {
			return errNotYet
		}
		return nil
	})
	g.stop()
	c2.stop()
}

// TestMasterForgedFutureVersion: a gateway holds recalls at version
// 2^63-1, as a forged publication left every gateway before versions were
// checked against the clock; a forged version two days ahead is refused
// and logged; the centre's next real version replaces the forged one.
func TestMasterForgedFutureVersion(t *testing.T) {
	const site = "site-master-forged"
	broker := shippedBroker(t)
	g := newGateway(t, site, "gw-mf", broker.Addr(), nil, gatewayConfig{})
	forged := []byte("gtin,lots,reason,date\n" + mastertest.GTIN(1) + ",F1,forged,2026-11-01\n")
	l, err := bolt.Open(bolt.Options{Path: g.store, Gateway: g.id})
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := (*master.Data)(nil).Import(wire.SetRecalls, bytes.NewReader(forged), master.ImportOptions{Format: "csv", SetVersion: 1<<63 - 1})
	if err == nil {
		err = l.SaveMaster(d, wire.SetRecalls)
	}
	if cerr := l.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	c := startCentre(t, site, broker.Addr())
	c.waitConnected()
	g.start()

	f := newForger(t, broker, site)
	ahead := uint64(time.Now().Add(48 * time.Hour).UnixMilli())
	f.send(f.parts(wire.SetRecalls, ahead, forged, 1<<10)...)
	waitFor(t, startWait, "the refusal of a version ahead of the clock", func() error {
		if !strings.Contains(g.output(), fmt.Sprintf("its version is more than a day ahead of this gateway's clock (a version is the publication time in milliseconds; is the clock right?)\" component=sync set=recalls version=%d", ahead)) {
			return errNotYet
		}
		return nil
	})
	real := []byte("gtin,lots,reason,date\n" + mastertest.GTIN(2) + ",R1;R2,sterile barrier,2026-11-01\n")
	v := publishMaster(t, c, wire.SetRecalls, real)
	waitApplied(t, g, wire.SetRecalls, v, 1)
	if !strings.Contains(g.output(), "master data version held is more than a day ahead of this gateway's clock: replacing it") {
		t.Fatal("the replacement of the forged version is not logged")
	}
	if applied(g.output(), wire.SetRecalls, ahead) {
		t.Fatal("the forged version was applied")
	}
	g.stop()
	c.stop()
}
