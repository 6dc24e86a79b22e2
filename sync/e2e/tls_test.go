package e2e_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/udi-edge/udi-edge/sync/internal/mosquitto"
)

// TestTLSWithClientCertificates runs the deployed broker's ACL over TLS
// with client certificates and passwords: a gateway configured with the
// CA, its certificate and its password file delivers its backlog to a
// centre that logs in the same way; a gateway that trusts another CA
// delivers nothing and says why.
func TestTLSWithClientCertificates(t *testing.T) {
	start := time.Now()
	const site = "site-tls"
	certs := mosquitto.NewCerts(t, "gw-t", "gw-u", "udi-central")
	acl, err := os.ReadFile(filepath.Join("..", "..", "deploy", "mosquitto", "udi-acl"))
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]string{"gw-t": "pw-gw-t", "gw-u": "pw-gw-u", "udi-central": "pw-central"}
	tlsCfg := certs.ServerTLS()
	tlsCfg.RequireCertificate = true
	broker := mosquitto.Start(t, mosquitto.Config{Users: users, ACL: string(acl), TLS: tlsCfg})
	if !strings.HasPrefix(broker.Addr(), "ssl://") {
		t.Fatalf("broker at %s, want ssl://", broker.Addr())
	}
	pwFile := passwordFiles(t, users)
	c := startCentre(t, site, broker.Addr(), "--username", "udi-central", "--password-file", pwFile("udi-central"),
		"--ca", certs.CAFile, "--cert", certs.ClientCert("udi-central"), "--key", certs.ClientKey("udi-central"))
	c.waitConnected()

	g := newGateway(t, site, "gw-t", broker.Addr(), nil, gatewayConfig{Sync: map[string]any{
		"password_file": pwFile("gw-t"), "ca_file": certs.CAFile,
		"cert_file": certs.ClientCert("gw-t"), "key_file": certs.ClientKey("gw-t"),
	}})
	fillLedger(t, g, 2000, nil)
	g.start()
	waitDrained(t, c, g, 2000)
	logf(t, start, "gateway drained over TLS")

	other := mosquitto.NewCerts(t, "gw-u")
	u := newGateway(t, site, "gw-u", broker.Addr(), nil, gatewayConfig{Sync: map[string]any{
		"password_file": pwFile("gw-u"), "ca_file": other.CAFile,
		"cert_file": certs.ClientCert("gw-u"), "key_file": certs.ClientKey("gw-u"),
	}})
	fillLedger(t, u, 10, nil)
	u.start()
	waitFor(t, startWait, "the untrusting gateway to report why it cannot connect", func() error {
		if !strings.Contains(u.output(), "certificate") {
			return errNotYet
		}
		return nil
	})
	if st, err := u.status(); err != nil || st.Sync == nil || st.Sync.Connected || st.Sync.Acked != 0 {
		t.Fatalf("a gateway that does not trust the broker: %+v %v", st.Sync, err)
	}
	u.stop()
	g.stop()
	c.stop()
	verifyDelivered(t, c, g)
}
