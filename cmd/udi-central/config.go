package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"github.com/udi-edge/udi-edge/cmd/internal/cli"
)

// fileConfig is the configuration file of `udi-central run --config`: the
// run command's flags as JSON keys, grouped as a deployment reads them.
// Every key is optional; a flag given on the command line wins over its
// key. Unknown keys, a value of the wrong type and a value its flag
// refuses are errors naming the key. The broker password is never in the
// file itself: broker.password_file names the file that holds it.
//
// Each field's flag tag names the flag it sets. `import` and `catalogue`
// read the same file (--config) for the keys whose flags they have
// (national, store, sites, the broker's, signing_key); a command skips
// the keys whose flags it does not have (run has no --national).
type fileConfig struct {
	Sites      []string `json:"sites" flag:"site"`
	Store      string   `json:"store" flag:"store"`
	National   string   `json:"national" flag:"national"`
	SigningKey string   `json:"signing_key" flag:"signing-key"`
	Enrolment  string   `json:"enrolment" flag:"enrolment"`
	Shared     *bool    `json:"shared" flag:"shared"`
	MaxPacket  int      `json:"max_packet" flag:"max-packet"`
	// Suppliers maps supplier ids to supplier names (--supplier-id).
	Suppliers       map[string]string `json:"suppliers" flag:"supplier-id"`
	SupplyCatalogue string            `json:"supply_catalogue" flag:"supply-catalogue"`
	SupplyCursor    string            `json:"supply_cursor" flag:"supply-cursor"`
	Broker          brokerFile        `json:"broker"`
	HTTP            httpFile          `json:"http"`
	Metrics         metricsFile       `json:"metrics"`
	Log             logFile           `json:"log"`
}

type brokerFile struct {
	URLs         []string `json:"urls" flag:"broker"`
	ClientID     string   `json:"client_id" flag:"client-id"`
	Username     string   `json:"username" flag:"username"`
	PasswordFile string   `json:"password_file" flag:"password-file"`
	CAFile       string   `json:"ca_file" flag:"ca"`
	CertFile     string   `json:"cert_file" flag:"cert"`
	KeyFile      string   `json:"key_file" flag:"key"`
	MaxReconnect string   `json:"max_reconnect" flag:"max-reconnect"`
}

type httpFile struct {
	// Listen is the API's address; "" for none (a pointer: absent is not
	// "").
	Listen        *string `json:"listen" flag:"http"`
	TLSCert       string  `json:"tls_cert" flag:"http-tls-cert"`
	TLSKey        string  `json:"tls_key" flag:"http-tls-key"`
	Tokens        string  `json:"tokens" flag:"http-tokens"`
	ClientCA      string  `json:"client_ca" flag:"http-client-ca"`
	ClientRoles   string  `json:"client_roles" flag:"http-client-roles"`
	Auth          string  `json:"auth" flag:"http-auth"`
	MaxConcurrent int     `json:"max_concurrent" flag:"http-max-concurrent"`
	Timeout       string  `json:"timeout" flag:"http-timeout"`
}

type metricsFile struct {
	// Listen is the metrics endpoint's address; "" for none.
	Listen *string `json:"listen" flag:"metrics"`
	Remote *bool   `json:"remote" flag:"metrics-remote"`
}

type logFile struct {
	Level string `json:"level" flag:"log-level"`
}

// maxConfigFile bounds the configuration file.
const maxConfigFile = 1 << 20

// applyConfigFile reads the configuration file path and sets every flag
// of fs its keys name, except the flags given on the command line and
// the flags named in except.
func applyConfigFile(fs *pflag.FlagSet, path string, except ...string) error {
	st, err := os.Stat(path)
	if err != nil {
		return &cli.ConfigError{Where: "--config", Err: err}
	}
	if st.Size() > maxConfigFile {
		return cli.ConfigErrorf(path, "%d bytes; a configuration file is at most %d", st.Size(), maxConfigFile)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return &cli.ConfigError{Where: "--config", Err: err}
	}
	var c fileConfig
	if err := cli.ParseJSONConfig(path, b, reflect.TypeOf(c)); err != nil {
		return err
	}
	if err := cli.TypeError(path, json.Unmarshal(b, &c)); err != nil {
		return err
	}
	return setFlags(fs, reflect.ValueOf(c), "", except)
}

// setFlags sets the flag of every field of v (a fileConfig or one of its
// groups) that has a value, unless the command line gave it, fs has no
// such flag, or except names it.
func setFlags(fs *pflag.FlagSet, v reflect.Value, path string, except []string) error {
	t := v.Type()
	for i := range t.NumField() {
		f, fv := t.Field(i), v.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if path != "" {
			key = path + "." + key
		}
		name := f.Tag.Get("flag")
		if name == "" {
			if err := setFlags(fs, fv, key, except); err != nil {
				return err
			}
			continue
		}
		if fs.Lookup(name) == nil || slices.Contains(except, name) {
			continue // a key of another command (TestConfigKeysNameFlags)
		}
		if fs.Changed(name) {
			continue // the command line wins
		}
		var values []string
		switch fv.Kind() {
		case reflect.String:
			if fv.String() != "" {
				values = []string{fv.String()}
			}
		case reflect.Int:
			if fv.Int() != 0 {
				values = []string{strconv.FormatInt(fv.Int(), 10)}
			}
		case reflect.Pointer:
			if !fv.IsNil() {
				values = []string{fmt.Sprint(fv.Elem().Interface())}
			}
		case reflect.Map: // of strings: one KEY=VALUE each, in order
			for _, k := range slices.Sorted(maps.Keys(fv.Interface().(map[string]string))) {
				values = append(values, k+"="+fv.MapIndex(reflect.ValueOf(k)).String())
			}
		case reflect.Slice:
			if fv.Len() == 0 {
				continue
			}
			for j := range fv.Len() {
				s := fv.Index(j).String()
				if strings.Contains(s, ",") {
					return cli.ConfigErrorf(fmt.Sprintf("%s[%d]", key, j), "%q: a comma is not allowed here", s)
				}
				values = append(values, s)
			}
			values = []string{strings.Join(values, ",")}
		}
		for _, s := range values {
			if err := fs.Set(name, s); err != nil {
				return cli.ConfigErrorf(key, "%v", err)
			}
		}
	}
	return nil
}
