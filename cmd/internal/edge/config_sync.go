package edge

import (
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/udi-edge/udi-edge/agent/bolt"
	"github.com/udi-edge/udi-edge/agent/core"
	"github.com/udi-edge/udi-edge/sync/sign"
	"github.com/udi-edge/udi-edge/sync/uplink"
	"github.com/udi-edge/udi-edge/sync/wire"
)

// SyncConfig connects the gateway to the central inventory service over
// MQTT (sync/PROTOCOL.md). Without brokers the gateway works offline, and
// everything it records waits in the ledger for the day it has one.
type SyncConfig struct {
	// Brokers are the broker URLs (ssl://host:8883, tcp://host:1883),
	// tried in order.
	Brokers []string `json:"brokers"`
	// Username defaults to the gateway id, as the broker's ACL expects.
	Username string `json:"username"`
	// PasswordFile holds the broker password (its first line); Password
	// gives it inline. At most one of them.
	PasswordFile string `json:"password_file"`
	Password     string `json:"password"`
	// CAFile verifies the broker's certificate (default: the system's
	// roots); CertFile and KeyFile are the gateway's client certificate.
	CAFile   string `json:"ca_file"`
	CertFile string `json:"cert_file"`
	KeyFile  string `json:"key_file"`
	// BatchBytes, Window and AckTimeout tune the uplink (defaults:
	// 1 MiB, 8 batches, 30s).
	BatchBytes int      `json:"batch_bytes"`
	Window     int      `json:"window"`
	AckTimeout Duration `json:"ack_timeout"`
	// BackoffMax caps the delay between reconnection attempts (default
	// 60s; the delay is random below a ceiling that doubles up to it).
	BackoffMax Duration `json:"backoff_max"`
	// SigningKey is the gateway's Ed25519 key file, which signs every
	// batch; made at first start, mode 0600. Default: beside the ledger,
	// its name with ".key" (KeyPath). `udi-edge key` prints the line that
	// enrols it at the centre.
	SigningKey string `json:"signing_key"`
	// CentreKey pins the central service's public key ("ed25519:…", as
	// `udi-central key` prints it): acks and master data not signed by it
	// are refused. Without it they are taken unsigned, with a warning at
	// start.
	CentreKey string `json:"centre_key"`
}

// KeyPath returns the path of the gateway's signing key.
func (c Config) KeyPath() string {
	if c.Sync.SigningKey != "" {
		return c.Sync.SigningKey
	}
	return sign.KeyPath(c.Store)
}

// centreKey returns the pinned key of the centre, nil for none.
func (s SyncConfig) centreKey() (ed25519.PublicKey, error) {
	if s.CentreKey == "" {
		return nil, nil
	}
	k, err := sign.ParsePublic(s.CentreKey)
	if err != nil {
		return nil, cfgErr("sync.centre_key", "%v", err)
	}
	return k, nil
}

// enabled reports whether the gateway syncs.
func (s SyncConfig) enabled() bool { return len(s.Brokers) > 0 }

// validate checks the sync section; site is the configuration's site.
func (s SyncConfig) validate(site string) error {
	if !s.enabled() {
		return nil
	}
	if site == "" {
		return cfgErr("site", "required when sync.brokers is set: the site is part of every sync topic")
	}
	for i, b := range s.Brokers {
		u, err := url.Parse(b)
		if err != nil || u.Host == "" {
			return cfgErr(fmt.Sprintf("sync.brokers[%d]", i), "%q is not a broker URL such as ssl://broker.example:8883", b)
		}
		switch u.Scheme {
		case "tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss":
		default:
			return cfgErr(fmt.Sprintf("sync.brokers[%d]", i), "scheme %q: want ssl, tls, tcp, ws or wss", u.Scheme)
		}
	}
	if s.Password != "" && s.PasswordFile != "" {
		return cfgErr("sync.password_file", "set password_file or password, not both")
	}
	if (s.CertFile == "") != (s.KeyFile == "") {
		return cfgErr("sync.cert_file", "cert_file and key_file go together")
	}
	for _, f := range []struct{ key, path string }{{"password_file", s.PasswordFile}, {"ca_file", s.CAFile}, {"cert_file", s.CertFile}, {"key_file", s.KeyFile}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return cfgErr("sync."+f.key, "%v", err)
		}
	}
	if _, err := s.centreKey(); err != nil {
		return err
	}
	if s.BatchBytes < 0 || s.Window < 0 || s.AckTimeout < 0 {
		return cfgErr("sync", "batch_bytes, window and ack_timeout must not be negative")
	}
	return nil
}

// tlsConfig returns the TLS settings for ssl:// and tls:// brokers.
func (s SyncConfig) tlsConfig() (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, cfgErr("sync.ca_file", "%v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, cfgErr("sync.ca_file", "%s holds no PEM certificate", s.CAFile)
		}
		c.RootCAs = pool
	}
	if s.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
		if err != nil {
			return nil, cfgErr("sync.cert_file", "%v", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// password returns the broker password.
func (s SyncConfig) password() (string, error) {
	if s.PasswordFile == "" {
		return s.Password, nil
	}
	b, err := os.ReadFile(s.PasswordFile)
	if err != nil {
		return "", cfgErr("sync.password_file", "%v", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimRight(line, "\r"), nil
}

// newUplink makes the gateway's uplink over MQTT from the configuration.
func newUplink(cfg Config, l *bolt.Ledger, g *core.Gateway, key ed25519.PrivateKey, log *slog.Logger) (*uplink.Uplink, error) {
	s := cfg.Sync
	centre, err := s.centreKey()
	if err != nil {
		return nil, err
	}
	if centre == nil {
		log.Warn("sync.centre_key is not set: acks and master data are taken without checking that the centre signed them")
	}
	tc, err := s.tlsConfig()
	if err != nil {
		return nil, err
	}
	pw, err := s.password()
	if err != nil {
		return nil, err
	}
	user := s.Username
	if user == "" {
		user = cfg.Gateway
	}
	conn, err := uplink.NewMQTT(uplink.MQTTConfig{
		Brokers: s.Brokers, ClientID: wire.ClientID(cfg.Site, cfg.Gateway),
		Username: user, Password: pw, TLS: tc,
	})
	if err != nil {
		return nil, err
	}
	return uplink.New(uplink.Config{
		Site: cfg.Site, Gateway: cfg.Gateway,
		BatchBytes: s.BatchBytes, Window: s.Window, AckTimeout: time.Duration(s.AckTimeout),
		BackoffMin: min(uplink.DefaultBackoffMin, time.Duration(s.BackoffMax)), BackoffMax: time.Duration(s.BackoffMax),
		Apply:   g.ApplyCentral,
		Logger:  log,
		Held:    func(set string) uint64 { return g.Master().SetVersion(set) },
		Version: Version,
		Key:     key, CentreKey: centre,
	}, l, conn)
}

// Version is the release version, reported in the gateway's sync status
// and by `udi-edge version`; set at build time with
// -ldflags "-X github.com/udi-edge/udi-edge/cmd/internal/edge.Version=v1.2.3".
var Version = "dev"
