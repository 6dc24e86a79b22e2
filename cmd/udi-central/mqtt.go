package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/udi-edge/udi-edge/sync/central"
)

// DefaultBroker is the broker run and publish use without --broker.
const DefaultBroker = "tcp://127.0.0.1:1883"

// brokerFlags are the flags that connect to the broker.
type brokerFlags struct {
	brokers      []string
	clientID     string
	username     string
	password     string
	passwordFile string
	ca           string
	cert         string
	key          string
	maxReconnect time.Duration
}

func (f *brokerFlags) register(fs *pflag.FlagSet, defaultClientID string) {
	fs.StringSliceVar(&f.brokers, "broker", []string{DefaultBroker}, "broker URL(s), tcp://HOST:1883 or ssl://HOST:8883 (repeat or comma-separate; tried in order)")
	fs.StringVar(&f.clientID, "client-id", defaultClientID, "MQTT client id; must be stable and unique per instance")
	fs.StringVar(&f.username, "username", "", "broker user name")
	fs.StringVar(&f.password, "password", "", "broker password (prefer --password-file)")
	fs.StringVar(&f.passwordFile, "password-file", "", "file holding the broker password")
	fs.StringVar(&f.ca, "ca", "", "PEM file of the CA that signed the broker's certificate (TLS; the server is always verified)")
	fs.StringVar(&f.cert, "cert", "", "PEM client certificate, for brokers that require one (with --key)")
	fs.StringVar(&f.key, "key", "", "PEM private key of --cert")
	fs.DurationVar(&f.maxReconnect, "max-reconnect", central.DefaultMaxReconnect,
		"longest wait between two attempts to connect to the broker (the waits grow from a quarter of a second)")
}

// config returns the MQTT configuration the flags describe.
func (f *brokerFlags) config() (central.MQTTConfig, error) {
	c := central.MQTTConfig{ClientID: f.clientID, Username: f.username, Password: f.password, MaxReconnect: f.maxReconnect}
	if f.maxReconnect < 250*time.Millisecond || f.maxReconnect > time.Hour {
		return c, usagef("--max-reconnect %v: between 250ms and 1h", f.maxReconnect)
	}
	for _, b := range f.brokers {
		if b = strings.TrimSpace(b); b != "" {
			c.Brokers = append(c.Brokers, b)
		}
	}
	if len(c.Brokers) == 0 {
		return c, usagef("--broker: no broker URL")
	}
	if c.ClientID == "" {
		return c, usagef("--client-id must not be empty")
	}
	if f.passwordFile != "" {
		if f.password != "" {
			return c, usagef("--password and --password-file exclude each other")
		}
		p, err := os.ReadFile(f.passwordFile)
		if err != nil {
			return c, fmt.Errorf("--password-file: %w", err)
		}
		c.Password = strings.TrimRight(string(p), "\r\n")
	}
	tc, err := clientTLS(f.ca, f.cert, f.key, "--ca", "--cert", "--key")
	if err != nil {
		return c, err
	}
	c.TLS = tc
	return c, nil
}

// hostname returns the machine's short host name, as an MQTT client id
// may hold it: letters, digits, - and _.
func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "host"
	}
	// The short name only: a dot in a client id is refused by NATS's
	// MQTT server, and the domain adds nothing within one site.
	h, _, _ = strings.Cut(h, ".")
	var b strings.Builder
	for _, r := range h {
		if r < 0x80 && (r == '-' || r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "host"
	}
	return b.String()
}
