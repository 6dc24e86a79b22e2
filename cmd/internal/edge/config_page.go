package edge

import (
	"crypto/tls"
	"log/slog"
	"net"

	"github.com/udi-edge/udi-edge/agent/web"
)

// DefaultPageListen is where the station page is served when page.listen
// is not set: the gateway's own screen.
const DefaultPageListen = "127.0.0.1:8780"

// PageConfig configures the station page (agent/web).
type PageConfig struct {
	// Listen is the page's address: not set, DefaultPageListen (where an
	// address in use is logged and the agent runs without the page);
	// "", no page; beyond loopback it needs TLS and credentials.
	Listen *string `json:"listen"`
	// Lang is the language of a station given none: zh (default) or en.
	Lang string `json:"lang"`
	// Stations set a station's screen, by scanner id.
	Stations map[string]PageStationConfig `json:"stations"`
	// Reasons are the reasons a nurse may choose for an imported item's
	// use; the page's defaults (R01 to R06) when none.
	Reasons []web.Reason `json:"reasons"`
	// ExpiringDays is the warehouse view's window of expiring stock
	// (default 30).
	ExpiringDays int `json:"expiring_days"`
	// TLSCert and TLSKey serve the page over HTTPS (PEM files).
	TLSCert string `json:"tls_cert"`
	TLSKey  string `json:"tls_key"`
	// TokensFile holds the page's tokens (TOKEN ROLE NAME a line; roles
	// nurse, warehouse, auditor; mode 0600).
	TokensFile string `json:"tokens_file"`
	// ClientCA and ClientRoles give client certificates signed by
	// ClientCA roles (ROLE cn:NAME or ROLE dns:NAME a line).
	ClientCA    string `json:"client_ca"`
	ClientRoles string `json:"client_roles"`
	// AuthAlways requires a credential on a loopback address too.
	AuthAlways bool `json:"auth_always"`
}

// PageStationConfig is one station's screen.
type PageStationConfig struct {
	// Lang is the station's language: zh or en.
	Lang string `json:"lang"`
}

// addr returns the page's address ("" for none) and whether it was set.
func (p PageConfig) addr() (string, bool) {
	if p.Listen == nil {
		return DefaultPageListen, false
	}
	return *p.Listen, true
}

// validate checks the page's keys against the scanners configured; it
// reads no file (open does).
func (p PageConfig) validate(c *Config) error {
	addr, _ := p.addr()
	if addr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return cfgErr("page.listen", "%q: want host:port, such as 127.0.0.1:8780", addr)
	}
	if p.Lang != "" && !web.ValidLang(p.Lang) {
		return cfgErr("page.lang", "%q: want zh or en", p.Lang)
	}
	for id, s := range p.Stations {
		found := false
		for _, sc := range c.Scanners {
			found = found || sc.ID == id
		}
		if !found {
			return cfgErr("page.stations."+id, "no scanner has this id")
		}
		if !web.ValidLang(s.Lang) {
			return cfgErr("page.stations."+id+".lang", "%q: want zh or en", s.Lang)
		}
	}
	if err := web.CheckReasons(p.Reasons); err != nil {
		return &ConfigError{Where: "page.reasons", Err: err}
	}
	if p.ExpiringDays < 0 || p.ExpiringDays > 3650 {
		return cfgErr("page.expiring_days", "%d: want days from 0 (the default, 30) to 3650", p.ExpiringDays)
	}
	if (p.TLSCert == "") != (p.TLSKey == "") {
		return cfgErr("page.tls_cert", "give both page.tls_cert and page.tls_key, or neither")
	}
	if (p.ClientCA == "") != (p.ClientRoles == "") {
		return cfgErr("page.client_ca", "give both page.client_ca and page.client_roles, or neither")
	}
	if p.ClientCA != "" && p.TLSCert == "" {
		return cfgErr("page.client_ca", "client certificates need TLS: give page.tls_cert and page.tls_key")
	}
	creds := p.TokensFile != "" || p.ClientCA != ""
	if p.AuthAlways && !creds {
		return cfgErr("page.auth_always", "needs page.tokens_file or page.client_ca")
	}
	if err := web.CheckExposure(addr, p.TLSCert != "", creds); err != nil {
		return &ConfigError{Where: "page.listen", Err: err}
	}
	return nil
}

// webConfig loads the page's files and returns its configuration;
// errors name the key.
func (p PageConfig) webConfig(log *slog.Logger) (web.Config, error) {
	wc := web.Config{Lang: p.Lang, Reasons: p.Reasons, ExpiringDays: p.ExpiringDays,
		AuthAlways: p.AuthAlways, Log: log, StationLang: map[string]string{}}
	for id, s := range p.Stations {
		wc.StationLang[id] = s.Lang
	}
	if p.TLSCert != "" {
		kp, err := tls.LoadX509KeyPair(p.TLSCert, p.TLSKey)
		if err != nil {
			return wc, cfgErr("page.tls_cert", "%v", err)
		}
		wc.TLS = &tls.Config{Certificates: []tls.Certificate{kp}, MinVersion: tls.VersionTLS12}
	}
	if p.TokensFile != "" {
		t, err := web.LoadTokens(p.TokensFile)
		if err != nil {
			return wc, &ConfigError{Where: "page.tokens_file", Err: err}
		}
		wc.Tokens = t
	}
	if p.ClientCA != "" {
		c, err := web.LoadCertRoles(p.ClientCA, p.ClientRoles)
		if err != nil {
			return wc, &ConfigError{Where: "page.client_roles", Err: err}
		}
		wc.Certs = c
	}
	return wc, nil
}
