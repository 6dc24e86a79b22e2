package e2e_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/sync/central"
	"github.com/udi-edge/udi-edge/sync/internal/mosquitto"
)

// TestStatusWillAndMasterData: the centre sees the gateway online from its
// retained status; master data the centre publishes is applied by the
// running gateway and stored in its ledger file; a file with one bad row
// is refused by the centre before it takes a version or replaces the
// retained data (the gateway keeps the version it has); and when the
// gateway dies of SIGKILL its last will tells the centre it is offline.
func TestStatusWillAndMasterData(t *testing.T) {
	start := time.Now()
	const site = "site-status"
	broker := mosquitto.Start(t, mosquitto.Config{})
	c := startCentre(t, site, broker.Addr())
	c.waitConnected()
	g := newGateway(t, site, "gw-s", broker.Addr(), nil, gatewayConfig{})
	fillLedger(t, g, 100, nil)
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
	waitFor(t, startWait, "the centre to see the gateway online", state("online"))
	logf(t, start, "gateway online at the centre")

	publish := func(body string, want int) string {
		t.Helper()
		resp, err := c.http.Post(c.api+"/v1/master?site="+site+"&set=recalls&format=csv", "text/csv", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("POST /v1/master: %s, want %d: %s", resp.Status, want, answer)
		}
		return string(answer)
	}
	good := "gtin,lots,reason,date\n06901234200010,B1;B2,sterile barrier,2026-11-01\n"
	var mr central.MasterResponse
	if err := json.Unmarshal([]byte(publish(good, http.StatusCreated)), &mr); err != nil {
		t.Fatal(err)
	}
	waitApplied(t, g, "recalls", mr.Version, 1)
	answer := publish(good+"06901234200011,B3,bad check digit,2026-11-02\n", http.StatusBadRequest)
	if !strings.Contains(answer, "line 3") {
		t.Errorf("the refusal does not name the bad row: %s", answer)
	}

	g.kill()
	waitFor(t, startWait, "the last will to mark the gateway offline", state("offline"))
	logf(t, start, "gateway offline at the centre after SIGKILL")

	// The applied set is in the ledger file, the refused one is not.
	l, err := bolt.OpenReadOnly(g.store, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	d, damaged, err := l.LoadMaster()
	if err != nil || len(damaged) > 0 {
		t.Fatal(err, damaged)
	}
	if v := d.SetVersion("recalls"); v != mr.Version {
		t.Fatalf("recalls version %d stored, want %d", v, mr.Version)
	}
	if _, ok := d.Recalled("06901234200010", "B2", ""); !ok {
		t.Fatal("the applied recall is not in the ledger file")
	}
	if d.Counts().Recalls != 1 {
		t.Fatalf("%d recalls stored, want 1", d.Counts().Recalls)
	}
}
